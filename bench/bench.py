#!/usr/bin/env python3
"""Bulwark vs Unbound, both forwarding to one knotd, all on loopback.

Called by bench/run.sh (which builds the release binary first). For each
thread count it starts Bulwark and Unbound side by side, warms both caches,
then runs dnsperf against them in alternating rounds and reports, per run:
QPS, latency (dnsperf's average at saturation; p50/p99 from a separate
fixed-rate run with per-query output), and server CPU per answered query
(utime+stime of the server process from /proc/PID/stat).

Everything listens on 127.0.0.1, every child is bounded in time, and only the
PIDs started here are stopped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402  (knotd and bulwark process helpers, loopback ports)

CLK_TCK = os.sysconf("SC_CLK_TCK")
ZONE = harness.ZONE


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Zone, query file


def bench_zone(n: int) -> str:
    lines = [
        f"$ORIGIN {ZONE}",
        "$TTL 86400",  # nothing expires during a run
        "@ 86400 IN SOA ns hostmaster 1 3600 600 86400 3600",
        "@ IN NS ns",
        "ns IN A 127.0.0.1",
    ]
    for i in range(n):
        lines.append(f"h{i} IN A 198.18.{i // 250}.{i % 250 + 1}")
    return "\n".join(lines) + "\n"


def query_file(path: Path, n: int, seed: int = 7) -> None:
    names = [f"h{i}.{ZONE} A" for i in range(n)]
    random.Random(seed).shuffle(names)
    path.write_text("\n".join(names) + "\n")


# ---------------------------------------------------------------------------
# Servers


class Unbound(harness.Server):
    label = "unbound"

    def __init__(self, upstream_port: int, threads: int) -> None:
        super().__init__()
        self.exe = harness.find_executable("unbound")
        if not self.exe:
            raise SystemExit("unbound not found (apt-get install -y unbound)")
        self.dir = Path(tempfile.mkdtemp(prefix="bk-unbound-"))
        self.port = harness.free_port()
        self.host = harness.LOOPBACK
        self.log_path = self.dir / "unbound.log"
        self.conf = self.dir / "unbound.conf"
        self.conf.write_text(
            f"""server:
    verbosity: 1
    username: ""
    chroot: ""
    directory: "{self.dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    interface: {harness.LOOPBACK}@{self.port}
    port: {self.port}
    interface-automatic: no
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    num-threads: {threads}
    so-reuseport: yes
    msg-cache-size: 128m
    rrset-cache-size: 256m
    prefetch: no
    serve-expired: no
    minimal-responses: yes
    statistics-interval: 0
forward-zone:
    name: "."
    forward-addr: {harness.LOOPBACK}@{upstream_port}
"""
        )

    def start(self, timeout: float = 20.0) -> "Unbound":
        check = subprocess.run([self.exe.replace("unbound", "unbound-checkconf"), str(self.conf)], capture_output=True, text=True, timeout=20)
        if check.returncode != 0:
            raise SystemExit(f"unbound-checkconf: {check.stdout}{check.stderr}")
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.exe, "-d", "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self._register()
        harness.wait_for_dns(self.port, self.host, timeout, self.proc)
        return self

    def close(self) -> None:
        if self.proc is not None:
            harness.stop_process(self.proc)
        self._unregister()
        shutil.rmtree(self.dir, ignore_errors=True)


class Floor(harness.Server):
    """bench/floor.c: answers every query with a fixed record and does no DNS work, with the
    socket calls of Bulwark (batched) or of Unbound (`per_packet`). Its CPU per query is the
    kernel's share, which no server on this machine can go below."""

    def __init__(self, threads: int, per_packet: bool, workdir: Path) -> None:
        super().__init__()
        self.label = "floor-per-packet" if per_packet else "floor"
        self.binary = workdir / "floor"
        if not self.binary.exists():
            cc = shutil.which("cc") or shutil.which("gcc")
            if not cc:
                raise SystemExit("floor: no C compiler (apt-get install -y gcc), or leave floor out of --servers")
            subprocess.run([cc, "-O2", "-pthread", "-o", str(self.binary), str(REPO / "bench" / "floor.c")], check=True, timeout=120)
        self.dir = Path(tempfile.mkdtemp(prefix="bk-floor-"))
        self.log_path = self.dir / "floor.log"
        self.port = harness.free_port()
        self.host = harness.LOOPBACK
        self.args = [str(self.binary), str(self.port), str(threads)] + (["--per-packet"] if per_packet else [])

    def start(self, timeout: float = 10.0) -> "Floor":
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self._register()
        # UDP only: the floor has no TCP listener.
        harness.wait_for_dns(self.port, self.host, timeout, self.proc, qname=f"h0.{ZONE}", rdtype="A", tcp=False)
        return self


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


# ---------------------------------------------------------------------------
# dnsperf


def parse_dnsperf(text: str) -> dict:
    def grab(pattern: str, cast=float, default=None):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else default

    return {
        "sent": grab(r"Queries sent:\s+(\d+)", int, 0),
        "completed": grab(r"Queries completed:\s+(\d+)", int, 0),
        "lost": grab(r"Queries lost:\s+(\d+)", int, 0),
        "noerror": grab(r"NOERROR (\d+)", int, 0),
        "runtime_s": grab(r"Run time \(s\):\s+([\d.]+)"),
        "qps": grab(r"Queries per second:\s+([\d.]+)"),
        "avg_latency_ms": (grab(r"Average Latency \(s\):\s+([\d.]+)") or 0.0) * 1000,
        "max_latency_ms": (grab(r"max ([\d.]+)\)") or 0.0) * 1000,
        "stddev_ms": (grab(r"Latency StdDev \(s\):\s+([\d.]+)") or 0.0) * 1000,
    }


def dnsperf(args: argparse.Namespace, port: int, qfile: Path, extra: list[str], limit: float) -> tuple[dict, str, float]:
    cmd = [args.dnsperf, "-s", harness.LOOPBACK, "-p", str(port), "-d", str(qfile), "-T", str(args.dnsperf_threads), *extra]
    before = os.times()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    after = os.times()
    client_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if p.returncode != 0:
        raise RuntimeError(f"dnsperf failed ({p.returncode}): {p.stderr[-2000:]}")
    return parse_dnsperf(p.stdout), p.stdout, client_cpu


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * pct / 100.0
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def measure(args, server, qfile: Path, knot: harness.Knot) -> dict:
    pid = server.proc.pid
    upstream_before = knot.query_count()
    t0 = cpu_ticks(pid)
    res, _, client_cpu = dnsperf(
        args, server.port, qfile, ["-l", str(args.duration), "-c", str(args.clients), "-q", str(args.outstanding)], args.duration + 60
    )
    t1 = cpu_ticks(pid)
    if not server.alive():
        raise RuntimeError(f"{server.label} died during the run:\n{server.log_tail()}")
    cpu_us = (t1 - t0) / CLK_TCK * 1e6
    res["server_cpu_s"] = (t1 - t0) / CLK_TCK
    res["server_cpu_pct"] = 100.0 * res["server_cpu_s"] / (res["runtime_s"] or args.duration)
    res["cpu_us_per_query"] = cpu_us / res["completed"] if res["completed"] else float("nan")
    res["client_cpu_pct"] = 100.0 * client_cpu / (res["runtime_s"] or args.duration)
    res["upstream_queries"] = knot.query_count() - upstream_before

    # Latency percentiles at a fixed, moderate rate: per-query latencies from `dnsperf -v`.
    if args.latency_qps > 0:
        lat, out, _ = dnsperf(
            args, server.port, qfile,
            ["-l", str(args.latency_duration), "-c", str(args.clients), "-q", str(args.outstanding), "-Q", str(args.latency_qps), "-v"],
            args.latency_duration + 60,
        )
        values = sorted(float(m.group(1)) * 1000 for m in re.finditer(r"^> NOERROR \S+ \S+ ([\d.]+)$", out, re.M))
        res["p50_ms"] = percentile(values, 50)
        res["p99_ms"] = percentile(values, 99)
        res["p999_ms"] = percentile(values, 99.9)
        res["latency_samples"] = len(values)
        res["latency_lost"] = lat["lost"]
        res["latency_completed"] = lat["completed"]
        res["latency_noerror"] = lat["noerror"]
    return res


def warm(args, server, qfile: Path, names: int) -> None:
    # Same number of sockets as the measurement, several passes: with
    # SO_REUSEPORT every server thread gets some of the warm-up traffic.
    res, out, _ = dnsperf(args, server.port, qfile, ["-n", "3", "-c", str(args.clients), "-q", "100", "-l", "60"], 120)
    if res["noerror"] < names:
        raise RuntimeError(f"warm-up of {server.label}: {res}\n{out[-1500:]}")


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument(
        "--servers", default="bulwark,unbound,floor",
        help="comma-separated: bulwark, unbound, floor (bench/floor.c: the kernel's share, no DNS work), floor-per-packet")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per saturation run (dnsperf -l)")
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q")
    ap.add_argument("--dnsperf-threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--latency-qps", type=int, default=20000, help="rate of the p50/p99 run (0: skip it)")
    ap.add_argument("--latency-duration", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    threads = [int(t) for t in args.threads.split(",")]
    for s in servers:
        if s not in ("bulwark", "unbound", "floor", "floor-per-packet"):
            ap.error(f"unknown server {s}")
    args.dnsperf = harness.find_executable("dnsperf") or sys.exit("dnsperf not found (apt-get install -y dnsperf)")
    knotd = harness.find_executable("knotd") or sys.exit("knotd not found (apt-get install -y knot)")
    knotc = harness.find_executable("knotc") or sys.exit("knotc not found (apt-get install -y knot)")
    bulwark_bin = Path(args.bulwark_bin)
    if "bulwark" in servers and not os.access(bulwark_bin, os.X_OK):
        sys.exit(f"bulwark binary not found at {bulwark_bin} (swift build -c release, or --bulwark-bin)")

    # Stop whatever we started on SIGINT/SIGTERM too.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="bk-bench-"))
    qfile = workdir / "queries.txt"
    query_file(qfile, args.names)
    rows: list[dict] = []
    started: list[harness.Server] = []
    knot = None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        knot = harness.Knot(knotd, knotc, zone=bench_zone(args.names)).start()
        started.append(knot)
        log(f"knotd pid {knot.proc.pid} on 127.0.0.1:{knot.port} with {args.names} names")
        for t in threads:
            running: dict[str, harness.Server] = {}
            if "bulwark" in servers:
                b = harness.Bulwark(bulwark_bin, [f"{harness.LOOPBACK}:{knot.port}"], extra_args=["--threads", str(t), "--log-level", "warning"])
                started.append(b)
                running["bulwark"] = b.start()
                log(f"bulwark --threads {t}: pid {b.proc.pid} on 127.0.0.1:{b.port}")
            if "unbound" in servers:
                u = Unbound(knot.port, t)
                started.append(u)
                running["unbound"] = u.start()
                log(f"unbound num-threads {t}: pid {u.proc.pid} on 127.0.0.1:{u.port}")
            for name in ("floor", "floor-per-packet"):
                if name in servers:
                    f = Floor(t, name == "floor-per-packet", workdir)
                    started.append(f)
                    running[name] = f.start()
                    log(f"{name} threads {t}: pid {f.proc.pid} on 127.0.0.1:{f.port}")
            for name, srv in running.items():
                warm(args, srv, qfile, args.names)
                log(f"warmed {name}")
            for r in range(1, args.rounds + 1):
                order = list(running.items())
                if r % 2 == 0:
                    order.reverse()  # A B, B A, A B: neither always goes first
                for name, srv in order:
                    res = measure(args, srv, qfile, knot)
                    row = {"server": name, "threads": t, "round": r, **res}
                    rows.append(row)
                    log(
                        f"{name} threads={t} round={r}: {res['qps']:.0f} qps, {res['cpu_us_per_query']:.2f} us/query, "
                        f"server cpu {res['server_cpu_pct']:.0f}%, lost {res['lost']}, p99 {res.get('p99_ms', float('nan')):.3f} ms"
                    )
            for srv in running.values():
                srv.close()
                started.remove(srv)
    except KeyboardInterrupt as e:
        log(f"interrupted: {e}")
        return_code = 130
    else:
        return_code = 0
    finally:
        harness.stop_all(started, log)
        shutil.rmtree(workdir, ignore_errors=True)

    if not rows:
        return return_code or 1
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"bench-{stamp}.csv"
    fields = list(rows[0].keys())
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)

    print(f"\n## Runs ({args.duration} s each, dnsperf -c {args.clients} -q {args.outstanding} -T {args.dnsperf_threads}; "
          f"p50/p99 at {args.latency_qps} qps for {args.latency_duration} s)\n")
    print("| server | threads | round | QPS | avg ms (sat.) | p50 ms | p99 ms | server CPU µs/query | server CPU % | client CPU % | lost | upstream q |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['server']} | {r['threads']} | {r['round']} | {r['qps']:.0f} | {r['avg_latency_ms']:.3f} | {r.get('p50_ms', float('nan')):.3f} | "
            f"{r.get('p99_ms', float('nan')):.3f} | {r['cpu_us_per_query']:.2f} | {r['server_cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} | {r['lost']} | {r['upstream_queries']} |"
        )
    print("\n## Median over rounds\n")
    print("| server | threads | QPS | p99 ms | server CPU µs/query | × Unbound's |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in threads:
        medians: dict[str, dict[str, float]] = {}
        for s in servers:
            rs = [r for r in rows if r["server"] == s and r["threads"] == t]
            if rs:
                medians[s] = {k: statistics.median(r.get(k, float("nan")) for r in rs) for k in ("qps", "p99_ms", "cpu_us_per_query")}
        unbound = medians.get("unbound", {}).get("cpu_us_per_query")
        for s, m in medians.items():
            ratio = f"{m['cpu_us_per_query'] / unbound:.2f}" if unbound else "–"
            print(f"| {s} | {t} | {m['qps']:.0f} | {m['p99_ms']:.3f} | {m['cpu_us_per_query']:.2f} | {ratio} |")
    print(f"\nCSV: {csv_path}")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
