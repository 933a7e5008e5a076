"""Protective policy end to end: lists of every format, the public profiles on
their own listeners, CNAME and answer-address checks against a real knotd
zone, EDE codes and text, audit mode, hostile lists, live reloads (files, HTTP
with ETag, the delta through the CLI) and the persisted snapshot."""

from __future__ import annotations

import http.server
import json
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import dns.edns
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import harness
from harness import LOOPBACK, ZONE, make_query, metric_sum, parse_prometheus, udp, tcp

Z = ZONE  # "test.bulwark."

# Records the policy tests need in the upstream zone.
EXTRA = [
    "phish IN A 192.0.2.31",
    "www.phish IN A 192.0.2.32",
    "ok.phish IN A 192.0.2.33",
    "cdn IN A 192.0.2.34",
    "evil.cdn IN A 192.0.2.35",
    "cloak IN CNAME x.tracker",
    "x.tracker IN A 192.0.2.36",
    "deep IN CNAME cloak",
    "badhost IN A 203.0.113.66",
    "badhost6 IN AAAA 2001:db8:bad::1",
    "goodhost IN A 203.0.114.1",
    "adult IN A 192.0.2.37",
    "secret IN A 192.0.2.38",
    "trial IN A 192.0.2.39",
    "nodata-rpz IN A 192.0.2.40",
    "drop-rpz IN A 192.0.2.41",
    "pass.phish IN A 192.0.2.42",
    "local-rpz IN A 192.0.2.43",
    "live IN A 192.0.2.44",
    "later IN A 192.0.2.45",
    "cli IN A 192.0.2.46",
    "fetched IN A 192.0.2.47",
]
for i in range(40):
    EXTRA.append(f"load{i} IN A 192.0.2.{100 + i}")


def policy_zone() -> str:
    return harness.zone_text() + "\n".join(EXTRA) + "\n"


@pytest.fixture(scope="module")
def pknot(knotd_path, knotc_path):
    k = harness.Knot(knotd_path, knotc_path, zone=policy_zone()).start()
    yield k
    k.close()


class Lists:
    """The list files of one Bulwark instance."""

    def __init__(self) -> None:
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="bk-lists-"))
        self.write("phishing.txt", f"# CERT-XX phishing feed\nphish.{Z}\n\n*.wild.{Z}\nlive-not-yet.invalid\n")
        self.write("hosts", f"0.0.0.0 adult.{Z}\n127.0.0.1 localhost\n")
        self.write("ads.txt", f"! adblock list\n||tracker.{Z.rstrip('.')}^\n@@||ok.tracker.{Z.rstrip('.')}^\n")
        self.write(
            "threats.rpz",
            "\n".join(
                [
                    "$TTL 300",
                    "@ SOA localhost. root.localhost. 1 3600 600 86400 60",
                    "@ NS localhost.",
                    f"nodata-rpz.{Z} CNAME *.",
                    f"drop-rpz.{Z} CNAME rpz-drop.",
                    f"pass.phish.{Z} CNAME rpz-passthru.",
                    f"local-rpz.{Z} A 192.0.2.99",
                    f"cdn.{Z} CNAME .",
                    f"*.cdn.{Z} CNAME .",
                    "24.0.113.0.203.rpz-ip CNAME .",
                    "48.zz.bad.db8.2001.rpz-ip CNAME .",
                ]
            )
            + "\n",
        )
        # Allow list: a MISP warninglist (exact names), and a plain allow list (subtrees).
        self.write(
            "warninglist.json",
            json.dumps({"name": "test popular", "version": 1, "type": "hostname", "list": [f"cdn.{Z.rstrip('.')}"]}),
        )
        self.write("allow.txt", f"ok.phish.{Z}\n")
        self.write("secret.txt", f"secret.{Z}\n")
        self.write("trial.txt", f"trial.{Z}\n")

    def write(self, name: str, text: str | bytes) -> Path:
        p = self.dir / name
        tmp = self.dir / (name + ".tmp")
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text)
        tmp.replace(p)
        return p

    def config(self, ports: dict[str, int], extra_sources: str = "") -> str:
        d = self.dir
        return f"""
policy:
  block-ttl: 60
  file-check-ms: 200
  sinkhole:
    ipv4: 192.0.2.250
  sources:
    - {{name: cert-xx, path: {d}/phishing.txt, format: domains, categories: [phishing], source: CERT-XX}}
    - {{name: adult-hosts, path: {d}/hosts, format: hosts, categories: [adult]}}
    - {{name: ads, path: {d}/ads.txt, format: adblock, categories: [ads-tracking]}}
    - {{name: threats-rpz, path: {d}/threats.rpz, format: rpz, categories: [malware], source: rpz-feed}}
    - {{name: popular, path: {d}/warninglist.json, format: warninglist}}
    - {{name: mine, path: {d}/allow.txt, format: domains, allow: true}}
    - {{name: secret, path: {d}/secret.txt, format: domains, categories: [malware], tlp: amber, source: SECRET-ORG}}
    - {{name: trial, path: {d}/trial.txt, format: domains, categories: [malware], audit: true}}
{extra_sources}
  profiles:
    - {{name: unfiltered, listen: ["{LOOPBACK}:{ports['unfiltered']}"]}}
    - {{name: protective-child, listen: ["{LOOPBACK}:{ports['child']}"]}}
    - {{name: protective-ads, listen: ["{LOOPBACK}:{ports['ads']}"]}}
    - {{name: sinkholed, categories: [threats], action: sinkhole, listen: ["{LOOPBACK}:{ports['sinkhole']}"]}}
"""

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def start(bulwark_factory, knot, lists: Lists, extra_sources: str = "", data_dir: Path | None = None):
    ports = {k: harness.free_port() for k in ("unfiltered", "child", "ads", "sinkhole")}
    args = ["--data", str(data_dir)] if data_dir else []
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=lists.config(ports, extra_sources), extra_args=args)
    b.ports = ports
    return b


@pytest.fixture(scope="module")
def lists():
    l = Lists()
    yield l
    l.close()


@pytest.fixture
def pb(bulwark_factory, pknot, lists):
    return start(bulwark_factory, pknot, lists)


def q(b, name: str, rdtype: str = "A", port: int | None = None, **kw) -> dns.message.Message:
    return udp(make_query(name, rdtype, use_edns=0, **kw), port or b.port)


def ede(msg: dns.message.Message) -> tuple[int, str] | None:
    for opt in msg.options:
        if int(opt.otype) == 15:
            return int(opt.code), opt.text or ""
    return None


def wait_until(fn, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"{what} not reached within {timeout} s (last: {last!r})")


# ---------------------------------------------------------------------------
# Names


def test_blocked_name_and_subdomains_nxdomain_with_ede(pb):
    for name in (f"phish.{Z}", f"www.phish.{Z}", f"a.b.c.phish.{Z}"):
        r = q(pb, name)
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        code, text = ede(r)
        assert code == 15
        assert text.startswith("phishing; source=CERT-XX; id=cert-xx:2"), text
        # A short SOA-based negative TTL so an unblock reaches downstream caches quickly.
        soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
        assert soa and soa[0].ttl == 60 and soa[0][0].minimum == 60
        assert soa[0].name.to_text() == f"phish.{Z}"
    # Over TCP too.
    assert tcp(make_query(f"phish.{Z}", "A", use_edns=0), pb.port).rcode() == dns.rcode.NXDOMAIN
    # The sibling that is not listed resolves.
    assert q(pb, f"www.{Z}").rcode() == dns.rcode.NOERROR


def test_wildcard_rule_covers_only_subdomains(pb):
    # `*.wild` in a domain list: below only. wild.test.bulwark itself is not in the zone → NXDOMAIN from upstream without EDE.
    r = q(pb, f"x.wild.{Z}")
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15
    r = q(pb, f"wild.{Z}")
    assert ede(r) is None


def test_allow_list_beats_block(pb):
    r = q(pb, f"ok.phish.{Z}")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer and r.answer[0][0].address == "192.0.2.33"


def test_warninglist_allows_exact_name_only(pb):
    # The RPZ blocks cdn and *.cdn; the warninglist entry `cdn` shields only cdn itself.
    r = q(pb, f"cdn.{Z}")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "192.0.2.34"
    r = q(pb, f"evil.cdn.{Z}")
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15


def test_rpz_actions(pb):
    r = q(pb, f"nodata-rpz.{Z}")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and ede(r)[0] == 15
    with pytest.raises(Exception):
        udp(make_query(f"drop-rpz.{Z}", "A"), pb.port, timeout=1.0)
    r = q(pb, f"pass.phish.{Z}")  # rpz-passthru beats the phishing list
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "192.0.2.42"
    r = q(pb, f"local-rpz.{Z}")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rr[0].address for rr in r.answer] == ["192.0.2.99"]
    assert r.answer[0].name.to_text() == f"local-rpz.{Z}"


def test_tlp_amber_source_is_withheld(pb):
    r = q(pb, f"secret.{Z}")
    code, text = ede(r)
    assert code == 15
    assert "SECRET-ORG" not in text and "secret" not in text, text
    assert text.startswith("malware; id="), text


def test_audit_mode_counts_but_does_not_block(pb):
    r = q(pb, f"trial.{Z}")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "192.0.2.39"
    text, _ = pb.metrics_text()
    assert metric_sum(parse_prometheus(text), "bulwark_policy_audited_total") >= 1
    assert "policy audit match" in pb.log_path.read_text()


# ---------------------------------------------------------------------------
# Answers: CNAME targets and addresses


def test_cname_cloaking_blocked_for_ads_profile_only(pb):
    ads = pb.ports["ads"]
    for name in (f"cloak.{Z}", f"deep.{Z}"):
        r = q(pb, name, port=ads)
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        code, text = ede(r)
        assert code == 17 and text.startswith("ads-tracking; source=ads"), text
        # The protective profile does not filter ads: same cached answer, passed through.
        r = q(pb, name)
        assert r.rcode() == dns.rcode.NOERROR and r.answer
    # The allow rule of the adblock list (@@) keeps its subtree.
    assert q(pb, f"ok.tracker.{Z}", port=ads).rcode() == dns.rcode.NXDOMAIN  # not in the zone, but not blocked:
    assert ede(q(pb, f"ok.tracker.{Z}", port=ads)) is None


def test_answer_addresses_in_blocked_prefixes(pb):
    r = q(pb, f"badhost.{Z}")
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15
    assert "malware" in ede(r)[1]
    r = q(pb, f"badhost6.{Z}", "AAAA")
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15
    r = q(pb, f"goodhost.{Z}")
    assert r.rcode() == dns.rcode.NOERROR


# ---------------------------------------------------------------------------
# Profiles


def test_profiles_on_their_own_listeners(pb):
    adult = f"adult.{Z}"
    assert q(pb, adult).rcode() == dns.rcode.NOERROR  # protective: content not filtered
    r = q(pb, adult, port=pb.ports["child"])
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r) == (17, ede(r)[1]) and ede(r)[1].startswith("adult")
    # Unfiltered: nothing is blocked.
    for name in (f"phish.{Z}", f"badhost.{Z}", adult):
        r = q(pb, name, port=pb.ports["unfiltered"])
        assert r.rcode() == dns.rcode.NOERROR and ede(r) is None, name


def test_sinkhole_profile(pb):
    r = q(pb, f"phish.{Z}", port=pb.ports["sinkhole"])
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].address == "192.0.2.250" and r.answer[0].ttl == 60
    assert ede(r)[0] == 15
    r = q(pb, f"phish.{Z}", "AAAA", port=pb.ports["sinkhole"])
    # Default IPv6 sinkhole is ::
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "::"
    r = q(pb, f"phish.{Z}", "MX", port=pb.ports["sinkhole"])
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and ede(r)[0] == 15


def test_metrics_count_blocks(pb):
    q(pb, f"phish.{Z}")
    q(pb, f"badhost.{Z}")
    samples = parse_prometheus(pb.metrics_text()[0])
    assert metric_sum(samples, "bulwark_policy_blocked_total", stage="qname") >= 1
    assert metric_sum(samples, "bulwark_policy_blocked_total", stage="answer") >= 1
    assert metric_sum(samples, "bulwark_policy_blocked_by_category_total", category="phishing") >= 1
    assert metric_sum(samples, "bulwark_policy_source_rules", list="cert-xx") == 3
    assert metric_sum(samples, "bulwark_policy_build_seconds") > 0


# ---------------------------------------------------------------------------
# Explain


def test_policy_check_cli(bulwark_bin, pb, lists):
    cfg = pb.dir / "bulwark.yaml"
    out = subprocess.run(
        [str(bulwark_bin), "policy", "check", f"www.phish.{Z}", "--json", "--config", str(cfg), "--data", str(pb.dir / "data")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    x = json.loads(out.stdout)
    assert x["verdict"] == "blocked" and x["answer"] == "nxdomain"
    assert x["deciding"]["list"] == "cert-xx"
    assert x["deciding"]["location"] == f"{lists.dir}/phishing.txt:2"
    assert x["deciding"]["categories"] == ["phishing"]
    out = subprocess.run(
        [str(bulwark_bin), "policy", "check", f"adult.{Z}", "--profile", "protective", "--config", str(cfg)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "not-listed" in out.stdout or "ignored: categories not in profile" in out.stdout
    # The running server answers the same question.
    out = subprocess.run(
        [str(bulwark_bin), "policy", "check", f"evil.cdn.{Z}", "--json", "--server", f"{LOOPBACK}:{pb.metrics_port}"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    x = json.loads(out.stdout)
    assert x["verdict"] == "blocked" and x["deciding"]["rule"] == f"*.cdn.{Z}"
    rules = {r["list"]: r["effect"] for r in x["rules"]}
    assert rules["threats-rpz"] == "block"


# ---------------------------------------------------------------------------
# Live updates


def test_file_change_applies_without_restart(bulwark_factory, pknot):
    l = Lists()
    try:
        b = start(bulwark_factory, pknot, l)
        assert q(b, f"live.{Z}").rcode() == dns.rcode.NOERROR
        l.write("phishing.txt", f"phish.{Z}\nlive.{Z}\n")
        wait_until(lambda: q(b, f"live.{Z}").rcode() == dns.rcode.NXDOMAIN, what="live blocked")
        l.write("phishing.txt", f"phish.{Z}\n")
        wait_until(lambda: q(b, f"live.{Z}").rcode() == dns.rcode.NOERROR, what="live unblocked")
    finally:
        l.close()


def test_hostile_list_keeps_previous_version(bulwark_factory, pknot):
    l = Lists()
    try:
        b = start(bulwark_factory, pknot, l)
        assert q(b, f"phish.{Z}").rcode() == dns.rcode.NXDOMAIN
        import random

        rnd = random.Random(7)
        junk = [
            bytes(rnd.randrange(256) for _ in range(200_000)),  # binary junk
            b"a" * (10 << 20),  # a 10 MB line
            b"\x00\x01\x02 not a name!!\n" * 1000 + b"\xff\xfe" * 100,  # invalid names
        ]
        gen = lambda: metric_sum(parse_prometheus(b.metrics_text()[0]), "bulwark_policy_generation")
        for blob in junk:
            before = gen()
            l.write("phishing.txt", blob)
            wait_until(lambda: gen() > before, what="reload after junk")
            assert b.alive()
            r = q(b, f"www.phish.{Z}")
            assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15, "the last good version stays in force"
            samples = parse_prometheus(b.metrics_text()[0])
            assert metric_sum(samples, "bulwark_policy_source_stale", list="cert-xx") == 1
        status = subprocess.run(
            [str(b.binary), "policy", "status", "--server", f"{LOOPBACK}:{b.metrics_port}"], capture_output=True, text=True, timeout=60
        )
        s = json.loads(status.stdout)
        src = [x for x in s["sources"] if x["name"] == "cert-xx"][0]
        assert src["usingLastGood"] and "rejected" in src["lastError"]
        assert any(":1:" in i for i in src["issues"]), src["issues"]
        # A good file again replaces it.
        l.write("phishing.txt", f"later.{Z}\n")
        wait_until(lambda: q(b, f"later.{Z}").rcode() == dns.rcode.NXDOMAIN, what="good list in force")
        assert q(b, f"phish.{Z}").rcode() == dns.rcode.NOERROR
    finally:
        l.close()


def test_cli_add_and_remove_rule_apply_at_once(bulwark_factory, pknot, lists):
    b = start(bulwark_factory, pknot, lists)
    server = f"{LOOPBACK}:{b.metrics_port}"
    name = f"cli.{Z}"
    # Cached and stamped clear by the policy memo on whichever threads answer (each query
    # comes from a new source port).
    for _ in range(8):
        assert q(b, name).rcode() == dns.rcode.NOERROR
    out = subprocess.run([str(b.binary), "policy", "add", name, "--server", server], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    # Applied before the command returned: the very next query is blocked (EDE names the local list).
    r = q(b, f"www.{name}")
    assert r.rcode() == dns.rcode.NXDOMAIN and ede(r) == (15, ede(r)[1]) and "local-block" in ede(r)[1]
    # The cached name itself too: its stamp belongs to the engine before the change.
    for _ in range(8):
        assert q(b, name).rcode() == dns.rcode.NXDOMAIN
    # A client without EDNS gets the block without an OPT record (no EDE it could not read).
    plain = udp(make_query(name, "A"), b.port)
    assert plain.rcode() == dns.rcode.NXDOMAIN and plain.edns < 0 and plain.authority
    out = subprocess.run([str(b.binary), "policy", "remove", name, "--server", server], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert q(b, name).rcode() == dns.rcode.NOERROR
    # Allow through the delta beats a list's block.
    out = subprocess.run(
        [str(b.binary), "policy", "add", f"phish.{Z}", "--action", "allow", "--server", server], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert q(b, f"www.phish.{Z}").rcode() == dns.rcode.NOERROR
    bad = subprocess.run([str(b.binary), "policy", "add", "x.test", "--list", "nope", "--server", server], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "no list named" in bad.stdout


def test_persisted_snapshot_protects_from_first_query(bulwark_factory, pknot, tmp_path):
    l = Lists()
    data = tmp_path / "data"
    try:
        b = start(bulwark_factory, pknot, l, data_dir=data)
        assert q(b, f"phish.{Z}").rcode() == dns.rcode.NXDOMAIN
        wait_until(lambda: (data / "policy.snapshot").exists(), what="snapshot written")
        b.stop()
        # The list is gone when the server comes back: the snapshot (then the last good copy) still blocks.
        (l.dir / "phishing.txt").unlink()
        b2 = start(bulwark_factory, pknot, l, data_dir=data)
        r = q(b2, f"www.phish.{Z}")
        assert r.rcode() == dns.rcode.NXDOMAIN and ede(r)[0] == 15
        assert "policy restored from the last snapshot" in b2.log_path.read_text()
        time.sleep(1.0)  # after the rebuild from sources
        assert q(b2, f"www.phish.{Z}").rcode() == dns.rcode.NXDOMAIN
    finally:
        l.close()


class _ListHandler(http.server.BaseHTTPRequestHandler):
    body = b""
    etag = '"v1"'
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append({"inm": self.headers.get("If-None-Match"), "ims": self.headers.get("If-Modified-Since")})
        if self.headers.get("If-None-Match") == type(self).etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", type(self).etag)
        self.send_header("Content-Length", str(len(type(self).body)))
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *a):
        pass


def test_http_source_with_etag(bulwark_factory, pknot):
    _ListHandler.body = f"fetched.{Z}\n".encode()
    _ListHandler.seen = []
    srv = http.server.ThreadingHTTPServer((LOOPBACK, 0), _ListHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    l = Lists()
    try:
        url = f"http://{LOOPBACK}:{srv.server_address[1]}/list.txt"
        extra = f"    - {{name: remote, url: '{url}', format: domains, categories: [malware], refresh: 3600}}\n"
        b = start(bulwark_factory, pknot, l, extra_sources=extra)
        wait_until(lambda: q(b, f"fetched.{Z}").rcode() == dns.rcode.NXDOMAIN, what="remote list in force")
        assert _ListHandler.seen[0]["inm"] is None
        b.proc.send_signal(signal.SIGHUP)  # reload: fetch again, conditionally
        wait_until(lambda: len(_ListHandler.seen) >= 2, what="second fetch")
        assert _ListHandler.seen[1]["inm"] == '"v1"'
        time.sleep(0.5)
        assert q(b, f"fetched.{Z}").rcode() == dns.rcode.NXDOMAIN, "304: the kept copy stays in force"
        # The server fails: the last good copy stays.
        srv.shutdown()
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert q(b, f"fetched.{Z}").rcode() == dns.rcode.NXDOMAIN
    finally:
        srv.server_close()
        l.close()


def test_reload_under_load_loses_no_query(bulwark_factory, pknot, tmp_path):
    dnsperf = harness.find_executable("dnsperf")
    if not dnsperf:
        if harness.ON_CI:
            pytest.fail("CI=true and dnsperf missing")
        pytest.skip("dnsperf missing")
    l = Lists()
    try:
        # A list big enough that a rebuild takes a while (about a second in a debug build).
        big = "".join(f"generated{i}.example{i % 100}.invalid\n" for i in range(50_000))
        l.write("phishing.txt", f"phish.{Z}\n" + big)
        b = start(bulwark_factory, pknot, l)
        qfile = tmp_path / "queries"
        lines = []
        for i in range(40):
            lines.append(f"load{i}.{Z} A")
            lines.append(f"phish.{Z} A")
        qfile.write_text("\n".join(lines) + "\n")
        for i in range(40):  # warm the cache
            q(b, f"load{i}.{Z}")
        gen = lambda: metric_sum(parse_prometheus(b.metrics_text()[0]), "bulwark_policy_generation")
        proc = subprocess.Popen(
            [dnsperf, "-s", LOOPBACK, "-p", str(b.port), "-d", str(qfile), "-l", "12", "-Q", "3000", "-t", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        time.sleep(1.0)
        reloads = 0
        for i in range(3):
            before = gen()
            l.write("phishing.txt", f"phish.{Z}\nextra{i}.{Z}\n" + big)
            wait_until(lambda: gen() > before, timeout=5.0, what=f"reload {i}")
            reloads += 1
            assert q(b, f"www.extra{i}.{Z}").rcode() == dns.rcode.NXDOMAIN
        out, _ = proc.communicate(timeout=60)
        assert reloads == 3
        assert "Queries lost:         0 " in out or "Queries lost: 0 " in out.replace("  ", " "), out
        completed = int(out.split("Queries completed:")[1].split()[0])
        assert completed > 10_000, out
    finally:
        l.close()
