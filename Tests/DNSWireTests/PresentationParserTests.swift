import DNSTestSupport
import Testing

@testable import DNSWire

/// Parses `text` as RDATA of `type`; the error it throws, or nil.
func presentationError(_ text: String, _ type: RRType, origin: Name? = nil) -> DNSWireError? {
    do {
        _ = try RData(presentation: text, type: type, origin: origin)
        return nil
    } catch {
        return error
    }
}

/// A known-good presentation text, the RDATA it must parse to, and where known its wire form.
struct ParseCase: Sendable, CustomStringConvertible {
    let type: RRType
    let text: String
    let rdata: RData?
    let wire: [UInt8]?
    init(_ type: RRType, _ text: String, _ rdata: RData? = nil, wire: [UInt8]? = nil) {
        self.type = type
        self.text = text
        self.rdata = rdata
        self.wire = wire
    }
    var description: String { "\(type) \(text)" }
}

enum ParseCases {
    static let fooExampleCom = hex("03666f6f076578616d706c6503636f6d00")
    static let fooExampleOrg = hex("03666f6f076578616d706c65036f726700")

    /// RFC examples and other known-good text, in the forms people write (not only ours).
    static let all: [ParseCase] = [
        // RFC 3597 §5: the generic form for unknown and known types.
        ParseCase(RRType(731), "\\# 6 abcd ( ef 01 23 45 )", .unknown(RRType(731), hex("abcdef012345"))),
        ParseCase(RRType(62347), "\\# 0", .unknown(RRType(62347), [])),
        ParseCase(.a, "\\# 4 0A000001", .a(IPv4Address("10.0.0.1")!)),
        ParseCase(.a, "\\# 4 C0000201", .a(IPv4Address("192.0.2.1")!)),
        ParseCase(.a, "10.0.0.2", .a(IPv4Address("10.0.0.2")!)),
        ParseCase(.ns, "\\# 17 036e7331076578616d706c6503636f6d00", .ns(n("ns1.example.com."))),
        ParseCase(.txt, "\\# 3 02 6869", .txt([Array("hi".utf8)])),
        ParseCase(.aaaa, "2001:DB8:0:0:0:0:0:1", .aaaa(IPv6Address("2001:db8::1")!)),
        ParseCase(.aaaa, "::ffff:192.0.2.1", .aaaa(IPv6Address("::ffff:c000:201")!)),
        // RFC 1035 §5.3 style SOA across lines, with comments and timer units.
        ParseCase(
            .soa,
            """
            VENERA.ISI.EDU. Action\\.domains.ISI.EDU. (
                20      ; SERIAL
                7200    ; REFRESH
                600     ; RETRY
                3600000 ; EXPIRE
                60 )    ; MINIMUM
            """,
            .soa(
                .init(
                    mname: n("venera.isi.edu."), rname: n("Action\\.domains.isi.edu."), serial: 20, refresh: 7200, retry: 600,
                    expire: 3_600_000, minimum: 60))),
        ParseCase(
            .soa, "ns1 hostmaster 1 2h 1H30M 2w 1d",
            .soa(
                .init(
                    mname: n("ns1.example.com."), rname: n("hostmaster.example.com."), serial: 1, refresh: 7200, retry: 5400,
                    expire: 1_209_600, minimum: 86400))),
        ParseCase(.mx, "10 mail", .mx(preference: 10, exchange: n("mail.example.com."))),
        ParseCase(.mx, "0 @", .mx(preference: 0, exchange: n("example.com."))),
        ParseCase(.cname, "a\\.b.c", .cname(n("a\\.b.c.example.com."))),
        ParseCase(.ptr, "\\065\\.b.", .ptr(n("A\\.b."))),
        // TXT: several strings, unquoted words, escapes.
        ParseCase(
            .txt, #""a b" plain \"q\" "sem;colon" "(paren)" "\\\"\065" """#,
            .txt([
                Array("a b".utf8), Array("plain".utf8), Array("\"q\"".utf8), Array("sem;colon".utf8), Array("(paren)".utf8),
                Array("\\\"A".utf8), [],
            ])),
        ParseCase(.txt, "v=spf1\\ -all", .txt([Array("v=spf1 -all".utf8)])),
        ParseCase(.txt, "\"\u{e9}\"", .txt([[0xC3, 0xA9]])),
        // RFC 2782 SRV and RFC 3403 NAPTR.
        ParseCase(.srv, "0 5 5060 sipserver.example.com.", .srv(priority: 0, weight: 5, port: 5060, target: n("sipserver.example.com."))),
        ParseCase(
            .naptr, #"100 10 "" "" "!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i" ."#,
            .naptr(
                .init(
                    order: 100, preference: 10, flags: [], services: [], regexp: Array(#"!^urn:cid:.+@([^\.]+\.)(.*)$!\2!i"#.utf8),
                    replacement: .root))),
        ParseCase(
            .naptr, "100 50 s z3950+I2L+I2C \"\" _z3950._tcp.gatech.edu.",
            .naptr(
                .init(
                    order: 100, preference: 50, flags: Array("s".utf8), services: Array("z3950+I2L+I2C".utf8), regexp: [],
                    replacement: n("_z3950._tcp.gatech.edu.")))),
        // RFC 8659 CAA.
        ParseCase(
            .caa, #"0 issue "ca.example""#, .caa(flags: 0, tag: Array("issue".utf8), value: Array("ca.example".utf8)),
            wire: [0, 5] + Array("issueca.example".utf8)),
        ParseCase(.caa, #"0 issuewild ";""#, .caa(flags: 0, tag: Array("issuewild".utf8), value: Array(";".utf8))),
        ParseCase(.caa, #"128 tbs "Unknown""#, .caa(flags: 128, tag: Array("tbs".utf8), value: Array("Unknown".utf8))),
        ParseCase(
            .caa, "0 iodef mailto:security@example.com",
            .caa(flags: 0, tag: Array("iodef".utf8), value: Array("mailto:security@example.com".utf8))),
        // RFC 9460 Appendix D.1 and D.2 test vectors, with their wire forms.
        ParseCase(.https, "0 foo.example.com.", wire: hex("0000") + fooExampleCom),
        ParseCase(.svcb, "1 .", wire: hex("0001 00")),
        ParseCase(.svcb, "16 foo.example.com. port=53", wire: hex("0010") + fooExampleCom + hex("0003 0002 0035")),
        ParseCase(.svcb, "1 foo.example.com. key667=hello", wire: hex("0001") + fooExampleCom + hex("029b 0005 68656c6c6f")),
        ParseCase(
            .svcb, #"1 foo.example.com. key667="hello\210qoo""#, wire: hex("0001") + fooExampleCom + hex("029b 0009 68656c6c6fd2716f6f")),
        ParseCase(
            .svcb, #"1 foo.example.com. ( ipv6hint="2001:db8::1,2001:db8::53:1" )"#,
            wire: hex("0001") + fooExampleCom + hex("0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001")),
        ParseCase(
            .svcb, "1 example.com. ( ipv6hint=\"2001:db8:122:344::192.0.2.33\" )",
            wire: hex("0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221")),
        ParseCase(
            .svcb, "16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 )",
            wire: hex("0010") + fooExampleOrg + hex("0000 0004 0001 0004  0001 0009 02 6832 05 68332d3139  0004 0004 c0000201")),
        ParseCase(
            .svcb, #"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
            wire: hex("0010") + fooExampleOrg + hex("0001 000c 08 665c6f6f2c626172 02 6832")),
        ParseCase(
            .svcb, #"16 foo.example.org. alpn=f\\\092oo\092,bar,h2"#,
            wire: hex("0010") + fooExampleOrg + hex("0001 000c 08 665c6f6f2c626172 02 6832")),
        // Keys in any order and case come out sorted; values quoted or not mean the same.
        ParseCase(
            .https, #"1 . PORT="443" ech="AQI=" alpn=h2 no-default-alpn= dohpath=/q{?dns} key9 ipv4hint=192.0.2.1,192.0.2.2"#,
            .https(
                .init(
                    priority: 1, target: .root,
                    params: [
                        .init(key: 1, value: [2] + Array("h2".utf8)), .init(key: 2, value: []), .init(key: 3, value: [1, 0xBB]),
                        .init(key: 4, value: [192, 0, 2, 1, 192, 0, 2, 2]), .init(key: 5, value: [1, 2]),
                        .init(key: 7, value: Array("/q{?dns}".utf8)), .init(key: 9, value: []),
                    ]))),
        // keyNNNNN is the generic form even for a registered key: its value is the wire value.
        ParseCase(.svcb, #"1 . key3="\001\187""#, .svcb(.init(priority: 1, target: .root, params: [.init(key: 3, value: [1, 0xBB])]))),
        // RFC 4034 §5.4 DS, §2.3 DNSKEY, §3.3 RRSIG and §4.3 NSEC examples.
        ParseCase(
            .ds, "60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )",
            .ds(.init(keyTag: 60485, algorithm: 5, digestType: 1, digest: hex("2BB183AF5F22588179A53B0A98631FAD1A292118")))),
        ParseCase(
            .ds, "60485 5 1 2bb183af5f22588179a5 3b0a98631fad1a292118",
            .ds(.init(keyTag: 60485, algorithm: 5, digestType: 1, digest: hex("2BB183AF5F22588179A53B0A98631FAD1A292118")))),
        ParseCase(
            .dnskey,
            """
            256 3 5 ( AQPSKmynfzW4kyBv015MUG2DeIQ3
                      Cbl+BBZH4b/0PY1kxkmvHjcZc8no
                      kfzj31GajIQKY+5CptLr3buXA10h
                      WqTkF7H6RfoRqXQeogmMHfpftf6z
                      Mv1LyBUgia7za6ZEzOJBOztyvhjL
                      742iU/TpPSEDhm2SNKLijfUppn1U
                      aNvv4w==  )
            """,
            .dnskey(
                .init(
                    flags: 256, protocolField: 3, algorithm: 5,
                    publicKey: base64(
                        "AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/0PY1kxkmvHjcZc8nokfzj31GajIQKY+5CptLr3buXA10hWqTkF7H6RfoRqXQeogmMHfpftf6z"
                            + "Mv1LyBUgia7za6ZEzOJBOztyvhjL742iU/TpPSEDhm2SNKLijfUppn1UaNvv4w==")))),
        ParseCase(
            .rrsig,
            """
            A 5 3 86400 20030322173103 (
                20030220173103 2642 example.com.
                oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr
                PYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6o
                B9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3t
                GNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkG
                J5D6fwFm8nN+6pBzeDQfsS3Ap3o= )
            """, .rrsig(RDataCases.rrsig)),
        ParseCase(
            .rrsig,
            "a 5 3 86400 1048354263 1045762263 2642 example.com. "
                + "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl"
                + "8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o=", .rrsig(RDataCases.rrsig)),
        ParseCase(
            .nsec, "host.example.com. ( A MX RRSIG NSEC TYPE1234 )",
            wire: hex("04686f7374076578616d706c6503636f6d00 0006400100000003 041b") + [UInt8](repeating: 0, count: 26) + [0x20]),
        ParseCase(.nsec, "host.example.com. mx type1 A", .nsec(next: n("host.example.com."), types: TypeBitmap([.a, .mx]))),
        // RFC 5155 Appendix A (the hash in either case).
        ParseCase(
            .nsec3, "1 1 12 aabbccdd ( 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR MX DNSKEY NS SOA NSEC3PARAM RRSIG )",
            .nsec3(
                .init(
                    hashAlgorithm: 1, flags: 1, iterations: 12, salt: hex("aabbccdd"),
                    nextHashedOwner: base32hex("2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
                    types: TypeBitmap([.mx, .dnskey, .ns, .soa, .nsec3param, .rrsig])))),
        ParseCase(.nsec3param, "1 0 12 aabbccdd", .nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 12, salt: hex("aabbccdd")))),
        ParseCase(.nsec3param, "1 0 0 -", .nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: [])), wire: [1, 0, 0, 0, 0]),
        // RFC 6698 §2.3 TLSA.
        ParseCase(
            .tlsa, "( 0 0 1 d2abde240d7cd3ee6b4b28c54df034b9\n 7983a1d16e8a410e4561cb106618e971 )",
            .tlsa(usage: 0, selector: 0, matchingType: 1, data: hex("d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971"))),
        // Types Bulwark keeps opaque, from their usual text.
        ParseCase(.hinfo, #""PC" Linux"#, .unknown(.hinfo, [2] + Array("PC".utf8) + [5] + Array("Linux".utf8))),
        ParseCase(.cds, "0 0 0 00", .unknown(.cds, [0, 0, 0, 0, 0])),
        ParseCase(.cdnskey, "0 3 0 AA==", .unknown(.cdnskey, [0, 0, 3, 0, 0])),
    ]

    /// Text that must fail, with a word the reason must contain.
    static let hostile: [(RRType, String, String)] = [
        (.a, "", "missing"),
        (.a, "192.0.2", "IPv4"),
        (.a, "192.0.2.256", "IPv4"),
        (.a, "192.0.2.1 extra", "extra"),
        (.a, "\"192.0.2.1", "quoted string not closed"),
        (.aaaa, "2001:db8::1%eth0", "IPv6"),
        (.aaaa, "192.0.2.1", "IPv6"),
        (.ns, "a..b.", "empty label"),
        (.ns, "\\256.", "DDD"),
        (.ns, "a\\", "backslash"),
        (.ns, "@", "no origin"),
        (.cname, String(repeating: "a", count: 64) + ".", "63"),
        (.cname, Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + ".", "255"),
        (.mx, "65536 mail.", "preference"),
        (.mx, "-1 mail.", "preference"),
        (.mx, "+1 mail.", "preference"),
        (.mx, "10", "exchange: missing"),
        (.soa, "a. b. 4294967296 1 1 1 1", "serial"),
        (.soa, "a. b. 1 1 1 1 99999999999w", "minimum"),
        (.soa, "a. b. 1 1h30 1 1 1", "refresh"),
        (.txt, "", "at least one"),
        (.txt, "\"unterminated", "quoted string not closed"),
        (.txt, "\"bad \\256 escape\"", "DDD"),
        (.txt, "\"bad \\25x escape\"", "DDD"),
        (.txt, "\"" + String(repeating: "x", count: 300) + "\"", "300 bytes"),
        (.txt, "a\"b", "inside an unquoted field"),
        (.txt, "a=\"b c\"", "inside the unquoted field"),
        (.ns, "a=\"b\"", "inside the unquoted field"),
        (.mx, "1 a=\"b\"", "inside the unquoted field"),
        (.svcb, "1 a=\"b\" alpn=h2", "inside an unquoted field"),
        (.txt, "x )", "without a matching"),
        (.txt, "( x", "never closed"),
        (.txt, "a\nb", "second line"),
        (.srv, "1 2 65536 t.", "port"),
        (.naptr, "1 2 \"S\" \"x\" \"\"", "replacement: missing"),
        (.caa, "0 is-sue \"x\"", "tag"),
        (.caa, "256 issue \"x\"", "flags"),
        (.caa, "0 issue", "value: missing"),
        (.svcb, "1 . alpn=h2 alpn=h3", "more than once"),
        (.svcb, "1 . alpn=h2 key1=\"\\002h3\"", "more than once"),
        (.svcb, "1 . key123=abc key123=def", "more than once"),
        (.svcb, "1 . port=65536", "port"),
        (.svcb, "1 . port=-1", "port"),
        (.svcb, "1 . port", "port"),
        (.svcb, "1 . mandatory", "needs a value"),
        (.svcb, "1 . alpn", "needs a value"),
        (.svcb, "1 . alpn=h2,,h3", "empty item"),
        (.svcb, "1 . alpn=h2\\\\x", "escaped"),
        (.svcb, "1 . ipv4hint", "needs a value"),
        (.svcb, "1 . ipv4hint=192.0.2.1,::1", "IPv4"),
        (.svcb, "1 . ipv6hint=192.0.2.1", "IPv6"),
        (.svcb, "1 . no-default-alpn=abc", "no value"),
        (.svcb, "1 . mandatory=key123", "not present"),
        (.svcb, "1 . mandatory=mandatory", "itself"),
        (.svcb, "1 . mandatory=key123,key123 key123=abc", "more than once"),
        (.svcb, "1 . mandatory=bogus", "unknown key"),
        (.svcb, "1 . bogus=1", "unknown key"),
        (.svcb, "1 . key65535", "unknown key"),
        (.svcb, "1 . key065", "unknown key"),
        (.svcb, "1 . ech=not*base64", "base64"),
        (.svcb, "1 . alpn=\"h2", "quoted string not closed"),
        (.https, "1", "target: missing"),
        (.ds, "1 2 3 abc", "odd number"),
        (.ds, "1 2 3 zz", "not hex"),
        (.ds, "1 2 3", "digest: missing"),
        (.tlsa, "3 1 1 0g", "not hex"),
        (.dnskey, "256 3 8 AQ*=", "base64"),
        (.dnskey, "256 3 8 AQI", "multiple of 4"),
        (.dnskey, "256 3 8 A===", "base64"),
        (.dnskey, "256 3 8 AQ=I", "base64"),
        (.dnskey, "256 3 8 AR==", "non-zero"),
        (.dnskey, "256 3 8", "public key: missing"),
        (.rrsig, "A 5 3 86400 20031322173103 20030220173103 2642 example.com. AA==", "date"),
        (.rrsig, "A 5 3 86400 21060207062816 20030220173103 2642 example.com. AA==", "2106"),
        (.rrsig, "A 5 3 86400 19691231235959 20030220173103 2642 example.com. AA==", "date"),
        (.rrsig, "A 5 3 86400 4294967296 0 2642 example.com. AA==", "expiration"),
        (.rrsig, "BOGUS 5 3 86400 0 0 2642 example.com. AA==", "type covered"),
        (.rrsig, "TYPE65536 5 3 86400 0 0 2642 example.com. AA==", "type covered"),
        (.nsec, "a. A BOGUS", "type bitmap"),
        (.nsec3, "1 0 0 - 0", "impossible"),
        (.nsec3, "1 0 0 - vt", "non-zero"),
        (.nsec3, "1 0 0 - w0", "base32hex"),
        (.nsec3, "1 0 0 - vs====", "base32hex"),
        (.nsec3, "1 0 0 abc vs", "odd number"),
        (.nsec3, "1 0 0 \"\" vs", "salt"),
        (.nsec3param, "1 0 65536 -", "iterations"),
        (.nsec3param, "1 0 0 " + String(repeating: "ab", count: 256), "at most 255"),
        (.a, "\\# 3 C00002", "does not decode"),
        (.a, "\\# 5 C000020101", "does not decode"),
        (.a, "\\# 4 C00002", "length says"),
        (.a, "\\# 4 C0000201 00", "length says"),
        (.a, "\\# 65536 00", "length"),
        (.ns, "\\# 2 C000", "does not decode"),
        (.txt, "\\# 0", "does not decode"),
        (.a, "\\# x", "length"),
        (RRType(999), "text", "RFC 3597"),
        (.opt, "0", "RFC 3597"),
    ]
}

@Suite("Presentation parser")
struct PresentationParserTests {
    @Test("every printed RDATA case parses back to the same value", arguments: RDataCases.all.filter { $0.rdata.type != .opt })
    func roundTripCases(_ c: RDataCase) throws {
        #expect(try RData(presentation: c.rdata.description, type: c.rdata.type) == c.rdata)
        #expect(try RData(presentation: c.text, type: c.rdata.type) == c.rdata)
        // The generic form of the same value decodes to it too.
        let generic = Presentation.generic(try c.rdata.wireBytes())
        #expect(try RData(presentation: generic, type: c.rdata.type) == c.rdata)
    }

    @Test("RFC examples and hand-written text parse to the expected values", arguments: ParseCases.all)
    func knownGood(_ c: ParseCase) throws {
        let rdata = try RData(presentation: c.text, type: c.type, origin: n("example.com."))
        if let expected = c.rdata { #expect(rdata == expected) }
        if let wire = c.wire { #expect(try rdata.wireBytes() == wire) }
        #expect(rdata.type == c.type)
        // What we print parses back to the same value.
        #expect(try RData(presentation: rdata.description, type: c.type) == rdata)
    }

    @Test("hostile text fails with badPresentation and a reason naming the problem")
    func hostile() {
        for (type, text, word) in ParseCases.hostile {
            let e = presentationError(text, type)
            #expect(e == DNSWireError(.badPresentation, at: -1), "\(type) \(text)")
            #expect(e?.reason.contains(word) == true, "\(type) \(text): \(e?.reason ?? "parsed")")
        }
    }

    @Test("errors name the type and the field")
    func reasons() {
        #expect(presentationError("70000 mail.", .mx)?.reason == "MX preference: '70000' is not a number in 0...65535")
        #expect(presentationError("1 . port=70000", .https)?.reason == "HTTPS port: '70000' is not a port in 0...65535")
        #expect(
            presentationError("\"" + String(repeating: "x", count: 300) + "\"", .txt)?.reason
                == "TXT string 1: 300 bytes, at most 255 in one string")
        #expect(presentationError("1 2 3 abc", .ds)?.reason == "DS digest: odd number of hex digits")
        #expect(presentationError("1 . alpn=a alpn=b", .svcb)?.reason == "SVCB SvcParam: key alpn appears more than once")
    }

    @Test("SvcParams come out sorted by key")
    func svcbSorted() throws {
        let r = try RData(presentation: "1 . key65000 ipv6hint=::1 port=53 alpn=h3 mandatory=port,alpn", type: .https)
        guard case .https(let s) = r else {
            Issue.record("not HTTPS")
            return
        }
        #expect(s.params.map(\.key) == [0, 1, 3, 6, 65000])
        #expect(s.params[0].value == [0, 1, 0, 3])
        #expect(try Message(parsing: Message(answers: [ResourceRecord(name: .root, ttl: 0, rdata: r)]).encode()).answers.first?.rdata == r)
    }

    @Test("malformed mandatory and alpn values print in the generic form and parse back to the same bytes")
    func svcbGenericPrint() throws {
        let cases: [(UInt16, [UInt8], String)] = [
            (0, [], "key0"), (0, [0, 3, 0, 1], #"key0="\000\003\000\001""#), (0, [0, 0], #"key0="\000\000""#),
            (0, [0, 1, 0, 1], #"key0="\000\001\000\001""#), (0, [0, 1, 0], #"key0="\000\001\000""#),
            (1, [], #"key1="""#), (1, [0], #"key1="\000""#), (1, [2, 0x68, 0x32, 0], #"key1="\002h2\000""#),
            (1, [3, 0x68], #"key1="\003h""#),
        ]
        for (key, value, text) in cases {
            let r = RData.svcb(.init(priority: 1, target: .root, params: [.init(key: key, value: value)]))
            #expect(r.description == "1 . " + text)
            #expect(try RData(presentation: r.description, type: .svcb) == r)
        }
        // Well-formed values still print by name.
        let m = RData.svcb(.init(priority: 1, target: .root, params: [.init(key: 0, value: [0, 1]), .init(key: 1, value: [1, 0x61])]))
        #expect(m.description == "1 . mandatory=alpn alpn=a")
    }

    @Test("relative names take the origin, absolute names and @ work, no origin means absolute")
    func origins() throws {
        let o = n("zone.example.")
        #expect(try RData(presentation: "ns1", type: .ns, origin: o) == .ns(n("ns1.zone.example.")))
        #expect(try RData(presentation: "ns1.", type: .ns, origin: o) == .ns(n("ns1.")))
        #expect(try RData(presentation: "@", type: .ns, origin: o) == .ns(o))
        #expect(try RData(presentation: "\"@\"", type: .ns, origin: o) == .ns(n("\\@.zone.example.")))
        #expect(try RData(presentation: "ns1", type: .ns) == .ns(n("ns1.")))
        #expect(try RData(presentation: ".", type: .ns, origin: o) == .ns(.root))
        #expect(try RData(presentation: "a", type: .ns, origin: .root) == .ns(n("a.")))
        // Names keep their case and their escapes.
        let r = try RData(presentation: "A\\.b\\032c\\000.", type: .ptr)
        #expect(r == .ptr(try Name(labels: [Array("A.b c".utf8) + [0]])))
        #expect(r.description == "A\\.b\\032c\\000.")
        // A relative name that becomes too long with the origin fails.
        let long = Array(repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".")
        let b60 = String(repeating: "b", count: 60)
        #expect(presentationError(long, .ns, origin: n("\(b60).\(b60)."))?.reason.contains("255") == true)
    }

    @Test("RRSIG times: YYYYMMDDHHmmSS and plain seconds agree with the printer")
    func rrsigTimes() throws {
        for t: UInt32 in [0, 1, 951_868_799, 951_868_800, 1_797_161_943, .max, 0x7FFF_FFFF] {
            #expect(try ZoneText.rrsigTime(Array(Presentation.time(t).utf8), field: "t") == t)
            #expect(try ZoneText.rrsigTime(Array(String(t).utf8), field: "t") == t)
        }
        var rng = SplitMix64(seed: 4034)
        for _ in 0..<2000 {
            let t = UInt32.random(in: 0...UInt32.max, using: &rng)
            #expect(try ZoneText.rrsigTime(Array(Presentation.time(t).utf8), field: "t") == t)
        }
    }

    @Test("TTLs with units")
    func ttls() {
        let good: [(String, UInt32)] = [
            ("0", 0), ("3600", 3600), ("1h", 3600), ("1h30m", 5400), ("1H30M", 5400), ("2w", 1_209_600), ("1d12h", 129_600),
            ("90s", 90), ("4294967295", .max), ("1w1d1h1m1s", 694_861),
        ]
        for (text, v) in good { #expect(ZoneText.ttl(Array(text.utf8)) == v, "\(text)") }
        for bad in ["", "h", "1x", "1h30", "-1", "+1", "4294967296", "7102w", "99999999999999999999999", "1 h", "1hh"] {
            #expect(ZoneText.ttl(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test("base64 and base32hex decoders invert the printer's encoders")
    func codecs() throws {
        var rng = SplitMix64(seed: 4648)
        for len in 0..<64 {
            let bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let b64 = ZoneToken(text: Array(Presentation.base64(bytes).utf8), quoted: false)
            #expect(try ZoneText.base64([b64], field: "f") == bytes)
            #expect(try ZoneText.base32hex(Array(Presentation.base32hex(bytes).utf8), field: "f") == bytes)
            #expect(try ZoneText.base32hex(Array(Presentation.base32hex(bytes).uppercased().utf8), field: "f") == bytes)
            #expect(
                try ZoneText.hex([ZoneToken(text: Array(Presentation.hex(bytes).uppercased().utf8), quoted: false)], field: "f") == bytes)
        }
    }
}
