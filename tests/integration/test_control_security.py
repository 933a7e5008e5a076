"""The control plane's HTTP hygiene: security headers on every response (errors included), and
HTTPS when a certificate is configured (with Strict-Transport-Security; plain HTTP refused).
API keys travel only in headers (no cookies, no forms), so there is nothing for CSRF to ride on."""

from __future__ import annotations

import http.client
import ssl
import subprocess

import pytest

import harness
from harness import LOOPBACK
from test_dot import CA

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def get(conn: http.client.HTTPConnection, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


@pytest.mark.parametrize("path,status", [("/health", 200), ("/api/v1/indicators", 401), ("/no/such/thing", 404), ("/metrics", 200)])
def test_security_headers_on_every_response(bulwark, path, status):
    conn = http.client.HTTPConnection(LOOPBACK, bulwark.metrics_port, timeout=10)
    got, headers, _ = get(conn, path)
    assert got == status
    for k, v in EXPECTED.items():
        assert headers.get(k) == v, (path, k, headers)
    assert "strict-transport-security" not in headers  # plain HTTP


def test_https_when_configured(bulwark_factory, knot, tmp_path):
    ca = CA(tmp_path)
    cert, key, _ = ca.issue("control")
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=f"metrics:\n  certificate: {cert}\n  private-key: {key}\n")
    ctx = ssl.create_default_context(cafile=str(ca.path))
    conn = http.client.HTTPSConnection(LOOPBACK, b.metrics_port, context=ctx, timeout=10)  # the certificate names 127.0.0.1
    status, headers, body = get(conn, "/health")
    assert status == 200 and body == b"ok\n"
    assert headers.get("strict-transport-security") == "max-age=31536000"
    status, headers, _ = get(conn, "/api/v1/indicators")
    assert status == 401 and headers.get("x-content-type-options") == "nosniff"
    # Plain HTTP on the TLS port gets no HTTP answer.
    plain = http.client.HTTPConnection(LOOPBACK, b.metrics_port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        get(plain, "/health")


def test_half_a_tls_config_or_a_bad_file_stops_the_start(bulwark_factory, tmp_path):
    ca = CA(tmp_path)
    cert, key, _ = ca.issue("control")
    for cfg, why in [
        (f"metrics:\n  certificate: {cert}\n", "go together"),
        (f"metrics:\n  certificate: {cert}\n  private-key: {tmp_path / 'missing.key'}\n", "missing.key"),
    ]:
        b = bulwark_factory([f"{LOOPBACK}:9"], config=cfg, start=False)
        out = subprocess.run(b.args, capture_output=True, text=True, timeout=30, env=b.env)
        assert out.returncode != 0 and why in out.stdout + out.stderr, (cfg, out.stderr)
