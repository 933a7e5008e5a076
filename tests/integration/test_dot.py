"""DNS over TLS (RFC 7858) against real clients: kdig +tls (knot-dnsutils), dnspython's DoT, and
Python's ssl for what they do not show (ALPN, pipelining, the certificate in use).

Certificates come from a throwaway CA made here with `cryptography` (PyPI); nothing leaves
loopback. A missing kdig skips locally and fails when CI=true.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import dns.message
import dns.edns
import dns.query
import dns.rcode
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import harness
from harness import LOOPBACK, ZONE, metric_sum, parse_prometheus

HOST = "dns.bulwark.test"


class CA:
    """A test CA that issues server certificates for HOST and 127.0.0.1."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bulwark test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.path = d / "ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, expired: bool = False) -> tuple[Path, Path, int]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)) if expired else (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=7))
        serial = x509.random_serial_number()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST), x509.IPAddress(__import__("ipaddress").ip_address(LOOPBACK))]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cp, kp = self.dir / f"{stem}.pem", self.dir / f"{stem}.key"
        cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return cp, kp, serial


def client_context(ca: CA, alpn: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca.path))
    if alpn:
        ctx.set_alpn_protocols(["dot"])
    return ctx


def tls_connect(port: int, ctx: ssl.SSLContext, hostname: str = HOST) -> ssl.SSLSocket:
    raw = socket.create_connection((LOOPBACK, port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname=hostname)


def send(s, q: dns.message.Message) -> None:
    w = q.to_wire()
    s.sendall(struct.pack("!H", len(w)) + w)


def recv(s) -> dns.message.Message:
    return dns.message.from_wire(harness.recv_framed(s))


@pytest.fixture
def dot(bulwark_factory, knot, tmp_path):
    ca = CA(tmp_path)
    cert, key, serial = ca.issue("server")
    port = harness.free_port()
    config = f"""
dot:
  listen: ["{LOOPBACK}:{port}"]
  certificate: {cert}
  private-key: {key}
"""
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=config)
    return b, port, ca, cert, key, serial


def test_kdig_and_dnspython_over_tls(dot):
    b, port, ca, *_ = dot
    kdig = harness.require_peer("kdig")
    out = subprocess.run(
        [kdig, f"@{LOOPBACK}", "-p", str(port), "+tls-ca=" + str(ca.path), f"+tls-hostname={HOST}", f"www.{ZONE}", "A"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "192.0.2.1" in out.stdout and "NOERROR" in out.stdout and "TLS" in out.stdout, out.stdout
    ctx = client_context(ca)
    r = dns.query.tls(dns.message.make_query(f"www.{ZONE}", "AAAA"), LOOPBACK, port=port, ssl_context=ctx, server_hostname=HOST, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and {rd.address for rrs in r.answer for rd in rrs} == {"2001:db8::1", "2001:db8::2"}
    text, _ = b.metrics_text()
    assert metric_sum(parse_prometheus(text), "bulwark_queries_total", transport="dot") >= 2


def test_alpn_tls13_and_pipelining(dot):
    b, port, ca, *_ = dot
    with tls_connect(port, client_context(ca)) as s:
        assert s.selected_alpn_protocol() == "dot"
        assert s.version() in ("TLSv1.3", "TLSv1.2")
        names = [f"p{i}.{ZONE}" for i in range(10)]
        ids = {}
        for i, n in enumerate(names):
            q = dns.message.make_query(n, "A")
            q.id = 1000 + i
            ids[q.id] = n
            send(s, q)
        got = {}
        for _ in names:
            r = recv(s)
            got[r.id] = str(r.question[0].name)
        assert got == ids
    # TLS 1.2 only: still served.
    ctx = client_context(ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_connect(port, ctx) as s:
        assert s.version() == "TLSv1.2"
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption(dot, version):
    """A returning client resumes its TLS session (tickets) instead of a full handshake."""
    b, port, ca, *_ = dot
    ctx = client_context(ca)
    ctx.minimum_version = ctx.maximum_version = version
    with tls_connect(port, ctx) as s:
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR  # TLS 1.3 tickets arrive after the handshake
        session = s.session
        assert not s.session_reused
    raw = socket.create_connection((LOOPBACK, port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=HOST, session=session) as s:
        assert s.session_reused
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR


def test_bad_clients_do_not_hurt(dot):
    b, port, ca, *_ = dot
    # A client that checks for another name refuses our certificate: its problem, not ours.
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connect(port, client_context(ca), hostname="wrong.example").close()
    # Plain DNS on the TLS port, and garbage: the connection is closed, the server stays.
    for junk in (struct.pack("!H", 29) + dns.message.make_query(f"www.{ZONE}", "A").to_wire(), b"\x16\x03\x01\xff\xff" + b"\x00" * 50):
        with socket.create_connection((LOOPBACK, port), timeout=5) as raw:
            raw.sendall(junk)
            raw.settimeout(5)
            try:
                while raw.recv(4096):
                    pass
            except (ConnectionError, socket.timeout):
                pass
    # A handshake that never finishes is closed after the idle timeout; meanwhile others are served.
    idle = socket.create_connection((LOOPBACK, port), timeout=5)
    with tls_connect(port, client_context(ca)) as s:
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR
    idle.close()
    assert b.alive()


def test_expired_certificate_is_refused_by_clients_and_reload_takes_a_new_one(dot):
    b, port, ca, cert, key, serial = dot
    old = tls_connect(port, client_context(ca))
    assert x509.load_der_x509_certificate(old.getpeercert(binary_form=True)).serial_number == serial
    # Replace the files (write + rename): new connections get the new certificate, the open one
    # keeps working.
    new_cert, new_key, new_serial = ca.issue("next")
    new_key.replace(key)
    new_cert.replace(cert)

    def serial_now():
        with tls_connect(port, client_context(ca)) as s:
            return x509.load_der_x509_certificate(s.getpeercert(binary_form=True)).serial_number

    deadline = time.monotonic() + 15
    while serial_now() != new_serial and time.monotonic() < deadline:
        time.sleep(0.2)
    assert serial_now() == new_serial
    send(old, dns.message.make_query(f"www.{ZONE}", "A"))
    assert recv(old).rcode() == dns.rcode.NOERROR
    old.close()
    assert "dot certificate reloaded" in b.log_path.read_text()
    # An expired certificate: clients that verify refuse it; Bulwark serves on.
    exp_cert, exp_key, _ = ca.issue("expired", expired=True)
    exp_key.replace(key)
    exp_cert.replace(cert)
    deadline = time.monotonic() + 15
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            tls_connect(port, client_context(ca)).close()
            time.sleep(0.2)
        except ssl.SSLCertVerificationError as e:
            refused = "expired" in str(e)
    assert refused
    # A broken file keeps the certificate in use and says so.
    cert.write_text("not a certificate\n")
    deadline = time.monotonic() + 15
    while "not reloaded" not in b.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "not reloaded" in b.log_path.read_text()
    ctx = client_context(ca)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with tls_connect(port, ctx) as s:
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR


def test_cert_dev_makes_a_working_identity(bulwark_factory, knot, bulwark_bin, tmp_path):
    """`bulwark cert dev` writes a CA and a server chain that a DoT listener serves and kdig and
    Python's ssl accept (names and addresses in the certificate as asked)."""
    out = subprocess.run(
        [str(bulwark_bin), "cert", "dev", "--out", str(tmp_path / "tls"), "--name", HOST, "--ip", LOOPBACK],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    tls = tmp_path / "tls"
    assert (tls / "server.key").stat().st_mode & 0o077 == 0
    port = harness.free_port()
    b = bulwark_factory(
        [f"{LOOPBACK}:{knot.port}"],
        config=f'dot:\n  listen: ["{LOOPBACK}:{port}"]\n  certificate: {tls / "server.pem"}\n  private-key: {tls / "server.key"}\n')
    kdig = harness.require_peer("kdig")
    out = subprocess.run(
        [kdig, f"@{LOOPBACK}", "-p", str(port), f"+tls-ca={tls / 'ca.pem'}", f"+tls-hostname={HOST}", f"www.{ZONE}", "A"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "192.0.2.1" in out.stdout, out.stdout + out.stderr
    ctx = ssl.create_default_context(cafile=str(tls / "ca.pem"))
    with socket.create_connection((LOOPBACK, port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=LOOPBACK) as s:
        send(s, dns.message.make_query(f"www.{ZONE}", "A"))
        assert recv(s).rcode() == dns.rcode.NOERROR
    bad = subprocess.run([str(bulwark_bin), "cert", "dev", "--out", str(tmp_path / "x"), "--ip", "not-an-ip"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "not an IP address" in bad.stdout + bad.stderr
    assert b.alive()


def test_encrypted_answers_are_padded(dot):
    """RFC 7830/8467: answers over DoT carry a Padding option that brings them to a multiple of
    468 bytes (when the client used EDNS); plain TCP answers are not padded."""
    b, port, ca, *_ = dot
    sizes = set()
    with tls_connect(port, client_context(ca)) as s:
        for name, rdtype in ((f"www.{ZONE}", "A"), (f"big.{ZONE}", "TXT"), (f"nodata.{ZONE}", "AAAA"), ("localhost.", "A")):
            q = dns.message.make_query(name, rdtype, use_edns=0, pad=128)
            send(s, q)
            data = harness.recv_framed(s)
            n = len(data)
            assert n % 468 == 0, (name, n)
            r = dns.message.from_wire(data)
            assert any(o.otype == dns.edns.OptionType.PADDING for o in r.options), name
            sizes.add(n)
        # Without EDNS there is nowhere to put padding.
        send(s, dns.message.make_query(f"www.{ZONE}", "A", use_edns=False))
        assert recv(s).edns < 0
    assert len(sizes) >= 2  # the big TXT answer takes more than one block
    r = dns.query.tcp(dns.message.make_query(f"www.{ZONE}", "A", use_edns=0), LOOPBACK, port=b.port, timeout=5)
    assert not any(o.otype == dns.edns.OptionType.PADDING for o in r.options)
