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

/// A cache key: lowercased name, type, class and the DO bit; and for profiles that send EDNS
/// Client Subnet upstream, the client's subnet (answers for one subnet are not served to another).
public struct CacheKey: Hashable, Sendable {
    public var name: [UInt8]
    public var type: UInt16
    public var rrClass: UInt16
    public var dnssecOK: Bool
    /// `ClientSubnetTag` of the subnet sent upstream; 0 = none (every key of the hot path).
    public var subnet: UInt64 = 0
    public init(name: [UInt8], type: UInt16, rrClass: UInt16, dnssecOK: Bool) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.dnssecOK = dnssecOK
    }
    public init(_ q: Question, dnssecOK: Bool) {
        self.init(name: q.name.lowercasedWire, type: q.type.rawValue, rrClass: q.rrClass.rawValue, dnssecOK: dnssecOK)
    }

    /// The key of a scanned query (`scan.outcome == .query`).
    public init(_ scan: QueryScan, packet: UnsafeRawBufferPointer) {
        var name = Array(packet[12..<scan.nameEnd])
        for i in name.indices where name[i] >= 0x41 && name[i] <= 0x5A { name[i] |= 0x20 }
        self.init(name: name, type: scan.qtype, rrClass: scan.qclass, dnssecOK: scan.dnssecOK)
    }

    /// The question this key stands for (the name lowercased).
    public var question: Question {
        Question(name: Name(uncheckedWire: name), type: RRType(type), rrClass: RRClass(rrClass))
    }

    /// Same as `QueryScan.keyHash` of a matching query (without a subnet).
    public var hash: UInt64 {
        let h = QueryScan.keyHash(lowercasedName: name, type: type, rrClass: rrClass, dnssecOK: dnssecOK)
        return subnet == 0 ? h : h ^ ((subnet &+ 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9)
    }
}

/// A response as served from the cache: the stored message without OPT (ID 0), plus how to age
/// it. Writers apply the ageing while copying (`agedWire` does it for slow paths and tests), so a
/// cache hit copies the message once, into the outgoing buffer. The TTL fields are found by
/// walking the message (`WireScan.forEachTTL`) while it is copied: a stored list of their
/// offsets would be one more heap object to retain and bring into the CPU cache on every hit.
public struct CachedAnswer: Sendable {
    /// The message as stored: TTLs as they were at insertion.
    public var wire: [UInt8]
    public var rcode: Rcode
    /// Set for stale answers (EDE 3) and the like.
    public var extendedError: ExtendedError?
    /// Seconds to subtract from every TTL.
    public var age: UInt32
    /// When set, every TTL becomes this (stale answers).
    public var ttlOverride: UInt32?

    public init(wire: [UInt8], rcode: Rcode, extendedError: ExtendedError? = nil) {
        self.wire = wire
        self.rcode = rcode
        self.extendedError = extendedError
        self.age = 0
        self.ttlOverride = nil
    }

    init(wire: [UInt8], rcode: Rcode, age: UInt32, ttlOverride: UInt32? = nil, extendedError: ExtendedError? = nil) {
        self.wire = wire
        self.rcode = rcode
        self.extendedError = extendedError
        self.age = age
        self.ttlOverride = ttlOverride
    }

    /// The TTL to serve for a stored TTL `t`.
    @inline(__always)
    public func servedTTL(_ t: UInt32) -> UInt32 {
        if let o = ttlOverride { return o }
        return t > age ? t - age : 0
    }

    /// Whether serving changes TTLs at all.
    @inline(__always)
    public var ages: Bool { age > 0 || ttlOverride != nil }

    /// Writes the served TTL of every record of `source` (a message laid out like `wire`) at the
    /// same offset of `destination` (a copy of it, or `source` itself).
    @inline(__always)
    public func writeServedTTLs(from source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        WireScan.forEachTTL(source) { o in
            let t = UInt32(bigEndian: source.loadUnaligned(fromByteOffset: o, as: UInt32.self))
            destination.storeBytes(of: servedTTL(t).bigEndian, toByteOffset: o, as: UInt32.self)
        }
    }

    /// The message with TTLs aged (or overridden).
    public var agedWire: [UInt8] {
        guard ages else { return wire }
        var w = wire
        w.withUnsafeMutableBytes { writeServedTTLs(from: UnsafeRawBufferPointer($0), into: $0) }
        return w
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

/// The system clock read once per batch of datagrams: a native UDP engine thread ticks it at
/// the start of each batch, and every cache lookup in the batch uses that time (TTLs are in
/// whole seconds; a batch takes microseconds). Confined to that thread.
public final class BatchClock: ResolverClock, @unchecked Sendable {
    @exclusivity(unchecked) var now: UInt64
    public init() { now = DispatchTimeShim.uptimeNanoseconds() }
    public func tick() { now = DispatchTimeShim.uptimeNanoseconds() }
    public func nanoseconds() -> UInt64 { now }
}

/// A response cache for one event loop (no locks: it is only used on its loop). Entries are
/// raw messages with the offsets of their TTL fields, aged in place when served; LRU by memory.
public final class ResponseCache {
    struct Entry {
        var wire: [UInt8]
        var rcode: Rcode
        /// When the question of `wire` is the key's (one question, same name but for case): the
        /// name's length (1...255), and a hit compares the query's name with that question, in
        /// memory the copy reads next anyway, instead of with the key's name (another heap
        /// object, whose length is not read either). 0 otherwise. Set by `store`.
        var keyNameLength: UInt8 = 0
        var storedAt: UInt64  // seconds
        var ttl: UInt32  // lifetime of the entry
        var originalTTL: UInt32
        var hits: UInt32 = 0
        var prefetching = false
        /// Until then (seconds), serve stale without retrying upstream.
        var staleHoldUntil: UInt64 = 0
        var size: Int
        /// Free for the cache's user (the query chain's policy memo, see `stamp(slot:)`); 0 in
        /// every new entry, so a replaced answer never keeps its predecessor's stamp.
        var stamp: UInt64 = 0
    }

    struct Slot {
        var key: CacheKey
        var hash: UInt64
        var entry: Entry
    }

    /// A slot's neighbours in the LRU list (-1: none). Kept apart from the slots: moving a hit
    /// to the front writes to two or three other entries' links, and these are 8 bytes each in
    /// one dense array instead of fields of three more ~100-byte slots.
    struct Link {
        var prev: Int32
        var next: Int32
    }

    public let config: CacheConfig
    let clock: any ResolverClock
    /// Slots by key hash (`QueryScan.keyHash`); the slot's key confirms the hit.
    // The cache is confined to one thread and never accessed re-entrantly: dynamic exclusivity
    // checks (a TLS lookup per access, ~4 % of a cache hit's CPU) are turned off for its state.
    @exclusivity(unchecked) var index = SlotTable()
    @exclusivity(unchecked) var slots: [Slot] = []
    @exclusivity(unchecked) var links: [Link] = []
    var free: [Int] = []
    @exclusivity(unchecked) var head = -1
    @exclusivity(unchecked) var tail = -1
    public private(set) var bytes = 0
    public private(set) var evictions: UInt64 = 0
    /// The hold time set by the last `stale(_:)`.
    public private(set) var lastStaleHold: UInt64 = 0

    public init(config: CacheConfig, clock: any ResolverClock = SystemClock()) {
        self.config = config
        self.clock = clock
    }

    public var count: Int { index.count }

    public var nowSeconds: UInt64 { clock.nanoseconds() / 1_000_000_000 }

    public enum Lookup {
        case miss
        /// A fresh answer; `prefetch` says it is popular and close to expiry.
        case hit(CachedAnswer, prefetch: Bool)
        /// Expired, but the upstreams failed recently: serve it stale without asking again.
        case staleHeld(CachedAnswer)
    }

    /// Looks up a fresh answer. Expired entries count as a miss but stay for serve-stale.
    public func lookup(_ key: CacheKey) -> Lookup {
        guard let i = slotIndex(key) else { return .miss }
        return lookup(slot: i)
    }

    /// The hot path: looks up the question of a scanned query in `packet` without allocating.
    public func lookup(_ scan: QueryScan, packet: UnsafeRawBufferPointer) -> Lookup {
        guard let i = slot(scan, packet: packet) else { return .miss }
        return lookup(slot: i)
    }

    /// The slot holding the question of a scanned query, fresh or expired: a probe that changes
    /// nothing (no LRU move, no hit counted, nothing removed). `lookup(slot:)` goes on from it.
    public func slot(_ scan: QueryScan, packet: UnsafeRawBufferPointer) -> Int? {
        guard let i = index[scan.keyHash] else { return nil }
        // The key is compared where it lies: a copy would retain and release its name.
        let same = slots.withUnsafeBufferPointer { s -> Bool in
            precondition(i < s.count, "cache index points past the slots")
            let k = UnsafePointer(s.baseAddress! + i)
            let length = scan.nameEnd - 12
            guard k.pointee.key.type == scan.qtype, k.pointee.key.rrClass == scan.qclass, k.pointee.key.dnssecOK == scan.dnssecOK,
                k.pointee.key.subnet == 0
            else { return false }
            let query = UnsafeRawBufferPointer(rebasing: packet[12..<scan.nameEnd])
            let stored = Int(k.pointee.entry.keyNameLength)
            if stored != 0 {
                // `store` checked that the message holds the whole name.
                return stored == length
                    && k.pointee.entry.wire.withUnsafeBytes { Self.sameName(query, UnsafeRawBufferPointer(rebasing: $0[12..<(12 + length)])) }
            }
            return k.pointee.key.name.withUnsafeBytes { Self.sameName(query, $0) }
        }
        return same ? i : nil
    }

    /// The stamp a user left on the entry in slot `i` (0: none since it was stored).
    @inline(__always) public func stamp(slot i: Int) -> UInt64 { slots[i].entry.stamp }

    /// Leaves `stamp` on the entry in slot `i`, until the entry is replaced or removed.
    @inline(__always) public func setStamp(slot i: Int, _ stamp: UInt64) { slots[i].entry.stamp = stamp }

    /// Equal but for ASCII case (both sides folded: a stored question keeps the case it came in).
    @inline(__always)
    static func sameName(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for j in 0..<a.count {
            var x = a[j]
            var y = b[j]
            if x >= 0x41 && x <= 0x5A { x |= 0x20 }
            if y >= 0x41 && y <= 0x5A { y |= 0x20 }
            if x != y { return false }
        }
        return true
    }

    /// Whether `wire` holds exactly one question, named `name` but for case.
    static func questionIs(_ name: [UInt8], in wire: [UInt8]) -> Bool {
        guard (1...255).contains(name.count), wire.count >= 12 + name.count, wire[4] == 0, wire[5] == 1 else { return false }
        return wire.withUnsafeBytes { w in
            name.withUnsafeBytes { sameName(UnsafeRawBufferPointer(rebasing: w[12..<(12 + name.count)]), $0) }
        }
    }

    func slotIndex(_ key: CacheKey) -> Int? {
        guard let i = index[key.hash], slots[i].key == key else { return nil }
        return i
    }

    /// Looks up the entry in slot `i` (from `slot(_:packet:)` of this query, on this thread,
    /// with nothing stored or removed since): fresh, held stale, or a miss.
    public func lookup(slot i: Int) -> Lookup {
        let now = nowSeconds
        // Fields are read in place, not through a copy of the entry (which would retain and
        // release its two arrays once more per hit).
        let storedAt = slots[i].entry.storedAt
        let ttl = slots[i].entry.ttl
        let elapsed = now &- storedAt
        if elapsed >= UInt64(ttl) {
            if now >= storedAt + UInt64(ttl) + UInt64(config.maxStale) || !config.serveStale {
                remove(i)
                return .miss
            }
            if now < slots[i].entry.staleHoldUntil {
                return .staleHeld(staleAnswer(slots[i].entry))
            }
            return .miss
        }
        touch(i)
        slots[i].entry.hits &+= 1
        var prefetch = false
        if config.prefetch, !slots[i].entry.prefetching, slots[i].entry.hits >= config.prefetchMinHits, slots[i].entry.originalTTL >= 10 {
            let left = Double(UInt64(ttl) - elapsed)
            if left <= Double(slots[i].entry.originalTTL) * config.prefetchThreshold {
                prefetch = true
                slots[i].entry.prefetching = true
            }
        }
        return .hit(CachedAnswer(wire: slots[i].entry.wire, rcode: slots[i].entry.rcode, age: UInt32(elapsed)), prefetch: prefetch)
    }

    /// An expired entry within the stale window, served with the stale TTL and EDE 3,
    /// and held so that the next `staleRefreshInterval` seconds serve it without asking upstream.
    public func stale(_ key: CacheKey) -> CachedAnswer? {
        guard config.serveStale, let i = slotIndex(key) else { return nil }
        let now = nowSeconds
        let e = slots[i].entry
        // Only expired entries are stale: a failed prefetch of a fresh entry is no reason to
        // change how it is served.
        guard now >= e.storedAt + UInt64(e.ttl) else { return nil }
        guard now < e.storedAt + UInt64(e.ttl) + UInt64(config.maxStale) else {
            remove(i)
            return nil
        }
        slots[i].entry.staleHoldUntil = now + UInt64(config.staleRefreshInterval)
        lastStaleHold = slots[i].entry.staleHoldUntil
        slots[i].entry.prefetching = false
        touch(i)
        return staleAnswer(e)
    }

    func staleAnswer(_ e: Entry) -> CachedAnswer {
        CachedAnswer(
            wire: e.wire, rcode: e.rcode, age: 0, ttlOverride: config.staleAnswerTTL, extendedError: ExtendedError(code: .staleAnswer))
    }

    /// Clears the prefetch mark after a failed prefetch.
    public func prefetchFailed(_ key: CacheKey) {
        if let i = slotIndex(key) { slots[i].entry.prefetching = false }
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
        guard let wire = try? msg.encode() else { return nil }
        let answer = CachedAnswer(wire: wire, rcode: response.rcode, age: 0)
        guard ttl > 0 else { return answer }
        let entry = Entry(
            wire: wire, rcode: response.rcode, storedAt: nowSeconds, ttl: ttl, originalTTL: ttl, size: Self.size(wire: wire, key: key))
        store(key, entry)
        return answer
    }

    /// What an entry counts against `maxBytes`: its message, its key's name and the slot.
    static func size(wire: [UInt8], key: CacheKey) -> Int { wire.count + key.name.count + 160 }

    func store(_ key: CacheKey, _ entry: Entry) {
        var entry = entry
        entry.keyNameLength = Self.questionIs(key.name, in: entry.wire) ? UInt8(key.name.count) : 0
        let hash = key.hash
        if let i = index[hash] {
            // Same key, or (rarely) another key with the same hash: the newer one wins.
            slots[i].key = key
            bytes -= slots[i].entry.size
            slots[i].entry = entry
            bytes += entry.size
            touch(i)
        } else {
            let slot = Slot(key: key, hash: hash, entry: entry)
            let i: Int
            if let f = free.popLast() {
                slots[f] = slot
                i = f
            } else {
                precondition(slots.count < Int32.max, "cache slots beyond Int32")
                slots.append(slot)
                links.append(Link(prev: -1, next: -1))
                i = slots.count - 1
            }
            index.set(hash, i)
            bytes += entry.size
            linkAtHead(i)
        }
        while bytes > config.maxBytes, tail >= 0, tail != index[hash] {
            remove(tail)
            evictions += 1
        }
    }

    /// What a replica needs to hold the same entry: see `insertReplica`.
    public struct ReplicaRecord: Sendable {
        public var key: CacheKey
        public var wire: [UInt8]
        public var rcode: Rcode
        public var ttl: UInt32
        public var storedAt: UInt64
    }

    /// The stored entry of `key`, for replication to another thread's cache.
    public func replicaRecord(_ key: CacheKey) -> ReplicaRecord? {
        guard let i = slotIndex(key) else { return nil }
        let e = slots[i].entry
        return ReplicaRecord(key: key, wire: e.wire, rcode: e.rcode, ttl: e.ttl, storedAt: e.storedAt)
    }

    /// Stores an entry exactly as another cache holds it (same insertion time, so both age alike).
    public func insertReplica(_ r: ReplicaRecord) {
        let entry = Entry(
            wire: r.wire, rcode: r.rcode, storedAt: r.storedAt, ttl: r.ttl, originalTTL: r.ttl, size: Self.size(wire: r.wire, key: r.key))
        store(r.key, entry)
    }

    /// Serve `key` stale without asking upstream until `until` (seconds), if it is still held.
    public func holdStale(_ key: CacheKey, until: UInt64) {
        if let i = slotIndex(key) { slots[i].entry.staleHoldUntil = until }
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

    // MARK: LRU list

    func linkAtHead(_ i: Int) {
        links[i] = Link(prev: -1, next: Int32(head))
        if head >= 0 { links[head].prev = Int32(i) }
        head = i
        if tail < 0 { tail = i }
    }

    func unlink(_ i: Int) {
        let p = Int(links[i].prev)
        let n = Int(links[i].next)
        if p >= 0 { links[p].next = Int32(n) } else { head = n }
        if n >= 0 { links[n].prev = Int32(p) } else { tail = p }
    }

    func touch(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        linkAtHead(i)
    }

    func remove(_ i: Int) {
        unlink(i)
        index.remove(slots[i].hash)
        bytes -= slots[i].entry.size
        slots[i].entry.wire = []
        slots[i].entry.stamp = 0
        slots[i].key.name = []
        free.append(i)
    }
}

extension ResponseCache {
    /// The answer for a scanned query, for a cache front (the loop's resolver, an engine's
    /// replica): a fresh hit, or an entry held stale. `refresh` gets the key and question of a
    /// popular entry near expiry; `staleHeld` is told when a held-stale entry is served.
    /// `slot` is what `slot(_:packet:)` found for this query, probed earlier in the same
    /// chain (nil: not there).
    public func answer(
        _ scan: QueryScan, packet: UnsafeRawBufferPointer, slot: Int?, refresh: (CacheKey, Question) -> Void, staleHeld: () -> Void
    ) -> CachedAnswer? {
        answer(slot.map { lookup(slot: $0) } ?? .miss, refresh: refresh, staleHeld: staleHeld) {
            let key = CacheKey(scan, packet: packet)
            return (key, key.question)
        }
    }

    /// The same for a key and its question.
    public func answer(
        _ key: CacheKey, question: Question, refresh: (CacheKey, Question) -> Void, staleHeld: () -> Void
    ) -> CachedAnswer? {
        answer(lookup(key), refresh: refresh, staleHeld: staleHeld) { (key, question) }
    }

    func answer(
        _ found: Lookup, refresh: (CacheKey, Question) -> Void, staleHeld: () -> Void, keyAndQuestion: () -> (CacheKey, Question)
    ) -> CachedAnswer? {
        switch found {
        case .miss:
            return nil
        case .hit(let answer, let prefetch):
            if prefetch {
                let (key, question) = keyAndQuestion()
                refresh(key, question)
            }
            return answer
        case .staleHeld(let answer):
            staleHeld()
            return answer
        }
    }
}
