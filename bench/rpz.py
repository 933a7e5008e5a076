#!/usr/bin/env python3
"""RPZ distribution at scale: a policy of N names (default 1M) published as an RPZ zone and
followed by Unbound and a knotd secondary (both NOTIFY-driven), all on loopback.

Measures, side by side in one run:
- the first AXFR of the whole zone (2 records per name) into knotd and into Unbound;
- add → blocked: a rule added through Bulwark's policy API until Unbound answers NXDOMAIN and
  until knotd holds the new serial (IXFR), `--changes` times;
- list reload → blocked: one name appended to the 1M-name list file (a full rebuild of the
  snapshot, so the zone diff walks every name) until Unbound blocks it;
- Bulwark's RSS with the zone published.

    bench/rpz.py [--names 1000000] [--changes 20]       # BULWARK_BIN or the release build
Every process it starts listens on 127.0.0.1 and is stopped by its PID; bounded by --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
from rpz_consumers import KnotSecondary, UnboundRPZ, wait_until  # noqa: E402

RPZ = "phishing.rpz.bulwark."
Z = harness.ZONE


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rcode(consumer, name: str) -> str:
    """The consumer's answer code; a timeout (a resolver busy loading a zone) is "TIMEOUT"."""
    try:
        return consumer.lookup(name, timeout=2.0)[0]
    except Exception:  # noqa: BLE001 - dns.exception.Timeout and socket errors alike
        return "TIMEOUT"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--unbound-zonefile", action="store_true", help="let Unbound keep a zone file (rewritten after every transfer)")
    args = ap.parse_args()
    binary = Path(os.environ.get("BULWARK_BIN") or REPO / ".build" / "release" / "bulwark")
    deadline = time.monotonic() + args.timeout
    made = []
    try:
        knot = harness.Knot(harness.find_executable("knotd"), harness.find_executable("knotc"), zone=harness.zone_text()).start()
        made.append(knot)
        work = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-rpz-{os.getpid()}"
        work.mkdir(parents=True, exist_ok=True)
        lst = work / "phishing.txt"
        with open(lst, "w") as f:
            for i in range(args.names):
                f.write(f"host{i}.bench{i % 997}.example\n")
        rpz_port = harness.free_port()
        unbound = UnboundRPZ(harness.LOOPBACK, rpz_port, [RPZ], knot.port, zonefile=args.unbound_zonefile)
        sec = KnotSecondary(harness.LOOPBACK, rpz_port, [RPZ])
        made += [unbound, sec]
        config = f"""
policy:
  file-check-ms: 200
  sources:
    - {{name: big, path: {lst}, format: domains, categories: [phishing]}}
rpz:
  listen: {harness.LOOPBACK}:{rpz_port}
  zones:
    - {{name: {RPZ}, categories: [phishing], notify: ["{harness.LOOPBACK}:{unbound.notify_port}", "{harness.LOOPBACK}:{sec.notify_port}"]}}
"""
        b = harness.Bulwark(binary, [f"{harness.LOOPBACK}:{knot.port}"], config=config)
        made.append(b)
        t0 = time.monotonic()
        b.start(timeout=120)
        started = time.monotonic() - t0
        rss_start = rss_mib(b.proc.pid)
        t0 = time.monotonic()
        sec.start(timeout=30)
        wait_until(lambda: sec.serial(RPZ) is not None, 300, interval=0.2, message="knotd AXFR")
        knot_axfr = time.monotonic() - t0
        t0 = time.monotonic()
        unbound.start(timeout=30)
        wait_until(lambda: rcode(unbound, "host7.bench7.example.") == "NXDOMAIN", 300, interval=0.2, message="unbound AXFR")
        unbound_axfr = time.monotonic() - t0
        rss_after_axfr = rss_mib(b.proc.pid)
        api = f"http://{harness.LOOPBACK}:{b.metrics_port}/v1/policy/rules"
        adds_unbound: list[float] = []
        adds_knot: list[float] = []

        def watch(done, out: list[float], t0: float) -> None:
            # Each consumer polled on its own thread: a busy one (knotd applying an IXFR to a
            # million-name zone) must not delay the check of the other.
            while time.monotonic() - t0 < 60:
                if done():
                    out.append(time.monotonic() - t0)
                    return
                time.sleep(0.002)

        for i in range(args.changes):
            if time.monotonic() > deadline:
                break
            name = f"n{i}.{Z}"
            serial = sec.serial(RPZ)
            assert rcode(unbound, name) == "NOERROR"
            t0 = time.monotonic()
            req = urllib.request.Request(f"{api}?name={name}&list=big", method="POST")
            urllib.request.urlopen(req, timeout=10).read()
            threads = [
                threading.Thread(target=watch, args=(lambda n=name: rcode(unbound, n) == "NXDOMAIN", adds_unbound, t0)),
                threading.Thread(target=watch, args=(lambda s=serial: sec.serial(RPZ) not in (s, None), adds_knot, t0)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # Let knotd finish writing its zone file before the next change.
            time.sleep(0.5)
        # A list reload: one name more in the 1M-name file → a full rebuild and full diff.
        fresh = f"mail.{Z}"
        t0 = time.monotonic()
        with open(lst, "a") as f:
            f.write(fresh.rstrip(".") + "\n")
        wait_until(lambda: rcode(unbound, fresh) == "NXDOMAIN", 300, interval=0.02, message="reload reaches unbound")
        reload_unbound = time.monotonic() - t0
        time.sleep(2)
        rss_end = rss_mib(b.proc.pid)
        result = {
            "names": args.names,
            "unbound_zonefile": args.unbound_zonefile,
            "bulwark_start_s": round(started, 2),
            "knot_first_axfr_s": round(knot_axfr, 2),
            "unbound_first_axfr_s": round(unbound_axfr, 2),
            "add_to_blocked_unbound_ms": {"n": len(adds_unbound), "p50": round(pct(adds_unbound, 50) * 1000, 1), "p99": round(pct(adds_unbound, 99) * 1000, 1), "max": round(max(adds_unbound) * 1000, 1)},
            "add_to_new_serial_knot_ms": {"n": len(adds_knot), "p50": round(pct(adds_knot, 50) * 1000, 1), "p99": round(pct(adds_knot, 99) * 1000, 1), "max": round(max(adds_knot) * 1000, 1)},
            "list_reload_to_blocked_unbound_s": round(reload_unbound, 2),
            "bulwark_rss_mib": {"after_start": round(rss_start, 1), "after_two_axfr": round(rss_after_axfr, 1), "end_after_reload": round(rss_end, 1)},
            "mean_add_unbound_ms": round(statistics.mean(adds_unbound) * 1000, 1),
        }
        print(json.dumps(result, indent=2))
        if os.environ.get("BENCH_LOGS"):
            for srv in (b, unbound, sec):
                print(srv.log_tail(40))
        out = REPO / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "rpz-scale.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        for m in reversed(made):
            m.close()


if __name__ == "__main__":
    main()
