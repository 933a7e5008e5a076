"""Process and protocol helpers for Bulwark's integration tests.

Everything here listens on loopback only and every wait is bounded in time.
Processes are stopped by the PID we started, never by name.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
ZONE = "test.bulwark."
ON_CI = os.environ.get("CI", "").lower() == "true"

# ---------------------------------------------------------------------------
# Peers and the binary under test


def find_executable(name: str) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = Path(d) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_peer(what: str) -> None:
    """A test peer is missing: skip locally, fail when CI=true (CI must install every peer)."""
    import pytest

    msg = f"{what} (install: sudo scripts/install-deps)"
    if ON_CI:
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(msg)


def require_peer(*names: str) -> str:
    """The path of each executable (the last one's returned); a missing one is `missing_peer`."""
    path = ""
    for name in names:
        path = find_executable(name) or ""
        if not path:
            missing_peer(f"`{name}` not found")
    return path


def bulwark_binary() -> Path:
    env = os.environ.get("BULWARK_BIN")
    if env:
        p = Path(env)
        return p if p.is_absolute() else REPO_ROOT / p
    return REPO_ROOT / ".build" / "debug" / "bulwark"


# ---------------------------------------------------------------------------
# Ports


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """A port that is free for both UDP and TCP on `host` right now, below the kernel's
    ephemeral range (a port in it can be taken by any outgoing socket, an upstream query or an
    HTTP client, between this check and the server's bind), and never one this process handed
    out before (two calls for one server, say its DNS and its metrics port, would otherwise
    get the same free port now and again)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    high = max(10000, min(_ephemeral_low(), 61000) - 1)
    for _ in range(200):
        port = random.randint(10000, high)
        if port in _handed_out:
            continue
        t = socket.socket(family, socket.SOCK_STREAM)
        u = socket.socket(family, socket.SOCK_DGRAM)
        try:
            t.bind((host, port))
            u.bind((host, port))
            _handed_out.add(port)
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port found on " + host)


def ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# The test zone

BIG_TXT = [f"big-{i:02d}-" + ("x" * 240) for i in range(8)]  # ~2.1 kB: > 1232
MEDIUM_TXT = [f"medium-{i}-" + ("m" * 240) for i in range(2)]  # ~560 B: 512 < n < 1232
SHORT_TTL = 2
NEG_TTL = 60  # SOA TTL and minimum
PIPELINE_NAMES = 24
GENERIC_NAMES = 40


def zone_text() -> str:
    lines = [
        f"$ORIGIN {ZONE}",
        "$TTL 300",
        f"@ {NEG_TTL} IN SOA ns hostmaster 2024010101 3600 600 86400 {NEG_TTL}",
        "@ IN NS ns",
        "@ IN MX 10 mail",
        "@ IN MX 20 mail2",
        "ns IN A 127.0.0.1",
        "mail IN A 192.0.2.25",
        "mail2 IN A 192.0.2.26",
        "www IN A 192.0.2.1",
        "www IN A 192.0.2.2",
        "www IN AAAA 2001:db8::1",
        "www IN AAAA 2001:db8::2",
        "alias1 IN CNAME alias2",
        "alias2 IN CNAME alias3",
        "alias3 IN CNAME www",
        "nodata IN A 192.0.2.60",  # AAAA / TXT here are NODATA
        f"short {SHORT_TTL} IN A 192.0.2.50",
        f"short2 {SHORT_TTL} IN A 192.0.2.51",
        "ttl IN A 192.0.2.70",
        "v6only IN AAAA 2001:db8::70",
    ]
    for s in BIG_TXT:
        lines.append(f'big IN TXT "{s}"')
    for s in MEDIUM_TXT:
        lines.append(f'medium IN TXT "{s}"')
    for i in range(PIPELINE_NAMES):
        lines.append(f"p{i} IN A 192.0.2.{100 + i}")
    for i in range(GENERIC_NAMES):
        lines.append(f"n{i} IN A 198.51.100.{i + 1}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# DNS helpers


def make_query(name: str, rdtype: str = "A", **kw) -> dns.message.QueryMessage:
    return dns.message.make_query(name, rdtype, **kw)


def udp(q: dns.message.Message, port: int, host: str = LOOPBACK, timeout: float = 5.0) -> dns.message.Message:
    return dns.query.udp(q, host, port=port, timeout=timeout)


def tcp(q: dns.message.Message, port: int, host: str = LOOPBACK, timeout: float = 5.0) -> dns.message.Message:
    return dns.query.tcp(q, host, port=port, timeout=timeout)


def recv_exact(sock, n: int) -> bytes:
    """Exactly `n` bytes from a stream socket (plain or TLS); ConnectionError if it closes first."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_framed(sock) -> bytes:
    """One DNS message from a TCP/DoT stream: the 2-byte length (RFC 1035 §4.2.2), then that many bytes."""
    (n,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, n)


def udp_raw(wire: bytes, port: int, host: str = LOOPBACK, timeout: float = 3.0) -> bytes | None:
    """Send raw bytes, return the first datagram back or None on timeout."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (host, port))
        try:
            data, _ = s.recvfrom(65535)
            return data
        except (socket.timeout, ConnectionRefusedError):
            return None


def header(wire: bytes) -> dict:
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {
        "id": ident,
        "qr": bool(flags & 0x8000),
        "opcode": (flags >> 11) & 0xF,
        "tc": bool(flags & 0x0200),
        "rcode": flags & 0xF,
        "qdcount": qd,
        "ancount": an,
        "nscount": ns,
        "arcount": ar,
    }


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def raw_query(ident: int, questions: Iterable[tuple[str, int]], opcode: int = 0, rd: bool = True) -> bytes:
    qs = list(questions)
    flags = (opcode & 0xF) << 11 | (0x0100 if rd else 0)
    wire = struct.pack("!HHHHHH", ident, flags, len(qs), 0, 0, 0)
    for name, rdtype in qs:
        wire += encode_name(name) + struct.pack("!HH", rdtype, 1)
    return wire


def rrsets(section) -> set:
    """Order- and TTL-insensitive view of a message section."""
    return {(r.name.to_text().lower(), r.rdclass, r.rdtype, frozenset(rd.to_text().lower() for rd in r)) for r in section}


def ede_codes(msg: dns.message.Message) -> list[int]:
    return [opt.code for opt in msg.options if int(opt.otype) == 15]


def wait_for_dns(
    port: int, host: str, timeout: float, proc: subprocess.Popen | None = None, qname: str = ZONE, rdtype: str = "SOA", tcp: bool = True
) -> None:
    """Until something answers a UDP query at host:port (any rcode) and, unless `tcp` is false,
    accepts TCP."""
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before answering")
        try:
            udp(make_query(qname, rdtype), port, host=host, timeout=0.5)
            if tcp:
                with socket.create_connection((host, port), timeout=0.5):
                    pass
            return
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last_err = e
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered DNS at {host}:{port} within {timeout}s (last error: {last_err!r})")


class UDPResponder:
    """A UDP 'server' on loopback for tests that need to see or shape what Bulwark sends
    upstream: `reply(wire)` gives the datagrams to send back (none: silence). Keeps the
    queries it received (parsed)."""

    def __init__(self, reply) -> None:
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries: list[dns.message.Message] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                wire, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.queries.append(dns.message.from_wire(wire))
            for out in self.reply(wire):
                self.sock.sendto(out, peer)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=3)
        self.sock.close()


def stop_all(servers: list["Server"], log=print) -> None:
    """Stops every server of `servers`, newest first; a failure to stop one is told, not raised."""
    for srv in reversed(servers):
        try:
            srv.close()
        except Exception as e:  # noqa: BLE001 - stop the others anyway
            log(f"stopping {srv.label}: {e}")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int | None:
    """SIGTERM the process we started (by PID), then SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


# ---------------------------------------------------------------------------
# Running servers: anything started registers here so that a failing test can
# show the servers' logs.

RUNNING: list["Server"] = []


class Server:
    label = "server"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, max_lines: int = 150) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        lines = self.log_path.read_text(errors="replace").splitlines()
        head = f"[{self.label} pid={self.proc.pid if self.proc else '-'} rc={self.proc.poll() if self.proc else '-'}] {self.log_path}\n"
        return head + "\n".join(lines[-max_lines:])

    def stop(self) -> int | None:
        """Stops the process we started (by its PID); its exit status."""
        if self.proc is None:
            return None
        return stop_process(self.proc)

    def close(self) -> None:
        """Stops it and removes its directory."""
        self.stop()
        self._unregister()
        d = getattr(self, "dir", None)
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)

    def _register(self) -> None:
        if self not in RUNNING:
            RUNNING.append(self)

    def _unregister(self) -> None:
        if self in RUNNING:
            RUNNING.remove(self)


def knot_server_conf(directory: Path, host: str, port: int) -> str:
    """The `server`, `database` and `log` sections of a knotd config: one listener, one worker
    of each kind, state in `directory`, log to stderr."""
    return f"""server:
    rundir: "{directory}"
    listen: {host}@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{directory}"
log:
  - target: stderr
    any: info
"""


class Knot(Server):
    """knotd serving the test zone on 127.0.0.1:<port>, in the foreground."""

    label = "knotd"

    def __init__(self, knotd: str, knotc: str | None, zone: str | None = None, port: int | None = None) -> None:
        super().__init__()
        self.knotd = knotd
        self.knotc = knotc
        # Short path: knotd's control socket lives in rundir (sun_path is 108 bytes).
        self.dir = Path(tempfile.mkdtemp(prefix="bk-knot-"))
        self.port = port or free_port()
        self.conf = self.dir / "knot.conf"
        (self.dir / "zone").write_text(zone if zone is not None else zone_text())
        self.conf.write_text(
            knot_server_conf(self.dir, LOOPBACK, self.port)
            + f"""mod-stats:
  - id: default
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    journal-content: none
    global-module: mod-stats/default
zone:
  - domain: {ZONE}
    file: "{self.dir / 'zone'}"
"""
        )
        self.log_path = self.dir / "knotd.log"

    def start(self, timeout: float = 15.0) -> "Knot":
        assert not self.alive()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.knotd, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._register()
        wait_for_dns(self.port, LOOPBACK, timeout, self.proc)
        return self

    def query_count(self) -> int:
        """Queries knotd has answered so far (mod-stats via knotc)."""
        assert self.knotc, "knotc not available"
        out = subprocess.run([self.knotc, "-c", str(self.conf), "stats"], capture_output=True, text=True, timeout=10, check=True).stdout
        for line in out.splitlines():
            if line.startswith("mod-stats.server-operation[query]"):
                return int(line.split("=")[1])
        return 0


class Bulwark(Server):
    """`bulwark serve` on loopback, forwarding to the given upstreams."""

    label = "bulwark"

    def __init__(
        self,
        binary: Path,
        upstreams: list[str] | None,
        *,
        listen: list[str] | None = None,
        extra_args: list[str] | None = None,
        config: str | None = None,
        env: dict[str, str] | None = None,
        use_cli_defaults: bool = True,
        host: str = LOOPBACK,
    ) -> None:
        super().__init__()
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="bk-bulwark-"))
        self.host = host
        self.port = free_port(host)
        self.metrics_port = free_port()
        self.log_path = self.dir / "bulwark.log"
        args = [str(binary), "serve"]
        if use_cli_defaults:
            listen = listen or [f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"]
            for entry in listen:
                args += ["--listen", entry]
            for u in upstreams or []:
                args += ["--upstream", u]
            args += ["--metrics", f"{LOOPBACK}:{self.metrics_port}", "--data", str(self.dir / "data")]
        if config is not None:
            cfg = self.dir / "bulwark.yaml"
            cfg.write_text(config)
            args += ["--config", str(cfg)]
        args += extra_args or []
        self.args = args
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BULWARK_")}
        self.env.update(env or {})

    def start(self, timeout: float = 30.0, wait_host: str | None = None) -> "Bulwark":
        log = open(self.log_path, "ab")
        log.write(("$ " + " ".join(self.args) + "\n").encode())
        log.flush()
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir, env=self.env)
        log.close()
        self._register()
        wait_for_dns(self.port, wait_host or self.host, timeout, self.proc)
        return self

    def metrics_text(self, timeout: float = 5.0) -> tuple[str, str]:
        import urllib.request

        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.metrics_port}/metrics", timeout=timeout) as r:
            return r.read().decode(), r.headers.get("Content-Type", "")


def parse_prometheus(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Minimal Prometheus text-format parser: (name, labels, value) per sample."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            labels_s, value_s = rest.rsplit("}", 1)
            labels = {}
            for part in _split_labels(labels_s):
                k, v = part.split("=", 1)
                labels[k.strip()] = v.strip().strip('"')
        else:
            name, value_s = line.split(None, 1)
            labels = {}
        value = value_s.split()[0]
        samples.append((name.strip(), labels, float(value)))
    return samples


def _split_labels(s: str) -> list[str]:
    parts, cur, quoted = [], "", False
    for ch in s:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            if cur.strip():
                parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def metric_sum(samples, name: str, **labels) -> float:
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == val for k, val in labels.items()))
