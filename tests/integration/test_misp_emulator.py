"""The MISP emulator is faithful enough that the real client, PyMISP (PyPI),
works against it: connecting, attribute restSearch with MISP's filter
semantics, paging, the event index, HEAD/GET events/view, events/add and
events/edit, sightings — and the MISP timestamp rules Bulwark's puller relies
on (edits, soft deletes and to_ids flips bump the attribute timestamp,
publishing does not, a hard delete leaves no trace).

Needs no Bulwark binary. pymisp missing: skip locally, fail with CI=true."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import harness
from misp_emulator import DEFAULT_KEY, SEED_EVENT, MispEmulator

try:
    import pymisp
except ImportError:  # pragma: no cover - depends on the machine
    pymisp = None

SEED = json.loads(SEED_EVENT.read_text())
SEED_DOMAINS = sorted(
    {a["value"] for a in SEED["Attribute"] if a["type"] == "domain"}
    | {a["value"] for o in SEED["Object"] for a in o["Attribute"] if a["type"] == "domain"}
)
SEED_NET_ROWS = sum(1 for a in SEED["Attribute"] if a["type"] in ("domain", "ip-dst")) + sum(
    1 for o in SEED["Object"] for a in o["Attribute"] if a["type"] in ("domain", "ip-dst")
)


def _require_pymisp():
    if pymisp is None:
        msg = "pymisp not installed (python3 -m pip install pymisp; scripts/install-deps does it)"
        if harness.ON_CI:
            pytest.fail(f"CI=true and {msg}", pytrace=False)
        pytest.skip(msg)
    return pymisp


class Clock:
    """An injectable clock: MISP timestamps are whole seconds."""

    def __init__(self, t: float | None = None) -> None:
        self.t = float(int(t if t is not None else time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def emu():
    with MispEmulator(seed=True) as e:
        yield e


@pytest.fixture
def misp(emu):
    pm = _require_pymisp()
    return pm.PyMISP(emu.url, emu.key, ssl=False, timeout=10)


def raw(emu, method: str, path: str, body=None, key: str | None = DEFAULT_KEY, headers: dict | None = None):
    """(status, headers, parsed JSON or bytes) without PyMISP."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(emu.url + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", key)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            payload = r.read()
            status, hdrs = r.status, r.headers
    except urllib.error.HTTPError as e:
        payload, status, hdrs = e.read(), e.code, e.headers
    try:
        return status, hdrs, json.loads(payload) if payload else None
    except ValueError:
        return status, hdrs, payload


def values(attrs) -> list[str]:
    return sorted(a.value if hasattr(a, "value") else a["value"] for a in attrs)


# ---------------------------------------------------------------------------
# Connecting and authentication


def test_pymisp_connects(emu, misp):
    assert misp.misp_instance_version["version"] == "2.5.1"
    assert misp.misp_instance_version["perm_sync"] is True
    assert misp._current_role.perm_sighting is True
    assert misp._current_user.email == "admin@admin.test"
    # The remote describeTypes was accepted (PyMISP falls back silently on failure).
    assert any(r["path"] == "/attributes/describeTypes.json" for r in emu.requests)
    assert "domain" in misp.describe_types["types"] and "Network activity" in misp.categories
    paths = [r["path"] for r in emu.requests]
    assert paths == ["/servers/getVersion", "/users/view/me", "/attributes/describeTypes.json"]
    assert all(r["authorized"] for r in emu.requests)


def test_key_in_x_misp_auth_header(emu):
    pm = _require_pymisp()
    m = pm.PyMISP(emu.url, emu.key, ssl=False, http_auth_header_name="X-MISP-AUTH", timeout=10)
    assert m.misp_instance_version["version"] == "2.5.1"
    # X-MISP-AUTH wins over a wrong Authorization; a comma-separated list and `Basic …` are handled.
    assert raw(emu, "GET", "/servers/getVersion", key="x" * 40, headers={"X-MISP-AUTH": emu.key})[0] == 200
    assert raw(emu, "GET", "/servers/getVersion", key=f"Basic Zm9vOmJhcg==, {emu.key}")[0] == 200


def test_wrong_key_is_403_with_misp_error(emu):
    status, _, body = raw(emu, "GET", "/servers/getVersion", key="A" * 40)
    assert status == 403
    assert set(body) == {"name", "message", "url"} and body["name"].startswith("Authentication failed")
    assert body["url"] == "/servers/getVersion"
    assert raw(emu, "POST", "/attributes/restSearch", {"returnFormat": "json"}, key=None)[0] == 403
    pm = _require_pymisp()
    with pytest.raises(pm.PyMISPError):
        pm.PyMISP(emu.url, "B" * 40, ssl=False, timeout=10)


# ---------------------------------------------------------------------------
# restSearch


def test_search_seeded_attributes_pythonified(emu, misp):
    attrs = misp.search(controller="attributes", type_attribute=["domain", "ip-dst"], to_ids=1, pythonify=True)
    assert len(attrs) == SEED_NET_ROWS == 31
    assert sorted({a.value for a in attrs if a.type == "domain"}) == SEED_DOMAINS
    a = next(a for a in attrs if a.value == "movieultimate.com")
    assert a.Event.info.startswith("OSINT - Sednit update")
    assert a.to_ids is True and a.category == "Network activity"
    assert str(a.event_id) == "9747" and a.uuid
    # Object members carry their object id.
    inner = next(a for a in attrs if a.value == "servicecdp.com")
    assert int(inner.object_id) > 0


def test_rest_search_row_shape(emu):
    status, headers, body = raw(emu, "POST", "/attributes/restSearch", {"returnFormat": "json", "type": "domain", "value": "meteost.com"})
    assert status == 200 and headers["X-Result-Count"] == "1"
    (row,) = body["response"]["Attribute"]
    for k in ("id", "event_id", "object_id", "uuid", "type", "category", "value", "timestamp", "distribution", "sharing_group_id", "comment"):
        assert isinstance(row[k], str), k
    assert row["object_id"] == "0"
    assert row["to_ids"] is True and row["deleted"] is False and row["first_seen"] is None
    assert set(row["Event"]) == {"id", "info", "org_id", "orgc_id", "uuid", "user_id"}
    assert "Tag" not in row  # untagged attribute: no Tag key, as MISP
    # Non-json formats are refused here (a real MISP would render them).
    assert raw(emu, "POST", "/attributes/restSearch", {"returnFormat": "rpz"})[0] == 400


def test_pymisp_explicit_zeros_are_accepted(emu):
    # What PyMISP sent to a loopback stub (MISP-RPZ.md §1.2 [OBS]).
    q = {"returnFormat": "json", "page": 1, "limit": 100, "type": ["domain", "hostname", "url"], "withAttachments": 0, "metadata": 0,
         "timestamp": "100000d", "enforceWarninglist": 1, "to_ids": 1, "includeEventUuid": 0, "includeEventTags": 1, "sgReferenceOnly": 0,
         "includeContext": 0, "headerless": 0, "includeSightings": 0, "includeDecayScore": 1, "includeCorrelations": 0, "excludeDecayed": 0}
    status, headers, body = raw(emu, "POST", "/attributes/restSearch", q)
    assert status == 200 and len(body["response"]["Attribute"]) == len(SEED_DOMAINS) + 1  # servicecdp.com appears twice
    assert headers["X-Result-Count"] == str(len(body["response"]["Attribute"]))


def test_tags_filter_and_event_tags(emu, misp):
    emu.add_event("phishing wave", [("domain", "phish-a.example", True, ["tlp:green"]), ("hostname", "login.phish-b.example", True)],
                  tags=['rsit:fraud="phishing"'], org="CERT-TEST")
    emu.add_event("red", [("domain", "secret.example", True)], tags=["tlp:red"])
    # Attribute scope: an attribute matches on its own tags or its event's tags.
    assert values(misp.search(controller="attributes", tags=["tlp:green"], pythonify=True)) == ["phish-a.example"]
    assert values(misp.search(controller="attributes", tags=['rsit:fraud="phishing"'], pythonify=True)) == ["login.phish-b.example", "phish-a.example"]
    assert values(misp.search(controller="attributes", tags=["rsit:%"], pythonify=True)) == ["login.phish-b.example", "phish-a.example"]
    # Negation and the OR/AND/NOT form.
    got = values(misp.search(controller="attributes", type_attribute="domain", tags=["!tlp:white", "!tlp:red"], pythonify=True))
    assert got == ["phish-a.example"]
    got = values(misp.search(controller="attributes", tags={"OR": ["tlp:%"], "NOT": ["tlp:white"]}, pythonify=True))
    assert got == ["phish-a.example", "secret.example"]
    got = values(misp.search(controller="attributes", tags={"AND": ["tlp:green", 'rsit:fraud="phishing"']}, pythonify=True))
    assert got == ["phish-a.example"]
    # includeEventTags: event tags are added with inherited=1.
    rows = misp.search(controller="attributes", value="phish-a.example", include_event_tags=True)
    tags = {t["name"]: t for t in rows["Attribute"][0]["Tag"]}
    assert tags["tlp:green"].get("inherited") is None and tags['rsit:fraud="phishing"']["inherited"] == 1
    assert set(tags["tlp:green"]) >= {"id", "name", "colour", "numerical_value", "is_galaxy", "local"}
    rows = misp.search(controller="attributes", value="phish-a.example")
    assert [t["name"] for t in rows["Attribute"][0]["Tag"]] == ["tlp:green"]
    # event_tags: the event's tags only.
    assert values(misp.search(controller="attributes", event_tags=["tlp:green"], pythonify=True)) == []


def test_value_type_org_eventid_uuid_filters(emu, misp):
    ev = emu.add_event("mixed", [("domain|ip", "mixed.example|198.51.100.7", True), ("url", "http://mixed.example/x", True),
                                 ("ip-src", "203.0.113.9", False)], org="CERT-TEST")
    assert values(misp.search(controller="attributes", value="198.51.100.7", pythonify=True)) == ["mixed.example|198.51.100.7"]
    assert values(misp.search(controller="attributes", value="%mixed.example%", pythonify=True)) == ["http://mixed.example/x", "mixed.example|198.51.100.7"]
    assert len(misp.search(controller="attributes", org="CERT-TEST", pythonify=True)) == 3
    assert values(misp.search(controller="attributes", org="CIRCL", type_attribute="domain", pythonify=True)) == sorted(
        [v for v in SEED_DOMAINS] + ["servicecdp.com"]
    )
    assert len(misp.search(controller="attributes", eventid=ev["id"], pythonify=True)) == 3
    assert len(misp.search(controller="attributes", uuid=ev["uuid"], pythonify=True)) == 3
    one = ev["Attribute"][0]["uuid"]
    assert values(misp.search(controller="attributes", uuid=one, pythonify=True)) == ["mixed.example|198.51.100.7"]
    assert values(misp.search(controller="attributes", eventid=ev["id"], to_ids=0, pythonify=True)) == ["203.0.113.9"]
    assert values(misp.search(controller="attributes", eventid=ev["id"], type_attribute=["!url", "!ip-src"], pythonify=True)) == [
        "mixed.example|198.51.100.7"
    ]


def test_paging_and_result_count(emu, misp):
    seen, page = [], 1
    while True:
        chunk = misp.search(controller="attributes", type_attribute=["domain", "ip-dst"], limit=7, page=page, pythonify=True)
        seen += [a.uuid for a in chunk]
        if len(chunk) < 7:
            break
        page += 1
    assert page == 5 and len(seen) == len(set(seen)) == SEED_NET_ROWS
    status, headers, body = raw(emu, "POST", "/attributes/restSearch", {"returnFormat": "json", "type": ["domain", "ip-dst"], "limit": 7, "page": 5})
    assert headers["X-Result-Count"] == str(SEED_NET_ROWS) and len(body["response"]["Attribute"]) == SEED_NET_ROWS - 28
    # Past the end: empty, not an error.
    assert misp.search(controller="attributes", type_attribute="domain", limit=50, page=9, pythonify=True) == []


def test_order(emu):
    clock = Clock()
    e = MispEmulator(clock=clock)
    e.add_event("a", [("domain", "first.example", True)])
    clock.advance(5)
    e.add_event("b", [("domain", "second.example", True)])
    clock.advance(5)
    e.edit_attribute("first.example", comment="edited last")
    for order, expect in (("Attribute.timestamp asc", ["second.example", "first.example"]), ("Attribute.timestamp desc", ["first.example", "second.example"]),
                          ("Attribute.id desc", ["second.example", "first.example"]), (None, ["first.example", "second.example"])):
        rows, _ = e.rest_search_attributes({"order": order} if order else {})
        assert [r["value"] for r in rows] == expect, order


def test_timestamp_filters(emu, misp):
    emu.add_event("fresh", [("domain", "fresh.example", True)])
    assert values(misp.search(controller="attributes", type_attribute="domain", timestamp="1d", pythonify=True)) == ["fresh.example"]
    assert values(misp.search(controller="attributes", type_attribute="domain", timestamp="10m", pythonify=True)) == ["fresh.example"]
    since = datetime.now(timezone.utc) - timedelta(hours=1)  # PyMISP sends a float epoch
    assert values(misp.search(controller="attributes", type_attribute="domain", timestamp=since, pythonify=True)) == ["fresh.example"]
    # [from, to] on the seeded 2017 attributes.
    got = misp.search(controller="attributes", type_attribute="domain", timestamp=(1513940472, 1513940542), pythonify=True)
    assert values(got) == ["mvband.net", "mvtband.net", "servicecdp.com", "wmdmediacodecs.com"]  # both ends inclusive


# ---------------------------------------------------------------------------
# MISP's change semantics (what an incremental puller depends on)


def test_edits_deletes_and_flips_bump_timestamps_even_within_one_second():
    clock = Clock()
    e = MispEmulator(clock=clock)
    ev = e.add_event("x", [("domain", "a.example", True), ("domain", "b.example", True), ("domain", "c.example", True)], published=True)
    t0 = int(e.attribute("a.example")["timestamp"])
    ev_ts0 = int(e.view(ev["id"])["timestamp"])
    # Same second: the bump is still visible to a poller with watermark t0.
    e.soft_delete("a.example")
    e.flip_to_ids("b.example", False)
    assert int(e.attribute("a.example")["timestamp"]) == t0 + 1
    assert int(e.attribute("b.example")["timestamp"]) == t0 + 1
    assert int(e.view(ev["id"])["timestamp"]) > ev_ts0
    rows, _ = e.rest_search_attributes({"timestamp": t0 + 1, "deleted": [0, 1]})
    assert {(r["value"], r["deleted"], r["to_ids"]) for r in rows} == {("a.example", True, True), ("b.example", False, False)}
    # Attribute changes unpublish the event (MISP), publishing bumps no attribute timestamp.
    assert e.view(ev["id"])["published"] is False
    before = {r["value"]: r["timestamp"] for r in e.rest_search_attributes({"deleted": [0, 1]})[0]}
    ev_ts = e.view(ev["id"])["timestamp"]
    clock.advance(10)
    pub = e.publish(ev)
    assert pub["published"] is True and int(pub["publish_timestamp"]) == int(clock())
    assert pub["timestamp"] == ev_ts
    assert {r["value"]: r["timestamp"] for r in e.rest_search_attributes({"deleted": [0, 1]})[0]} == before
    rows, _ = e.rest_search_attributes({"publish_timestamp": int(clock()), "deleted": [0, 1]})
    assert len(rows) == 3
    assert e.rest_search_attributes({"last": int(clock()) + 1})[0] == []
    # A hard delete leaves no trace at all.
    e.hard_delete("c.example")
    rows, _ = e.rest_search_attributes({"deleted": [0, 1]})
    assert "c.example" not in [r["value"] for r in rows]
    assert e.rest_search_attributes({"timestamp": 0, "deleted": [0, 1], "value": "c.example"})[0] == []


def test_deleted_and_to_ids_and_published_filters(emu, misp):
    emu.add_event("d", [("domain", "live.example", True), ("domain", "gone.example", True), ("domain", "noids.example", False)], published=True)
    emu.soft_delete("gone.example")
    base = dict(controller="attributes", type_attribute="domain", timestamp="1h", pythonify=True)
    assert values(misp.search(**base)) == ["live.example", "noids.example"]
    assert values(misp.search(**base, deleted=0)) == ["live.example", "noids.example"]
    assert values(misp.search(**base, deleted=1)) == ["gone.example"]
    assert values(misp.search(**base, deleted=[0, 1])) == ["gone.example", "live.example", "noids.example"]
    assert values(misp.search(**base, to_ids=1)) == ["live.example"]
    assert values(misp.search(**base, to_ids=0)) == ["noids.example"]
    # soft_delete unpublished the event
    assert values(misp.search(**base, published=True)) == []
    emu.publish("live.example" and emu.attribute("live.example")["event_id"])
    assert values(misp.search(**base, published=True)) == ["live.example", "noids.example"]
    assert len(misp.search(controller="attributes", type_attribute="domain", published=False, pythonify=True)) == len(SEED_DOMAINS) + 1


# ---------------------------------------------------------------------------
# Events


def test_search_index_event_exists_get_event(emu, misp):
    ev = emu.add_event("indexed", [("domain", "idx.example", True)], tags=["tlp:green"], org="CERT-TEST", published=True)
    idx = misp.search_index(published=True, pythonify=True)
    assert [e.info for e in idx] == ["indexed"]
    assert idx[0].Orgc["name"] == "CERT-TEST"
    assert len(misp.search_index(pythonify=True)) == 2
    assert [e["uuid"] for e in misp.search_index(timestamp="1h")] == [ev["uuid"]]
    minimal = misp.search_index(minimal=True)
    assert set(minimal[0]) == {"id", "uuid", "timestamp", "sighting_timestamp", "published", "orgc_uuid"}
    assert [e["id"] for e in misp.search_index(limit=1, page=2)] == [ev["id"]]
    assert misp.event_exists(ev["uuid"]) is True
    assert misp.event_exists("00000000-0000-4000-8000-000000000000") is False
    assert [r for r in emu.requests if r["method"] == "HEAD"][-1]["path"] == "/events/view/00000000-0000-4000-8000-000000000000"
    seeded = misp.get_event(SEED["uuid"], pythonify=True)
    assert seeded.info == SEED["info"] and len(seeded.objects) == 49 and len(seeded.attributes) == 9
    assert [t.name for t in seeded.tags][:1] == ["tlp:white"]
    got = misp.get_event(int(ev["id"]), pythonify=True)
    assert got.uuid == ev["uuid"] and got.attributes[0].value == "idx.example"
    assert misp.get_event("00000000-0000-4000-8000-000000000000").get("errors")


def test_view_named_params_include_deleted(emu, misp):
    ev = emu.add_event("del", [("domain", "keep.example", True), ("domain", "soft.example", True)])
    emu.soft_delete("soft.example")
    _, _, body = raw(emu, "GET", f"/events/view/{ev['uuid']}")
    assert [a["value"] for a in body["Event"]["Attribute"]] == ["keep.example"]
    _, _, body = raw(emu, "GET", f"/events/view/{ev['uuid']}/deleted[]:0/deleted[]:1/excludeGalaxy:1")
    assert {a["value"]: a["deleted"] for a in body["Event"]["Attribute"]} == {"keep.example": False, "soft.example": True}
    got = misp.get_event(ev["id"], deleted=True, pythonify=True)  # PyMISP POSTs {"deleted": true}
    assert len(got.attributes) == 2


def test_pymisp_add_event_and_update_event(emu, misp):
    pm = _require_pymisp()
    event = pm.MISPEvent()
    event.info = "pushed by pymisp"
    event.distribution = 1
    event.add_tag("tlp:green")
    event.add_attribute("domain", "pushed.example", Tag=[{"name": 'rsit:fraud="phishing"'}])
    event.add_attribute("hostname", "Www.Pushed-Host.Example.", comment="case and dot are normalised")
    event.add_attribute("url", "https://pushed.example/login")
    event.add_attribute("ip-dst", "198.51.100.66", to_ids=False)
    created = misp.add_event(event, pythonify=True)
    assert created.id and created.uuid == event.uuid
    body = emu.requests_to("/events/add")[-1]["body"]
    # What PyMISP really sends: the unwrapped event, string enums, booleans for to_ids.
    assert "Event" not in body and body["info"] == "pushed by pymisp" and body["distribution"] == "1"
    assert body["Tag"] == [{"name": "tlp:green"}]
    a0 = body["Attribute"][0]
    assert a0["to_ids"] is True and a0["Tag"] == [{"name": 'rsit:fraud="phishing"'}] and a0["uuid"] and "timestamp" not in a0
    assert {a.value for a in created.attributes} == {"pushed.example", "www.pushed-host.example", "https://pushed.example/login", "198.51.100.66"}
    # A duplicate uuid: 404 with Location, as MISP.
    again = misp.add_event(event)
    assert again["errors"][0] == 404
    # events/edit: change to_ids and soft-delete through PyMISP's own objects.
    ev = misp.get_event(created.id, pythonify=True)
    t_before = {a.value: int(a.timestamp.timestamp()) for a in ev.attributes}
    for a in ev.attributes:
        if a.value == "pushed.example":
            a.to_ids = False
        if a.value == "www.pushed-host.example":
            a.delete()
    updated = misp.update_event(ev, pythonify=True)
    assert not isinstance(updated, dict), updated
    sent = emu.requests_to("/events/edit/")[-1]["body"]
    edited = {a["value"]: a for a in sent["Attribute"]}
    assert "timestamp" not in edited["pushed.example"] and "timestamp" in edited["https://pushed.example/login"]
    now = {a["value"]: a for a in emu.rest_search_attributes({"eventid": created.id, "deleted": [0, 1]})[0]}
    assert now["pushed.example"]["to_ids"] is False and now["www.pushed-host.example"]["deleted"] is True
    assert int(now["pushed.example"]["timestamp"]) > t_before["pushed.example"]
    assert int(now["https://pushed.example/login"]["timestamp"]) == t_before["https://pushed.example/login"]  # unchanged: skipped
    # Re-sending an event whose timestamp is not newer is refused (403, MISP's message).
    stale = emu.view(created.id)
    status, _, body = raw(emu, "POST", f"/events/edit/{created.uuid}", {"Event": {"uuid": created.uuid, "info": "x", "timestamp": stale["timestamp"]}})
    assert status == 403 and "not newer" in body["name"]


def test_sightings_are_recorded(emu, misp):
    pm = _require_pymisp()
    r = misp.add_sighting({"value": "movieultimate.com", "source": "bulwark-r1", "type": "0"})
    assert "Sighting" in r and r["Sighting"]["type"] == "0" and r["Sighting"]["source"] == "bulwark-r1"
    s = emu.sightings[-1]
    assert s["value"] == "movieultimate.com" and s["type"] == "0" and s["source"] == "bulwark-r1" and s["path"] is None
    assert s["attribute_ids"] == [emu.attribute("movieultimate.com")["id"]]
    uid = emu.attribute("meteost.com")["uuid"]
    misp.add_sighting({"source": "r1", "type": "1"}, attribute=uid)
    s = emu.sightings[-1]
    assert s["path"] == uid and s["type"] == "1" and s["body"] == {"source": "r1", "type": "1"}
    sighting = pm.MISPSighting()
    sighting.from_dict(value="nethostnet.com", source="r2", type="0", timestamp=int(time.time()))
    got = misp.add_sighting(sighting, pythonify=True)
    assert got.source == "r2"
    assert emu.sightings[-1]["body"]["timestamp"]
    # Unknown value: 200 with a message, as MISP; still recorded for tests.
    r = misp.add_sighting({"value": "never-seen.example", "source": "r1"})
    assert "Could not add the Sighting" in r["message"] and emu.sightings[-1]["attribute_ids"] == []
    # A sighting shows in the attribute view.
    ev = misp.get_event(SEED["id"])
    a = next(a for a in ev["Event"]["Attribute"] if a["value"] == "movieultimate.com")
    assert a["Sighting"][0]["source"] == "bulwark-r1"


# ---------------------------------------------------------------------------
# Failure injection and the request log


def test_fail_next_and_malformed_next(emu, misp):
    pm = _require_pymisp()
    emu.fail_next(2, status=500, path="/attributes/restSearch")
    for _ in range(2):
        with pytest.raises(pm.exceptions.MISPServerError):
            misp.search(controller="attributes", type_attribute="domain")
    assert len(misp.search(controller="attributes", type_attribute="domain", pythonify=True)) == len(SEED_DOMAINS) + 1
    emu.malformed_next(1)
    with pytest.raises(pm.exceptions.PyMISPUnexpectedResponse):
        misp.search(controller="attributes", type_attribute="domain")
    assert len(misp.search(controller="attributes", type_attribute="domain", pythonify=True)) == len(SEED_DOMAINS) + 1
    emu.fail_next(1, status=503)
    assert raw(emu, "GET", "/servers/getVersion")[0] == 503
    log = emu.requests_to("/attributes/restSearch", "POST")
    assert [r.get("injected") for r in log] == ["fail", "fail", None, "malformed", None]
    assert log[0]["body"]["type"] == "domain" and log[0]["status"] == 500


def test_standalone_server(tmp_path):
    pm = _require_pymisp()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("misp_emulator.py")), "--port", "0", "--seed", str(SEED_EVENT), "--generate", "250", "--per-event", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["attributes"] == 122 + 250 and info["events"] == 4
        m = pm.PyMISP(info["url"], info["key"], ssl=False, timeout=10)
        got = m.search(controller="attributes", type_attribute="domain", tags=["tlp:green"], limit=1000, pythonify=True)
        assert len(got) == 250
    finally:
        proc.terminate()
        proc.wait(timeout=10)
