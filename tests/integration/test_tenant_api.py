"""Delegated access through the REST API: keys bound to a tenant see that
tenant's subtree only. The isolation check is generated over every operation
of the OpenAPI document, not hand-picked: a key of tenant A calls each one with
tenant B's names filled in, and must get 403/404 for B's resources, nothing of
B in any body, and no way to change the threat intel every tenant shares."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

import harness
from harness import LOOPBACK



SPEC_PATH = Path(__file__).resolve().parents[2] / "Sources" / "ControlPlane" / "openapi.yaml"
GLOBAL = "G" * 40
ADMIN_A = "A" * 40
VIEWER_A = "a" * 40
ADMIN_B = "B" * 40
ANALYST_A = "n" * 40

# What only tenant B (and its subtree) has: none of it may reach a key of A.
B_MARKERS = ["ministry-b", "agency-b", "secret-b", "10.2.0.0", "tok-b", "B's block page"]
# POSTs that only read (MISP's search calls).
READ_POSTS = {"/events/index", "/attributes/restSearch"}

CONFIG = f"""
tenants:
  - {{name: gov, categories: [threats], overridable: [ads-tracking]}}
  - {{name: ministry-a, parent: gov, categories: [adult]}}
  - {{name: agency-a, parent: ministry-a, block: [secret-a.example, lonely-a.example], networks: [10.1.0.0/16, 127.0.7.0/24], token: tok-a, block-page: "A's block page", log-queries: true}}
  - {{name: ministry-b, parent: gov, categories: [gambling]}}
  - {{name: agency-b, parent: ministry-b, block: [secret-b.example], networks: [10.2.0.0/16], token: tok-b, block-page: "B's block page"}}
stats: {{interval: 1, min-clients: 2}}
intel:
  keys:
    - {{name: global, org: CERT, role: admin, key: "{GLOBAL}"}}
    - {{name: admin-a, org: Ministry A, role: admin, key: "{ADMIN_A}", tenant: ministry-a}}
    - {{name: viewer-a, org: Agency A, role: viewer, key: "{VIEWER_A}", tenant: agency-a}}
    - {{name: admin-b, org: Ministry B, role: admin, key: "{ADMIN_B}", tenant: ministry-b}}
    - {{name: analyst-a, org: Agency A, role: analyst, key: "{ANALYST_A}", tenant: agency-a}}
"""


def call(base: str, method: str, path: str, key: str | None, body: dict | None = None) -> tuple[int, str]:
    data = None if body is None and method in ("GET", "HEAD", "DELETE") else json.dumps(body or {}).encode()
    req = urllib.request.Request(base + path, method=method, data=data)
    if key:
        req.add_header("Authorization", key)
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


@pytest.fixture(scope="module")
def api(bulwark_bin, tmp_path_factory):
    b = harness.Bulwark(bulwark_bin, [f"{LOOPBACK}:9"], config=CONFIG)
    b.start()
    base = f"http://{LOOPBACK}:{b.metrics_port}"
    # Something in the shared intel, so that id paths resolve.
    status, raw = call(base, "POST", "/api/v1/indicators", GLOBAL, {"value": "shared-threat.example", "category": "phishing"})
    assert status == 201, raw
    b.indicator = json.loads(raw)["id"]
    yield b, base
    b.close()


def test_tenant_keys_see_their_subtree_only(api):
    b, base = api
    status, raw = call(base, "GET", "/api/v1/tenants", ADMIN_A)
    assert status == 200
    names = [t["name"] for t in json.loads(raw)["tenants"]]
    assert names == ["ministry-a", "agency-a"]
    status, raw = call(base, "GET", "/api/v1/tenants/agency-a", ADMIN_A)
    t = json.loads(raw)
    assert status == 200 and t["path"] == ["gov", "ministry-a", "agency-a"]
    assert t["token"] == "tok-a" and t["networks"] == ["10.1.0.0/16", "127.0.7.0/24"] and t["blockPage"] == "A's block page"
    assert set(t["effectiveCategories"]) >= {"adult", "malware"} and t["block"] == ["secret-a.example", "lonely-a.example"] and t["ownLists"] == []
    # A viewer of the agency sees the agency, not its parent, and no token.
    status, raw = call(base, "GET", "/api/v1/tenants/agency-a", VIEWER_A)
    assert status == 200 and json.loads(raw)["token"] is None
    assert call(base, "GET", "/api/v1/tenants/ministry-a", VIEWER_A)[0] == 404
    # Explanations under a tenant's policy, and which level decided.
    status, raw = call(base, "GET", "/api/v1/tenants/agency-a/explain?name=x.secret-a.example", VIEWER_A)
    e = json.loads(raw)
    assert status == 200 and e["verdict"] == "blocked" and e["decidedBy"] == "agency-a"
    # The service-wide key sees the whole tree, public profiles included.
    status, raw = call(base, "GET", "/api/v1/tenants", GLOBAL)
    names = [t["name"] for t in json.loads(raw)["tenants"]]
    assert {"protective", "gov", "ministry-a", "agency-a", "ministry-b", "agency-b"} <= set(names)
    # A tenant key reads the shared intel but cannot change it.
    assert call(base, "GET", f"/api/v1/indicators/{b.indicator}", ADMIN_A)[0] == 200
    status, raw = call(base, "POST", "/api/v1/indicators", ADMIN_A, {"value": "mine.example"})
    assert status == 403 and "tenant ministry-a" in raw


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in ("get", "head", "post", "put", "patch", "delete"):
            if method in item:
                yield path, method.upper(), item[method], item.get("parameters", [])


def fill(path: str, b, tenant: str, b_key_id: int) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) == "id" and path.startswith("/api/v1/keys/"):
            return str(b_key_id)  # B's admin key
        return {"tenant": tenant, "id": str(b.indicator), "name": "some-source"}.get(m.group(1), "x")

    return re.sub(r"\{(\w+)\}", sub, path)


def test_isolation_over_every_operation_of_the_spec(api):
    b, base = api
    spec = yaml.safe_load(SPEC_PATH.read_text())
    # B's admin changes B's subtree first, so that B's changes are in the audit log.
    status, raw = call(base, "POST", "/api/v1/tenants/agency-b/entries", ADMIN_B, {"name": "secret-b2.example"})
    assert status == 201, raw
    # Every write carries a body aimed at B: a tenant under B, an indicator.
    hostile = {"name": "x-from-a", "parent": "ministry-b", "value": "x.example", "action": "block", "role": "admin", "tenant": "agency-b"}
    status, raw = call(base, "GET", "/api/v1/keys", GLOBAL)
    b_key_id = next(k["id"] for k in json.loads(raw)["keys"] if k["name"] == "admin-b")
    exercised = 0
    for template, method, op, shared_params in operations(spec):
        params = shared_params + op.get("parameters", [])
        query = "&".join(f"{p['name']}=x.secret-b.example" for p in params if p.get("in") == "query" and p.get("required"))
        targets = ["ministry-b", "agency-b", "gov"] if "{tenant}" in template else [None]
        for tenant in targets:
            path = fill(template, b, tenant or "", b_key_id)
            if query:
                path += "?" + query
            status, body = call(base, method, path, ADMIN_A, hostile if method in ("POST", "PUT", "PATCH") else None)
            where = f"{method} {path} -> {status}: {body[:200]}"
            assert status < 500, where
            # The caller's own request (path, query) may be echoed; nothing else of B's may appear.
            seen = body.replace(path.split("?")[0], "").replace("x.secret-b.example", "")
            for marker in B_MARKERS:
                assert marker not in seen, f"{where} (contains {marker!r})"
            if tenant is not None:
                # Another subtree, or an ancestor: as if it did not exist.
                assert status in (403, 404), where
            elif method in ("POST", "PUT", "PATCH", "DELETE") and template not in READ_POSTS:
                # The shared threat intel is not a tenant's to change (403), and a tenant under B
                # is as if B did not exist (404).
                assert status in (403, 404), where
            exercised += 1
    ops = sum(1 for _ in operations(spec))
    assert exercised >= ops >= 25
    # Nothing of A's attempts landed.
    status, raw = call(base, "GET", "/api/v1/tenants", GLOBAL)
    assert "x-from-a" not in raw
    status, raw = call(base, "GET", "/api/v1/keys", GLOBAL)
    assert "x-from-a" not in raw and not next(k for k in json.loads(raw)["keys"] if k["name"] == "admin-b")["revoked"]
    # B's own admin does see B: the markers above are real.
    status, raw = call(base, "GET", "/api/v1/tenants/agency-b", ADMIN_B)
    assert status == 200 and "tok-b" in raw and "10.2.0.0/16" in raw


def test_tenant_statistics_count_and_keep_rare_names_from_tenant_keys(api):
    import time

    import dns.message
    import dns.query
    import dns.rcode

    b, base = api

    def ask(name: str, source: str) -> int:
        q = dns.message.make_query(name, "A")
        return dns.query.udp(q, LOOPBACK, port=b.port, source=source, timeout=5).rcode()

    for source, name, times in (("127.0.7.1", "x.secret-a.example", 3), ("127.0.7.2", "secret-a.example", 2), ("127.0.7.1", "lonely-a.example", 1)):
        for _ in range(times):
            assert ask(name, source) == dns.rcode.NXDOMAIN
    deadline = time.monotonic() + 15
    while True:
        status, raw = call(base, "GET", "/api/v1/tenants/agency-a/stats", VIEWER_A)
        assert status == 200, raw
        s = json.loads(raw)
        if s["totals"]["blocked"] >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert s["tenant"] == "agency-a" and s["minClients"] == 2
    assert s["totals"]["queries"] == 6 and s["totals"]["blocked"] == 6
    assert s["totals"]["byCategory"] == {"custom": 6}
    assert sum(i["queries"] for i in s["series"]) == 6
    # The tenant's own key sees only names asked by at least 2 distinct clients.
    assert s["topBlocked"] == [{"name": "secret-a.example.", "count": 5, "clients": 2}]
    # A key of the whole service sees every name.
    status, raw = call(base, "GET", "/api/v1/tenants/agency-a/stats", GLOBAL)
    top = {t["name"]: (t["count"], t["clients"]) for t in json.loads(raw)["topBlocked"]}
    assert top == {"secret-a.example.": (5, 2), "lonely-a.example.": (1, 1)}
    # A range before the traffic is empty; a bad range is a 400.
    status, raw = call(base, "GET", "/api/v1/tenants/agency-a/stats?since=0&until=1000", GLOBAL)
    assert status == 200 and json.loads(raw)["totals"]["queries"] == 0
    assert call(base, "GET", "/api/v1/tenants/agency-a/stats?since=tomorrow", GLOBAL)[0] == 400
    # Another subtree's admin cannot read them.
    assert call(base, "GET", "/api/v1/tenants/agency-a/stats", ADMIN_B)[0] == 404

    # agency-a opted in to the query log: every query, the client as a keyed hash.
    deadline = time.monotonic() + 10
    while True:
        status, raw = call(base, "GET", "/api/v1/tenants/agency-a/queries?limit=50", ANALYST_A)
        assert status == 200, raw
        log = json.loads(raw)
        if len(log["entries"]) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert log["logging"] is True and len(log["entries"]) == 6
    assert "127.0.7" not in raw
    names = sorted(e["name"] for e in log["entries"])
    assert names == ["lonely-a.example.", "secret-a.example.", "secret-a.example.", "x.secret-a.example.", "x.secret-a.example.", "x.secret-a.example."]
    assert all(e["blocked"] and e["rcode"] == 3 and e["type"] == 1 and e["transport"] == "udp" for e in log["entries"])
    clients = {e["name"]: e["client"] for e in log["entries"]}
    assert re.fullmatch(r"[0-9a-f]{16}", clients["secret-a.example."])
    assert clients["x.secret-a.example."] == clients["lonely-a.example."] != clients["secret-a.example."]  # 127.0.7.1 twice, 127.0.7.2
    # Readers do not read it; a tenant that did not opt in has none.
    assert call(base, "GET", "/api/v1/tenants/agency-a/queries", VIEWER_A)[0] == 403
    status, raw = call(base, "GET", "/api/v1/tenants/ministry-a/queries", GLOBAL)
    assert status == 200 and json.loads(raw) == {"tenant": "ministry-a", "logging": False, "entries": []}


def test_delegated_administration_through_the_api(api):
    import time

    import dns.message
    import dns.query
    import dns.rcode

    b, base = api

    def rcode(name: str, source: str) -> int:
        return dns.query.udp(dns.message.make_query(name, "A"), LOOPBACK, port=b.port, source=source, timeout=5).rcode()

    # A's admin makes a town hall under its agency, with its own network and entries.
    town = {"name": "hall-a", "parent": "agency-a", "categories": ["gambling"], "networks": ["127.0.8.0/24"], "blockPage": "Hall A"}
    status, raw = call(base, "POST", "/api/v1/tenants", ADMIN_A, town)
    assert status == 201, raw
    t = json.loads(raw)
    assert t["path"] == ["gov", "ministry-a", "agency-a", "hall-a"] and "gambling" in t["effectiveCategories"]
    # In force when the answer came: the hall's clients get the agency's own entries.
    assert rcode("secret-a.example", "127.0.8.9") == dns.rcode.NXDOMAIN
    # Its analyst adds an entry; a viewer cannot.
    assert call(base, "POST", "/api/v1/tenants/hall-a/entries", VIEWER_A, {"name": "v.example"})[0] == 403
    status, raw = call(base, "POST", "/api/v1/tenants/hall-a/entries", ANALYST_A, {"name": "hall-only.example"})
    assert status == 201, raw
    assert rcode("x.hall-only.example", "127.0.8.9") == dns.rcode.NXDOMAIN
    # Only for the hall: the agency's own clients are not affected (nothing upstream: SERVFAIL, not NXDOMAIN).
    assert rcode("x.hall-only.example", "127.0.7.1") != dns.rcode.NXDOMAIN
    assert call(base, "POST", "/api/v1/tenants/hall-a/entries", ANALYST_A, {"name": "hall-only.example"})[0] == 409
    # Bad changes are refused and change nothing.
    assert call(base, "POST", "/api/v1/tenants", ADMIN_A, {"name": "bad", "parent": "hall-a", "networks": ["127.0.8.0/24"]})[0] == 400
    assert call(base, "POST", "/api/v1/tenants", ADMIN_A, {"name": "hall-a", "parent": "agency-a"})[0] == 409
    assert call(base, "POST", "/api/v1/tenants", ANALYST_A, {"name": "x", "parent": "agency-a"})[0] == 403
    assert call(base, "PATCH", "/api/v1/tenants/agency-a", ADMIN_A, {"blockPage": "no"})[0] == 409  # the file's
    # A's admin changes and moves its hall within its subtree, not out of it.
    status, raw = call(base, "PATCH", "/api/v1/tenants/hall-a", ADMIN_A, {"action": "refused"})
    assert status == 200 and json.loads(raw)["action"] == "refused"
    assert rcode("x.hall-only.example", "127.0.8.9") == dns.rcode.REFUSED
    assert call(base, "PATCH", "/api/v1/tenants/hall-a", ADMIN_A, {"parent": "ministry-b"})[0] == 404
    # Every change is in the audit log, with who, what and when; A's keys see A's changes only.
    status, raw = call(base, "GET", "/api/v1/audit", ADMIN_A)
    entries = json.loads(raw)["entries"]
    mine = [(e["actor"], e["action"], e["target"]) for e in entries]
    assert ("key:admin-a", "tenant.create", "tenant:hall-a") in mine
    assert ("key:analyst-a", "tenant.entry.add", "tenant:hall-a") in mine
    assert ("key:admin-a", "tenant.update", "tenant:hall-a") in mine
    assert all(e["target"].startswith("tenant:") and "-b" not in e["target"] for e in entries)
    assert all(e["time"].endswith("Z") for e in entries)
    # A restart keeps what the API made.
    b.stop()
    b.start()
    assert rcode("x.hall-only.example", "127.0.8.9") == dns.rcode.REFUSED
    status, raw = call(base, "GET", "/api/v1/tenants/hall-a", ADMIN_A)
    assert status == 200 and json.loads(raw)["blockPage"] == "Hall A"
    # The entry goes, then the hall (not while it has tenants below it).
    status, raw = call(base, "DELETE", "/api/v1/tenants/hall-a/entries?name=hall-only.example", ANALYST_A)
    assert status == 200, raw
    assert call(base, "DELETE", "/api/v1/tenants/agency-a", ADMIN_A)[0] in (403, 409)
    assert call(base, "DELETE", "/api/v1/tenants/hall-a", ADMIN_A)[0] == 200
    assert call(base, "GET", "/api/v1/tenants/hall-a", GLOBAL)[0] == 404


def test_tenant_admins_make_and_revoke_keys_in_their_subtree(api):
    b, base = api
    assert call(base, "GET", "/api/v1/keys", VIEWER_A)[0] == 403
    status, raw = call(base, "POST", "/api/v1/keys", ADMIN_A, {"name": "agency-analyst", "role": "analyst", "tenant": "agency-a"})
    assert status == 201, raw
    made = json.loads(raw)
    key = made["key"]
    assert len(key) == 40 and made["prefix"] == key[:4] and made["tenant"] == "agency-a" and not made["configured"]
    # The new key works, for its subtree.
    status, raw = call(base, "POST", "/api/v1/tenants/agency-a/entries", key, {"name": "by-new-key.example"})
    assert status == 201, raw
    # An entry of a tenant of the file: in force, then gone again when removed.
    import dns.message
    import dns.query
    import dns.rcode

    def rcode(name: str) -> int:
        return dns.query.udp(dns.message.make_query(name, "A"), LOOPBACK, port=b.port, source="127.0.7.1", timeout=5).rcode()

    assert rcode("x.by-new-key.example") == dns.rcode.NXDOMAIN
    assert call(base, "POST", "/api/v1/tenants/agency-a/entries", key, {"name": "secret-a.example"})[0] == 409  # the file's own
    assert call(base, "DELETE", "/api/v1/tenants/agency-a/entries?name=by-new-key.example", key)[0] == 200
    assert rcode("x.by-new-key.example") != dns.rcode.NXDOMAIN
    assert rcode("x.secret-a.example") == dns.rcode.NXDOMAIN
    assert call(base, "GET", "/api/v1/tenants/ministry-a", key)[0] == 404
    # A's admin lists the keys of its subtree only, never the keys themselves.
    status, raw = call(base, "GET", "/api/v1/keys", ADMIN_A)
    names = {k["name"] for k in json.loads(raw)["keys"]}
    assert names == {"admin-a", "viewer-a", "analyst-a", "agency-analyst"}
    assert key not in raw and all(k.get("key") is None for k in json.loads(raw)["keys"])
    # Not outside it, not a key of the whole service, not the file's keys.
    assert call(base, "POST", "/api/v1/keys", ADMIN_A, {"name": "x", "role": "admin", "tenant": "agency-b"})[0] == 404
    assert call(base, "POST", "/api/v1/keys", ADMIN_A, {"name": "x", "role": "admin"})[0] == 400
    assert call(base, "POST", "/api/v1/keys", ADMIN_A, {"name": "x", "role": "sync", "tenant": "agency-a"})[0] == 403
    viewer_id = next(k["id"] for k in json.loads(raw)["keys"] if k["name"] == "viewer-a")
    assert call(base, "DELETE", f"/api/v1/keys/{viewer_id}", ADMIN_A)[0] == 409
    # Revoked, it is refused.
    assert call(base, "DELETE", f"/api/v1/keys/{made['id']}", ADMIN_A)[0] == 200
    assert call(base, "GET", "/api/v1/tenants", key)[0] == 403
    status, raw = call(base, "GET", "/api/v1/audit", ADMIN_A)
    actions = [(e["action"], e["detail"]) for e in json.loads(raw)["entries"]]
    assert ("key.add", "agency-analyst (analyst)") in actions and ("key.revoke", "agency-analyst (analyst)") in actions
