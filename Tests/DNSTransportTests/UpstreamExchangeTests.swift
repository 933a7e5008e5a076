import DNSTestSupport
import DNSWire
import NIOCore
import NIOPosix
import Testing

@testable import DNSTransport

/// One exchange with an upstream over real loopback sockets.
struct UpstreamExchangeTests {
    typealias P = TestPackets

    static let query = P.queryMessage("www.example.com", .a, id: 0x4242)
    static let record = P.a("www.example.com", "192.0.2.7")

    /// Accepts replies with our ID and QR set.
    static let accept: @Sendable ([UInt8]) -> Bool = { b in b.count >= 12 && b[0] == 0x42 && b[1] == 0x42 && b[2] & 0x80 != 0 }

    static func udp(_ fake: FakeUpstream, on loop: any EventLoop, timeout: TimeAmount = .seconds(1)) async throws -> Message {
        let bytes = try await UpstreamExchange.udp(
            P.encode(query), to: fake.address, on: loop, timeout: timeout, accept: accept
        ).get()
        return try Message(parsing: bytes)
    }

    @Test func udpAnswerIsReturned() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [Self.record])) }) { fake in
                let m = try await Self.udp(fake, on: loop)
                #expect(m.answers == [Self.record])
                #expect(m.header.id == 0x4242)
                #expect(fake.udpQueries == 1)
                #expect(fake.received.first?.message == Self.query)
            }
        }
    }

    @Test func udpIgnoresRejectedDatagramsAndTakesTheNextOne() async throws {
        let spoof = P.answer("www.example.com", answers: [P.a("www.example.com", "203.0.113.1")])
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .wrongID(P.answer(to: q, answers: [Self.record]), spoof: spoof) }) { fake in
                let m = try await Self.udp(fake, on: loop)
                #expect(m.answers == [Self.record])
            }
        }
    }

    @Test func udpTimesOutWhenNothingAcceptableArrives() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ _ in .garbage([1, 2, 3]) }) { fake in
                let (result, seconds) = await elapsedSeconds {
                    await #expect(throws: TransportError(.timeout)) {
                        try await Self.udp(fake, on: loop, timeout: .milliseconds(100))
                    }
                }
                _ = result
                // The garbage answer was sent (the query arrived) and ignored: the exchange
                // ended by its timeout, not by the answer. (No upper bound on the wall clock:
                // under load it says nothing about the code.)
                #expect(fake.udpQueries == 1)
                #expect(seconds >= 0.09)
            }
        }
    }

    @Test func udpToAClosedPortFailsFastWithNetworkError() async throws {
        let dead = try await FakeUpstream.deadAddress()
        try await withEventLoop { loop in
            let (error, _) = await elapsedSeconds { () async -> TransportError? in
                do {
                    _ = try await UpstreamExchange.udp(
                        P.encode(Self.query), to: dead, on: loop, timeout: .seconds(5), accept: Self.accept
                    ).get()
                    return nil
                } catch {
                    return error as? TransportError
                }
            }
            // A network error, not the 5 s timeout: the ICMP refusal ended the exchange.
            #expect(error?.code == .network)
        }
    }

    @Test func tcpAnswerIsReturned() async throws {
        let records = P.manyA("www.example.com", count: 100)
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: records)) }) { fake in
                let bytes = try await UpstreamExchange.tcp(
                    P.encode(Self.query), to: fake.address, on: loop, timeout: .seconds(1), accept: Self.accept
                ).get()
                #expect(try Message(parsing: bytes).answers == records)
                #expect(fake.tcpQueries == 1)
                #expect(fake.udpQueries == 0)
            }
        }
    }

    @Test func tcpRejectedAnswerFailsAsBadResponse() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ _ in .garbage(Array(repeating: 0, count: 12)) }) { fake in
                await #expect(throws: TransportError(.badResponse)) {
                    try await UpstreamExchange.tcp(
                        P.encode(Self.query), to: fake.address, on: loop, timeout: .seconds(1), accept: Self.accept
                    ).get()
                }
            }
        }
    }

    @Test func tcpTimesOutWhenTheServerSaysNothing() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ _ in .drop }) { fake in
                await #expect(throws: TransportError(.timeout)) {
                    try await UpstreamExchange.tcp(
                        P.encode(Self.query), to: fake.address, on: loop, timeout: .milliseconds(100), accept: Self.accept
                    ).get()
                }
            }
        }
    }
}
