#!/usr/bin/env python3
"""DoT and DoH: Bulwark vs Unbound side by side, both forwarding to one knotd, on loopback.

Certificates from `bulwark cert dev`; Unbound serves DoT (`tls-port`) and DoH (`https-port`,
built with nghttp2 in Debian) with the same key. Caches are warmed, then dnsperf (`-m dot`,
`-m doh`) runs against each server in alternating rounds at saturation; per run: QPS, average
latency and server CPU per answered query (utime+stime from /proc/PID/stat).

    bench/encrypted.py [--rounds 3] [--duration 10] [--clients 8]     # BULWARK_BIN or .build/release
Every process listens on 127.0.0.1 and is stopped by its PID; each dnsperf run is time-bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import bench as B  # noqa: E402  (Unbound, knotd zone, dnsperf parsing, CPU ticks)
import harness  # noqa: E402


class UnboundEncrypted(B.Unbound):
    """The benchmark's Unbound, also serving DoT and DoH."""

    def __init__(self, upstream_port: int, threads: int, cert: Path, key: Path) -> None:
        super().__init__(upstream_port, threads)
        self.dot_port = harness.free_port()
        self.doh_port = harness.free_port()
        text = self.conf.read_text()
        extra = (
            f"    interface: {harness.LOOPBACK}@{self.dot_port}\n"
            f"    interface: {harness.LOOPBACK}@{self.doh_port}\n"
            f"    tls-port: {self.dot_port}\n"
            f"    https-port: {self.doh_port}\n"
            f'    tls-service-key: "{key}"\n'
            f'    tls-service-pem: "{cert}"\n'
            "    http-endpoint: /dns-query\n"
            "    incoming-num-tcp: 1000\n"
        )
        self.conf.write_text(text.replace("forward-zone:", extra + "forward-zone:", 1))


def run(args, mode: str, port: int, qfile: Path, pid: int) -> dict:
    extra = ["-m", mode, "-l", str(args.duration), "-c", str(args.clients), "-q", str(args.outstanding)]
    if mode == "doh":
        extra += ["-O", f"doh-uri=https://{harness.LOOPBACK}:{port}/dns-query", "-O", "doh-method=POST"]
    t0 = B.cpu_ticks(pid)
    res, out, _ = B.dnsperf(args, port, qfile, extra, args.duration + 60)
    t1 = B.cpu_ticks(pid)
    res["cpu_us_per_query"] = (t1 - t0) / B.CLK_TCK * 1e6 / res["completed"] if res["completed"] else float("nan")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--outstanding", type=int, default=100)
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--dnsperf", default=harness.find_executable("dnsperf") or "dnsperf")
    ap.add_argument("--dnsperf-threads", type=int, default=1)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-enc-"))
    made = []
    try:
        knot = harness.Knot(harness.find_executable("knotd"), harness.find_executable("knotc"), zone=B.bench_zone(args.names)).start()
        made.append(knot)
        qfile = work / "queries.txt"
        B.query_file(qfile, args.names)
        subprocess.run([args.bulwark_bin, "cert", "dev", "--out", str(work / "tls"), "--ip", harness.LOOPBACK], check=True, capture_output=True, timeout=60)
        cert, key = work / "tls" / "server.pem", work / "tls" / "server.key"
        dot_port, doh_port = harness.free_port(), harness.free_port()
        config = (
            f'dot: {{listen: ["{harness.LOOPBACK}:{dot_port}"], certificate: {cert}, private-key: {key}}}\n'
            f'doh: {{listen: ["{harness.LOOPBACK}:{doh_port}"]}}\n'
        )
        bulwark = harness.Bulwark(Path(args.bulwark_bin), [f"{harness.LOOPBACK}:{knot.port}"], config=config, extra_args=["--threads", "1", "--log-level", "warning"])
        made.append(bulwark)
        bulwark.start()
        unbound = UnboundEncrypted(knot.port, 1, cert, key)
        made.append(unbound)
        unbound.start()
        servers = {"bulwark": (bulwark, {"dot": dot_port, "doh": doh_port}), "unbound": (unbound, {"dot": unbound.dot_port, "doh": unbound.doh_port})}
        for name, (srv, _) in servers.items():
            B.warm(args, srv, qfile, args.names)
        results: dict = {}
        for mode in ("dot", "doh"):
            for r in range(args.rounds):
                for name, (srv, ports) in servers.items():
                    res = run(args, mode, ports[mode], qfile, srv.proc.pid)
                    results.setdefault((mode, name), []).append(res)
                    B.log(f"{mode} round {r + 1} {name}: {res['qps']:.0f} QPS, {res['cpu_us_per_query']:.1f} µs CPU/query, lost {res['lost']}")
        print("\n| transport | server | QPS (median) | CPU µs/query (median) | avg latency ms | lost |")
        print("|---|---|---:|---:|---:|---:|")
        summary = {}
        for (mode, name), runs in results.items():
            qps = statistics.median(x["qps"] or 0 for x in runs)
            cpu = statistics.median(x["cpu_us_per_query"] for x in runs)
            lat = statistics.median(x["avg_latency_ms"] for x in runs)
            lost = sum(x["lost"] for x in runs)
            summary[f"{mode}/{name}"] = {"qps": qps, "cpu_us_per_query": cpu, "avg_latency_ms": lat, "lost": lost}
            print(f"| {mode} | {name} | {qps:,.0f} | {cpu:.1f} | {lat:.2f} | {lost} |")
        out = REPO / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "encrypted.json").write_text(json.dumps(summary, indent=2) + "\n")
        return 0
    finally:
        for m in reversed(made):
            m.close()


if __name__ == "__main__":
    sys.exit(main())
