import DNSWire
import Testing

/// Findings of the libFuzzer `message` target (Fuzz/, docs/fuzzing.md) — not crashes: records
/// that the wire decoder accepted but whose presentation text the zone-file parser rejected.
/// The RPZ transfer client turns transferred records into zone text (`TransferClient.zoneText`)
/// for the RPZ list parser, so such a record from a primary was skipped as a bad line. They now
/// print in a generic form (RFC 3597 for the record; `key0=` for a `mandatory` that lists a key
/// the record does not have), which parses back to the same record.
@Suite("Fuzz findings: wire records whose text must parse back")
struct FuzzFindingsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var rdata: RData
        var testDescription: String { label }
    }

    static let owner = try! Name("x.example.")
    static let target = try! Name("web.example.test.")

    static let cases: [Case] = [
        // RFC 9460 §8 makes a zone file's `mandatory` list only keys that are present; on the wire
        // it is not checked, and the printer writes `mandatory=port` which the text parser rejects.
        Case(
            label: "SVCB mandatory lists an absent key",
            rdata: .svcb(.init(priority: 1, target: .root, params: [.init(key: RData.SvcParam.mandatory, value: [0x00, 0x03])]))),
        Case(
            label: "HTTPS mandatory lists an absent key",
            rdata: .https(
                .init(
                    priority: 2, target: target,
                    params: [
                        .init(key: RData.SvcParam.mandatory, value: [0x00, 0x01, 0x1C, 0x03]),
                        .init(key: RData.SvcParam.alpn, value: [0x02, 0x68, 0x33]),
                    ]))),
        // Key 65535 is reserved: the text parser does not take `key65535`.
        Case(
            label: "HTTPS with the reserved key 65535",
            rdata: .https(
                .init(
                    priority: 1, target: .root,
                    params: [.init(key: RData.SvcParam.alpn, value: [0xFF, 0xFF]), .init(key: 0xFFFF, value: [0x20, 0x01])]))),
        // An empty trailing base64/hex field prints as nothing, and the parser says "missing".
        Case(
            label: "DNSKEY with an empty public key",
            rdata: .dnskey(.init(flags: 49152, protocolField: 2, algorithm: 1, publicKey: []))),
        Case(label: "DS with an empty digest", rdata: .ds(.init(keyTag: 49152, algorithm: 2, digestType: 2, digest: []))),
        Case(
            label: "RRSIG with an empty signature",
            rdata: .rrsig(
                .init(
                    typeCovered: .a, algorithm: 13, labels: 2, originalTTL: 300, expiration: 1_800_000_000,
                    inception: 1_790_000_000, keyTag: 56374, signerName: target, signature: []))),
        Case(label: "TLSA with empty association data", rdata: .tlsa(usage: 1, selector: 197, matchingType: 211, data: [])),
    ]

    @Test(arguments: cases)
    func wireAcceptedTextParsesBack(_ c: Case) throws {
        // The wire decoder accepts it (parse -> build -> re-parse agree).
        let rr = ResourceRecord(name: Self.owner, ttl: 60, rdata: c.rdata)
        let wire = try Message(answers: [rr]).encode()
        #expect(try Message(parsing: wire).answers == [rr])
        // Its text parses back to it (a generic form: of the record, or of the `mandatory` key).
        #expect(c.rdata.description.hasPrefix("\\# ") || c.rdata.description.contains("key0="))
        let rdata = try RData(presentation: c.rdata.description, type: c.rdata.type)
        #expect(rdata == c.rdata)
        let record = try ResourceRecord(presentation: rr.description)
        #expect(record == rr)
    }
}
