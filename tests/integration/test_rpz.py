"""Bulwark as an RPZ primary, consumed by real resolvers (Debian packages, on loopback):

- Unbound (`rpz:` with `primary:` and `allow-notify:`; no TSIG in Unbound),
- BIND 9 (`type secondary` + `response-policy`, with TSIG),
- PowerDNS Recursor (`rpzPrimary` with TSIG; 4.8 polls: RPZ NOTIFY came in 5.1),
- Knot Resolver (a zone file Bulwark keeps in step, replaced by write + rename),
- knotd as a plain secondary (AXFR, IXFR, TSIG): its copy equals Bulwark's zone.

An indicator added through Bulwark's REST API is blocked by every consumer, then withdrawn
again; the time from the API call to "blocked" is printed per consumer (bench/README.md keeps
the figures). Then the other way round: Bulwark follows a knotd RPZ primary (AXFR + NOTIFY +
TSIG), and the refusals (bad TSIG, unknown zone, serial from the future, truncated transfer).

Peers as in conftest.py: a missing binary skips locally and FAILS when CI=true.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.xfr
import dns.zone
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from rpz_consumers import (  # noqa: E402
    BindRPZ,
    KnotAuth,
    KnotSecondary,
    KresdRPZ,
    MissingDependency,
    NotifyTarget,
    PdnsRPZ,
    Record,
    Tsig,
    UnboundRPZ,
    rpz_zone_text,
    wait_until,
)

LOOPBACK = harness.LOOPBACK
Z = harness.ZONE  # test.bulwark., served by the shared knotd (conftest `knot`)
RPZ = "phishing.rpz.bulwark."
SIGNED = "signed.rpz.bulwark."
KEY = Tsig.generate("bulwark-rpz-key.")
API_KEY = "PytestRpzAdminKey00000000000000000000001"
START_LIMIT = 15.0
UPDATE_LIMIT = 20.0
RESULTS = harness.REPO_ROOT / "bench" / "results"


def _missing(what: str) -> None:
    harness.missing_peer(what)


def _require(*names: str) -> None:
    harness.require_peer(*names)


def _start(daemon):
    try:
        return daemon.start(timeout=START_LIMIT)
    except MissingDependency as e:
        _missing(str(e))


@pytest.fixture
def cleanup():
    made = []
    yield made.append
    for d in reversed(made):
        d.close()


def bulwark_config(d: Path, rpz_port: int, notify: list[str], extra_sources: str = "", zone_file: Path | None = None, signed_notify: list[str] = ()) -> str:
    notify_yaml = ", ".join(f'"{n}"' for n in notify)
    signed_notify_yaml = ", ".join(f'"{n}"' for n in signed_notify)
    file_line = f", file: {zone_file}" if zone_file else ""
    return f"""
policy:
  file-check-ms: 200
  sources:
    - {{name: cert-xx, path: {d}/phishing.txt, format: domains, categories: [phishing], source: CERT-XX}}
    - {{name: bad-ips, path: {d}/ips.rpz, format: rpz, categories: [phishing]}}
{extra_sources}
intel:
  keys:
    - {{name: pytest, org: CERT-TEST, role: admin, key: "{API_KEY}"}}
rpz:
  listen: {LOOPBACK}:{rpz_port}
  keys:
    - {{name: {KEY.name.rstrip('.')}, algorithm: hmac-sha256, secret: "{KEY.secret}"}}
  zones:
    - {{name: {RPZ}, categories: [phishing], notify: [{notify_yaml}]{file_line}}}
    - {{name: {SIGNED}, categories: [phishing], require-key: [{KEY.name.rstrip('.')}], notify: [{signed_notify_yaml}]}}
"""


def write_lists(d: Path) -> None:
    (d / "phishing.txt").write_text(f"mail.{Z}\n")
    # An answer-address trigger: mail2's address.
    (d / "ips.rpz").write_text("$TTL 60\n@ SOA localhost. root.localhost. 1 3600 600 86400 60\n@ NS localhost.\n32.26.2.0.192.rpz-ip CNAME .\n")


def rest(b, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{LOOPBACK}:{b.metrics_port}{path}", data=data, method=method)
    req.add_header("Authorization", API_KEY)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            payload, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        payload, status = e.read(), e.code
    return status, (json.loads(payload) if payload else None)


def axfr(port: int, zone: str, keyring=None, keyname=None) -> list[Record]:
    """The zone's records as the primary sends them (the closing SOA left out)."""
    out: list[Record] = []
    for m in dns.query.xfr(LOOPBACK, zone, port=port, keyring=keyring, keyname=keyname, timeout=10, lifetime=20, relativize=False):
        for rrs in m.answer:
            for rd in rrs:
                out.append(Record(rrs.name.to_text().lower(), rrs.ttl, dns.rdatatype.to_text(rrs.rdtype), rd.to_text().lower()))
    assert out and out[0].rdtype == "SOA" and out[-1] == out[0]
    return sorted(set(out))


def blocked(c, name: str) -> bool:
    return c.lookup(name)[0] == "NXDOMAIN"


def test_consumers_follow_bulwark(bulwark_factory, knot, cleanup, tmp_path):
    _require("unbound", "named", "pdns_recursor", "kresd", "knotd", "knotc")
    write_lists(tmp_path)
    rpz_port = harness.free_port()
    zone_file = tmp_path / "phishing.rpz"
    unbound = UnboundRPZ(LOOPBACK, rpz_port, [RPZ], knot.port)
    bind = BindRPZ(LOOPBACK, rpz_port, [RPZ], knot.port, tsig=KEY)
    pdns = PdnsRPZ(LOOPBACK, rpz_port, [RPZ], knot.port, tsig=KEY)
    knotsec = KnotSecondary(LOOPBACK, rpz_port, [RPZ, SIGNED], tsig=KEY)
    consumers = {"unbound": unbound, "bind": bind, "pdns": pdns}
    for c in [unbound, bind, pdns, knotsec]:
        cleanup(c)
    notify = [f"{LOOPBACK}:{unbound.notify_port}", f"{LOOPBACK}:{bind.notify_port} key {KEY.name.rstrip('.')}", f"{LOOPBACK}:{knotsec.notify_port} key {KEY.name.rstrip('.')}"]
    if pdns.supports_notify:
        notify.append(f"{LOOPBACK}:{pdns.notify_port} key {KEY.name.rstrip('.')}")
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=bulwark_config(tmp_path, rpz_port, notify, zone_file=zone_file, signed_notify=[notify[2]]))
    wait_until(zone_file.exists, 10, message="Bulwark writes the zone file")
    kresd = KresdRPZ(zone_file, knot.port)
    cleanup(kresd)
    consumers["kresd"] = kresd
    for c in [unbound, bind, pdns, knotsec, kresd]:
        _start(c)

    for kind, c in consumers.items():
        wait_until(lambda: blocked(c, f"mail.{Z}"), UPDATE_LIMIT, message=f"{kind} loads {RPZ} from Bulwark")
        assert c.lookup(f"www.{Z}")[0] == "NOERROR", kind
        assert blocked(c, f"sub.mail.{Z}"), kind
        if c.supports_rpz_ip:
            assert blocked(c, f"mail2.{Z}"), f"{kind}: answer-address trigger"
        # Resolved (and cached) before it is listed: the change must win over the cache.
        assert c.lookup(f"n5.{Z}") == ("NOERROR", ["198.51.100.6"]), kind
    wait_until(lambda: knotsec.serial(RPZ) is not None, UPDATE_LIMIT, message="knotd secondary transfers")

    # An indicator through the REST API: every consumer blocks it.
    t0 = time.monotonic()
    status, body = rest(b, "POST", "/api/v1/indicators", {"value": f"n5.{Z.rstrip('.')}", "category": "phishing", "comment": "rpz test"})
    assert status in (200, 201), (status, body)
    took: dict[str, float] = {}
    pending = {kind: (lambda c=c: blocked(c, f"n5.{Z}")) for kind, c in consumers.items()}
    pending["knotd-secondary"] = lambda: any(r.name == f"n5.{Z}{RPZ}" for r in knotsec.zone_records(RPZ))
    deadline = time.monotonic() + UPDATE_LIMIT
    while pending and time.monotonic() < deadline:
        for kind, done in list(pending.items()):
            if done():
                took[kind] = time.monotonic() - t0
                del pending[kind]
        time.sleep(0.01)
    assert not pending, f"not blocked within {UPDATE_LIMIT}s: {sorted(pending)}; done: {took}"
    print(f"\n[rpz] API add -> blocked: " + ", ".join(f"{k} {v:.3f}s" for k, v in took.items()))
    for kind in ("unbound", "bind", "kresd", "knotd-secondary"):
        assert took[kind] < 2.0, f"{kind} took {took[kind]:.2f}s (NOTIFY-driven target: < 2 s)"

    # The secondaries' content equals Bulwark's zone (knotd got it by IXFR after the AXFR).
    ours = axfr(rpz_port, RPZ)
    assert [r for r in knotsec.zone_records(RPZ)] == ours
    assert "IXFR" in knotsec.log_text() or "incremental" in knotsec.log_text().lower()
    signed = axfr(rpz_port, SIGNED, keyring=KEY.keyring(), keyname=KEY.fqdn)
    wait_until(lambda: knotsec.zone_records(SIGNED) == signed, UPDATE_LIMIT, message="signed zone equal on knotd")

    # Withdrawn again: every consumer answers it.
    status, found = rest(b, "GET", f"/api/v1/indicators?value=n5.{Z.rstrip('.')}&state=active")
    found = found if isinstance(found, list) else found.get("indicators", [])
    t0 = time.monotonic()
    assert rest(b, "DELETE", f"/api/v1/indicators/{found[0]['id']}")[0] in (200, 204)
    for kind, c in consumers.items():
        wait_until(lambda: c.lookup(f"n5.{Z}")[0] == "NOERROR", UPDATE_LIMIT, message=f"{kind} unblocks the withdrawn name")
    removed = time.monotonic() - t0
    print(f"[rpz] API withdraw -> answered again on all consumers: {removed:.3f}s")
    for kind, c in consumers.items():
        assert blocked(c, f"mail.{Z}"), f"{kind} still blocks the list's name"
        assert c.alive(), kind

    # Status: who holds which serial.
    with urllib.request.urlopen(f"http://{LOOPBACK}:{b.metrics_port}/v1/rpz/status", timeout=5) as r:
        st = json.loads(r.read())
    (z,) = [z for z in st["zones"] if z["zone"] == RPZ]
    assert z["known"] >= 1 and z["serial"] > 0
    keyed = [s for s in z["secondaries"] if s.get("key") == KEY.fqdn]
    assert keyed and any(s["current"] for s in keyed), z
    assert any(n["acknowledged"] for n in z["notify"]), z["notify"]
    text, _ = b.metrics_text()
    assert f'bulwark_rpz_serial{{zone="{RPZ}"}} {z["serial"]}' in text

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rpz-latency.json").write_text(json.dumps({"add_to_blocked_s": took, "withdraw_to_answered_all_s": removed}, indent=2) + "\n")


def test_refusals_and_hostile_requests(bulwark_factory, knot, tmp_path):
    write_lists(tmp_path)
    rpz_port = harness.free_port()
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=bulwark_config(tmp_path, rpz_port, []))
    # SOA over UDP; AXFR of the signed zone without the key is refused.
    r = dns.query.udp(dns.message.make_query(RPZ, "SOA"), LOOPBACK, port=rpz_port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0].rdtype == dns.rdatatype.SOA
    serial = r.answer[0][0].serial
    r = dns.query.tcp(dns.message.make_query(SIGNED, "AXFR"), LOOPBACK, port=rpz_port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    # Unknown zone.
    r = dns.query.tcp(dns.message.make_query("example.com.", "AXFR"), LOOPBACK, port=rpz_port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    # Bad TSIG: a wrong secret under the right name → NOTAUTH/BADSIG; dnspython raises on the
    # unsigned error answer, so read it raw.
    wrong = Tsig(KEY.name, "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=")
    q = dns.message.make_query(SIGNED, "AXFR")
    q.use_tsig(wrong.keyring(), keyname=wrong.fqdn)
    wire = q.to_wire()
    with socket.create_connection((LOOPBACK, rpz_port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        reply = harness.recv_framed(s)
    assert reply[3] & 0x0F == 9  # NOTAUTH
    tsig_error = struct.unpack("!H", reply[-4:-2])[0] if reply[-2:] == b"\x00\x00" else None
    assert tsig_error == 16  # BADSIG
    # IXFR from a serial in the future: our SOA alone, no transfer, no crash.
    q = dns.message.make_query(RPZ, "IXFR")
    soa = dns.rrset.from_text(RPZ, 0, "IN", "SOA", f"localhost. root.localhost. {serial + 100000} 1 1 1 1")
    q.authority.append(soa)
    r = dns.query.tcp(q, LOOPBACK, port=rpz_port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1 and r.answer[0][0].serial == serial
    # Garbage on TCP and UDP: the primary stays up.
    for junk in (b"\x00", b"\xff" * 40, struct.pack("!H", 3) + b"abc"):
        with socket.create_connection((LOOPBACK, rpz_port), timeout=5) as s:
            s.sendall(struct.pack("!H", len(junk)) + junk)
            s.settimeout(2)
            try:
                s.recv(512)
            except (socket.timeout, ConnectionError):
                pass
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(junk, (LOOPBACK, rpz_port))
    r = dns.query.udp(dns.message.make_query(RPZ, "SOA"), LOOPBACK, port=rpz_port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR
    assert b.alive()


class TruncatingPrimary:
    """A primary that sends the first message of an AXFR and closes: a truncated transfer."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, harness.free_port()))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    n = struct.unpack("!H", conn.recv(2))[0]
                    q = dns.message.from_wire(conn.recv(n))
                    r = dns.message.make_response(q)
                    r.answer.append(dns.rrset.from_text(self.zone, 60, "IN", "SOA", "localhost. root.localhost. 7 1 1 1 1"))
                    r.answer.append(dns.rrset.from_text(f"x.{self.zone}", 60, "IN", "CNAME", "."))
                    w = r.to_wire()
                    conn.sendall(struct.pack("!H", len(w)) + w)
                except (OSError, ValueError, dns.exception.DNSException):
                    pass

    def close(self) -> None:
        self.sock.close()


def test_bulwark_follows_another_primary(bulwark_factory, knot, cleanup, tmp_path, bulwark_bin):
    """Bulwark as an RPZ secondary: a knotd primary (TSIG, NOTIFY to Bulwark's RPZ port) feeds
    a policy source; a change there is enforced by Bulwark after the NOTIFY."""
    _require("knotd", "knotc")
    upstream_rpz = "feed.rpz.example."
    write_lists(tmp_path)
    rpz_port = harness.free_port()
    primary = KnotAuth({upstream_rpz: rpz_zone_text(upstream_rpz, 1, [f"p1.{Z.rstrip('.')} CNAME .", f"*.p1.{Z.rstrip('.')} CNAME ."])}, tsig=KEY, allow_unsigned_transfer=False)
    cleanup(primary)
    primary.notify = [NotifyTarget(LOOPBACK, rpz_port, True)]
    _start(primary)
    extra = f"    - {{name: provider, url: 'axfr://{LOOPBACK}:{primary.port}/{upstream_rpz}?key={KEY.name.rstrip('.')}', categories: [malware], refresh: 3600}}\n"
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=bulwark_config(tmp_path, rpz_port, [], extra_sources=extra))

    def q(name):
        return dns.query.udp(dns.message.make_query(name, "A"), LOOPBACK, port=b.port, timeout=5)

    def status():
        with urllib.request.urlopen(f"http://{LOOPBACK}:{b.metrics_port}/v1/policy/status", timeout=5) as r:
            return json.loads(r.read())

    try:
        wait_until(lambda: q(f"p1.{Z}").rcode() == dns.rcode.NXDOMAIN, UPDATE_LIMIT, message="Bulwark enforces the followed zone")
    except TimeoutError as e:
        raise AssertionError(f"{e}; policy status: {status()}") from None
    assert q(f"www.{Z}").rcode() == dns.rcode.NOERROR
    t0 = time.monotonic()
    primary.set_zone(upstream_rpz, rpz_zone_text(upstream_rpz, 2, [f"p2.{Z.rstrip('.')} CNAME .", f"*.p2.{Z.rstrip('.')} CNAME ."]))
    wait_until(lambda: q(f"p2.{Z}").rcode() == dns.rcode.NXDOMAIN, UPDATE_LIMIT, message="NOTIFY → new zone enforced")
    print(f"\n[rpz] followed primary change -> enforced by Bulwark in {time.monotonic() - t0:.3f}s")
    assert q(f"p1.{Z}").rcode() == dns.rcode.NOERROR
    assert "NOTIFY for a followed zone" in b.log_path.read_text()
    # The first copy came by AXFR, the change by IXFR onto it.
    log = primary.log_text()
    assert "AXFR, outgoing" in log and "IXFR, outgoing" in log, primary.log_tail(20)

    # `bulwark rpz fetch` writes the zone to a file (for Knot Resolver), signed with the key.
    out = tmp_path / "fetched.rpz"
    spec = f"hmac-sha256:{KEY.name.rstrip('.')}:{KEY.secret}"
    r = subprocess.run(
        [str(bulwark_bin), "rpz", "fetch", "--primary", f"{LOOPBACK}:{primary.port}", "--zone", upstream_rpz, "--key", spec, "--output", str(out)],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    text = out.read_text()
    assert f"p2.{Z}{upstream_rpz}" in text and "SOA" in text
    # Without the key knotd refuses; a truncated transfer fails cleanly and keeps the file.
    r = subprocess.run(
        [str(bulwark_bin), "rpz", "fetch", "--primary", f"{LOOPBACK}:{primary.port}", "--zone", upstream_rpz, "--output", str(out)],
        capture_output=True, text=True, timeout=60)
    said = (r.stdout + r.stderr).upper()
    assert r.returncode != 0 and ("REFUSED" in said or "NOTAUTH" in said), said
    bad = TruncatingPrimary(upstream_rpz)
    try:
        r = subprocess.run(
            [str(bulwark_bin), "rpz", "fetch", "--primary", f"{LOOPBACK}:{bad.port}", "--zone", upstream_rpz, "--output", str(out)],
            capture_output=True, text=True, timeout=60)
    finally:
        bad.close()
    assert r.returncode != 0 and "truncated" in (r.stdout + r.stderr)
    assert out.read_text() == text
