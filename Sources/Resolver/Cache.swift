import DNSWire

/// Cache settings (RFC 2308 negative caching, RFC 8767 serve-stale).
public struct CacheConfig: Sendable, Equatable {
    /// Memory bound for this cache (entries are evicted least-recently-used first).
    public var maxBytes: Int = 64 << 20
    public var minTTL: UInt32 = 0
    public var maxTTL: UInt32 = 86400
    /// Upper bound of negative TTLs (RFC 2308 §5 suggests 1-3 hours).
    public var maxNegativeTTL: UInt32 = 3600
    public var serveStale: Bool = true
    /// TTL of a stale answer (RFC 8767 suggests 30 s).
    public var staleAnswerTTL: UInt32 = 30
    /// How long past expiry an entry may still be served stale.
    public var maxStale: UInt32 = 86400
    /// After a failed refresh, serve stale without asking upstream again for this long.
    public var staleRefreshInterval: UInt32 = 30
    public var prefetch: Bool = true
    /// Prefetch when less than this share of the TTL is left (and the entry is popular).
    public var prefetchThreshold: Double = 0.1
    /// Hits an entry needs before it is prefetched.
    public var prefetchMinHits: UInt32 = 2
    public init() {}
}

/// A cache key: lowercased name, type, class and the DO bit.
public struct CacheKey: Hashable, Sendable {
    public var name: [UInt8]
    public var type: UInt16
    public var rrClass: UInt16
    public var dnssecOK: Bool
    public init(name: [UInt8], type: UInt16, rrClass: UInt16, dnssecOK: Bool) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.dnssecOK = dnssecOK
    }
    public init(_ q: Question, dnssecOK: Bool) {
        self.init(name: q.name.lowercasedWire, type: q.type.rawValue, rrClass: q.rrClass.rawValue, dnssecOK: dnssecOK)
    }
}

/// A response as served from the cache: the message without OPT (ID 0), with TTLs aged.
public struct CachedAnswer: Sendable {
    public var wire: [UInt8]
    public var rcode: Rcode
    /// Set for stale answers (EDE 3) and the like.
    public var extendedError: ExtendedError?
    public init(wire: [UInt8], rcode: Rcode, extendedError: ExtendedError? = nil) {
        self.wire = wire
        self.rcode = rcode
        self.extendedError = extendedError
    }
}

/// Clock in whole seconds and nanoseconds, injectable for tests.
public protocol ResolverClock: Sendable {
    /// Monotonic nanoseconds.
    func nanoseconds() -> UInt64
}

public struct SystemClock: ResolverClock {
    public init() {}
    public func nanoseconds() -> UInt64 { DispatchTimeShim.uptimeNanoseconds() }
}

/// A response cache for one event loop (no locks: it is only used on its loop). Entries are
/// raw messages with the offsets of their TTL fields, aged in place when served; LRU by memory.
public final class ResponseCache {
    struct Entry {
        var wire: [UInt8]
        var ttlOffsets: [UInt16]
        var rcode: Rcode
        var storedAt: UInt64  // seconds
        var ttl: UInt32  // lifetime of the entry
        var originalTTL: UInt32
        var hits: UInt32 = 0
        var prefetching = false
        /// Until then (seconds), serve stale without retrying upstream.
        var staleHoldUntil: UInt64 = 0
        var size: Int
    }

    struct Slot {
        var key: CacheKey
        var entry: Entry
        var prev: Int
        var next: Int
    }

    public let config: CacheConfig
    let clock: any ResolverClock
    var index: [CacheKey: Int] = [:]
    var slots: [Slot] = []
    var free: [Int] = []
    var head = -1
    var tail = -1
    public private(set) var bytes = 0
    public private(set) var evictions: UInt64 = 0

    public init(config: CacheConfig, clock: any ResolverClock = SystemClock()) {
        self.config = config
        self.clock = clock
    }

    public var count: Int { index.count }

    var nowSeconds: UInt64 { clock.nanoseconds() / 1_000_000_000 }

    public enum Lookup {
        case miss
        /// A fresh answer; `prefetch` says it is popular and close to expiry.
        case hit(CachedAnswer, prefetch: Bool)
        /// Expired, but the upstreams failed recently: serve it stale without asking again.
        case staleHeld(CachedAnswer)
    }

    /// Looks up a fresh answer. Expired entries count as a miss but stay for serve-stale.
    public func lookup(_ key: CacheKey) -> Lookup {
        guard let i = index[key] else { return .miss }
        let now = nowSeconds
        let e = slots[i].entry
        let elapsed = now &- e.storedAt
        if elapsed >= UInt64(e.ttl) {
            if now >= e.storedAt + UInt64(e.ttl) + UInt64(config.maxStale) || !config.serveStale {
                remove(i)
                return .miss
            }
            if now < e.staleHoldUntil {
                return .staleHeld(staleAnswer(e))
            }
            return .miss
        }
        touch(i)
        slots[i].entry.hits &+= 1
        var prefetch = false
        if config.prefetch, !e.prefetching, e.hits + 1 >= config.prefetchMinHits, e.originalTTL >= 10 {
            let left = Double(UInt64(e.ttl) - elapsed)
            if left <= Double(e.originalTTL) * config.prefetchThreshold {
                prefetch = true
                slots[i].entry.prefetching = true
            }
        }
        return .hit(CachedAnswer(wire: Self.aged(e, by: UInt32(elapsed)), rcode: e.rcode), prefetch: prefetch)
    }

    /// An expired (or fresh) entry within the stale window, served with the stale TTL and EDE 3,
    /// and held so that the next `staleRefreshInterval` seconds serve it without asking upstream.
    public func stale(_ key: CacheKey) -> CachedAnswer? {
        guard config.serveStale, let i = index[key] else { return nil }
        let now = nowSeconds
        let e = slots[i].entry
        guard now < e.storedAt + UInt64(e.ttl) + UInt64(config.maxStale) else {
            remove(i)
            return nil
        }
        slots[i].entry.staleHoldUntil = now + UInt64(config.staleRefreshInterval)
        slots[i].entry.prefetching = false
        touch(i)
        return staleAnswer(e)
    }

    func staleAnswer(_ e: Entry) -> CachedAnswer {
        var wire = e.wire
        for off in e.ttlOffsets { Self.put32(&wire, Int(off), config.staleAnswerTTL) }
        return CachedAnswer(wire: wire, rcode: e.rcode, extendedError: ExtendedError(code: .staleAnswer))
    }

    /// Clears the prefetch mark after a failed prefetch.
    public func prefetchFailed(_ key: CacheKey) {
        if let i = index[key] { slots[i].entry.prefetching = false }
    }

    /// Stores an upstream response if it is cacheable, returning it as it will be served (TTLs
    /// clamped) — or nil when it is not cacheable (SERVFAIL, TC, no SOA on a negative answer…).
    @discardableResult
    public func insert(_ key: CacheKey, response: Message) -> CachedAnswer? {
        guard let (normalised, ttl) = normalise(response) else { return nil }
        var msg = normalised
        msg.header.id = 0
        // We are not the authority for anything we forward.
        msg.header.authoritative = false
        msg.edns = nil
        guard let (wire, offsets) = try? msg.encodeRecordingTTLs() else { return nil }
        guard ttl > 0 else { return CachedAnswer(wire: wire, rcode: response.rcode) }
        let entry = Entry(
            wire: wire, ttlOffsets: offsets.map { UInt16($0) }, rcode: response.rcode, storedAt: nowSeconds, ttl: ttl,
            originalTTL: ttl, size: wire.count + offsets.count * 2 + key.name.count + 160)
        if let i = index[key] {
            bytes -= slots[i].entry.size
            slots[i].entry = entry
            bytes += entry.size
            touch(i)
        } else {
            let slot = Slot(key: key, entry: entry, prev: -1, next: -1)
            let i: Int
            if let f = free.popLast() {
                slots[f] = slot
                i = f
            } else {
                slots.append(slot)
                i = slots.count - 1
            }
            index[key] = i
            bytes += entry.size
            linkAtHead(i)
        }
        while bytes > config.maxBytes, tail >= 0, tail != index[key] {
            remove(tail)
            evictions += 1
        }
        return CachedAnswer(wire: wire, rcode: response.rcode)
    }

    /// Decides cacheability and lifetime (RFC 2308), and clamps record TTLs.
    func normalise(_ m: Message) -> (Message, UInt32)? {
        guard !m.header.truncated else { return nil }
        var m = m
        let rcode = m.rcode
        func clamp(_ t: UInt32) -> UInt32 { min(max(t, config.minTTL), config.maxTTL) }
        switch rcode {
        case .noError where !m.answers.isEmpty:
            var ttl = UInt32.max
            for i in m.answers.indices {
                m.answers[i].ttl = clamp(m.answers[i].ttl)
                ttl = min(ttl, m.answers[i].ttl)
            }
            for i in m.authorities.indices { m.authorities[i].ttl = clamp(m.authorities[i].ttl) }
            for i in m.additionals.indices { m.additionals[i].ttl = clamp(m.additionals[i].ttl) }
            return (m, ttl)
        case .noError, .nxDomain:
            // Negative answer: lifetime is min(SOA TTL, SOA MINIMUM), RFC 2308 §5.
            guard let si = m.authorities.firstIndex(where: { $0.type == .soa }),
                case .soa(let soa) = m.authorities[si].rdata
            else { return nil }
            var ttl = min(min(m.authorities[si].ttl, soa.minimum), config.maxNegativeTTL)
            ttl = max(ttl, config.minTTL)
            for i in m.answers.indices { ttl = min(ttl, clamp(m.answers[i].ttl)) }
            for i in m.answers.indices { m.answers[i].ttl = min(clamp(m.answers[i].ttl), ttl) }
            for i in m.authorities.indices { m.authorities[i].ttl = min(m.authorities[i].ttl, ttl) }
            m.additionals = []
            return (m, ttl)
        default:
            return nil
        }
    }

    static func aged(_ e: Entry, by elapsed: UInt32) -> [UInt8] {
        var wire = e.wire
        if elapsed > 0 {
            for off in e.ttlOffsets {
                let o = Int(off)
                let t = UInt32(wire[o]) << 24 | UInt32(wire[o + 1]) << 16 | UInt32(wire[o + 2]) << 8 | UInt32(wire[o + 3])
                put32(&wire, o, t > elapsed ? t - elapsed : 0)
            }
        }
        return wire
    }

    @inline(__always)
    static func put32(_ w: inout [UInt8], _ o: Int, _ v: UInt32) {
        w[o] = UInt8(v >> 24)
        w[o + 1] = UInt8((v >> 16) & 0xFF)
        w[o + 2] = UInt8((v >> 8) & 0xFF)
        w[o + 3] = UInt8(v & 0xFF)
    }

    // MARK: LRU list

    func linkAtHead(_ i: Int) {
        slots[i].prev = -1
        slots[i].next = head
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    func unlink(_ i: Int) {
        let p = slots[i].prev
        let n = slots[i].next
        if p >= 0 { slots[p].next = n } else { head = n }
        if n >= 0 { slots[n].prev = p } else { tail = p }
    }

    func touch(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        linkAtHead(i)
    }

    func remove(_ i: Int) {
        unlink(i)
        index[slots[i].key] = nil
        bytes -= slots[i].entry.size
        slots[i].entry.wire = []
        slots[i].entry.ttlOffsets = []
        slots[i].key.name = []
        free.append(i)
    }
}
