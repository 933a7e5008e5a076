"""EDNS Client Subnet (RFC 7871) through the bulwark binary: off by default (a client's own
option is not passed on), and with `ecs: true` on a profile the client's address cut to /24.

The upstream here is a small dnspython responder on loopback that records what it receives:
what matters is what Bulwark sends, which no DNS server in Debian reports back.
"""

from __future__ import annotations


import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

import harness
from harness import LOOPBACK


def answer_a(wire: bytes) -> list[bytes]:
    """Every A query answered with 192.0.2.1 (TTL 300)."""
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "A", "192.0.2.1"))
    return [r.to_wire()]


class RecordingUpstream(harness.UDPResponder):
    """Answers every A query and tells which client subnet each query carried."""

    def __init__(self) -> None:
        super().__init__(answer_a)

    def subnets(self) -> list[str | None]:
        out = []
        for q in self.queries:
            ecs = [o for o in q.options if isinstance(o, dns.edns.ECSOption)]
            out.append(f"{ecs[0].address}/{ecs[0].srclen}" if ecs else None)
        return out


@pytest.fixture
def upstream():
    u = RecordingUpstream()
    yield u
    u.close()


def ask(b, name: str, source: str = LOOPBACK, ecs: dns.edns.ECSOption | None = None) -> dns.message.Message:
    q = dns.message.make_query(name, "A", use_edns=0, options=[ecs] if ecs else [])
    return dns.query.udp(q, LOOPBACK, port=b.port, source=source, timeout=5)


def test_off_by_default_and_client_option_not_passed_on(bulwark_factory, upstream):
    b = bulwark_factory([f"{LOOPBACK}:{upstream.port}"])
    r = ask(b, "a.example.", ecs=dns.edns.ECSOption("127.0.0.1", 32))
    assert r.rcode() == dns.rcode.NOERROR
    assert upstream.subnets()[-1] is None


def test_profile_sends_slash_24_and_caches_per_subnet(bulwark_factory, upstream):
    b = bulwark_factory(
        [f"{LOOPBACK}:{upstream.port}"],
        config="policy:\n  profiles:\n    - name: protective\n      ecs: true\n")
    assert ask(b, "b.example.", source="127.0.0.1").rcode() == dns.rcode.NOERROR
    assert upstream.subnets()[-1] == "127.0.0.0/24"
    n = len(upstream.queries)
    # The same /24: from the cache. Another /24: asked upstream with its own subnet.
    assert ask(b, "b.example.", source="127.0.0.2").answer
    assert len(upstream.queries) == n
    assert ask(b, "b.example.", source="127.0.1.1").answer
    assert len(upstream.queries) == n + 1 and upstream.subnets()[-1] == "127.0.1.0/24"
    # A client that asks for no subnet (source prefix 0) gets none sent.
    ask(b, "c.example.", source="127.0.0.1", ecs=dns.edns.ECSOption("0.0.0.0", 0))
    assert upstream.subnets()[-1] is None
