import Testing

@testable import DNSWire

@Suite("EDNS")
struct EDNSTests {
    static let cases: [(EDNSOption, String)] = [
        (.extendedError(ExtendedError(code: .blocked, extraText: "malware; source=misp; id=42")), "EDE 15 (malware; source=misp; id=42)"),
        (.extendedError(ExtendedError(code: .filtered)), "EDE 17"),
        (.extendedError(ExtendedError(code: EDECode(4000), extraText: "é")), "EDE 4000 (é)"),
        // Text from the network cannot break a log line.
        (.extendedError(ExtendedError(code: .other, extraText: "a\nb\u{7F}")), "EDE 0 (a\\010b\\127)"),
        (.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2])), "ECS 192.0.2.0/24/0"),
        (.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 0, scopePrefix: 0, address: [])), "ECS 0.0.0.0/0/0"),
        (.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 23, scopePrefix: 16, address: [10, 1, 2])), "ECS 10.1.2.0/23/16"),
        (
            .clientSubnet(ClientSubnet(family: 2, sourcePrefix: 56, scopePrefix: 48, address: hex("20010db8123400"))),
            "ECS 2001:db8:1234::/56/48"
        ),
        (.cookie(client: hex("0102030405060708"), server: []), "COOKIE 0102030405060708"),
        (
            .cookie(client: hex("7f2dc237d61d976d"), server: hex("010000006b0c0ef1d9eb1a270a2f3c40")),
            "COOKIE 7f2dc237d61d976d010000006b0c0ef1d9eb1a270a2f3c40"
        ),
        (
            .cookie(client: [UInt8](repeating: 1, count: 8), server: [UInt8](repeating: 2, count: 32)),
            "COOKIE " + String(repeating: "01", count: 8) + String(repeating: "02", count: 32)
        ),
        (.padding(0), "PADDING 0"),
        (.padding(300), "PADDING 300"),
        (.unknown(code: EDNSOptionCode(3), data: Array("knot-golden".utf8)), "OPT3 6b6e6f742d676f6c64656e"),
        (.unknown(code: EDNSOptionCode(65001), data: []), "OPT65001"),
    ]

    @Test("every EDNS option round-trips and prints", arguments: 0..<cases.count)
    func optionRoundTrip(_ i: Int) throws {
        let (option, text) = Self.cases[i]
        #expect(option.description == text)
        let m = Message(
            header: Header(id: 1), questions: [Question(name: n("example.com."), type: .a)],
            edns: EDNS(udpPayloadSize: 1232, options: [option]))
        try roundTrip(m)
    }

    @Test("all options together, OPT fields, and the convenience accessors")
    func allOptions() throws {
        let e = EDNS(
            udpPayloadSize: 4096, extendedRcode: 0, version: 0, dnssecOK: true, otherFlags: 0x1234,
            options: Self.cases.map(\.0))
        let m = Message(questions: [Question(name: n("example.com."), type: .aaaa)], edns: e)
        let wire = try roundTrip(m)
        let back = try Message(parsing: wire)
        #expect(back.edns?.options.count == Self.cases.count)
        #expect(back.edns?.dnssecOK == true)
        #expect(back.edns?.otherFlags == 0x1234)
        #expect(back.edns?.extendedError?.code == .blocked)
        #expect(back.edns?.clientSubnet?.sourcePrefix == 24)
        #expect(back.edns?.cookie?.client == hex("0102030405060708"))
        #expect(back.edns?.cookie?.server == [])
        #expect(back.additionals.isEmpty)
    }

    @Test("OPT record wire form (RFC 6891 section 6.1.2)")
    func optWire() throws {
        let e = EDNS(udpPayloadSize: 1232, dnssecOK: true, options: [.cookie(client: hex("0102030405060708"), server: [])])
        #expect(try Message.encodeOPT(e, rcode: .noError) == hex("00 0029 04d0 00008000 000c 000a0008 0102030405060708"))
        // The extended rcode's high 8 bits go in the first TTL octet; version in the second.
        let bad = EDNS(udpPayloadSize: 512, version: 1)
        #expect(try Message.encodeOPT(bad, rcode: .badVers) == hex("00 0029 0200 01010000 0000"))
    }

    @Test("the 12-bit rcode is split between the header and the OPT record")
    func extendedRcode() throws {
        var m = Message(header: Header(id: 9, flags: 0x8000), questions: [Question(name: n("a."), type: .a)], edns: EDNS())
        m.rcode = .badCookie
        #expect(m.header.headerRcode == 7)
        #expect(m.edns?.extendedRcode == 1)
        let back = try Message(parsing: try roundTrip(m))
        #expect(back.rcode == .badCookie)
        #expect(back.rcode.rawValue == 23)

        // Without EDNS only the low four bits can be carried.
        var plain = Message(header: Header(id: 9))
        plain.rcode = .badVers
        #expect(plain.rcode == .noError)
        plain.rcode = .nxDomain
        #expect(try Message(parsing: plain.encode()).rcode == .nxDomain)
    }

    @Test("a UDP payload size below 512 is read as 512 (RFC 6891 section 6.2.3)")
    func smallPayload() throws {
        let wire = packet(flags: 0, ar: 1, hex("00 0029 0000 00000000 0000"))
        let m = try Message(parsing: wire)
        #expect(m.edns?.udpPayloadSize == 512)
        #expect(try Message(parsing: m.encode()) == m)
        #expect(try Message.encodeOPT(EDNS(udpPayloadSize: 100), rcode: .noError)[3...4] == [0x02, 0x00])
    }

    @Test("padding is written as zeros whatever was received")
    func paddingZeros() throws {
        let wire = packet(flags: 0, ar: 1, hex("00 0029 04d0 00000000 0007 000c0003 ffeedd"))
        let m = try Message(parsing: wire)
        #expect(m.edns?.options == [.padding(3)])
        #expect(try m.encode() == packet(flags: 0, ar: 1, hex("00 0029 04d0 00000000 0007 000c0003 000000")))
    }

    @Test("options too long for the OPT record throw instead of trapping")
    func oversizedOptions() {
        let e = EDNS(options: [.padding(40000), .padding(40000)])
        #expect(throws: DNSWireError(.badEDNS, at: -1)) { try Message.encodeOPT(e, rcode: .noError) }
        #expect(throws: DNSWireError(.badEDNS, at: -1)) { try Message.encodeOPT(EDNS(options: [.padding(70000)]), rcode: .noError) }
        #expect(throws: DNSWireError(.badEDNS, at: -1)) { try Message.encodeOPT(EDNS(options: [.padding(-1)]), rcode: .noError) }
        #expect(throws: DNSWireError.self) { try Message(edns: e).encode() }
    }
}
