import DNSTransport
import DNSWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Per-client query rate limits: a token bucket per client (an IPv4 address, an IPv6 /64),
/// shared by every thread without locks. Each bucket is one 64-bit atomic word in a fixed
/// table, so memory is bounded whatever the number of clients:
///
///     [ fingerprint 20 bits | tokens 20 bits (1/16 query) | time 24 bits (2^22 ns ≈ 4.2 ms) ]
///
/// A client's slot is one of two next to its hash; a new client takes the one used longer ago.
/// A client evicted by a flood of others starts again with a full bucket (never a false limit),
/// and the time field wraps after about 19.5 hours (a bucket idle that long may start less
/// than full).
public final class ClientRateLimiter: @unchecked Sendable {
    public struct Config: Sendable, Equatable {
        /// Queries per second per client.
        public var qps: Int
        /// Queries a client may send at once above the rate (bucket size).
        public var burst: Int
        /// Clients never limited (default: loopback).
        public var exempt: [CIDR]
        /// Table slots (a power of two; 8 bytes each).
        public var slots: Int
        public init(qps: Int, burst: Int? = nil, exempt: [CIDR] = ClientRateLimiter.loopback, slots: Int = 1 << 18) {
            self.qps = qps
            self.burst = burst ?? qps
            self.exempt = exempt
            self.slots = slots
        }
    }

    public static let loopback = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]
    public static let maxBurst = (1 << 20 - 1) / 16

    public let config: Config
    let exempt: AccessList?
    let table: UnsafeMutablePointer<Atomic<UInt64>>
    let mask: Int
    /// Sixteenths of a token per time unit, times 2^16 (fixed point).
    let refill: UInt64
    let capacity: UInt64

    public init(_ config: Config) {
        precondition(config.qps > 0 && config.burst > 0 && config.burst <= Self.maxBurst)
        precondition(config.slots > 1 && config.slots & (config.slots - 1) == 0)
        self.config = config
        exempt = config.exempt.isEmpty ? nil : AccessList(allow: config.exempt)
        table = .allocate(capacity: config.slots)
        for i in 0..<config.slots { (table + i).initialize(to: Atomic<UInt64>(0)) }
        mask = config.slots - 1
        // qps × 16 sixteenths per second × 2^22 ns per unit / 1e9 ns per second, in 1/65536.
        refill = UInt64(config.qps) * 16 * (1 << 22) * 65536 / 1_000_000_000
        capacity = UInt64(config.burst) * 16
    }

    deinit {
        table.deinitialize(count: mask + 1)
        table.deallocate()
    }

    /// The current time in units of 2^22 ns (coarse monotonic clock: a vDSO read, no syscall).
    @inline(__always) public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return (UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)) >> 22
    }

    /// Takes one query from the client's bucket: false when it is empty.
    public func allow(_ client: ClientAddress, now: UInt64 = ClientRateLimiter.now()) -> Bool {
        guard let key = client.limitKey else { return true }
        if let exempt, exempt.allows(client) { return true }
        return take(key: key, now: now)
    }

    func take(key: UInt64, now: UInt64) -> Bool {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        let fingerprint = (h >> 44) | 1  // 20 bits, never 0 (0 is an empty slot)
        let t = now & 0xFF_FFFF
        let first = Int(truncatingIfNeeded: h) & mask
        for probe in 0..<2 {
            let cell = table + (first ^ probe)
            for _ in 0..<4 {
                let word = cell.pointee.load(ordering: .relaxed)
                guard word >> 44 == fingerprint else { break }
                var tokens = (word >> 24) & 0xF_FFFF
                var stamp = word & 0xFF_FFFF
                let elapsed = (t &- stamp) & 0xFF_FFFF
                let added = (elapsed &* refill) >> 16
                if added > 0 {
                    // The time those tokens stand for is used up, the fraction left is kept
                    // (a full bucket keeps nothing).
                    let full = tokens + added >= capacity
                    tokens = min(capacity, tokens + added)
                    stamp = full ? t : (stamp + (added << 16) / refill) & 0xFF_FFFF
                }
                let allowed = tokens >= 16
                if allowed { tokens -= 16 }
                let new = fingerprint << 44 | tokens << 24 | stamp
                if new == word || cell.pointee.compareExchange(expected: word, desired: new, ordering: .relaxed).exchanged {
                    return allowed
                }
            }
            if cell.pointee.load(ordering: .relaxed) >> 44 == fingerprint { return true }  // contended: let it pass
        }
        // A new client: the slot of the pair used longer ago (or empty) starts a full bucket.
        let a = table + first
        let b = table + (first ^ 1)
        let wa = a.pointee.load(ordering: .relaxed)
        let wb = b.pointee.load(ordering: .relaxed)
        let ageA = wa == 0 ? UInt64.max : (t &- wa) & 0xFF_FFFF
        let ageB = wb == 0 ? UInt64.max : (t &- wb) & 0xFF_FFFF
        let (cell, old) = ageA >= ageB ? (a, wa) : (b, wb)
        _ = cell.pointee.compareExchange(expected: old, desired: fingerprint << 44 | (capacity - 16) << 24 | t, ordering: .relaxed)
        return true
    }
}

/// RateLimit: a client over its query rate (`limits.client-qps`) gets, over UDP, no answer,
/// except every `slip`-th query which gets an empty truncated answer (TC=1) so that a real
/// client retries over TCP while a spoofed victim of reflection gets only small packets
/// (RRL's slip); over TCP, DoT and DoH (where the address is real) REFUSED with EDE 18.
public final class RateLimitStage: QueryStage {
    public let name = "RateLimit"
    let limiter: ClientRateLimiter?
    let slip: Int
    let stats: StatsBox?
    var overLimit = 0

    public init(limiter: ClientRateLimiter? = nil, slip: Int = 2, stats: StatsBox? = nil) {
        self.limiter = limiter
        self.slip = slip
        self.stats = stats
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        guard let limiter, !ctx.rateCharged else { return .next }
        ctx.rateCharged = true
        if limiter.allow(ctx.client) { return .next }
        stats?.stats.rateLimited += 1
        guard ctx.transport == .udp else {
            return .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .prohibited, extraText: "rate limit")))
        }
        overLimit &+= 1
        guard slip > 0, overLimit % slip == 0 else { return .drop }
        stats?.stats.rateLimitSlipped += 1
        var tc = Responses.empty(for: ctx, rcode: .noError)
        tc.wire[2] |= 0x02
        return .answer(tc)
    }
}
