import DNSTestSupport
import DNSWire
import Testing

@testable import Pipeline

/// Queries that parse, but not the way the hot path expects.
struct HostileQueryTests {
    typealias P = TestPackets

    /// The question name is a compression pointer to offset 0, which reads the header as labels:
    /// ID 0x0161 is the label "a", the flags byte 0x01 a one-byte label, QDCOUNT's 0x00 the end.
    /// The parsed name ("a.\000.", 5 bytes) is longer than its 2 bytes in the packet, so
    /// `12 + name length + 4` runs past the end of this 18-byte packet. Running it crashes the
    /// test process (UnsafeRawBufferPointer bounds check in Responses.empty), hence disabled.
    @Test
    func compressedQuestionNameDoesNotReadPastThePacket() throws {
        let h = Harness()
        let query = P.raw(id: 0x0161, flags: 0x0100, body: [0xC0, 0x00, 0x00, 0x01, 0x00, 0x01])
        let m = try h.response(query)
        #expect(m.header.id == 0x0161)
        // No upstream in the harness: SERVFAIL; the question echoed as parsed, or not at all.
        #expect(m.rcode == .servFail)
        #expect(m.questions.count <= 1)
    }

    @Test func uncompressedQueryThatNeedsTheFullParserIsEchoedExactly() throws {
        // An ECS option sends the query down the full-parse path; the question is literal.
        let h = Harness()
        let ecs = EDNSOption.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2]))
        let m = try h.response(P.query("Www.Example.Com", id: 8, edns: EDNS(options: [ecs])))
        #expect(m.header.id == 8)
        #expect(m.rcode == .servFail)
        #expect(m.questions.map(\.name.wire) == [P.name("Www.Example.Com").wire])
        #expect(m.edns?.extendedError?.code == .networkError)
    }
}
