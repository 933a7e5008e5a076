#!/usr/bin/env python3
"""A MISP server emulator for Bulwark's threat-intel tests and benchmarks.

A real MISP (PHP, MySQL, Redis) cannot run here, so this serves the part of
MISP's REST API that a client (PyMISP, Bulwark's puller, a MISP sync peer)
uses, from MISP's documented API and real MISP JSON (see
/work/shared/MISP-RPZ.md §1-2 and tests/integration/data/pymisp_existing_event.json).

    with MispEmulator() as misp:                       # 127.0.0.1, a free port
        ev = misp.add_event("phish", [("domain", "evil.example", True, ["tlp:green"])])
        PyMISP(misp.url, misp.key, ssl=False).search(controller="attributes", ...)
        misp.soft_delete("evil.example"); misp.publish(ev)
        misp.fail_next(3); misp.malformed_next(2)
        misp.requests, misp.sightings                  # what the client sent

Standalone (benchmarks): python3 misp_emulator.py --port N --seed FILE [--key K]

Implemented MISP behaviour (each is a documented MISP behaviour, not an
invention):
- auth: raw key in `Authorization` (comma-separated list allowed, `Basic …`
  skipped) or `X-MISP-AUTH` (wins); a bad or missing key is 403 with
  {"name","message","url"}.
- ids are strings, booleans are JSON booleans, timestamps epoch strings,
  `object_id` "0" outside objects, `Tag` present only when non-empty.
- edits, soft deletes and to_ids flips bump the attribute timestamp and the
  event timestamp to max(now, old + 1) (so a change in the same second is
  still seen); publishing sets published + publish_timestamp and bumps
  nothing else; attribute changes unpublish the event (as MISP's UI/API do).
- a hard delete leaves no trace.
- restSearch JSON applies no default filter except deleted=0.
Not implemented: decay scores, warninglist enforcement (the emulated MISP
has no warninglist enabled, so enforceWarninglist is accepted and changes
nothing), correlations, sharing groups, proposals, galaxies beyond what a
seed event carries, return formats other than json (400), ZMQ.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import gzip
import hashlib
import ipaddress
import json
import re
import signal
import sys
import threading
import time
import uuid as _uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit, parse_qs

DATA = Path(__file__).resolve().parent / "data"
# The real MISP samples (from ../shared/data) live once, with the Swift tests that use them too.
SAMPLES = Path(__file__).resolve().parents[2] / "Tests" / "ThreatIntelTests" / "Data"
SEED_EVENT = SAMPLES / "pymisp_existing_event.json"
DEFAULT_KEY = "BulwarkMispEmulatorKey000000000000000001"  # 40 chars [a-zA-Z0-9], like a MISP key
assert len(DEFAULT_KEY) == 40 and DEFAULT_KEY.isalnum()
VERSION = "2.5.1"

AUTH_FAILED = (
    "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header."
)
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{1,63}$", re.I)

_DESCRIBE_TYPES: dict | None = None


def describe_types() -> dict:
    """A trimmed describeTypes (network and common types; same shape as MISP's)."""
    global _DESCRIBE_TYPES
    if _DESCRIBE_TYPES is None:
        _DESCRIBE_TYPES = json.loads((DATA / "misp-describeTypes-trimmed.json").read_text())
    return _DESCRIBE_TYPES


# ---------------------------------------------------------------------------
# MISP filter helpers


def _truthy(v: Any) -> bool | None:
    """MISP booleans arrive as true/false, 0/1, "0"/"1", "true"/"false"; None/"" = unset."""
    if v is None or v == "" or isinstance(v, (list, dict)):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y"):
        return True
    if s in ("0", "false", "no", "n"):
        return False
    return None


def _as_list(v: Any) -> list:
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v]


def parse_filter(v: Any) -> tuple[list, list, list] | None:
    """MISP filter value: scalar, list (entries with `!` negate), or {"OR","AND","NOT"}."""
    if v is None or v == "" or v == []:
        return None
    if isinstance(v, dict):
        ors = _as_list(v.get("OR") or v.get("or"))
        ands = _as_list(v.get("AND") or v.get("and"))
        nots = _as_list(v.get("NOT") or v.get("not"))
        return [str(x) for x in ors], [str(x) for x in ands], [str(x) for x in nots]
    ors, nots = [], []
    for x in _as_list(v):
        s = str(x)
        if s.startswith("!"):
            nots.append(s[1:])
        else:
            ors.append(s)
    return ors, [], nots


def like(pattern: str, value: str) -> bool:
    """SQL LIKE with `%` (MySQL's default collation: case-insensitive)."""
    if "%" not in pattern:
        return pattern.lower() == (value or "").lower()
    rx = ".*".join(re.escape(p) for p in pattern.split("%"))
    return re.fullmatch(rx, value or "", re.I | re.S) is not None


def filter_matches(f: tuple[list, list, list] | None, pred: Callable[[str], bool]) -> bool:
    if f is None:
        return True
    ors, ands, nots = f
    if ors and not any(pred(x) for x in ors):
        return False
    if ands and not all(pred(x) for x in ands):
        return False
    return not any(pred(x) for x in nots)


def resolve_time(v: Any, now: float) -> int | None:
    """AppModel::resolveTimeDelta: epoch, `Nd|Nh|Nm|Ns` (also w), or a date string."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v)
    s = str(v).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", s):
        return int(float(s))
    m = re.fullmatch(r"(\d+)([smhdw])", s.lower())
    if m:
        mult = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return int(now) - int(m.group(1)) * mult
    try:
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=_dt.timezone.utc)
        return int(d.timestamp())
    except ValueError:
        raise BadRequest(f"Invalid time value: {s}") from None


def time_range(v: Any, now: float) -> tuple[int | None, int | None] | None:
    """A single value means `>= value`; [from, to] is inclusive at both ends."""
    if v is None or v == "" or v == []:
        return None
    if isinstance(v, (list, tuple)):
        lo = resolve_time(v[0], now) if len(v) > 0 else None
        hi = resolve_time(v[1], now) if len(v) > 1 else None
        return lo, hi
    return resolve_time(v, now), None


def in_range(r: tuple[int | None, int | None] | None, value: Any) -> bool:
    if r is None:
        return True
    x = int(value or 0)
    lo, hi = r
    return (lo is None or x >= lo) and (hi is None or x <= hi)


def _int(v: Any, default: int | None = None) -> int | None:
    if v is None or v == "":
        return default
    try:
        return int(v)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid integer: {v!r}") from None


class BadRequest(Exception):
    pass


class HTTPError(Exception):
    def __init__(self, status: int, name: str, message: str | None = None, extra: dict | None = None) -> None:
        super().__init__(name)
        self.status, self.name, self.message, self.extra = status, name, message or name, extra or {}


def _colour(name: str) -> str:
    return "#" + hashlib.md5(name.encode()).hexdigest()[:6]


# ---------------------------------------------------------------------------
# The emulator


class MispEmulator:
    """MISP state + HTTP server on 127.0.0.1 (port 0 = any free port)."""

    def __init__(
        self,
        key: str = DEFAULT_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        seed: bool | str | Path = False,
        org: str = "ORGNAME",
        extra_keys: dict[str, str] | None = None,
        unpublish_on_change: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.key = key
        # key -> role name ("admin" | "sync" | "reader"); see _role().
        self.keys: dict[str, str] = {key: "admin", **(extra_keys or {})}
        self.clock = clock or time.time
        self.unpublish_on_change = unpublish_on_change
        self.lock = threading.RLock()
        self.server_uuid = str(_uuid.uuid4())
        self.events: dict[str, dict] = {}  # id -> event (metadata, no Attribute/Object lists)
        self.objects: dict[str, dict] = {}  # id -> object (metadata)
        self.attributes: dict[str, dict] = {}  # id -> attribute (MISP shape, Tag list, no Event)
        self.tags: dict[str, dict] = {}  # name -> tag
        self.orgs: dict[str, dict] = {}  # name -> {id,name,uuid,local}
        self._ids = {"event": 0, "object": 0, "attribute": 0, "tag": 0, "org": 0, "sighting": 0}
        self.requests: list[dict] = []
        self.sightings: list[dict] = []
        self.rejected: list[dict] = []  # attributes events/add refused (bad type/value)
        self._fail: list[tuple[int, str | None]] = []  # (status, path prefix or None)
        self._malformed: list[str | None] = []
        self._delay: float = 0.0
        self.me_org = self._org(org)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if seed:
            self.load_event(json.loads(Path(SEED_EVENT if seed is True else seed).read_text()))

    # ----- lifecycle

    def start(self) -> "MispEmulator":
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="misp-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "MispEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ----- ids, time, registries

    def _next(self, kind: str) -> str:
        self._ids[kind] += 1
        return str(self._ids[kind])

    def now(self) -> int:
        return int(self.clock())

    def _bump(self, old: Any) -> str:
        return str(max(self.now(), int(old or 0) + 1))

    def _org(self, name: str, uuid: str | None = None, oid: str | None = None) -> dict:
        with self.lock:
            if name not in self.orgs:
                if oid is None or any(o["id"] == str(oid) for o in self.orgs.values()):
                    oid = self._next("org")
                else:
                    self._ids["org"] = max(self._ids["org"], int(oid))
                self.orgs[name] = {"id": str(oid), "name": name, "uuid": uuid or str(_uuid.uuid4()), "local": True}
            return self.orgs[name]

    def _org_by_id(self, oid: str) -> dict:
        for o in self.orgs.values():
            if o["id"] == str(oid):
                return o
        return {"id": str(oid), "name": "", "uuid": ""}

    def _tag(self, t: str | dict) -> dict:
        """Register (or find) a tag; accepts a name or a MISP Tag dict."""
        d = {"name": t} if isinstance(t, str) else dict(t)
        name = d["name"]
        with self.lock:
            if name not in self.tags:
                tid = d.get("id")
                if tid is None or any(x["id"] == str(tid) for x in self.tags.values()):
                    tid = self._next("tag")
                else:
                    self._ids["tag"] = max(self._ids["tag"], int(tid))
                self.tags[name] = {
                    "id": str(tid),
                    "name": name,
                    "colour": d.get("colour") or _colour(name),
                    "exportable": True,
                    "user_id": "0",
                    "hide_tag": False,
                    "numerical_value": d.get("numerical_value"),
                    "is_galaxy": name.startswith("misp-galaxy:"),
                    "is_custom_galaxy": False,
                    "local_only": False,
                }
            return self.tags[name]

    def _tag_ref(self, t: str | dict) -> dict:
        tag = dict(self._tag(t))
        tag["local"] = 1 if isinstance(t, dict) and _truthy(t.get("local")) else 0
        return tag

    # ----- building state

    def add_event(
        self,
        info: str,
        attributes: Iterable[Any] = (),
        tags: Iterable[str | dict] = (),
        org: str | None = None,
        published: bool = False,
        distribution: str = "3",
        uuid: str | None = None,
        objects: Iterable[dict] = (),
        threat_level_id: str = "2",
        analysis: str = "1",
    ) -> dict:
        """Create an event. attributes: (type, value[, to_ids[, tags]]) tuples or dicts
        with MISP attribute fields. objects: {"name", "Attribute": [...]}.
        Returns the event as /events/view shows it."""
        with self.lock:
            now = self.now()
            orgc = self._org(org) if org else self.me_org
            ev = {
                "id": self._next("event"),
                "orgc_id": orgc["id"],
                "org_id": self.me_org["id"],
                "date": _dt.datetime.fromtimestamp(now, _dt.timezone.utc).date().isoformat(),
                "threat_level_id": str(threat_level_id),
                "info": info,
                "published": False,
                "uuid": uuid or str(_uuid.uuid4()),
                "attribute_count": "0",
                "analysis": str(analysis),
                "timestamp": str(now),
                "distribution": str(distribution),
                "proposal_email_lock": False,
                "locked": False,
                "publish_timestamp": "0",
                "sharing_group_id": "0",
                "disable_correlation": False,
                "extends_uuid": "",
                "protected": None,
                "event_creator_email": "admin@admin.test",
                "user_id": "1",
                "sighting_timestamp": "0",
                "Tag": [self._tag_ref(t) for t in tags],
                "Galaxy": [],
                "RelatedEvent": [],
            }
            self.events[ev["id"]] = ev
            for a in attributes:
                self._add_attribute(ev, a, "0", now)
            for o in objects:
                self._add_object(ev, o, now)
            self._count(ev)
            if published:
                self.publish(ev)
            return self.view(ev["id"])

    def _add_object(self, ev: dict, o: dict, now: int) -> dict:
        obj = {
            "id": self._next("object"),
            "name": o.get("name", "domain-ip"),
            "meta-category": o.get("meta-category", "network"),
            "description": o.get("description", ""),
            "template_uuid": o.get("template_uuid", ""),
            "template_version": str(o.get("template_version", "1")),
            "event_id": ev["id"],
            "uuid": o.get("uuid") or str(_uuid.uuid4()),
            "timestamp": str(o.get("timestamp") or now),
            "distribution": str(o.get("distribution", "5")),
            "sharing_group_id": str(o.get("sharing_group_id", "0")),
            "comment": o.get("comment", ""),
            "deleted": bool(_truthy(o.get("deleted"))),
            "first_seen": o.get("first_seen"),
            "last_seen": o.get("last_seen"),
            "ObjectReference": [],
        }
        self.objects[obj["id"]] = obj
        for a in o.get("Attribute", []):
            self._add_attribute(ev, a, obj["id"], now)
        return obj

    def _add_attribute(self, ev: dict, a: Any, object_id: str, now: int, keep_id: bool = False, validate: bool = True) -> dict | None:
        if isinstance(a, (tuple, list)):
            d: dict = {"type": a[0], "value": a[1]}
            if len(a) > 2:
                d["to_ids"] = a[2]
            if len(a) > 3:
                d["Tag"] = list(a[3])
        else:
            d = dict(a)
        typ = d.get("type")
        dt = describe_types()["result"]
        if not typ or d.get("value") in (None, ""):
            self.rejected.append({"attribute": d, "reason": "type and value are required"})
            return None
        value = str(d["value"]).strip()
        # MispAttribute::modifyBeforeValidation (the part that matters for DNS types)
        if typ in ("domain", "hostname"):
            value = value.lower().rstrip(".")
        elif typ in ("ip-dst", "ip-src"):
            try:
                value = str(ipaddress.ip_network(value, strict=False)) if "/" in value else str(ipaddress.ip_address(value))
            except ValueError:
                pass
        if validate and not self._valid(typ, value):
            self.rejected.append({"attribute": d, "reason": f"invalid {typ} value"})
            return None
        sane = dt["sane_defaults"].get(typ, {"default_category": "Other", "to_ids": 0})
        to_ids = _truthy(d.get("to_ids"))
        tags = [self._tag_ref(t) for t in d.get("Tag", [])]
        aid = str(d["id"]) if keep_id and d.get("id") and str(d["id"]) not in self.attributes else self._next("attribute")
        if keep_id:
            self._ids["attribute"] = max(self._ids["attribute"], int(aid))
        attr = {
            "id": aid,
            "event_id": ev["id"],
            "object_id": object_id,
            "object_relation": d.get("object_relation") if object_id != "0" else None,
            "category": d.get("category") or sane["default_category"],
            "type": typ,
            "value": value,
            "to_ids": bool(sane["to_ids"]) if to_ids is None else to_ids,
            "uuid": d.get("uuid") or str(_uuid.uuid4()),
            "timestamp": str(d.get("timestamp") or now),
            "distribution": str(d.get("distribution", "5")),
            "sharing_group_id": str(d.get("sharing_group_id", "0")),
            "comment": d.get("comment", "") or "",
            "deleted": bool(_truthy(d.get("deleted"))),
            "disable_correlation": bool(_truthy(d.get("disable_correlation"))),
            "first_seen": d.get("first_seen"),
            "last_seen": d.get("last_seen"),
            "Tag": tags,
            "Sighting": [],
        }
        self.attributes[aid] = attr
        return attr

    @staticmethod
    def _valid(typ: str, value: str) -> bool:
        if typ in ("domain", "hostname"):
            return HOST_RE.match(value) is not None
        if typ in ("ip-dst", "ip-src"):
            try:
                ipaddress.ip_network(value, strict=False)
                return True
            except ValueError:
                return False
        if typ == "domain|ip":
            parts = value.split("|", 1)
            return len(parts) == 2 and HOST_RE.match(parts[0].lower()) is not None
        return typ in describe_types()["result"]["types"]

    def load_event(self, data: dict) -> dict:
        """Load a real MISP event (as /events/view returns it, wrapped or not),
        keeping its ids, uuids, tags, orgs and timestamps."""
        e = data.get("Event", data)
        with self.lock:
            orgc = e.get("Orgc") or {"name": "ORGNAME"}
            orgc = self._org(orgc["name"], orgc.get("uuid"), orgc.get("id"))
            org = e.get("Org") or orgc
            org = self._org(org["name"], org.get("uuid"), org.get("id"))
            eid = str(e.get("id") or "")
            if not eid or eid in self.events:
                eid = self._next("event")
            else:
                self._ids["event"] = max(self._ids["event"], int(eid))
            ev = {k: v for k, v in e.items() if k not in ("Attribute", "Object", "Org", "Orgc", "Tag", "ShadowAttribute", "EventReport")}
            ev.update(id=eid, orgc_id=orgc["id"], org_id=org["id"])
            ev.setdefault("sighting_timestamp", "0")
            ev.setdefault("user_id", "1")
            ev["Tag"] = [self._tag_ref(t) for t in e.get("Tag", [])]
            self.events[eid] = ev
            for a in e.get("Attribute", []):
                self._add_attribute(ev, a, "0", self.now(), keep_id=True, validate=False)
            for o in e.get("Object", []):
                oid = str(o.get("id") or "")
                obj = {k: v for k, v in o.items() if k != "Attribute"}
                if not oid or oid in self.objects:
                    oid = self._next("object")
                else:
                    self._ids["object"] = max(self._ids["object"], int(oid))
                obj.update(id=oid, event_id=eid)
                obj["deleted"] = bool(_truthy(obj.get("deleted")))
                self.objects[oid] = obj
                for a in o.get("Attribute", []):
                    self._add_attribute(ev, a, oid, self.now(), keep_id=True, validate=False)
            self._count(ev)
            return self.view(eid)

    def _count(self, ev: dict) -> None:
        ev["attribute_count"] = str(sum(1 for a in self.attributes.values() if a["event_id"] == ev["id"] and not a["deleted"]))

    # ----- finding things

    def _event(self, ref: Any) -> dict:
        with self.lock:
            if isinstance(ref, dict):
                ref = ref.get("Event", ref)
                ref = ref.get("uuid") or ref.get("id")
            s = str(ref)
            for ev in self.events.values():
                if ev["id"] == s or ev["uuid"] == s:
                    return ev
            raise KeyError(f"no event {ref!r}")

    def _attr(self, ref: Any) -> dict:
        """By dict (uuid/id), uuid, numeric id, or value (the most recent attribute with that value)."""
        with self.lock:
            if isinstance(ref, dict):
                ref = ref.get("Attribute", ref)
                ref = ref.get("uuid") or ref.get("id")
            s = str(ref)
            if UUID_RE.match(s):
                for a in self.attributes.values():
                    if a["uuid"] == s:
                        return a
            elif s.isdigit() and s in self.attributes:
                return self.attributes[s]
            hits = [a for a in self.attributes.values() if a["value"] == s]
            if hits:
                return hits[-1]
            raise KeyError(f"no attribute {ref!r}")

    def attribute(self, ref: Any) -> dict:
        """A copy of an attribute as restSearch shows it."""
        with self.lock:
            return self._row(self._attr(ref), include_event_tags=False)

    # ----- test controls (MISP semantics for timestamps)

    def _touch(self, attr: dict) -> None:
        attr["timestamp"] = self._bump(attr["timestamp"])
        ev = self.events[attr["event_id"]]
        ev["timestamp"] = str(max(int(self._bump(ev["timestamp"])), int(attr["timestamp"])))
        if self.unpublish_on_change:
            ev["published"] = False
        self._count(ev)

    def add_attribute(self, event: Any, type: str, value: str, to_ids: bool = True, tags: Iterable[str | dict] = (), **fields) -> dict:
        with self.lock:
            ev = self._event(event)
            d = {"type": type, "value": value, "to_ids": to_ids, "Tag": list(tags), **fields}
            attr = self._add_attribute(ev, d, "0", self.now())
            if attr is None:
                raise ValueError(self.rejected[-1])
            ev["timestamp"] = str(max(int(self._bump(ev["timestamp"])), int(attr["timestamp"])))
            if self.unpublish_on_change:
                ev["published"] = False
            self._count(ev)
            return self.attribute(attr["id"])

    def edit_attribute(self, ref: Any, **changes) -> dict:
        """Change fields (value, to_ids, comment, category, Tag=[names], deleted…); bumps timestamps."""
        with self.lock:
            a = self._attr(ref)
            for k, v in changes.items():
                if k == "Tag" or k == "tags":
                    a["Tag"] = [self._tag_ref(t) for t in v]
                elif k in ("to_ids", "deleted", "disable_correlation"):
                    a[k] = bool(v)
                elif k in ("id", "event_id", "uuid", "timestamp"):
                    raise ValueError(f"{k} cannot be edited")
                else:
                    a[k] = v
            self._touch(a)
            return self.attribute(a["id"])

    def soft_delete(self, ref: Any) -> dict:
        return self.edit_attribute(ref, deleted=True)

    def restore(self, ref: Any) -> dict:
        return self.edit_attribute(ref, deleted=False)

    def flip_to_ids(self, ref: Any, value: bool = False) -> dict:
        return self.edit_attribute(ref, to_ids=value)

    def hard_delete(self, ref: Any) -> None:
        """Gone without trace: no timestamp anywhere tells a poller."""
        with self.lock:
            a = self._attr(ref)
            del self.attributes[a["id"]]
            self._count(self.events[a["event_id"]])

    def delete_event(self, ref: Any) -> None:
        with self.lock:
            ev = self._event(ref)
            for aid in [k for k, a in self.attributes.items() if a["event_id"] == ev["id"]]:
                del self.attributes[aid]
            for oid in [k for k, o in self.objects.items() if o["event_id"] == ev["id"]]:
                del self.objects[oid]
            del self.events[ev["id"]]

    def publish(self, ref: Any) -> dict:
        with self.lock:
            ev = self._event(ref)
            ev["published"] = True
            ev["publish_timestamp"] = self._bump(ev.get("publish_timestamp"))
            return self.view(ev["id"])

    def unpublish(self, ref: Any) -> dict:
        with self.lock:
            ev = self._event(ref)
            ev["published"] = False
            return self.view(ev["id"])

    def tag_event(self, ref: Any, tag: str | dict) -> None:
        with self.lock:
            ev = self._event(ref)
            ev["Tag"].append(self._tag_ref(tag))
            ev["timestamp"] = self._bump(ev["timestamp"])

    def fail_next(self, n: int = 1, status: int = 500, path: str | None = None) -> None:
        """The next n requests (to paths starting with `path`, if given) get `status`."""
        with self.lock:
            self._fail += [(status, path)] * n

    def malformed_next(self, n: int = 1, path: str | None = None) -> None:
        """The next n requests get 200 with truncated, invalid JSON."""
        with self.lock:
            self._malformed += [path] * n

    def set_delay(self, seconds: float) -> None:
        """Delay every reply (a slow MISP)."""
        self._delay = seconds

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix) and (method is None or r["method"] == method)]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.sightings.clear()

    # ----- rendering

    def _event_brief(self, ev: dict) -> dict:
        return {k: ev.get(k) for k in ("id", "info", "org_id", "orgc_id", "uuid", "user_id")}

    def _row(self, a: dict, include_event_tags: bool, include_event_uuid: bool = False) -> dict:
        ev = self.events[a["event_id"]]
        row = {k: v for k, v in a.items() if k not in ("Tag", "Sighting")}
        row["Event"] = self._event_brief(ev)
        if a["object_id"] != "0" and a["object_id"] in self.objects:
            o = self.objects[a["object_id"]]
            row["Object"] = {"id": o["id"], "distribution": o.get("distribution", "5"), "sharing_group_id": o.get("sharing_group_id", "0")}
        tags = [dict(t) for t in a["Tag"]]
        if include_event_tags:
            names = {t["name"] for t in tags}
            for t in ev["Tag"]:
                if t["name"] not in names:
                    tags.append({**t, "inherited": 1})
        if tags:
            row["Tag"] = tags
        if include_event_uuid:
            row["event_uuid"] = ev["uuid"]
        return row

    def _view_attr(self, a: dict) -> dict:
        d = {k: v for k, v in a.items() if k not in ("Tag", "Sighting")}
        d["Galaxy"] = []
        d["ShadowAttribute"] = []
        if a["Tag"]:
            d["Tag"] = [dict(t) for t in a["Tag"]]
        if a["Sighting"]:
            d["Sighting"] = [dict(s) for s in a["Sighting"]]
        return d

    def view(self, ref: Any, include_deleted: bool = False, metadata: bool = False) -> dict:
        """The inner Event dict of /events/view."""
        with self.lock:
            ev = self._event(ref)
            out = {k: copy.deepcopy(v) for k, v in ev.items()}
            out["Org"] = dict(self._org_by_id(ev["org_id"]))
            out["Orgc"] = dict(self._org_by_id(ev["orgc_id"]))
            if metadata:
                return out
            attrs = [a for a in self.attributes.values() if a["event_id"] == ev["id"] and (include_deleted or not a["deleted"])]
            out["Attribute"] = [self._view_attr(a) for a in attrs if a["object_id"] == "0"]
            out["ShadowAttribute"] = []
            out["Object"] = []
            for o in self.objects.values():
                if o["event_id"] != ev["id"] or (o.get("deleted") and not include_deleted):
                    continue
                od = copy.deepcopy(o)
                od["Attribute"] = [self._view_attr(a) for a in attrs if a["object_id"] == o["id"]]
                out["Object"].append(od)
            out["EventReport"] = []
            out["CryptographicKey"] = []
            return out

    def _index_entry(self, ev: dict, minimal: bool) -> dict:
        if minimal:
            return {
                "id": ev["id"],
                "timestamp": ev["timestamp"],
                "sighting_timestamp": ev.get("sighting_timestamp", "0"),
                "published": ev["published"],
                "uuid": ev["uuid"],
                "orgc_uuid": self._org_by_id(ev["orgc_id"])["uuid"],
            }
        out = {k: copy.deepcopy(v) for k, v in ev.items() if k not in ("Tag", "Galaxy", "RelatedEvent")}
        out["Org"] = {k: v for k, v in self._org_by_id(ev["org_id"]).items() if k != "local"}
        out["Orgc"] = {k: v for k, v in self._org_by_id(ev["orgc_id"]).items() if k != "local"}
        out["EventTag"] = [
            {"id": str(i + 1), "event_id": ev["id"], "tag_id": t["id"], "local": bool(t.get("local")), "Tag": {k: t[k] for k in ("id", "name", "colour", "is_galaxy")}}
            for i, t in enumerate(ev["Tag"])
        ]
        out["GalaxyCluster"] = []
        return out

    # ----- searches

    def rest_search_attributes(self, q: dict) -> tuple[list[dict], int]:
        """MispAttribute::restSearch, JSON export. Returns (page of rows, count before paging)."""
        fmt = q.get("returnFormat", "json") or "json"
        if fmt != "json":
            raise HTTPError(400, f"returnFormat {fmt} is not supported by this emulator")
        now = self.now()
        f_type = parse_filter(q.get("type"))
        f_cat = parse_filter(q.get("category"))
        f_value = parse_filter(q.get("value"))
        f_tags = parse_filter(q.get("tags"))
        f_etags = parse_filter(q.get("event_tags"))
        f_org = parse_filter(q.get("org"))
        f_eventid = parse_filter(q.get("eventid"))
        f_uuid = parse_filter(q.get("uuid"))
        f_eventinfo = parse_filter(q.get("eventinfo"))
        to_ids_v = q.get("to_ids")
        to_ids = None if isinstance(to_ids_v, list) and len(to_ids_v) != 1 else _truthy(to_ids_v[0] if isinstance(to_ids_v, list) else to_ids_v)
        deleted_v = q.get("deleted")
        if isinstance(deleted_v, list):
            dset = {bool(_truthy(x)) for x in deleted_v if _truthy(x) is not None}
            deleted = None if dset == {True, False} else (dset.pop() if dset else False)
        else:
            deleted = _truthy(deleted_v)
            deleted = False if deleted is None else deleted
        published = _truthy(q.get("published"))
        ts = time_range(q.get("timestamp"), now)
        ets = time_range(q.get("event_timestamp"), now)
        pts = time_range(q.get("publish_timestamp", q.get("last")), now)
        limit = _int(q.get("limit"))
        page = _int(q.get("page"))
        object_name = q.get("object_name")

        with self.lock:
            rows = []
            for a in self.attributes.values():
                ev = self.events[a["event_id"]]
                if deleted is not None and a["deleted"] != deleted:
                    continue
                if to_ids is not None and a["to_ids"] != to_ids:
                    continue
                if published is not None and bool(ev["published"]) != published:
                    continue
                if not (in_range(ts, a["timestamp"]) and in_range(ets, ev["timestamp"]) and in_range(pts, ev.get("publish_timestamp"))):
                    continue
                if not filter_matches(f_type, lambda x: like(x, a["type"])):
                    continue
                if not filter_matches(f_cat, lambda x: like(x, a["category"])):
                    continue
                parts = [a["value"]] + (a["value"].split("|", 1) if "|" in a["type"] else [])
                if not filter_matches(f_value, lambda x: any(like(x, p) for p in parts)):
                    continue
                all_tags = a["Tag"] + ev["Tag"]
                if not filter_matches(f_tags, lambda x: any(like(x, t["name"]) or x == t["id"] for t in all_tags)):
                    continue
                if not filter_matches(f_etags, lambda x: any(like(x, t["name"]) or x == t["id"] for t in ev["Tag"])):
                    continue
                orgc = self._org_by_id(ev["orgc_id"])
                if not filter_matches(f_org, lambda x: x == orgc["id"] or x == orgc["uuid"] or like(x, orgc["name"])):
                    continue
                if not filter_matches(f_eventid, lambda x: x == ev["id"] or x == ev["uuid"]):
                    continue
                if not filter_matches(f_uuid, lambda x: x == a["uuid"] or x == ev["uuid"]):
                    continue
                if not filter_matches(f_eventinfo, lambda x: like(x, ev["info"])):
                    continue
                if object_name and not (a["object_id"] in self.objects and self.objects[a["object_id"]].get("name") == object_name):
                    continue
                rows.append(a)
            rows = self._order(rows, q.get("order"))
            total = len(rows)
            if limit:
                p = page or 1
                rows = rows[(p - 1) * limit : p * limit]
            inc_et = bool(_truthy(q.get("includeEventTags")))
            inc_eu = bool(_truthy(q.get("includeEventUuid")))
            return [self._row(a, inc_et, inc_eu) for a in rows], total

    def _order(self, rows: list[dict], order: Any) -> list[dict]:
        key_id = lambda a: int(a["id"])  # noqa: E731
        rows = sorted(rows, key=key_id)
        if not order:
            return rows
        m = re.fullmatch(r"\s*(Attribute|Event)\.(\w+)(?:\s+(asc|desc))?\s*", str(order), re.I)
        if not m:
            raise HTTPError(400, f"Invalid order: {order}")
        model, field, direction = m.group(1).capitalize(), m.group(2), (m.group(3) or "asc").lower()
        ints = {"id", "event_id", "object_id", "timestamp", "publish_timestamp", "distribution"}
        if model == "Attribute" and field in ("id", "event_id", "type", "category", "value", "timestamp", "to_ids", "uuid", "object_id", "distribution", "first_seen", "last_seen"):
            get = lambda a: a.get(field)  # noqa: E731
        elif model == "Event" and field in ("id", "publish_timestamp", "timestamp", "info", "date"):
            get = lambda a: self.events[a["event_id"]].get(field)  # noqa: E731
        else:
            raise HTTPError(400, f"Invalid order field: {order}")
        conv = (lambda v: int(v or 0)) if field in ints else (lambda v: (v is None, v if v is not None else ""))
        return sorted(rows, key=lambda a: (conv(get(a)), key_id(a)), reverse=direction == "desc")

    def events_index(self, q: dict) -> list[dict]:
        now = self.now()
        published = _truthy(q.get("published", q.get("searchpublished")))
        ts = time_range(q.get("timestamp"), now)
        pts = time_range(q.get("publish_timestamp"), now)
        f_eventid = parse_filter(q.get("eventid"))
        f_org = parse_filter(q.get("org"))
        f_tags = parse_filter(q.get("tags"))
        f_info = parse_filter(q.get("eventinfo"))
        minimal = bool(_truthy(q.get("minimal")))
        limit, page = _int(q.get("limit")), _int(q.get("page"))
        with self.lock:
            evs = []
            for ev in sorted(self.events.values(), key=lambda e: int(e["id"])):
                if published is not None and bool(ev["published"]) != published:
                    continue
                if not (in_range(ts, ev["timestamp"]) and in_range(pts, ev.get("publish_timestamp"))):
                    continue
                if not filter_matches(f_eventid, lambda x: x == ev["id"] or x == ev["uuid"]):
                    continue
                orgc = self._org_by_id(ev["orgc_id"])
                if not filter_matches(f_org, lambda x: x == orgc["id"] or like(x, orgc["name"])):
                    continue
                if not filter_matches(f_tags, lambda x: any(like(x, t["name"]) for t in ev["Tag"])):
                    continue
                if not filter_matches(f_info, lambda x: like(x, ev["info"])):
                    continue
                evs.append(ev)
            sort = q.get("sort")
            if sort in ("id", "timestamp", "publish_timestamp", "date", "info"):
                conv = (lambda v: int(v or 0)) if sort in ("id", "timestamp", "publish_timestamp") else (lambda v: v or "")
                evs.sort(key=lambda e: conv(e.get(sort)), reverse=str(q.get("direction", "asc")).lower() == "desc")
            if limit:
                p = page or 1
                evs = evs[(p - 1) * limit : p * limit]
            return [self._index_entry(ev, minimal) for ev in evs]

    # ----- writes from clients

    def http_add_event(self, body: Any) -> dict:
        e = _unwrap_event(body)
        if not e.get("info"):
            raise HTTPError(403, "Could not add Event", "Info cannot be empty.", {"saved": False, "errors": {"Event": {"info": ["Info cannot be empty."]}}})
        with self.lock:
            if e.get("uuid"):
                for ev in self.events.values():
                    if ev["uuid"] == e["uuid"]:
                        raise HTTPError(
                            404,
                            "Event already exists, if you would like to edit it, use the url in the location header.",
                            extra={"_location": f"/events/view/{ev['id']}"},
                        )
            orgc = (e.get("Orgc") or {}).get("name")
            view = self.add_event(
                e["info"],
                attributes=[_tags_to_names(a) for a in e.get("Attribute", [])],
                tags=e.get("Tag", []),
                org=orgc,
                published=False,
                distribution=str(e.get("distribution", "1")),
                uuid=e.get("uuid"),
                objects=[{**o, "Attribute": [_tags_to_names(a) for a in o.get("Attribute", [])]} for o in e.get("Object", [])],
                threat_level_id=str(e.get("threat_level_id", "4")),
                analysis=str(e.get("analysis", "0")),
            )
            if _truthy(e.get("published")):
                view = self.publish(view["id"])
            return view

    def http_edit_event(self, ref: str, body: Any) -> dict:
        e = _unwrap_event(body)
        with self.lock:
            try:
                ev = self._event(ref)
            except KeyError:
                raise HTTPError(404, "Invalid event") from None
            if e.get("timestamp") is not None and int(e["timestamp"]) <= int(ev["timestamp"]):
                raise HTTPError(403, "Event could not be saved: Event in the request not newer than the local copy.")
            now = self.now()
            for k in ("info", "threat_level_id", "analysis", "distribution", "date"):
                if k in e and e[k] is not None:
                    ev[k] = str(e[k]) if k != "info" else e[k]
            if "Tag" in e:
                ev["Tag"] = [self._tag_ref(t) for t in e["Tag"]]
            changed = False
            for a in e.get("Attribute", []):
                changed |= self._upsert_attribute(ev, a, "0", now)
            for o in e.get("Object", []):
                obj = next((x for x in self.objects.values() if x["uuid"] == o.get("uuid")), None)
                if obj is None:
                    self._add_object(ev, {**o, "Attribute": []}, now)
                    obj = next(x for x in self.objects.values() if x["uuid"] == o.get("uuid")) if o.get("uuid") else list(self.objects.values())[-1]
                for a in o.get("Attribute", []):
                    changed |= self._upsert_attribute(ev, a, obj["id"], now)
            newest = max([int(a["timestamp"]) for a in self.attributes.values() if a["event_id"] == ev["id"]] or [0])
            ev["timestamp"] = str(int(e["timestamp"])) if e.get("timestamp") else str(max(int(self._bump(ev["timestamp"])), newest))
            ev["published"] = bool(_truthy(e.get("published")))
            if ev["published"]:
                ev["publish_timestamp"] = self._bump(ev.get("publish_timestamp"))
            self._count(ev)
            return self.view(ev["id"])

    def _upsert_attribute(self, ev: dict, a: dict, object_id: str, now: int) -> bool:
        """events/edit: attributes are matched by uuid; one not newer than the stored copy is skipped;
        attributes absent from the request are kept (MISP deletes only through deleted:true)."""
        a = _tags_to_names(a)
        cur = next((x for x in self.attributes.values() if a.get("uuid") and x["uuid"] == a["uuid"]), None)
        if cur is None:
            return self._add_attribute(ev, a, object_id, now) is not None
        if a.get("timestamp") is not None and int(a["timestamp"]) <= int(cur["timestamp"]):
            return False
        for k in ("value", "category", "comment", "distribution", "first_seen", "last_seen", "type"):
            if k in a:
                cur[k] = a[k]
        for k in ("to_ids", "deleted", "disable_correlation"):
            if k in a:
                cur[k] = bool(_truthy(a[k]))
        if "Tag" in a:
            cur["Tag"] = [self._tag_ref(t) for t in a["Tag"]]
        cur["timestamp"] = str(int(a["timestamp"])) if a.get("timestamp") else self._bump(cur["timestamp"])
        return True

    def http_add_sighting(self, path_ref: str | None, body: Any) -> dict:
        body = body if isinstance(body, dict) else {}
        body = body.get("Sighting", body)
        values = _as_list(body.get("values")) + _as_list(body.get("value"))
        ref = path_ref or body.get("uuid") or body.get("id")
        stype = str(body.get("type", "0"))
        with self.lock:
            targets: list[dict] = []
            if ref:
                try:
                    targets = [self._attr(str(ref))] if (UUID_RE.match(str(ref)) or str(ref).isdigit()) else []
                except KeyError:
                    targets = []
            else:
                vals = {str(v) for v in values}
                targets = [a for a in self.attributes.values() if not a["deleted"] and (a["value"] in vals)]
            rec = {
                "path": path_ref,
                "value": body.get("value"),
                "values": body.get("values"),
                "id": body.get("id"),
                "uuid": body.get("uuid"),
                "type": stype,
                "source": body.get("source", ""),
                "timestamp": body.get("timestamp"),
                "body": body,
                "attribute_ids": [a["id"] for a in targets],
                "received": self.clock(),
            }
            self.sightings.append(rec)
            if not targets:
                return {"message": "Could not add the Sighting. Reason: No valid attributes found that match the sighting criteria."}
            last = None
            for a in targets:
                s = {
                    "id": self._next("sighting"),
                    "attribute_id": a["id"],
                    "event_id": a["event_id"],
                    "org_id": self.me_org["id"],
                    "date_sighting": str(int(float(body.get("timestamp") or self.now()))),
                    "uuid": str(_uuid.uuid4()),
                    "source": body.get("source", ""),
                    "type": stype,
                    "value": a["value"],
                }
                a["Sighting"].append(s)
                self.events[a["event_id"]]["sighting_timestamp"] = str(self.now())
                last = s
            return {"Sighting": dict(last)}


def _unwrap_event(body: Any) -> dict:
    if not isinstance(body, dict):
        raise HTTPError(400, "Invalid event: the body is not a JSON object")
    if isinstance(body.get("response"), (dict, list)):
        body = body["response"]
        if isinstance(body, list):
            body = body[0] if body else {}
    return body.get("Event", body)


def _tags_to_names(a: dict) -> dict:
    a = dict(a)
    if "Tag" in a:
        a["Tag"] = [t if isinstance(t, str) else {k: t[k] for k in ("name", "local", "colour", "id", "numerical_value") if k in t} for t in a["Tag"]]
    return a


# ---------------------------------------------------------------------------
# HTTP


def _named_params(segments: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """CakePHP named params in the path: /events/view/12/deleted[]:0/deleted[]:1/excludeGalaxy:1."""
    plain, named = [], {}
    for s in segments:
        s = unquote(s)
        if ":" in s and not UUID_RE.match(s):
            k, v = s.split(":", 1)
            named.setdefault(k.replace("[]", ""), []).append(v)
        else:
            plain.append(s)
    return plain, named


class _Handler(BaseHTTPRequestHandler):
    emulator: MispEmulator
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""

    def log_message(self, *a) -> None:  # quiet
        pass

    # --- plumbing

    def _body(self) -> tuple[Any, bytes]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        enc = (self.headers.get("Content-Encoding") or "").lower()
        if enc == "gzip":
            raw = gzip.decompress(raw)
        elif enc == "deflate":
            raw = zlib.decompress(raw)
        elif enc == "br":
            try:
                import brotli  # type: ignore

                raw = brotli.decompress(raw)
            except ImportError:
                raise HTTPError(415, "br request bodies need the brotli module") from None
        if not raw:
            return None, raw
        try:
            return json.loads(raw), raw
        except ValueError:
            return {"_unparsed": raw.decode("utf-8", "replace")}, raw

    def _send(self, status: int, obj: Any = None, headers: dict | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-MISP-Emulator", VERSION)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, name: str, message: str | None = None, extra: dict | None = None) -> None:
        extra = dict(extra or {})
        headers = {}
        if "_location" in extra:
            headers["Location"] = extra.pop("_location")
        body = {"name": name, "message": message or name, "url": urlsplit(self.path).path, **extra}
        self._send(status, body, headers)

    def _auth(self) -> str | None:
        """The role of the key sent, or None. X-MISP-AUTH wins over Authorization."""
        emu = self.emulator
        hdr = self.headers.get("X-MISP-AUTH") or self.headers.get("Authorization") or ""
        for k in hdr.split(","):
            k = k.strip()
            if not k or k.startswith("Basic"):
                continue
            if k in emu.keys:
                return emu.keys[k]
        return None

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        emu = self.emulator
        split = urlsplit(self.path)
        path = split.path
        try:
            body, raw = self._body()
        except Exception as e:  # noqa: BLE001
            self._error(400, f"Unreadable request body: {e}")
            return
        rec = {
            "method": self.command,
            "path": path,
            "query": parse_qs(split.query),
            "body": body,
            "headers": {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "x-misp-auth")},
            "authorized": None,
            "status": None,
            "time": emu.clock(),
        }
        with emu.lock:
            emu.requests.append(rec)
        if emu._delay:
            time.sleep(emu._delay)
        role = self._auth()
        rec["authorized"] = role is not None
        if role is None:
            rec["status"] = 403
            self._error(403, AUTH_FAILED)
            return
        with emu.lock:
            fail = next((i for i, (_, p) in enumerate(emu._fail) if p is None or path.startswith(p)), None)
            status = emu._fail.pop(fail)[0] if fail is not None else None
            malformed = False
            if status is None:
                mal = next((i for i, p in enumerate(emu._malformed) if p is None or path.startswith(p)), None)
                if mal is not None:
                    emu._malformed.pop(mal)
                    malformed = True
        if status is not None:
            rec["status"] = status
            rec["injected"] = "fail"
            self._error(status, "Internal Error" if status >= 500 else "Error", "An Internal Error Has Occurred." if status >= 500 else None)
            return
        if malformed:
            rec["status"] = 200
            rec["injected"] = "malformed"
            self._send(200, raw=b'{"response": {"Attribute": [{"id": "1", "event_id": "1", "type": "doma')
            return
        try:
            status, obj, headers = self._route(path, body, role)
        except HTTPError as e:
            rec["status"] = e.status
            self._error(e.status, e.name, e.message, e.extra)
            return
        except BadRequest as e:
            rec["status"] = 400
            self._error(400, str(e))
            return
        except Exception as e:  # noqa: BLE001 - a bug in the emulator shows as a 500, as in MISP
            rec["status"] = 500
            self._error(500, "Internal Error", f"{type(e).__name__}: {e}")
            return
        rec["status"] = status
        self._send(status, obj, headers)

    def _route(self, path: str, body: Any, role: str) -> tuple[int, Any, dict]:
        emu = self.emulator
        m = self.command
        p = path.rstrip("/")
        if p.endswith(".json"):
            p = p[: -len(".json")]
        segs = [s for s in p.split("/") if s]
        plain, named = _named_params(segs)
        q = body if isinstance(body, dict) else {}

        if plain[:2] == ["servers", "getVersion"] and m == "GET":
            perms = _role(role)
            return 200, {
                "version": VERSION,
                "pymisp_recommended_version": VERSION,
                "perm_sync": perms["perm_sync"],
                "perm_sighting": perms["perm_sighting"],
                "perm_galaxy_editor": perms["perm_galaxy_editor"],
                "perm_analyst_data": perms["perm_analyst_data"],
                "uuid": emu.server_uuid,
                "request_encoding": ["gzip", "br"],
                "filter_sightings": True,
            }, {}
        if plain[:2] == ["users", "view"] and m == "GET":
            if len(plain) < 3 or plain[2] not in ("me", "1"):
                raise HTTPError(404, "Invalid user")
            return 200, _user(emu, role), {}
        if plain[:2] == ["attributes", "describeTypes"] and m == "GET":
            return 200, describe_types(), {}
        if plain[:2] == ["attributes", "restSearch"] and m in ("POST", "GET"):
            if len(plain) > 2 and "returnFormat" not in q:
                q = {**q, "returnFormat": plain[2]}
            for k, v in named.items():
                q.setdefault(k, v if len(v) > 1 else v[0])
            rows, total = emu.rest_search_attributes(q)
            return 200, {"response": {"Attribute": rows}}, {"X-Result-Count": str(total), "X-Skipped-Elements-Count": "0"}
        if plain[:2] == ["events", "index"] and m in ("POST", "GET"):
            for k, v in named.items():
                q.setdefault(k, v if len(v) > 1 else v[0])
            return 200, emu.events_index(q), {}
        if plain[:2] == ["events", "view"] and len(plain) == 3 and m in ("GET", "HEAD", "POST"):
            deleted = named.get("deleted", []) + [str(int(bool(_truthy(x)))) for x in _as_list(q.get("deleted")) if _truthy(x) is not None]
            include_deleted = "1" in deleted or any(str(x).lower() == "true" for x in deleted)
            try:
                ev = emu.view(plain[2], include_deleted=include_deleted)
            except KeyError:
                raise HTTPError(404, "Invalid event.") from None
            return 200, ({"Event": ev} if m != "HEAD" else None), {}
        if plain[:2] == ["events", "add"] and m == "POST":
            _need(role, "perm_add")
            ev = emu.http_add_event(body)
            if "metadata" in named:
                ev = {k: v for k, v in ev.items() if k not in ("Attribute", "Object")}
            return 200, {"Event": ev}, {}
        if plain[:2] == ["events", "edit"] and len(plain) == 3 and m in ("POST", "PUT"):
            _need(role, "perm_modify")
            ev = emu.http_edit_event(plain[2], body)
            if "metadata" in named:
                ev = {k: v for k, v in ev.items() if k not in ("Attribute", "Object")}
            return 200, {"Event": ev}, {}
        if plain[:2] == ["events", "filterEventIdsForPush"] and m == "POST":
            out = []
            with emu.lock:
                for item in body if isinstance(body, list) else []:
                    e = item.get("Event", item)
                    cur = next((x for x in emu.events.values() if x["uuid"] == e.get("uuid")), None)
                    if cur is None or int(e.get("timestamp") or 0) > int(cur["timestamp"]):
                        out.append(e.get("uuid"))
            return 200, out, {}
        if plain[:2] == ["events", "publish"] and len(plain) == 3 and m == "POST":
            _need(role, "perm_publish")
            try:
                ev = emu.publish(plain[2])
            except KeyError:
                raise HTTPError(404, "Invalid event.") from None
            return 200, {"name": "Publish", "message": "Job queued", "url": f"/events/publish/{ev['id']}", "id": ev["id"]}, {}
        if plain[:2] == ["sightings", "add"] and m == "POST":
            _need(role, "perm_sighting")
            return 200, emu.http_add_sighting(plain[2] if len(plain) > 2 else None, body), {}
        raise HTTPError(404, "Not Found", f"The requested address '{path}' was not found on this server.")


_ROLES = {
    "admin": dict.fromkeys(
        ["perm_add", "perm_modify", "perm_modify_org", "perm_publish", "perm_delegate", "perm_sync", "perm_admin", "perm_audit", "perm_auth",
         "perm_site_admin", "perm_regexp_access", "perm_tagger", "perm_template", "perm_sharing_group", "perm_tag_editor", "perm_sighting",
         "perm_object_template", "perm_publish_zmq", "perm_publish_kafka", "perm_decaying", "perm_galaxy_editor", "perm_warninglist",
         "perm_view_feed_correlations", "perm_analyst_data", "perm_skip_otp", "perm_server_sign", "perm_sync_internal", "perm_sync_authoritative"],
        True,
    ),
}
_ROLES["sync"] = {**dict.fromkeys(_ROLES["admin"], False), **dict.fromkeys(
    ["perm_add", "perm_modify", "perm_modify_org", "perm_publish", "perm_sync", "perm_tagger", "perm_sighting", "perm_auth"], True)}
_ROLES["reader"] = {**dict.fromkeys(_ROLES["admin"], False), "perm_auth": True}
_ROLES["user"] = {**dict.fromkeys(_ROLES["admin"], False), **dict.fromkeys(["perm_add", "perm_modify", "perm_tagger", "perm_sighting", "perm_auth"], True)}
_ROLE_IDS = {"admin": "1", "sync": "5", "reader": "6", "user": "3"}


def _role(role: str) -> dict:
    return _ROLES.get(role, _ROLES["reader"])


def _need(role: str, perm: str) -> None:
    if not _role(role).get(perm):
        raise HTTPError(403, "You do not have permission to use this functionality.")


def _user(emu: MispEmulator, role: str) -> dict:
    now = str(emu.now())
    return {
        "User": {
            "id": "1",
            "org_id": emu.me_org["id"],
            "server_id": "0",
            "email": "admin@admin.test",
            "autoalert": False,
            "invited_by": "0",
            "gpgkey": None,
            "certif_public": "",
            "nids_sid": "4000000",
            "termsaccepted": True,
            "newsread": "0",
            "role_id": _ROLE_IDS.get(role, "6"),
            "change_pw": False,
            "contactalert": False,
            "disabled": False,
            "expiration": None,
            "current_login": now,
            "last_login": now,
            "last_api_access": now,
            "force_logout": False,
            "date_created": None,
            "date_modified": now,
            "last_pw_change": now,
            "sub": None,
            "external_auth_required": False,
            "external_auth_key": "",
            "notification_daily": False,
            "notification_weekly": False,
            "notification_monthly": False,
            "totp": None,
            "hotp_counter": None,
        },
        "Role": {"id": _ROLE_IDS.get(role, "6"), "name": role, **_role(role), "default_role": False, "memory_limit": "", "max_execution_time": "",
                 "restricted_to_site_admin": False, "enforce_rate_limit": False, "rate_limit_count": "0", "permission": "3"},
        "UserSetting": [],
        "Organisation": {k: v for k, v in emu.me_org.items() if k != "local"},
        "Server": {"id": None, "name": None},
    }


# ---------------------------------------------------------------------------
# Standalone


def generate_domains(emu: MispEmulator, count: int, per_event: int = 1000, tags: Iterable[str] = ("tlp:green", 'rsit:malicious-code="malware-distribution"')) -> None:
    """Fill the emulator with `count` to_ids domain attributes (bench data)."""
    i = 0
    while i < count:
        n = min(per_event, count - i)
        emu.add_event(f"generated {i}..{i + n - 1}", [("domain", f"gen{j}.bench-{j % 97}.invalid", True) for j in range(i, i + n)], tags=list(tags), published=True)
        i += n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MISP REST API emulator (loopback only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default=DEFAULT_KEY)
    ap.add_argument("--seed", action="append", default=[], help="a MISP event JSON file (/events/view shape); repeatable")
    ap.add_argument("--generate", type=int, default=0, help="also add N generated to_ids domain attributes")
    ap.add_argument("--per-event", type=int, default=1000)
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the emulator listens on loopback only")
    emu = MispEmulator(key=args.key, host=args.host, port=args.port)
    for f in args.seed:
        emu.load_event(json.loads(Path(f).read_text()))
    if args.generate:
        generate_domains(emu, args.generate, args.per_event)
    emu.start()
    print(json.dumps({"url": emu.url, "key": emu.key, "events": len(emu.events), "attributes": len(emu.attributes)}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
