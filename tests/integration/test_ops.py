"""Operating Bulwark: CLI, config file and environment, metrics, signals,
IPv6 listeners, threads, upstream failover, resolv.conf default."""

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.rcode
import pytest

import harness
from harness import ZONE, make_query, metric_sum, parse_prometheus, rrsets, tcp, udp

# ---------------------------------------------------------------------------
# CLI


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["serve", "--help"]], ids=["version", "help", "serve-help"])
def test_cli_info_flags_exit_0(bulwark_bin, args):
    out = subprocess.run([str(bulwark_bin), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert text.strip(), "prints something"
    if args[-1] == "--help":
        assert "serve" in text or "--listen" in text


def test_unknown_flag_fails(bulwark_bin):
    out = subprocess.run([str(bulwark_bin), "serve", "--no-such-flag"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode != 0


# ---------------------------------------------------------------------------
# Signals


def _sigterm_and_wait(b, limit: float) -> float:
    t0 = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    try:
        rc = b.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("bulwark still running 15 s after SIGTERM")
    took = time.monotonic() - t0
    assert rc == 0, f"exit code {rc} after SIGTERM"
    assert took < limit, f"took {took:.1f} s to exit after SIGTERM (limit {limit} s)"
    return took


def test_sigterm_exits_0_promptly(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"])
    assert udp(make_query(f"www.{ZONE}", "A"), b.port).rcode() == dns.rcode.NOERROR
    assert tcp(make_query(f"www.{ZONE}", "A"), b.port).rcode() == dns.rcode.NOERROR
    _sigterm_and_wait(b, 3.0)
    assert harness.udp_raw(make_query(f"www.{ZONE}", "A").to_wire(), b.port, timeout=0.5) is None


def test_sigterm_with_idle_tcp_client(bulwark_factory, knot):
    # An idle TCP client has nothing in flight: it must not hold up shutdown
    # for the whole drain timeout.
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"])
    idle = socket.create_connection((harness.LOOPBACK, b.port), timeout=5)
    try:
        time.sleep(0.2)
        _sigterm_and_wait(b, 3.0)
    finally:
        idle.close()


def test_sigint_exits(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"])
    b.proc.send_signal(signal.SIGINT)
    try:
        rc = b.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("bulwark still running 10 s after SIGINT")
    assert rc in (0, 130, -signal.SIGINT)


# ---------------------------------------------------------------------------
# Metrics


def test_metrics_prometheus_text(bulwark, knot):
    base_text, _ = bulwark.metrics_text()
    base = parse_prometheus(base_text)
    name = f"n2.{ZONE}"
    for _ in range(3):
        assert udp(make_query(name, "A"), bulwark.port).rcode() == dns.rcode.NOERROR
    assert tcp(make_query(name, "A"), bulwark.port).rcode() == dns.rcode.NOERROR
    assert udp(make_query(f"nx-metrics.{ZONE}", "A"), bulwark.port).rcode() == dns.rcode.NXDOMAIN

    text, ctype = bulwark.metrics_text()
    assert ctype.startswith("text/plain"), ctype
    for metric in ("bulwark_queries_total", "bulwark_cache_hits_total", "bulwark_cache_misses_total", "bulwark_upstream_latency_seconds"):
        assert metric in text, f"{metric} missing from /metrics"
    assert "# TYPE bulwark_upstream_latency_seconds histogram" in text
    s = parse_prometheus(text)

    def delta(metric, **labels):
        return metric_sum(s, metric, **labels) - metric_sum(base, metric, **labels)

    assert delta("bulwark_queries_total", transport="udp", rcode="NOERROR") >= 3
    assert delta("bulwark_queries_total", transport="tcp", rcode="NOERROR") >= 1
    assert delta("bulwark_queries_total", transport="udp", rcode="NXDOMAIN") >= 1
    assert delta("bulwark_cache_hits_total") >= 3, "3 of the 4 queries for n2 were cache hits"
    assert delta("bulwark_cache_misses_total") >= 2
    assert metric_sum(s, "bulwark_upstream_latency_seconds_count") >= 2
    assert any(n == "bulwark_upstream_latency_seconds_bucket" and l.get("le") == "+Inf" for n, l, _ in s)


def test_metrics_404_elsewhere(bulwark):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{harness.LOOPBACK}:{bulwark.metrics_port}/no-such-page", timeout=5)
    assert e.value.code == 404


# ---------------------------------------------------------------------------
# Listeners, threads, upstreams


def test_ipv6_listener(bulwark_factory, knot):
    if not harness.ipv6_loopback_available():
        pytest.skip("::1 not available on this machine")
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], host="::1")
    want = udp(make_query(f"www.{ZONE}", "AAAA"), knot.port)
    for send in (udp, tcp):
        r = send(make_query(f"www.{ZONE}", "AAAA"), b.port, host="::1")
        assert r.rcode() == dns.rcode.NOERROR
        assert rrsets(r.answer) == rrsets(want.answer)


def test_two_listeners_v4_and_v6(bulwark_factory, knot):
    if not harness.ipv6_loopback_available():
        pytest.skip("::1 not available on this machine")
    port = harness.free_port()
    for _ in range(20):  # the same port free on both families
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6, socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t6:
                s6.bind(("::1", port))
                t6.bind(("::1", port))
            break
        except OSError:
            port = harness.free_port()
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], start=False, listen=[f"127.0.0.1:{port}", f"[::1]:{port}"])
    b.port = port
    b.start()
    for host in ("127.0.0.1", "::1"):
        assert udp(make_query(f"www.{ZONE}", "A"), port, host=host).rcode() == dns.rcode.NOERROR
        assert tcp(make_query(f"www.{ZONE}", "A"), port, host=host).rcode() == dns.rcode.NOERROR


def test_two_threads_answer_a_burst(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], extra_args=["--threads", "2"])
    names = [f"n{i}.{ZONE}" for i in range(10, 30)]

    def one(i):
        name = names[i % len(names)]
        r = udp(make_query(name, "A"), b.port, timeout=5)
        return r.rcode(), name, [rd.address for rd in r.answer[0]] if r.answer else []

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(one, range(400)))
    for rcode, name, addrs in results:
        assert rcode == dns.rcode.NOERROR
        i = int(name.split(".")[0][1:])
        assert addrs == [f"198.51.100.{i + 1}"]


def test_dead_upstream_fails_over(bulwark_factory, knot):
    dead = harness.free_port()  # nothing listens there
    b = bulwark_factory([f"{harness.LOOPBACK}:{dead}", f"{harness.LOOPBACK}:{knot.port}"], config="upstream:\n  timeout-ms: 500\n")
    for i in range(30, 36):
        r = udp(make_query(f"n{i}.{ZONE}", "A"), b.port, timeout=8)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.answer


def test_no_upstream_reachable_servfail(bulwark_factory):
    dead = harness.free_port()
    b = bulwark_factory([f"{harness.LOOPBACK}:{dead}"], config="upstream:\n  timeout-ms: 500\n")
    r = udp(make_query(f"www.{ZONE}", "A"), b.port, timeout=8)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert b.alive()


# ---------------------------------------------------------------------------
# Config file and environment


def test_config_file_only(bulwark_factory, knot):
    port, mport = harness.free_port(), harness.free_port()
    cfg = f"""\
listen:
  - "127.0.0.1:{port}"
upstreams:
  - "127.0.0.1:{knot.port}"
metrics:
  listen: "127.0.0.1:{mport}"
cache:
  max-bytes: 16777216
  min-ttl: 0
  max-ttl: 86400
"""
    b = bulwark_factory(None, start=False, config=cfg, use_cli_defaults=False)
    b.port, b.metrics_port = port, mport
    b.start()
    r = udp(make_query(f"www.{ZONE}", "A"), port)
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    text, _ = b.metrics_text()
    assert "bulwark_queries_total" in text


def test_environment_only(bulwark_factory, knot):
    port, mport = harness.free_port(), harness.free_port()
    env = {
        "BULWARK_LISTEN": f"127.0.0.1:{port}",
        "BULWARK_UPSTREAM": f"127.0.0.1:{knot.port}",
        "BULWARK_METRICS": f"127.0.0.1:{mport}",
        "BULWARK_THREADS": "1",
    }
    b = bulwark_factory(None, start=False, env=env, use_cli_defaults=False)
    b.port, b.metrics_port = port, mport
    b.start()
    r = udp(make_query(f"www.{ZONE}", "A"), port)
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    text, _ = b.metrics_text()
    assert "bulwark_queries_total" in text


def test_json_logs(bulwark_factory, knot):
    b = bulwark_factory([f"{harness.LOOPBACK}:{knot.port}"], extra_args=["--log-format", "json", "--log-level", "info"])
    udp(make_query(f"www.{ZONE}", "A"), b.port)
    assert b.stop() == 0
    lines = [l for l in b.log_path.read_text().splitlines()[1:] if l.strip()]  # line 0 is our "$ command"
    assert lines, "expected at least a startup log line"
    for line in lines:
        json.loads(line)


# ---------------------------------------------------------------------------
# No --upstream: forward to the nameservers of /etc/resolv.conf. Run inside a
# private network namespace (loopback only), so nothing can leave the machine
# whatever resolv.conf says.


def _run_in_netns(mode: str, bulwark_bin: Path, knotd: str) -> dict:
    unshare = harness.find_executable("unshare")
    if not unshare or os.geteuid() != 0:
        msg = "needs root and unshare(1) for a private network namespace"
        if harness.ON_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    probe = subprocess.run([unshare, "--net", "--mount", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        msg = f"unshare --net --mount not permitted here: {probe.stderr.decode()}"
        if harness.ON_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    out = Path(tempfile.mkdtemp(prefix="bk-ns-")) / "result.json"
    child = Path(__file__).resolve().parent / "netns_child.py"
    try:
        p = subprocess.run(
            [unshare, "--net", "--mount", sys.executable, str(child), mode, str(bulwark_bin), knotd, str(out)],
            capture_output=True, text=True, timeout=120,
        )
        assert p.returncode == 0, p.stdout + p.stderr
        return json.loads(out.read_text())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def test_default_upstream_from_resolv_conf(bulwark_bin, knotd_path):
    res = _run_in_netns("knot", bulwark_bin, knotd_path)
    log = res.get("log", "")
    assert res.get("started"), f"did not start: {res.get('start_error')}\n{log}"
    assert res.get("rcode") == "NOERROR", f"{res}\n{log}"
    assert res.get("answer") == ["192.0.2.1", "192.0.2.2"], f"{res}\n{log}"
    assert res.get("exit_code") == 0, log


def test_no_upstream_unreachable_resolv_conf_does_not_crash(bulwark_bin, knotd_path):
    res = _run_in_netns("bare", bulwark_bin, knotd_path)
    log = res.get("log", "")
    assert res.get("started"), f"did not start: {res.get('start_error')}\n{log}"
    assert res.get("alive_after_query"), f"crashed after a query: {res}\n{log}"
    assert res.get("rcode") in ("SERVFAIL", "REFUSED", "NOERROR", "NXDOMAIN"), f"{res}\n{log}"
    assert res.get("exit_code") == 0, log
