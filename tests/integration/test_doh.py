"""DNS over HTTPS (RFC 8484) against real clients: curl over HTTP/2 (GET and POST), kdig +https,
and Python's http.client over HTTP/1.1 for the error statuses (400, 404, 413, 415).
"""

from __future__ import annotations

import base64
import http.client
import subprocess

import dns.message
import dns.query
import dns.rcode
import pytest

import harness
from harness import LOOPBACK, ZONE, metric_sum, parse_prometheus
from test_dot import CA, HOST, client_context


@pytest.fixture
def doh(bulwark_factory, knot, tmp_path):
    ca = CA(tmp_path)
    cert, key, _ = ca.issue("server")
    port = harness.free_port()
    config = f"""
doh:
  listen: ["{LOOPBACK}:{port}"]
  certificate: {cert}
  private-key: {key}
"""
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=config)
    return b, port, ca


def b64(m: dns.message.Message) -> str:
    return base64.urlsafe_b64encode(m.to_wire()).decode().rstrip("=")


def curl(port: int, ca: CA, *args: str) -> tuple[int, str, dict, bytes]:
    """(status, http version, headers, body) of one curl call over HTTP/2."""
    out = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", str(ca.path), "--resolve", f"{HOST}:{port}:{LOOPBACK}", "-D", "-", "-o", "-", *args],
        capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    version, status = lines[0].split()[0], int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, version, headers, body


def test_get_and_post_over_http2(doh):
    b, port, ca = doh
    harness.require_peer("curl")
    url = f"https://{HOST}:{port}/dns-query"
    q = dns.message.make_query(f"www.{ZONE}", "A")
    q.id = 0  # RFC 8484 §4.1: clients use ID 0 for cache friendliness
    status, version, headers, body = curl(port, ca, f"{url}?dns={b64(q)}")
    assert (status, version) == (200, "HTTP/2")
    assert headers["content-type"] == "application/dns-message"
    r = dns.message.from_wire(body)
    assert r.id == 0 and r.rcode() == dns.rcode.NOERROR
    assert {rd.address for rrs in r.answer for rd in rrs} == {"192.0.2.1", "192.0.2.2"}
    # max-age is the smallest TTL of the answer (300 in the zone, counting down in the cache).
    age = int(headers["cache-control"].split("=")[1])
    assert 0 < age <= 300
    # With EDNS, the answer is padded to a multiple of 468 bytes (RFC 8467).
    padded = dns.message.make_query(f"www.{ZONE}", "A", use_edns=0)
    status, _, _, body = curl(port, ca, f"{url}?dns={b64(padded)}")
    assert status == 200 and len(body) % 468 == 0
    # An empty POST body is not a DNS message.
    status, version, headers, body = curl(port, ca, "-H", "Content-Type: application/dns-message", "--data-binary", "", url)
    assert status == 400
    out = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", str(ca.path), "--resolve", f"{HOST}:{port}:{LOOPBACK}", "-H", "Content-Type: application/dns-message",
         "--data-binary", "@-", url], input=dns.message.make_query(f"nodata.{ZONE}", "AAAA").to_wire(), capture_output=True, timeout=30)
    r = dns.message.from_wire(out.stdout)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and r.authority  # NODATA with the SOA
    text, _ = b.metrics_text()
    assert metric_sum(parse_prometheus(text), "bulwark_queries_total", transport="doh") >= 2


def test_kdig_https(doh):
    b, port, ca = doh
    kdig = harness.require_peer("kdig")
    for method in ("+https", "+https-get"):
        out = subprocess.run(
            [kdig, f"@{LOOPBACK}", "-p", str(port), method, f"+tls-ca={ca.path}", f"+tls-hostname={HOST}", f"www.{ZONE}", "A"],
            capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "192.0.2.1" in out.stdout and "NOERROR" in out.stdout, out.stdout


def test_bad_requests_get_the_right_status(doh):
    b, port, ca = doh

    def ask(method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        # By address: the certificate names 127.0.0.1 too. No ALPN: HTTP/1.1.
        c = http.client.HTTPSConnection(LOOPBACK, port, context=client_context(ca, alpn=False), timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        version = r.version
        c.close()
        assert version == 11  # HTTP/1.1 without ALPN h2
        return r.status, data

    good = b64(dns.message.make_query(f"www.{ZONE}", "A"))
    assert ask("GET", f"/dns-query?dns={good}")[0] == 200
    assert ask("GET", "/dns-query")[0] == 400
    assert ask("GET", "/dns-query?dns=%%%not-base64%%%")[0] == 400
    assert ask("GET", "/dns-query?dns=" + "A" * 100_000)[0] in (400, 414, 431)
    assert ask("POST", "/dns-query", body=b"\x00" * 40, headers={"Content-Type": "text/plain"})[0] == 415
    assert ask("POST", "/dns-query", body=b"\x00" * 70_000, headers={"Content-Type": "application/dns-message"})[0] == 413
    assert ask("GET", f"/elsewhere?dns={good}")[0] == 404
    # A response sent as a query is not answered; a malformed query gets FORMERR.
    resp = dns.message.make_response(dns.message.make_query(f"www.{ZONE}", "A"))
    assert ask("POST", "/dns-query", body=resp.to_wire(), headers={"Content-Type": "application/dns-message"})[0] == 400
    status, body = ask("POST", "/dns-query", body=b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0", headers={"Content-Type": "application/dns-message"})
    assert status == 200 and dns.message.from_wire(body, question_only=True).rcode() == dns.rcode.FORMERR
    assert b.alive()


def test_ddr_advertises_dot_and_doh(bulwark_factory, knot, tmp_path):
    """RFC 9462: `_dns.resolver.arpa` SVCB names the DoT and DoH endpoints (alpn, port, hints,
    dohpath) under ddr.name; other types are NODATA; other names below resolver.arpa NXDOMAIN."""
    ca = CA(tmp_path)
    cert, key, _ = ca.issue("server")
    dot_port, doh_port = harness.free_port(), harness.free_port()
    config = f"""
dot: {{listen: ["{LOOPBACK}:{dot_port}"], certificate: {cert}, private-key: {key}}}
doh: {{listen: ["{LOOPBACK}:{doh_port}"]}}
ddr: {{name: {HOST}}}
"""
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=config)
    r = dns.query.udp(dns.message.make_query("_dns.resolver.arpa.", "SVCB"), LOOPBACK, port=b.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR
    recs = sorted((rd for rrs in r.answer for rd in rrs), key=lambda rd: rd.priority)
    assert [str(rd.target) for rd in recs] == [HOST + ".", HOST + "."]
    dot_rd, doh_rd = recs
    text = [rd.to_text() for rd in recs]
    assert 'alpn="dot"' in text[0] and f'port="{dot_port}"' in text[0] and 'ipv4hint="127.0.0.1"' in text[0], text
    assert 'alpn="h2,http/1.1"' in text[1] and f'port="{doh_port}"' in text[1] and 'dohpath="/dns-query{?dns}"' in text[1], text
    r = dns.query.udp(dns.message.make_query("_dns.resolver.arpa.", "A"), LOOPBACK, port=b.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = dns.query.udp(dns.message.make_query("other.resolver.arpa.", "SVCB"), LOOPBACK, port=b.port, timeout=5)
    assert r.rcode() == dns.rcode.NXDOMAIN
    # Reverse lookups (also under .arpa) are not answered locally: they go upstream.
    r = dns.query.udp(dns.message.make_query("1.0.0.127.in-addr.arpa.", "PTR"), LOOPBACK, port=b.port, timeout=5)
    assert all(str(rrs.name) != "resolver.arpa." for rrs in r.authority)
    assert 'transport="udp"' in b.metrics_text()[0]


def test_certificate_reload_keeps_open_connections(bulwark_factory, knot, tmp_path):
    """Replacing the certificate files: new connections get the new certificate, an open
    HTTP/1.1 keep-alive connection keeps answering, and a broken pair leaves the old one."""
    import time

    from cryptography import x509

    ca = CA(tmp_path)
    cert, key, serial = ca.issue("server")
    port = harness.free_port()
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=f"""
doh:
  listen: ["{LOOPBACK}:{port}"]
  certificate: {cert}
  private-key: {key}
""")

    def serial_now() -> int:
        ctx = client_context(ca, alpn=False)
        with ctx.wrap_socket(__import__("socket").create_connection((LOOPBACK, port), timeout=5), server_hostname=HOST) as s:
            return x509.load_der_x509_certificate(s.getpeercert(binary_form=True)).serial_number

    def ask(conn) -> int:
        q = dns.message.make_query(f"www.{ZONE}", "A")
        conn.request("POST", "/dns-query", body=q.to_wire(), headers={"Content-Type": "application/dns-message", "Accept": "application/dns-message"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200
        return dns.message.from_wire(body).rcode()

    old = http.client.HTTPSConnection(LOOPBACK, port, context=_no_alpn_context(ca), timeout=5)
    old.connect()
    assert ask(old) == dns.rcode.NOERROR
    assert serial_now() == serial
    new_cert, new_key, new_serial = ca.issue("next")
    new_key.replace(key)
    new_cert.replace(cert)
    deadline = time.monotonic() + 15
    while serial_now() != new_serial and time.monotonic() < deadline:
        time.sleep(0.2)
    assert serial_now() == new_serial
    assert ask(old) == dns.rcode.NOERROR  # the same connection, still open
    assert "doh certificate reloaded" in b.log_path.read_text()
    # A broken file: logged, and the last good certificate stays in use.
    cert.write_text("not a certificate\n")
    deadline = time.monotonic() + 15
    while "doh certificate not reloaded" not in b.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "doh certificate not reloaded" in b.log_path.read_text()
    assert serial_now() == new_serial
    old.close()


def _no_alpn_context(ca: CA):
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca.path))
    ctx.check_hostname = False  # http.client connects to the address; the name is checked by serial_now
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@pytest.mark.parametrize("post", [False, True])
def test_dnspython_doh_client_over_http2(doh, post):
    """dnspython's own DoH client (httpx with h2), GET and POST, checking the certificate."""
    import ssl

    b, port, ca = doh
    ctx = ssl.create_default_context(cafile=str(ca.path))
    q = dns.message.make_query(f"www.{ZONE}", "AAAA")
    r = dns.query.https(q, LOOPBACK, port=port, path="/dns-query", post=post, verify=ctx, timeout=10, http_version=dns.query.HTTPVersion.H2)
    assert r.rcode() == dns.rcode.NOERROR
    assert {rd.address for rrs in r.answer for rd in rrs} == {"2001:db8::1", "2001:db8::2"}
