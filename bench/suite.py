#!/usr/bin/env python3
"""Side by side: Bulwark, Unbound, Knot Resolver, PowerDNS Recursor and dnsmasq.

Called by bench/suite.sh. One knotd on 127.0.0.1 serves test.bulwark. (1000
names, TTL 86400, bench.py's zone); every server forwards to it.

1. Forwarding, all five servers running side by side, each on its own loopback
   port with --threads server threads where it has threads (kresd and dnsmasq
   are single-threaded: one process each). Caches warmed (every answer must be
   NOERROR), then --rounds rounds in rotated order (A B C D E, E D C B A,
   B C D E A, ...), each server in turn (the others idle):
     - dnsperf at saturation for --duration s: QPS, lost, server CPU per
       completed query (utime+stime of the server process from /proc/PID/stat,
       bench.measure), upstream queries (knotd's count, should be 0);
     - dnsperf at a fixed rate (--latency-qps) with per-query output: p50/p99.
   Every answer is counted; anything but NOERROR is reported.
2. List load, one server at a time (bench/policy.py's servers and list
   formats): --list-names generated names (1M), the time from process start
   until the last listed name is answered NXDOMAIN (polled every 20 ms, bounded
   by --load-timeout: "timeout" rather than a hang), VmRSS 1 s later, VmHWM,
   then a check of listed (NXDOMAIN) and unlisted (NOERROR) names;
   --load-rounds rounds in rotated order.
3. Prints a Markdown table per metric (every round and the median) and the
   medians, writes bench/results/suite-YYYYmmdd-HHMMSS.csv and .png (matplotlib,
   Agg backend).

Everything listens on 127.0.0.1, every daemon runs in the foreground with its
state in a temp dir and an explicit forwarder (none reads /etc/resolv.conf),
every child is bounded in time, and only the PIDs started here are stopped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
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
sys.path.insert(0, str(REPO / "bench"))

import bench  # noqa: E402  (zone, query file, dnsperf runs: saturation + fixed-rate percentiles)
import harness  # noqa: E402  (knotd, loopback ports, stopping by PID)
import policy  # noqa: E402  (the peers, generated lists, load time and RSS)

LOOPBACK = harness.LOOPBACK
FWD_SERVERS = ["bulwark", "unbound", "kresd", "pdns", "dnsmasq"]
NAMES = {
    "bulwark": "Bulwark",
    "unbound": "Unbound",
    "kresd": "Knot Resolver",
    "pdns": "PowerDNS Recursor",
    "dnsmasq": "dnsmasq",
    "bulwark-rpz": "Bulwark (RPZ)",
    "unbound-localzone": "Unbound (local-zone)",
    "unbound-rpz": "Unbound (RPZ)",
}
LIST_FORMAT = {
    "bulwark": "domain list",
    "bulwark-rpz": "RPZ",
    "unbound-localzone": "local-zone lines",
    "unbound-rpz": "RPZ (zonefile)",
    "kresd": "RPZ (policy.rpz)",
    "pdns": "RPZ (rpzFile)",
    "dnsmasq": "address=/name/ lines",
}
# Servers that do not take a thread count: one process, one thread (per process).
NO_THREADS = {
    "kresd": "1 process, single-threaded",  # Knot Resolver scales by one process per core
    "dnsmasq": "single-threaded",
}


def log(msg: str) -> None:
    print(f"[suite {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The forwarders: policy.py's peers (temp dir, loopback port, foreground, version())
# configured as plain caching forwarders to knotd, with no list.


class BulwarkFwd(policy.BulwarkPolicy):
    key = "bulwark"  # `bulwark serve --threads N --upstream knotd`, no policy, fresh --data dir


class UnboundFwd(policy.UnboundLocalZone):
    key = "unbound"

    def prepare(self) -> list[str]:
        # bench.py's Unbound: module-config "iterator" (no validation), forward-zone "." to knotd.
        conf = self.dir / "unbound.conf"
        conf.write_text(policy.unbound_conf(self.dir, self.port, self.upstream_port, self.threads, "iterator", "    outgoing-interface: 127.0.0.1"))
        return [self.exe, "-d", "-c", str(conf)]


class KresdFwd(policy.Kresd):
    key = "kresd"

    def prepare(self) -> list[str]:
        conf = self.dir / "config.lua"
        conf.write_text(f"""-- bench/suite.py: Knot Resolver as a plain caching forwarder to knotd
log_level('notice')
net.ipv6 = false
net.outgoing_v4('{LOOPBACK}')
net.listen('{LOOPBACK}', {self.port}, {{ kind = 'dns' }})
cache.open(100 * MB, 'lmdb://{self.dir / "cache"}')
-- No DNSSEC validation and no queries of its own (priming, trust anchors, time checks).
for _, m in ipairs({{'priming', 'ta_update', 'ta_signal_query', 'ta_sentinel', 'detect_time_skew', 'detect_time_jump'}}) do
    pcall(modules.unload, m)
end
trust_anchors.remove('.')
policy.add(policy.all(policy.FORWARD({{'{LOOPBACK}@{self.upstream_port}'}})))
""")
        return [self.exe, "-n", "-q", "-c", str(conf), str(self.dir)]


class PdnsFwd(policy.Pdns):
    key = "pdns"

    def prepare(self) -> list[str]:
        (self.dir / "recursor.conf").write_text("")  # --config-dir: never /etc/powerdns
        return [
            self.exe,
            f"--config-dir={self.dir}",
            f"--socket-dir={self.dir}",
            f"--local-address={LOOPBACK}",
            f"--local-port={self.port}",
            f"--query-local-address={LOOPBACK}",
            f"--forward-zones-recurse=.={LOOPBACK}:{self.upstream_port}",
            "--dnssec=off",
            f"--threads={self.threads}",
            # Each worker thread on its own SO_REUSEPORT socket, like Unbound and Bulwark
            # (4.8's default is a distributor thread handing queries to the workers).
            "--pdns-distributes-queries=no",
            "--reuseport=yes",
            "--daemon=no",
            "--write-pid=no",
            "--setuid=",
            "--setgid=",
            "--security-poll-suffix=",
            "--disable-syslog=yes",
            "--log-timestamp=no",
        ]


class DnsmasqFwd(policy.Dnsmasq):
    key = "dnsmasq"

    def prepare(self) -> list[str]:
        return [
            self.exe,
            "--no-daemon",
            "--conf-file=/dev/null",  # not /etc/dnsmasq.conf
            f"--port={self.port}",
            f"--listen-address={LOOPBACK}",
            "--bind-interfaces",
            "--no-resolv",
            f"--server={LOOPBACK}#{self.upstream_port}",
            "--cache-size=10000",
            "--no-hosts",
            f"--pid-file={self.dir / 'dnsmasq.pid'}",
            "--user=root",
            "--log-facility=-",
        ]


def make_forwarder(key: str, args: argparse.Namespace, upstream_port: int) -> policy.Peer:
    if key == "bulwark":
        return BulwarkFwd(Path(args.bulwark_bin), None, upstream_port, args.threads)
    cls = {"unbound": UnboundFwd, "kresd": KresdFwd, "pdns": PdnsFwd, "dnsmasq": DnsmasqFwd}[key]
    return cls(None, upstream_port, args.threads)


def thread_note(key: str, threads: int) -> str:
    return NO_THREADS.get(key, f"{threads} thread{'s' if threads != 1 else ''}")


# ---------------------------------------------------------------------------
# Rounds


def round_order(items: list[str], r: int) -> list[str]:
    """A B C D E, E D C B A, B C D E A, A E D C B, ...: nobody always first or last."""
    k = ((r - 1) // 2) % max(len(items), 1)
    rotated = items[k:] + items[:k]
    return rotated if r % 2 else rotated[::-1]


def warm(args: argparse.Namespace, srv: policy.Peer, qfile: Path) -> str:
    """Three passes over the names; every query answered, every answer NOERROR. Returns dnsperf's output."""
    res, out, _ = bench.dnsperf(args, srv.port, qfile, ["-n", "3", "-c", str(args.clients), "-q", "100", "-l", "60"], 120)
    rc = policy.parse_rcodes(out)
    want = 3 * args.names
    if res["completed"] != want or rc.get("NOERROR", 0) != want:
        raise RuntimeError(f"warm-up of {srv.key}: {res['completed']} of {want} answered, rcodes {rc}\n{out[-1500:]}")
    return out


def measure(args: argparse.Namespace, srv: policy.Peer, qfile: Path, knot: harness.Knot) -> dict:
    """bench.measure (saturation, then the fixed-rate run), plus rcode checks, RSS and the machine's other CPU use."""
    pid = srv.proc.pid
    busy0, wall0, ticks0, ch0 = policy.system_busy_ticks(), time.monotonic(), bench.cpu_ticks(pid), os.times()
    res = bench.measure(args, srv, qfile, knot)
    busy1, wall1, ticks1, ch1 = policy.system_busy_ticks(), time.monotonic(), bench.cpu_ticks(pid), os.times()
    own = (ticks1 - ticks0) / bench.CLK_TCK + (ch1.children_user - ch0.children_user) + (ch1.children_system - ch0.children_system)
    # CPU the rest of the machine used meanwhile (other processes, a build): 100 = one core.
    res["other_cpu_pct"] = max(0.0, 100.0 * ((busy1 - busy0) / bench.CLK_TCK - own) / (wall1 - wall0))
    res["not_noerror"] = res["completed"] - res["noerror"]
    if args.latency_qps > 0:
        res["latency_not_noerror"] = res["latency_completed"] - res["latency_noerror"]
    res["rss_mib"] = policy.mib(policy.proc_status(pid).get("VmRSS"))
    return res


def run_forwarding(args: argparse.Namespace, knot: harness.Knot, started: list, workdir: Path, versions: dict) -> list[dict]:
    qfile = workdir / "queries.txt"
    bench.query_file(qfile, args.names)
    running: dict[str, policy.Peer] = {}
    rows: list[dict] = []
    try:
        for key in args.servers:
            try:
                srv = make_forwarder(key, args, knot.port)
            except policy.Missing as e:
                log(f"skip {key}: {e} (bench/setup installs what is missing)")
                rows.append({"part": "forward", "server": key, "status": "missing", "note": str(e)})
                continue
            started.append(srv)
            versions[key] = srv.version() + (f" (sha256 {sha256_prefix(Path(args.bulwark_bin))}…)" if key == "bulwark" else "")
            srv.launch()
            try:
                harness.wait_for_dns(srv.port, LOOPBACK, args.start_timeout, srv.proc)
            except Exception as e:  # noqa: BLE001
                raise RuntimeError(f"{key} did not start: {e}\n{srv.log_tail(30)}") from e
            running[key] = srv
            log(f"{versions[key]} ({thread_note(key, args.threads)}): pid {srv.proc.pid} on {LOOPBACK}:{srv.port}")
        for key, srv in running.items():
            out = warm(args, srv, qfile)
            m = re.search(r"Version ([\d.]+)", out)
            if m:
                versions["dnsperf"] = f"dnsperf {m.group(1)}"
            log(f"warmed {key}: {3 * args.names} answers, all NOERROR")
        for r in range(1, args.rounds + 1):
            for key in round_order(list(running), r):
                srv = running[key]
                row = {"part": "forward", "server": key, "version": versions[key], "threads": thread_note(key, args.threads), "round": r}
                if not srv.alive():
                    row.update(status="died", note=srv.log_tail(5))
                    rows.append(row)
                    log(f"{key} is not running:\n{srv.log_tail(20)}")
                    continue
                try:
                    res = measure(args, srv, qfile, knot)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    row.update(status="failed", note=str(e)[:300])
                    rows.append(row)
                    log(f"{key} round {r}: {e}")
                    continue
                row.update(status="ok", **res)
                rows.append(row)
                bad = res["not_noerror"] + res.get("latency_not_noerror", 0)
                log(f"{key} round {r}: {res['qps']:.0f} qps, {res['cpu_us_per_query']:.2f} us/query, lost {res['lost']}, "
                    f"p50 {res.get('p50_ms', float('nan')):.3f} p99 {res.get('p99_ms', float('nan')):.3f} ms, upstream {res['upstream_queries']}, "
                    f"other CPU {res['other_cpu_pct']:.0f} %" + (f", {bad} answers NOT NOERROR" if bad else ""))
    finally:
        for srv in running.values():
            srv.close()
            started.remove(srv)
    return rows


def run_list_loads(args: argparse.Namespace, knot: harness.Knot, started: list, workdir: Path) -> list[dict]:
    formats = {policy.FORMATS_OF[s] for s in args.list_servers}
    lists = policy.NameList(workdir, args.list_names, args.seed, formats, sample=100)
    rows: list[dict] = []
    missing: set[str] = set()
    try:
        for r in range(1, args.load_rounds + 1):
            for key in round_order(args.list_servers, r):
                if key in missing:
                    continue
                row = policy.run_load(args, key, lists, knot, started)
                row.update(part="load", round=r)
                rows.append(row)
                if row.get("status") == "missing":
                    missing.add(key)
                time.sleep(1.0)  # let the freed memory go before the next one
    finally:
        lists.remove()
    return rows


# ---------------------------------------------------------------------------
# Output


def median_of(rows: list[dict], key: str) -> tuple[float, float, float] | None:
    values = [r[key] for r in rows if r.get("status") == "ok" and isinstance(r.get(key), (int, float)) and r[key] == r[key]]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def cell(rows: list[dict], key: str, digits: int) -> str:
    m = median_of(rows, key)
    if m is None and any(r.get("status") == "ok" for r in rows):
        return "–"  # not measured (e.g. --latency-qps 0)
    if m is None:
        statuses = sorted({str(r.get("status", "–")) for r in rows})
        return "/".join(s.split(" ")[0] for s in statuses) or "–"
    bad = [r for r in rows if r.get("status") != "ok"]
    extra = f" ({len(bad)} of {len(rows)} {bad[0].get('status', '').split(' ')[0]})" if bad else ""
    return policy.fmt(m[0], digits) + extra


def machine_info() -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": mem_kib / 2**20, "kernel": os.uname().release, "debian": debian}


def sha256_prefix(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


METRICS_FWD = [("qps", "QPS (saturation)", 0), ("cpu_us_per_query", "server CPU µs/query", 2), ("p50_ms", "p50 ms", 3),
               ("p99_ms", "p99 ms", 3), ("lost", "lost", 0),
               ("other_cpu_pct", "other CPU % (the rest of the machine during the server's turn; 100 = one core)", 0)]
METRICS_LOAD = [("load_s", "load s", 2), ("rss_mib", "RSS MiB", 0), ("peak_rss_mib", "peak RSS MiB", 0)]


def print_tables(args: argparse.Namespace, fwd: list[dict], loads: list[dict], meta: dict) -> None:
    m = meta["machine"]
    print(f"\n# Side by side ({meta['date']}; {m['nproc']} CPUs {m['cpu']}, {m['ram_gib']:.0f} GiB RAM, Debian {m['debian']}, "
          f"Linux {m['kernel']}; load average {meta['load_before']} before, {meta['load_after']} after)\n")
    print("Versions: " + ", ".join(dict.fromkeys(meta["versions"].values())) + "\n")
    fwd_keys = [k for k in args.servers if any(r["server"] == k for r in fwd)]
    if fwd:
        print(f"## Forwarding from cache ({args.names} names, {args.rounds} rounds; saturation: dnsperf -l {args.duration} -c {args.clients} "
              f"-q {args.outstanding} -T {args.dnsperf_threads}; p50/p99 at {args.latency_qps} qps for {args.latency_duration} s)\n")
        for key, title, digits in METRICS_FWD:
            if key.startswith("p") and key.endswith("_ms") and args.latency_qps <= 0:
                continue
            per_metric(title, fwd, fwd_keys, args.rounds, key, digits)
    load_keys = [k for k in args.list_servers if any(r["server"] == k for r in loads)]
    if loads:
        print(f"## List load, {args.list_names:,} names, one server at a time ({args.load_rounds} rounds)\n")
        for key, title, digits in METRICS_LOAD:
            per_metric(title, loads, load_keys, args.load_rounds, key, digits)
    print(f"## Medians ({meta['date']}, {m['nproc']} CPUs {m['cpu']}, {m['ram_gib']:.0f} GiB; load average {meta['load_before']} → {meta['load_after']})\n")
    if fwd:
        print("| server | threads | QPS | CPU µs/query | p50 ms | p99 ms | lost | not NOERROR | upstream q | other CPU % |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for k in fwd_keys:
            rs = [r for r in fwd if r["server"] == k]
            nn = sum(r.get("not_noerror", 0) + r.get("latency_not_noerror", 0) for r in rs)
            up = sum(r.get("upstream_queries", 0) for r in rs)
            print(f"| {meta['versions'].get(k, NAMES[k])} | {thread_note(k, args.threads)} | {cell(rs, 'qps', 0)} | {cell(rs, 'cpu_us_per_query', 2)} | "
                  f"{cell(rs, 'p50_ms', 3)} | {cell(rs, 'p99_ms', 3)} | {cell(rs, 'lost', 0)} | {nn} | {up} | {cell(rs, 'other_cpu_pct', 0)} |")
        print()
    if loads:
        print(f"| server | list | load s ({args.list_names:,} names) | RSS MiB | peak RSS MiB | check |")
        print("|---|---|---:|---:|---:|---|")
        for k in load_keys:
            rs = [r for r in loads if r["server"] == k]
            checks = sorted({str(r.get("check", r.get("status", "–"))) for r in rs})
            version = next((r["version"] for r in rs if r.get("version")), NAMES.get(k, k))
            print(f"| {version} | {LIST_FORMAT.get(k, '')} | {cell(rs, 'load_s', 2)} | {cell(rs, 'rss_mib', 0)} | {cell(rs, 'peak_rss_mib', 0)} | {'; '.join(checks)[:80]} |")
        print()


def per_metric(title: str, rows: list[dict], keys: list[str], rounds: int, metric: str, digits: int) -> None:
    print(f"### {title}\n")
    print("| server | " + " | ".join(f"round {r}" for r in range(1, rounds + 1)) + " | median |")
    print("|---|" + "---:|" * (rounds + 1))
    for k in keys:
        cells = []
        for r in range(1, rounds + 1):
            row = next((x for x in rows if x["server"] == k and x.get("round") == r), None)
            if row is None:
                cells.append("–")
            elif row.get("status") != "ok":
                cells.append(str(row.get("status", "–")).split(" ")[0])
            else:
                cells.append(policy.fmt(row.get(metric), digits))
        print(f"| {NAMES.get(k, k)} | " + " | ".join(cells) + f" | {cell([x for x in rows if x['server'] == k], metric, digits)} |")
    print()


def write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)


def median_rows(fwd: list[dict], loads: list[dict]) -> list[dict]:
    out = []
    for part, rows, metrics in (("forward", fwd, METRICS_FWD + [("rss_mib", "", 0)]), ("load", loads, METRICS_LOAD)):
        for k in dict.fromkeys(r["server"] for r in rows):
            rs = [r for r in rows if r["server"] == k]
            row = {"part": part, "server": k, "round": "median", "status": "ok" if any(r.get("status") == "ok" for r in rs) else rs[0].get("status")}
            for key, _, _ in metrics:
                m = median_of(rs, key)
                row[key] = m[0] if m else ""
            out.append(row)
    return out


def chart(path: Path, args: argparse.Namespace, fwd: list[dict], loads: list[dict], meta: dict) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed (bench/setup): no chart")
        return False
    panels = [
        ("qps", "cached QPS (saturation)", fwd, args.servers, 0),
        ("cpu_us_per_query", "server CPU µs per query", fwd, args.servers, 2),
        ("p99_ms", f"p99 ms at {args.latency_qps:,} qps", fwd, args.servers, 3),
        ("p50_ms", f"p50 ms at {args.latency_qps:,} qps", fwd, args.servers, 3),
        ("load_s", f"list load s ({args.list_names:,} names)", loads, args.list_servers, 2),
        ("rss_mib", f"RSS MiB after the list load", loads, args.list_servers, 0),
    ]
    panels = [p for p in panels if p[2] and not (p[0] in ("p50_ms", "p99_ms") and args.latency_qps <= 0)]
    cols = 3
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(15, 4.6 * rows_n), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (metric, title, rows, keys, digits) in zip(axes.flat, panels):
        keys = [k for k in keys if any(r["server"] == k for r in rows)]
        meds, lo, hi, labels = [], [], [], []
        for k in keys:
            m = median_of([r for r in rows if r["server"] == k], metric)
            meds.append(m[0] if m else 0.0)
            lo.append(m[0] - m[1] if m else 0.0)
            hi.append(m[2] - m[0] if m else 0.0)
            labels.append(NAMES.get(k, k).replace(" (", "\n("))
        colors = ["#d35400" if k.startswith("bulwark") else "#7f8c8d" for k in keys]
        x = range(len(keys))
        ax.bar(x, meds, yerr=[lo, hi], color=colors, capsize=4, error_kw={"elinewidth": 1})
        ax.set_xticks(list(x), labels, rotation=35, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        for i, k in enumerate(keys):
            m = median_of([r for r in rows if r["server"] == k], metric)
            text = policy.fmt(m[0], digits) if m else next(str(r.get("status")).split(" ")[0] for r in rows if r["server"] == k)
            ax.annotate(text, (i, meds[i] + hi[i]), ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    mach = meta["machine"]
    fig.suptitle(
        f"Bulwark vs Unbound, Knot Resolver, PowerDNS Recursor, dnsmasq — medians of {args.rounds} rounds (bars: min–max), "
        f"{args.threads} server thread(s) where threaded\n{meta['date']}, {mach['nproc']} CPUs {mach['cpu']}, {mach['ram_gib']:.0f} GiB, "
        f"load average {meta['load_before']} → {meta['load_after']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument("--servers", default=",".join(FWD_SERVERS), help="forwarding part, comma-separated ('' to skip): " + ",".join(FWD_SERVERS))
    ap.add_argument("--list-servers", default=",".join(policy.ALL_SERVERS), help="list part ('' to skip): " + ",".join(policy.ALL_SERVERS))
    ap.add_argument("--threads", type=int, default=1, help="server threads where a server has them (bulwark, unbound, pdns)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--load-rounds", type=int, default=None, help="rounds of the list part (default: --rounds)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per saturation run (dnsperf -l)")
    ap.add_argument("--names", type=int, default=1000, help="names in knotd's zone, all queried")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q")
    ap.add_argument("--dnsperf-threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--latency-qps", type=int, default=20000, help="rate of the p50/p99 run (0: skip it)")
    ap.add_argument("--latency-duration", type=int, default=5)
    ap.add_argument("--list-names", type=int, default=1_000_000, help="names in the block list")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--load-timeout", type=float, default=180.0, help="seconds per list load before it counts as 'timeout'")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between load and the RSS reading")
    ap.add_argument("--start-timeout", type=float, default=30.0)
    ap.add_argument("--workdir", default=None, help="where the generated lists go (default: a temp dir, removed)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.list_servers = [s.strip() for s in args.list_servers.split(",") if s.strip()]
    args.load_rounds = args.rounds if args.load_rounds is None else args.load_rounds
    for s in args.servers:
        if s not in FWD_SERVERS:
            ap.error(f"unknown server {s}")
    for s in args.list_servers:
        if s not in policy.ALL_SERVERS:
            ap.error(f"unknown list server {s}")
    for tool in ("knotd", "knotc", "dnsperf"):
        if not harness.find_executable(tool):
            sys.exit(f"{tool} not found ({policy.APT[tool]})")
    args.dnsperf = harness.find_executable("dnsperf")
    knotd, knotc = harness.find_executable("knotd"), harness.find_executable("knotc")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    meta = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(), "load_before": loadavg()}
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    versions: dict[str, str] = {}
    log(f"load average {meta['load_before']} on {meta['machine']['nproc']} CPUs; threads {args.threads} "
        f"({', '.join(f'{k}: {v}' for k, v in NO_THREADS.items())})")
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bk-suite-"))
    workdir.mkdir(parents=True, exist_ok=True)
    fwd: list[dict] = []
    loads: list[dict] = []
    started: list[harness.Server] = []
    return_code = 0
    t_start = time.monotonic()
    try:
        out = subprocess.run([knotd, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        versions["knotd"] = out.replace("knotd (Knot DNS), version", "knotd") or "knotd"
        knot = harness.Knot(knotd, knotc, zone=bench.bench_zone(args.names)).start()
        started.append(knot)
        log(f"{versions['knotd']}: pid {knot.proc.pid} on {LOOPBACK}:{knot.port} with {args.names} names")
        if args.servers:
            fwd = run_forwarding(args, knot, started, workdir, versions)
        if args.list_servers:
            loads = run_list_loads(args, knot, started, workdir)
    except KeyboardInterrupt as e:
        log(f"interrupted: {e}")
        return_code = 130
    except Exception as e:  # noqa: BLE001 - report what we have
        log(f"error: {e}")
        return_code = 1
    finally:
        harness.stop_all(started, log)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    meta["load_after"] = loadavg()
    meta["versions"] = versions
    for r in loads:  # one version string per server for the tables
        if r.get("version") and not any(v.startswith(r["version"]) for v in versions.values()):
            versions.setdefault(r["server"], r["version"])
    log(f"done in {time.monotonic() - t_start:.0f} s; load average {meta['load_after']}")
    if not fwd and not loads:
        return return_code or 1

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"suite-{stamp}.csv"
    write_csv(csv_path, fwd + loads + median_rows(fwd, loads))
    print_tables(args, fwd, loads, meta)
    print(f"CSV: {csv_path}")
    png_path = out_dir / f"suite-{stamp}.png"
    if chart(png_path, args, fwd, loads, meta):
        print(f"PNG: {png_path}")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
