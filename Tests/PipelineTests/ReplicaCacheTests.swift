import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import NIOPosix
import Resolver
import Synchronization
import Testing

@testable import Pipeline

/// `ReplicaCache`: the native UDP engine thread's copy of its loop's cache, fed through an inbox.
/// It ages by `SystemClock`, so records are stamped with `ManualClock.system(offsetSeconds:)`.
struct ReplicaCacheTests {
    typealias P = TestPackets

    static let name = "www.example.test"
    static let question = Question(name: P.name(name), type: .a)
    static let key = CacheKey(question, dnssecOK: false)

    /// A loop cache holding `name` as stored `age` seconds ago (by the system clock), its clock
    /// now at the system's time, and the record it replicates.
    struct Loop {
        let clock: ManualClock
        let cache: ResponseCache
        let record: ResponseCache.ReplicaRecord

        init(age: Int64, ttl: UInt32 = 300, address: String = "192.0.2.1", config: CacheConfig = CacheConfig()) throws {
            clock = ManualClock.system(offsetSeconds: -age)
            cache = ResponseCache(config: config, clock: clock)
            let stored = cache.insert(
                ReplicaCacheTests.key,
                response: P.answer(ReplicaCacheTests.name, answers: [P.a(ReplicaCacheTests.name, address, ttl: ttl)]))
            try #require(stored != nil)
            record = try #require(cache.replicaRecord(ReplicaCacheTests.key))
            clock.advance(seconds: UInt64(age))
        }

        /// Moves the loop's clock to the system's (it never goes back).
        func sync() {
            let now = systemSeconds()
            if now > clock.seconds { clock.advance(seconds: now - clock.seconds) }
        }
    }

    /// Pushes `events` from an event loop thread (as `CachingResolver.replicate` does).
    static func pushFromAnotherThread(_ replica: ReplicaCache, _ events: [CachingResolver.ReplicaEvent]) async throws {
        try await withEventLoop { loop in
            try await loop.submit {
                for e in events { replica.push(e) }
            }.get()
        }
    }

    /// Looks `key` up in the replica and in the loop's cache at the same system second (retrying
    /// if a second boundary falls between them).
    static func lookUpBoth(_ replica: ReplicaCache, _ loop: Loop) throws -> (replica: CachedAnswer?, loop: CachedAnswer?) {
        for _ in 0..<5 {
            let before = systemSeconds()
            loop.sync()
            replica.drain()  // an engine thread reads the clock at the start of each batch
            let fromLoop: CachedAnswer?
            switch loop.cache.lookup(key) {
            case .hit(let a, _): fromLoop = a
            case .staleHeld(let a): fromLoop = a
            case .miss: fromLoop = nil
            }
            let fromReplica = replica.cached(key, question: question, checkingDisabled: false)
            if systemSeconds() == before { return (fromReplica, fromLoop) }
        }
        Issue.record("the clock kept crossing second boundaries")
        return (nil, nil)
    }

    @Test func pushedRecordIsServedAfterDrainWithTheLoopsWireAndAge() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        let loop = try Loop(age: 100)
        try await Self.pushFromAnotherThread(replica, [.store(loop.record)])

        // Pushed but not drained: the engine thread has not seen it yet.
        #expect(replica.entries == 0)
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil)

        replica.drain()
        #expect(replica.entries == 1)
        #expect(replica.bytes > loop.record.wire.count)
        let (fromReplica, fromLoop) = try Self.lookUpBoth(replica, loop)
        let r = try #require(fromReplica)
        let l = try #require(fromLoop)
        #expect(r.wire == loop.record.wire)
        #expect(r.wire == l.wire)
        #expect(r.rcode == .noError)
        #expect(r.extendedError == nil)
        #expect(r.ttlOverride == nil)
        // Same insertion time: both age alike.
        #expect(r.age == l.age)
        #expect((100...130).contains(r.age))  // seconds pass between the insert and the look-up on a loaded machine
        #expect(r.agedWire == l.agedWire)
        let served = try Message(parsing: r.agedWire)
        #expect(served.answers.map(\.ttl) == [300 - r.age])
    }

    @Test func theScanPathFindsTheSameEntryWhateverTheCase() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        let loop = try Loop(age: 10)
        try await Self.pushFromAnotherThread(replica, [.store(loop.record)])
        replica.drain()
        for spelling in ["www.example.test", "WWW.EXAMPLE.TEST", "wWw.ExAmPlE.tEsT"] {
            let packet = P.query(spelling, id: 9)
            let answer = packet.withUnsafeBytes { p in
                replica.cached(QueryScan.scan(p), packet: p, checkingDisabled: false)
            }
            #expect(answer?.wire == loop.record.wire, "\(spelling)")
        }
        // Other questions about the name are other entries.
        let aaaa = P.query("www.example.test", .aaaa)
        #expect(aaaa.withUnsafeBytes { replica.cached(QueryScan.scan($0), packet: $0, checkingDisabled: false) } == nil)
        let withDO = P.query("www.example.test", edns: EDNS(dnssecOK: true))
        #expect(withDO.withUnsafeBytes { replica.cached(QueryScan.scan($0), packet: $0, checkingDisabled: false) } == nil)
    }

    @Test func eventsApplyInOrderAndDrainingTwiceIsHarmless() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        let first = try Loop(age: 50, address: "192.0.2.1")
        let second = try Loop(age: 5, address: "192.0.2.2")
        try await Self.pushFromAnotherThread(replica, [.store(first.record), .store(second.record)])
        replica.drain()
        replica.drain()
        #expect(replica.entries == 1)
        let answer = try #require(replica.cached(Self.key, question: Self.question, checkingDisabled: false))
        #expect(answer.wire == second.record.wire)
        #expect((5...35).contains(answer.age))  // the second record, not the first (age 50)
    }

    @Test func concurrentPushesAreNeverLost() async throws {
        // Two loops push 300 names each while the engine thread (here: the test) keeps draining.
        let replica = ReplicaCache(config: CacheConfig())
        let clock = ManualClock.system()
        let source = ResponseCache(config: CacheConfig(), clock: clock)
        var records: [ResponseCache.ReplicaRecord] = []
        for i in 0..<600 {
            let name = "n\(i).example.test"
            let key = CacheKey(Question(name: P.name(name), type: .a), dnssecOK: false)
            try #require(source.insert(key, response: P.answer(name, answers: [P.a(name, "192.0.2.9")])) != nil)
            records.append(try #require(source.replicaRecord(key)))
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let halves = [Array(records[0..<300]), Array(records[300...])]
        let finished = Finished()
        for k in 0..<2 {
            loops[k].execute {
                for r in halves[k] { replica.push(.store(r)) }
                finished.count.add(1, ordering: .releasing)
            }
        }
        while finished.count.load(ordering: .acquiring) < 2 {
            replica.drain()
        }
        replica.drain()
        #expect(replica.entries == 600)
        for r in records {
            let q = Question(name: Name(uncheckedWire: r.key.name), type: .a)
            #expect(replica.cached(r.key, question: q, checkingDisabled: false)?.wire == r.wire)
        }
        try await group.shutdownGracefully()
    }

    @Test func expiredEntryIsAMissUntilTheLoopHoldsItStale() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        // TTL 300, stored 400 s ago: expired 100 s ago, within maxStale.
        let loop = try Loop(age: 400)
        try await Self.pushFromAnotherThread(replica, [.store(loop.record)])
        replica.drain()
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil)
        #expect(replica.entries == 1, "kept for serve-stale")

        // The loop's upstreams failed: it served the entry stale and holds it for 30 s.
        loop.sync()
        let now = loop.clock.seconds
        #expect(loop.cache.stale(Self.key) != nil)
        let until = loop.cache.lastStaleHold
        #expect(until == now + UInt64(CacheConfig().staleRefreshInterval))
        try await Self.pushFromAnotherThread(replica, [.holdStale(Self.key, until: until)])
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil, "not drained yet")
        replica.drain()
        let stale = try #require(replica.cached(Self.key, question: Self.question, checkingDisabled: false))
        #expect(stale.extendedError?.code == .staleAnswer)
        #expect(stale.ttlOverride == CacheConfig().staleAnswerTTL)
        #expect(stale.wire == loop.record.wire)
        #expect(try Message(parsing: stale.agedWire).answers.map(\.ttl) == [30])

        // Through the engine chain: answered with EDE 3 and counted as stale.
        let stats = StatsBox()
        let chain = QueryChain.build(
            .init(acl: AccessList(allow: AccessList.defaultAllow), resolution: .handoff(replica), stats: stats, maxUDPSize: 1232))
        var ctx = QueryContext(
            packet: ByteBuffer(bytes: P.query(Self.name, id: 3, edns: EDNS())), client: ClientAddress(v4: 0x7F00_0001, port: 1),
            transport: .udp, listener: 0)
        var out = ByteBuffer()
        #expect(chain.runSync(&ctx, into: &out) == .answered)
        let m = try Message(parsing: Array(out.readableBytesView))
        #expect(m.edns?.extendedError?.code == .staleAnswer)
        #expect(m.answers.map(\.ttl) == [30])
        #expect(stats.stats.staleAnswers == 1)
        #expect(stats.stats.cacheHits == 1)

        // A hold that has ended: a miss again (the loop decides whether to ask upstream).
        try await Self.pushFromAnotherThread(replica, [.holdStale(Self.key, until: systemSeconds() - 1)])
        replica.drain()
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil)
    }

    @Test func holdForAnEntryTheReplicaDoesNotHaveIsIgnored() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        let loop = try Loop(age: 400)
        // Hold first, store after: the hold found nothing to hold.
        try await Self.pushFromAnotherThread(replica, [.holdStale(Self.key, until: systemSeconds() + 30), .store(loop.record)])
        replica.drain()
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil)
    }

    @Test func entryBeyondMaxStaleIsRemoved() async throws {
        var config = CacheConfig()
        config.maxStale = 60
        let replica = ReplicaCache(config: config)
        let loop = try Loop(age: 400, config: config)  // expired 100 s ago > maxStale
        try await Self.pushFromAnotherThread(
            replica, [.store(loop.record), .holdStale(Self.key, until: systemSeconds() + 30)])
        replica.drain()
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) == nil)
        #expect(replica.entries == 0)
    }

    @Test func popularEntryNearExpiryRecordsOnePrefetchRequest() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        // TTL 300, 280 s old: 20 s left, under 10 % of 300.
        let loop = try Loop(age: 280)
        try await Self.pushFromAnotherThread(replica, [.store(loop.record)])
        replica.drain()

        // First hit: not yet popular (prefetchMinHits = 2).
        #expect(replica.cached(Self.key, question: Self.question, checkingDisabled: false) != nil)
        #expect(replica.prefetchRequests.isEmpty)
        // Second hit: a request for the loop, no I/O here.
        let packet = P.query("WWW.example.TEST", id: 1, checkingDisabled: true)
        let second = packet.withUnsafeBytes { replica.cached(QueryScan.scan($0), packet: $0, checkingDisabled: true) }
        #expect(second != nil, "the entry is still served while it is refreshed")
        #expect(replica.prefetchRequests.count == 1)
        let request = try #require(replica.prefetchRequests.first)
        #expect(request.0 == Self.key)
        #expect(request.1.name.wire == P.name(Self.name).lowercasedWire)
        #expect(request.1.type == .a)
        #expect(request.2 == true, "checking disabled is passed on")
        // Further hits do not ask again.
        for _ in 0..<3 { _ = replica.cached(Self.key, question: Self.question, checkingDisabled: false) }
        #expect(replica.prefetchRequests.count == 1)
    }

    @Test func unpopularOrShortLivedEntriesAreNotPrefetched() async throws {
        let replica = ReplicaCache(config: CacheConfig())
        let short = try Loop(age: 8, ttl: 9)  // original TTL under 10 s
        try await Self.pushFromAnotherThread(replica, [.store(short.record)])
        replica.drain()
        for _ in 0..<5 { _ = replica.cached(Self.key, question: Self.question, checkingDisabled: false) }
        #expect(replica.prefetchRequests.isEmpty)

        let fresh = try Loop(age: 100, ttl: 300)  // 200 s left
        try await Self.pushFromAnotherThread(replica, [.store(fresh.record)])
        replica.drain()
        for _ in 0..<5 { _ = replica.cached(Self.key, question: Self.question, checkingDisabled: false) }
        #expect(replica.prefetchRequests.isEmpty)
    }
}

final class Finished: Sendable {
    let count = Atomic<Int>(0)
}
