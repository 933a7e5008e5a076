#!/usr/bin/env python3
"""Regenerates the seed corpora in Fuzz/Corpus/<target>/ from the repository's real data.

Sources (all already in the repository or in shared/data beside it):
- message:     the Knot DNS golden packets (Tests/DNSWireTests/GoldenPackets.swift), one file per
               query and per response.
- zonefile:    kdig's text of the golden records (one file per packet, $ORIGIN-free absolute
               names) and the zone texts of Tests/DNSWireTests/ZoneFileTests.swift.
- rpz:         the RPZ zones of Tests/PolicyTests/FormatTests.swift and Tests/RPZTests.
- lists:       the domain/hosts/adblock texts of FormatTests.swift and slices of the real
               urlhaus-filter domain list (Tests/Data).
- warninglist: the warninglist texts of FormatTests.swift and the real tranco10k warninglist cut
               to its first 40 entries.
- doh:         each golden query as a base64url `dns` parameter, each golden response as bytes
               (for the freshness scan), and a few Content-Type values.
- misp:        the real PyMISP event (shared/data or Tests/ThreatIntelTests/Data) cut to a few
               attributes and objects, and the JSON texts of MISPJSONTests.swift.

Run from anywhere: python3 Fuzz/Corpus/make-seeds.py. Existing seed files are replaced; files the
fuzzers added are not touched (they live in Fuzz/.build/corpus, not here).
"""
import base64
import hashlib
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Fuzz", "Corpus")


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60]
    with open(os.path.join(d, f"{safe}-{hashlib.sha1(data).hexdigest()[:8]}"), "wb") as f:
        f.write(data)


def swift_literals(path):
    """Multi-line string literals of a Swift file (without interpolation), dedented as Swift
    does, each with the text that follows its closing quotes on the same line."""
    text = read(path).decode()
    out = []
    for m in re.finditer(r'"""\n(.*?)\n([ \t]*)"""([^\n]*)', text, re.S):
        body, indent, after = m.group(1), m.group(2), m.group(3)
        if "\\(" in body:
            continue
        lines = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in body.split("\n")]
        s = "\n".join(lines)
        s = s.replace("\\\\", "\x00").replace("\\t", "\t").replace('\\"', '"').replace("\\n", "\n").replace("\x00", "\\")
        before = text[max(0, m.start() - 80):m.start()]
        out.append((s + "\n", before, after))
    return out


def golden():
    text = read("Tests/DNSWireTests/GoldenPackets.swift").decode()
    for m in re.finditer(r'label: "([^"]+)".*?queryHex: """\n(.*?)"""\s*,\s*responseHex: """\n(.*?)""".*?kdigText: \[(.*?)\]', text, re.S):
        label, q, r, kdig = m.groups()
        q = bytes.fromhex("".join(q.split()))
        r = bytes.fromhex("".join(r.split()))
        lines = [json.loads(l) for l in re.findall(r'^\s*("(?:[^"\\]|\\.)*"),?\s*$', kdig, re.M)]
        yield label, q, r, lines


def main():
    n = 0
    rpz_local = []
    for label, q, r, lines in golden():
        if len(q) <= 4096:
            write("message", f"{label}-query", q)
        if len(r) <= 4096:
            write("message", f"{label}-response", r)
            write("doh", f"{label}-response", r)
        write("doh", f"{label}-get", base64.urlsafe_b64encode(q).rstrip(b"="))
        if lines:
            write("zonefile", label, "\n".join(lines[:40]) + "\n")
            # The same records as RPZ local data (owner made relative to the policy zone).
            local = [f"local{i}.example " + l.split(" ", 1)[1] for i, l in enumerate(lines[:10]) if " " in l]
            rpz_local.append("\n".join(local))
        n += 1
    print(f"golden packets: {n}")
    for ct in ["application/dns-message", "Application/DNS-Message; charset=utf-8", " application/dns-message\t;", "application/dns-json"]:
        write("doh", "content-type", ct)
    head = "$TTL 300\n$ORIGIN rpz.local.\n@ SOA localhost. root.localhost. 1 3600 600 86400 60\n@ NS localhost.\n"
    for i in range(0, len(rpz_local), 6):
        write("rpz", "golden-local-data", head + "\n".join(rpz_local[i:i + 6]) + "\n")
    # tests/integration/test_rpz.py: an rpz-ip trigger zone.
    write("rpz", "integration-ips", "$TTL 60\n@ SOA localhost. root.localhost. 1 3600 600 86400 60\n@ NS localhost.\n32.26.2.0.192.rpz-ip CNAME .\n")

    for s, before, after in swift_literals("Tests/DNSWireTests/ZoneFileTests.swift"):
        write("zonefile", "zonefiletests", s)
    for s, before, after in swift_literals("Tests/RPZTests/RPZZoneTests.swift"):
        write("rpz", "rpzzonetests", s)
    for s, before, after in swift_literals("Tests/PolicyTests/FormatTests.swift"):
        fmt = re.search(r"\.(rpz|hosts|domains|adblock|warninglist)\)", after)
        fmt = fmt.group(1) if fmt else ("rpz" if "static let zone" in before else None)
        if fmt is None:
            continue
        target = {"rpz": "rpz", "warninglist": "warninglist"}.get(fmt, "lists")
        write(target, f"formattests-{fmt}", s)
    for s, before, after in swift_literals("Tests/ThreatIntelTests/Normalize/MISPJSONTests.swift"):
        if s.lstrip().startswith(("{", "[")):
            write("misp", "mispjsontests", s)

    # Real list files, cut into slices the fuzzer can handle (max_len 4096 by default).
    urlhaus = read("Tests/Data/urlhaus-filter-domains-online.txt")
    write("lists", "urlhaus-head", urlhaus[:3000].rsplit(b"\n", 1)[0] + b"\n")
    mid = urlhaus[len(urlhaus) // 2:][:3000]
    write("lists", "urlhaus-middle", mid.split(b"\n", 1)[1].rsplit(b"\n", 1)[0] + b"\n")
    write("lists", "hosts-from-urlhaus", b"".join(b"0.0.0.0 " + l + b"\n" for l in urlhaus[:2000].split(b"\n")[8:40] if l))
    write("lists", "adblock-from-urlhaus", b"".join(b"||" + l + b"^\n" for l in urlhaus[:2000].split(b"\n")[8:40] if l))

    tranco = json.loads(read("Tests/Data/misp-warninglist-tranco10k.json"))
    tranco["list"] = tranco["list"][:40]
    write("warninglist", "tranco10k-head", json.dumps(tranco, indent=2))
    write("warninglist", "cidr", json.dumps({"name": "cidr", "type": "cidr", "version": 1,
                                              "list": ["192.0.2.0/24", "2001:db8::/32", "10.1.2.3", "::ffff:192.0.2.1/120"],
                                              "matching_attributes": ["ip-dst", "ip-src"]}, indent=2))

    for path in ("../shared/data/pymisp_existing_event.json", "Tests/ThreatIntelTests/Data/pymisp_existing_event.json"):
        if os.path.exists(os.path.join(ROOT, path)):
            event = json.loads(read(path))
            break
    attrs = [a for a in event["Attribute"] if a.get("type") in ("domain", "ip-dst", "url", "hostname")][:3]
    objects = [o for o in event["Object"] if o.get("name") == "domain-ip"][:2]
    small = {k: v for k, v in event.items() if k not in ("Attribute", "Object", "Galaxy", "RelatedEvent")}
    small["Attribute"], small["Object"] = attrs, objects
    small["Tag"] = small.get("Tag", [])[:3]
    write("misp", "pymisp-event", json.dumps(small, indent=1))
    write("misp", "pymisp-event-wrapped", json.dumps({"Event": small}))
    rows = []
    for a in attrs:
        row = dict(a)
        row["Event"] = {"id": event.get("id"), "uuid": event["uuid"], "info": event.get("info"), "Orgc": event.get("Orgc")}
        rows.append(row)
    write("misp", "restsearch", json.dumps({"response": {"Attribute": rows}}))
    write("misp", "manifest", json.dumps({event["uuid"]: {"info": event.get("info"), "date": event.get("date"),
                                                           "timestamp": event.get("timestamp"), "Orgc": event.get("Orgc"),
                                                           "Tag": small["Tag"], "threat_level_id": event.get("threat_level_id"),
                                                           "analysis": event.get("analysis")}}))

    total = 0
    for d, _, files in os.walk(OUT):
        for f in files:
            if d != OUT:
                total += os.path.getsize(os.path.join(d, f))
    print(f"corpus: {total} bytes")
    for t in sorted(os.listdir(OUT)):
        if os.path.isdir(os.path.join(OUT, t)):
            print(f"  {t}: {len(os.listdir(os.path.join(OUT, t)))} files")


if __name__ == "__main__":
    sys.exit(main())
