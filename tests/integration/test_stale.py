"""Serve-stale (RFC 8767): when the upstream is gone, expired entries are
answered with TTL 30 and EDE 3 (Stale Answer)."""

import time

import dns.rcode
import dns.rdatatype

import harness
from harness import SHORT_TTL, ZONE, ede_codes, make_query, udp

STALE_CONFIG = """\
cache:
  serve-stale: true
  stale-answer-ttl: 30
  max-stale: 86400
  prefetch: false
upstream:
  timeout-ms: 500
"""

EDE_STALE_ANSWER = 3


def test_serve_stale_when_upstream_dies(knot_factory, bulwark_factory):
    k = knot_factory()
    b = bulwark_factory([f"{harness.LOOPBACK}:{k.port}"], config=STALE_CONFIG)
    name = f"short.{ZONE}"

    fresh = udp(make_query(name, "A", use_edns=0, payload=1232), b.port)
    assert fresh.rcode() == dns.rcode.NOERROR
    assert [rd.address for rd in fresh.answer[0]] == ["192.0.2.50"]
    assert fresh.answer[0].ttl <= SHORT_TTL
    assert EDE_STALE_ANSWER not in ede_codes(fresh)

    k.stop()
    time.sleep(SHORT_TTL + 1.5)

    # Several queries, each from a new source port, so every event loop is asked.
    for _ in range(6):
        stale = udp(make_query(name, "A", use_edns=0, payload=1232), b.port, timeout=8.0)
        assert stale.rcode() == dns.rcode.NOERROR, f"expected a stale answer, got:\n{stale}"
        assert [rd.address for rd in stale.answer[0]] == ["192.0.2.50"]
        assert 29 <= stale.answer[0].ttl <= 30, "stale answers carry stale-answer-ttl (30 s)"
        assert EDE_STALE_ANSWER in ede_codes(stale), f"EDE 3 (Stale Answer) missing: {stale.options}"
    stale_tcp = harness.tcp(make_query(name, "A", use_edns=0, payload=1232), b.port, timeout=8.0)
    assert stale_tcp.rcode() == dns.rcode.NOERROR and EDE_STALE_ANSWER in ede_codes(stale_tcp)

    # Never-seen names still fail (there is nothing stale to serve).
    unknown = udp(make_query(f"n39.{ZONE}", "A", use_edns=0, payload=1232), b.port, timeout=8.0)
    assert unknown.rcode() == dns.rcode.SERVFAIL
    assert not unknown.answer

    # The upstream comes back: fresh answers again, without EDE 3. RFC 8767
    # lets a resolver wait out a failure-recheck timer (suggested 30 s) before
    # it tries to refresh, so allow that much and a little more.
    k.start()
    deadline = time.monotonic() + 40
    while True:
        r = udp(make_query(name, "A", use_edns=0, payload=1232), b.port, timeout=8.0)
        if EDE_STALE_ANSWER not in ede_codes(r):
            break
        assert time.monotonic() < deadline, "still stale 40 s after the upstream came back"
        time.sleep(1.0)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0].ttl <= SHORT_TTL


def test_expired_entry_refreshes_from_live_upstream(knot_factory, bulwark_factory):
    k = knot_factory()
    b = bulwark_factory([f"{harness.LOOPBACK}:{k.port}"], config=STALE_CONFIG)
    name = f"short2.{ZONE}"
    before = k.query_count()
    udp(make_query(name, "A"), b.port)
    time.sleep(SHORT_TTL + 1.0)
    r = udp(make_query(name, "A", use_edns=0), b.port)
    assert r.rcode() == dns.rcode.NOERROR
    assert EDE_STALE_ANSWER not in ede_codes(r)
    assert r.answer[0].ttl <= SHORT_TTL
    assert k.query_count() - before >= 2, "an expired entry must be fetched again"
