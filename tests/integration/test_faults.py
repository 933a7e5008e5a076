"""Faults: upstreams that are slow or answer garbage, kill -9 while the policy snapshot is being
written, a corrupt snapshot, and a full disk under the query log. In each, Bulwark keeps
answering (SERVFAIL with EDE where nothing else is possible), loses nothing it had committed,
and recovers by itself.

Related faults tested elsewhere: a dead upstream with serve-stale (test_stale.py), failover and
no reachable upstream (test_ops.py), MISP unreachable or broken keeps the last good indicators
(test_intel.py::test_pull_errors_keep_last_good_and_recover), kill -9 during a MISP push
(test_intel.py::test_kill9_during_large_push_keeps_every_acknowledged_event), a hostile list
keeps the previous version (test_policy.py::test_hostile_list_keeps_previous_version).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

import harness
from harness import LOOPBACK, ZONE, metric_sum, parse_prometheus
from test_policy import Lists, ede, pknot, q, start, wait_until  # noqa: F401  (pknot is a fixture)

Z = ZONE


def misbehave(mode: str):
    """The replies of an upstream that misbehaves in one way."""

    def reply(wire: bytes) -> list[bytes]:
        q = dns.message.from_wire(wire)
        if mode == "slow":
            time.sleep(1.0)  # beyond the 300 ms attempt timeout
            return [dns.message.make_response(q).to_wire()]
        if mode == "junk":
            return [os.urandom(40)]
        if mode == "truncated":
            return [wire[:2] + b"\x81\x80" + b"\x00\x01\x00\x01"]  # right ID, a header cut short
        if mode == "other-question":
            other = dns.message.make_query("elsewhere.example.", "A")
            other.id = q.id
            return [dns.message.make_response(other).to_wire()]
        raise AssertionError(mode)

    return reply


@pytest.mark.parametrize("mode", ["slow", "junk", "truncated", "other-question"])
def test_bad_upstream_gives_servfail_with_ede_and_a_good_one_takes_over(bulwark_factory, knot, mode):
    bad = harness.UDPResponder(misbehave(mode))
    cfg = "upstream:\n  timeout-ms: 300\n  max-attempts: 2\n"
    try:
        # Alone, the bad upstream gives SERVFAIL with EDE 22 or 23, quickly, and Bulwark lives on.
        b = bulwark_factory([f"{LOOPBACK}:{bad.port}"], config=cfg)
        for i in range(3):
            started = time.monotonic()
            r = dns.query.udp(dns.message.make_query(f"x{i}.{Z}", "A", use_edns=0), LOOPBACK, port=b.port, timeout=5)
            assert r.rcode() == dns.rcode.SERVFAIL and not r.answer, r
            assert ede(r)[0] in (22, 23), ede(r)
            assert time.monotonic() - started < 2.5
        assert b.alive() and len(bad.queries) >= 1
        m = parse_prometheus(b.metrics_text()[0])
        assert metric_sum(m, "bulwark_upstream_timeouts_total") + metric_sum(m, "bulwark_upstream_errors_total") >= 1
        # With a good upstream besides it, every query is answered.
        b2 = bulwark_factory([f"{LOOPBACK}:{bad.port}", f"{LOOPBACK}:{knot.port}"], config=cfg)
        for i in range(5):
            r = dns.query.udp(dns.message.make_query(f"n{i}.{Z}", "A"), LOOPBACK, port=b2.port, timeout=5)
            assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), r
        assert b2.alive()
    finally:
        bad.close()


def big_list(path: Path, n: int) -> None:
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"n{i}.bulk.example\n")
        f.write(f"phish.{Z}\n")


def test_kill9_while_the_snapshot_is_written_then_a_clean_restart(bulwark_factory, pknot, tmp_path):
    l = Lists()
    data = tmp_path / "data"
    try:
        big_list(l.dir / "phishing.txt", 300_000)
        # Kill at moments spread over start-up: build, snapshot write, serving.
        for delay in (0.3, 0.6, 0.9, 1.2, 1.6, 2.2):
            b = start(bulwark_factory, pknot, l, data_dir=data)
            time.sleep(delay)
            b.proc.send_signal(signal.SIGKILL)
            b.proc.wait(timeout=10)
        # A write cut short leaves a temporary file; plant one too, so that the check is certain.
        (data / "policy.snapshot.tmp-12345").write_bytes(b"half a snapshot")
        b = start(bulwark_factory, pknot, l, data_dir=data)
        r = q(b, f"www.phish.{Z}")
        assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15
        assert q(b, f"n299999.bulk.example.").rcode() == dns.rcode.NXDOMAIN
        assert "removed an unfinished policy snapshot" in b.log_path.read_text()
        wait_until(lambda: not list(data.glob("policy.snapshot.tmp-*")), what="no leftovers")
        # A snapshot cut in half (a disk that lost its tail): refused, rebuilt from the sources.
        wait_until(lambda: (data / "policy.snapshot").exists(), what="snapshot written")
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait(timeout=10)
        snap = data / "policy.snapshot"
        snap.write_bytes(snap.read_bytes()[: snap.stat().st_size // 2])
        b = start(bulwark_factory, pknot, l, data_dir=data)
        assert q(b, f"www.phish.{Z}").rcode() == dns.rcode.NXDOMAIN
        assert "cannot use the persisted policy snapshot" in b.log_path.read_text()
    finally:
        l.close()


ADMIN = "FaultAdminKey0123456789abcdefghijklmnopq"


def test_full_disk_under_the_query_log_keeps_answering(bulwark_factory, knot):
    """The data directory on a 4 MiB tmpfs of its own (a private mount namespace, as root):
    filled up while a tenant logs its queries. Queries are still answered, the failure is
    logged, and once there is room again the log is written again."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        harness.missing_peer("root with unshare/nsenter (for a small tmpfs in a private mount namespace)")
    config = f"""
tenants:
  - {{name: town, parent: protective, networks: [127.0.0.0/8], log-queries: true}}
intel:
  keys:
    - {{name: admin, org: CERT, role: admin, key: "{ADMIN}"}}
"""
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=config, start=False)
    data = b.dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    b.args = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              f'mount -t tmpfs -o size=4m tmpfs "{data}" && exec "$0" "$@"', *b.args]
    b.start()
    fill = data / "fill"
    subprocess.run(["nsenter", "-t", str(b.proc.pid), "-m", "sh", "-c", f'cat /dev/zero > "{fill}"'], capture_output=True, timeout=30)
    df = subprocess.run(["nsenter", "-t", str(b.proc.pid), "-m", "df", "-k", str(data)], capture_output=True, text=True, timeout=10).stdout
    assert " 100% " in df or "\t100%" in df or "100%" in df, df
    # Queries while the disk is full: every one answered.
    for i in range(40):
        r = dns.query.udp(dns.message.make_query(f"full{i}.{Z}", "A"), LOOPBACK, port=b.port, timeout=5)
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    wait_until(lambda: "cannot write the query log" in b.log_path.read_text(), what="the failed write logged")
    assert b.alive()
    # Room again: the next queries are logged.
    subprocess.run(["nsenter", "-t", str(b.proc.pid), "-m", "rm", "-f", str(fill)], check=True, timeout=10)
    for i in range(5):
        dns.query.udp(dns.message.make_query(f"again{i}.{Z}", "A"), LOOPBACK, port=b.port, timeout=5)

    def logged() -> bool:
        import urllib.request

        req = urllib.request.Request(f"http://{LOOPBACK}:{b.metrics_port}/api/v1/tenants/town/queries?limit=100", headers={"Authorization": ADMIN})
        with urllib.request.urlopen(req, timeout=5) as resp:
            names = {e["name"] for e in json.loads(resp.read())["entries"]}
        return all(f"again{i}.{Z}" in names for i in range(5))

    wait_until(logged, timeout=15, what="queries logged again after the disk had room")
