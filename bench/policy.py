#!/usr/bin/env python3
"""Blocklist loading and filtering: Bulwark vs Unbound, Knot Resolver, PowerDNS Recursor, dnsmasq.

Called by bench/policy.sh (which builds the release binary first). For each
size (--sizes, default 1M and 10M generated names) it writes the same list in
every server's format, then starts the servers ONE AT A TIME, each with a
fresh config dir on its own loopback port and forwarding to one shared knotd:

  load s    process start -> the first NXDOMAIN for the LAST name of the list
            (a UDP query every 20 ms)
  RSS       VmRSS from /proc/PID/status 1 s after that; VmHWM (peak)

and checks a few listed names (NXDOMAIN) and one unlisted one (NOERROR).
A server that is not installed is skipped with an apt-get hint; one that does
not load within --load-timeout, or exits, gets a "timeout" / "failed" cell.

Then, at --cpu-size names (default 1M), Bulwark and Unbound (local-zone)
with the same list run side by side against a query file of 90 % names that
knotd answers and 10 % listed names, and dnsperf measures, like bench.py,
server CPU (utime+stime from /proc/PID/stat) per completed query in
alternating saturation rounds.

Everything listens on 127.0.0.1, every child is bounded in time, and only the
PIDs started here are stopped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import bench  # noqa: E402  (zone, dnsperf runner and parser, /proc CPU ticks)
import harness  # noqa: E402  (knotd and bulwark process helpers, loopback ports)

LOOPBACK = harness.LOOPBACK
ZONE = harness.ZONE
ALLOWED_CHECK = f"h1.{ZONE}"  # answered by knotd: every server must forward it (NOERROR)
RPZ_ORIGIN = "rpz.bench."

APT = {
    "unbound": "apt-get install -y unbound",
    "kresd": "apt-get install -y knot-resolver",
    "pdns_recursor": "apt-get install -y pdns-recursor",
    "dnsmasq": "apt-get install -y dnsmasq-base",
    "knotd": "apt-get install -y knot",
    "knotc": "apt-get install -y knot",
    "dnsperf": "apt-get install -y dnsperf",
}

ALL_SERVERS = ["bulwark", "bulwark-rpz", "unbound-localzone", "unbound-rpz", "kresd", "pdns", "dnsmasq"]


def log(msg: str) -> None:
    print(f"[policy {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024.0


# ---------------------------------------------------------------------------
# Generated lists

# ~55 TLD-ish suffixes; the label is 6-14 characters, mostly letters.
SUFFIXES = (
    "com net org de fr co.uk info xyz top io ru nl it es pl br jp in cn eu us ca au ch se no dk fi "
    "be at cz sk hu ro gr pt ie uk kr tw vn id tr ir ua online site club shop biz app dev me tv cc"
).split()
_ALPHABET = (("abcdefghijklmnopqrstuvwxyz" * 9) + ("0123456789" * 3))[:256].encode()


class NameList:
    """`size` unique names, deterministic for a seed, in each server's format."""

    FORMATS = ("domains", "rpz", "unbound", "dnsmasq")

    def __init__(self, directory: Path, size: int, seed: int, formats: set[str], sample: int) -> None:
        self.dir = directory
        self.size = size
        self.paths = {f: directory / name for f, name in
                      (("domains", "names.txt"), ("rpz", "names.rpz"), ("unbound", "local-zones.conf"), ("dnsmasq", "dnsmasq-block.conf"))
                      if f in formats}
        t0 = time.monotonic()
        rng = random.Random(seed)
        seen: set[str] = set()
        names: list[str] = []
        nsuf = len(SUFFIXES)
        while len(names) < size:
            k = min(200_000, size - len(names) + 1000)
            chars = rng.randbytes(k * 14).translate(_ALPHABET).decode()
            meta = rng.randbytes(k * 2)
            pos = 0
            for i in range(k):
                n = 6 + meta[2 * i] % 9
                name = chars[pos : pos + n] + "." + SUFFIXES[meta[2 * i + 1] % nsuf]
                pos += n
                if name in seen:
                    continue
                seen.add(name)
                names.append(name)
                if len(names) == size:
                    break
        del seen
        self.first = names[0]
        self.last = names[-1]
        self.sample = random.Random(seed + 1).sample(names, min(sample, size))
        gen_s = time.monotonic() - t0

        files = {f: open(p, "w", buffering=1 << 20) for f, p in self.paths.items()}
        try:
            if "rpz" in files:
                files["rpz"].write(
                    f"$ORIGIN {RPZ_ORIGIN}\n$TTL 300\n@ SOA localhost. hostmaster.localhost. 1 3600 600 86400 300\n@ NS localhost.\n"
                )
            if "unbound" in files:
                files["unbound"].write("server:\n")
            step = 100_000
            for i in range(0, size, step):
                chunk = names[i : i + step]
                if "domains" in files:
                    files["domains"].write("\n".join(chunk) + "\n")
                if "rpz" in files:
                    files["rpz"].write("".join(f"{n} CNAME .\n" for n in chunk))
                if "unbound" in files:
                    files["unbound"].write("".join(f'local-zone: "{n}." always_nxdomain\n' for n in chunk))
                if "dnsmasq" in files:
                    files["dnsmasq"].write("".join(f"address=/{n}/\n" for n in chunk))
        finally:
            for f in files.values():
                f.close()
        del names
        gc.collect()
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p in self.paths.values())
        log(f"{size} names generated in {gen_s:.1f} s, written in {time.monotonic() - t0 - gen_s:.1f} s ({sizes}); last name {self.last}")

    def remove(self) -> None:
        for p in self.paths.values():
            p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# Servers. Each: own temp dir, own loopback port, foreground, started by PID.


class Missing(Exception):
    pass


class Peer(harness.Server):
    key = "peer"
    exe_name = ""

    def __init__(self, lists: NameList, upstream_port: int, threads: int) -> None:
        super().__init__()
        self.label = self.key
        exe = harness.find_executable(self.exe_name)
        if not exe:
            raise Missing(f"{self.exe_name} not found ({APT.get(self.exe_name, 'install it')})")
        self.exe = exe
        self.lists = lists
        self.upstream_port = upstream_port
        self.threads = threads
        self.dir = Path(tempfile.mkdtemp(prefix=f"bk-{self.key}-"))
        self.port = harness.free_port()
        self.log_path = self.dir / f"{self.key}.log"
        self.cwd = self.dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BULWARK_")}
        self.argv = self.prepare()

    def prepare(self) -> list[str]:
        raise NotImplementedError

    def version(self) -> str:
        return ""

    def launch(self) -> float:
        """Start the process without waiting; returns the monotonic start time."""
        out = open(self.log_path, "ab")
        out.write(("$ " + " ".join(self.argv) + "\n").encode())
        out.flush()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.cwd, env=self.env)
        out.close()
        self._register()
        return t0

    def extra_metrics(self) -> dict:
        return {}

    def close(self) -> None:
        if self.proc is not None:
            harness.stop_process(self.proc, timeout=30)
        self._unregister()
        shutil.rmtree(self.dir, ignore_errors=True)


def unbound_conf(directory: Path, port: int, upstream_port: int, threads: int, module_config: str, extra: str) -> str:
    # bench.py's Unbound, plus the block list part.
    return f"""server:
    verbosity: 1
    username: ""
    chroot: ""
    directory: "{directory}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    interface: {LOOPBACK}@{port}
    port: {port}
    interface-automatic: no
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "{module_config}"
    num-threads: {threads}
    so-reuseport: yes
    msg-cache-size: 128m
    rrset-cache-size: 256m
    prefetch: no
    serve-expired: no
    minimal-responses: yes
    statistics-interval: 0
{extra}
forward-zone:
    name: "."
    forward-addr: {LOOPBACK}@{upstream_port}
"""


class UnboundLocalZone(Peer):
    key = "unbound-localzone"
    exe_name = "unbound"

    def prepare(self) -> list[str]:
        conf = self.dir / "unbound.conf"
        conf.write_text(unbound_conf(self.dir, self.port, self.upstream_port, self.threads, "iterator",
                                     f'    include: "{self.lists.paths["unbound"]}"'))
        return [self.exe, "-d", "-c", str(conf)]

    def version(self) -> str:
        out = subprocess.run([self.exe, "-V"], capture_output=True, text=True, timeout=10).stdout
        return "Unbound " + (out.split()[1] if out.startswith("Version") else "?")


class UnboundRPZ(UnboundLocalZone):
    key = "unbound-rpz"

    def prepare(self) -> list[str]:
        conf = self.dir / "unbound.conf"
        rpz = f"""rpz:
    name: "{RPZ_ORIGIN}"
    zonefile: "{self.lists.paths['rpz']}"
    rpz-log: no"""
        conf.write_text(unbound_conf(self.dir, self.port, self.upstream_port, self.threads, "respip iterator", "") .replace(
            "\nforward-zone:", f"\n{rpz}\nforward-zone:"))
        return [self.exe, "-d", "-c", str(conf)]


class Kresd(Peer):
    key = "kresd"
    exe_name = "kresd"

    def prepare(self) -> list[str]:
        conf = self.dir / "config.lua"
        conf.write_text(f"""-- bench/policy.py: Knot Resolver as a forwarder with an RPZ
log_level('notice')
net.listen('{LOOPBACK}', {self.port}, {{ kind = 'dns' }})
cache.size = 100 * MB  -- the default; LMDB in the rundir ({self.dir})
-- No DNSSEC validation (the zone is unsigned; Unbound runs "iterator" only too).
trust_anchors.remove('.')
modules.unload('priming')
modules.unload('detect_time_skew')
modules.unload('detect_time_jump')
modules.unload('ta_sentinel')
modules.unload('ta_signal_query')
policy.add(policy.rpz(policy.DENY, '{self.lists.paths['rpz']}', false))
policy.add(policy.all(policy.FORWARD('{LOOPBACK}@{self.upstream_port}')))
""")
        return [self.exe, "-n", "-q", "-c", str(conf), str(self.dir)]

    def version(self) -> str:
        out = subprocess.run([self.exe, "--version"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"version ([\d.]+)", out)
        return "Knot Resolver " + (m.group(1) if m else "?")


class Pdns(Peer):
    key = "pdns"
    exe_name = "pdns_recursor"

    def prepare(self) -> list[str]:
        (self.dir / "recursor.conf").write_text("")
        lua = self.dir / "rpz.lua"
        lua.write_text(f'rpzFile("{self.lists.paths["rpz"]}", {{defpol=Policy.NXDOMAIN}})\n')
        return [
            self.exe,
            f"--config-dir={self.dir}",
            f"--socket-dir={self.dir}",
            f"--local-address={LOOPBACK}",
            f"--local-port={self.port}",
            f"--forward-zones=.={LOOPBACK}:{self.upstream_port}",
            "--dont-query=",
            f"--lua-config-file={lua}",
            "--daemon=no",
            "--write-pid=no",
            "--setuid=",
            "--setgid=",
            f"--threads={self.threads}",
            "--security-poll-suffix=",
            "--disable-syslog=yes",
            "--log-timestamp=no",
        ]

    def version(self) -> str:
        out = subprocess.run([self.exe, "--version"], capture_output=True, text=True, timeout=10)
        m = re.search(r"PowerDNS Recursor ([\d.]+)", out.stdout + out.stderr)
        return "PowerDNS Recursor " + (m.group(1) if m else "?")


class Dnsmasq(Peer):
    key = "dnsmasq"
    exe_name = "dnsmasq"

    def prepare(self) -> list[str]:
        return [
            self.exe,
            "-k",  # foreground
            f"--conf-file={self.lists.paths['dnsmasq']}",
            "--no-resolv",
            "--no-hosts",
            f"--port={self.port}",
            f"--listen-address={LOOPBACK}",
            "--bind-interfaces",
            f"--server={LOOPBACK}#{self.upstream_port}",
            f"--pid-file={self.dir / 'dnsmasq.pid'}",
            "--user=root",
            "--log-facility=-",
        ]

    def version(self) -> str:
        out = subprocess.run([self.exe, "--version"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"Dnsmasq version ([\d.]+)", out)
        return "dnsmasq " + (m.group(1) if m else "?")


class BulwarkPolicy(Peer):
    key = "bulwark"
    fmt = "domains"

    def __init__(self, binary: Path, lists: NameList | None, upstream_port: int, threads: int) -> None:
        """With `lists` None: no policy at all, a plain caching forwarder (bench/suite.py)."""
        if not os.access(binary, os.X_OK):
            raise Missing(f"bulwark binary not found at {binary} (swift build -c release, BULWARK_BIN or --bulwark-bin)")
        harness.Server.__init__(self)
        self.label = self.key
        self.lists = lists
        config = None
        if lists is not None:
            path = lists.paths[self.fmt]
            config = f"policy:\n  sources:\n    - {{name: gen, path: {path}, format: {self.fmt}, categories: [malware]}}\n"
        # harness.Bulwark builds the command line (fresh data dir, so a real load from the list).
        self.b = harness.Bulwark(binary, [f"{LOOPBACK}:{upstream_port}"], config=config,
                                 extra_args=["--threads", str(threads), "--log-level", "warning"])
        self.exe = str(binary)
        self.dir = self.b.dir
        self.port = self.b.port
        self.log_path = self.b.log_path
        self.cwd = self.b.dir
        self.env = self.b.env
        self.argv = self.b.args

    def version(self) -> str:
        try:
            out = subprocess.run([self.exe, "--version"], capture_output=True, text=True, timeout=10)
            return "Bulwark " + (out.stdout.strip() or out.stderr.strip() or "?").splitlines()[0]
        except Exception:  # noqa: BLE001
            return "Bulwark"

    def extra_metrics(self) -> dict:
        try:
            text, _ = self.b.metrics_text()
        except Exception as e:  # noqa: BLE001
            return {"note": f"metrics: {e}"}
        samples = harness.parse_prometheus(text)
        out = {}
        for name in ("bulwark_policy_names", "bulwark_policy_build_seconds", "bulwark_policy_generation"):
            if any(n == name for n, _, _ in samples):
                out[name] = harness.metric_sum(samples, name)
        return out


class BulwarkRPZ(BulwarkPolicy):
    key = "bulwark-rpz"
    fmt = "rpz"


def make_server(key: str, args, lists: NameList, upstream_port: int) -> Peer:
    if key == "bulwark":
        return BulwarkPolicy(Path(args.bulwark_bin), lists, upstream_port, args.threads)
    if key == "bulwark-rpz":
        return BulwarkRPZ(Path(args.bulwark_bin), lists, upstream_port, args.threads)
    cls = {"unbound-localzone": UnboundLocalZone, "unbound-rpz": UnboundRPZ, "kresd": Kresd, "pdns": Pdns, "dnsmasq": Dnsmasq}[key]
    return cls(lists, upstream_port, args.threads)


FORMATS_OF = {
    "bulwark": "domains",
    "bulwark-rpz": "rpz",
    "unbound-localzone": "unbound",
    "unbound-rpz": "rpz",
    "kresd": "rpz",
    "pdns": "rpz",
    "dnsmasq": "dnsmasq",
}

# ---------------------------------------------------------------------------
# Load time, memory, answers


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def wait_blocked(port: int, qname: str, proc: subprocess.Popen, t0: float, timeout: float, interval: float = 0.02) -> tuple[str, float | None, float | None]:
    """Query `qname` every `interval` s until NXDOMAIN. Returns (status, load_s, first_answer_s)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.setblocking(False)
    first_answer = None
    ident = random.randrange(1 << 16)
    sent: set[int] = set()
    try:
        while True:
            now = time.monotonic()
            if now - t0 > timeout:
                return "timeout", None, first_answer
            if proc.poll() is not None:
                return f"failed (exit {proc.returncode})", None, first_answer
            ident = (ident + 1) & 0xFFFF
            sent.add(ident)
            try:
                s.sendto(harness.raw_query(ident, [(qname, 1)]), (LOOPBACK, port))
            except OSError:
                pass
            deadline = now + interval
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    break
                try:
                    data = s.recv(65535)
                except OSError:
                    continue
                if len(data) < 12:
                    continue
                h = harness.header(data)
                if not h["qr"] or h["id"] not in sent:
                    continue
                at = time.monotonic() - t0
                if first_answer is None:
                    first_answer = at
                if h["rcode"] == 3:  # NXDOMAIN
                    return "ok", at, first_answer
    finally:
        s.close()


def rcode_of(port: int, name: str) -> str:
    try:
        r = harness.udp(harness.make_query(name, "A"), port, timeout=5.0)
        return dns_rcode_text(r)
    except Exception as e:  # noqa: BLE001
        return f"error {type(e).__name__}"


def dns_rcode_text(msg) -> str:
    import dns.rcode

    return dns.rcode.to_text(msg.rcode())


def check_answers(port: int, lists: NameList, n_blocked: int = 20) -> str:
    """A few listed names must be NXDOMAIN, an unlisted one (in knotd's zone) NOERROR."""
    problems = []
    for name in [lists.first, lists.last, *lists.sample[:n_blocked]]:
        rc = rcode_of(port, name)
        if rc != "NXDOMAIN":
            problems.append(f"{name}: {rc}")
    rc = rcode_of(port, ALLOWED_CHECK)
    if rc != "NOERROR":
        problems.append(f"{ALLOWED_CHECK}: {rc}")
    return "ok" if not problems else "; ".join(problems[:4])


def run_load(args, key: str, lists: NameList, knot: harness.Knot, started: list) -> dict:
    row = {"part": "load", "names": lists.size, "server": key}
    try:
        srv = make_server(key, args, lists, knot.port)
    except Missing as e:
        log(f"skip {key}: {e}")
        row["status"] = "missing"
        row["note"] = str(e)
        return row
    started.append(srv)
    try:
        row["version"] = srv.version()
        t0 = srv.launch()
        pid = srv.proc.pid
        log(f"{key}: pid {pid} on 127.0.0.1:{srv.port}, waiting for NXDOMAIN for {lists.last} (timeout {args.load_timeout:.0f} s)")
        status, load_s, first = wait_blocked(srv.port, lists.last, srv.proc, t0, args.load_timeout)
        at_load = proc_status(pid)
        row.update(status=status, load_s=load_s, first_answer_s=first, rss_at_load_mib=mib(at_load.get("VmRSS")))
        if status == "ok":
            time.sleep(args.settle)
            st = proc_status(pid)
            row.update(rss_mib=mib(st.get("VmRSS")), peak_rss_mib=mib(st.get("VmHWM")))
            row["check"] = check_answers(srv.port, lists)
            row.update(srv.extra_metrics())
            if row["check"] != "ok":
                row["status"] = "wrong answers"
        else:
            st = proc_status(pid)
            row.update(rss_mib=mib(st.get("VmRSS")), peak_rss_mib=mib(st.get("VmHWM")))
            row["note"] = srv.log_tail(8).replace("\n", " | ")[-600:]
        log(f"{key} @ {lists.size}: {status}, load {fmt(load_s, 2)} s, RSS {fmt(row.get('rss_mib'), 0)} MiB, "
            f"peak {fmt(row.get('peak_rss_mib'), 0)} MiB, check {row.get('check', '-')}")
        if status != "ok":
            log(srv.log_tail(20))
    finally:
        srv.close()
        started.remove(srv)
    return row


# ---------------------------------------------------------------------------
# CPU per query with 10 % blocked


def cpu_query_file(path: Path, lists: NameList, allowed_names: int, lines: int, blocked_pct: float, seed: int) -> tuple[int, int]:
    n_blocked = int(round(lines * blocked_pct / 100.0))
    n_allowed = lines - n_blocked
    blocked = lists.sample[:n_blocked]
    if len(blocked) < n_blocked:
        raise SystemExit(f"need {n_blocked} sample names, have {len(blocked)} (raise --sample)")
    allowed = [f"h{i % allowed_names}.{ZONE}" for i in range(n_allowed)]
    entries = [f"{n} A" for n in allowed] + [f"{n}. A" for n in blocked]
    random.Random(seed).shuffle(entries)
    path.write_text("\n".join(entries) + "\n")
    return n_allowed, n_blocked


def system_busy_ticks() -> int:
    """All CPUs' non-idle time from /proc/stat, in clock ticks."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(f[:8]) - f[3] - f[4]  # user nice system idle iowait irq softirq steal


def parse_rcodes(text: str) -> dict[str, int]:
    m = re.search(r"Response codes:\s+(.*)", text)
    out = {}
    if m:
        for code, count in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
            out[code] = int(count)
    return out


def run_cpu(args, lists: NameList, knot: harness.Knot, started: list, workdir: Path) -> list[dict]:
    qfile = workdir / "cpu-queries.txt"
    n_allowed, n_blocked = cpu_query_file(qfile, lists, args.zone_names, args.cpu_lines, args.blocked_pct, args.seed)
    servers: dict[str, Peer] = {}
    rows: list[dict] = []
    log(f"CPU part: load average {os.getloadavg()[0]:.2f} before starting the servers (a busy machine moves every number)")
    try:
        for key in ("bulwark", "unbound-localzone"):
            try:
                srv = make_server(key, args, lists, knot.port)
            except Missing as e:
                log(f"CPU part: skip {key}: {e}")
                rows.append({"part": "cpu", "names": lists.size, "server": key, "status": "missing", "note": str(e)})
                continue
            started.append(srv)
            servers[key] = srv
            srv.version_text = srv.version()
            t0 = srv.launch()
            status, load_s, _ = wait_blocked(srv.port, lists.last, srv.proc, t0, args.load_timeout)
            if status != "ok":
                raise RuntimeError(f"CPU part: {key} did not load: {status}\n{srv.log_tail(30)}")
            log(f"CPU part: {key} pid {srv.proc.pid} on 127.0.0.1:{srv.port} loaded {lists.size} names in {load_s:.2f} s")
        if not servers:
            return rows
        # Before measuring: blocked names really NXDOMAIN, allowed ones NOERROR, on every server.
        check_blocked = lists.sample[:50]
        check_allowed = [f"h{i}.{ZONE}" for i in random.Random(args.seed).sample(range(args.zone_names), 50)]
        for key, srv in servers.items():
            bad = [(n, rc) for n in check_blocked if (rc := rcode_of(srv.port, n)) != "NXDOMAIN"]
            bad += [(n, rc) for n in check_allowed if (rc := rcode_of(srv.port, n)) != "NOERROR"]
            if bad:
                raise RuntimeError(f"CPU part: {key} answers wrongly before measuring: {bad[:5]} ({len(bad)} of 100)")
            log(f"CPU part: {key}: 50 blocked names NXDOMAIN, 50 allowed names NOERROR")
        # Warm both caches: one pass over the whole file, every answer as expected.
        for key, srv in servers.items():
            res, out, _ = bench.dnsperf(args, srv.port, qfile, ["-n", "1", "-c", str(args.clients), "-q", "100", "-l", "120"], 180)
            rc = parse_rcodes(out)
            if rc.get("NOERROR", 0) < n_allowed or rc.get("NXDOMAIN", 0) < n_blocked:
                raise RuntimeError(f"CPU part: warm-up of {key}: {rc} (want NOERROR {n_allowed}, NXDOMAIN {n_blocked})\n{out[-1500:]}")
            log(f"CPU part: warmed {key}: {rc}")
        for r in range(1, args.rounds + 1):
            order = list(servers.items())
            if r % 2 == 0:
                order.reverse()  # A B, B A, A B: neither always goes first
            for key, srv in order:
                pid = srv.proc.pid
                up0 = knot.query_count()
                c0 = bench.cpu_ticks(pid)
                busy0, wall0 = system_busy_ticks(), time.monotonic()
                res, out, client_cpu = bench.dnsperf(
                    args, srv.port, qfile, ["-l", str(args.duration), "-c", str(args.clients), "-q", str(args.outstanding)], args.duration + 60
                )
                c1 = bench.cpu_ticks(pid)
                busy1, wall1 = system_busy_ticks(), time.monotonic()
                if not srv.alive():
                    raise RuntimeError(f"{key} died during the run:\n{srv.log_tail()}")
                rc = parse_rcodes(out)
                cpu_s = (c1 - c0) / bench.CLK_TCK
                completed = res["completed"]
                row = {
                    "part": "cpu", "names": lists.size, "server": key, "version": srv.version_text, "round": r, "status": "ok",
                    "qps": res["qps"], "completed": completed, "lost": res["lost"],
                    "cpu_us_per_query": cpu_s * 1e6 / completed if completed else float("nan"),
                    "server_cpu_pct": 100.0 * cpu_s / (res["runtime_s"] or args.duration),
                    "client_cpu_pct": 100.0 * client_cpu / (res["runtime_s"] or args.duration),
                    "blocked_pct": 100.0 * rc.get("NXDOMAIN", 0) / completed if completed else float("nan"),
                    "other_rcodes": sum(v for k, v in rc.items() if k not in ("NOERROR", "NXDOMAIN")),
                    "upstream_queries": knot.query_count() - up0,
                    "rss_mib": mib(proc_status(pid).get("VmRSS")),
                }
                # CPU the whole machine spent besides this server and dnsperf (other processes, and
                # softirq time not charged to either): a busy machine moves every number.
                busy_s, wall_s = (busy1 - busy0) / bench.CLK_TCK, wall1 - wall0
                row["other_cpu_pct"] = max(0.0, 100.0 * (busy_s - cpu_s - client_cpu) / wall_s)
                rows.append(row)
                log(f"CPU part: {key} round {r}: {row['qps']:.0f} qps, {row['cpu_us_per_query']:.2f} us/query, "
                    f"blocked {row['blocked_pct']:.1f} %, lost {row['lost']}, upstream {row['upstream_queries']}, other CPU {row['other_cpu_pct']:.0f} %")
    finally:
        for srv in servers.values():
            srv.close()
            started.remove(srv)
    return rows


# ---------------------------------------------------------------------------
# Output


def fmt(v, digits: int = 1) -> str:
    if v is None or v == "" or (isinstance(v, float) and v != v):
        return "–"
    return f"{v:,.{digits}f}".replace(",", " ")


def load_cell(row: dict) -> str:
    st = row.get("status")
    if st == "ok":
        return fmt(row.get("load_s"), 2)
    if st == "timeout":
        return "timeout"
    if st == "missing":
        return "missing"
    if st and st.startswith("failed"):
        return "failed"
    return st or "–"


def print_tables(rows: list[dict], args) -> None:
    loads = [r for r in rows if r["part"] == "load"]
    if loads:
        print(f"\n## Load and memory (one server at a time; load = start → NXDOMAIN for the last name; RSS {args.settle:g} s later)\n")
        print("| names | server | version | load s | first answer s | RSS MiB | peak RSS MiB | check |")
        print("|---:|---|---|---:|---:|---:|---:|---|")
        for r in loads:
            print(f"| {r['names']:,} | {r['server']} | {r.get('version', '')} | {load_cell(r)} | {fmt(r.get('first_answer_s'), 2)} | {fmt(r.get('rss_mib'), 0)} | "
                  f"{fmt(r.get('peak_rss_mib'), 0)} | {r.get('check', r.get('note', '')[:80] if r.get('status') != 'ok' else '')} |")
    cpu = [r for r in rows if r["part"] == "cpu" and r.get("status") == "ok"]
    if cpu:
        print(f"\n## CPU per query, {args.blocked_pct:g} % blocked ({args.duration} s rounds, dnsperf -c {args.clients} -q {args.outstanding} -T {args.dnsperf_threads}, --threads {args.threads})\n")
        print("| server | round | QPS | CPU µs/query | server CPU % | client CPU % | other CPU % | blocked % | lost | upstream q |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in cpu:
            print(f"| {r['server']} | {r['round']} | {r['qps']:.0f} | {r['cpu_us_per_query']:.2f} | {r['server_cpu_pct']:.0f} | "
                  f"{r['client_cpu_pct']:.0f} | {r['other_cpu_pct']:.0f} | {r['blocked_pct']:.1f} | {r['lost']} | {r['upstream_queries']} |")
        med = {}
        for key in ("bulwark", "unbound-localzone"):
            rs = [r for r in cpu if r["server"] == key]
            if rs:
                med[key] = {k: statistics.median(r[k] for r in rs) for k in ("qps", "cpu_us_per_query", "lost")}
        base = med.get("unbound-localzone", {}).get("cpu_us_per_query")
        print("\n## CPU medians\n")
        print("| names | server | QPS | CPU µs/query | vs Unbound | lost |")
        print("|---:|---|---:|---:|---:|---:|")
        for key, m in med.items():
            ratio = f"{m['cpu_us_per_query'] / base:.2f}×" if base else "–"
            print(f"| {cpu[0]['names']:,} | {key} | {m['qps']:.0f} | {m['cpu_us_per_query']:.2f} | {ratio} | {m['lost']:.0f} |")


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bulwark-bin", default=os.environ.get("BULWARK_BIN", str(REPO / ".build" / "release" / "bulwark")))
    ap.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma-separated: " + ",".join(ALL_SERVERS))
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated list sizes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--load-timeout", type=float, default=300.0, help="seconds per server and size")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between load and the RSS reading")
    ap.add_argument("--threads", type=int, default=1, help="server threads (Bulwark --threads, Unbound num-threads, pdns --threads)")
    ap.add_argument("--cpu-size", type=int, default=1000000, help="list size of the CPU part (0: skip it); must be one of --sizes")
    ap.add_argument("--blocked-pct", type=float, default=10.0)
    ap.add_argument("--cpu-lines", type=int, default=100000, help="lines of the dnsperf query file")
    ap.add_argument("--zone-names", type=int, default=1000, help="names hN.test.bulwark. knotd serves")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per saturation run (dnsperf -l)")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q")
    ap.add_argument("--dnsperf-threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--workdir", default=None, help="where the generated lists go (default: a temp dir, removed)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in servers:
        if s not in ALL_SERVERS:
            ap.error(f"unknown server {s}")
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.cpu_size and args.cpu_size not in sizes:
        ap.error(f"--cpu-size {args.cpu_size} is not one of --sizes {args.sizes} (use --cpu-size 0 to skip the CPU part)")
    for tool in ("knotd", "knotc") + (("dnsperf",) if args.cpu_size else ()):
        if not harness.find_executable(tool):
            sys.exit(f"{tool} not found ({APT[tool]})")
    args.dnsperf = harness.find_executable("dnsperf")
    knotd, knotc = harness.find_executable("knotd"), harness.find_executable("knotc")
    args.sample = max(int(args.cpu_lines * args.blocked_pct / 100.0), 100)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    log(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bk-policy-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    started: list[harness.Server] = []
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return_code = 0
    try:
        knot = harness.Knot(knotd, knotc, zone=bench.bench_zone(args.zone_names)).start()
        started.append(knot)
        log(f"knotd pid {knot.proc.pid} on 127.0.0.1:{knot.port} with {args.zone_names} names")
        for size in sizes:
            formats = {FORMATS_OF[s] for s in servers}
            if size == args.cpu_size:
                formats |= {"domains", "unbound"}
            lists = NameList(workdir, size, args.seed, formats, args.sample)
            try:
                for key in servers:
                    rows.append(run_load(args, key, lists, knot, started))
                    time.sleep(1.0)  # let the freed memory go before the next one
                if size == args.cpu_size:
                    rows.extend(run_cpu(args, lists, knot, started, workdir))
            finally:
                lists.remove()
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

    if not rows:
        return return_code or 1
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"policy-{stamp}.csv"
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    print_tables(rows, args)
    print(f"\nCSV: {csv_path}")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
