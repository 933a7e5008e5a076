import DNSTestSupport
import DNSTransport
import DNSWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Resolver

/// The forwarder against scripted upstreams on loopback. The forwarder is loop-confined: it is
/// created and called on the loop, and the test holds it in a `NIOLoopBound`.
struct ForwarderTests {
    typealias P = TestPackets

    static let question = Question(name: P.name("www.example.com"), type: .a)
    static let realAnswer = P.a("www.example.com", "192.0.2.1", ttl: 300)

    static func config(timeout: TimeAmount = .milliseconds(200), maxAttempts: Int = 3) -> ForwarderConfig {
        var c = ForwarderConfig()
        c.attemptTimeout = timeout
        c.maxAttempts = maxAttempts
        return c
    }

    static func make(
        _ upstreams: [SocketAddress], config: ForwarderConfig = config(), clock: any ResolverClock = ManualClock(),
        on loop: any EventLoop
    ) async throws -> NIOLoopBound<Forwarder> {
        try await loop.submit {
            NIOLoopBound(Forwarder(upstreams: upstreams, config: config, loop: loop, clock: clock), eventLoop: loop)
        }.get()
    }

    static func resolve(
        _ f: NIOLoopBound<Forwarder>, _ q: Question = question, dnssecOK: Bool = false, cd: Bool = false,
        on loop: any EventLoop
    ) async throws -> Message {
        try await loop.flatSubmit { f.value.resolve(q, dnssecOK: dnssecOK, checkingDisabled: cd) }.get()
    }

    static func resolveError(_ f: NIOLoopBound<Forwarder>, on loop: any EventLoop) async -> ResolverError? {
        do {
            _ = try await resolve(f, on: loop)
            return nil
        } catch {
            return error as? ResolverError
        }
    }

    static func states(_ f: NIOLoopBound<Forwarder>, on loop: any EventLoop) async throws -> [UpstreamState] {
        try await loop.submit { f.value.upstreams }.get()
    }

    static func stats(_ f: NIOLoopBound<Forwarder>, on loop: any EventLoop) async throws -> UpstreamStats {
        try await loop.submit { f.value.stats }.get()
    }

    static func answering(_ query: Message) -> FakeUpstream.Reply {
        .answer(P.answer(to: query, answers: [realAnswer]))
    }

    static func rcode(_ rcode: Rcode) -> FakeUpstream.Script {
        { query in .answer(P.answer(to: query, rcode: rcode)) }
    }

    /// A script that answers and advances `clock` by 1 ms first, so the forwarder measures this
    /// upstream's RTT as 1000 µs: an unmeasured upstream then sorts before it.
    static func slowAnswering(_ clock: ManualClock) -> FakeUpstream.Script {
        { query in
            clock.advance(milliseconds: 1)
            return answering(query)
        }
    }

    // MARK: Answers

    @Test func answerIsReturnedAndTheQueryIsWellFormed() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let f = try await Self.make([fake.address], on: loop)
                let m = try await Self.resolve(f, dnssecOK: true, cd: true, on: loop)
                #expect(m.answers == [Self.realAnswer])
                #expect(m.rcode == .noError)

                let sent = try #require(fake.received.first)
                #expect(fake.udpQueries == 1)
                #expect(fake.tcpQueries == 0)
                #expect(sent.message.questions == [Self.question])
                #expect(sent.message.header.recursionDesired)
                #expect(sent.message.header.checkingDisabled)
                #expect(!sent.message.header.isResponse)
                #expect(sent.message.edns?.udpPayloadSize == 1232)
                #expect(sent.message.edns?.dnssecOK == true)
                #expect(m.header.id == sent.message.header.id)

                let state = try await Self.states(f, on: loop)[0]
                #expect(state.queries == 1)
                #expect(state.failures == 0)
                #expect(try await Self.stats(f, on: loop).latencyCount == 1)
                #expect(try await loop.submit { f.value.inFlightCount }.get() == 0)
            }
        }
    }

    @Test func queryIDsAreRandom() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let f = try await Self.make([fake.address], on: loop)
                for _ in 0..<4 { _ = try await Self.resolve(f, on: loop) }
                let ids = Set(fake.received.map(\.message.header.id))
                // Four equal IDs out of 65536 would mean the IDs are not random.
                #expect(ids.count > 1)
            }
        }
    }

    @Test func spoofedReplyWithWrongIDIsIgnoredAndTheRealOneAccepted() async throws {
        let spoof = P.answer("www.example.com", answers: [P.a("www.example.com", "203.0.113.66")])
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .wrongID(P.answer(to: q, answers: [Self.realAnswer]), spoof: spoof) }) {
                fake in
                let f = try await Self.make([fake.address], on: loop)
                let m = try await Self.resolve(f, on: loop)
                #expect(m.answers == [Self.realAnswer])
                #expect(m.header.id == fake.received.first?.message.header.id)
            }
        }
    }

    @Test(arguments: ["wrongID", "wrongQuestion", "notAResponse", "garbage"])
    func replyThatDoesNotMatchIsIgnoredUntilTimeout(_ kind: String) async throws {
        let script: FakeUpstream.Script = { q in
            var r = P.answer(to: q, answers: [Self.realAnswer])
            switch kind {
            case "wrongID": r.header.id = q.header.id &+ 1
            case "wrongQuestion": r.questions = [Question(name: P.name("evil.example.com"), type: .a)]
            case "notAResponse": r.header.isResponse = false
            default: return .garbage([0xDE, 0xAD, 0xBE, 0xEF])
            }
            // `.garbage` is sent as it is: the fake does not fix the ID.
            return .garbage(P.encode(r))
        }
        try await withEventLoop { loop in
            try await withFakeUpstream(script) { fake in
                let f = try await Self.make([fake.address], config: Self.config(timeout: .milliseconds(150)), on: loop)
                let error = try #require(await Self.resolveError(f, on: loop))
                #expect(error.code == .upstreamsFailed)
                #expect(error.upstreamAnswered == false)
                #expect(try await Self.stats(f, on: loop).timeouts == 1)
                #expect(fake.udpQueries == 1)
            }
        }
    }

    @Test func matchesChecksIDResponseBitOpcodeAndQuestion() {
        let q = P.queryMessage("www.example.com", .a, id: 7)
        let good = P.answer(to: q)
        #expect(Forwarder.matches(P.encode(good), id: 7, question: Self.question))
        // The question matches case-insensitively (0x20 from upstreams).
        var upper = good
        upper.questions = [Question(name: P.name("WWW.EXAMPLE.COM"), type: .a)]
        #expect(Forwarder.matches(P.encode(upper), id: 7, question: Self.question))
        #expect(!Forwarder.matches(P.encode(good), id: 8, question: Self.question))
        var notify = good
        notify.header.opcode = .notify
        #expect(!Forwarder.matches(P.encode(notify), id: 7, question: Self.question))
        var aaaa = good
        aaaa.questions[0].type = .aaaa
        #expect(!Forwarder.matches(P.encode(aaaa), id: 7, question: Self.question))
        var chaos = good
        chaos.questions[0].rrClass = .ch
        #expect(!Forwarder.matches(P.encode(chaos), id: 7, question: Self.question))
        var two = good
        two.questions.append(Self.question)
        #expect(!Forwarder.matches(P.encode(two), id: 7, question: Self.question))
        #expect(!Forwarder.matches(Array(P.encode(good).prefix(11)), id: 7, question: Self.question))
    }

    @Test func truncatedUDPAnswerIsRetriedOverTCP() async throws {
        let records = P.manyA("www.example.com", count: 20)
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .truncatedOverUDP(P.answer(to: q, answers: records)) }) { fake in
                let f = try await Self.make([fake.address], on: loop)
                let m = try await Self.resolve(f, on: loop)
                #expect(m.answers == records)
                #expect(!m.header.truncated)
                #expect(fake.udpQueries == 1)
                #expect(fake.tcpQueries == 1)
                // The same query (same ID) goes over TCP.
                #expect(fake.received.map(\.message.header.id).count == 2)
                #expect(Set(fake.received.map(\.message.header.id)).count == 1)
                #expect(try await Self.stats(f, on: loop).tcpRetries == 1)
            }
        }
    }

    // MARK: Failover

    /// Resolves until `first` has been asked once (at most twice: once the slow upstream has an
    /// RTT, the unmeasured `first` sorts before it), expecting every resolve to succeed.
    static func resolveUntilAsked(
        _ first: FakeUpstream, _ f: NIOLoopBound<Forwarder>, on loop: any EventLoop
    ) async throws -> Message {
        var last: Message?
        for _ in 0..<2 where first.totalQueries == 0 {
            last = try await resolve(f, on: loop)
        }
        #expect(first.totalQueries == 1)
        return try #require(last)
    }

    @Test func timeoutFailsOverToTheNextUpstream() async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream({ _ in .drop }) { a in
                try await withFakeUpstream(Self.slowAnswering(clock)) { b in
                    let f = try await Self.make([a.address, b.address], clock: clock, on: loop)
                    let m = try await Self.resolveUntilAsked(a, f, on: loop)
                    #expect(m.answers == [Self.realAnswer])
                    let states = try await Self.states(f, on: loop)
                    #expect(states[0].failures == 1)
                    #expect(states[0].consecutiveFailures == 1)
                    #expect(states[1].failures == 0)
                    let stats = try await Self.stats(f, on: loop)
                    #expect(stats.timeouts == 1)
                    #expect(stats.errors == 0)
                }
            }
        }
    }

    @Test(arguments: [Rcode.servFail, .refused, .notImp, .formErr])
    func errorRcodeFailsOverToTheNextUpstream(_ rcode: Rcode) async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(rcode)) { a in
                try await withFakeUpstream(Self.slowAnswering(clock)) { b in
                    let f = try await Self.make([a.address, b.address], clock: clock, on: loop)
                    let m = try await Self.resolveUntilAsked(a, f, on: loop)
                    #expect(m.answers == [Self.realAnswer])
                    #expect(m.rcode == .noError)
                    #expect(try await Self.states(f, on: loop)[0].consecutiveFailures == 1)
                    #expect(try await Self.stats(f, on: loop).errors == 1)
                }
            }
        }
    }

    @Test func nxdomainIsAnAnswerNotAFailure() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(.nxDomain)) { a in
                try await withFakeUpstream(Self.answering) { b in
                    let f = try await Self.make([a.address, b.address], on: loop)
                    // Whichever is asked first answers: NXDOMAIN from a or the record from b.
                    let m = try await Self.resolve(f, on: loop)
                    #expect(a.totalQueries + b.totalQueries == 1)
                    #expect(m.rcode == (a.totalQueries == 1 ? .nxDomain : .noError))
                }
            }
        }
    }

    @Test func allUpstreamsAnsweringWithErrorsFailWithUpstreamAnswered() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(.servFail)) { a in
                try await withFakeUpstream(Self.rcode(.refused)) { b in
                    let f = try await Self.make([a.address, b.address], on: loop)
                    let error = try #require(await Self.resolveError(f, on: loop))
                    #expect(error.code == .upstreamsFailed)
                    #expect(error.upstreamAnswered)
                    #expect(a.totalQueries == 1)
                    #expect(b.totalQueries == 1)
                }
            }
        }
    }

    @Test func allUpstreamsTimingOutFailWithoutUpstreamAnswered() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ _ in .drop }) { a in
                try await withFakeUpstream({ _ in .drop }) { b in
                    let f = try await Self.make([a.address, b.address], config: Self.config(timeout: .milliseconds(150)), on: loop)
                    let error = try #require(await Self.resolveError(f, on: loop))
                    #expect(error.code == .upstreamsFailed)
                    #expect(!error.upstreamAnswered)
                    #expect(try await Self.stats(f, on: loop).timeouts == 2)
                    #expect(try await loop.submit { f.value.inFlightCount }.get() == 0)
                }
            }
        }
    }

    @Test func oneErrorAnswerAndOneDeadUpstreamStillCountsAsAnswered() async throws {
        let dead = try await FakeUpstream.deadAddress()
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(.servFail)) { a in
                let f = try await Self.make([a.address, dead], on: loop)
                let error = try #require(await Self.resolveError(f, on: loop))
                #expect(error.code == .upstreamsFailed)
                #expect(error.upstreamAnswered)
            }
        }
    }

    @Test func deadUpstreamFailsFast() async throws {
        let dead = try await FakeUpstream.deadAddress()
        try await withEventLoop { loop in
            let f = try await Self.make([dead], config: Self.config(timeout: .seconds(5)), on: loop)
            let (error, _) = await elapsedSeconds { await Self.resolveError(f, on: loop) }
            #expect(error?.code == .upstreamsFailed)
            #expect(error?.upstreamAnswered == false)
            // ICMP port unreachable, not the 5 s timeout: counted as an error, no timeout.
            let stats = try await Self.stats(f, on: loop)
            #expect(stats.errors == 1)
            #expect(stats.timeouts == 0)
        }
    }

    @Test func atMostMaxAttemptsUpstreamsAreTried() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(.servFail)) { a in
                try await withFakeUpstream(Self.rcode(.servFail)) { b in
                    try await withFakeUpstream(Self.rcode(.servFail)) { c in
                        let f = try await Self.make(
                            [a.address, b.address, c.address], config: Self.config(maxAttempts: 2), on: loop)
                        #expect(await Self.resolveError(f, on: loop)?.code == .upstreamsFailed)
                        #expect(a.totalQueries + b.totalQueries + c.totalQueries == 2)
                    }
                }
            }
        }
    }

    @Test func noUpstreamsFailsImmediately() async throws {
        try await withEventLoop { loop in
            let f = try await Self.make([], on: loop)
            #expect(await Self.resolveError(f, on: loop)?.code == .noUpstreams)
        }
    }

    @Test func overMaxInFlightFailsFastAsOverloaded() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .delay(.milliseconds(100), P.answer(to: q, answers: [Self.realAnswer])) }) {
                fake in
                var config = Self.config()
                config.maxInFlight = 1
                let f = try await Self.make([fake.address], config: config, on: loop)
                let q = Self.question
                let (first, second) = try await loop.submit {
                    (f.value.resolve(q, dnssecOK: false, checkingDisabled: false),
                     f.value.resolve(q, dnssecOK: false, checkingDisabled: false))
                }.get()
                await #expect(throws: ResolverError(.overloaded)) { try await second.get() }
                #expect(try await first.get().answers == [Self.realAnswer])
                #expect(try await loop.submit { f.value.inFlightCount }.get() == 0)
                #expect(fake.udpQueries == 1)
            }
        }
    }

    // MARK: Health

    @Test func upstreamSortsLastAfterThreeConsecutiveFailuresUntilBackoffEnds() async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.rcode(.servFail)) { bad in
                // `good` answers its first query slowly (10 s by the manual clock), so by RTT alone
                // `bad` would sort first: only the down mark puts it last.
                let first = NIOLockedValueBox(true)
                try await withFakeUpstream({ q in
                    if first.withLockedValue({ f in defer { f = false }; return f }) { clock.advance(seconds: 10) }
                    return Self.answering(q)
                }) { good in
                    let f = try await Self.make([bad.address, good.address], clock: clock, on: loop)
                    let order = { try await loop.submit { f.value.order() }.get() }
                    var failures: [Int] = []
                    while failures.last ?? 0 < 3 && failures.count < 8 {
                        #expect(try await Self.resolve(f, on: loop).answers == [Self.realAnswer])
                        failures.append(try await Self.states(f, on: loop)[0].consecutiveFailures)
                        if failures.last! < 3 && good.totalQueries > 0 {
                            // Measured and not down: the fast upstream sorts first.
                            #expect(try await order() == [0, 1])
                        }
                    }
                    #expect(failures.last == 3)
                    let state = try await Self.states(f, on: loop)[0]
                    // Back-off of 1 s after the third failure.
                    #expect(state.downUntil == clock.nanoseconds() + 1_000_000_000)
                    #expect(try await order() == [1, 0])

                    clock.advance(milliseconds: 999)
                    #expect(try await order() == [1, 0])
                    clock.advance(milliseconds: 1)
                    #expect(try await order() == [0, 1])
                }
            }
        }
    }

    @Test func successResetsConsecutiveFailures() async throws {
        try await withEventLoop { loop in
            let flaky = FlakyScript()
            try await withFakeUpstream(flaky.script) { fake in
                let f = try await Self.make([fake.address], on: loop)
                for _ in 0..<2 { #expect(await Self.resolveError(f, on: loop) != nil) }
                #expect(try await Self.states(f, on: loop)[0].consecutiveFailures == 2)
                flaky.fail.withLockedValue { $0 = false }
                _ = try await Self.resolve(f, on: loop)
                let state = try await Self.states(f, on: loop)[0]
                #expect(state.consecutiveFailures == 0)
                #expect(state.failures == 2)
                #expect(state.downUntil == 0)
            }
        }
    }
}



/// SERVFAIL while `fail` is set, then answers.
final class FlakyScript: Sendable {
    let fail = NIOLockedValueBox(true)
    var script: FakeUpstream.Script {
        { [fail] q in
            fail.withLockedValue { $0 }
                ? .answer(TestPackets.answer(to: q, rcode: .servFail))
                : .answer(TestPackets.answer(to: q, answers: [ForwarderTests.realAnswer]))
        }
    }
}
