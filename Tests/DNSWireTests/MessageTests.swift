import Testing

@testable import DNSWire

@Suite("Message")
struct MessageTests {
    @Test("header flag accessors map to the right bits")
    func headerFlags() throws {
        var h = Header(id: 0xABCD)
        h.isResponse = true
        #expect(h.flags == 0x8000)
        h.opcode = .update
        #expect(h.flags == 0xA800)
        h.authoritative = true
        h.truncated = true
        h.recursionDesired = true
        h.recursionAvailable = true
        h.zBit = true
        h.authenticData = true
        h.checkingDisabled = true
        h.headerRcode = 0x1F
        #expect(h.flags == 0xAFFF)
        #expect(h.opcode == .update)
        #expect(h.headerRcode == 0x0F)
        h.isResponse = false
        h.truncated = false
        h.zBit = false
        h.opcode = .query
        #expect(h.flags == 0x05BF)
        #expect(!h.isResponse && h.authoritative && !h.truncated && h.recursionDesired && h.recursionAvailable)
        #expect(h.authenticData && h.checkingDisabled && !h.zBit)

        let m = Message(header: Header(id: 0xABCD, flags: 0xFFFF))
        let wire = try m.encode()
        #expect(wire == hex("abcd ffff 0000 0000 0000 0000"))
        #expect(try Message(parsing: wire).header == m.header)
    }

    @Test("an empty message is just the header")
    func empty() throws {
        #expect(try Message().encode() == [UInt8](repeating: 0, count: 12))
        #expect(try Message(parsing: [UInt8](repeating: 0, count: 12)) == Message())
    }

    @Test("a query encodes byte for byte like the RFC 1035 layout")
    func queryBytes() throws {
        var h = Header(id: 0x1234)
        h.recursionDesired = true
        let m = Message(header: h, questions: [Question(name: n("www.example.com."), type: .a)])
        #expect(try m.encode() == hex("1234 0100 0001 0000 0000 0000 03777777076578616d706c6503636f6d00 0001 0001"))
        #expect(m.question?.name == n("WWW.EXAMPLE.COM."))
    }

    static func uncompressedSize(_ m: Message) throws -> Int {
        var size = 12 + (try m.edns.map { e throws(DNSWireError) in try Message.encodeOPT(e, rcode: m.rcode).count } ?? 0)
        for q in m.questions { size += q.name.wire.count + 4 }
        for rr in m.answers + m.authorities + m.additionals { size += rr.name.wire.count + 10 + (try rr.rdata.wireBytes().count) }
        return size
    }

    static let zone = n("example.com.")

    @Test("repeated names become compression pointers and parse back equal")
    func compression() throws {
        let www = n("www.example.com.")
        var m = Message(header: Header(id: 1, flags: 0x8180), questions: [Question(name: www, type: .a)])
        for i in 1...5 { m.answers.append(ResourceRecord(name: www, ttl: 60, rdata: .a(IPv4Address(UInt32(0xC000_0200 + i))))) }
        m.authorities = [
            ResourceRecord(name: Self.zone, ttl: 60, rdata: .ns(n("ns1.example.com."))),
            ResourceRecord(name: Self.zone, ttl: 60, rdata: .ns(n("ns2.EXAMPLE.com."))),
            ResourceRecord(name: Self.zone, ttl: 60, rdata: .mx(preference: 10, exchange: n("mail.example.com."))),
            ResourceRecord(
                name: Self.zone, ttl: 60,
                rdata: .soa(
                    .init(
                        mname: n("ns1.example.com."), rname: n("hostmaster.example.com."), serial: 1, refresh: 2, retry: 3,
                        expire: 4, minimum: 5))),
            ResourceRecord(name: n("alias.example.com."), ttl: 60, rdata: .cname(www)),
            ResourceRecord(name: n("1.2.0.192.in-addr.arpa."), ttl: 60, rdata: .ptr(www)),
        ]
        m.additionals = [ResourceRecord(name: n("ns1.example.com."), ttl: 60, rdata: .a(IPv4Address("192.0.2.53")!))]
        let wire = try roundTrip(m)
        #expect(wire.count < (try Self.uncompressedSize(m)))
        // Every answer owner is a pointer to the question name at offset 12.
        let answersStart = 12 + www.wire.count + 4
        for i in 0..<5 {
            #expect(Array(wire[(answersStart + i * 16)..<(answersStart + i * 16 + 2)]) == [0xC0, 0x0C])
        }
        // The NS targets that share a suffix with earlier names are compressed (case-insensitively).
        #expect(!wire.contains(subsequence: n("ns2.EXAMPLE.com.").wire))
        #expect(!wire.contains(subsequence: n("mail.example.com.").wire))
        #expect(!wire.contains(subsequence: n("hostmaster.example.com.").wire))
        // The question spelling is preserved.
        let back = try Message(parsing: wire)
        #expect(back.questions[0].name.description == "www.example.com.")
    }

    @Test("compression keeps the case of the first spelling written (0x20 on the question survives)")
    func compressionCase() throws {
        let q = n("wWw.ExAmple.cOm.")
        let m = Message(
            questions: [Question(name: q, type: .a)],
            answers: [ResourceRecord(name: n("www.example.com."), ttl: 1, rdata: .a(IPv4Address(1)))])
        let back = try Message(parsing: try m.encode())
        #expect(back.questions[0].name.description == "wWw.ExAmple.cOm.")
        #expect(back.answers[0].name == q)
    }

    @Test("names in DNAME, SRV, NAPTR, SVCB and DNSSEC RDATA are never compressed (RFC 3597 section 4)")
    func noCompressionInNewerTypes() throws {
        let target = n("target.example.com.")
        let rdatas: [RData] = [
            .dname(target),
            .srv(priority: 1, weight: 1, port: 1, target: target),
            .naptr(.init(order: 1, preference: 1, flags: [], services: [], regexp: [], replacement: target)),
            .svcb(.init(priority: 1, target: target, params: [])),
            .https(.init(priority: 1, target: target, params: [])),
            .rrsig(
                .init(
                    typeCovered: .a, algorithm: 13, labels: 3, originalTTL: 60, expiration: 2, inception: 1, keyTag: 7,
                    signerName: Self.zone, signature: [1, 2, 3])),
            .nsec(next: target, types: TypeBitmap([.a, .rrsig, .nsec])),
        ]
        for rdata in rdatas {
            // The owner and an earlier record both hold the names, so a compressor could point at them.
            let m = Message(
                questions: [Question(name: target, type: rdata.type)],
                answers: [
                    ResourceRecord(name: target, ttl: 60, rdata: .cname(target)),
                    ResourceRecord(name: target, ttl: 60, rdata: rdata),
                ])
            let wire = try roundTrip(m)
            // The whole RDATA appears verbatim, with its names spelled out.
            #expect(wire.suffix(try rdata.wireBytes().count) == ArraySlice(try rdata.wireBytes()), "\(rdata.type)")
        }
        // Whereas in the RFC 1035 types the same name is a pointer.
        let mx = Message(
            questions: [Question(name: target, type: .mx)],
            answers: [ResourceRecord(name: target, ttl: 60, rdata: .mx(preference: 1, exchange: target))])
        #expect(try mx.encode().suffix(4) == [0, 1, 0xC0, 0x0C])
    }

    @Test("a compressed name in RRSIG, NSEC or SVCB RDATA is rejected")
    func compressedDNSSECNamesRejected() throws {
        // Question "a." at 12; the answer's RDATA names point back at it.
        let question = hex("01 61 00 0001 0001")
        let rrsig = hex("0001 0d 01 0000003c 00000002 00000001 0007 c00c 010203")
        let owner = hex("c00c")
        let at = 12 + question.count + 2 + 10
        let nsec = hex("c00c 000140")
        let svcb = hex("0001 c00c")
        for (type, rdata, nameAt) in [(RRType.rrsig, rrsig, at + 18), (.nsec, nsec, at), (.svcb, svcb, at + 2), (.https, svcb, at + 2)] {
            var body = question + owner
            var w = WireWriter()
            w.u16(type.rawValue)
            w.u16(1)
            w.u32(60)
            w.u16(UInt16(rdata.count))
            body += w.bytes + rdata
            #expect(parseError(packet(qd: 1, an: 1, body)) == DNSWireError(.badPointer, at: nameAt), "\(type)")
        }
    }

    @Test("encode(maxSize:) drops additional records without setting TC")
    func truncationDropsAdditional() throws {
        let q = Question(name: Self.zone, type: .mx)
        var m = Message(
            header: Header(id: 5, flags: 0x8180), questions: [q],
            answers: [ResourceRecord(name: Self.zone, ttl: 60, rdata: .mx(preference: 10, exchange: n("mail.example.com.")))],
            edns: EDNS(udpPayloadSize: 1232, options: [.extendedError(ExtendedError(code: .other, extraText: "kept"))]))
        for i in 0..<40 {
            m.additionals.append(ResourceRecord(name: n("mail.example.com."), ttl: 60, rdata: .a(IPv4Address(UInt32(i)))))
        }
        let full = try m.encode()
        #expect(full.count > 512)
        let wire = try m.encode(maxSize: 512)
        #expect(wire.count <= 512)
        let back = try Message(parsing: wire)
        #expect(!back.header.truncated)
        #expect(back.answers == m.answers)
        #expect(back.additionals.count > 0 && back.additionals.count < 40)
        #expect(back.additionals == Array(m.additionals.prefix(back.additionals.count)))
        #expect(back.edns == m.edns)
        // Exactly as many additionals as fit: one more would not have.
        #expect(wire.count + 16 > 512)
    }

    @Test("answers that do not fit set TC, empty every section, and keep the question and OPT")
    func truncationSetsTC() throws {
        let q = Question(name: n("big.example.com."), type: .txt)
        let text = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        var m = Message(
            header: Header(id: 6, flags: 0x8580), questions: [q],
            edns: EDNS(udpPayloadSize: 512, dnssecOK: true, options: [.padding(8)]))
        for _ in 0..<5 { m.answers.append(ResourceRecord(name: q.name, ttl: 60, rdata: .txt([text]))) }
        m.additionals = [ResourceRecord(name: Self.zone, ttl: 60, rdata: .a(IPv4Address(1)))]
        m.rcode = .nxDomain
        let wire = try m.encode(maxSize: 512)
        #expect(wire.count <= 512)
        let back = try Message(parsing: wire)
        #expect(back.header.truncated)
        #expect(back.header.id == 6)
        #expect(back.header.authoritative)
        #expect(back.rcode == .nxDomain)
        #expect(back.questions == [q])
        #expect(back.answers.isEmpty && back.authorities.isEmpty && back.additionals.isEmpty)
        #expect(back.edns == m.edns)
        // Without a limit all of it goes out and TC stays clear.
        let whole = try Message(parsing: try m.encode())
        #expect(!whole.header.truncated)
        #expect(whole.answers.count == 5)
    }

    @Test("an authority section that does not fit also sets TC")
    func truncationAuthority() throws {
        var m = Message(questions: [Question(name: Self.zone, type: .a)])
        for i in 0..<40 { m.authorities.append(ResourceRecord(name: Self.zone, ttl: 1, rdata: .ns(n("ns\(i).example.net.")))) }
        let back = try Message(parsing: try m.encode(maxSize: 512))
        #expect(back.header.truncated)
        #expect(back.authorities.isEmpty)
        #expect(back.edns == nil)
    }

    @Test("a question or OPT that cannot fit throws messageTooLarge")
    func tooLarge() {
        let m = Message(questions: [Question(name: Self.zone, type: .a)], edns: EDNS(options: [.padding(600)]))
        #expect(throws: DNSWireError(.messageTooLarge, at: -1)) { try m.encode(maxSize: 512) }
        #expect(throws: DNSWireError(.messageTooLarge, at: -1)) { try Message().encode(maxSize: 11) }
        #expect(throws: DNSWireError(.messageTooLarge, at: -1)) {
            try Message(questions: [Question](repeating: Question(name: .root, type: .a), count: 70000)).encode()
        }
    }

    @Test("a message is never larger than 65535 bytes")
    func hardLimit() throws {
        var m = Message(questions: [Question(name: Self.zone, type: .txt)])
        let big = [[UInt8]](repeating: [UInt8](repeating: 0x61, count: 255), count: 60)
        for _ in 0..<10 { m.answers.append(ResourceRecord(name: Self.zone, ttl: 1, rdata: .txt(big))) }
        let wire = try m.encode(maxSize: 1_000_000)
        #expect(wire.count <= 65535)
        #expect(try Message(parsing: wire).header.truncated)
    }

    @Test("WireScan.forEachTTL finds every record's TTL field, through compression, and skips OPT")
    func ttlWalk() throws {
        let m = Message(
            questions: [Question(name: Self.zone, type: .a)],
            answers: [
                ResourceRecord(name: Self.zone, ttl: 111, rdata: .a(IPv4Address(1))),
                ResourceRecord(name: Self.zone, ttl: 222, rdata: .a(IPv4Address(2))),
            ],
            authorities: [ResourceRecord(name: Self.zone, ttl: 333, rdata: .ns(n("ns.example.com.")))],
            additionals: [ResourceRecord(name: n("ns.example.com."), ttl: 444, rdata: .a(IPv4Address(3)))],
            edns: EDNS(dnssecOK: true))
        let wire = try m.encode()
        func ttls(_ w: [UInt8]) -> ([UInt32], Bool) {
            var found: [UInt32] = []
            let complete = w.withUnsafeBytes { p in
                WireScan.forEachTTL(p) { o in found.append(w[o..<(o + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
            }
            return (found, complete)
        }
        // The OPT record (last, its "TTL" holds the DO flag) is not a TTL.
        #expect(ttls(wire) == ([111, 222, 333, 444], true))

        // OPT first in the additional section: the A record after it is still found.
        let optFirst = hex("0000 8000 0000 0000 0000 0002") + hex("00 0029 1000 00008000 0000")
            + hex("01 61 00 0001 0001 00000007 0004 7f000001")
        #expect(ttls(optFirst) == ([7], true))

        // Malformed: every cut of the message stops the walk without trapping, and reports it.
        for cut in 0..<wire.count {
            let (found, complete) = ttls(Array(wire[0..<cut]))
            #expect(!complete)
            #expect(found.count <= 4)
        }
        // A count larger than the records present, and a bad label type.
        var more = wire
        more[7] = 9
        #expect(ttls(more).1 == false)
        var badLabel = wire
        badLabel[12] = 0x80
        #expect(ttls(badLabel) == ([], false))
    }

    @Test("the OPT record may sit anywhere in the additional section")
    func optPosition() throws {
        // ADDITIONAL: OPT first, then an A record.
        let body = hex("00 0029 1000 00000000 0000") + hex("01 61 00 0001 0001 00000001 0004 7f000001")
        let m = try Message(parsing: packet(ar: 2, body))
        #expect(m.edns?.udpPayloadSize == 4096)
        #expect(m.additionals.count == 1)
        #expect(try Message(parsing: m.encode()) == m)
    }

    @Test("an OPT record outside the additional section is kept as data")
    func optInAnswer() throws {
        let m = try Message(parsing: packet(an: 1, hex("00 0029 1000 00000000 0000")))
        #expect(m.edns == nil)
        #expect(m.answers.first?.rdata == .opt([]))
        #expect(try Message(parsing: m.encode()) == m)
    }

    @Test("description renders like dig")
    func description() throws {
        var m = Message(
            header: Header(id: 77, flags: 0x8180), questions: [Question(name: Self.zone, type: .a)],
            answers: [ResourceRecord(name: Self.zone, ttl: 5, rdata: .a(IPv4Address("192.0.2.1")!))],
            edns: EDNS(dnssecOK: true, options: [.extendedError(ExtendedError(code: .blocked))]))
        m.rcode = .nxDomain
        let text = m.description
        #expect(text.contains("status: NXDOMAIN, id: 77"))
        #expect(text.contains("flags: qr rd ra"))
        #expect(text.contains("EDNS: version 0, udp 1232, do; EDE 15"))
        #expect(text.contains(";example.com. IN A"))
        #expect(text.contains("example.com.\t5\tIN\tA\t192.0.2.1"))
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence s: [UInt8]) -> Bool {
        guard !s.isEmpty, s.count <= count else { return s.isEmpty }
        for i in 0...(count - s.count) where self[i..<(i + s.count)].elementsEqual(s) { return true }
        return false
    }
}
