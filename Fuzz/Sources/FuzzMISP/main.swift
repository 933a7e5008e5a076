// MISP JSON as Bulwark receives it: events pushed to the MISP-compatible API or fetched from a
// feed (`MISPJSON.event`), `attributes/restSearch` answers (`MISPJSON.attributes`) and feed
// manifests (`MISPJSON.manifest`), then each attribute's value through the indicator
// normaliser (`IntelNormalizer.values`), as ingestion does.
//
// - Decoding never traps: it returns values or throws an `IntelRejection` with a reason.
// - Every attribute has a non-empty uuid and type (the decoder rejects others).
// - Normalised names are what `IntelValue` documents: lowercase ASCII, no trailing dot, labels
//   of 1...63 bytes, at most 253 bytes, at least two labels, and a valid DNS name; addresses
//   and prefixes are canonical text that parses back to the same value.
import DNSWire
import Foundation
import FuzzIntel
import FuzzSupport

func checkValue(_ v: IntelValue, from raw: String) {
    switch v.kind {
    case .domain, .hostname:
        let n = v.value
        require(!n.isEmpty && n.utf8.count <= 253, "name '\(n)' (from '\(raw)') is empty or longer than 253")
        require(n.utf8.allSatisfy { $0 < 0x80 && !($0 >= 0x41 && $0 <= 0x5A) }, "name '\(n)' (from '\(raw)') is not lowercase ASCII")
        require(!n.hasSuffix("."), "name '\(n)' (from '\(raw)') ends with a dot")
        let labels = n.split(separator: ".", omittingEmptySubsequences: false)
        require(labels.count >= 2, "name '\(n)' (from '\(raw)') has fewer than two labels")
        require(labels.allSatisfy { (1...63).contains($0.utf8.count) }, "name '\(n)' (from '\(raw)') has an empty or long label")
        require((try? Name(n)) != nil, "name '\(n)' (from '\(raw)') is not a DNS name")
    case .ip:
        guard let a = IPAddress(v.value) else { violated("ip '\(v.value)' (from '\(raw)') does not parse") }
        require(a.description == v.value, "ip '\(v.value)' (from '\(raw)') is not canonical: \(a)")
    case .cidr:
        guard let c = CIDR(v.value) else { violated("cidr '\(v.value)' (from '\(raw)') does not parse") }
        require(c.description == v.value, "cidr '\(v.value)' (from '\(raw)') is not canonical: \(c)")
    }
}

func checkAttributes(_ attrs: [MISPAttribute]) {
    for a in attrs {
        require(!a.uuid.isEmpty && !a.type.isEmpty, "attribute without uuid or type: \(a)")
        _ = a.allTags
        if case .success(let values) = IntelNormalizer.values(mispType: a.type, value: a.value) {
            for v in values { checkValue(v, from: a.value) }
        }
    }
}

fuzzMain { data in
    let json = Data(data)
    if let event = try? MISPJSON.event(from: json) {
        require(!event.uuid.isEmpty, "event without uuid")
        checkAttributes(event.attributes)
    }
    if let attrs = try? MISPJSON.attributes(fromRestSearch: json) { checkAttributes(attrs) }
    if let entries = try? MISPJSON.manifest(from: json) {
        require(zip(entries, entries.dropFirst()).allSatisfy { $0.uuid < $1.uuid }, "manifest entries not sorted by uuid")
    }
}
