#!/usr/bin/env python3
"""10,000 tenants vs none: does the tenant tree change memory or CPU per query?

Called by bench/tenants.sh (which builds the release binary first). One knotd
upstream, one generated block list (--names, default 1M, bench/policy.py's
NameList, `categories: [malware]`), and two Bulwark configurations that differ
only in the `tenants:` section:

  none     no tenants: queries from 127.0.0.1 get the public profile "protective"
  tenants  --tenants N (default 10,000) nodes in a five-level tree
           eu > 10 ministries > 10 agencies each > 10 regions each > towns,
           every node its own 10.x.y.0/24, every 10th town its own `block:` and
           `allow:` entry, categories added (and marked overridable) on the way
           down; ONE town (depth 4) also owns 127.0.0.1/32, so every query of
           this benchmark is identified as that tenant and decided through its
           whole inherited policy.

Measured per variant:

  load s    process start -> first NXDOMAIN for the LAST listed name (policy.py's
            wait_blocked); --load-rounds fresh starts each, one server at a time
  RSS       VmRSS 1 s after load, and VmHWM (peak)
  CPU       server utime+stime per completed query and QPS, in alternating
            dnsperf saturation rounds (none, tenants, none, tenants, ...) with
            both servers running on their own loopback ports, one loaded at a
            time; query file: 90 % names knotd answers, 10 % listed names

Before any measurement each server must answer: listed names NXDOMAIN, an
unlisted knotd name NOERROR, the deep town's own `block:` name NXDOMAIN with
tenants and NOERROR without (the tenant is really identified), and another
town's `block:` name NOERROR in both (its entry applies to that town only).

Everything listens on 127.0.0.1, every child is bounded in time, and only the
PIDs started here are stopped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import bench  # noqa: E402  (zone, dnsperf runner and parser, /proc CPU ticks)
import harness  # noqa: E402  (knotd and bulwark process helpers, loopback ports)
import policy  # noqa: E402  (NameList, BulwarkPolicy, wait_blocked, proc_status, cpu_query_file, ...)

LOOPBACK = harness.LOOPBACK
ZONE = harness.ZONE
VARIANTS = ("none", "tenants")
MAX_TENANTS = 65536  # one distinct 10.x.y.0/24 per node


def log(msg: str) -> None:
    print(f"[tenants {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The tenant tree


class Tree:
    """`n` nodes: eu > ministries > agencies > regions > towns (fan-out 10 while n allows).

    Level sizes: 1, then per level min(capacity, half of what is left), so that
    a small n still reaches the towns (depth 4); capacities 10, 100, 1000, the
    rest are towns. n = 10,000: 1 + 10 + 100 + 1000 + 8889. Children go
    round-robin to the nodes one level up (10 each while the sizes are full).
    """

    def __init__(self, n: int) -> None:
        if not 20 <= n <= MAX_TENANTS:
            raise SystemExit(f"--tenants must be between 20 and {MAX_TENANTS}")
        sizes = [1]
        left = n - 1
        for cap in (10, 100, 1000):
            k = min(cap, max(1, left // 2))
            sizes.append(k)
            left -= k
        sizes.append(left)  # towns
        self.sizes = sizes
        self.nodes: list[dict] = []  # in config order, except that the deep town is written last
        levels: list[list[dict]] = []
        for depth, size in enumerate(sizes):
            level = []
            for k in range(size):
                if depth == 0:
                    node = {"name": "eu", "categories": ["threats"]}
                else:
                    up = levels[depth - 1][k % len(levels[depth - 1])]
                    tag = "mart"[depth - 1]
                    name = f"{tag}{k // len(levels[depth - 1])}" if depth > 1 else f"m{k}"
                    node = {"name": f"{up['name']}-{name}" if depth > 1 else name, "parent": up["name"]}
                    if depth == 1:  # ministries: adult, which their subtree may allow
                        node["categories"] = ["adult"]
                        node["overridable"] = ["adult"]
                    elif depth == 2 and k % 2 == 0:  # every other agency: gambling, overridable
                        node["categories"] = ["gambling"]
                        node["overridable"] = ["gambling"]
                    elif depth == 3 and k % 3 == 0:  # every third region: ads and tracking
                        node["categories"] = ["ads-tracking"]
                    elif depth == 4 and k % 10 == 0:  # every 10th town: one name of its own each way
                        node["block"] = [f"tb-{k}.{ZONE}"]
                        node["allow"] = [f"ta-{k}.{ZONE}"]
                node["depth"] = depth
                node["index"] = len(self.nodes)
                node["networks"] = [f"10.{node['index'] >> 8}.{node['index'] & 255}.0/24"]
                level.append(node)
                self.nodes.append(node)
            levels.append(level)
        # The deep town: town 0 (region 0 > agency 0 > ministry 0 > eu: every level adds a
        # category), with a block entry, also owns 127.0.0.1/32. Written last in the config.
        self.deep = levels[4][0]
        self.deep["networks"].append(f"{LOOPBACK}/32")
        self.nodes.remove(self.deep)
        self.nodes.append(self.deep)
        self.deep_block = self.deep["block"][0]
        # Another town's own block name: must not apply to the deep town.
        self.other_block = levels[4][10]["block"][0] if len(levels[4]) > 10 else None
        self.town_blocks = [t["block"][0] for t in levels[4] if "block" in t]
        chain, node, by_name = [], self.deep, {x["name"]: x for x in self.nodes}
        while node is not None:
            chain.append(node["name"] + (f" [{', '.join(node['categories'])}]" if node.get("categories") else ""))
            node = by_name.get(node.get("parent"))
        self.chain = " > ".join(reversed(chain))

    def yaml(self) -> str:
        def flow(v):
            return "[" + ", ".join(f'"{x}"' for x in v) + "]"

        lines = ["tenants:"]
        for node in self.nodes:
            parts = [f"name: {node['name']}"]
            if "parent" in node:
                parts.append(f"parent: {node['parent']}")
            for key in ("categories", "overridable", "block", "allow", "networks"):
                if key in node:
                    parts.append(f"{key}: {flow(node[key])}")
            lines.append("  - {" + ", ".join(parts) + "}")
        return "\n".join(lines) + "\n"

    def zone_extra(self) -> str:
        """Every town's `block:` name in knotd's zone, so that where it is not blocked it is NOERROR."""
        out = []
        for i, name in enumerate(self.town_blocks):
            out.append(f"{name} IN A 198.19.{(i // 250) % 256}.{i % 250 + 1}")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Servers: policy.py's Bulwark with the block list, plus the tenants section.


class BulwarkVariant(policy.BulwarkPolicy):
    def __init__(self, args, variant: str, lists: policy.NameList, tree: Tree, upstream_port: int) -> None:
        super().__init__(Path(args.bulwark_bin), lists, upstream_port, args.threads)
        self.key = self.label = variant
        if variant == "tenants":
            config = Path(self.argv[self.argv.index("--config") + 1])
            with open(config, "a") as f:
                f.write(tree.yaml())


def check_answers(port: int, variant: str, lists: policy.NameList, tree: Tree, n_blocked: int = 20, n_allowed: int = 20,
                  zone_names: int = 1000, seed: int = 1) -> str:
    """Listed names NXDOMAIN, knotd names NOERROR, the deep town's block entry only with tenants."""
    want: list[tuple[str, str]] = [(n, "NXDOMAIN") for n in [lists.first, lists.last, *lists.sample[:n_blocked]]]
    want += [(f"h{i}.{ZONE}", "NOERROR") for i in random.Random(seed).sample(range(zone_names), min(n_allowed, zone_names))]
    want.append((tree.deep_block, "NXDOMAIN" if variant == "tenants" else "NOERROR"))
    if tree.other_block:
        want.append((tree.other_block, "NOERROR"))
    problems = [f"{n}: {rc} (want {w})" for n, w in want if (rc := policy.rcode_of(port, n)) != w]
    return "ok" if not problems else "; ".join(problems[:4]) + (f" (+{len(problems) - 4})" if len(problems) > 4 else "")


def start_loaded(args, variant: str, lists, tree: Tree, knot, started: list) -> tuple[BulwarkVariant, dict]:
    """Start one server, wait until the last listed name is blocked, read its memory, check answers."""
    srv = BulwarkVariant(args, variant, lists, tree, knot.port)
    started.append(srv)
    t0 = srv.launch()
    pid = srv.proc.pid
    status, load_s, first = policy.wait_blocked(srv.port, lists.last, srv.proc, t0, args.load_timeout)
    row = {"variant": variant, "names": lists.size, "tenants": len(tree.nodes) if variant == "tenants" else 0,
           "status": status, "load_s": load_s, "first_answer_s": first, "pid": pid, "port": srv.port}
    if status != "ok":
        row["note"] = srv.log_tail(12).replace("\n", " | ")[-1500:]
        return srv, row
    time.sleep(args.settle)
    st = policy.proc_status(pid)
    row.update(rss_mib=policy.mib(st.get("VmRSS")), peak_rss_mib=policy.mib(st.get("VmHWM")))
    row["check"] = check_answers(srv.port, variant, lists, tree, zone_names=args.zone_names, seed=args.seed)
    row.update(srv.extra_metrics())
    if row["check"] != "ok":
        row["status"] = "wrong answers"
    return srv, row


def stop(srv, started: list) -> None:
    srv.close()
    if srv in started:
        started.remove(srv)


# ---------------------------------------------------------------------------
# The two parts


def run_load(args, lists, tree: Tree, knot, started: list) -> list[dict]:
    rows = []
    for r in range(1, args.load_rounds + 1):
        order = list(VARIANTS) if r % 2 == 1 else list(reversed(VARIANTS))
        for variant in order:
            srv, row = start_loaded(args, variant, lists, tree, knot, started)
            row.update(part="load", round=r)
            try:
                rows.append(row)
                log(f"load {variant} round {r}: {row['status']}, load {policy.fmt(row.get('load_s'), 2)} s, "
                    f"RSS {policy.fmt(row.get('rss_mib'), 1)} MiB, peak {policy.fmt(row.get('peak_rss_mib'), 1)} MiB, "
                    f"policy names {policy.fmt(row.get('bulwark_policy_names'), 0)}, check {row.get('check', '-')}")
                if row["status"] != "ok":
                    raise RuntimeError(f"{variant} did not load or answered wrongly: {row['status']} {row.get('check', '')}\n{srv.log_tail(30)}")
            finally:
                stop(srv, started)
            time.sleep(1.0)  # let the freed memory go before the next one
    return rows


def run_cpu(args, lists, tree: Tree, knot, started: list, workdir: Path) -> list[dict]:
    qfile = workdir / "cpu-queries.txt"
    n_allowed, n_blocked = policy.cpu_query_file(qfile, lists, args.zone_names, args.cpu_lines, args.blocked_pct, args.seed)
    servers: dict[str, BulwarkVariant] = {}
    rows: list[dict] = []
    log(f"CPU part: load average {os.getloadavg()[0]:.2f} before starting the servers (a busy machine moves every number)")
    try:
        for variant in VARIANTS:
            srv, row = start_loaded(args, variant, lists, tree, knot, started)
            servers[variant] = srv
            if row["status"] != "ok":
                raise RuntimeError(f"CPU part: {variant}: {row['status']} {row.get('check', '')}\n{srv.log_tail(30)}")
            log(f"CPU part: {variant} pid {srv.proc.pid} on 127.0.0.1:{srv.port} loaded in {row['load_s']:.2f} s, check {row['check']}")
        # More answers checked before measuring (the run stops otherwise).
        check_allowed = [f"h{i}.{ZONE}" for i in random.Random(args.seed).sample(range(args.zone_names), min(50, args.zone_names))]
        for variant, srv in servers.items():
            bad = [(n, rc) for n in lists.sample[:50] if (rc := policy.rcode_of(srv.port, n)) != "NXDOMAIN"]
            bad += [(n, rc) for n in check_allowed if (rc := policy.rcode_of(srv.port, n)) != "NOERROR"]
            if bad:
                raise RuntimeError(f"CPU part: {variant} answers wrongly before measuring: {bad[:5]} ({len(bad)} wrong)")
        # Warm both caches: one pass over the whole file, every answer as expected.
        for variant, srv in servers.items():
            res, out, _ = bench.dnsperf(args, srv.port, qfile, ["-n", "1", "-c", str(args.clients), "-q", "100", "-l", "120"], 180)
            rc = policy.parse_rcodes(out)
            if rc.get("NOERROR", 0) < n_allowed or rc.get("NXDOMAIN", 0) < n_blocked:
                raise RuntimeError(f"CPU part: warm-up of {variant}: {rc} (want NOERROR {n_allowed}, NXDOMAIN {n_blocked})\n{out[-1500:]}")
            log(f"CPU part: warmed {variant}: {rc}")
        for r in range(1, args.rounds + 1):
            order = list(servers.items())
            if args.abba and r % 2 == 0:
                order.reverse()
            for variant, srv in order:
                pid = srv.proc.pid
                up0 = knot.query_count()
                c0 = bench.cpu_ticks(pid)
                busy0, wall0 = policy.system_busy_ticks(), time.monotonic()
                res, out, client_cpu = bench.dnsperf(
                    args, srv.port, qfile, ["-l", str(args.duration), "-c", str(args.clients), "-q", str(args.outstanding)], args.duration + 60
                )
                c1 = bench.cpu_ticks(pid)
                busy1, wall1 = policy.system_busy_ticks(), time.monotonic()
                if not srv.alive():
                    raise RuntimeError(f"{variant} died during the run:\n{srv.log_tail()}")
                rc = policy.parse_rcodes(out)
                cpu_s = (c1 - c0) / bench.CLK_TCK
                completed = res["completed"]
                st = policy.proc_status(pid)
                row = {
                    "part": "cpu", "variant": variant, "names": lists.size, "tenants": len(tree.nodes) if variant == "tenants" else 0,
                    "round": r, "status": "ok", "qps": res["qps"], "completed": completed, "lost": res["lost"],
                    "cpu_us_per_query": cpu_s * 1e6 / completed if completed else float("nan"),
                    "server_cpu_pct": 100.0 * cpu_s / (res["runtime_s"] or args.duration),
                    "client_cpu_pct": 100.0 * client_cpu / (res["runtime_s"] or args.duration),
                    "blocked_pct": 100.0 * rc.get("NXDOMAIN", 0) / completed if completed else float("nan"),
                    "other_rcodes": sum(v for k, v in rc.items() if k not in ("NOERROR", "NXDOMAIN")),
                    "upstream_queries": knot.query_count() - up0,
                    "rss_mib": policy.mib(st.get("VmRSS")), "peak_rss_mib": policy.mib(st.get("VmHWM")),
                }
                busy_s, wall_s = (busy1 - busy0) / bench.CLK_TCK, wall1 - wall0
                row["other_cpu_pct"] = max(0.0, 100.0 * (busy_s - cpu_s - client_cpu) / wall_s)
                rows.append(row)
                log(f"CPU part: {variant} round {r}: {row['qps']:.0f} qps, {row['cpu_us_per_query']:.2f} us/query, "
                    f"blocked {row['blocked_pct']:.1f} %, lost {row['lost']}, upstream {row['upstream_queries']}, "
                    f"RSS {row['rss_mib']:.1f} MiB, other CPU {row['other_cpu_pct']:.0f} %")
        # The tenant is still the one deciding after the rounds.
        for variant, srv in servers.items():
            want = "NXDOMAIN" if variant == "tenants" else "NOERROR"
            if (rc := policy.rcode_of(srv.port, tree.deep_block)) != want:
                raise RuntimeError(f"CPU part: after the rounds {variant} answers {tree.deep_block} with {rc} (want {want})")
    finally:
        for srv in servers.values():
            stop(srv, started)
    return rows


# ---------------------------------------------------------------------------
# Output


def medians(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for variant in VARIANTS:
        m: dict = {}
        loads = [r for r in rows if r["part"] == "load" and r["variant"] == variant and r.get("status") == "ok"]
        cpu = [r for r in rows if r["part"] == "cpu" and r["variant"] == variant]
        for k in ("load_s", "rss_mib", "peak_rss_mib", "bulwark_policy_names"):
            vals = [r[k] for r in loads if isinstance(r.get(k), (int, float))]
            if vals:
                m[k] = statistics.median(vals)
        for k in ("qps", "cpu_us_per_query", "lost", "blocked_pct"):
            vals = [r[k] for r in cpu if isinstance(r.get(k), (int, float))]
            if vals:
                m[k] = statistics.median(vals)
                if k in ("cpu_us_per_query", "qps"):
                    m[k + "_min"], m[k + "_max"] = min(vals), max(vals)
        if cpu:
            m["rss_after_cpu_mib"] = cpu[-1]["rss_mib"]
            m["peak_after_cpu_mib"] = cpu[-1]["peak_rss_mib"]
        m["load_rounds"], m["cpu_rounds"] = len(loads), len(cpu)
        out[variant] = m
    return out


def ratio(m: dict, k: str) -> str:
    a, b = m.get("tenants", {}).get(k), m.get("none", {}).get(k)
    return f"{a / b:.3f}×" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "–"


def spread(m: dict, k: str) -> str:
    """(max - min) / median over the rounds, in %."""
    if k + "_min" not in m or not m.get(k):
        return "–"
    return f"{100.0 * (m[k + '_max'] - m[k + '_min']) / m[k]:.1f} %"


def print_tables(rows: list[dict], med: dict, tree: Tree, args) -> None:
    fmt = policy.fmt
    print(f"\n## Setup\n")
    print(f"- names: {args.names:,} (domain list, `categories: [malware]`); query file {args.cpu_lines:,} lines, "
          f"{args.blocked_pct:g} % listed names, the rest `hN.{ZONE}` ({args.zone_names} names knotd answers)")
    print(f"- tenants: {len(tree.nodes):,} nodes, levels {' / '.join(str(s) for s in tree.sizes)} "
          f"(eu / ministries / agencies / regions / towns), {len(tree.town_blocks)} towns with own block+allow entries")
    print(f"- queries from 127.0.0.1 are tenant `{tree.deep['name']}`: {tree.chain}")
    print(f"- Bulwark `--threads {args.threads}`; dnsperf `-c {args.clients} -q {args.outstanding} -T {args.dnsperf_threads}`, "
          f"{args.duration} s rounds, order {'ABBA' if args.abba else 'none, tenants per round'}")
    loads = [r for r in rows if r["part"] == "load"]
    if loads:
        print(f"\n## Load and memory (one server at a time; load = start → NXDOMAIN for the last name; RSS {args.settle:g} s later)\n")
        print("| variant | round | load s | RSS MiB | peak RSS MiB | policy names | check |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for r in loads:
            print(f"| {r['variant']} | {r['round']} | {fmt(r.get('load_s'), 2)} | {fmt(r.get('rss_mib'), 1)} | {fmt(r.get('peak_rss_mib'), 1)} | "
                  f"{fmt(r.get('bulwark_policy_names'), 0)} | {r.get('check', r.get('status'))} |")
    cpu = [r for r in rows if r["part"] == "cpu"]
    if cpu:
        print(f"\n## CPU per query, {args.blocked_pct:g} % blocked ({args.duration} s rounds)\n")
        print("| variant | round | QPS | CPU µs/query | server CPU % | client CPU % | other CPU % | blocked % | lost | upstream q | RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in cpu:
            print(f"| {r['variant']} | {r['round']} | {r['qps']:.0f} | {r['cpu_us_per_query']:.2f} | {r['server_cpu_pct']:.0f} | "
                  f"{r['client_cpu_pct']:.0f} | {r['other_cpu_pct']:.0f} | {r['blocked_pct']:.1f} | {r['lost']} | {r['upstream_queries']} | {r['rss_mib']:.1f} |")
    print("\n## Medians\n")
    print("| variant | tenants | load s | RSS MiB | peak RSS MiB | RSS after CPU MiB | QPS | CPU µs/query | CPU spread over rounds | lost |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for variant in VARIANTS:
        m = med.get(variant, {})
        n = len(tree.nodes) if variant == "tenants" else 0
        print(f"| {variant} | {n:,} | {fmt(m.get('load_s'), 2)} | {fmt(m.get('rss_mib'), 1)} | {fmt(m.get('peak_rss_mib'), 1)} | "
              f"{fmt(m.get('rss_after_cpu_mib'), 1)} | {fmt(m.get('qps'), 0)} | {fmt(m.get('cpu_us_per_query'), 2)} | "
              f"{spread(m, 'cpu_us_per_query')} | {fmt(m.get('lost'), 0)} |")
    print(f"| **tenants / none** | | {ratio(med, 'load_s')} | {ratio(med, 'rss_mib')} | {ratio(med, 'peak_rss_mib')} | "
          f"{ratio(med, 'rss_after_cpu_mib')} | {ratio(med, 'qps')} | **{ratio(med, 'cpu_us_per_query')}** | | |")
    a, b = med.get("tenants", {}), med.get("none", {})
    if a.get("rss_mib") is not None and b.get("rss_mib") is not None:
        print(f"\nRSS difference: {a['rss_mib'] - b['rss_mib']:+.1f} MiB for {len(tree.nodes):,} tenants "
              f"({(a['rss_mib'] - b['rss_mib']) * 1024 * 1024 / len(tree.nodes):+.0f} bytes per tenant).")
    if a.get("cpu_us_per_query") and b.get("cpu_us_per_query"):
        d = 100.0 * (a["cpu_us_per_query"] / b["cpu_us_per_query"] - 1)
        print(f"CPU difference: {d:+.1f} % (tenants vs none); round-to-round spread of the same variant: "
              f"none {spread(b, 'cpu_us_per_query')}, tenants {spread(a, 'cpu_us_per_query')}.")


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument("--names", type=int, default=1000000, help="generated list size")
    ap.add_argument("--tenants", type=int, default=10000, help=f"tenant nodes (20 to {MAX_TENANTS})")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--load-timeout", type=float, default=300.0, help="seconds per server start")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between load and the RSS reading")
    ap.add_argument("--load-rounds", type=int, default=None, help="fresh starts per variant for load and memory (default: --rounds)")
    ap.add_argument("--threads", type=int, default=1, help="Bulwark --threads")
    ap.add_argument("--blocked-pct", type=float, default=10.0)
    ap.add_argument("--cpu-lines", type=int, default=100000, help="lines of the dnsperf query file")
    ap.add_argument("--zone-names", type=int, default=1000, help="names hN.test.bulwark. knotd serves")
    ap.add_argument("--rounds", type=int, default=3, help="CPU rounds per variant (0: load and memory only)")
    ap.add_argument("--abba", action="store_true", help="reverse the order every other CPU round (none tenants, tenants none, ...)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per saturation run (dnsperf -l)")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q")
    ap.add_argument("--dnsperf-threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--workdir", default=None, help="where the generated list goes (default: a temp dir, removed)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()
    if args.load_rounds is None:
        args.load_rounds = max(args.rounds, 1)

    for tool in ("knotd", "knotc", "dnsperf"):
        if not harness.find_executable(tool):
            sys.exit(f"{tool} not found ({policy.APT[tool]})")
    if not os.access(args.bulwark_bin, os.X_OK):
        sys.exit(f"bulwark binary not found at {args.bulwark_bin} (swift build -c release, BULWARK_BIN or --bulwark-bin)")
    args.dnsperf = harness.find_executable("dnsperf")
    knotd, knotc = harness.find_executable("knotd"), harness.find_executable("knotc")
    sample = max(int(args.cpu_lines * args.blocked_pct / 100.0), 100)
    tree = Tree(args.tenants)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    log(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    log(f"{len(tree.nodes)} tenants (levels {tree.sizes}), {len(tree.yaml()) / 1024:.0f} KiB of config; 127.0.0.1 is {tree.chain}")
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bk-tenants-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    started: list[harness.Server] = []
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return_code = 0
    lists = None
    try:
        knot = harness.Knot(knotd, knotc, zone=bench.bench_zone(args.zone_names) + tree.zone_extra()).start()
        started.append(knot)
        log(f"knotd pid {knot.proc.pid} on 127.0.0.1:{knot.port} with {args.zone_names} + {len(tree.town_blocks)} names")
        lists = policy.NameList(workdir, args.names, args.seed, {"domains"}, sample)
        rows.extend(run_load(args, lists, tree, knot, started))
        if args.rounds > 0:
            rows.extend(run_cpu(args, lists, tree, knot, started, workdir))
    except KeyboardInterrupt as e:
        log(f"interrupted: {e}")
        return_code = 130
    except Exception as e:  # noqa: BLE001 - report what we have
        log(f"error: {e}")
        return_code = 1
    finally:
        harness.stop_all(started, log)
        if lists is not None:
            lists.remove()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    if not rows:
        return return_code or 1
    med = medians(rows)
    out_rows = rows + [{"part": "median", "variant": v, "names": args.names, "tenants": len(tree.nodes) if v == "tenants" else 0, **m}
                       for v, m in med.items()]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"tenants-{stamp}.csv"
    fields: list[str] = []
    for r in out_rows:
        fields += [k for k in r if k not in fields]
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(out_rows)
    print_tables(rows, med, tree, args)
    print(f"\nCSV: {csv_path}")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
