import DNSTestSupport
import DNSWire
import Testing

@testable import Resolver

/// The response cache against a manual clock: TTL ageing, clamps, negative caching (RFC 2308),
/// LRU eviction, serve-stale (RFC 8767) and prefetch marks.
struct ResponseCacheTests {
    typealias P = TestPackets

    static func key(_ name: String, _ type: RRType = .a, dnssecOK: Bool = false) -> CacheKey {
        CacheKey(Question(name: P.name(name), type: type), dnssecOK: dnssecOK)
    }

    static func parse(_ answer: CachedAnswer?, sourceLocation: SourceLocation = #_sourceLocation) throws -> Message {
        let answer = try #require(answer, sourceLocation: sourceLocation)
        return try Message(parsing: answer.agedWire)
    }

    static func hit(_ lookup: ResponseCache.Lookup) -> (answer: CachedAnswer, prefetch: Bool)? {
        if case .hit(let a, let p) = lookup { return (a, p) }
        return nil
    }

    static func isMiss(_ lookup: ResponseCache.Lookup) -> Bool {
        if case .miss = lookup { return true }
        return false
    }

    static func staleHeld(_ lookup: ResponseCache.Lookup) -> CachedAnswer? {
        if case .staleHeld(let a) = lookup { return a }
        return nil
    }

    /// www.example.com A with two records of different TTLs, an NS authority and a glue additional.
    static func positive(ttls: (UInt32, UInt32) = (300, 100)) -> Message {
        P.answer(
            "www.example.com", .a,
            answers: [P.a("www.example.com", "192.0.2.1", ttl: ttls.0), P.a("www.example.com", "192.0.2.2", ttl: ttls.1)],
            authorities: [P.ns("example.com", "ns1.example.com", ttl: 3600)],
            additionals: [P.a("ns1.example.com", "192.0.2.53", ttl: 3600)])
    }

    @Test func positiveAnswerIsServedWithTTLsAgedByElapsedSeconds() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        let k = Self.key("www.example.com")
        let stored = try Self.parse(cache.insert(k, response: Self.positive()))
        #expect(stored.allTTLs == [300, 100, 3600, 3600])
        #expect(cache.count == 1)

        clock.advance(seconds: 40)
        let hit = try #require(Self.hit(cache.lookup(k)))
        let m = try Message(parsing: hit.answer.agedWire)
        #expect(m.allTTLs == [260, 60, 3560, 3560])
        #expect(m.header.id == 0)
        #expect(m.answers.map(\.rdata) == Self.positive().answers.map(\.rdata))
        #expect(hit.answer.rcode == .noError)
        #expect(hit.answer.extendedError == nil)

        // Sub-second steps do not age a TTL, whole seconds do.
        clock.advance(milliseconds: 500)
        #expect(try Message(parsing: #require(Self.hit(cache.lookup(k))).answer.agedWire).allTTLs == [260, 60, 3560, 3560])
        clock.advance(milliseconds: 500)
        #expect(try Message(parsing: #require(Self.hit(cache.lookup(k))).answer.agedWire).allTTLs == [259, 59, 3559, 3559])
    }

    @Test func keyIsCaseInsensitiveButSeparatesTypeAndDOBit() throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        cache.insert(Self.key("www.example.com"), response: Self.positive())
        #expect(Self.hit(cache.lookup(Self.key("WWW.Example.COM"))) != nil)
        #expect(Self.isMiss(cache.lookup(Self.key("www.example.com", .aaaa))))
        #expect(Self.isMiss(cache.lookup(Self.key("www.example.com", dnssecOK: true))))
    }

    /// The hot path's look-up of a scanned query, against an entry whose stored question is its
    /// key's name (compared in the stored message) and one whose is not (compared with the key).
    @Test(arguments: [true, false])
    func scannedQueryHitsWhateverTheCaseAndOnlyItsOwnName(questionIsKey: Bool) throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        let key = Self.key("www.example.com")
        // Upstream echoed the question in its own spelling: the stored message keeps it.
        var response = Self.positive()
        response.questions[0].name = P.name(questionIsKey ? "WwW.ExAmple.com" : "other.example.com")
        cache.insert(key, response: response)
        #expect(cache.slots[try #require(cache.slotIndex(key))].entry.keyNameLength == (questionIsKey ? 17 : 0))

        func lookup(_ name: String, _ type: RRType = .a, edns: EDNS? = nil) -> ResponseCache.Lookup {
            let q = P.query(name, type, edns: edns)
            return q.withUnsafeBytes { p in cache.lookup(QueryScan.scan(p), packet: p) }
        }
        for spelling in ["www.example.com", "WWW.EXAMPLE.COM", "wWw.eXaMpLe.CoM"] {
            let hit = try #require(Self.hit(lookup(spelling)), "\(spelling)")
            #expect(hit.answer.wire == cache.slots[try #require(cache.slotIndex(key))].entry.wire)
        }
        #expect(Self.isMiss(lookup("www.example.com", .aaaa)))
        #expect(Self.isMiss(lookup("www.example.com", edns: EDNS(dnssecOK: true))))

        // Hash collisions: another name's hash made to lead to this entry. The names differ, so
        // each is a miss; "other.example.com" is the stored question of the entry whose question
        // is not its key's, and must not be taken for the key.
        let slot = try #require(cache.slotIndex(key))
        for other in ["xww.example.com", "www.examplf.com", "www.example.com.example.com", "example.com", "other.example.com"] {
            let hash = P.query(other).withUnsafeBytes { QueryScan.scan($0).keyHash }
            cache.index.set(hash, slot)
            #expect(Self.isMiss(lookup(other)), "\(other)")
            cache.index.remove(hash)
        }
        #expect(Self.hit(lookup("www.example.com")) != nil)
    }

    @Test func entryExpiresWithItsSmallestTTL() throws {
        let clock = ManualClock()
        var config = CacheConfig()
        config.serveStale = false
        let cache = ResponseCache(config: config, clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        clock.advance(seconds: 99)
        let last = try #require(Self.hit(cache.lookup(k)))
        #expect(try Message(parsing: last.answer.agedWire).answers.map(\.ttl) == [201, 1])
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(k)))
        // Without serve-stale the expired entry is gone, not kept.
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
    }

    @Test func storedWireHasNoOPTAndIDZero() throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        var response = Self.positive()
        response.header.id = 0xBEEF
        response.edns = EDNS(udpPayloadSize: 4096, dnssecOK: false)
        let k = Self.key("www.example.com")
        cache.insert(k, response: response)
        let m = try Message(parsing: #require(Self.hit(cache.lookup(k))).answer.agedWire)
        #expect(m.header.id == 0)
        #expect(m.edns == nil)
    }

    @Test func minAndMaxTTLClampRecordTTLsAndLifetime() throws {
        let clock = ManualClock()
        var config = CacheConfig()
        config.minTTL = 60
        config.maxTTL = 600
        config.serveStale = false
        let cache = ResponseCache(config: config, clock: clock)
        let low = Self.key("low.example.com")
        let high = Self.key("high.example.com")
        let lowMsg = P.answer("low.example.com", answers: [P.a("low.example.com", "192.0.2.1", ttl: 5)])
        let highMsg = P.answer("high.example.com", answers: [P.a("high.example.com", "192.0.2.2", ttl: 86400)])
        #expect(try Self.parse(cache.insert(low, response: lowMsg)).answers.map(\.ttl) == [60])
        #expect(try Self.parse(cache.insert(high, response: highMsg)).answers.map(\.ttl) == [600])

        clock.advance(seconds: 59)
        #expect(try Message(parsing: #require(Self.hit(cache.lookup(low))).answer.agedWire).answers[0].ttl == 1)
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(low)))
        clock.advance(seconds: 539)
        #expect(try Message(parsing: #require(Self.hit(cache.lookup(high))).answer.agedWire).answers[0].ttl == 1)
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(high)))
    }

    @Test func aaFlagIsClearedOnCachedAnswers() throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        let k = Self.key("www.example.com")
        var response = Self.positive()
        response.header.authoritative = true
        #expect(try Self.parse(cache.insert(k, response: response)).header.authoritative == false)
        let m = try Message(parsing: #require(Self.hit(cache.lookup(k))).answer.agedWire)
        #expect(m.header.authoritative == false)
        #expect(m.header.isResponse)
    }

    // MARK: Negative caching (RFC 2308)

    @Test(arguments: [
        // (SOA TTL, SOA MINIMUM, max negative TTL) → lifetime
        (UInt32(300), UInt32(60), UInt32(3600), UInt32(60)),
        (UInt32(30), UInt32(600), UInt32(3600), UInt32(30)),
        (UInt32(7200), UInt32(86400), UInt32(3600), UInt32(3600)),
    ])
    func nxdomainLifetimeIsMinOfSOATTLAndMinimumCappedByMaxNegative(
        soaTTL: UInt32, minimum: UInt32, maxNegative: UInt32, lifetime: UInt32
    ) throws {
        let clock = ManualClock()
        var config = CacheConfig()
        config.maxNegativeTTL = maxNegative
        let cache = ResponseCache(config: config, clock: clock)
        let k = Self.key("nope.example.com")
        let response = P.answer(
            "nope.example.com", rcode: .nxDomain, authorities: [P.soa("example.com", ttl: soaTTL, minimum: minimum)],
            additionals: [P.a("ns1.example.com", "192.0.2.53", ttl: 3600)])
        let stored = try Self.parse(cache.insert(k, response: response))
        #expect(stored.rcode == .nxDomain)
        #expect(stored.authorities.map(\.ttl) == [lifetime])
        // Additional records of a negative answer are not kept.
        #expect(stored.additionals.isEmpty)

        clock.advance(seconds: UInt64(lifetime) - 1)
        let hit = try #require(Self.hit(cache.lookup(k)))
        #expect(hit.answer.rcode == .nxDomain)
        #expect(try Message(parsing: hit.answer.agedWire).authorities.map(\.ttl) == [1])
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(k)))
    }

    @Test func nodataIsCachedWithSOALifetime() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        let k = Self.key("www.example.com", .aaaa)
        let response = P.answer("www.example.com", .aaaa, authorities: [P.soa("example.com", ttl: 900, minimum: 120)])
        let stored = try Self.parse(cache.insert(k, response: response))
        #expect(stored.rcode == .noError)
        #expect(stored.answers.isEmpty)
        #expect(stored.authorities.map(\.ttl) == [120])
        clock.advance(seconds: 119)
        #expect(Self.hit(cache.lookup(k))?.answer.rcode == .noError)
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(k)))
    }

    @Test func negativeAnswerWithCNAMEUsesTheSmallerLifetime() throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        let k = Self.key("alias.example.com")
        let response = P.answer(
            "alias.example.com", rcode: .nxDomain, answers: [P.cname("alias.example.com", "gone.example.net", ttl: 20)],
            authorities: [P.soa("example.net", ttl: 600, minimum: 600)])
        let stored = try Self.parse(cache.insert(k, response: response))
        #expect(stored.answers.map(\.ttl) == [20])
        #expect(stored.authorities.map(\.ttl) == [20])
    }

    @Test(arguments: ["servfail", "truncated", "nxdomainWithoutSOA", "nodataWithoutSOA", "refused"])
    func uncacheableResponsesAreNotStored(_ kind: String) throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        let k = Self.key("www.example.com")
        let response: Message
        switch kind {
        case "servfail": response = P.answer("www.example.com", rcode: .servFail)
        case "truncated":
            response = P.answer("www.example.com", answers: [P.a("www.example.com", "192.0.2.1")], truncated: true)
        case "nxdomainWithoutSOA": response = P.answer("www.example.com", rcode: .nxDomain)
        case "nodataWithoutSOA": response = P.answer("www.example.com", authorities: [P.ns("example.com", "ns1.example.com")])
        default: response = P.answer("www.example.com", rcode: .refused)
        }
        #expect(cache.insert(k, response: response) == nil)
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
        #expect(Self.isMiss(cache.lookup(k)))
        #expect(cache.stale(k) == nil)
    }

    @Test func zeroTTLAnswerIsReturnedButNotStored() throws {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        let k = Self.key("www.example.com")
        let response = P.answer("www.example.com", answers: [P.a("www.example.com", "192.0.2.1", ttl: 0)])
        let served = try Self.parse(cache.insert(k, response: response))
        #expect(served.answers.count == 1)
        #expect(cache.count == 0)
        #expect(Self.isMiss(cache.lookup(k)))
    }

    // MARK: LRU

    static func entrySize() -> Int {
        let cache = ResponseCache(config: CacheConfig(), clock: ManualClock())
        cache.insert(key("a.example.com"), response: small("a"))
        return cache.bytes
    }

    static func small(_ label: String) -> Message {
        P.answer("\(label).example.com", answers: [P.a("\(label).example.com", "192.0.2.1")])
    }

    @Test func leastRecentlyUsedEntryIsEvictedWhenOverMaxBytes() throws {
        let size = Self.entrySize()
        #expect(size > 0)
        var config = CacheConfig()
        config.maxBytes = 2 * size
        let cache = ResponseCache(config: config, clock: ManualClock())
        cache.insert(Self.key("a.example.com"), response: Self.small("a"))
        cache.insert(Self.key("b.example.com"), response: Self.small("b"))
        #expect(cache.count == 2)
        #expect(cache.bytes == 2 * size)
        cache.insert(Self.key("c.example.com"), response: Self.small("c"))
        #expect(cache.count == 2)
        #expect(cache.evictions == 1)
        #expect(cache.bytes <= config.maxBytes)
        #expect(Self.isMiss(cache.lookup(Self.key("a.example.com"))))
        #expect(Self.hit(cache.lookup(Self.key("b.example.com"))) != nil)
        #expect(Self.hit(cache.lookup(Self.key("c.example.com"))) != nil)
    }

    @Test func recentlyTouchedEntryIsKept() throws {
        let size = Self.entrySize()
        var config = CacheConfig()
        config.maxBytes = 2 * size
        let cache = ResponseCache(config: config, clock: ManualClock())
        cache.insert(Self.key("a.example.com"), response: Self.small("a"))
        cache.insert(Self.key("b.example.com"), response: Self.small("b"))
        // Touch a: b becomes the least recently used.
        #expect(Self.hit(cache.lookup(Self.key("a.example.com"))) != nil)
        cache.insert(Self.key("c.example.com"), response: Self.small("c"))
        #expect(Self.hit(cache.lookup(Self.key("a.example.com"))) != nil)
        #expect(Self.isMiss(cache.lookup(Self.key("b.example.com"))))
        #expect(Self.hit(cache.lookup(Self.key("c.example.com"))) != nil)

        // Evicted slots are reused and the byte count stays exact.
        cache.insert(Self.key("d.example.com"), response: Self.small("d"))
        #expect(cache.count == 2)
        #expect(cache.bytes == 2 * size)
        #expect(cache.evictions == 2)
        #expect(Self.isMiss(cache.lookup(Self.key("a.example.com"))))
    }

    @Test func replacingAnEntryKeepsTheByteCountExact() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        let before = cache.bytes
        cache.insert(k, response: Self.positive(ttls: (50, 40)))
        #expect(cache.count == 1)
        #expect(cache.bytes == before)
        #expect(try Message(parsing: #require(Self.hit(cache.lookup(k))).answer.agedWire).answers.map(\.ttl) == [50, 40])
    }

    // MARK: Serve-stale (RFC 8767)

    static func staleConfig() -> CacheConfig {
        var config = CacheConfig()
        config.staleAnswerTTL = 30
        config.maxStale = 3600
        config.staleRefreshInterval = 30
        return config
    }

    @Test func staleWithinMaxStaleGivesStaleTTLAndEDE3AndHolds() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: Self.staleConfig(), clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        clock.advance(seconds: 500)
        // Expired: a miss for fresh lookups, but kept.
        #expect(Self.isMiss(cache.lookup(k)))
        #expect(cache.count == 1)

        let stale = try #require(cache.stale(k))
        #expect(stale.extendedError?.code == .staleAnswer)
        #expect(stale.rcode == .noError)
        let m = try Message(parsing: stale.agedWire)
        #expect(m.allTTLs == [30, 30, 30, 30])
        #expect(m.answers.count == 2)

        // Held: the next lookups serve it stale without asking upstream…
        clock.advance(seconds: 29)
        let held = try #require(Self.staleHeld(cache.lookup(k)))
        #expect(held.extendedError?.code == .staleAnswer)
        #expect(try Message(parsing: held.agedWire).allTTLs == [30, 30, 30, 30])
        // …until the refresh interval has passed.
        clock.advance(seconds: 1)
        #expect(Self.isMiss(cache.lookup(k)))
    }

    @Test func staleBeyondMaxStaleIsNilAndRemoved() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: Self.staleConfig(), clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        // Lifetime 100 s + max stale 3600 s.
        clock.advance(seconds: 3699)
        #expect(cache.stale(k) != nil)
        clock.advance(seconds: 1)
        #expect(cache.stale(k) == nil)
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
    }

    @Test func expiredEntryBeyondMaxStaleIsDroppedByLookup() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: Self.staleConfig(), clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        clock.advance(seconds: 3700)
        #expect(Self.isMiss(cache.lookup(k)))
        #expect(cache.count == 0)
    }

    @Test func serveStaleDisabledGivesNothingStale() throws {
        let clock = ManualClock()
        var config = Self.staleConfig()
        config.serveStale = false
        let cache = ResponseCache(config: config, clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.positive())
        clock.advance(seconds: 101)
        #expect(cache.stale(k) == nil)
    }

    @Test func staleNegativeAnswerKeepsItsRcode() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: Self.staleConfig(), clock: clock)
        let k = Self.key("nope.example.com")
        cache.insert(k, response: P.answer("nope.example.com", rcode: .nxDomain, authorities: [P.soa("example.com", ttl: 60, minimum: 60)]))
        clock.advance(seconds: 120)
        let stale = try #require(cache.stale(k))
        #expect(stale.rcode == .nxDomain)
        #expect(try Message(parsing: stale.agedWire).authorities.map(\.ttl) == [30])
    }

    // MARK: Prefetch

    static func prefetchCache(_ clock: ManualClock) -> ResponseCache {
        var config = CacheConfig()
        config.prefetch = true
        config.prefetchMinHits = 2
        config.prefetchThreshold = 0.1
        return ResponseCache(config: config, clock: clock)
    }

    static func ttl100() -> Message {
        P.answer("www.example.com", answers: [P.a("www.example.com", "192.0.2.1", ttl: 100)])
    }

    @Test func popularEntryNearExpiryIsMarkedForPrefetchOnce() throws {
        let clock = ManualClock()
        let cache = Self.prefetchCache(clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.ttl100())
        clock.advance(seconds: 50)
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)  // 50% left
        clock.advance(seconds: 40)
        #expect(Self.hit(cache.lookup(k))?.prefetch == true)  // 10 s of 100 left, second hit
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)  // only once
        clock.advance(seconds: 5)
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)
    }

    @Test func unpopularEntryIsNotPrefetchedUntilItHasEnoughHits() throws {
        let clock = ManualClock()
        let cache = Self.prefetchCache(clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.ttl100())
        clock.advance(seconds: 95)
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)  // first hit
        #expect(Self.hit(cache.lookup(k))?.prefetch == true)  // second hit
    }

    @Test func prefetchFailedAllowsAnotherPrefetch() throws {
        let clock = ManualClock()
        let cache = Self.prefetchCache(clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.ttl100())
        clock.advance(seconds: 91)
        _ = cache.lookup(k)
        #expect(Self.hit(cache.lookup(k))?.prefetch == true)
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)
        cache.prefetchFailed(k)
        #expect(Self.hit(cache.lookup(k))?.prefetch == true)
    }

    @Test func refreshedEntryIsNotMarkedAgain() throws {
        let clock = ManualClock()
        let cache = Self.prefetchCache(clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.ttl100())
        clock.advance(seconds: 91)
        _ = cache.lookup(k)
        #expect(Self.hit(cache.lookup(k))?.prefetch == true)
        // The prefetch answer replaces the entry: fresh TTL, no mark.
        cache.insert(k, response: Self.ttl100())
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)
        #expect(Self.hit(cache.lookup(k))?.prefetch == false)
    }

    @Test func prefetchDisabledNeverMarks() throws {
        let clock = ManualClock()
        var config = CacheConfig()
        config.prefetch = false
        let cache = ResponseCache(config: config, clock: clock)
        let k = Self.key("www.example.com")
        cache.insert(k, response: Self.ttl100())
        clock.advance(seconds: 95)
        for _ in 0..<5 { #expect(Self.hit(cache.lookup(k))?.prefetch == false) }
    }
}
