import DNSTestSupport
import Testing

@testable import DNSWire

/// One typed RDATA value, the zone-file text it must print as (what knot/kdig print, or the RFC
/// example), and where known its exact uncompressed wire form.
struct RDataCase: Sendable, CustomStringConvertible {
    let rdata: RData
    let text: String
    let wire: [UInt8]?
    init(_ rdata: RData, _ text: String, wire: [UInt8]? = nil) {
        self.rdata = rdata
        self.text = text
        self.wire = wire
    }
    var description: String { "\(rdata.type) \(text)" }
}

enum RDataCases {
    static let ecsV4 = ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2])

    static let svcb = RData.SVCB(
        priority: 1, target: .root,
        params: [
            .init(key: RData.SvcParam.alpn, value: [2] + Array("h2".utf8) + [2] + Array("h3".utf8)),
            .init(key: RData.SvcParam.port, value: [0x01, 0xBB]),
            .init(key: RData.SvcParam.ipv4hint, value: [192, 0, 2, 1]),
        ])

    static let https = RData.SVCB(
        priority: 2, target: n("web.example.com."),
        params: [
            .init(key: RData.SvcParam.mandatory, value: [0, 1, 0, 3]),
            .init(key: RData.SvcParam.alpn, value: [2] + Array("h3".utf8)),
            .init(key: RData.SvcParam.noDefaultALPN, value: []),
            .init(key: RData.SvcParam.port, value: [0x20, 0xFB]),
            .init(key: RData.SvcParam.ech, value: base64("AEX+DQBBpQAgACBcEAs=")),
            .init(key: RData.SvcParam.ipv6hint, value: hex("20010db8000000000000000000000001")),
            .init(key: RData.SvcParam.dohpath, value: Array("/dns-query{?dns}".utf8)),
            .init(key: 65000, value: []),
        ])

    /// RFC 4034 §3.3 example RRSIG.
    static let rrsig = RData.RRSIG(
        typeCovered: .a, algorithm: 5, labels: 3, originalTTL: 86400, expiration: 1_048_354_263,
        inception: 1_045_762_263, keyTag: 2642, signerName: n("example.com."),
        signature: base64(
            "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl"
                + "8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o="))

    static let all: [RDataCase] = [
        RDataCase(.a(IPv4Address("192.0.2.1")!), "192.0.2.1", wire: [192, 0, 2, 1]),
        RDataCase(.aaaa(IPv6Address("2001:db8::1")!), "2001:db8::1", wire: hex("20010db8000000000000000000000001")),
        RDataCase(.aaaa(IPv6Address("::ffff:192.0.2.1")!), "::ffff:192.0.2.1"),
        RDataCase(.ns(n("ns1.example.com.")), "ns1.example.com.", wire: hex("036e7331076578616d706c6503636f6d00")),
        RDataCase(.cname(n("Target.Example.com.")), "Target.Example.com."),
        RDataCase(.dname(n("example.org.")), "example.org."),
        RDataCase(.ptr(n("www.example.com.")), "www.example.com."),
        RDataCase(
            .soa(
                .init(
                    mname: n("ns1.example.com."), rname: n("host\\.master.example.com."), serial: 2_024_010_101,
                    refresh: 7200, retry: 3600, expire: 1_209_600, minimum: 300)),
            "ns1.example.com. host\\.master.example.com. 2024010101 7200 3600 1209600 300"),
        RDataCase(.mx(preference: 10, exchange: n("mail.example.com.")), "10 mail.example.com."),
        RDataCase(.mx(preference: 0, exchange: .root), "0 .", wire: [0, 0, 0]),
        RDataCase(.txt([Array("v=spf1 -all".utf8)]), "\"v=spf1 -all\"", wire: [11] + Array("v=spf1 -all".utf8)),
        RDataCase(
            .txt([Array("multi".utf8), Array("string\"quoted".utf8), Array("esc\\aped".utf8), [1] + Array("bin".utf8), []]),
            "\"multi\" \"string\\\"quoted\" \"esc\\\\aped\" \"\\001bin\" \"\""),
        RDataCase(.txt([[0xC3, 0xA9, 0x7F, 0x20]]), "\"\\195\\169\\127 \""),
        RDataCase(
            .srv(priority: 10, weight: 60, port: 5060, target: n("sip.example.com.")), "10 60 5060 sip.example.com.",
            wire: hex("000a003c13c4 03736970076578616d706c6503636f6d00")),
        RDataCase(
            .naptr(
                .init(
                    order: 100, preference: 10, flags: Array("S".utf8), services: Array("SIP+D2U".utf8), regexp: [],
                    replacement: n("_sip._udp.example.com."))),
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com."),
        RDataCase(
            .naptr(
                .init(
                    order: 100, preference: 50, flags: Array("u".utf8), services: Array("E2U+sip".utf8),
                    regexp: Array("!^.*$!sip:info@example.com!".utf8), replacement: .root)),
            "100 50 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" ."),
        RDataCase(
            .caa(flags: 0, tag: Array("issue".utf8), value: Array("letsencrypt.org".utf8)), "0 issue \"letsencrypt.org\"",
            wire: [0, 5] + Array("issueletsencrypt.org".utf8)),
        RDataCase(
            .caa(flags: 128, tag: Array("iodef".utf8), value: Array("mailto:sec@example.com".utf8)),
            "128 iodef \"mailto:sec@example.com\""),
        // A tag that is not letters and digits (RFC 8659 §4.1.1) prints in the generic form.
        RDataCase(.caa(flags: 0, tag: Array("a b".utf8), value: [0x0A]), "\\# 6 00036120620A"),
        RDataCase(.caa(flags: 0, tag: Array("x\n".utf8), value: []), "\\# 4 0002780A"),
        RDataCase(
            .svcb(svcb), "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
            wire: hex("0001 00 0001000602683202683300030002 01bb 00040004c0000201")),
        RDataCase(.svcb(.init(priority: 0, target: n("pool.example.com."), params: [])), "0 pool.example.com."),
        RDataCase(
            .https(https),
            "2 web.example.com. mandatory=alpn,port alpn=h3 no-default-alpn port=8443 ech=AEX+DQBBpQAgACBcEAs= "
                + "ipv6hint=2001:db8::1 dohpath=\"/dns-query{?dns}\" key65000"),
        RDataCase(
            .https(
                .init(
                    priority: 1, target: .root,
                    params: [
                        .init(key: RData.SvcParam.alpn, value: [3] + Array("h,2".utf8) + [2] + Array("\\x".utf8)),
                        .init(key: RData.SvcParam.port, value: [1]),
                        .init(key: 9, value: Array("a b".utf8)),
                    ])),
            "1 . alpn=h\\\\,2,\\\\\\\\x key3=\"\\001\" key9=\"a b\""),
        RDataCase(
            .ds(.init(keyTag: 60485, algorithm: 5, digestType: 1, digest: hex("2BB183AF5F22588179A53B0A98631FAD1A292118"))),
            "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
            wire: hex("ec45 05 01 2bb183af5f22588179a53b0a98631fad1a292118")),
        RDataCase(
            .dnskey(
                .init(
                    flags: 257, protocolField: 3, algorithm: 13,
                    publicKey: base64(
                        "qw3R5uPol2bbJNHXq6EqLjVtLlmkpaD94Dm55LAWy+Ouo8Vaz0L58oRc5JvXcfZXxz8Dc9uAGl3k6K78Tfeziw=="))),
            "257 3 13 qw3R5uPol2bbJNHXq6EqLjVtLlmkpaD94Dm55LAWy+Ouo8Vaz0L58oRc5JvXcfZXxz8Dc9uAGl3k6K78Tfeziw=="),
        RDataCase(.dnskey(.init(flags: 256, protocolField: 3, algorithm: 8, publicKey: [1, 2])), "256 3 8 AQI="),
        RDataCase(
            .rrsig(rrsig),
            "A 5 3 86400 20030322173103 20030220173103 2642 example.com. "
                + "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl"
                + "8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o="),
        RDataCase(
            .rrsig(
                .init(
                    typeCovered: RRType(65280), algorithm: 13, labels: 0, originalTTL: 0, expiration: .max, inception: 0,
                    keyTag: 0, signerName: .root, signature: [0])),
            "TYPE65280 13 0 0 21060207062815 19700101000000 0 . AA=="),
        // RFC 4034 §4.3: the NSEC example and its exact wire form.
        RDataCase(
            .nsec(next: n("host.example.com."), types: TypeBitmap([.a, .mx, .rrsig, .nsec, RRType(1234)])),
            "host.example.com. A MX RRSIG NSEC TYPE1234",
            wire: hex("04686f7374076578616d706c6503636f6d00") + hex("0006400100000003 041b")
                + [UInt8](repeating: 0, count: 26) + [0x20]),
        RDataCase(.nsec(next: n("a.example."), types: TypeBitmap([])), "a.example."),
        // RFC 5155 Appendix A.
        RDataCase(
            .nsec3(
                .init(
                    hashAlgorithm: 1, flags: 1, iterations: 12, salt: hex("aabbccdd"),
                    nextHashedOwner: base32hex("2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
                    types: TypeBitmap([.mx, .dnskey, .ns, .soa, .nsec3param, .rrsig]))),
            "1 1 12 AABBCCDD 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM"),
        RDataCase(
            .nsec3(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: [], nextHashedOwner: [0xFF], types: TypeBitmap([]))),
            "1 0 0 - vs"),
        RDataCase(.nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 12, salt: hex("aabbccdd"))), "1 0 12 AABBCCDD"),
        RDataCase(.nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: [])), "1 0 0 -", wire: [1, 0, 0, 0, 0]),
        RDataCase(
            .tlsa(
                usage: 3, selector: 1, matchingType: 1,
                data: hex("0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6")),
            "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"),
        // RFC 3597 §5 generic form, for a type Bulwark does not model.
        RDataCase(.unknown(RRType(65280), [0x0A, 0, 0, 1]), "\\# 4 0A000001", wire: [0x0A, 0, 0, 1]),
        RDataCase(.unknown(RRType(4321), []), "\\# 0", wire: []),
        RDataCase(.unknown(.hinfo, [2] + Array("PC".utf8) + [5] + Array("Linux".utf8)), "\\# 9 025043054C696E7578"),
        RDataCase(
            .opt([.extendedError(ExtendedError(code: .blocked, extraText: "x")), .padding(2)]), "EDE 15 (x) PADDING 2",
            wire: hex("000f0003000f78 000c00020000")),
    ]
}

@Suite("RDATA")
struct RDataTests {
    @Test("every typed RDATA case prints as zone-file text", arguments: RDataCases.all)
    func presentation(_ c: RDataCase) {
        #expect(c.rdata.description == c.text)
    }

    @Test("every typed RDATA case has the expected uncompressed wire form", arguments: RDataCases.all.filter { $0.wire != nil })
    func wireForm(_ c: RDataCase) throws {
        #expect(try c.rdata.wireBytes() == c.wire)
    }

    @Test("every typed RDATA case round-trips in each section of a message", arguments: RDataCases.all)
    func roundTripEachSection(_ c: RDataCase) throws {
        // The owner shares no suffix with the RDATA names, so the printed case survives compression.
        let rr = ResourceRecord(name: n("Owner.Test."), ttl: 3600, rdata: c.rdata)
        let q = Question(name: n("owner.test."), type: c.rdata.type)
        try roundTrip(Message(header: Header(id: 7, flags: 0x8400), questions: [q], answers: [rr]))
        try roundTrip(Message(questions: [q], authorities: [rr]))
        if c.rdata.type != .opt {
            try roundTrip(Message(questions: [q], additionals: [rr], edns: EDNS()))
        }
        // The parsed RDATA keeps its type and its text.
        let wire = try Message(answers: [rr]).encode()
        let back = try Message(parsing: wire)
        #expect(back.answers.first?.rdata.type == c.rdata.type)
        #expect(back.answers.first?.rdata.description == c.text)
    }

    @Test("one message holding every case round-trips")
    func roundTripAll() throws {
        var m = Message(
            header: Header(id: 0xBEEF, flags: 0x8580), questions: [Question(name: n("example.com."), type: .any)],
            edns: EDNS(udpPayloadSize: 4096, dnssecOK: true, options: [.padding(0)]))
        for (i, c) in RDataCases.all.enumerated() where c.rdata.type != .opt {
            let rr = ResourceRecord(name: n("r\(i).example.com."), ttl: UInt32(i), rdata: c.rdata)
            switch i % 3 {
            case 0: m.answers.append(rr)
            case 1: m.authorities.append(rr)
            default: m.additionals.append(rr)
            }
        }
        let wire = try roundTrip(m)
        let back = try Message(parsing: wire)
        #expect(back.answers.count + back.authorities.count + back.additionals.count == RDataCases.all.count - 1)
        #expect(back.edns?.dnssecOK == true)
        #expect(back.edns?.udpPayloadSize == 4096)
    }

    @Test("values that have no wire form throw badRData instead of trapping")
    func invalidValues() {
        let long = [UInt8](repeating: 0x61, count: 256)
        let invalid: [RData] = [
            .txt([]),
            .txt([long]),
            .caa(flags: 0, tag: [], value: []),
            .caa(flags: 0, tag: long, value: []),
            .naptr(.init(order: 0, preference: 0, flags: long, services: [], regexp: [], replacement: .root)),
            .nsec3(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: [], nextHashedOwner: [], types: TypeBitmap([]))),
            .nsec3(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: long, nextHashedOwner: [1], types: TypeBitmap([]))),
            .nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: long)),
            .svcb(.init(priority: 1, target: .root, params: [.init(key: 1, value: [UInt8](repeating: 0, count: 65536))])),
        ]
        for rdata in invalid {
            #expect(throws: DNSWireError(.badRData, at: -1), "\(rdata.type)") { try rdata.wireBytes() }
            let m = Message(answers: [ResourceRecord(name: .root, ttl: 0, rdata: rdata)])
            #expect(throws: DNSWireError(.badRData, at: -1), "\(rdata.type)") { try m.encode() }
        }
        // RDATA longer than RDLENGTH can say.
        let huge = Message(answers: [ResourceRecord(name: .root, ttl: 0, rdata: .unknown(RRType(999), [UInt8](repeating: 0, count: 65536)))]
        )
        #expect(throws: DNSWireError(.badRData, at: -1)) { try huge.encode() }
    }

    @Test("record presentation is owner, TTL, class, type, RDATA")
    func recordDescription() throws {
        let rr = ResourceRecord(name: n("www.example.com."), ttl: 300, rdata: .a(IPv4Address("192.0.2.7")!))
        #expect(rr.description == "www.example.com.\t300\tIN\tA\t192.0.2.7")
        let other = ResourceRecord(name: n("x."), rrClass: RRClass(42), ttl: 0, rdata: .unknown(RRType(999), [0xAB]))
        #expect(other.description == "x.\t0\tCLASS42\tTYPE999\t\\# 1 AB")
        #expect(Question(name: n("a."), type: .https).description == "a. IN HTTPS")
    }

    @Test("RRSIG times print as YYYYMMDDHHmmSS in UTC")
    func rrsigTimes() {
        #expect(Presentation.time(0) == "19700101000000")
        #expect(Presentation.time(951_868_799) == "20000229235959")
        #expect(Presentation.time(951_868_800) == "20000301000000")
        #expect(Presentation.time(1_797_161_943) == "20261213113903")
        #expect(Presentation.time(.max) == "21060207062815")
    }

    @Test("base64, base32hex and hex encoders")
    func encoders() {
        // RFC 4648 §10 test vectors.
        let vectors = ["", "f", "fo", "foo", "foob", "fooba", "foobar"].map { Array($0.utf8) }
        #expect(vectors.map(Presentation.base64) == ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"])
        #expect(vectors.map(Presentation.base32hex) == ["", "co", "cpng", "cpnmu", "cpnmuog", "cpnmuoj1", "cpnmuoj1e8"])
        #expect(Presentation.hex([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(Presentation.unhex("00abFF") == [0x00, 0xAB, 0xFF])
        #expect(Presentation.unhex("abc") == nil)
        #expect(Presentation.unhex("zz") == nil)
        var rng = SplitMix64(seed: 64)
        for len in 0..<40 {
            let bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(base64(Presentation.base64(bytes)) == bytes)
            #expect(base32hex(Presentation.base32hex(bytes)) == bytes)
            #expect(Presentation.unhex(Presentation.hex(bytes)) == bytes)
        }
    }

    @Test("TypeBitmap encodes windows in order, drops empty windows and trailing zero octets")
    func typeBitmap() throws {
        var w = WireWriter(compression: false)
        TypeBitmap([.a, .caa, RRType(65535), .a]).encode(into: &w)
        // Window 0: A (bit 1) -> 1 octet; window 1: CAA (257 = 1 << 8 | 1) -> 1 octet; window 255: bit 255 -> 32 octets.
        #expect(w.bytes == hex("00 01 40  01 01 40  ff 20") + [UInt8](repeating: 0, count: 31) + [0x01])
        var r = WireReader(w.bytes)
        #expect(try TypeBitmap.decode(&r).types == [.a, .caa, RRType(65535)])

        var empty = WireWriter()
        TypeBitmap([]).encode(into: &empty)
        #expect(empty.bytes.isEmpty)

        // A received bitmap with trailing zero octets decodes to the same set.
        var padded = WireReader(hex("0003 400000"))
        #expect(try TypeBitmap.decode(&padded) == TypeBitmap([.a]))
        #expect(TypeBitmap([.mx, .a, .mx]).types == [.a, .mx])
    }

    @Test("RRType and RRClass mnemonics")
    func mnemonics() {
        #expect(RRType(mnemonic: "aaaa") == .aaaa)
        #expect(RRType(mnemonic: "TYPE65280") == RRType(65280))
        #expect(RRType(mnemonic: "type1") == .a)
        #expect(RRType(mnemonic: "NOPE") == nil)
        #expect(RRType(mnemonic: "TYPE70000") == nil)
        #expect(RRType.cds.description == "CDS")
        #expect(RRType.cdnskey.description == "CDNSKEY")
        #expect(RRType(4321).description == "TYPE4321")
        #expect(RRClass(3).description == "CH")
        #expect(RRClass(77).description == "CLASS77")
        #expect(RRType.opt.isMetaType)
        #expect(RRType.axfr.isMetaType)
        #expect(!RRType.a.isMetaType)
        #expect(Rcode(0xFFFF).rawValue == 0x0FFF)
        #expect(Opcode(0xFF).rawValue == 0x0F)
        #expect(Rcode.badCookie.description == "BADCOOKIE")
    }
}
