"""Forwarding over DNS over TLS (RFC 7858, RFC 8310 strict profile) to a real DoT server:
Unbound on loopback with a certificate from a throwaway test CA, forwarding to the test knotd.

Bulwark must authenticate the server (CA, name or address, optional SPKI pin), keep one
connection per event loop open and reuse it, and open a new one when the server closes an idle
connection. A missing unbound skips locally and fails when CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import harness
from harness import LOOPBACK, ZONE, metric_sum, parse_prometheus
from test_dot import CA, HOST


class UnboundDoT(harness.Server):
    """Unbound answering DNS over TLS on 127.0.0.1:<port> (and plain UDP on the same port),
    forwarding to the test knotd. `idle_ms` is its tcp-idle-timeout: it closes quiet
    connections after that long."""

    label = "unbound-dot"

    def __init__(self, cert: Path, key: Path, upstream_port: int, idle_ms: int = 30000) -> None:
        super().__init__()
        self.exe = harness.require_peer("unbound")
        self.dir = Path(tempfile.mkdtemp(prefix="bk-ubdot-"))
        self.port = harness.free_port()
        self.log_path = self.dir / "unbound.log"
        self.conf = self.dir / "unbound.conf"
        self.conf.write_text(
            f"""server:
    verbosity: 2
    directory: "{self.dir}"
    username: ""
    chroot: ""
    pidfile: ""
    use-syslog: no
    logfile: ""
    interface: {LOOPBACK}@{self.port}
    port: {self.port}
    tls-port: {self.port}
    tls-service-pem: "{cert}"
    tls-service-key: "{key}"
    tcp-idle-timeout: {idle_ms}
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    so-reuseport: no
    module-config: "iterator"
    qname-minimisation: no
    cache-max-ttl: 0
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: {LOOPBACK}@{upstream_port}
"""
        )

    def start(self) -> "UnboundDoT":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.exe, "-d", "-p", "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()
        self._register()
        harness.wait_for_dns(self.port, LOOPBACK, 20, self.proc)
        return self


def spki_pin(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture
def dot_server(knot, tmp_path):
    ca = CA(tmp_path)
    cert, key, _ = ca.issue("unbound")
    servers = []

    def make(idle_ms: int = 30000) -> UnboundDoT:
        u = UnboundDoT(cert, key, knot.port, idle_ms=idle_ms).start()
        servers.append(u)
        return u

    yield ca, cert, make
    for u in servers:
        u.close()


def start_bulwark(bulwark_factory, upstream: str):
    # One thread: one event loop, so exactly one connection is expected.
    return bulwark_factory(None, config=f'upstreams: ["{upstream}"]\nthreads: 1\n')


def ask(b, name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=b.port, timeout=5)


def tls_metrics(b) -> tuple[float, float, float]:
    m = parse_prometheus(b.metrics_text()[0])
    return (
        metric_sum(m, "bulwark_upstream_tls_connections_total"),
        metric_sum(m, "bulwark_upstream_tls_handshake_failures_total"),
        metric_sum(m, "bulwark_upstream_queries_total"),
    )


def test_forwards_over_tls_on_one_reused_connection(dot_server, bulwark_factory):
    ca, cert, make = dot_server
    u = make()
    b = start_bulwark(bulwark_factory, f"tls://{LOOPBACK}:{u.port}#{HOST}?ca={ca.path}")
    r = ask(b, f"www.{ZONE}")
    assert r.rcode() == dns.rcode.NOERROR and "192.0.2.1" in {rd.address for rrs in r.answer for rd in rrs}, r
    # Many different names (none cached): all answered, all over the one connection.
    for i in range(30):
        assert ask(b, f"n{i}.{ZONE}").rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    connections, failures, queries = tls_metrics(b)
    assert queries >= 31 and connections == 1 and failures == 0, (connections, failures, queries)
    # The label names the transport and the authenticated name.
    assert f'upstream="tls://{LOOPBACK}:{u.port}#{HOST}"' in b.metrics_text()[0]


def test_address_checked_when_no_name_is_given_and_pin_enforced(dot_server, bulwark_factory):
    ca, cert, make = dot_server
    u = make()
    pin = spki_pin(cert)
    # The certificate carries 127.0.0.1 as an IP SAN: no name needed. The right pin passes.
    b = start_bulwark(bulwark_factory, f"tls://{LOOPBACK}:{u.port}?ca={ca.path}&pin={pin}")
    assert ask(b, f"www.{ZONE}").rcode() == dns.rcode.NOERROR
    # Another key's pin: the handshake succeeds but Bulwark sends nothing and answers SERVFAIL.
    wrong = base64.b64encode(hashlib.sha256(b"not this key").digest()).decode()
    b2 = start_bulwark(bulwark_factory, f"tls://{LOOPBACK}:{u.port}?ca={ca.path}&pin={wrong}")
    assert ask(b2, f"www.{ZONE}").rcode() == dns.rcode.SERVFAIL
    connections, failures, _ = tls_metrics(b2)
    assert connections == 0 and failures >= 1


@pytest.mark.parametrize(
    "suffix",
    [
        "#wrong.example?ca={ca}",  # the certificate is not for that name
        "#" + HOST,  # the system store does not trust the test CA
    ],
)
def test_unauthenticated_servers_are_not_used(dot_server, bulwark_factory, suffix):
    ca, cert, make = dot_server
    u = make()
    b = start_bulwark(bulwark_factory, f"tls://{LOOPBACK}:{u.port}" + suffix.format(ca=ca.path))
    r = ask(b, f"www.{ZONE}")
    assert r.rcode() == dns.rcode.SERVFAIL and not r.answer
    connections, failures, _ = tls_metrics(b)
    assert connections == 0 and failures >= 1
    # Said once in the log, with the reason.
    log = b.log_path.read_text()
    assert log.count("cannot use DNS-over-TLS upstream") == 1, log
    if "wrong.example" in suffix:
        assert "not for wrong.example" in log, log


def test_new_connection_after_the_server_closes_an_idle_one(dot_server, bulwark_factory):
    ca, cert, make = dot_server
    u = make(idle_ms=500)
    b = start_bulwark(bulwark_factory, f"tls://{LOOPBACK}:{u.port}#{HOST}?ca={ca.path}")
    assert ask(b, f"www.{ZONE}").rcode() == dns.rcode.NOERROR
    time.sleep(1.5)  # Unbound closes the connection after 0.5 s of quiet
    assert ask(b, f"n1.{ZONE}").rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    connections, failures, _ = tls_metrics(b)
    assert connections == 2 and failures == 0
    # The server restarts (same port): the next query finds the old connection dead and opens one.
    u.stop()
    u.start()
    assert ask(b, f"n2.{ZONE}").rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    assert tls_metrics(b)[0] == 3


def test_bad_upstream_options_stop_the_start(bulwark_factory):
    for bad, why in [
        ("tls://127.0.0.1:853?pin=abc", "pin"),
        ("tls://127.0.0.1:853?color=red", "unknown option"),
        ("tls://127.0.0.1:853?ca=/nonexistent/ca.pem", "ca.pem"),
    ]:
        b = bulwark_factory(None, start=False, config=f'upstreams: ["{bad}"]\n')
        out = subprocess.run(b.args, capture_output=True, text=True, timeout=30, env=b.env)
        assert out.returncode != 0 and why in (out.stdout + out.stderr), (bad, out.stdout, out.stderr)
