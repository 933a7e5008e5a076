#!/usr/bin/env python3
"""Push→block latency of Bulwark's MISP-compatible push API.

Starts nothing: point it at a running Bulwark (bench/intel.sh starts one).
For each i < --count: PyMISP add_event with one fresh `domain` attribute,
then a UDP query for that name every --poll-ms (default 2 ms) until the
answer is NXDOMAIN with EDE 15 (timeout --timeout, default 5 s). Prints
p50/p90/p99/max of

  push→block        add_event called → first blocked answer
  reply→block       add_event returned (2xx) → first blocked answer
                    (0 when the name was already blocked at the first query)
  push reply        add_event round trip

and the number of timeouts. Everything is bounded: --count ≤ 10 000.

    bench/intel_latency.py --api http://127.0.0.1:9153 --key KEY --dns 127.0.0.1:5353 --count 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid

import dns.message
import dns.query
import dns.rcode

try:
    import pymisp
except ImportError:
    sys.exit("intel_latency: pip install pymisp (scripts/install-deps installs it)")


def blocked(host: str, port: int, name: str) -> bool:
    q = dns.message.make_query(name, "A", use_edns=0)
    try:
        r = dns.query.udp(q, host, port=port, timeout=0.5)
    except Exception:  # noqa: BLE001 - a lost datagram is "not yet"
        return False
    if r.rcode() != dns.rcode.NXDOMAIN:
        return False
    return any(int(o.otype) == 15 and int(o.code) == 15 for o in r.options)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True, help="Bulwark control-plane URL, e.g. http://127.0.0.1:9153")
    ap.add_argument("--key", required=True, help="an intel API key (40 chars) with role admin or sync")
    ap.add_argument("--dns", required=True, help="HOST:PORT of Bulwark's protective listener")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each block")
    ap.add_argument("--poll-ms", type=float, default=2.0)
    ap.add_argument("--zone", default="intel-bench.invalid", help="parent of the generated names")
    ap.add_argument("--json", action="store_true", help="also print the raw numbers as JSON")
    ap.add_argument("--preload", type=int, default=0,
                    help="indicators pushed first (events of 1000 domains), so the policy delta is large while measuring (≤ 200 000)")
    args = ap.parse_args()
    if not 1 <= args.count <= 10_000:
        ap.error("--count must be in 1..10000")
    if not 0 <= args.preload <= 200_000:
        ap.error("--preload must be in 0..200000")
    host, _, port_s = args.dns.rpartition(":")
    host, port = host.strip("[]") or "127.0.0.1", int(port_s)

    misp = pymisp.PyMISP(args.api, args.key, ssl=False, timeout=30)
    run = uuid.uuid4().hex[:8]
    if args.preload:
        t = time.perf_counter()
        for start in range(0, args.preload, 1000):
            ev = pymisp.MISPEvent()
            ev.info = f"latency bench {run} preload {start}"
            for j in range(start, min(args.preload, start + 1000)):
                ev.add_attribute("domain", f"p{j}-{run}.{args.zone}", to_ids=True)
            r = misp.add_event(ev)
            if not isinstance(r, dict) or "errors" in r:
                sys.exit(f"preload refused: {str(r)[:200]}")
        print(f"preloaded {args.preload} indicators in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    push_block, reply_block, push_rtt = [], [], []
    timeouts = errors = 0
    for i in range(args.count):
        name = f"b{i}-{run}.{args.zone}"
        ev = pymisp.MISPEvent()
        ev.info = f"latency bench {run} #{i}"
        ev.distribution = 1
        ev.add_tag('rsit:malicious-code="malware-distribution"')
        ev.add_attribute("domain", name, to_ids=True)
        t0 = time.perf_counter()
        try:
            r = misp.add_event(ev)
        except Exception as e:  # noqa: BLE001
            print(f"push {i} failed: {e}", file=sys.stderr)
            errors += 1
            continue
        t1 = time.perf_counter()
        if not isinstance(r, dict) or "errors" in r:
            print(f"push {i} refused: {r}", file=sys.stderr)
            errors += 1
            continue
        push_rtt.append(t1 - t0)
        deadline = t1 + args.timeout
        while True:
            if blocked(host, port, name):
                t2 = time.perf_counter()
                push_block.append(t2 - t0)
                reply_block.append(max(0.0, t2 - t1))
                break
            if time.perf_counter() >= deadline:
                timeouts += 1
                break
            time.sleep(args.poll_ms / 1000)

    def row(label: str, xs: list[float]) -> str:
        ms = [x * 1000 for x in xs]
        return f"| {label} | {len(ms)} | {pct(ms, 50):.1f} | {pct(ms, 90):.1f} | {pct(ms, 99):.1f} | {max(ms) if ms else float('nan'):.1f} | {statistics.fmean(ms) if ms else float('nan'):.1f} |"

    print(f"\nintel push→block latency, {args.count} events of 1 domain each"
          f"{f' after {args.preload} preloaded' if args.preload else ''}, poll every {args.poll_ms} ms "
          f"({timeouts} timeouts > {args.timeout} s, {errors} push errors)\n")
    print("| measure | n | p50 ms | p90 ms | p99 ms | max ms | mean ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("push→block", push_block))
    print(row("reply→block", reply_block))
    print(row("push reply (add_event RTT)", push_rtt))
    if args.json:
        print(json.dumps({"push_block": push_block, "reply_block": reply_block, "push_rtt": push_rtt, "timeouts": timeouts, "errors": errors}))
    return 1 if timeouts or errors else 0


if __name__ == "__main__":
    sys.exit(main())
