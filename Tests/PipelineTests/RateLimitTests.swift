import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Testing

@testable import Pipeline

/// Per-client query rate limits: the token buckets, and what an over-limit client gets.
struct RateLimitTests {
    typealias P = TestPackets

    static let unit: UInt64 = 1 << 22  // ns per time unit of the limiter
    static func units(ms: UInt64) -> UInt64 { ms * 1_000_000 / unit }
    static func v4(_ a: UInt32) -> ClientAddress { ClientAddress(v4: a, port: 1) }

    @Test func bucketRefillsAtTheRateUpToTheBurst() {
        let l = ClientRateLimiter(.init(qps: 10, burst: 5, exempt: [], slots: 1024))
        let c = Self.v4(0xC000_0201)
        let t0: UInt64 = 1_000_000
        // A full bucket: the burst, then nothing.
        #expect((0..<5).allSatisfy { _ in l.allow(c, now: t0) })
        #expect(!l.allow(c, now: t0))
        // 10 qps: one token every 100 ms.
        #expect(!l.allow(c, now: t0 + Self.units(ms: 50)))
        #expect(l.allow(c, now: t0 + Self.units(ms: 110)))
        #expect(!l.allow(c, now: t0 + Self.units(ms: 120)))
        // A long pause fills the bucket to the burst, not beyond.
        let later = t0 + Self.units(ms: 60_000)
        #expect((0..<5).allSatisfy { _ in l.allow(c, now: later) })
        #expect(!l.allow(c, now: later))
        // Other clients have their own buckets.
        #expect(l.allow(Self.v4(0xC000_0202), now: later))
    }

    @Test func slowRatesStillRefill() {
        // 1 qps, queries every 50 ms: the fractions add up instead of being lost at each query.
        let l = ClientRateLimiter(.init(qps: 1, burst: 1, exempt: [], slots: 64))
        let c = Self.v4(0x0A00_0001)
        var t: UInt64 = 5000
        var allowed = 0
        for _ in 0..<200 {  // 10 s
            if l.allow(c, now: t) { allowed += 1 }
            t += Self.units(ms: 50)
        }
        #expect((9...11).contains(allowed))
    }

    @Test func ipv6CountsPer64AndExemptionsApply() {
        let l = ClientRateLimiter(.init(qps: 1, burst: 1, exempt: [CIDR("192.0.2.0/24")!], slots: 64))
        func v6(_ last: UInt8, _ subnet: UInt8 = 0) -> ClientAddress {
            ClientAddress(v6: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, subnet, 0, 0, 0, 0, 0, 0, 0, last], port: 1)
        }
        #expect(l.allow(v6(1), now: 100))
        #expect(!l.allow(v6(2), now: 100))  // same /64
        #expect(l.allow(v6(2, 1), now: 100))  // another /64
        #expect((0..<100).allSatisfy { _ in l.allow(Self.v4(0xC000_0209), now: 100) })  // exempt
    }

    @Test func aFloodOfOthersNeverLimitsAnyoneFalsely() {
        // Many more clients than slots: evicted clients start again with a full bucket.
        let l = ClientRateLimiter(.init(qps: 1, burst: 2, exempt: [], slots: 16))
        for i in 0..<10_000 { #expect(l.allow(Self.v4(UInt32(i)), now: 7)) }
    }

    func overLimit(slip: Int) -> Harness {
        Harness(rateLimiter: ClientRateLimiter(.init(qps: 1, burst: 1, exempt: [], slots: 64)), slip: slip)
    }

    @Test func udpOverTheLimitIsDroppedOrSlippedTruncated() throws {
        let h = overLimit(slip: 2)
        let q = P.query("localhost", .a, id: 9)
        #expect(try h.response(q).rcode == .noError)  // the one token
        var dropped = 0
        var truncated = 0
        for _ in 0..<10 {
            if let bytes = try h.ask(q) {
                let m = try Message(parsing: bytes)
                #expect(m.header.truncated && m.answers.isEmpty && m.header.id == 9)
                truncated += 1
            } else {
                dropped += 1
            }
        }
        #expect(dropped == 5 && truncated == 5)
        #expect(h.stats.stats.rateLimited == 10 && h.stats.stats.rateLimitSlipped == 5)
        // slip 0: every one dropped.
        let h0 = overLimit(slip: 0)
        _ = try h0.ask(q)
        #expect(try (0..<5).allSatisfy { _ in try h0.ask(q) == nil })
    }

    @Test func tcpOverTheLimitIsRefusedWithEDE() throws {
        let h = overLimit(slip: 2)
        let q = P.query("localhost", .a, edns: EDNS())
        #expect(try h.response(q, over: .tcp).rcode == .noError)
        let m = try h.response(q, over: .tcp)
        #expect(m.rcode == .refused)
        #expect(m.edns?.extendedError == ExtendedError(code: .prohibited, extraText: "rate limit"))
    }

    @Test func connectionsPerClient() {
        let l = ClientConnectionLimiter(limit: 2, exempt: { $0.family == 4 && $0.low == 0x7F00_0001 })
        let a = Self.v4(0xC000_0201)
        #expect(l.opened(a) && l.opened(a) && !l.opened(a))
        #expect(l.refused == 1)
        l.closed(a)
        #expect(l.opened(a) && !l.opened(a))
        #expect(l.opened(Self.v4(0xC000_0202)))
        let local = Self.v4(0x7F00_0001)
        #expect((0..<10).allSatisfy { _ in l.opened(local) })
    }
}
