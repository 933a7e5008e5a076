"""Abuse limits through the bulwark binary: per-client query rate (UDP dropped or slipped
truncated, TCP refused with EDE 18) and open connections per client. Loopback is exempt by
default, so these tests clear `limits.exempt`."""

from __future__ import annotations

import socket
import struct
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode

import harness
from harness import LOOPBACK, ZONE, metric_sum, parse_prometheus


def limited(bulwark_factory, knot, extra: str):
    return bulwark_factory([f"{LOOPBACK}:{knot.port}"], config="limits:\n  exempt: []\n" + extra)


def test_udp_flood_is_cut_to_the_rate_with_slip(bulwark_factory, knot):
    b = limited(bulwark_factory, knot, "  client-qps: 20\n  client-burst: 20\n  slip: 2\n")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.settimeout(1.0)
    q = dns.message.make_query(f"www.{ZONE}", "A")
    sent = 200
    start = time.monotonic()
    for i in range(sent):
        q.id = i
        s.sendto(q.to_wire(), (LOOPBACK, b.port))
    answered = truncated = 0
    try:
        while True:
            r = dns.message.from_wire(s.recv(65535))
            if r.flags & dns.flags.TC:
                assert not r.answer
                truncated += 1
            else:
                assert r.rcode() == dns.rcode.NOERROR
                answered += 1
    except socket.timeout:
        pass
    elapsed = time.monotonic() - start
    s.close()
    # The burst plus what the rate refills while the flood lasts; about half the rest slips.
    assert 20 <= answered <= 20 + 20 * elapsed + 2, (answered, elapsed)
    over = sent - answered
    assert abs(truncated - over / 2) <= 2, (truncated, over)
    m = parse_prometheus(b.metrics_text()[0])
    assert metric_sum(m, "bulwark_queries_rate_limited_total") == over
    assert metric_sum(m, "bulwark_queries_rate_limit_slipped_total") == truncated
    # A second later the client is served again.
    time.sleep(1.1)
    assert dns.query.udp(dns.message.make_query(f"www.{ZONE}", "A"), LOOPBACK, port=b.port, timeout=3).rcode() == dns.rcode.NOERROR


def test_tcp_over_the_limit_is_refused_with_ede_18(bulwark_factory, knot):
    b = limited(bulwark_factory, knot, "  client-qps: 5\n  client-burst: 5\n")
    rcodes = []
    with socket.create_connection((LOOPBACK, b.port), timeout=5) as c:
        for i in range(10):
            q = dns.message.make_query(f"www.{ZONE}", "A", use_edns=0)
            w = q.to_wire()
            c.sendall(struct.pack("!H", len(w)) + w)
            r = dns.message.from_wire(harness.recv_framed(c))
            rcodes.append(r.rcode())
            if r.rcode() == dns.rcode.REFUSED:
                assert [(o.code, o.text) for o in r.options if o.otype == 15] == [(18, "rate limit")]
    # The burst of 5 (one of it may have gone to the harness's start-up probe), then refusals.
    ok = rcodes.count(dns.rcode.NOERROR)
    assert 4 <= ok <= 6 and rcodes == [dns.rcode.NOERROR] * ok + [dns.rcode.REFUSED] * (10 - ok), rcodes


def test_connections_per_client(bulwark_factory, knot):
    b = limited(bulwark_factory, knot, "  connections-per-client: 3\n")
    # The harness's start-up probe opened and closed a TCP connection: let its close be seen.
    time.sleep(0.5)
    held = [socket.create_connection((LOOPBACK, b.port), timeout=5) for _ in range(3)]

    def answers(c: socket.socket) -> bool:
        w = dns.message.make_query(f"www.{ZONE}", "A").to_wire()
        c.sendall(struct.pack("!H", len(w)) + w)
        return dns.message.from_wire(harness.recv_framed(c)).rcode() == dns.rcode.NOERROR

    try:
        # Each answers, so each is counted before the fourth comes.
        assert all(answers(h) for h in held)
        extra = socket.create_connection((LOOPBACK, b.port), timeout=5)
        extra.settimeout(5)
        assert extra.recv(10) == b""  # closed at once
        extra.close()
        # The held ones still answer; closing one makes room for another.
        assert answers(held[0])
        held.pop().close()
        time.sleep(0.2)
        r = dns.query.tcp(dns.message.make_query(f"www.{ZONE}", "A"), LOOPBACK, port=b.port, timeout=5)
        assert r.rcode() == dns.rcode.NOERROR
    finally:
        for h in held:
            h.close()
    m = parse_prometheus(b.metrics_text()[0])
    assert metric_sum(m, "bulwark_connections_refused_per_client_total") >= 1
