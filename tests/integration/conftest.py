"""Fixtures: a knotd authoritative peer serving the test zone and Bulwark
forwarding to it, both on loopback with random free ports.

Peer policy: a missing peer (knotd, knotc, kdig) or a missing bulwark binary
skips locally but FAILS when CI=true, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import Bulwark, Knot  # noqa: E402


def _require(name: str) -> str:
    return harness.require_peer(name)


# ---------------------------------------------------------------------------
# Peers


@pytest.fixture(scope="session")
def knotd_path() -> str:
    return _require("knotd")


@pytest.fixture(scope="session")
def knotc_path() -> str:
    return _require("knotc")


@pytest.fixture
def kdig_path() -> str:
    return _require("kdig")


@pytest.fixture(scope="session")
def knot(knotd_path, knotc_path):
    """The shared knotd. Tests must not stop it: use knot_factory for that."""
    k = Knot(knotd_path, knotc_path).start()
    yield k
    k.close()


@pytest.fixture
def knot_factory(knotd_path, knotc_path):
    """Start private knotd instances (which a test may stop and start again)."""
    made: list[Knot] = []

    def make(**kw) -> Knot:
        k = Knot(knotd_path, knotc_path, **kw).start()
        made.append(k)
        return k

    yield make
    for k in made:
        k.close()


# ---------------------------------------------------------------------------
# The binary under test


@pytest.fixture(scope="session")
def bulwark_bin() -> Path:
    path = harness.bulwark_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        msg = f"bulwark binary not found at {path} (run `swift build`, or set BULWARK_BIN)"
        if harness.ON_CI:
            pytest.fail(f"CI=true and {msg}", pytrace=False)
        pytest.skip(msg)
    return path


class _Shared:
    instance: Bulwark | None = None


@pytest.fixture(scope="session")
def _shared_bulwark(bulwark_bin, knot):
    holder = _Shared()
    yield holder
    if holder.instance is not None:
        holder.instance.close()


@pytest.fixture
def bulwark(_shared_bulwark, bulwark_bin, knot) -> Bulwark:
    """A Bulwark forwarding to the shared knotd, shared between tests.

    If an earlier test killed it, a fresh one is started (and the earlier
    test's failure shows the crash log)."""
    inst = _shared_bulwark.instance
    if inst is None or not inst.alive():
        if inst is not None:
            inst.close()
        inst = Bulwark(bulwark_bin, [f"{harness.LOOPBACK}:{knot.port}"])
        _shared_bulwark.instance = inst
        inst.start()
    return inst


@pytest.fixture
def bulwark_factory(bulwark_bin):
    """Start private Bulwark instances: make(upstreams=[...], extra_args=[...], config=..., env=...)."""
    made: list[Bulwark] = []

    def make(upstreams=None, start=True, **kw) -> Bulwark:
        b = Bulwark(bulwark_bin, upstreams, **kw)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in made:
        b.close()


# ---------------------------------------------------------------------------
# Show the servers' logs in the report of a failing test.


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when in ("setup", "call") and report.failed:
        for server in list(harness.RUNNING):
            report.sections.append((f"{server.label} log (tail)", server.log_tail()))
