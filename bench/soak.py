#!/usr/bin/env python3
"""Load soak: Bulwark (release) with a 1M-name policy list, dnsperf at saturation for ten
minutes, and a live policy change every second through the REST API (an indicator added, and
the one added 30 s earlier withdrawn; each addition is checked to block).

Reports: no crash (the process is alive at the end), dnsperf's sent/completed/lost at
saturation, QPS, latency p50/p99 of a second dnsperf at a fixed moderate rate running at the
same time (per-query output), RSS at start, maximum and end (sampled every 5 s), and the live
updates made and verified. Everything listens on 127.0.0.1; every child is bounded in time and
stopped by its PID.

    bench/soak.py                                # 600 s, 1M names
    bench/soak.py --duration 60 --names 100000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import harness  # noqa: E402
from bench import bench_zone, parse_dnsperf, percentile  # noqa: E402
from intel_latency import blocked  # noqa: E402
from policy import NameList  # noqa: E402

LOOPBACK = harness.LOOPBACK
ZONE = harness.ZONE
KEY = "SoakAdminKey0123456789abcdefghijklmnopqr"


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def api(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data, headers={"Authorization": KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class Updater(threading.Thread):
    """Every second: add one indicator, withdraw the one added 30 s before, check the new one blocks."""

    def __init__(self, base: str, dns_port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.port, self.stop = base, dns_port, stop
        self.added = self.withdrawn = self.verified = self.errors = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        ids: list[int] = []
        i = 0
        next_t = time.monotonic()
        while not self.stop.is_set():
            next_t += 1.0
            name = f"soak{i}.live.example"
            try:
                t0 = time.monotonic()
                ids.append(api(self.base, "POST", "/api/v1/indicators", {"value": name, "category": "phishing"})["id"])
                self.added += 1
                if blocked(LOOPBACK, self.port, name + "."):
                    self.verified += 1
                    self.latencies.append(time.monotonic() - t0)
                if len(ids) > 30:
                    api(self.base, "DELETE", f"/api/v1/indicators/{ids.pop(0)}")
                    self.withdrawn += 1
            except (urllib.error.URLError, OSError, KeyError, ValueError) as e:
                self.errors += 1
                log(f"update {i}: {e}")
            i += 1
            self.stop.wait(max(0.0, next_t - time.monotonic()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--names", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1, help="Bulwark's threads (the 2-core machine also runs two dnsperf)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--outstanding", type=int, default=200)
    ap.add_argument("--latency-qps", type=int, default=2000, help="rate of the second dnsperf whose per-query latencies give p50/p99")
    ap.add_argument("--dnsperf", default="dnsperf")
    args = ap.parse_args()
    if not 10 <= args.duration <= 3600:
        ap.error("--duration: 10 to 3600 s")
    work = Path(tempfile.mkdtemp(prefix="bk-soak-"))
    started: list[harness.Server] = []
    try:
        knot = harness.Knot(harness.find_executable("knotd") or "/usr/sbin/knotd", None, zone=bench_zone(1000)).start()
        started.append(knot)
        lists = NameList(work, args.names, seed=11, formats={"domains"}, sample=2000)
        config = f"""
policy:
  sources:
    - {{name: big, path: {lists.paths['domains']}, format: domains, categories: [malware]}}
intel:
  keys:
    - {{name: soak, org: bench, role: admin, key: "{KEY}"}}
"""
        b = harness.Bulwark(Path(args.bulwark_bin), [f"{LOOPBACK}:{knot.port}"], config=config,
                            extra_args=["--threads", str(args.threads), "--log-level", "warning"])
        t0 = time.monotonic()
        b.start(timeout=120)
        started.append(b)
        if not blocked(LOOPBACK, b.port, lists.last + "."):
            raise RuntimeError("the list's last name is not blocked after start")
        log(f"bulwark up with {args.names} names in {time.monotonic() - t0:.1f} s, RSS {rss_kib(b.proc.pid) / 1024:.1f} MiB")
        # Queries: the 1000 cached names, and 10 % blocked names of the list.
        qfile = work / "queries.txt"
        lines = [f"h{i}.{ZONE} A" for i in range(1000)] * 9 + [f"{n} A" for n in lists.sample[:1000]]
        qfile.write_text("\n".join(lines) + "\n")
        subprocess.run([args.dnsperf, "-s", LOOPBACK, "-p", str(b.port), "-d", str(qfile), "-n", "2", "-c", "4", "-l", "60"],
                       capture_output=True, timeout=120, check=True)
        rss = [rss_kib(b.proc.pid)]
        base = f"http://{LOOPBACK}:{b.metrics_port}"
        stop = threading.Event()
        updater = Updater(base, b.port, stop)
        sat = subprocess.Popen([args.dnsperf, "-s", LOOPBACK, "-p", str(b.port), "-d", str(qfile), "-l", str(args.duration),
                                "-c", str(args.clients), "-q", str(args.outstanding), "-T", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lat_out = work / "latency.txt"
        with open(lat_out, "w") as lf:
            lat = subprocess.Popen([args.dnsperf, "-s", LOOPBACK, "-p", str(b.port), "-d", str(qfile), "-l", str(args.duration),
                                    "-Q", str(args.latency_qps), "-c", "2", "-v"], stdout=lf, stderr=subprocess.STDOUT)
            updater.start()
            end = time.monotonic() + args.duration
            while time.monotonic() < end:
                time.sleep(5)
                if not b.alive():
                    raise RuntimeError(f"bulwark died during the soak:\n{b.log_tail()}")
                rss.append(rss_kib(b.proc.pid))
            stop.set()
            sat_out, sat_err = sat.communicate(timeout=120)
            lat.wait(timeout=120)
        updater.join(timeout=15)
        alive = b.alive()
        rss.append(rss_kib(b.proc.pid))
        s = parse_dnsperf(sat_out)
        text = lat_out.read_text()
        lat_res = parse_dnsperf(text)
        values = sorted(float(m.group(2)) * 1000 for m in re.finditer(r"^> (NOERROR|NXDOMAIN) \S+ \S+ ([\d.]+)$", text, re.M))
        upd = sorted(updater.latencies)
        print(f"\n### Soak: {args.duration} s, {args.names:,} names, {args.threads} thread(s), {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}\n")
        print("| what | value |\n|---|---|")
        print(f"| alive at the end | {'yes' if alive else 'NO'} |")
        print(f"| saturation: sent / completed / lost | {s['sent']:,} / {s['completed']:,} / {s['lost']:,} |")
        print(f"| saturation QPS | {s['qps']:,.0f} |")
        print(f"| fixed {args.latency_qps} qps alongside: completed / lost | {lat_res['completed']:,} / {lat_res['lost']:,} |")
        print(f"| latency p50 / p99 / max (ms) | {percentile(values, 50):.2f} / {percentile(values, 99):.2f} / {values[-1] if values else float('nan'):.2f} |")
        print(f"| RSS start / max / end (MiB) | {rss[0] / 1024:.1f} / {max(rss) / 1024:.1f} / {rss[-1] / 1024:.1f} |")
        print(f"| live updates: added / verified blocked / withdrawn / errors | {updater.added} / {updater.verified} / {updater.withdrawn} / {updater.errors} |")
        if upd:
            print(f"| add → blocked p50 / p99 (ms) | {percentile(upd, 50) * 1000:.1f} / {percentile(upd, 99) * 1000:.1f} |")
        print(f"| RSS samples (MiB, every 5 s, first/last 6) | {' '.join(f'{r / 1024:.0f}' for r in rss[:6])} … {' '.join(f'{r / 1024:.0f}' for r in rss[-6:])} |")
        return 0 if alive and updater.errors == 0 else 1
    finally:
        harness.stop_all(started, log)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
