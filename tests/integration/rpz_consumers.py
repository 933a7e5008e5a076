"""Real DNS resolvers as RPZ consumers of a primary, for Bulwark's integration tests.

Each class starts one daemon on 127.0.0.1 with a port from harness.free_port(),
running as the current user, with all its state in a private temp dir:

    UnboundRPZ(primary_host, primary_port, zones, upstream_port, allow_notify=True)
    BindRPZ(primary_host, primary_port, zones, upstream_port, tsig=None)
    PdnsRPZ(primary_host, primary_port, zones, upstream_port, tsig=None)
    KresdRPZ(rpz_file, upstream_port)            # reads an RPZ *file* and watches it
    KnotSecondary(primary_host, primary_port, zones, tsig=None)   # plain secondary
    KnotAuth(zones, tsig=None, notify=())        # knotd authoritative: upstream or RPZ primary

All share `Daemon`: start(timeout) (returns once the daemon answers DNS on its
port), stop(), close(), `port`, `host`, `notify_port`, `dir`, `log_path`,
log_tail(), query(), lookup(), and use as a context manager.

Containment (nothing leaves the machine):
- every daemon listens on 127.0.0.1 only;
- the resolvers never recurse: everything is forwarded (or stubbed) to the local
  upstream given as `upstream_port`, and DNSSEC validation is off;
- every daemon's *outgoing* source address is pinned to 127.0.0.1 and outgoing
  IPv6 is off, so even a query we did not foresee (root priming, trust-anchor
  refresh, security polling) cannot reach another address: Linux refuses to
  route a packet with a loopback source to a non-loopback destination (EINVAL);
- root priming, trust-anchor updates and PowerDNS's security poll are disabled.

The primary must be a loopback address; a TSIG key is `Tsig(name, secret,
algorithm)` or a tuple `(name, algorithm, base64_secret)`.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring

from harness import LOOPBACK, Server, find_executable, free_port, knot_server_conf, wait_for_dns

__all__ = [
    "Tsig",
    "Daemon",
    "UnboundRPZ",
    "BindRPZ",
    "PdnsRPZ",
    "KresdRPZ",
    "KnotSecondary",
    "KnotAuth",
    "NotifyTarget",
    "Record",
    "MissingDependency",
    "wait_until",
    "rpz_zone_text",
    "write_atomic",
]

DEFAULT_START_TIMEOUT = 10.0


class MissingDependency(RuntimeError):
    """A binary or library the daemon needs is not installed."""


# ---------------------------------------------------------------------------
# Small helpers


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05, message: str = "condition") -> float:
    """Poll `predicate` until it returns something truthy; return the seconds that took.

    An exception from the predicate counts as "not yet". Raises TimeoutError naming
    `message` and the last value or exception once `timeout` seconds have passed."""
    start = time.monotonic()
    deadline = start + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return time.monotonic() - start
            last = value
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError(f"{message}: still not true after {timeout:.1f}s (last: {last!r})")
        time.sleep(min(interval, max(0.0, deadline - now)))


def write_atomic(path: Path | str, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync, then rename it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rpz_zone_text(zone: str, serial: int, records: Iterable[str], ttl: int = 60, refresh: int = 3600) -> str:
    """An RPZ zone file: SOA, `NS localhost.`, then `records` (owner names relative to the apex)."""
    zone = _abs(zone)
    lines = [
        f"$ORIGIN {zone}",
        f"$TTL {ttl}",
        f"@ SOA localhost. root.localhost. {serial} {refresh} 600 86400 {ttl}",
        "@ NS localhost.",
    ]
    lines += list(records)
    return "\n".join(lines) + "\n"


def _abs(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _check_loopback(host: str) -> str:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host!r} is not a loopback address: these fixtures talk to loopback only")
    return host


def _is_v6(host: str) -> bool:
    return ":" in host


def _require_exe(name: str) -> str:
    path = find_executable(name)
    if not path:
        raise MissingDependency(f"`{name}` not found")
    return path


@dataclass(frozen=True)
class Tsig:
    name: str
    secret: str  # base64
    algorithm: str = "hmac-sha256"

    @classmethod
    def coerce(cls, value: "Tsig | tuple | dict | None") -> "Tsig | None":
        if value is None or isinstance(value, Tsig):
            return value
        if isinstance(value, dict):
            return cls(name=value["name"], secret=value["secret"], algorithm=value.get("algorithm", "hmac-sha256"))
        name, algorithm, secret = value  # (name, algorithm, base64 secret)
        return cls(name=name, secret=secret, algorithm=algorithm)

    @classmethod
    def generate(cls, name: str = "bulwark-rpz-key.", algorithm: str = "hmac-sha256") -> "Tsig":
        return cls(name=name, secret=base64.b64encode(os.urandom(32)).decode(), algorithm=algorithm)

    @property
    def fqdn(self) -> str:
        return _abs(self.name)

    def keyring(self) -> dict:
        return dns.tsigkeyring.from_text({self.fqdn: (self.algorithm, self.secret)})


class Record(NamedTuple):
    name: str  # absolute, lower case
    ttl: int
    rdtype: str
    rdata: str


class NotifyTarget(NamedTuple):
    host: str
    port: int
    signed: bool = True  # sign the NOTIFY with the primary's TSIG key (if it has one)


# ---------------------------------------------------------------------------
# The shared base


class Daemon(Server):
    """One daemon in a private temp dir, listening on 127.0.0.1:`port`.

    Subclasses set `label` and implement _write_config() and _argv()."""

    label = "daemon"
    #: Does this consumer implement RPZ-IP (answer address) triggers?
    supports_rpz_ip = True
    #: Does a NOTIFY to `notify_port` make it fetch the new zone right away?
    supports_notify = True

    def __init__(self, prefix: str) -> None:
        super().__init__()
        # Short path: some daemons put unix sockets here (sun_path is 108 bytes).
        self.dir = Path(tempfile.mkdtemp(prefix=f"bk-{prefix}-"))
        self.host = LOOPBACK
        self.port = free_port(self.host)
        self.notify_port = self.port
        self.log_path = self.dir / f"{prefix}.log"

    # -- to implement
    def _write_config(self) -> None:
        raise NotImplementedError

    def _follow(self, primary_host: str, primary_port: int, zones: Sequence[str], upstream_host: str, upstream_port: int) -> None:
        """An RPZ consumer: the primary it transfers `zones` from, the upstream it forwards to."""
        self.primary = (_check_loopback(primary_host), primary_port)
        self.zones = [_abs(z) for z in zones]
        self.upstream = (_check_loopback(upstream_host), upstream_port)

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _startup_failed(self) -> Exception | None:
        """A more specific error to raise when the daemon did not come up."""
        return None

    # -- lifecycle
    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> "Daemon":
        assert not self.alive(), f"{self.label} already running"
        self._write_config()
        argv = self._argv()
        log = open(self.log_path, "ab")
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()
        self._register()
        try:
            wait_for_dns(self.port, self.host, timeout, self.proc)
        except Exception as e:
            self.stop()
            specific = self._startup_failed()
            if specific is not None:
                raise specific from e
            raise RuntimeError(f"{self.label} did not start: {e}\n{self.log_tail(40)}") from e
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- DNS
    def query(self, name: str, rdtype: str = "A", timeout: float = 2.0, tcp: bool = False, **kw) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, self.host, port=self.port, timeout=timeout)
        return dns.query.udp(q, self.host, port=self.port, timeout=timeout)

    def lookup(self, name: str, rdtype: str = "A", timeout: float = 2.0) -> tuple[str, list[str]]:
        """(rcode text, sorted rdata of `rdtype` in the answer), e.g. ("NOERROR", ["192.0.2.1"])."""
        r = self.query(name, rdtype, timeout=timeout)
        t = dns.rdatatype.from_text(rdtype)
        return dns.rcode.to_text(r.rcode()), sorted(rd.to_text() for rrset in r.answer if rrset.rdtype == t for rd in rrset)


# ---------------------------------------------------------------------------
# Unbound


class UnboundRPZ(Daemon):
    """Unbound 1.17 with one `rpz:` clause per zone, transferring from the primary.

    Unbound has no TSIG for RPZ transfers or NOTIFY. The primary is always allowed
    to NOTIFY (Unbound allows its `primary:` addresses implicitly); allow_notify=True
    also allows 127.0.0.1 and ::1 from any port, a list allows those addresses."""

    label = "unbound"

    def __init__(
        self,
        primary_host: str,
        primary_port: int,
        zones: Sequence[str],
        upstream_port: int,
        allow_notify: bool | Sequence[str] = True,
        upstream_host: str = LOOPBACK,
        verbosity: int = 1,
        zonefile: bool = True,
    ) -> None:
        super().__init__("unbound")
        # Unbound rewrites the whole zone file after every transfer (single-threaded: a
        # million-name zone holds it for seconds); without one it keeps the zone in memory only.
        self.keep_zonefile = zonefile
        self.exe = _require_exe("unbound")
        self._follow(primary_host, primary_port, zones, upstream_host, upstream_port)
        if allow_notify is True:
            self.allow_notify = ["127.0.0.1", "::1"]
        elif allow_notify:
            self.allow_notify = [_check_loopback(a) for a in allow_notify]
        else:
            self.allow_notify = []
        self.verbosity = verbosity
        self.conf = self.dir / "unbound.conf"

    def zonefile(self, zone: str) -> Path:
        return self.dir / f"{_abs(zone)}rpz"

    def _write_config(self) -> None:
        ph, pp = self.primary
        uh, up = self.upstream
        v6 = _is_v6(ph) or _is_v6(uh)
        out = [
            "server:",
            f"    verbosity: {self.verbosity}",
            f'    directory: "{self.dir}"',
            '    username: ""',
            '    chroot: ""',
            f'    pidfile: "{self.dir / "unbound.pid"}"',
            "    use-syslog: no",
            '    logfile: ""',
            "    log-time-ascii: yes",
            f"    interface: {self.host}@{self.port}",
            f"    port: {self.port}",
            "    do-ip4: yes",
            f"    do-ip6: {'yes' if v6 else 'no'}",
            "    outgoing-interface: 127.0.0.1",
            *(["    outgoing-interface: ::1"] if v6 else []),
            "    do-not-query-localhost: no",  # else forwarding/transfers to 127.0.0.1 are refused
            "    access-control: 127.0.0.0/8 allow",
            "    access-control: ::1/128 allow",
            "    num-threads: 1",
            "    so-reuseport: no",
            # respip is what implements RPZ in Unbound; no validator: the test zones are unsigned.
            '    module-config: "respip iterator"',
            "    qname-minimisation: no",
            "    cache-max-negative-ttl: 5",
            "    serve-expired: no",
            "    prefetch: no",
            "remote-control:",
            "    control-enable: no",
        ]
        for zone in self.zones:
            out += [
                "rpz:",
                f'    name: "{zone}"',
                f"    primary: {ph}@{pp}",
                *(f"    allow-notify: {a}" for a in self.allow_notify),
                *([f'    zonefile: "{self.zonefile(zone)}"'] if self.keep_zonefile else []),
                "    rpz-log: yes",
                f'    rpz-log-name: "{zone}"',
            ]
        out += [
            "forward-zone:",
            '    name: "."',
            f"    forward-addr: {uh}@{up}",
        ]
        self.conf.write_text("\n".join(out) + "\n")
        chk = find_executable("unbound-checkconf")
        if chk:
            r = subprocess.run([chk, str(self.conf)], capture_output=True, text=True, timeout=20)
            if r.returncode != 0:
                raise RuntimeError(f"unbound-checkconf failed:\n{r.stdout}{r.stderr}\n{self.conf.read_text()}")

    def _argv(self) -> list[str]:
        return [self.exe, "-d", "-p", "-c", str(self.conf)]


# ---------------------------------------------------------------------------
# BIND


class BindRPZ(Daemon):
    """BIND 9.18 with `type secondary` policy zones and a `response-policy` list.

    No rndc (`controls { };`), `notify no` (a secondary would otherwise NOTIFY the
    zone's NS, `localhost.`, on port 53), NOTIFY accepted from 127.0.0.1."""

    label = "named"

    def __init__(
        self,
        primary_host: str,
        primary_port: int,
        zones: Sequence[str],
        upstream_port: int,
        tsig: "Tsig | tuple | dict | None" = None,
        upstream_host: str = LOOPBACK,
        max_policy_ttl: int = 60,
        policy: str = "given",
    ) -> None:
        super().__init__("named")
        self.exe = _require_exe("named")
        self._follow(primary_host, primary_port, zones, upstream_host, upstream_port)
        self.tsig = Tsig.coerce(tsig)
        self.max_policy_ttl = max_policy_ttl
        self.policy = policy
        self.conf = self.dir / "named.conf"

    def zonefile(self, zone: str) -> Path:
        return self.dir / f"{_abs(zone)}db"

    def _write_config(self) -> None:
        ph, pp = self.primary
        uh, up = self.upstream
        key = ""
        key_ref = ""
        if self.tsig:
            key = f'key "{self.tsig.fqdn}" {{ algorithm {self.tsig.algorithm}; secret "{self.tsig.secret}"; }};\n'
            key_ref = f' key "{self.tsig.fqdn}"'
        policies = " ".join(f'zone "{z}" policy {self.policy} log yes;' for z in self.zones)
        zones = "".join(
            f"""zone "{z}" {{
    type secondary;
    primaries {{ {ph} port {pp}{key_ref}; }};
    file "{self.zonefile(z)}";
    masterfile-format text;
    allow-query {{ localhost; }};
    allow-transfer {{ none; }};
    allow-notify {{ 127.0.0.1; ::1; }};
    notify no;
}};
"""
            for z in self.zones
        )
        self.conf.write_text(
            f"""{key}options {{
    directory "{self.dir}";
    pid-file "{self.dir / 'named.pid'}";
    session-keyfile "{self.dir / 'session.key'}";
    managed-keys-directory "{self.dir}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    query-source address 127.0.0.1;
    query-source-v6 address ::1;
    transfer-source 127.0.0.1;
    transfer-source-v6 ::1;
    notify-source 127.0.0.1;
    notify-source-v6 ::1;
    recursion yes;
    allow-query {{ 127.0.0.1; ::1; }};
    allow-recursion {{ 127.0.0.1; ::1; }};
    allow-notify {{ 127.0.0.1; ::1; }};
    allow-transfer {{ none; }};
    notify no;
    forwarders {{ {uh} port {up}; }};
    forward only;
    dnssec-validation no;
    servfail-ttl 0;
    max-ncache-ttl 5;
    max-cache-size 32m;
    prefetch 0;
    minimal-responses no;
    response-policy {{ {policies} }} qname-wait-recurse no max-policy-ttl {self.max_policy_ttl} min-update-interval 0 break-dnssec yes;
}};
controls {{ }};
{zones}"""
        )
        chk = find_executable("named-checkconf")
        if chk:
            r = subprocess.run([chk, str(self.conf)], capture_output=True, text=True, timeout=20)
            if r.returncode != 0:
                raise RuntimeError(f"named-checkconf failed:\n{r.stdout}{r.stderr}\n{self.conf.read_text()}")

    def _argv(self) -> list[str]:
        # -g: foreground, log to stderr; runs as the current user (no -u); -n 1: one worker.
        argv = [self.exe, "-g", "-n", "1", "-c", str(self.conf)]
        if not (_is_v6(self.primary[0]) or _is_v6(self.upstream[0])):
            argv.insert(1, "-4")
        return argv


# ---------------------------------------------------------------------------
# PowerDNS Recursor


class PdnsRPZ(Daemon):
    """PowerDNS Recursor 4.8 with `rpzPrimary()` per zone in its Lua config.

    Forwards "." to the upstream with `forward-zones` (RD=0: the upstream is an
    authoritative server) or `forward-zones-recurse` (RD=1) if upstream_recursive.

    NOTIFY: `allow-notify-from` / `allow-notify-for` are set, but before Recursor 5.1
    a NOTIFY only wipes the cache below the zone name (and is answered unsigned, so a
    primary that signs it logs "failed to verify TSIG"): supports_notify is False on
    4.8 and the zone is polled instead, every `refresh` seconds (default 1 then).
    The packet cache is off by default (packetcache=False): 4.8 does not flush it
    when an RPZ changes, so a name answered before it was listed would stay
    unblocked for the answer's TTL."""

    label = "pdns_recursor"

    def __init__(
        self,
        primary_host: str,
        primary_port: int,
        zones: Sequence[str],
        upstream_port: int,
        tsig: "Tsig | tuple | dict | None" = None,
        upstream_host: str = LOOPBACK,
        upstream_recursive: bool = False,
        refresh: int | None = None,
        extended_error_code: int | None = 15,
        packetcache: bool = False,
    ) -> None:
        super().__init__("pdns")
        self.exe = _require_exe("pdns_recursor")
        self.version = self._version(self.exe)
        # NOTIFY for RPZ zones arrived in Recursor 5.1 (PowerDNS/pdns#13701); before that a
        # NOTIFY for a zone in allow-notify-for only wipes the cache below that name.
        self.supports_notify = self.version >= (5, 1)
        if refresh is None and not self.supports_notify:
            refresh = 1  # poll the primary's SOA every second instead
        self._follow(primary_host, primary_port, zones, upstream_host, upstream_port)
        self.upstream_recursive = upstream_recursive
        self.tsig = Tsig.coerce(tsig)
        self.refresh = refresh
        self.extended_error_code = extended_error_code
        # 4.8 does not wipe its packet cache when an RPZ zone changes: an answer cached
        # before a name was added stays unblocked until its TTL runs out. Off by default.
        self.packetcache = packetcache
        self.lua = self.dir / "rpz.lua"
        self.conf = self.dir / "recursor.conf"

    def dumpfile(self, zone: str) -> Path:
        return self.dir / f"{_abs(zone)}dump"

    @staticmethod
    def _version(exe: str) -> tuple[int, ...]:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
        m = re.search(r"PowerDNS Recursor (\d+)\.(\d+)\.(\d+)", r.stdout + r.stderr)
        return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)

    @staticmethod
    def _addr(host: str, port: int) -> str:
        return f"[{host}]:{port}" if _is_v6(host) else f"{host}:{port}"

    def _write_config(self) -> None:
        ph, pp = self.primary
        uh, up = self.upstream
        lua = []
        for z in self.zones:
            opts = [f'policyName="{z}"', f'dumpFile="{self.dumpfile(z)}"', "axfrTimeout=10"]
            if self.tsig:
                opts += [f'tsigname="{self.tsig.fqdn}"', f'tsigalgo="{self.tsig.algorithm}"', f'tsigsecret="{self.tsig.secret}"']
            if self.refresh is not None:
                opts.append(f"refresh={int(self.refresh)}")
            if self.extended_error_code is not None:
                opts.append(f"extendedErrorCode={int(self.extended_error_code)}")
            lua.append(f'rpzPrimary({{"{self._addr(ph, pp)}"}}, "{z}", {{{", ".join(opts)}}})')
        self.lua.write_text("\n".join(lua) + "\n")
        forward = "forward-zones-recurse" if self.upstream_recursive else "forward-zones"
        v6 = _is_v6(ph) or _is_v6(uh)
        self.conf.write_text(
            "\n".join(
                [
                    f"local-address={self.host}",
                    f"local-port={self.port}",
                    "query-local-address=127.0.0.1" + (",::1" if v6 else ""),
                    f"socket-dir={self.dir}",
                    f"lua-config-file={self.lua}",
                    f"{forward}=.={self._addr(uh, up)}",
                    "dnssec=off",
                    "daemon=no",
                    "disable-syslog=yes",
                    "log-timestamp=yes",
                    "loglevel=6",
                    "log-rpz-changes=yes",
                    "quiet=yes",
                    "threads=1",
                    "security-poll-suffix=",  # no secpoll.powerdns.com lookups
                    "allow-from=127.0.0.0/8,::1/128",
                    "allow-notify-from=127.0.0.0/8,::1/128",
                    "allow-notify-for=" + ",".join(self.zones),
                    "max-negative-ttl=5",
                    "packetcache-servfail-ttl=0",
                    f"disable-packetcache={'no' if self.packetcache else 'yes'}",
                    "webserver=no",
                    "",
                ]
            )
        )

    def _argv(self) -> list[str]:
        # --config-dir: read our recursor.conf, never /etc/powerdns/recursor.conf
        # (Debian's sets setuid=pdns). No --setuid/--setgid: runs as the current user.
        return [self.exe, f"--config-dir={self.dir}"]


# ---------------------------------------------------------------------------
# Knot Resolver 5


class KresdRPZ(Daemon):
    """Knot Resolver 5.6 reading an RPZ *file* (QNAME triggers only), watching it.

    Replace the file by write + rename (write_atomic): kresd reparses on the
    directory's CREATE/MODIFY events for that name, which needs lua-cqueues
    (a Recommends of the Debian package). Everything else is sent with
    `policy.STUB` (RD=0, the upstream is authoritative) or `policy.FORWARD` if
    upstream_recursive."""

    label = "kresd"
    supports_rpz_ip = False
    supports_notify = False  # it reads a file; nothing to NOTIFY

    def __init__(
        self,
        rpz_file: Path | str,
        upstream_port: int,
        upstream_host: str = LOOPBACK,
        upstream_recursive: bool = False,
        message: str = "blocked by bulwark",
        watch: bool = True,
    ) -> None:
        super().__init__("kresd")
        self.exe = _require_exe("kresd")
        self.rpz_file = Path(rpz_file).resolve()
        self.upstream = (_check_loopback(upstream_host), upstream_port)
        self.upstream_recursive = upstream_recursive
        self.message = message
        self.watch = watch
        self.notify_port = None  # type: ignore[assignment]
        self.conf = self.dir / "kresd.conf"

    def _write_config(self) -> None:
        if not self.rpz_file.exists():
            raise FileNotFoundError(f"kresd needs the RPZ file to exist at start: {self.rpz_file}")
        uh, up = self.upstream
        action = "FORWARD" if self.upstream_recursive else "STUB"
        msg = self.message.replace("\\", "\\\\").replace("'", "\\'")
        self.conf.write_text(
            f"""-- Bulwark test consumer: loopback only, no recursion, no DNSSEC.
log_target('stderr')
log_level('info')
net.ipv6 = false
net.outgoing_v4('127.0.0.1')
net.listen('{self.host}', {self.port}, {{ kind = 'dns' }})
cache.open(10 * MB, 'lmdb://{self.dir / 'cache'}')
for _, m in ipairs({{'priming', 'ta_update', 'ta_signal_query', 'ta_sentinel', 'detect_time_skew', 'detect_time_jump'}}) do
    pcall(modules.unload, m)
end
trust_anchors.remove('.')
policy.add(policy.rpz(policy.DENY_MSG('{msg}'), '{self.rpz_file}', {'true' if self.watch else 'false'}))
policy.add(policy.all(policy.{action}({{'{uh}@{up}'}})))
"""
        )

    def _argv(self) -> list[str]:
        # -n: non-interactive; the positional argument is the rundir (control socket, cwd).
        return [self.exe, "-n", "-c", str(self.conf), str(self.dir)]

    def _startup_failed(self) -> Exception | None:
        if "lua-cqueues required" in self.log_text():
            return MissingDependency("kresd: lua-cqueues is needed to watch the RPZ file (apt-get install lua-cqueues)")
        return None

    def reloads(self) -> int:
        """How many times kresd has logged reloading the RPZ file."""
        return self.log_text().count("RPZ reloading")


# ---------------------------------------------------------------------------
# knotd


class _Knot(Daemon):
    """knotd in the foreground with one worker of each kind and a knotc."""

    label = "knotd"

    def __init__(self, prefix: str, tsig: "Tsig | tuple | dict | None") -> None:
        super().__init__(prefix)
        self.exe = _require_exe("knotd")
        self.knotc_exe = find_executable("knotc")
        self.tsig = Tsig.coerce(tsig)
        self.conf = self.dir / "knot.conf"

    def zonefile(self, zone: str) -> Path:
        return self.dir / f"{_abs(zone)}zone"

    def _server_conf(self) -> str:
        key = ""
        if self.tsig:
            key = f"""key:
  - id: {self.tsig.fqdn}
    algorithm: {self.tsig.algorithm}
    secret: {self.tsig.secret}
"""
        return knot_server_conf(self.dir, self.host, self.port) + key

    def _argv(self) -> list[str]:
        return [self.exe, "-c", str(self.conf)]

    def knotc(self, *args: str, timeout: float = 15.0) -> str:
        if not self.knotc_exe:
            raise MissingDependency("`knotc` not found")
        r = subprocess.run(
            [self.knotc_exe, "-c", str(self.conf), "-t", str(int(timeout)), *args],
            capture_output=True, text=True, timeout=timeout + 5,
        )
        if r.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def serial(self, zone: str, timeout: float = 2.0) -> int | None:
        """The SOA serial this knotd serves for `zone`, or None if it has no such zone (yet)."""
        r = self.query(_abs(zone), "SOA", timeout=timeout)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None

    def zone_records(self, zone: str, timeout: float = 5.0) -> list[Record]:
        """The zone's current records, by AXFR from this knotd over TCP on loopback
        (its ACL allows transfers from loopback without a key). The SOA appears once."""
        zone = _abs(zone)
        out: set[Record] = set()
        for msg in dns.query.xfr(self.host, zone, port=self.port, timeout=timeout, lifetime=timeout, relativize=False):
            if msg.rcode() != dns.rcode.NOERROR:
                raise RuntimeError(f"AXFR {zone} from {self.label}: {dns.rcode.to_text(msg.rcode())}")
            for rrset in msg.answer:
                for rd in rrset:
                    out.add(Record(rrset.name.to_text().lower(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype), rd.to_text().lower()))
        return sorted(out)


class KnotAuth(_Knot):
    """knotd as an authoritative server / primary for `zones` ({name: zone file text}).

    With a TSIG key, transfers are allowed from loopback signed with it and, if
    allow_unsigned_transfer (Unbound cannot sign), also unsigned. NOTIFY goes to
    each of `notify` ((host, port[, signed]) or NotifyTarget) on every change; `notify`
    may be reassigned until start() (consumers get their port when constructed, so
    build the primary, then the consumers with primary.port, then set notify)."""

    label = "knotd-auth"

    def __init__(
        self,
        zones: dict[str, str],
        tsig: "Tsig | tuple | dict | None" = None,
        notify: Iterable[NotifyTarget | tuple] = (),
        allow_unsigned_transfer: bool = True,
    ) -> None:
        super().__init__("knotauth", tsig)
        self.zones = {_abs(z): text for z, text in zones.items()}
        self.notify = [NotifyTarget(*t) for t in notify]
        for t in self.notify:
            _check_loopback(t.host)
        self.allow_unsigned_transfer = allow_unsigned_transfer or not self.tsig

    def _write_config(self) -> None:
        for z, text in self.zones.items():
            if not self.zonefile(z).exists():
                self.zonefile(z).write_text(text)
        remotes = ""
        notify_ids = []
        for i, t in enumerate(self.notify):
            rid = f"notify{i}"
            notify_ids.append(rid)
            via = "::1" if _is_v6(t.host) else "127.0.0.1"
            remotes += f"  - id: {rid}\n    address: {t.host}@{t.port}\n    via: {via}\n"
            if t.signed and self.tsig:
                remotes += f"    key: {self.tsig.fqdn}\n"
        acls = []
        acl = ""
        if self.tsig:
            acls.append("xfr_tsig")
            acl += f"  - id: xfr_tsig\n    address: [127.0.0.0/8, ::1]\n    key: {self.tsig.fqdn}\n    action: transfer\n"
        if self.allow_unsigned_transfer:
            acls.append("xfr_plain")
            acl += "  - id: xfr_plain\n    address: [127.0.0.0/8, ::1]\n    action: transfer\n"
        zones = ""
        for z in self.zones:
            zones += f'  - domain: {z}\n    file: "{self.zonefile(z)}"\n    acl: [{", ".join(acls)}]\n'
            if notify_ids:
                zones += f"    notify: [{', '.join(notify_ids)}]\n"
        self.conf.write_text(
            self._server_conf()
            + (f"remote:\n{remotes}" if remotes else "")
            + f"acl:\n{acl}"
            + f"""template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    semantic-checks: off
zone:
{zones}"""
        )

    def set_zone(self, zone: str, text: str, timeout: float = 15.0) -> None:
        """Replace the zone file (write + rename) and make knotd load it (blocking
        `knotc zone-reload`); knotd then stores the difference for IXFR and NOTIFYs."""
        zone = _abs(zone)
        self.zones[zone] = text
        write_atomic(self.zonefile(zone), text)
        self.knotc("-b", "zone-reload", zone, timeout=timeout)


class KnotSecondary(_Knot):
    """knotd as a plain secondary of the primary (no RPZ semantics), flushing each
    transferred zone to its file at once (zonefile-sync: 0) so it can be read.

    Accepts NOTIFY from loopback (signed with the key if one is given) on `port`,
    and AXFR from loopback without a key (for zone_records())."""

    label = "knotd-secondary"

    def __init__(self, primary_host: str, primary_port: int, zones: Sequence[str], tsig: "Tsig | tuple | dict | None" = None) -> None:
        super().__init__("knotsec", tsig)
        self.primary = (_check_loopback(primary_host), primary_port)
        self.zones = [_abs(z) for z in zones]

    def _write_config(self) -> None:
        ph, pp = self.primary
        via = "::1" if _is_v6(ph) else "127.0.0.1"
        key_line = f"    key: {self.tsig.fqdn}\n" if self.tsig else ""
        zones = "".join(
            f'  - domain: {z}\n    file: "{self.zonefile(z)}"\n    master: primary\n    acl: [notify_from_primary, local_xfr]\n'
            for z in self.zones
        )
        self.conf.write_text(
            self._server_conf()
            + f"""remote:
  - id: primary
    address: {ph}@{pp}
    via: {via}
{key_line}acl:
  - id: notify_from_primary
    address: [127.0.0.0/8, ::1]
{key_line}    action: notify
  - id: local_xfr
    address: [127.0.0.0/8, ::1]
    action: transfer
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: 0
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
zone:
{zones}"""
        )

    def zone_text(self, zone: str) -> str:
        """The zone file knotd flushed after the last transfer ('' if none yet)."""
        p = self.zonefile(zone)
        return p.read_text() if p.exists() else ""
