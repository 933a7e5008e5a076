import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import NIOPosix
import Testing

@testable import Resolver

/// The cache in front of the forwarder: coalescing, serve-stale when upstreams fail, prefetch.
struct CachingResolverTests {
    typealias P = TestPackets

    static let question = Question(name: P.name("www.example.com"), type: .a)
    static let key = CacheKey(question, dnssecOK: false)
    static let record = P.a("www.example.com", "192.0.2.1", ttl: 60)

    static func answering(_ q: Message) -> FakeUpstream.Reply { .answer(P.answer(to: q, answers: [record])) }

    static func make(
        _ upstreams: [SocketAddress], clock: ManualClock, cache: CacheConfig = CacheConfig(), on loop: any EventLoop
    ) async throws -> NIOLoopBound<CachingResolver> {
        var config = ForwarderConfig()
        config.attemptTimeout = .milliseconds(200)
        return try await loop.submit { [config] in
            let forwarder = Forwarder(upstreams: upstreams, config: config, loop: loop, clock: clock)
            let resolver = CachingResolver(
                cache: ResponseCache(config: cache, clock: clock), forwarder: forwarder, loop: loop)
            return NIOLoopBound(resolver, eventLoop: loop)
        }.get()
    }

    static func resolve(_ r: NIOLoopBound<CachingResolver>, on loop: any EventLoop) async throws -> CachedAnswer {
        try await loop.flatSubmit { r.value.resolve(key, question: question, checkingDisabled: false) }.get()
    }

    static func cached(_ r: NIOLoopBound<CachingResolver>, on loop: any EventLoop) async throws -> CachedAnswer? {
        try await loop.submit { r.value.cached(key, question: question, checkingDisabled: false) }.get()
    }

    @Test func concurrentResolvesOfTheSameKeyShareOneUpstreamQuery() async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .delay(.milliseconds(50), P.answer(to: q, answers: [Self.record])) }) {
                fake in
                let r = try await Self.make([fake.address], clock: clock, on: loop)
                let (a, b) = try await loop.flatSubmit {
                    let first = r.value.resolve(Self.key, question: Self.question, checkingDisabled: false)
                    let second = r.value.resolve(Self.key, question: Self.question, checkingDisabled: false)
                    return first.and(second)
                }.get()
                #expect(fake.udpQueries == 1)
                #expect(a.wire == b.wire)
                #expect(try Message(parsing: a.agedWire).answers == [Self.record])
                #expect(try await loop.submit { r.value.coalesced }.get() == 1)

                // Once answered, the in-flight entry is gone: the next resolve asks again…
                _ = try await Self.resolve(r, on: loop)
                #expect(fake.udpQueries == 2)
                // …and the answer is in the cache.
                let hit = try #require(try await Self.cached(r, on: loop))
                #expect(try Message(parsing: hit.agedWire).answers == [Self.record])
            }
        }
    }

    @Test func differentKeysAreNotCoalesced() async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .delay(.milliseconds(20), Self.answering(q).message) }) { fake in
                let r = try await Self.make([fake.address], clock: clock, on: loop)
                let aaaa = Question(name: P.name("www.example.com"), type: .aaaa)
                _ = try await loop.flatSubmit {
                    r.value.resolve(Self.key, question: Self.question, checkingDisabled: false)
                        .and(r.value.resolve(CacheKey(aaaa, dnssecOK: false), question: aaaa, checkingDisabled: false))
                        .and(r.value.resolve(CacheKey(Self.question, dnssecOK: true), question: Self.question, checkingDisabled: false))
                }.get()
                #expect(fake.udpQueries == 3)
                #expect(try await loop.submit { r.value.coalesced }.get() == 0)
            }
        }
    }

    @Test func expiredEntryIsServedStaleWithEDE3WhenTheUpstreamIsGone() async throws {
        let clock = ManualClock()
        var cache = CacheConfig()
        cache.staleAnswerTTL = 30
        cache.staleRefreshInterval = 30
        try await withEventLoop { loop in
            let fake = try await FakeUpstream.start(Self.answering)
            let r = try await Self.make([fake.address], clock: clock, cache: cache, on: loop)
            let fresh = try await Self.resolve(r, on: loop)
            #expect(fresh.extendedError == nil)
            #expect(try await Self.cached(r, on: loop) != nil)

            await fake.stop()
            clock.advance(seconds: 61)
            #expect(try await Self.cached(r, on: loop) == nil)

            let stale = try await Self.resolve(r, on: loop)
            #expect(stale.extendedError?.code == .staleAnswer)
            let m = try Message(parsing: stale.agedWire)
            #expect(m.answers.map(\.rdata) == [Self.record.rdata])
            #expect(m.answers.map(\.ttl) == [30])
            #expect(try await loop.submit { r.value.staleServed }.get() == 1)

            // Within the refresh interval the cache serves it stale without asking upstream.
            let held = try #require(try await Self.cached(r, on: loop))
            #expect(held.extendedError?.code == .staleAnswer)
            #expect(try await loop.submit { r.value.staleServed }.get() == 2)
            #expect(try await loop.submit { r.value.forwarder.upstreams[0].queries }.get() == 2)
        }
    }

    @Test func failureWithNothingStalePropagatesTheError() async throws {
        let dead = try await FakeUpstream.deadAddress()
        try await withEventLoop { loop in
            let r = try await Self.make([dead], clock: ManualClock(), on: loop)
            await #expect(throws: ResolverError(.upstreamsFailed)) { try await Self.resolve(r, on: loop) }
            #expect(try await loop.submit { r.value.staleServed }.get() == 0)
        }
    }

    @Test func uncacheableAnswerIsPassedOnWithoutIDOrOPT() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream({ q in .answer(P.answer(to: q, rcode: .nxDomain)) }) { fake in
                let r = try await Self.make([fake.address], clock: ManualClock(), on: loop)
                let answer = try await Self.resolve(r, on: loop)
                #expect(answer.rcode == .nxDomain)
                let m = try Message(parsing: answer.agedWire)
                #expect(m.header.id == 0)
                #expect(m.edns == nil)
                #expect(m.rcode == .nxDomain)
                #expect(try await loop.submit { r.value.cache.count }.get() == 0)
            }
        }
    }

    @Test func popularEntryNearExpiryIsPrefetchedInTheBackground() async throws {
        let clock = ManualClock()
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let r = try await Self.make([fake.address], clock: clock, on: loop)
                _ = try await Self.resolve(r, on: loop)
                clock.advance(seconds: 55)  // 5 of 60 s left
                #expect(try await Self.cached(r, on: loop) != nil)  // first hit: not yet popular
                #expect(fake.udpQueries == 1)
                // Second hit: served from cache, and a refresh starts; a resolve joins it.
                let refreshed = try await loop.flatSubmit {
                    let hit = r.value.cached(Self.key, question: Self.question, checkingDisabled: false)
                    precondition(hit != nil)
                    return r.value.resolve(Self.key, question: Self.question, checkingDisabled: false)
                }.get()
                #expect(try Message(parsing: refreshed.agedWire).answers.map(\.ttl) == [60])
                #expect(fake.udpQueries == 2)
                #expect(try await loop.submit { r.value.prefetches }.get() == 1)
                #expect(try await loop.submit { r.value.coalesced }.get() == 1)
                // The cache now holds the refreshed entry.
                let hit = try #require(try await Self.cached(r, on: loop))
                #expect(try Message(parsing: hit.agedWire).answers.map(\.ttl) == [60])
            }
        }
    }
}

extension FakeUpstream.Reply {
    /// The message of an `.answer` reply (for wrapping it in other replies).
    var message: Message {
        if case .answer(let m) = self { return m }
        fatalError("not an answer reply")
    }
}
