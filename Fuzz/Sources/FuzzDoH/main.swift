// What DoH (RFC 8484) adds in front of the DNS parser: the base64url `dns` parameter of a GET,
// the Content-Type check of a POST, and the freshness lifetime (Cache-Control max-age) computed
// from every answer (`DoHCoding`, DNSWire). Each input is read three ways:
//
// - as a `dns` parameter: `decodeParameter` never traps, yields at most 65535 bytes, and what it
//   accepts is exactly one encoding (re-encoding gives the text back, padding dropped and `+` `/`
//   as `-` `_`). The decoded bytes then go where the server sends them: `QueryScan.scan` (when it
//   says `.query`, `Message(parsing:)` agrees) and `freshness`, checked as below.
// - as a Content-Type header (its first line): `isMessageType` agrees with a plain reference
//   (media type before `;`, SP/HTAB trimmed, ASCII case-insensitive).
// - as message bytes: `encodeParameter` -> `decodeParameter` gives them back; `freshness` never
//   traps and, when `Message(parsing:)` accepts the bytes, equals the smallest TTL of the parsed
//   records (OPT excluded, top-bit TTLs as 0, a negative answer's SOA capped by its MINIMUM).
import DNSWire
import FuzzSupport

func referenceFreshness(_ m: Message) -> UInt32 {
    func ttl(_ v: UInt32) -> UInt32 { v & 0x8000_0000 == 0 ? v : 0 }
    var lifetime: UInt32? = nil
    for rr in m.answers + m.authorities + m.additionals where rr.type != .opt {
        var t = ttl(rr.ttl)
        if m.answers.isEmpty, case .soa(let soa) = rr.rdata { t = min(t, ttl(soa.minimum)) }
        lifetime = min(lifetime ?? t, t)
    }
    return lifetime ?? 0
}

func checkMessage(_ bytes: [UInt8]) {
    let parsed = try? Message(parsing: bytes)
    let fresh = DoHCoding.freshness(bytes)
    if let m = parsed {
        let expected = referenceFreshness(m)
        require(fresh == expected, "freshness \(fresh), the parsed records say \(expected): \(m)")
    }
    let scan = bytes.withUnsafeBytes { QueryScan.scan($0) }
    if scan.outcome == .query {
        require(parsed != nil, "QueryScan said .query but Message(parsing:) rejects it")
    }
}

func referenceIsMessageType(_ header: [UInt8]) -> Bool {
    let type = header.prefix { $0 != UInt8(ascii: ";") }
    let trimmed = type.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
    let lowered = trimmed.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    return lowered == Array("application/dns-message".utf8)
}

func test(_ data: UnsafeRawBufferPointer) {
    let bytes = [UInt8](data)

    // A `dns` parameter (a query string is text: invalid UTF-8 never reaches the decoder).
    let text = String(decoding: bytes, as: UTF8.self)
    if let decoded = DoHCoding.decodeParameter(text) {
        require(decoded.count <= DoHCoding.maxMessage, "\(decoded.count) bytes decoded")
        var canonical = Array(text.utf8)
        while canonical.last == UInt8(ascii: "=") { canonical.removeLast() }
        canonical = canonical.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
        let again = DoHCoding.encodeParameter(decoded)
        require(Array(again.utf8) == canonical, "'\(text)' decodes to bytes that encode as '\(again)'")
        checkMessage(decoded)
    }

    // A Content-Type header.
    let header = Array(bytes.prefix { $0 != 0x0A })
    let type = String(decoding: header, as: UTF8.self)
    if Array(type.utf8) == header {  // valid UTF-8, as HTTP field values reach us
        require(DoHCoding.isMessageType(type) == referenceIsMessageType(header), "isMessageType('\(type)')")
    }

    // A message (a POST body, or an answer).
    let encoded = DoHCoding.encodeParameter(bytes)
    require(DoHCoding.decodeParameter(encoded) == bytes || bytes.count > DoHCoding.maxMessage, "encode -> decode differs")
    checkMessage(bytes)
}

fuzzMain(test)
