"""Malformed and unsupported queries, EDNS version, access control."""

import struct

import dns.edns
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

import harness
from harness import ZONE, header, make_query, raw_query, udp, udp_raw


def assert_still_serving(port: int) -> None:
    r = udp(make_query(f"www.{ZONE}", "A"), port)
    assert r.rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x12\x34\x01", b"\xab\xcd" + b"\x00" * 9], ids=["empty", "1B", "3B", "11B"])
def test_short_garbage_is_dropped_or_formerr(bulwark, payload):
    reply = udp_raw(payload, bulwark.port, timeout=1.0)
    if reply is not None:
        assert len(reply) >= 12
        h = header(reply)
        assert h["qr"] and h["rcode"] == dns.rcode.FORMERR
    assert_still_serving(bulwark.port)


@pytest.mark.parametrize(
    "wire",
    [
        # QDCOUNT=1 but the question's name runs off the end of the packet
        struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\x3fabc",
        # QDCOUNT=1 but no question at all
        struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0),
        # Name fine, type/class cut short
        struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + harness.encode_name("www." + ZONE) + b"\x00",
        # Compression pointer looping onto itself
        struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01",
        # ARCOUNT=1 with garbage where the additional record should be
        raw_query(0xBEEF, [("www." + ZONE, 1)])[:10] + b"\x00\x01" + raw_query(0xBEEF, [("www." + ZONE, 1)])[12:] + b"\xff\xff\xff",
    ],
    ids=["name-overrun", "missing-question", "short-question", "pointer-loop", "garbage-additional"],
)
def test_malformed_query_gets_formerr(bulwark, wire):
    reply = udp_raw(wire, bulwark.port, timeout=3.0)
    assert reply is not None, "no answer to a malformed query with a complete header"
    h = header(reply)
    assert h["id"] == 0xBEEF
    assert h["qr"]
    assert h["rcode"] == dns.rcode.FORMERR
    assert_still_serving(bulwark.port)


def test_two_questions_formerr(bulwark):
    wire = raw_query(0x4242, [("www." + ZONE, 1), ("www." + ZONE, 28)])
    reply = udp_raw(wire, bulwark.port, timeout=3.0)
    assert reply is not None, "no answer to QDCOUNT=2"
    h = header(reply)
    assert h["id"] == 0x4242
    assert h["qr"]
    assert h["rcode"] == dns.rcode.FORMERR
    assert_still_serving(bulwark.port)


def test_response_packets_are_not_answered(bulwark):
    # QR=1: answering responses invites reflection loops.
    wire = bytearray(raw_query(0x5151, [("www." + ZONE, 1)]))
    wire[2] |= 0x80
    assert udp_raw(bytes(wire), bulwark.port, timeout=1.0) is None
    assert_still_serving(bulwark.port)


@pytest.mark.parametrize("opcode", [1, 2, 3], ids=["IQUERY", "STATUS", "unassigned-3"])
def test_unknown_opcode_notimp(bulwark, opcode):
    wire = raw_query(0x7777, [("www." + ZONE, 1)], opcode=opcode)
    reply = udp_raw(wire, bulwark.port, timeout=3.0)
    assert reply is not None, f"no answer to opcode {opcode}"
    h = header(reply)
    assert h["id"] == 0x7777
    assert h["qr"]
    assert h["opcode"] == opcode
    assert h["rcode"] == dns.rcode.NOTIMP


def test_edns_version_1_badvers(bulwark):
    q = make_query(f"www.{ZONE}", "A", use_edns=1, payload=1232)
    reply = udp_raw(q.to_wire(), bulwark.port, timeout=3.0)
    assert reply is not None
    r = dns.message.from_wire(reply)
    assert r.id == q.id
    assert r.edns == 0, "BADVERS must carry an OPT with the version we do support"
    assert r.rcode() == dns.rcode.BADVERS
    assert not r.answer


def test_edns_version_0_ok(bulwark):
    r = udp(make_query(f"www.{ZONE}", "A", use_edns=0, payload=1232), bulwark.port)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0


def test_acl_refuses_clients_outside(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], extra_args=["--allow", "10.0.0.0/8"])
    before = knot.query_count()
    for send in (harness.udp, harness.tcp):
        r = send(make_query(f"www.{ZONE}", "A"), b.port)
        assert r.rcode() == dns.rcode.REFUSED
        assert not r.answer
    assert knot.query_count() == before, "a refused query must not be forwarded"


def test_acl_allows_listed_clients(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], extra_args=["--allow", "10.0.0.0/8", "--allow", "127.0.0.0/8"])
    r = udp(make_query(f"www.{ZONE}", "A"), b.port)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer
