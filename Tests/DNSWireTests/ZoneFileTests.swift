import DNSTestSupport
import Testing

@testable import DNSWire

/// Random RDATA of every kind, within what the printer and parser agree on (valid values).
struct RandomRData {
    var rng: SplitMix64

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func u8() -> UInt8 { UInt8.random(in: 0...255, using: &rng) }
    mutating func u16() -> UInt16 { UInt16.random(in: 0...UInt16.max, using: &rng) }
    mutating func u32() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &rng) }
    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

    /// Bytes that stress the printer: specials, blanks, controls, high bytes, digits after escapes.
    static let tricky: [UInt8] = Array("\\\".;()@$ \t,=#-09azAZ".utf8) + [0, 1, 0x0A, 0x0D, 0x7F, 0x80, 0xC3, 0xFF]

    mutating func bytes(_ r: ClosedRange<Int>) -> [UInt8] {
        (0..<int(r)).map { _ in chance(30) ? Self.tricky[int(0...(Self.tricky.count - 1))] : u8() }
    }

    mutating func text(_ r: ClosedRange<Int>) -> [UInt8] {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
        return (0..<int(r)).map { _ in chance(80) ? letters[int(0...(letters.count - 1))] : Self.tricky[int(0...(Self.tricky.count - 1))] }
    }

    mutating func name() -> Name {
        if chance(5) { return .root }
        var labels: [[UInt8]] = []
        var size = 1
        for _ in 0..<int(1...5) {
            let label = chance(3) ? text(63...63) : (chance(20) ? bytes(1...12) : text(1...12))
            guard size + label.count + 1 <= Name.maxWireLength else { break }
            size += label.count + 1
            labels.append(label)
        }
        return (try? Name(labels: labels)) ?? .root
    }

    mutating func types() -> TypeBitmap {
        TypeBitmap((0..<int(0...8)).map { _ in chance(70) ? RRType(UInt16(int(1...260))) : RRType(u16()) })
    }

    static let svcKeys: [UInt16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 65000, 65534]

    mutating func svcb() -> RData.SVCB {
        var keys = Set<UInt16>()
        for _ in 0..<int(0...6) { keys.insert(Self.svcKeys[int(0...(Self.svcKeys.count - 1))]) }
        let sorted = keys.sorted()
        var params: [RData.SvcParam] = []
        for k in sorted {
            var w = WireWriter(compression: false)
            switch k {
            case 0:
                if chance(15) {
                    // Malformed lists print as key0="..." and come back as they are.
                    let bad: [[UInt8]] = [[], [0], [0, 0], [0, 3, 0, 1], [0, 1, 0, 1], [0, 0, 0, 1], bytes(1...5)]
                    w.append(bad[int(0...(bad.count - 1))])
                } else {
                    let others = sorted.filter { $0 != 0 && chance(60) }
                    if others.isEmpty { continue }
                    for o in others { w.u16(o) }
                }
            case 1:
                if chance(10) {
                    w.append(bytes(0...6))  // malformed: prints as key1="..."
                } else {
                    for _ in 0..<int(1...3) { try? w.characterString(chance(50) ? text(1...8) : bytes(1...8)) }
                }
            case 2: if chance(10) { w.append(bytes(1...3)) }
            case 3: w.append(chance(10) ? bytes(0...3) : [u8(), u8()])
            case 4: for _ in 0..<int(1...3) { w.u32(u32()) }
            case 5: w.append(bytes(0...40))
            case 6:
                for _ in 0..<int(1...3) {
                    w.append(
                        chance(20)
                            ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, u8(), u8(), u8(), u8()]
                            : (0..<16).map { _ in chance(30) ? 0 : u8() })
                }
            case 7: w.append(chance(50) ? text(0...20) : bytes(0...20))
            default: w.append(bytes(0...10))
            }
            params.append(.init(key: k, value: w.bytes))
        }
        // A mandatory list that prints by name must name keys that are present.
        if let m = params.first, m.key == 0, !m.value.isEmpty, m.value.count % 2 == 0 {
            let present = Set(params.map(\.key))
            let listed = stride(from: 0, to: m.value.count, by: 2).map { UInt16(m.value[$0]) << 8 | UInt16(m.value[$0 + 1]) }
            let byName = listed[0] != 0 && zip(listed, listed.dropFirst()).allSatisfy { $0 < $1 }
            if byName && !listed.allSatisfy(present.contains) { params.removeFirst() }
        }
        return .init(priority: u16(), target: name(), params: params)
    }

    mutating func unknownType() -> RRType {
        while true {
            let t = chance(50) ? RRType(UInt16(int(1...300))) : RRType(u16())
            let typed: Set<RRType> = [
                .a, .aaaa, .ns, .cname, .dname, .ptr, .soa, .mx, .txt, .srv, .naptr, .caa, .svcb, .https, .ds, .dnskey, .rrsig, .nsec,
                .nsec3,
                .nsec3param, .tlsa, .opt,
            ]
            if !typed.contains(t) && !t.isMetaType { return t }
        }
    }

    mutating func rdata() -> RData {
        switch int(0...21) {
        case 0: return .a(IPv4Address(u32()))
        case 1: return .aaaa(IPv6Address(bytes: (0..<16).map { _ in chance(40) ? 0 : u8() }))
        case 2: return .ns(name())
        case 3: return .cname(name())
        case 4: return .dname(name())
        case 5: return .ptr(name())
        case 6:
            return .soa(.init(mname: name(), rname: name(), serial: u32(), refresh: u32(), retry: u32(), expire: u32(), minimum: u32()))
        case 7: return .mx(preference: u16(), exchange: name())
        case 8: return .txt((0..<int(1...4)).map { _ in chance(5) ? bytes(255...255) : bytes(0...40) })
        case 9: return .srv(priority: u16(), weight: u16(), port: u16(), target: name())
        case 10:
            return .naptr(
                .init(
                    order: u16(), preference: u16(), flags: text(0...2), services: text(0...12), regexp: bytes(0...30), replacement: name())
            )
        case 11:
            let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
            let tag = chance(10) ? bytes(1...6) : (0..<int(1...15)).map { _ in alnum[int(0...(alnum.count - 1))] }
            return .caa(flags: u8(), tag: tag, value: bytes(0...40))
        case 12: return .svcb(svcb())
        case 13: return .https(svcb())
        case 14: return .ds(.init(keyTag: u16(), algorithm: u8(), digestType: u8(), digest: bytes(1...64)))
        case 15: return .dnskey(.init(flags: u16(), protocolField: u8(), algorithm: u8(), publicKey: bytes(1...100)))
        case 16:
            return .rrsig(
                .init(
                    typeCovered: RRType(u16()), algorithm: u8(), labels: u8(), originalTTL: u32(), expiration: u32(), inception: u32(),
                    keyTag: u16(), signerName: name(), signature: bytes(1...100)))
        case 17: return .nsec(next: name(), types: types())
        case 18:
            return .nsec3(
                .init(
                    hashAlgorithm: u8(), flags: u8(), iterations: u16(), salt: bytes(0...20), nextHashedOwner: bytes(1...32), types: types()
                ))
        case 19: return .nsec3param(.init(hashAlgorithm: u8(), flags: u8(), iterations: u16(), salt: bytes(0...20)))
        case 20: return .tlsa(usage: u8(), selector: u8(), matchingType: u8(), data: bytes(1...64))
        default: return .unknown(unknownType(), bytes(0...30))
        }
    }

    mutating func rrClass() -> RRClass { chance(80) ? .in : RRClass(u16()) }
}

/// Every record in the sections of every golden query and response.
let goldenRecords: [ResourceRecord] = Golden.all.flatMap { g in
    [g.queryHex, g.responseHex].flatMap { text -> [ResourceRecord] in
        guard let m = try? Message(parsing: hex(text)) else { return [] }
        return m.answers + m.authorities + m.additionals
    }
}

@Suite("Zone files")
struct ZoneFileTests {
    @Test("every golden record's RDATA and record text parse back to the same values")
    func goldenRoundTrip() throws {
        #expect(goldenRecords.count > 150)
        for rr in goldenRecords {
            #expect(try RData(presentation: rr.rdata.description, type: rr.type) == rr.rdata, "\(rr)")
            #expect(try ResourceRecord(presentation: rr.description) == rr, "\(rr)")
        }
    }

    @Test("kdig's own text of every golden record parses to the record from the wire", arguments: GoldenPacketTests.labels)
    func kdigText(_ label: String) throws {
        let g = Golden.packet(label)
        let response = try Message(parsing: hex(g.responseHex))
        let records = response.answers + response.authorities + response.additionals
        for (i, line) in g.kdigText.enumerated() where i < records.count {
            #expect(try ResourceRecord(presentation: line) == records[i], "\(line)")
        }
    }

    @Test("the zone knotd served (GoldenPackets.swift) parses to records its AXFR carries")
    func knotZone() throws {
        let zone = """
            $ORIGIN example.test.
            $TTL 3600
            @       IN SOA  ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300
            @       IN NS   ns1
            @       IN NS   ns2.example.test.
            ns1     IN A    192.0.2.53
            ns1     IN AAAA 2001:db8::53
            ns2     IN A    192.0.2.54
            @       IN A    192.0.2.1
            @       IN A    192.0.2.2
            @       IN AAAA 2001:db8::1
            @       IN AAAA ::ffff:192.0.2.1
            @       IN MX   10 mail
            @       IN MX   20 mail2.example.test.
            mail    IN A    192.0.2.25
            @       IN TXT  "v=spf1 -all"
            @       IN TXT  "multi" "string\\"quoted" "esc\\\\aped" "\\001bin"
            @       IN CAA  0 issue "letsencrypt.org"
            @       IN CAA  128 iodef "mailto:sec@example.test"
            _sip._udp IN SRV 10 60 5060 sip.example.test.
            sip     IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.
            re      IN NAPTR 100 50 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
            svc     IN SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1
            svc     IN SVCB 0 pool.example.test.
            @       IN HTTPS 1 . alpn=h2 ipv6hint=2001:db8::1
            www     IN HTTPS 2 web.example.test. mandatory=alpn,port alpn=h3 port=8443 key7="/dns-query{?dns}" ech=AEX+DQBBpQAgACBcEAs=
            sub     IN DS   12345 13 2 8D8F3A7B9B5E2C6F1A0D4E3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A0908
            _443._tcp IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
            alias   IN CNAME @
            old     IN DNAME example.org.
            1.2.0.192.in-addr IN PTR www.example.test.
            hinfo   IN HINFO "PC" "Linux"
            unk     IN TYPE65280 \\# 4 0A000001
            """
        let (records, errors) = ZoneFileReader.read(zone, fileName: "example.test.zone")
        #expect(errors.isEmpty, "\(errors)")
        #expect(records.count == 31)
        #expect(records.map(\.line) == Array(3...33))
        let axfr = try Message(parsing: hex(Golden.packet("axfr").responseHex)).answers
        for r in records.map(\.record) {
            if case .soa(var soa) = r.rdata {
                // knotd bumped the serial when it signed the zone.
                soa.serial = 2_024_010_102
                #expect(axfr.contains(ResourceRecord(name: r.name, ttl: r.ttl, rdata: .soa(soa))))
            } else {
                #expect(axfr.contains(r), "\(r)")
            }
        }
    }

    static let zone = """
        ; An RPZ-like zone with everything a zone file can do.
        $ORIGIN rpz.example.
        $TTL 1h
        @   IN  SOA ns1 hostmaster (
                    2024010101 ; serial
                    2h         ; refresh
                    1h         ; retry
                    2w         ; expire
                    300 )      ; minimum
            IN  NS  ns1
                NS  ns2.example.net.   ; blank owner: still @

        ns1 300 IN A 192.0.2.53
                IN AAAA 2001:db8::53
        www IN 60 CNAME @
        txt TXT "semi;colon" "paren(" unquoted\\ word ; comment "not a string"
        $ORIGIN sub
        a   A 192.0.2.1
        b   CH TXT "x"
        svc HTTPS 1 . alpn="h2,h3" ( port=443
                ipv4hint=192.0.2.1 )   ; a group across lines
        *.bad.domain CNAME .
        $TTL 5m
        c   TYPE65280 \\# 2 ABCD
        d   1d A 192.0.2.4
        e   A 192.0.2.5
        """

    @Test("a zone with $ORIGIN, $TTL, parentheses, comments and blank owners parses to the expected records")
    func zoneFile() throws {
        let (records, errors) = ZoneFileReader.read(Self.zone, fileName: "rpz.zone")
        #expect(errors.isEmpty, "\(errors)")
        let o = n("rpz.example.")
        let sub = n("sub.rpz.example.")
        let expected: [(Int, ResourceRecord)] = [
            (
                4,
                ResourceRecord(
                    name: o, ttl: 3600,
                    rdata: .soa(
                        .init(
                            mname: n("ns1.rpz.example."), rname: n("hostmaster.rpz.example."), serial: 2_024_010_101, refresh: 7200,
                            retry: 3600, expire: 1_209_600, minimum: 300)))
            ),
            (10, ResourceRecord(name: o, ttl: 3600, rdata: .ns(n("ns1.rpz.example.")))),
            (11, ResourceRecord(name: o, ttl: 3600, rdata: .ns(n("ns2.example.net.")))),
            (13, ResourceRecord(name: n("ns1.rpz.example."), ttl: 300, rdata: .a(IPv4Address("192.0.2.53")!))),
            (14, ResourceRecord(name: n("ns1.rpz.example."), ttl: 3600, rdata: .aaaa(IPv6Address("2001:db8::53")!))),
            (15, ResourceRecord(name: n("www.rpz.example."), ttl: 60, rdata: .cname(o))),
            (
                16,
                ResourceRecord(
                    name: n("txt.rpz.example."), ttl: 3600,
                    rdata: .txt([Array("semi;colon".utf8), Array("paren(".utf8), Array("unquoted word".utf8)]))
            ),
            (18, ResourceRecord(name: n("a.sub.rpz.example."), ttl: 3600, rdata: .a(IPv4Address("192.0.2.1")!))),
            (19, ResourceRecord(name: n("b.sub.rpz.example."), rrClass: .ch, ttl: 3600, rdata: .txt([Array("x".utf8)]))),
            (
                20,
                ResourceRecord(
                    name: n("svc.sub.rpz.example."), ttl: 3600,
                    rdata: .https(
                        .init(
                            priority: 1, target: .root,
                            params: [
                                .init(key: 1, value: [2] + Array("h2".utf8) + [2] + Array("h3".utf8)), .init(key: 3, value: [1, 0xBB]),
                                .init(key: 4, value: [192, 0, 2, 1]),
                            ])))
            ),
            (22, ResourceRecord(name: n("*.bad.domain.sub.rpz.example."), ttl: 3600, rdata: .cname(.root))),
            (24, ResourceRecord(name: n("c.sub.rpz.example."), ttl: 300, rdata: .unknown(RRType(65280), [0xAB, 0xCD]))),
            (25, ResourceRecord(name: n("d.sub.rpz.example."), ttl: 86400, rdata: .a(IPv4Address("192.0.2.4")!))),
            (26, ResourceRecord(name: n("e.sub.rpz.example."), ttl: 300, rdata: .a(IPv4Address("192.0.2.5")!))),
        ]
        #expect(records.count == expected.count)
        for (got, want) in zip(records, expected) {
            #expect(got.line == want.0)
            #expect(got.record == want.1, "line \(want.0): \(got.record)")
        }
        // The reader's state at the end.
        var reader = ZoneFileReader(Self.zone)
        while reader.next() != nil {}
        #expect(reader.origin == sub)
        #expect(reader.defaultTTL == 300)
    }

    @Test("bad lines give errors with their line numbers and reading goes on")
    func badLines() throws {
        let text = """
            $ORIGIN rpz.example.
            $TTL 300
            good1 CNAME .
            bad1 A 300.1.2.3
            good2 CNAME *.
            bad2 TXT "unterminated ; the rest of the line is skipped
            *.good3 CNAME rpz-passthru.
            """
        let (records, errors) = ZoneFileReader.read(text, fileName: "rpz.zone")
        #expect(records.map(\.line) == [3, 5, 7])
        #expect(records.map(\.record.name) == [n("good1.rpz.example."), n("good2.rpz.example."), n("*.good3.rpz.example.")])
        #expect(errors.map(\.line) == [4, 6])
        #expect(
            errors.map(\.description) == [
                "rpz.zone:4: A address: '300.1.2.3' is not an IPv4 address",
                "rpz.zone:6: quoted string not closed before the end of the line",
            ])
    }

    @Test("directive, TTL, owner and type errors, each on its own line")
    func moreErrors() throws {
        let text = """
            $INCLUDE /etc/passwd
            $ORIGIN example.
            $GENERATE 1-10 x$ A 192.0.2.$
            $BOGUS
            $TTL forever
            $ORIGIN a b
                A 192.0.2.1
            a A 192.0.2.1
            a 4294967296 A 192.0.2.1
            b IN BOGUS x
            c IN
            d IN AXFR
            e CLASS65536 A 192.0.2.1
            f 1 ( A
              192.0.2.300 )
            g 1 A 192.0.2.7 )
            h 60 A 192.0.2.8
                A 192.0.2.9
            i TXT "ok" ; fine
            j TXT ( "never closed"
            """
        let (records, errors) = ZoneFileReader.read(text, fileName: "z")
        let lines = errors.map(\.line)
        #expect(lines == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 20], "\(errors)")
        #expect(errors[0].description == "z:1: $INCLUDE is not supported: a zone is read from one file only")
        #expect(errors[6].description == "z:8: TTL: none given and no default ($TTL or an earlier record's TTL)")
        #expect(errors[14].description == "z:20: '(' on line 20 is never closed")
        #expect(records.map(\.line) == [17, 18, 19])
        #expect(records.map(\.record.name) == [n("h.example."), n("h.example."), n("i.example.")])
        // Without $TTL a record takes the last TTL given explicitly (RFC 1035 §5.1).
        #expect(records.map(\.record.ttl) == [60, 60, 60])
        #expect(errors.allSatisfy { $0.error == DNSWireError(.badPresentation, at: -1) })
    }

    @Test("without $TTL a record takes the last explicit TTL; the initial origin and TTL apply")
    func ttlDefaults() throws {
        let (records, errors) = ZoneFileReader.read("a 60 A 192.0.2.1\nb A 192.0.2.2\nc 1m1s A 192.0.2.3\nd A 192.0.2.4\n", origin: n("x."))
        #expect(errors.isEmpty)
        #expect(records.map(\.record.ttl) == [60, 60, 61, 61])
        #expect(records.map(\.record.name) == [n("a.x."), n("b.x."), n("c.x."), n("d.x.")])
        let (r2, e2) = ZoneFileReader.read("a A 192.0.2.1\n$TTL 10\nb A 192.0.2.1", origin: n("x."), defaultTTL: 7)
        #expect(e2.isEmpty)
        #expect(r2.map(\.record.ttl) == [7, 10])
    }

    @Test("a blank-owner line after a failed entry keeps that entry's owner")
    func ownerAfterError() {
        let (records, errors) = ZoneFileReader.read("$TTL 1\nx A 1.2.3\n  A 192.0.2.1\n", origin: n("o."))
        #expect(errors.map(\.line) == [2])
        #expect(records.map(\.record.name) == [n("x.o.")])
    }

    @Test("CRLF line ends, tabs, no final newline, comments only, empty file")
    func whitespace() {
        let (records, errors) = ZoneFileReader.read("$TTL 1\r\na\tA\t192.0.2.1 \r\n\r\n; only a comment\r\n\tA 192.0.2.2", origin: n("o."))
        #expect(errors.isEmpty, "\(errors)")
        #expect(records.map(\.record.rdata) == [.a(IPv4Address("192.0.2.1")!), .a(IPv4Address("192.0.2.2")!)])
        #expect(records.map(\.line) == [2, 5])
        #expect(ZoneFileReader.read("").records.isEmpty)
        let bom = Array(ZoneFileReader(bytes: [0xEF, 0xBB, 0xBF] + Array("a. 1 A 192.0.2.1".utf8)))
        #expect(bom.count == 1)
        #expect((try? bom.first?.get())?.record.name == n("a."))
        #expect(ZoneFileReader.read("\n\n  ; x\n").errors.isEmpty)
    }

    @Test("raw bytes that are not UTF-8 stay as they are")
    func rawBytes() {
        let bytes = Array("$TTL 1\n".utf8) + [0xE9] + Array(".o. TXT \"".utf8) + [0xFF] + Array("\"\n".utf8)
        let entries = Array(ZoneFileReader(bytes: bytes))
        #expect(entries.count == 1)
        guard case .success(let r)? = entries.first else {
            Issue.record("no record")
            return
        }
        #expect(r.record.name.wire == [1, 0xE9, 1, UInt8(ascii: "o"), 0])
        #expect(r.record.rdata == .txt([[0xFF]]))
    }

    @Test("one record line: owner, TTL and class in either order, @, blank owner, comments")
    func recordLine() throws {
        let o = n("example.com.")
        let a = RData.a(IPv4Address("192.0.2.1")!)
        let forms = [
            "www 300 IN A 192.0.2.1", "www IN 300 A 192.0.2.1", "www 5m A 192.0.2.1 ; comment", "www.example.com. 300 in a 192.0.2.1",
            "www CLASS1 300 TYPE1 \\# 4 C0000201", "www 300 IN A ( 192.0.2.1 )",
        ]
        for f in forms {
            #expect(
                try ResourceRecord(presentation: f, origin: o) == ResourceRecord(name: n("www.example.com."), ttl: 300, rdata: a), "\(f)")
        }
        #expect(try ResourceRecord(presentation: "@ A 192.0.2.1", origin: o, defaultTTL: 9) == ResourceRecord(name: o, ttl: 9, rdata: a))
        #expect(
            try ResourceRecord(presentation: "  A 192.0.2.1", defaultTTL: 9, previousOwner: n("p."))
                == ResourceRecord(name: n("p."), ttl: 9, rdata: a))
        #expect(try ResourceRecord(presentation: "x. 1 CH TXT hi").rrClass == .ch)
        #expect(
            try ResourceRecord(presentation: "x. 1 CLASS77 TYPE999 \\# 0")
                == ResourceRecord(name: n("x."), rrClass: RRClass(77), ttl: 1, rdata: .unknown(RRType(999), [])))

        let bad: [(String, String)] = [
            ("", "empty"), ("  ; only a comment", "empty"), ("www A 192.0.2.1", "TTL"), ("  A 192.0.2.1", "previous owner"),
            ("@ 1 A 192.0.2.1", "no origin"), ("$ORIGIN x.", "directive"), ("x. 1 IN", "type: missing"), ("x. 1 FOO 1", "'FOO'"),
            ("x. 1 IN ANY 1", "cannot appear"), ("x. 1 OPT \\# 0", "cannot appear"), ("x. 99999999999 A 192.0.2.1", "TTL"),
            ("x. 1 \"A\" 192.0.2.1", "quotes"), ("x. 1 A 192.0.2.1\ny. 1 A 192.0.2.1", "second line"),
        ]
        for (text, word) in bad {
            do {
                let rr = try ResourceRecord(presentation: text)
                Issue.record("\(text) parsed as \(rr)")
            } catch {
                #expect(error == DNSWireError(.badPresentation, at: -1))
                #expect(error.reason.contains(word), "\(text): \(error.reason)")
            }
        }
    }

    @Test("5,000 random records print and parse back to themselves (seeded)")
    func randomRoundTrip() throws {
        var g = RandomRData(rng: SplitMix64(seed: 0x5A0E_F11E))
        var failures = 0
        for i in 0..<5000 {
            let rdata = g.rdata()
            let text = rdata.description
            do {
                let back = try RData(presentation: text, type: rdata.type)
                if back != rdata {
                    failures += 1
                    Issue.record("#\(i) \(rdata.type) \(text) parsed as \(back)")
                }
                let rr = ResourceRecord(name: g.name(), rrClass: g.rrClass(), ttl: g.u32(), rdata: rdata)
                let rrBack = try ResourceRecord(presentation: rr.description)
                if rrBack != rr {
                    failures += 1
                    Issue.record("#\(i) \(rr) parsed as \(rrBack)")
                }
                // The generic form decodes to the same value.
                #expect(try RData(presentation: Presentation.generic(rdata.wireBytes()), type: rdata.type) == rdata)
            } catch {
                failures += 1
                Issue.record("#\(i) \(rdata.type) \(text): \(error)")
            }
            if failures > 10 { break }
        }
    }

    @Test("mutated text never traps: it parses or throws badPresentation")
    func mutations() {
        var rng = SplitMix64(seed: 1035)
        let seeds =
            RDataCases.all.filter { $0.rdata.type != .opt }.map { ($0.rdata.type, Array($0.text.utf8)) }
            + ParseCases.all.map { ($0.type, Array($0.text.utf8)) }
        let inserts = Array("\\\"();\n 0129=,.@#-aZ".utf8) + [0, 0xFF]
        for _ in 0..<20000 {
            let (type, seed) = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            var text = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0...text.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: text.insert(inserts[Int.random(in: 0..<inserts.count, using: &rng)], at: at)
                case 1: if at < text.count { text.remove(at: at) }
                default: if at < text.count { text[at] = UInt8.random(in: 0...255, using: &rng) }
                }
            }
            let s = String(decoding: text, as: UTF8.self)
            do {
                let r = try RData(presentation: s, type: type, origin: n("o."))
                // Whatever parsed prints as text that parses back to it.
                #expect(try RData(presentation: r.description, type: type) == r, "\(s)")
            } catch {
                #expect(error.code == .badPresentation, "\(s): \(error)")
            }
            // The same text as a zone file, with the type in front.
            for entry in ZoneFileReader(bytes: Array("x 1 \(type) ".utf8) + text, origin: n("o.")) {
                if case .failure(let e) = entry { #expect(e.error.code == .badPresentation) }
            }
        }
    }
}
