import Testing

@testable import DNSWire

@Suite("Golden packets from knotd and kdig")
struct GoldenPacketTests {
    static let labels = Golden.all.map(\.label)

    static func parse(_ hexText: String) throws -> Message {
        try Message(parsing: hex(hexText))
    }

    @Test("query and response parse, re-encode and re-parse to the same message", arguments: labels)
    func roundTrip(_ label: String) throws {
        let g = Golden.packet(label)
        let query = try Self.parse(g.queryHex)
        let response = try Self.parse(g.responseHex)
        for m in [query, response] {
            let wire = try m.encode()
            #expect(try Message(parsing: wire) == m)
        }
        // The pair belongs together.
        #expect(!query.header.isResponse)
        #expect(response.header.isResponse)
        #expect(response.header.id == query.header.id)
        #expect(response.questions == query.questions)
        #expect(query.questions.count == 1)
        // Bulwark compresses at least as well as knotd does.
        #expect(try response.encode().count <= hex(g.responseHex).count)
    }

    @Test("records print exactly as kdig printed them", arguments: labels)
    func presentationMatchesKdig(_ label: String) throws {
        let g = Golden.packet(label)
        let response = try Self.parse(g.responseHex)
        let records = response.answers + response.authorities + response.additionals
        let ours = records.map { $0.description.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
        #expect(ours.count == g.kdigText.count || g.kdigText.isEmpty)
        for (i, theirs) in g.kdigText.enumerated() where i < records.count {
            let rr = records[i]
            let mine = ours[i]
            switch rr.type {
            case .hinfo, .cds, .cdnskey:
                // Types Bulwark keeps opaque print in the RFC 3597 generic form; the rest must agree.
                let prefix = theirs.split(separator: " ").prefix(4).joined(separator: " ")
                #expect(mine.hasPrefix(prefix + " \\# "), "\(mine)")
                #expect(try mine.hasSuffix(Presentation.hex(rr.rdata.wireBytes()).uppercased()))
            default:
                // Knot 3.2 predates RFC 9461 and prints dohpath as key7.
                #expect(mine == theirs.replacing("key7=", with: "dohpath="))
            }
        }
    }

    @Test("BADCOOKIE: extended rcode 23, client and server cookies, NSID")
    func badCookie() throws {
        let q = try Self.parse(Golden.packet("soaCookie0").queryHex)
        #expect(q.header.recursionDesired)
        #expect(q.header.authenticData)
        #expect(q.edns?.dnssecOK == true)
        #expect(q.edns?.udpPayloadSize == 4096)
        #expect(q.edns?.options.first == .unknown(code: EDNSOptionCode(3), data: []))
        #expect(q.edns?.cookie?.client == hex("7f2dc237d61d976d"))
        #expect(q.edns?.cookie?.server == [])

        let r = try Self.parse(Golden.packet("soaCookie0").responseHex)
        #expect(r.rcode == .badCookie)
        #expect(r.header.headerRcode == 7)
        #expect(r.edns?.extendedRcode == 1)
        #expect(r.edns?.udpPayloadSize == 1232)
        #expect(r.edns?.options.first == .unknown(code: EDNSOptionCode(3), data: Array("knot-golden".utf8)))
        #expect(r.edns?.cookie?.client == hex("7f2dc237d61d976d"))
        #expect(r.edns?.cookie?.server == hex("010000006b0c0ef1d9eb1a270a2f3c40"))
        #expect(r.answers.isEmpty)

        // The retry carries the server cookie and gets the answer.
        let q2 = try Self.parse(Golden.packet("soaCookie1").queryHex)
        #expect(q2.edns?.cookie?.server == hex("010000006b0c0ef1d9eb1a270a2f3c40"))
        let r2 = try Self.parse(Golden.packet("soaCookie1").responseHex)
        #expect(r2.rcode == .noError)
        #expect(r2.header.authoritative)
        #expect(r2.answers.map(\.type) == [.soa, .rrsig])
        guard case .soa(let soa) = r2.answers[0].rdata else {
            Issue.record("not SOA")
            return
        }
        #expect(soa.mname == n("ns1.example.test."))
        #expect(soa.rname == n("hostmaster.example.test."))
        #expect(soa.serial == 2_024_010_102)
        #expect([soa.refresh, soa.retry, soa.expire, soa.minimum] == [7200, 3600, 1_209_600, 300])
        guard case .rrsig(let sig) = r2.answers[1].rdata else {
            Issue.record("not RRSIG")
            return
        }
        #expect(sig.typeCovered == .soa)
        #expect(sig.algorithm == 13)
        #expect(sig.labels == 2)
        #expect(sig.signature.count == 64)
        #expect(sig.signerName == n("example.test."))
    }

    @Test("EDE 20 on a REFUSED answer for a zone knotd does not serve")
    func refusedWithEDE() throws {
        let r = try Self.parse(Golden.packet("refused").responseHex)
        #expect(r.rcode == .refused)
        #expect(r.edns?.extendedError == ExtendedError(code: .notAuthoritative))
    }

    @Test("kdig's client subnet and padding options")
    func queryOptions() throws {
        let v4 = try Self.parse(Golden.packet("ecs4").queryHex)
        #expect(v4.edns?.clientSubnet == ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2]))
        let v6 = try Self.parse(Golden.packet("ecs6").queryHex)
        #expect(v6.edns?.clientSubnet == ClientSubnet(family: 2, sourcePrefix: 40, scopePrefix: 0, address: hex("20010db812")))
        #expect(v6.edns?.options.map(\.description).contains("ECS 2001:db8:1200::/40/0") == true)
        let padded = try Self.parse(Golden.packet("padding").queryHex)
        #expect(padded.edns?.options.contains(.padding(128)) == true)
    }

    @Test("typed RDATA decoded from knotd's answers")
    func typedAnswers() throws {
        func answers(_ label: String) throws -> [RData] {
            try Self.parse(Golden.packet(label).responseHex).answers.map(\.rdata)
        }
        #expect(try answers("aaaa") == [.aaaa(IPv6Address("::ffff:192.0.2.1")!), .aaaa(IPv6Address("2001:db8::1")!)])
        #expect(
            try answers("mxNSID") == [
                .mx(preference: 10, exchange: n("mail.example.test.")), .mx(preference: 20, exchange: n("mail2.example.test.")),
            ])
        let mx = try Self.parse(Golden.packet("mxNSID").responseHex)
        #expect(mx.additionals == [ResourceRecord(name: n("mail.example.test."), ttl: 3600, rdata: .a(IPv4Address("192.0.2.25")!))])
        #expect(try answers("txt").contains(.txt([Array("v=spf1 -all".utf8)])))
        #expect(try answers("srv") == [.srv(priority: 10, weight: 60, port: 5060, target: n("sip.example.test."))])
        #expect(try answers("tlsa").first?.type == .tlsa)
        #expect(try answers("dname").map(\.type) == [.dname, .cname])
        #expect(try answers("cname").first == .cname(n("example.test.")))
        #expect(try answers("ptr") == [.ptr(n("www.example.test."))])
        #expect(try answers("unknownType") == [.unknown(RRType(65280), [0x0A, 0, 0, 1])])
        #expect(try answers("hinfo") == [.unknown(.hinfo, [2] + Array("PC".utf8) + [5] + Array("Linux".utf8))])
        guard case .svcb(let svcb)? = try answers("svcb").first(where: { $0.description.hasPrefix("1 ") }) else {
            Issue.record("no SVCB")
            return
        }
        #expect(svcb == RDataCases.svcb)
        guard case .ds(let ds)? = try answers("ds").first else {
            Issue.record("no DS")
            return
        }
        #expect(ds.keyTag == 12345)
        #expect(ds.digest == hex("8D8F3A7B9B5E2C6F1A0D4E3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A0908"))
        let keys = try answers("dnskey").compactMap { r -> RData.DNSKEY? in
            if case .dnskey(let k) = r { return k }
            return nil
        }
        #expect(keys.map(\.flags).sorted() == [256, 257])
        #expect(keys.allSatisfy { $0.protocolField == 3 && $0.algorithm == 13 && $0.publicKey.count == 64 })
    }

    @Test("NXDOMAIN with NSEC and with NSEC3 proofs")
    func denialOfExistence() throws {
        let nsec = try Self.parse(Golden.packet("nxdomainNSEC").responseHex)
        #expect(nsec.rcode == .nxDomain)
        #expect(nsec.answers.isEmpty)
        #expect(nsec.authorities.contains { $0.type == .nsec })
        #expect(nsec.authorities.filter { $0.type == .rrsig }.count == nsec.authorities.count / 2)

        let nsec3 = try Self.parse(Golden.packet("nxdomainNSEC3").responseHex)
        #expect(nsec3.rcode == .nxDomain)
        let proofs = nsec3.authorities.compactMap { rr -> RData.NSEC3? in
            if case .nsec3(let p) = rr.rdata { return p }
            return nil
        }
        #expect(!proofs.isEmpty)
        for p in proofs {
            #expect(p.hashAlgorithm == 1)
            #expect(p.iterations == 0)
            #expect(p.salt == hex("7BE618B1F4FBDE39"))
            #expect(p.nextHashedOwner.count == 20)
        }
        let param = try Self.parse(Golden.packet("nsec3param").responseHex)
        #expect(param.answers.first?.rdata == .nsec3param(.init(hashAlgorithm: 1, flags: 0, iterations: 0, salt: hex("7BE618B1F4FBDE39"))))
    }

    @Test("AXFR over TCP: one message with every record type of the zone")
    func axfr() throws {
        let m = try Self.parse(Golden.packet("axfr").responseHex)
        let types = Set(m.answers.map(\.type))
        for t: RRType in [
            .soa, .a, .aaaa, .ns, .mx, .txt, .caa, .srv, .naptr, .svcb, .https, .ds, .dnskey, .rrsig, .nsec, .tlsa, .cname, .dname, .ptr,
            .hinfo, RRType(65280),
        ] {
            #expect(types.contains(t), "\(t)")
        }
        #expect(m.answers.first?.type == .soa)
        #expect(m.answers.last?.type == .soa)
        // Nothing was left opaque that Bulwark has a type for.
        for rr in m.answers {
            if case .unknown(let t, _) = rr.rdata {
                #expect([RRType.hinfo, .cds, .cdnskey, RRType(65280)].contains(t), "\(t)")
            }
        }
        let nsec3 = try Self.parse(Golden.packet("axfrNSEC3").responseHex)
        #expect(nsec3.answers.contains { $0.type == .nsec3 })
        #expect(nsec3.answers.contains { $0.type == .nsec3param })
    }

    @Test(
        "simple answers re-encode byte for byte like knotd",
        arguments: ["aaaa", "txt", "caa", "srv", "ptr", "unknownType", "refused", "ecs4"])
    func byteExact(_ label: String) throws {
        let g = Golden.packet(label)
        #expect(try Self.parse(g.responseHex).encode() == hex(g.responseHex))
        #expect(try Self.parse(g.queryHex).encode() == hex(g.queryHex))
    }
}
