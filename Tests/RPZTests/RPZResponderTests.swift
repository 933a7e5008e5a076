import DNSWire
import Foundation
import Policy
import Testing

@testable import RPZ

/// The primary's answers, transport-free: requests in, messages out.
@Suite struct RPZResponderTests {
    static let key = TSIGKey(name: try! Name("xfr-key."), secret: Array("0123456789abcdef0123456789abcdef".utf8))
    static let localhost = IPAddress("127.0.0.1")!
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    func setup(journal: Int = 100, configure: (inout RPZZoneConfig) -> Void = { _ in }) -> (RPZResponder, PolicyEngine) {
        let engine = Rules.sample().engine()
        var z = zone("phishing.rpz.bulwark.", [.phishing])
        configure(&z)
        let publisher = RPZPublisher(zones: [z, zone("malware.rpz.bulwark.", [.malware])], engine: engine, journalMaxChanges: journal)
        return (RPZResponder(publisher: publisher, keyring: TSIGKeyring([Self.key])), engine)
    }

    func query(_ name: String, _ type: RRType, id: UInt16 = 0x1234, authority: [ResourceRecord] = [], opcode: Opcode = .query) -> [UInt8] {
        var h = Header(id: id, flags: 0)
        h.opcode = opcode
        return try! Message(header: h, questions: [Question(name: try! Name(name), type: type)], authorities: authority).encode()
    }

    func ixfr(_ serial: UInt32) -> [UInt8] {
        let soa = ResourceRecord(
            name: try! Name("phishing.rpz.bulwark."), ttl: 0,
            rdata: .soa(.init(mname: .root, rname: .root, serial: serial, refresh: 0, retry: 0, expire: 0, minimum: 0)))
        return query("phishing.rpz.bulwark.", .ixfr, authority: [soa])
    }

    func ask(_ r: RPZResponder, _ bytes: [UInt8], from: IPAddress = Self.localhost, over t: RPZResponder.Transport = .tcp) async throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try await r.respond(to: bytes, from: from, over: t, now: Self.now) { out.append($0) }
        return out
    }

    func parse(_ messages: [[UInt8]]) throws -> [Message] { try messages.map { try Message(parsing: $0) } }

    func serials(_ records: [ResourceRecord]) -> [UInt32] {
        records.compactMap { if case .soa(let s) = $0.rdata { s.serial } else { nil } }
    }

    @Test func soaAndAXFR() async throws {
        let (r, engine) = setup()
        let soa = try parse(try await ask(r, query("phishing.rpz.bulwark.", .soa), over: .udp))
        #expect(soa.count == 1 && soa[0].header.authoritative && soa[0].answers.first?.type == .soa)
        let serial = await r.publisher.serial(0)
        let messages = try parse(try await ask(r, query("phishing.rpz.bulwark.", .axfr)))
        let records = messages.flatMap(\.answers)
        #expect(records.first?.type == .soa && records.last?.type == .soa)
        #expect(serials(records) == [serial, serial])
        let body = records.dropFirst().dropLast()
        var walker = ZoneWalker(view: ZoneView(config: r.publisher.zones[0], engine: engine))
        #expect(text(Array(body)) == (text(walker.all()) + ["phishing.rpz.bulwark. NS localhost."]).sorted())
        #expect(messages.allSatisfy { $0.header.id == 0x1234 && $0.rcode == .noError })
        // Many messages: the question only in the first.
        var small = r
        small.recordsPerMessage = 3
        let split = try parse(try await ask(small, query("phishing.rpz.bulwark.", .axfr)))
        #expect(split.count > 3)
        #expect(split[0].questions.count == 1 && split.dropFirst().allSatisfy { $0.questions.isEmpty })
        #expect(text(split.flatMap(\.answers)) == text(records))
        let status = await r.publisher.status()[0]
        #expect(status.secondaries.first?.serial == serial && status.upToDate == 1)
    }

    @Test func ixfrFromJournalFullAndCurrent() async throws {
        let (r, engine) = setup()
        let s0 = await r.publisher.serial(0)
        let e1 = try engine.adding(name: try Name("one.example"), list: "phish-feed")
        await r.publisher.publish(e1)
        let s1 = await r.publisher.serial(0)
        let e2 = try e1.removing(name: try Name("evil.example"), list: "phish-feed")
        await r.publisher.publish(e2)
        let s2 = await r.publisher.serial(0)
        // Incremental: new SOA, [old SOA, deletions, new SOA, additions]..., new SOA.
        let inc = try parse(try await ask(r, ixfr(s0))).flatMap(\.answers)
        #expect(serials(inc) == [s2, s0, s1, s1, s2, s2])
        let expected = [
            "phishing.rpz.bulwark. SOA", "phishing.rpz.bulwark. SOA", "phishing.rpz.bulwark. SOA",
            "one.example.phishing.rpz.bulwark. CNAME .", "*.one.example.phishing.rpz.bulwark. CNAME .",
            "phishing.rpz.bulwark. SOA",
            "evil.example.phishing.rpz.bulwark. CNAME .", "*.evil.example.phishing.rpz.bulwark. CNAME .",
            "phishing.rpz.bulwark. SOA", "phishing.rpz.bulwark. SOA",
        ]
        #expect(inc.map { $0.type == .soa ? "\($0.name) SOA" : "\($0.name) \($0.type) \($0.rdata)" } == expected)
        // The same over UDP fits in 512 bytes.
        let udp = try parse(try await ask(r, ixfr(s1), over: .udp))
        #expect(serials(udp[0].answers) == [s2, s1, s2, s2])
        // Current: one SOA. From the future: one SOA, no crash, no transfer.
        #expect(serials(try parse(try await ask(r, ixfr(s2)))[0].answers) == [s2])
        #expect(serials(try parse(try await ask(r, ixfr(s2 &+ 1000)))[0].answers) == [s2])
        // Unknown history: the whole zone over TCP (AXFR-style), the SOA alone over UDP.
        let full = try parse(try await ask(r, ixfr(s0 &- 5))).flatMap(\.answers)
        #expect(full.first?.type == .soa && full.last?.type == .soa && full.count > 10)
        #expect(!full.contains { $0.name.description.hasPrefix("evil.example") })
        #expect(try parse(try await ask(r, ixfr(s0 &- 5), over: .udp))[0].answers.count == 1)
    }

    @Test func refusals() async throws {
        let (r, _) = setup { $0.requireKeys = [Self.key.name] }
        func rcode(_ q: [UInt8], from: IPAddress = Self.localhost, over t: RPZResponder.Transport = .tcp) async throws -> Rcode? {
            try parse(try await ask(r, q, from: from, over: t)).first?.rcode
        }
        // AXFR without the required key; from outside the ACL; over UDP; an unknown zone.
        #expect(try await rcode(query("phishing.rpz.bulwark.", .axfr)) == .refused)
        #expect(try await rcode(query("malware.rpz.bulwark.", .axfr), from: IPAddress("192.0.2.1")!) == .refused)
        #expect(try await rcode(query("malware.rpz.bulwark.", .axfr), over: .udp) == .formErr)
        #expect(try await rcode(query("example.com.", .axfr)) == .refused)
        #expect(try await rcode(query("x.malware.rpz.bulwark.", .a)) == .refused)
        #expect(try await rcode(query("malware.rpz.bulwark.", .a)) == .refused)
        // IXFR without the client's SOA; an unknown opcode; a NOTIFY for a zone we do not follow.
        #expect(try await rcode(query("malware.rpz.bulwark.", .ixfr)) == .formErr)
        #expect(try await rcode(query("malware.rpz.bulwark.", .soa, opcode: .update)) == .notImp)
        #expect(try await rcode(query("other.rpz.", .soa, opcode: .notify)) == .notAuth)
        // Garbage: FORMERR when there is a header, silence when not, silence for responses.
        #expect(try await ask(r, [1, 2, 3]).isEmpty)
        var junk = query("malware.rpz.bulwark.", .soa)
        junk.append(contentsOf: [0xC0, 0xFF])
        #expect(try await rcode(junk) == .formErr)
        var response = query("malware.rpz.bulwark.", .soa)
        response[2] |= 0x80
        #expect(try await ask(r, response).isEmpty)
    }

    @Test func tsigSignedTransfer() async throws {
        let (r, _) = setup { $0.requireKeys = [Self.key.name] }
        var small = r
        small.recordsPerMessage = 4
        let time = UInt64(Self.now.timeIntervalSince1970)
        let (signed, mac) = TSIG.sign(query("phishing.rpz.bulwark.", .axfr), key: Self.key, time: time)
        let messages = try await ask(small, signed)
        #expect(messages.count > 2)
        var verifier = TSIGStreamVerifier(key: Self.key, requestMAC: mac)
        for m in messages { #expect(verifier.verify(m, now: time) != .unsigned) }
        if case .valid = verifier.finish() {} else { Issue.record("the transfer does not verify: \(verifier.finish())") }
        #expect(try parse(messages).flatMap(\.answers).filter { $0.type == .soa }.count == 2)
        // A transfer signed with a key we do not know: NOTAUTH with BADKEY, nothing transferred.
        let stranger = TSIGKey(name: try Name("stranger."), secret: Array("another secret of 32 bytes......".utf8))
        let (bad, _) = TSIG.sign(query("phishing.rpz.bulwark.", .axfr), key: stranger, time: time)
        let refused = try await ask(r, bad)
        #expect(refused.count == 1)
        #expect(refused[0][3] & 0x0F == UInt8(Rcode.notAuth.rawValue))
        #expect(try TSIG.extract(refused[0])?.record.error == TSIGError.badKey.rawValue)
        // A signed request with one byte changed: BADSIG.
        var tampered = signed
        tampered[14] ^= 0x20
        let badsig = try await ask(r, tampered)
        #expect(try TSIG.extract(badsig[0])?.record.error == TSIGError.badSig.rawValue)
        // Outside the fudge: BADTIME.
        let (old, _) = TSIG.sign(query("phishing.rpz.bulwark.", .axfr), key: Self.key, time: time - 3600)
        let late = try await ask(r, old)
        #expect(try TSIG.extract(late[0])?.record.error == TSIGError.badTime.rawValue)
    }

    @Test func bigLocalDataIsSplitAcrossMessages() async throws {
        var rules = Rules()
        rules.list("garden", [.phishing])
        let big = RData.txt([[UInt8]](repeating: [UInt8](repeating: 0x61, count: 255), count: 40))
        for i in 0..<30 {
            let owner = try Name("big\(i).example.")
            rules.name("big\(i).example", .exact, .localData([ResourceRecord(name: owner, ttl: 60, rdata: big)]))
        }
        let publisher = RPZPublisher(zones: [zone("phishing.rpz.bulwark.", [.phishing])], engine: rules.engine())
        let r = RPZResponder(publisher: publisher)
        let messages = try parse(try await ask(r, query("phishing.rpz.bulwark.", .axfr)))
        #expect(messages.count > 1)
        let records = messages.flatMap(\.answers)
        #expect(records.filter { $0.type == .txt }.count == 30 && records.filter { $0.type == .soa }.count == 2)
        #expect(messages.allSatisfy { !$0.header.truncated })
    }
}
