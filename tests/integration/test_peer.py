"""The harness itself: knotd serves the test zone as the other tests assume.

These run without the bulwark binary, so a broken peer setup is told apart
from a broken server."""

import subprocess

import dns.flags
import dns.rcode
import dns.rdatatype

import harness
from harness import BIG_TXT, MEDIUM_TXT, ZONE, make_query, tcp, udp


def test_knotd_serves_zone(knot):
    r = udp(make_query(f"www.{ZONE}", "A"), knot.port)
    assert r.rcode() == dns.rcode.NOERROR
    assert {rd.address for rd in r.answer[0]} == {"192.0.2.1", "192.0.2.2"}
    r = udp(make_query(f"nope.{ZONE}", "A"), knot.port)
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_zone_sizes_trigger_truncation(knot):
    big_udp = udp(make_query(f"big.{ZONE}", "TXT", use_edns=0, payload=1232), knot.port)
    assert big_udp.flags & dns.flags.TC
    big_tcp = tcp(make_query(f"big.{ZONE}", "TXT", use_edns=0, payload=1232), knot.port)
    assert len(big_tcp.to_wire()) > 1232
    assert len(big_tcp.answer[0]) == len(BIG_TXT)

    med_plain = udp(make_query(f"medium.{ZONE}", "TXT", use_edns=False), knot.port)
    assert med_plain.flags & dns.flags.TC
    med_edns = udp(make_query(f"medium.{ZONE}", "TXT", use_edns=0, payload=1232), knot.port)
    assert not med_edns.flags & dns.flags.TC
    assert 512 < len(med_edns.to_wire()) < 1232
    assert len(med_edns.answer[0]) == len(MEDIUM_TXT)


def test_kdig_falls_back_to_tcp_against_knotd(knot, kdig_path):
    out = subprocess.run(
        [kdig_path, f"@{harness.LOOPBACK}", "-p", str(knot.port), "+bufsize=1232", "+timeout=3", "+retry=0", f"big.{ZONE}", "TXT"],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, out.stderr
    assert "(TCP)" in out.stdout, out.stdout
    for s in BIG_TXT:
        assert s in out.stdout


def test_knot_can_stop_and_start(knot_factory):
    k = knot_factory()
    before = k.query_count()
    udp(make_query(f"www.{ZONE}", "A"), k.port)
    assert k.query_count() == before + 1
    k.stop()
    assert not k.alive()
    assert harness.udp_raw(make_query(f"www.{ZONE}", "A").to_wire(), k.port, timeout=0.5) is None
    k.start()
    assert udp(make_query(f"www.{ZONE}", "A"), k.port).rcode() == dns.rcode.NOERROR
