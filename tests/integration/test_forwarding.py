"""Bulwark as a caching forwarder in front of knotd: answers, TTLs, negative
caching, truncation and TCP fallback, RFC 7766 pipelining."""

import socket
import struct
import subprocess
import time
import uuid

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

import harness
from harness import BIG_TXT, MEDIUM_TXT, NEG_TTL, ZONE, make_query, rrsets, tcp, udp

CASES = [
    ("www", "A"),
    ("www", "AAAA"),
    ("", "MX"),
    ("", "NS"),
    ("", "SOA"),
    ("mail", "A"),
    ("alias1", "A"),  # CNAME chain alias1 -> alias2 -> alias3 -> www
    ("alias2", "AAAA"),
    ("medium", "TXT"),
    ("nodata", "AAAA"),  # NODATA
    ("does-not-exist", "A"),  # NXDOMAIN
    ("v6only", "A"),  # NODATA
]


def fqdn(label: str) -> str:
    return f"{label}.{ZONE}" if label else ZONE


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("label,rdtype", CASES, ids=[f"{l or '@'}-{t}" for l, t in CASES])
def test_answer_matches_knotd(bulwark, knot, transport, label, rdtype):
    send = udp if transport == "udp" else tcp
    q = make_query(fqdn(label), rdtype, use_edns=0, payload=1232)
    want = send(q, knot.port)
    got = send(make_query(fqdn(label), rdtype, use_edns=0, payload=1232), bulwark.port)
    assert got.rcode() == want.rcode()
    assert got.flags & dns.flags.QR
    assert got.flags & dns.flags.RD, "RD must be copied from the query"
    assert not got.flags & dns.flags.TC
    assert rrsets(got.answer) == rrsets(want.answer)
    assert [r.name for r in got.question] == [r.name for r in want.question]
    if not want.answer:  # negative answers carry the zone's SOA
        assert {(r.name, r.rdtype) for r in got.authority} >= {(dns.name.from_text(ZONE), dns.rdatatype.SOA)}
    for g in got.answer:
        w = next(r for r in want.answer if r.name == g.name and r.rdtype == g.rdtype)
        assert 0 < g.ttl <= w.ttl


def test_ttl_decreases_in_cache(bulwark, knot):
    # Every dnspython query comes from a new source port, so with SO_REUSEPORT
    # they spread over all event loops: the cache must be shared between them
    # (or at least agree), or a client sees TTLs jump back up.
    name = fqdn("ttl")
    before = knot.query_count()
    first = udp(make_query(name, "A"), bulwark.port)
    assert first.rcode() == dns.rcode.NOERROR
    assert 295 <= first.answer[0].ttl <= 300
    time.sleep(2.2)
    later = [udp(make_query(name, "A"), bulwark.port) for _ in range(8)]
    later += [tcp(make_query(name, "A"), bulwark.port) for _ in range(4)]
    ttls = [r.answer[0].ttl for r in later]
    for r in later:
        assert rrsets(r.answer) == rrsets(first.answer)
    assert all(t < first.answer[0].ttl for t in ttls), f"served TTL must count down: first {first.answer[0].ttl}, then {ttls}"
    assert all(first.answer[0].ttl - t <= 4 for t in ttls), ttls
    assert knot.query_count() - before == 1, "only the first query may reach the upstream"


def test_cache_hit_does_not_reach_upstream(bulwark, knot):
    name = fqdn("n1")
    udp(make_query(name, "A"), bulwark.port)
    after_first = knot.query_count()
    for _ in range(16):  # new source port each time: spread over all event loops
        assert udp(make_query(name, "A"), bulwark.port).rcode() == dns.rcode.NOERROR
    for _ in range(4):
        assert tcp(make_query(name, "A"), bulwark.port).rcode() == dns.rcode.NOERROR
    assert knot.query_count() == after_first, "cached answers must not be fetched again (per-loop caches?)"


def _soa_ttl(msg):
    soas = [r for r in msg.authority if r.rdtype == dns.rdatatype.SOA]
    assert soas, f"negative answer without SOA in authority:\n{msg}"
    assert soas[0].name == dns.name.from_text(ZONE)
    return soas[0].ttl


@pytest.mark.parametrize("kind", ["nxdomain", "nodata"])
def test_negative_caching(bulwark, knot, kind):
    if kind == "nxdomain":
        name, rdtype, rcode = fqdn(f"nx-{uuid.uuid4().hex[:12]}"), "A", dns.rcode.NXDOMAIN
    else:
        name, rdtype, rcode = fqdn("nodata"), "TXT", dns.rcode.NOERROR
    before = knot.query_count()
    first = udp(make_query(name, rdtype, use_edns=0), bulwark.port)
    assert first.rcode() == rcode
    assert not first.answer
    ttl1 = _soa_ttl(first)
    assert 0 < ttl1 <= NEG_TTL
    time.sleep(2.2)
    ttls = []
    for _ in range(8):  # new source port each time: spread over all event loops
        again = udp(make_query(name, rdtype, use_edns=0), bulwark.port)
        assert again.rcode() == rcode
        assert not again.answer
        ttls.append(_soa_ttl(again))
    assert all(t < ttl1 for t in ttls), f"negative cache TTL must count down: first {ttl1}, then {ttls}"
    assert knot.query_count() - before == 1, "the negative answer must come from the cache after the first time"


def test_udp_truncates_to_edns_size_then_tcp_gets_all(bulwark, knot):
    r = udp(make_query(fqdn("big"), "TXT", use_edns=0, payload=1232), bulwark.port)
    assert r.flags & dns.flags.TC, "big TXT over UDP with 1232-byte EDNS must be truncated"
    assert len(r.to_wire()) <= 1232
    assert r.edns == 0, "EDNS query must get an OPT back"
    full = tcp(make_query(fqdn("big"), "TXT", use_edns=0, payload=1232), bulwark.port)
    assert not full.flags & dns.flags.TC
    assert {s.decode() for rd in full.answer[0] for s in rd.strings} == set(BIG_TXT)


def test_udp_larger_edns_buffer_fits_big_answer(bulwark):
    r = udp(make_query(fqdn("big"), "TXT", use_edns=0, payload=4096), bulwark.port)
    # Bulwark may cap its UDP size (e.g. at 1232); either it fits or it is truncated cleanly.
    if r.flags & dns.flags.TC:
        assert len(r.to_wire()) <= 4096
    else:
        assert len(r.answer[0]) == len(BIG_TXT)


def test_udp_without_edns_truncates_at_512(bulwark):
    r = udp(make_query(fqdn("medium"), "TXT", use_edns=False), bulwark.port)
    assert r.flags & dns.flags.TC, "a > 512 byte answer without EDNS must be truncated"
    assert len(r.to_wire()) <= 512
    assert r.edns == -1, "no OPT in the answer to a query without EDNS"
    r = udp(make_query(fqdn("medium"), "TXT", use_edns=0, payload=1232), bulwark.port)
    assert not r.flags & dns.flags.TC
    assert {s.decode() for rd in r.answer[0] for s in rd.strings} == set(MEDIUM_TXT)


def test_kdig_retries_over_tcp(bulwark, kdig_path):
    out = subprocess.run(
        [kdig_path, f"@{harness.LOOPBACK}", "-p", str(bulwark.port), "+bufsize=1232", "+timeout=5", "+retry=0", fqdn("big"), "TXT"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(TCP)" in out.stdout, out.stdout
    assert "NOERROR" in out.stdout
    for s in BIG_TXT:
        assert s in out.stdout


def _pipeline(port: int, names: list[str], rdtype: str = "A", host: str = harness.LOOPBACK) -> dict[int, dns.message.Message]:
    queries = {}
    wire = b""
    for i, name in enumerate(names):
        q = make_query(name, rdtype)
        q.id = 0x1000 + i
        queries[q.id] = q
        w = q.to_wire()
        wire += struct.pack("!H", len(w)) + w
    answers = {}
    with socket.create_connection((host, port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(wire)  # every query before reading any answer
        deadline = time.monotonic() + 15
        while len(answers) < len(queries) and time.monotonic() < deadline:
            msg = dns.message.from_wire(harness.recv_framed(s))
            assert msg.id in queries, f"answer with unknown id {msg.id}"
            assert msg.id not in answers, f"two answers for id {msg.id}"
            assert queries[msg.id].is_response(msg)
            answers[msg.id] = msg
        # The connection stays usable after the burst.
        q = make_query(names[0], rdtype)
        w = q.to_wire()
        s.sendall(struct.pack("!H", len(w)) + w)
        assert dns.message.from_wire(harness.recv_framed(s)).id == q.id
    assert len(answers) == len(queries)
    return answers


def test_tcp_pipelining(bulwark):
    # Half of them already cached, so cache hits can overtake upstream misses.
    names = [fqdn(f"p{i}") for i in range(harness.PIPELINE_NAMES)]
    for name in names[::2]:
        udp(make_query(name, "A"), bulwark.port)
    answers = _pipeline(bulwark.port, names)
    for ident, msg in answers.items():
        i = ident - 0x1000
        assert msg.rcode() == dns.rcode.NOERROR
        assert [rd.address for rd in msg.answer[0]] == [f"192.0.2.{100 + i}"]
