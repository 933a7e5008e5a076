"""Tenants end to end: a five-level tree (eu > ministry > agency > region > town)
whose clients are told apart by their loopback source addresses, checked
through real DNS answers (dnspython, each client bound to its own 127.0.x.y)
and through the explanation the policy interface gives; a tenant-only listener
refuses everyone else with EDE 18 (Prohibited)."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

import harness
from harness import LOOPBACK, ZONE, make_query

Z = ZONE
NAMES = ["bad", "safe", "ads", "porn", "bet", "local", "leak", "intranet", "plain"]

# Client addresses per tenant (each tenant owns 127.0.<n>.0/24; 127.0.9.9 is nobody's).
CLIENT = {"eu": "127.0.1.5", "ministry": "127.0.2.5", "agency": "127.0.3.5", "region": "127.0.4.5", "town": "127.0.5.5", "agency2": "127.0.6.5"}
NOBODY = "127.0.9.9"


@pytest.fixture(scope="module")
def tknot(knotd_path, knotc_path):
    extra = "".join(f"{n} IN A 192.0.2.{60 + i}\n" for i, n in enumerate(NAMES))
    k = harness.Knot(knotd_path, knotc_path, zone=harness.zone_text() + extra).start()
    yield k
    k.close()


@pytest.fixture(scope="module")
def lists():
    d = Path(tempfile.mkdtemp(prefix="bk-tenant-lists-"))
    (d / "malware.txt").write_text(f"bad.{Z}\nsafe.{Z}\n")
    (d / "ads.txt").write_text(f"ads.{Z}\n")
    (d / "adult.txt").write_text(f"porn.{Z}\n")
    (d / "gambling.txt").write_text(f"bet.{Z}\n")
    (d / "tranco.json").write_text(json.dumps({"name": "popular", "version": 1, "type": "hostname", "list": [f"safe.{Z.rstrip('.')}"]}))
    (d / "agency-allow.txt").write_text(f"ads.{Z}\nbad.{Z}\nporn.{Z}\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def config(d: Path, tenant_port: int) -> str:
    return f"""
policy:
  tenant-listen: ["{LOOPBACK}:{tenant_port}"]
  sources:
    - {{name: malware, path: {d}/malware.txt, format: domains, categories: [malware], source: CERT-EU}}
    - {{name: ads, path: {d}/ads.txt, format: domains, categories: [ads-tracking]}}
    - {{name: adult, path: {d}/adult.txt, format: domains, categories: [adult]}}
    - {{name: gambling, path: {d}/gambling.txt, format: domains, categories: [gambling]}}
    - {{name: tranco, path: {d}/tranco.json, format: warninglist}}
    - {{name: agency-allow, path: {d}/agency-allow.txt, format: domains, allow: true, tenant: agency}}
tenants:
  - name: eu
    categories: [threats]
    networks: [127.0.1.0/24]
  - name: ministry
    parent: eu
    categories: [adult, ads-tracking]
    overridable: [ads-tracking]
    block: [leak.{Z}]
    networks: [127.0.2.0/24]
  - name: agency
    parent: ministry
    categories: [gambling]
    overridable: [gambling]
    networks: [127.0.3.0/24]
  - name: agency2
    parent: ministry
    networks: [127.0.6.0/24]
  - name: region
    parent: agency
    action: refused
    networks: [127.0.4.0/24]
  - name: town
    parent: region
    action: nxdomain
    block: [local.{Z}, safe.{Z}]
    allow: [bet.{Z}, intranet.{Z}]
    networks: [127.0.5.0/24, 127.0.5.128/25]
"""


@pytest.fixture(scope="module")
def tb(bulwark_bin, tknot, lists):
    tenant_port = harness.free_port()
    b = harness.Bulwark(bulwark_bin, [f"{LOOPBACK}:{tknot.port}"], config=config(lists, tenant_port))
    b.tenant_port = tenant_port
    b.start()
    yield b
    b.close()


def ask(b, name: str, source: str, port: int | None = None) -> dns.message.Message:
    q = make_query(f"{name}.{Z}", "A", use_edns=0)
    return dns.query.udp(q, LOOPBACK, port=port or b.port, source=source, timeout=5)


def outcome(m: dns.message.Message) -> str:
    codes = [int(o.code) for o in m.options if int(o.otype) == 15]
    rcode = dns.rcode.to_text(m.rcode())
    if not codes:
        return "resolved" if m.rcode() == dns.rcode.NOERROR and m.answer else rcode
    return f"{rcode}/{codes[0]}"


# What each tenant's clients get: resolved, or rcode/EDE.
EXPECTED = {
    "eu": {"bad": "NXDOMAIN/15", "safe": "resolved", "ads": "resolved", "porn": "resolved", "bet": "resolved", "local": "resolved", "leak": "resolved"},
    "ministry": {"bad": "NXDOMAIN/15", "ads": "NXDOMAIN/17", "porn": "NXDOMAIN/17", "bet": "resolved", "leak": "NXDOMAIN/15", "local": "resolved"},
    "agency": {"ads": "resolved", "porn": "NXDOMAIN/17", "bad": "NXDOMAIN/15", "bet": "NXDOMAIN/17", "leak": "NXDOMAIN/15"},
    "agency2": {"ads": "NXDOMAIN/17", "bet": "resolved", "leak": "NXDOMAIN/15"},
    # The region inherits everything and answers blocks with REFUSED (its own action).
    "region": {"ads": "resolved", "porn": "REFUSED/17", "bad": "REFUSED/15", "bet": "REFUSED/17", "safe": "resolved", "local": "resolved"},
    "town": {
        "bad": "NXDOMAIN/15",  # locked at the root: the agency's allow list cannot undo it
        "ads": "resolved",  # the ministry let descendants allow ads; the agency does
        "porn": "NXDOMAIN/17",  # adult is locked at the ministry
        "bet": "resolved",  # the agency let descendants allow gambling; the town does
        "local": "NXDOMAIN/15",  # the town's own block entries
        "safe": "NXDOMAIN/15",  # a child tightens what the root's warninglist allows
        "leak": "NXDOMAIN/15",
        "intranet": "resolved",
        "plain": "resolved",
    },
}


@pytest.mark.parametrize("tenant", list(EXPECTED))
def test_five_level_tree_through_dns(tb, tenant):
    got = {name: outcome(ask(tb, name, CLIENT[tenant])) for name in EXPECTED[tenant]}
    assert got == EXPECTED[tenant]


def test_unknown_client_gets_the_listener_profile(tb):
    # 127.0.9.9 belongs to nobody: the plain listener's profile (protective) applies.
    assert outcome(ask(tb, "bad", NOBODY)) == "NXDOMAIN/15"
    assert outcome(ask(tb, "porn", NOBODY)) == "resolved"
    assert outcome(ask(tb, "leak", NOBODY)) == "resolved"


def test_tenant_only_listener_refuses_strangers_with_ede_18(tb):
    r = ask(tb, "plain", NOBODY, port=tb.tenant_port)
    assert r.rcode() == dns.rcode.REFUSED
    assert [int(o.code) for o in r.options if int(o.otype) == 15] == [18]
    assert not r.answer
    # Over TCP as well, and a known client is served there.
    q = make_query(f"plain.{Z}", "A", use_edns=0)
    assert dns.query.tcp(q, LOOPBACK, port=tb.tenant_port, source=NOBODY, timeout=5).rcode() == dns.rcode.REFUSED
    assert outcome(ask(tb, "plain", CLIENT["town"], port=tb.tenant_port)) == "resolved"
    assert outcome(ask(tb, "porn", CLIENT["town"], port=tb.tenant_port)) == "NXDOMAIN/17"
    text, _ = tb.metrics_text()
    assert harness.metric_sum(harness.parse_prometheus(text), "bulwark_queries_refused_tenant_total") >= 2


def explain(b, name: str, profile: str) -> dict:
    qs = urllib.parse.urlencode({"name": f"{name}.{Z}", "profile": profile, "format": "json"})
    with urllib.request.urlopen(f"http://{LOOPBACK}:{b.metrics_port}/v1/policy/check?{qs}", timeout=5) as r:
        return json.loads(r.read())


def test_explain_names_the_deciding_level(tb):
    e = explain(tb, "porn", "town")
    assert e["verdict"] == "blocked" and e["decidedBy"] == "ministry"
    assert e["tenantPath"] == ["eu", "ministry", "agency", "region", "town"]
    effects = {r["list"]: r["effect"] for r in e["rules"]}
    assert effects["agency-allow"] == "allow (by agency)"
    assert effects["adult"].startswith("block (by ministry; not overridable below ministry")
    e = explain(tb, "ads", "town")
    assert e["verdict"] == "allowed" and e["decidedBy"] == "agency" and e["deciding"]["list"] == "agency-allow"
    e = explain(tb, "bet", "town")
    assert e["verdict"] == "allowed" and e["decidedBy"] == "town" and e["deciding"]["list"] == "tenants.allow"
    e = explain(tb, "bad", "town")
    assert e["verdict"] == "blocked" and e["decidedBy"] == "eu"
    e = explain(tb, "local", "region")
    assert e["verdict"] == "not-listed"
    assert e["rules"][0]["effect"] == "ignored: an entry of tenant town, not an ancestor"
    e = explain(tb, "ads", "eu")
    assert {r["list"]: r["effect"] for r in e["rules"]}["agency-allow"] == "ignored: a list of tenant agency, not an ancestor"


def test_bad_tenant_configs_are_refused_at_start(bulwark_bin, tmp_path):
    bad = {
        "cycle": "tenants:\n  - {name: a, parent: b}\n  - {name: b, parent: a}\n",
        "unknown parent": "tenants:\n  - {name: a, parent: nobody}\n",
        "host bits": "tenants:\n  - {name: a, networks: [10.1.2.3/16]}\n",
        "same network": "tenants:\n  - {name: a, networks: [10.1.0.0/16]}\n  - {name: b, networks: [10.1.0.0/16]}\n",
        "bad token": "tenants:\n  - {name: a, token: 'Has Space'}\n",
        "bad name": "tenants:\n  - {name: a, block: ['not a name..']}\n",
        "profile name": "tenants:\n  - {name: protective}\n",
        "profile token": "tenants:\n  - {name: a, parent: protective, token: unfiltered}\n",
    }
    import subprocess

    for what, text in bad.items():
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        r = subprocess.run([str(bulwark_bin), "policy", "check", "x.example", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, what
        assert "tenants" in (r.stderr + r.stdout), (what, r.stderr)


# ---------------------------------------------------------------------------
# Tenants named by the client: DoH path token, DoT server name.


@pytest.fixture(scope="module")
def tls_tb(bulwark_bin, tknot, lists, tmp_path_factory):
    from test_dot import CA

    d = tmp_path_factory.mktemp("tenant-tls")
    ca = CA(d)
    cert, key, _ = ca.issue("server")
    dot_port, doh_port = harness.free_port(), harness.free_port()
    text = config(lists, harness.free_port()).replace("    networks: [127.0.5.0/24, 127.0.5.128/25]\n", "    networks: [127.0.5.0/24]\n    token: town\n")
    text += f"""
dot:
  listen: ["{LOOPBACK}:{dot_port}"]
  certificate: {cert}
  private-key: {key}
  tenant-domain: dot.bulwark.test
doh:
  listen: ["{LOOPBACK}:{doh_port}"]
"""
    b = harness.Bulwark(bulwark_bin, [f"{LOOPBACK}:{tknot.port}"], config=text)
    b.dot_port, b.doh_port, b.ca = dot_port, doh_port, ca
    b.start()
    yield b
    b.close()


def test_dot_server_name_names_the_tenant(tls_tb):
    from test_dot import client_context, recv, send, tls_connect

    ctx = client_context(tls_tb.ca)
    ctx.check_hostname = False  # the test certificate names dns.bulwark.test only; the chain is still verified

    def over_dot(server_name: str, name: str) -> str:
        with tls_connect(tls_tb.dot_port, ctx, hostname=server_name) as s:
            send(s, make_query(f"{name}.{Z}", "A", use_edns=0))
            return outcome(recv(s))

    # 127.0.0.1 is nobody's client: without a token, the listener's profile (protective).
    assert over_dot("dns.bulwark.test", "porn") == "resolved"
    assert over_dot("dns.bulwark.test", "bad") == "NXDOMAIN/15"
    # town.dot.bulwark.test: the town's policy, whatever the source address.
    assert over_dot("town.dot.bulwark.test", "porn") == "NXDOMAIN/17"
    assert over_dot("TOWN.dot.bulwark.test", "ads") == "resolved"
    assert over_dot("town.dot.bulwark.test", "local") == "NXDOMAIN/15"
    # A token nobody has is refused with EDE 18.
    assert over_dot("nobody.dot.bulwark.test", "plain") == "REFUSED/18"
    # Two labels below the domain are not a token: the listener's profile.
    assert over_dot("a.town.dot.bulwark.test", "porn") == "resolved"
    # A public profile is named by its name, like a tenant by its token.
    assert over_dot("protective-child.dot.bulwark.test", "porn") == "NXDOMAIN/17"
    assert over_dot("unfiltered.dot.bulwark.test", "bad") == "resolved"


def test_doh_path_token_names_the_tenant(tls_tb):
    import base64

    from test_doh import curl

    harness.require_peer("curl")

    def over_doh(path: str, name: str) -> str:
        q = make_query(f"{name}.{Z}", "A", use_edns=0)
        q.id = 0
        wire = base64.urlsafe_b64encode(q.to_wire()).decode().rstrip("=")
        status, _, _, body = curl(tls_tb.doh_port, tls_tb.ca, f"https://dns.bulwark.test:{tls_tb.doh_port}{path}?dns={wire}")
        assert status == 200, (path, status, body)
        return outcome(dns.message.from_wire(body))

    assert over_doh("/dns-query", "porn") == "resolved"
    assert over_doh("/dns-query/town", "porn") == "NXDOMAIN/17"
    assert over_doh("/dns-query/town", "bet") == "resolved"
    assert over_doh("/dns-query/town", "safe") == "NXDOMAIN/15"
    assert over_doh("/dns-query/nobody", "plain") == "REFUSED/18"
    # Per-profile paths: /dns-query/<public profile>.
    assert over_doh("/dns-query/protective-child", "porn") == "NXDOMAIN/17"
    assert over_doh("/dns-query/protective-child", "bad") == "NXDOMAIN/15"
    assert over_doh("/dns-query/unfiltered", "bad") == "resolved"
