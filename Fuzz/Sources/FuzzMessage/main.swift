// DNS messages from the wire: what every UDP, TCP, DoT and DoH query goes through.
//
// - `QueryScan.scan` (the allocation-free hot path, and the first step of a DoH body) never
//   traps, and when it says `.query` the strict parser accepts the message and agrees on every
//   field it read.
// - `WireScan.skipName` never traps and stays inside the buffer.
// - `Message(parsing:)` either throws a `DNSWireError` with an offset inside the input, or
//   parse -> encode -> parse gives back an equal message and re-encoding that gives the same
//   bytes (unless the decompressed message no longer fits in 65535 bytes, when records are
//   dropped as documented).
// - Soft (notes, not crashes): every parsed record (other than OPT and meta types) prints as
//   text that parses back to it (`RData(presentation:type:)`, `ResourceRecord(presentation:)`).
import DNSWire
import FuzzSupport

func checkScan(_ data: UnsafeRawBufferPointer, _ parsed: Message?) {
    let s = QueryScan.scan(data)
    // skipName from a few starting points.
    for start in [12, data.count / 2, max(0, data.count - 3)] where start < data.count {
        if let end = WireScan.skipName(data, start) {
            require(end > start && end <= data.count, "WireScan.skipName(\(start)) = \(end) outside 0...\(data.count)")
        }
    }
    guard s.outcome == .query else {
        if data.count < 12 { require(s.outcome == .runt, "QueryScan: \(data.count) bytes is not a runt but \(s.outcome)") }
        return
    }
    guard let m = parsed else {
        violated("QueryScan said .query but Message(parsing:) rejects it")
    }
    require(m.header.id == s.id && m.header.flags == s.flags, "QueryScan header \(s.id)/\(s.flags) != \(m.header)")
    require(m.questions.count == 1 && m.answers.isEmpty && m.authorities.isEmpty && m.additionals.isEmpty, "QueryScan .query for \(m)")
    let q = m.questions[0]
    require(q.type.rawValue == s.qtype && q.rrClass.rawValue == s.qclass, "QueryScan type/class \(s.qtype)/\(s.qclass) vs \(q)")
    require(s.nameEnd == 12 + q.name.wire.count, "QueryScan nameEnd \(s.nameEnd) for a \(q.name.wire.count)-byte name")
    require(s.lastLabel >= 12 && s.lastLabel < s.nameEnd, "QueryScan lastLabel \(s.lastLabel) outside the name")
    let hash = QueryScan.keyHash(
        lowercasedName: q.name.lowercasedWire, type: s.qtype, rrClass: s.qclass, dnssecOK: m.edns?.dnssecOK ?? false)
    require(hash == s.keyHash, "QueryScan keyHash differs from keyHash(lowercasedName:) for \(q)")
    require(s.hasEDNS == (m.edns != nil), "QueryScan hasEDNS \(s.hasEDNS) vs \(String(describing: m.edns))")
    if let e = m.edns {
        require(s.ednsVersion == e.version && s.dnssecOK == e.dnssecOK, "QueryScan EDNS version/DO vs \(e)")
        require(max(512, s.udpPayloadSize) == e.udpPayloadSize, "QueryScan payload \(s.udpPayloadSize) vs \(e.udpPayloadSize)")
    }
}

/// Wire record -> text -> record. The RPZ transfer client turns records from AXFR/IXFR into
/// zone text this way (`TransferClient.zoneText`), so a record that does not survive is a rule
/// silently skipped. Gaps are reported as notes (once per type and reason), not crashes: the
/// wire decoder is deliberately more lenient than the zone-file parser in places.
func checkPresentation(_ rr: ResourceRecord) {
    guard rr.type != .opt, !rr.type.isMetaType else { return }
    let text = rr.rdata.description
    do {
        let back = try RData(presentation: text, type: rr.type)
        if back != rr.rdata { note("\(rr.type) RDATA text differs", "\(rr.type) '\(text)' parsed as '\(back)'") }
    } catch {
        note("\(rr.type) RDATA text rejected: \(error.reason.prefix { $0 != ":" })", "\(rr.type) '\(text)': \(error)")
        return
    }
    let line = rr.description
    do {
        let back = try ResourceRecord(presentation: line)
        if back != rr { note("\(rr.type) record text differs", "'\(line)' parsed as '\(back)'") }
    } catch {
        note("\(rr.type) record text rejected: \(error.reason.prefix { $0 != ":" })", "'\(line)': \(error)")
    }
}

/// Bytes of `rr` encoded on its own (compressed within itself only): an upper bound on what it
/// adds to a message that already holds other names.
func alone(_ rr: ResourceRecord) -> Int {
    ((try? Message(answers: [rr]).encode()) ?? []).count - 12
}

func test(_ data: UnsafeRawBufferPointer) {
    let bytes = [UInt8](data)
    let first: Message
    do {
        first = try Message(parsing: bytes)
    } catch {
        require(error.offset >= -1 && error.offset <= bytes.count, "error offset \(error.offset) outside the input: \(error)")
        checkScan(data, nil)
        return
    }
    checkScan(data, first)
    let wire: [UInt8]
    do {
        wire = try first.encode()
    } catch {
        // Only a question section that no longer fits once decompressed may fail to encode.
        require(error.code == .messageTooLarge, "a parsed message does not encode: \(error)")
        return
    }
    let second: Message
    do {
        second = try Message(parsing: wire)
    } catch {
        violated("the encoding of a parsed message does not parse: \(error)\nencoded: \(hex(wire))")
    }
    let kept = (second.answers.count, second.authorities.count, second.additionals.count)
    if kept != (first.answers.count, first.authorities.count, first.additionals.count) {
        // Dropped records: only allowed when the message really did not fit.
        let records = first.answers + first.authorities + first.additionals
        let bound = 12 + first.questions.reduce(0) { $0 + $1.name.wire.count + 4 } + records.reduce(0) { $0 + alone($1) }
            + (first.edns.map { (try? Message.encodeOPT($0, rcode: first.rcode))?.count ?? 0 } ?? 0)
        require(bound > 65535, "records dropped from a message of at most \(bound) bytes")
        return
    }
    require(second == first, "parse -> encode -> parse differs\nfirst:  \(first)\nsecond: \(second)")
    do {
        let again = try second.encode()
        require(again == wire, "re-encoding the re-parsed message gives other bytes")
    } catch {
        violated("the re-parsed message does not encode: \(error)")
    }
    _ = first.description
    for rr in first.answers + first.authorities + first.additionals { checkPresentation(rr) }
}

fuzzMain(test)
