"""Self-test of the RPZ consumer fixtures (rpz_consumers.py), without Bulwark.

Two knotd instances stand in for the world: an authoritative server for
`test.bulwark.` (the upstream every consumer forwards to) and an RPZ primary
serving `phishing.rpz.bulwark.` with a TSIG key. Each real resolver consumes the
primary, must answer good names, block the RPZ names (QNAME, wildcard, and the
answer-IP trigger where supported), and pick up a change of the zone: by NOTIFY
where the consumer supports it, otherwise by its polling.

Peer policy as in conftest.py: a missing binary skips locally but FAILS when CI=true.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from rpz_consumers import (  # noqa: E402
    BindRPZ,
    KnotAuth,
    KnotSecondary,
    KresdRPZ,
    MissingDependency,
    NotifyTarget,
    PdnsRPZ,
    Record,
    Tsig,
    UnboundRPZ,
    rpz_zone_text,
    wait_until,
    write_atomic,
)

LOOPBACK = harness.LOOPBACK
RPZ = "phishing.rpz.bulwark."
KEY = Tsig.generate("bulwark-rpz-key.")
START_LIMIT = 10.0  # seconds for one consumer to come up
UPDATE_LIMIT = 15.0  # seconds for a change on the primary to be enforced

UPSTREAM_ZONE = """$ORIGIN test.bulwark.
$TTL 300
@ 60 SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.1
good A 192.0.2.1
bad A 192.0.2.66
sub.bad A 192.0.2.67
evil A 192.0.2.99
new A 192.0.2.77
"""

RULES_V1 = [
    "bad.test.bulwark CNAME .",
    "*.bad.test.bulwark CNAME .",
    "32.99.2.0.192.rpz-ip CNAME .",
]
RULES_V2 = RULES_V1 + ["new.test.bulwark CNAME ."]


def _missing(what: str) -> None:
    harness.missing_peer(what)


def _require(*names: str) -> None:
    harness.require_peer(*names)


@pytest.fixture(scope="module")
def upstream():
    """knotd authoritative for test.bulwark.: the consumers' forwarding target."""
    _require("knotd")
    k = harness.Knot(harness.find_executable("knotd"), harness.find_executable("knotc"), zone=UPSTREAM_ZONE).start()
    yield k
    k.close()


@pytest.fixture
def cleanup():
    made = []
    yield made.append
    for d in reversed(made):
        d.close()


def _start(daemon, what: str):
    t = time.monotonic()
    try:
        daemon.start(timeout=START_LIMIT)
    except MissingDependency as e:
        _missing(str(e))
    took = time.monotonic() - t
    print(f"\n[rpz-selftest] {what}: started in {took:.2f}s on 127.0.0.1:{daemon.port}")
    assert took < START_LIMIT
    return daemon


def _rcode(c, name: str) -> str:
    return c.lookup(name)[0]


def _blocked(c, name: str) -> bool:
    return _rcode(c, name) == "NXDOMAIN"


# ---------------------------------------------------------------------------
# The helper itself


def test_wait_until_returns_elapsed_and_times_out():
    t0 = time.monotonic()
    took = wait_until(lambda: time.monotonic() - t0 > 0.2, timeout=5)
    assert 0.15 < took < 2
    with pytest.raises(TimeoutError, match="never true"):
        wait_until(lambda: False, timeout=0.3, message="never true")
    with pytest.raises(TimeoutError, match="ZeroDivisionError"):
        wait_until(lambda: 1 / 0, timeout=0.2)


# ---------------------------------------------------------------------------
# Resolvers consuming the primary by AXFR/IXFR

CONSUMERS = {
    # kind: (binary, factory(primary_port, upstream_port), uses TSIG, NOTIFY signed)
    "unbound": ("unbound", lambda pp, up: UnboundRPZ(LOOPBACK, pp, [RPZ], up), False, False),
    "bind": ("named", lambda pp, up: BindRPZ(LOOPBACK, pp, [RPZ], up, tsig=KEY), True, True),
    "pdns": ("pdns_recursor", lambda pp, up: PdnsRPZ(LOOPBACK, pp, [RPZ], up, tsig=KEY), True, False),
}


@pytest.mark.parametrize("kind", list(CONSUMERS))
def test_rpz_consumer(kind, upstream, cleanup):
    binary, factory, uses_tsig, notify_signed = CONSUMERS[kind]
    _require(binary, "knotd", "knotc")
    # The primary refuses unsigned transfers whenever the consumer has the key,
    # so a successful load proves the TSIG configuration.
    primary = KnotAuth({RPZ: rpz_zone_text(RPZ, 1, RULES_V1)}, tsig=KEY, allow_unsigned_transfer=not uses_tsig)
    cleanup(primary)
    consumer = factory(primary.port, upstream.port)
    cleanup(consumer)
    if consumer.supports_notify:
        primary.notify = [NotifyTarget(LOOPBACK, consumer.notify_port, notify_signed)]
    _start(primary, "knotd primary")
    _start(consumer, kind)

    took = wait_until(lambda: _blocked(consumer, "bad.test.bulwark."), UPDATE_LIMIT, message=f"{kind} loads {RPZ}")
    print(f"[rpz-selftest] {kind}: initial transfer enforced {took:.3f}s after start")

    assert consumer.lookup("good.test.bulwark.") == ("NOERROR", ["192.0.2.1"])
    assert _rcode(consumer, "bad.test.bulwark.") == "NXDOMAIN"
    assert _rcode(consumer, "sub.bad.test.bulwark.") == "NXDOMAIN"
    if consumer.supports_rpz_ip:
        assert _rcode(consumer, "evil.test.bulwark.") == "NXDOMAIN"
    # Resolve (and cache) the name before it is listed: the change must win over the cache.
    assert consumer.lookup("new.test.bulwark.") == ("NOERROR", ["192.0.2.77"])

    r = consumer.query("bad.test.bulwark.", use_edns=0)
    print(f"[rpz-selftest] {kind}: EDE on a blocked name: {harness.ede_codes(r)}")
    if kind == "pdns":
        assert 15 in harness.ede_codes(r)  # extendedErrorCode=15 (Blocked)
    if uses_tsig:
        log = consumer.log_text()
        assert "TSIG" in log, f"{kind} log does not mention TSIG:\n{consumer.log_tail(40)}"

    t0 = time.monotonic()
    primary.set_zone(RPZ, rpz_zone_text(RPZ, 2, RULES_V2))
    wait_until(lambda: _blocked(consumer, "new.test.bulwark."), UPDATE_LIMIT, message=f"{kind} enforces serial 2")
    took = time.monotonic() - t0
    how = "NOTIFY" if consumer.supports_notify else f"polling (refresh={getattr(consumer, 'refresh', '?')}s; no RPZ NOTIFY in this version)"
    print(f"[rpz-selftest] {kind}: change -> blocked in {took:.3f}s via {how}")

    assert consumer.lookup("good.test.bulwark.") == ("NOERROR", ["192.0.2.1"])
    assert _rcode(consumer, "bad.test.bulwark.") == "NXDOMAIN"
    assert consumer.alive()


# ---------------------------------------------------------------------------
# knotd as a plain secondary: the transferred content can be read back


def test_knot_secondary(cleanup):
    _require("knotd", "knotc")
    primary = KnotAuth({RPZ: rpz_zone_text(RPZ, 1, RULES_V1)}, tsig=KEY, allow_unsigned_transfer=False)
    cleanup(primary)
    sec = KnotSecondary(LOOPBACK, primary.port, [RPZ], tsig=KEY)
    cleanup(sec)
    primary.notify = [NotifyTarget(LOOPBACK, sec.notify_port, True)]
    _start(primary, "knotd primary")
    _start(sec, "knotd secondary")

    wait_until(lambda: sec.serial(RPZ) == 1, UPDATE_LIMIT, message="secondary has serial 1")
    recs = sec.zone_records(RPZ)
    assert Record("bad.test.bulwark.phishing.rpz.bulwark.", 60, "CNAME", ".") in recs
    assert Record("*.bad.test.bulwark.phishing.rpz.bulwark.", 60, "CNAME", ".") in recs
    assert Record("32.99.2.0.192.rpz-ip.phishing.rpz.bulwark.", 60, "CNAME", ".") in recs
    assert [r.rdtype for r in recs].count("SOA") == 1
    assert not any(r.name.startswith("new.") for r in recs)

    t0 = time.monotonic()
    primary.set_zone(RPZ, rpz_zone_text(RPZ, 2, RULES_V2))
    wait_until(lambda: sec.serial(RPZ) == 2, UPDATE_LIMIT, message="secondary has serial 2")
    took = time.monotonic() - t0
    print(f"[rpz-selftest] knotd secondary: change -> serial 2 in {took:.3f}s via NOTIFY")
    assert Record("new.test.bulwark.phishing.rpz.bulwark.", 60, "CNAME", ".") in sec.zone_records(RPZ)
    wait_until(lambda: "new.test.bulwark" in sec.zone_text(RPZ), 5, message="zone file flushed")


# ---------------------------------------------------------------------------
# Knot Resolver: an RPZ *file*, replaced by write + rename


def test_kresd_rpz_file(upstream, cleanup, tmp_path):
    _require("kresd")
    rpz_file = tmp_path / "phishing.rpz"
    write_atomic(rpz_file, rpz_zone_text(RPZ, 1, RULES_V1))
    k = KresdRPZ(rpz_file, upstream.port)
    cleanup(k)
    _start(k, "kresd")

    assert k.lookup("good.test.bulwark.") == ("NOERROR", ["192.0.2.1"])
    assert _rcode(k, "bad.test.bulwark.") == "NXDOMAIN"
    assert _rcode(k, "sub.bad.test.bulwark.") == "NXDOMAIN"
    # No RPZ-IP in Knot Resolver: the answer-address trigger is ignored.
    assert not k.supports_rpz_ip
    assert k.lookup("evil.test.bulwark.") == ("NOERROR", ["192.0.2.99"])
    assert k.lookup("new.test.bulwark.") == ("NOERROR", ["192.0.2.77"])
    r = k.query("bad.test.bulwark.", use_edns=0)
    print(f"[rpz-selftest] kresd: EDE on a blocked name: {harness.ede_codes(r)}")
    assert 15 in harness.ede_codes(r)  # DENY_MSG sets EDE 15 (Blocked)

    t0 = time.monotonic()
    write_atomic(rpz_file, rpz_zone_text(RPZ, 2, RULES_V2))
    wait_until(lambda: _blocked(k, "new.test.bulwark."), UPDATE_LIMIT, message="kresd reloads the RPZ file")
    took = time.monotonic() - t0
    print(f"[rpz-selftest] kresd: file replaced -> blocked in {took:.3f}s (reloads logged: {k.reloads()})")
    assert k.reloads() >= 1
    assert k.lookup("good.test.bulwark.") == ("NOERROR", ["192.0.2.1"])
    assert _rcode(k, "bad.test.bulwark.") == "NXDOMAIN"
