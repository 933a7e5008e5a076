import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Testing

@testable import Pipeline

/// Sanitize, through the whole chain: what is dropped, and which error each bad query gets.
struct SanitizeTests {
    typealias P = TestPackets

    static let edns = EDNS(udpPayloadSize: 1232)

    @Test(arguments: [0, 1, 11])
    func runtIsDropped(_ length: Int) throws {
        let h = Harness()
        #expect(try h.ask(Array(P.query("www.example.com").prefix(length))) == nil)
        #expect(h.stats.stats.dropped == 1)
    }

    @Test func responseIsDropped() throws {
        let h = Harness()
        var q = P.query("www.example.com")
        q[2] |= 0x80
        #expect(try h.ask(q) == nil)
        #expect(try h.ask(P.encode(P.answer(to: P.queryMessage("www.example.com")))) == nil)
        #expect(h.stats.stats.dropped == 2)
    }

    @Test func responseFromOutsideTheACLIsDroppedToo() throws {
        let h = Harness()
        var q = P.query("www.example.com")
        q[2] |= 0x80
        #expect(try h.ask(q, from: outsideClient) == nil)
    }

    @Test(arguments: [
        // A question that runs past the end.
        TestPackets.raw(id: 0xBEEF, body: [7, 0x61, 0x62]),
        // Trailing bytes after the question.
        TestPackets.raw(id: 0xBEEF, body: [0, 0, 1, 0, 1, 0xFF]),
        // An answer count the packet cannot hold.
        TestPackets.raw(id: 0xBEEF, an: 9, body: [0, 0, 1, 0, 1]),
    ])
    func garbageGetsFORMERRWithTheSameID(_ packet: [UInt8]) throws {
        let h = Harness()
        let bytes = try #require(try h.ask(packet))
        let m = try Message(parsing: bytes)
        #expect(m.header.id == 0xBEEF)
        #expect(m.header.isResponse)
        #expect(m.rcode == .formErr)
        #expect(m.questions.isEmpty)
        #expect(m.answers.isEmpty)
    }

    @Test(arguments: [Opcode.iquery, .status, .notify, .update, Opcode(3), Opcode(15)])
    func otherOpcodesGetNOTIMP(_ opcode: Opcode) throws {
        let h = Harness()
        let m = try h.response(P.query("www.example.com", id: 0x0102, opcode: opcode))
        #expect(m.rcode == .notImp)
        #expect(m.header.id == 0x0102)
        #expect(m.header.opcode == opcode)
    }

    @Test func unparseableQueryWithAnotherOpcodeGetsNOTIMP() throws {
        let h = Harness()
        let m = try h.response(P.raw(flags: 0x1000, qd: 0, an: 3))  // STATUS, nonsense counts
        #expect(m.rcode == .notImp)
    }

    @Test func twoQuestionsGetFORMERR() throws {
        let h = Harness()
        var m = P.queryMessage("www.example.com", id: 77)
        m.questions.append(Question(name: P.name("example.org"), type: .aaaa))
        let r = try h.response(P.encode(m))
        #expect(r.rcode == .formErr)
        #expect(r.header.id == 77)
        #expect(r.questions.isEmpty)
    }

    @Test func noQuestionGetsFORMERR() throws {
        let h = Harness()
        #expect(try h.response(P.raw(qd: 0)).rcode == .formErr)
    }

    @Test func recordsInTheAnswerSectionOfAQueryGetFORMERR() throws {
        let h = Harness()
        var m = P.queryMessage("www.example.com")
        m.answers = [P.a("www.example.com", "192.0.2.1")]
        #expect(try h.response(P.encode(m)).rcode == .formErr)
    }

    @Test func ednsVersion1GetsBADVERS() throws {
        let h = Harness()
        let m = try h.response(P.query("www.example.com", id: 9, edns: EDNS(udpPayloadSize: 1232, version: 1)))
        #expect(m.header.id == 9)
        // BADVERS is 16: the upper bits travel in the OPT record.
        #expect(m.rcode == .badVers)
        #expect(m.header.headerRcode == 0)
        let opt = try #require(m.edns)
        #expect(opt.extendedRcode == 1)
        #expect(opt.version == 0)
    }

    @Test func ednsVersion1WithAnOptionThatNeedsTheFullParserGetsBADVERSToo() throws {
        let h = Harness()
        let ecs = EDNSOption.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2]))
        let m = try h.response(P.query("www.example.com", edns: EDNS(udpPayloadSize: 1232, version: 1, options: [ecs])))
        #expect(m.rcode == .badVers)
    }

    @Test func clientOutsideTheACLGetsREFUSEDWithEDE18() throws {
        let h = Harness()
        let m = try h.response(P.query("www.example.com", id: 5, edns: Self.edns), from: outsideClient)
        #expect(m.rcode == .refused)
        #expect(m.header.id == 5)
        #expect(m.edns?.extendedError?.code == .prohibited)
        #expect(m.questions.map(\.name) == [P.name("www.example.com")])
        // Without EDNS: REFUSED, and no OPT.
        let plain = try h.response(P.query("www.example.com"), from: outsideClient)
        #expect(plain.rcode == .refused)
        #expect(plain.edns == nil)
        // Even garbage from outside gets REFUSED, not FORMERR.
        #expect(try h.response(P.raw(body: [7, 1]), from: outsideClient).rcode == .refused)
    }

    @Test func clientInsideTheACLIsServed() throws {
        let h = Harness(allow: [CIDR("203.0.113.0/24")!])
        let m = try h.response(P.query("localhost", edns: Self.edns), from: outsideClient)
        #expect(m.rcode == .noError)
        #expect(try h.response(P.query("localhost"), from: loopbackClient).rcode == .refused)
    }

    @Test(arguments: [RRType.axfr, .ixfr])
    func zoneTransfersAreREFUSED(_ type: RRType) throws {
        let h = Harness()
        let m = try h.response(P.query("example.com", type, edns: Self.edns), over: .tcp)
        #expect(m.rcode == .refused)
        #expect(m.edns?.extendedError?.code == .notSupported)
        #expect(m.questions.map(\.type) == [type])
    }

    @Test(arguments: [RRClass.ch, .hs, .any])
    func otherClassesAreREFUSED(_ rrClass: RRClass) throws {
        let h = Harness()
        let m = try h.response(P.query("version.bind", .txt, rrClass: rrClass))
        #expect(m.rcode == .refused)
        #expect(m.questions.map(\.rrClass) == [rrClass])
    }

    @Test(arguments: [RRType.opt, .tsig, RRType(253), RRType(254)])
    func metaTypesInTheQuestionGetFORMERR(_ type: RRType) throws {
        let h = Harness()
        #expect(try h.response(P.query("example.com", type)).rcode == .formErr)
    }

    @Test func wellFormedQueryPassesSanitize() throws {
        let h = Harness()
        // It reaches Resolve, which has no upstream here: SERVFAIL with EDE 23.
        let m = try h.response(P.query("www.example.com", id: 3, edns: Self.edns))
        #expect(m.rcode == .servFail)
        #expect(m.edns?.extendedError?.code == .networkError)
        #expect(h.stats.stats.cacheMisses == 1)
    }
}
