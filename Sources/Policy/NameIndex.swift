/// Millions of names in a few flat arrays: every name once, as lowercased wire bytes in one arena,
/// plus an open-addressing table of 32-bit slots (8 bits of hash fingerprint, 24 bits of entry
/// number). An entry is a name with a rule class (list, match, action) and a rule id; one name in
/// several lists is several entries sharing the arena bytes. About 35 bytes per name of typical
/// length, no per-name heap object.
///
/// The hash of a name is built label by label from the root, so a query's name and all its
/// parents are hashed in one right-to-left pass.
public struct NameIndex: Sendable {
    /// The lowercased wire bytes of every distinct name, back to back (wire names end
    /// themselves: the root label).
    public internal(set) var arena: [UInt8] = []
    public internal(set) var nameOffset: [UInt32] = []
    public internal(set) var classID: [UInt16] = []
    public internal(set) var ruleID = RuleIDColumn()
    /// 0 = empty; else fingerprint << 24 | (entry + 1).
    public internal(set) var slots: [UInt32]
    public internal(set) var seed: UInt64
    /// Bit k set: some name here has k labels (k ≥ 63 all in bit 63). A query's suffix with a
    /// label count no name has is not looked up (most lists hold no top-level names).
    public internal(set) var labelCounts: UInt64 = 0

    @inline(__always) public func mayHold(labels k: Int) -> Bool { (labelCounts >> UInt64(min(k, 63))) & 1 != 0 }

    static func labelCount(_ p: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var n = 0
        var i = start
        while i < p.count, p[i] != 0 {
            n += 1
            i += 1 + Int(p[i])
        }
        return n
    }

    public static let maxEntries = (1 << 24) - 2

    public var count: Int { nameOffset.count }

    /// Slots for `n` entries: at most 70 % full. Not a power of two (a slot's home is found by
    /// multiplying, not masking), so the table is no bigger than it needs to be: linear probing
    /// at this load touches one or two cache lines, and the 8-bit fingerprint makes most
    /// probes a single compare.
    static func capacity(for n: Int) -> Int { max(16, n * 10 / 7 + 1) }

    /// The home slot of hash `h` (its high bits).
    @inline(__always) static func home(_ h: UInt64, _ slots: Int) -> Int {
        Int(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(slots)).high)
    }

    /// The fingerprint kept in a slot (low bits: independent of the home).
    @inline(__always) static func fingerprint(_ h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: h) & 0xFF }

    public init(expected: Int = 0, arenaBytes: Int = 0, seed: UInt64? = nil) {
        var g = SystemRandomNumberGenerator()
        self.seed = seed ?? g.next()
        slots = [UInt32](repeating: 0, count: Self.capacity(for: expected))
        nameOffset.reserveCapacity(expected)
        classID.reserveCapacity(expected)
        ruleID.reserveCapacity(expected)
        arena.reserveCapacity(arenaBytes)
    }

    /// Restores an index from its arrays (a persisted snapshot).
    init(arena: [UInt8], nameOffset: [UInt32], classID: [UInt16], ruleID: RuleIDColumn, slots: [UInt32], seed: UInt64) {
        self.arena = arena
        self.nameOffset = nameOffset
        self.classID = classID
        self.ruleID = ruleID
        self.slots = slots
        self.seed = seed
        arena.withUnsafeBytes { a in
            for o in nameOffset { labelCounts |= 1 << UInt64(min(Self.labelCount(a, Int(o)), 63)) }
        }
    }

    // MARK: hashing

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b &+ 0xBF < 26 ? b | 0x20 : b }

    /// Adds the label at `p[at]` (length byte, then bytes) to the hash of its parent.
    @inline(__always) static func mix(_ h: UInt64, _ p: UnsafeRawBufferPointer, label at: Int) -> UInt64 {
        let len = Int(p[at])
        var x = (h ^ UInt64(len)) &* 0x100_0000_01b3
        var i = at + 1
        let end = at + 1 + len
        while i < end {
            x = (x ^ UInt64(lower(p[i]))) &* 0x100_0000_01b3
            i += 1
        }
        return x
    }

    @inline(__always) static func finish(_ h: UInt64) -> UInt64 {
        var x = h
        x ^= x >> 33
        x = x &* 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        return x
    }

    /// The hash of the whole name `p[start...]` (wire form, uncompressed).
    static func hash(_ p: UnsafeRawBufferPointer, start: Int, seed: UInt64) -> UInt64? {
        var found: UInt64? = nil
        withSuffixHashes(p, start: start, seed: seed) { _, _, h, _ in
            found = h
            return false
        }
        return found
    }

    /// Calls `body(depth, start, hash, labels)` for the name at `p[start...]` (uncompressed wire
    /// form) and then each parent, most specific first (depth 0 is the name itself; `labels` is
    /// the suffix's label count; the root is not visited). `body` returns false to stop. Nothing
    /// is called for a malformed name. No heap allocation.
    @inline(__always)
    public static func withSuffixHashes(
        _ p: UnsafeRawBufferPointer, start: Int, seed: UInt64, _ body: (Int, Int, UInt64, Int) -> Bool
    ) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { starts in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 128) { hashes in
                var n = 0
                var i = start
                while true {
                    guard i < p.count else { return }
                    let len = Int(p[i])
                    if len == 0 { break }
                    guard len <= 63, n < 127 else { return }
                    starts[n] = i
                    n += 1
                    i += 1 + len
                }
                var h = seed
                var k = n - 1
                while k >= 0 {
                    h = mix(h, p, label: starts[k])
                    hashes[k] = finish(h)
                    k -= 1
                }
                for d in 0..<n where !body(d, starts[d], hashes[d], n - d) { return }
            }
        }
    }

    // MARK: lookup

    /// True when the arena name at `offset` equals the wire name at `p[start..<end]`
    /// (case-insensitively). Both are well-formed wire names: comparing label by label up to
    /// the root label is enough.
    @inline(__always) static func equal(_ arena: UnsafeBufferPointer<UInt8>, _ offset: Int, _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var a = offset
        var b = start
        while b < end {
            let len = Int(arena[a])
            guard len == Int(p[b]) else { return false }
            if len == 0 { return b + 1 == end }
            var i = 1
            while i <= len {
                if arena[a + i] != lower(p[b + i]) { return false }
                i += 1
            }
            a += 1 + len
            b += 1 + len
        }
        return false
    }

    /// Length of the wire name at `offset` of `arena`, nil when it runs past the end or is
    /// malformed (a damaged snapshot file).
    static func wireLength(_ arena: UnsafeBufferPointer<UInt8>, _ offset: Int) -> Int? {
        var i = offset
        while i < arena.count {
            let len = Int(arena[i])
            if len == 0 { return i + 1 - offset <= 255 ? i + 1 - offset : nil }
            guard len <= 63 else { return nil }
            i += 1 + len
        }
        return nil
    }

    /// Calls `body(entry)` for every entry whose name is `p[start..<end]`, given that name's
    /// finished hash. `body` returns false to stop.
    @inline(__always) func forEach(
        hash h: UInt64, _ p: UnsafeRawBufferPointer, start: Int, end: Int, _ body: (Int) -> Bool
    ) {
        let fp = Self.fingerprint(h)
        slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBufferPointer { arena in
                nameOffset.withUnsafeBufferPointer { offsets in
                    let n = slots.count
                    var i = Self.home(h, n)
                    while true {
                        let s = slots[i]
                        if s == 0 { return }
                        if s >> 24 == fp {
                            let e = Int(s & 0xFF_FFFF) - 1
                            if Self.equal(arena, Int(offsets[e]), p, start, end) {
                                if !body(e) { return }
                            }
                        }
                        i += 1
                        if i == n { i = 0 }
                    }
                }
            }
        }
    }

    /// The name of entry `e` in wire form.
    public func wire(of e: Int) -> [UInt8] {
        let o = Int(nameOffset[e])
        let n = arena.withUnsafeBufferPointer { Self.wireLength($0, o) } ?? 0
        return Array(arena[o..<(o + n)])
    }

    // MARK: building

    public enum InsertResult { case added, duplicate, full }

    /// Adds `wire` (lowercased, uncompressed) with `classID` and `ruleID`. The same name and
    /// class twice is a duplicate (the first rule id is kept).
    @discardableResult
    public mutating func insert(_ wire: UnsafeRawBufferPointer, classID c: UInt16, ruleID r: UInt32) -> InsertResult {
        guard count < Self.maxEntries, let raw = Self.hash(wire, start: 0, seed: seed) else { return .full }
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let fp = Self.fingerprint(raw)
        var existingOffset: UInt32? = nil
        let n = slots.count
        var i = Self.home(raw, n)
        let end = wire.count
        while slots[i] != 0 {
            let s = slots[i]
            if s >> 24 == fp {
                let e = Int(s & 0xFF_FFFF) - 1
                let same = arena.withUnsafeBufferPointer { Self.equal($0, Int(nameOffset[e]), wire, 0, end) }
                if same {
                    if classID[e] == c { return .duplicate }
                    existingOffset = nameOffset[e]
                }
            }
            i += 1
            if i == n { i = 0 }
        }
        let offset: UInt32
        if let existingOffset {
            offset = existingOffset
        } else {
            offset = UInt32(arena.count)
            arena.append(contentsOf: wire)
        }
        labelCounts |= 1 << UInt64(min(Self.labelCount(wire, 0), 63))
        nameOffset.append(offset)
        classID.append(c)
        ruleID.append(r)
        slots[i] = fp << 24 | UInt32(count)
        return .added
    }

    mutating func grow() {
        var bigger = [UInt32](repeating: 0, count: Self.capacity(for: max(count * 2, 16)))
        let n = bigger.count
        arena.withUnsafeBufferPointer { arenaBuffer in
            let a = UnsafeRawBufferPointer(arenaBuffer)
            for e in 0..<count {
                let o = Int(nameOffset[e])
                let name = UnsafeRawBufferPointer(rebasing: a[o..<(o + Self.wireLength(arenaBuffer, o)!)])
                let h = Self.hash(name, start: 0, seed: seed)!
                var i = Self.home(h, n)
                while bigger[i] != 0 {
                    i += 1
                    if i == n { i = 0 }
                }
                bigger[i] = Self.fingerprint(h) << 24 | UInt32(e + 1)
            }
        }
        slots = bigger
    }

    /// Removes every entry from `count` on (and their names' bytes from `arenaCount` on).
    /// Linear probing keeps this exact: an older entry's probe path only crosses slots filled
    /// before it, so clearing the slots of newer entries never cuts one.
    mutating func truncate(to count: Int, arenaCount: Int) {
        guard count < self.count else { return }
        for i in slots.indices where slots[i] != 0 && Int(slots[i] & 0xFF_FFFF) - 1 >= count { slots[i] = 0 }
        nameOffset.removeSubrange(count...)
        classID.removeSubrange(count...)
        ruleID.truncate(to: count)
        if arenaCount < arena.count { arena.removeSubrange(arenaCount...) }
    }

    /// Approximate heap bytes held.
    public var memoryBytes: Int {
        arena.capacity + nameOffset.capacity * 4 + classID.capacity * 2 + ruleID.memoryBytes + slots.capacity * 4
    }
}

/// Rule ids (a list's line numbers, or ids from the API) in 2 bytes per entry: the low 16 bits,
/// plus the high 16 bits recorded only where they change. Entries are added in list order, so
/// line numbers rise and the high half changes once per 65,536 lines.
public struct RuleIDColumn: Sendable, Equatable {
    public internal(set) var low: [UInt16] = []
    /// Entry where a new high half starts, and that half.
    public internal(set) var breakEntry: [UInt32] = []
    public internal(set) var breakHigh: [UInt16] = []

    public init() {}

    init(low: [UInt16], breakEntry: [UInt32], breakHigh: [UInt16]) {
        self.low = low
        self.breakEntry = breakEntry
        self.breakHigh = breakHigh
    }

    public var count: Int { low.count }
    var memoryBytes: Int { low.capacity * 2 + breakEntry.capacity * 4 + breakHigh.capacity * 2 }

    mutating func reserveCapacity(_ n: Int) { low.reserveCapacity(n) }

    mutating func append(_ id: UInt32) {
        let high = UInt16(truncatingIfNeeded: id >> 16)
        if (breakHigh.last ?? 0) != high {
            breakEntry.append(UInt32(low.count))
            breakHigh.append(high)
        }
        low.append(UInt16(truncatingIfNeeded: id))
    }

    public subscript(e: Int) -> UInt32 {
        // The last break at or before e (binary search; a handful of breaks per million ids).
        var lo = 0
        var hi = breakEntry.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(breakEntry[mid]) <= e { lo = mid + 1 } else { hi = mid }
        }
        let high = lo == 0 ? 0 : UInt32(breakHigh[lo - 1])
        return high << 16 | UInt32(low[e])
    }

    mutating func truncate(to n: Int) {
        guard n < low.count else { return }
        low.removeSubrange(n...)
        while let last = breakEntry.last, Int(last) >= n {
            breakEntry.removeLast()
            breakHigh.removeLast()
        }
    }

    /// Consistent with `count` entries (a snapshot read from disk).
    func isValid(count: Int) -> Bool {
        low.count == count && breakEntry.count == breakHigh.count
            && zip(breakEntry, breakEntry.dropFirst()).allSatisfy { $0 < $1 } && breakEntry.allSatisfy { Int($0) < max(count, 1) }
    }
}
