import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import NIOPosix
import Testing

@testable import Pipeline

/// `DNSProcessor.process` on a real event loop, forwarding to a fake upstream on loopback.
struct EndToEndTests {
    typealias P = TestPackets

    static let record = P.a("www.example.com", "192.0.2.1", ttl: 300)
    static func answering(_ q: Message) -> FakeUpstream.Reply { .answer(P.answer(to: q, answers: [record])) }

    @Test func secondQueryIsACacheHit() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
                let first = try await h.response(P.query("www.example.com", id: 1, edns: EDNS()))
                #expect(first.header.id == 1)
                #expect(first.answers == [Self.record])
                #expect(first.edns?.extendedError == nil)

                h.clock.advance(seconds: 5)
                let second = try await h.response(P.query("WWW.EXAMPLE.COM", id: 2))
                #expect(second.header.id == 2)
                #expect(second.questions.map(\.name.wire) == [P.name("WWW.EXAMPLE.COM").wire])
                #expect(second.answers.map(\.ttl) == [295])
                #expect(fake.udpQueries == 1)
                let stats = try await h.stats
                #expect(stats.cacheMisses == 1)
                #expect(stats.cacheHits == 1)
            }
        }
    }

    @Test func upstreamAuthoritativeFlagIsCleared() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [Self.record], authoritative: true)) }) {
                fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
                #expect(try await !h.response(P.query("www.example.com")).header.authoritative)
                #expect(try await !h.response(P.query("www.example.com")).header.authoritative)
            }
        }
    }

    @Test func noReachableUpstreamGivesSERVFAILWithEDE23() async throws {
        let dead = try await FakeUpstream.deadAddress()
        try await withEventLoop { loop in
            let h = try await LiveHarness(loop: loop, upstreams: [dead])
            let m = try await h.response(P.query("www.example.com", id: 0x5151, edns: EDNS()))
            #expect(m.header.id == 0x5151)
            #expect(m.rcode == .servFail)
            #expect(m.edns?.extendedError?.code == .networkError)
            #expect(m.questions.map(\.name) == [P.name("www.example.com")])
            let plain = try await h.response(P.query("www.example.com"))
            #expect(plain.rcode == .servFail)
            #expect(plain.edns == nil)
        }
    }

    @Test func upstreamsAnsweringWithErrorsGiveSERVFAILWithEDE22() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, rcode: .servFail)) }) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
                let m = try await h.response(P.query("www.example.com", edns: EDNS()))
                #expect(m.rcode == .servFail)
                #expect(m.edns?.extendedError?.code == .noReachableAuthority)
            }
        }
    }

    @Test func expiredEntryIsServedStaleWhenTheUpstreamIsGone() async throws {
        try await withEventLoop { loop in
            let fake = try await FakeUpstream.start(Self.answering)
            let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
            _ = try await h.response(P.query("www.example.com"))
            await fake.stop()
            h.clock.advance(seconds: 301)
            let m = try await h.response(P.query("www.example.com", edns: EDNS()))
            #expect(m.rcode == .noError)
            #expect(m.answers.map(\.rdata) == [Self.record.rdata])
            #expect(m.answers.map(\.ttl) == [30])
            #expect(m.edns?.extendedError?.code == .staleAnswer)
            // Held: the next query is answered stale from the cache stage.
            let again = try await h.response(P.query("www.example.com", edns: EDNS()))
            #expect(again.edns?.extendedError?.code == .staleAnswer)
            let stats = try await h.stats
            #expect(stats.staleAnswers == 2)
            #expect(stats.cacheHits == 1)
        }
    }

    @Test func largeAnswerIsTruncatedOverUDPAndWholeOverTCP() async throws {
        let records = P.manyA("www.example.com", count: 60)
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .truncatedOverUDP(P.answer(to: q, answers: records)) }) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
                // The forwarder retries over TCP; the client without EDNS gets TC…
                let udp = try await h.response(P.query("www.example.com"))
                #expect(udp.header.truncated)
                #expect(udp.answers.isEmpty)
                #expect(fake.tcpQueries == 1)
                // …and asks again over TCP: the whole answer, from the cache.
                let tcp = try await h.response(P.query("www.example.com"), over: .tcp)
                #expect(!tcp.header.truncated)
                #expect(tcp.answers == records)
                #expect(fake.totalQueries == 2)
            }
        }
    }

    @Test
    func compressedQuestionNameIsEchoedCorrectly() async throws {
        // ID 0 and a question name that is a pointer to offset 0: the root, spelled C0 00 on the
        // wire. Legal to parse, but it is not the literal name at offset 12.
        let query = P.raw(id: 0, flags: 0x0100, body: [0xC0, 0x00, 0x00, 0x02, 0x00, 0x01])
        let ns = P.ns(".", "a.root-servers.net")
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [ns])) }) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address])
                let m = try await h.response(query)
                #expect(m.questions == [Question(name: .root, type: .ns)])
                #expect(m.answers == [ns])
            }
        }
    }
}
