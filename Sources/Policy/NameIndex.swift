/// Millions of names in a few flat arrays: every name once, as lowercased wire bytes in one arena,
/// plus an open-addressing table of 32-bit slots (8 bits of hash fingerprint, 24 bits of entry
/// number). An entry is a name with a rule class (list, match, action) and a rule id; one name in
/// several lists is several entries, the later ones a 5-byte alias of the first one's bytes.
/// About 24 bytes per name of typical length (the name's wire bytes, 5.7 bytes of slots, 2 of
/// rule id, a quarter of one for its arena position), no per-name heap object.
///
/// The hash of a name is built label by label from the root, so a query's name and all its
/// parents are hashed in one right-to-left pass.
public struct NameIndex: Sendable {
    /// One record per entry, back to back in entry order: the name's lowercased wire bytes
    /// (wire names end themselves: the root label), or, when an earlier entry holds the same
    /// name, an alias: `aliasMark` (no label is that long) and the little-endian 32-bit arena
    /// offset of that earlier entry's name.
    public internal(set) var arena: [UInt8] = []
    /// The arena offset of the record of every `recordStride`-th entry. An entry's record is
    /// found by skipping the records before it from there (at most 15, within a few cache lines,
    /// and only once a slot's fingerprint matched): 4 bytes per 16 names instead of 4 per name.
    public internal(set) var recordStart: [UInt32] = []
    public internal(set) var count = 0
    public internal(set) var classID = ClassColumn()
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
    static let recordShift = 4
    public static let recordStride = 1 << recordShift
    static let aliasMark: UInt8 = 0xFF

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
        recordStart.reserveCapacity(expected / Self.recordStride + 1)
        ruleID.reserveCapacity(expected)
        arena.reserveCapacity(arenaBytes)
    }

    /// Restores an index from its arrays (a persisted snapshot), nil when they do not fit
    /// together: every record must lie inside the arena, and every alias point at an earlier name.
    init?(arena: [UInt8], recordStart: [UInt32], count: Int, classID: ClassColumn, ruleID: RuleIDColumn, slots: [UInt32], seed: UInt64) {
        guard Self.validRecords(arena, recordStart, count) else { return nil }
        self.arena = arena
        self.recordStart = recordStart
        self.count = count
        self.classID = classID
        self.ruleID = ruleID
        self.slots = slots
        self.seed = seed
        var counts: UInt64 = 0
        forEachName { _, name in counts |= 1 << UInt64(min(Self.labelCount(name, 0), 63)) }
        labelCounts = counts
    }

    /// True when `count` records fill `arena` exactly, every one a well-formed wire name or an
    /// alias of an earlier one, and `recordStart` marks every 16th.
    static func validRecords(_ arena: [UInt8], _ recordStart: [UInt32], _ count: Int) -> Bool {
        guard count >= 0, recordStart.count == (count + recordStride - 1) >> recordShift else { return false }
        return arena.withUnsafeBufferPointer { a in
            var o = 0
            for e in 0..<count {
                if e & (recordStride - 1) == 0 && Int(recordStart[e >> recordShift]) != o { return false }
                guard o < a.count else { return false }
                if a[o] == aliasMark {
                    guard o + 5 <= a.count else { return false }
                    let t = aliasTarget(a, o)
                    guard t < o, a[t] != aliasMark, let n = wireLength(a, t), t + n <= o else { return false }
                    o += 5
                } else {
                    guard let n = wireLength(a, o) else { return false }
                    o += n
                }
            }
            return o == a.count
        }
    }

    // MARK: records

    /// Where the record at `o` ends.
    @inline(__always) static func recordEnd(_ arena: UnsafeBufferPointer<UInt8>, _ o: Int) -> Int {
        if arena[o] == aliasMark { return o + 5 }
        var i = o
        while arena[i] != 0 { i += 1 + Int(arena[i]) }
        return i + 1
    }

    @inline(__always) static func aliasTarget(_ arena: UnsafeBufferPointer<UInt8>, _ o: Int) -> Int {
        Int(arena[o + 1]) | Int(arena[o + 2]) << 8 | Int(arena[o + 3]) << 16 | Int(arena[o + 4]) << 24
    }

    /// The arena offset of entry `e`'s name (through its alias).
    @inline(__always) static func nameOffset(_ arena: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<UInt32>, _ e: Int) -> Int {
        var o = Int(starts[e >> recordShift])
        var k = e & (recordStride - 1)
        while k > 0 {
            o = recordEnd(arena, o)
            k -= 1
        }
        return arena[o] == aliasMark ? aliasTarget(arena, o) : o
    }

    /// The arena offset of entry `e`'s name.
    public func nameOffset(of e: Int) -> Int {
        precondition(e >= 0 && e < count, "entry out of range")
        return arena.withUnsafeBufferPointer { a in recordStart.withUnsafeBufferPointer { Self.nameOffset(a, $0, e) } }
    }

    /// Calls `body(entry, name)` for every entry in order, the name in wire form (one pass over
    /// the arena).
    public func forEachName(_ body: (Int, UnsafeRawBufferPointer) -> Void) {
        arena.withUnsafeBufferPointer { a in
            let raw = UnsafeRawBufferPointer(a)
            var o = 0
            for e in 0..<count {
                let n = a[o] == Self.aliasMark ? Self.aliasTarget(a, o) : o
                body(e, UnsafeRawBufferPointer(rebasing: raw[n..<(n + Self.wireLength(a, n)!)]))
                o = Self.recordEnd(a, o)
            }
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
                recordStart.withUnsafeBufferPointer { starts in
                    let n = slots.count
                    var i = Self.home(h, n)
                    while true {
                        let s = slots[i]
                        if s == 0 { return }
                        if s >> 24 == fp {
                            let e = Int(s & 0xFF_FFFF) - 1
                            if Self.equal(arena, Self.nameOffset(arena, starts, e), p, start, end) {
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
        let o = nameOffset(of: e)
        let n = arena.withUnsafeBufferPointer { Self.wireLength($0, o) } ?? 0
        return Array(arena[o..<(o + n)])
    }

    // MARK: building

    public enum InsertResult { case added, duplicate, full }

    /// Adds `wire` (lowercased, uncompressed) with `classID` and `ruleID`. The same name and
    /// class twice is a duplicate (the first rule id is kept).
    @discardableResult
    public mutating func insert(_ given: UnsafeRawBufferPointer, classID c: UInt16, ruleID r: UInt32) -> InsertResult {
        // Only the name's own bytes go into the arena (records are found by walking names there:
        // a byte after the root label would throw every later record off).
        guard count < Self.maxEntries, let raw = Self.hash(given, start: 0, seed: seed),
            let length = given.withMemoryRebound(to: UInt8.self, { Self.wireLength($0, 0) }),
            arena.count + max(length, 5) <= Int(UInt32.max)
        else { return .full }
        let wire = UnsafeRawBufferPointer(rebasing: given[0..<length])
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let fp = Self.fingerprint(raw)
        var existingOffset: Int? = nil
        let n = slots.count
        var i = Self.home(raw, n)
        let end = wire.count
        while slots[i] != 0 {
            let s = slots[i]
            if s >> 24 == fp {
                let e = Int(s & 0xFF_FFFF) - 1
                let o = nameOffset(of: e)
                if arena.withUnsafeBufferPointer({ Self.equal($0, o, wire, 0, end) }) {
                    if classID[e] == c { return .duplicate }
                    existingOffset = o
                }
            }
            i += 1
            if i == n { i = 0 }
        }
        if count & (Self.recordStride - 1) == 0 { recordStart.append(UInt32(arena.count)) }
        if let existingOffset {
            arena.append(Self.aliasMark)
            withUnsafeBytes(of: UInt32(existingOffset).littleEndian) { arena.append(contentsOf: $0) }
        } else {
            arena.append(contentsOf: wire)
        }
        labelCounts |= 1 << UInt64(min(Self.labelCount(wire, 0), 63))
        classID.append(c)
        ruleID.append(r)
        count += 1
        slots[i] = fp << 24 | UInt32(count)
        return .added
    }

    mutating func grow() {
        var bigger = [UInt32](repeating: 0, count: Self.capacity(for: max(count * 2, 16)))
        let n = bigger.count
        forEachName { e, name in
            let h = Self.hash(name, start: 0, seed: seed)!
            var i = Self.home(h, n)
            while bigger[i] != 0 {
                i += 1
                if i == n { i = 0 }
            }
            bigger[i] = Self.fingerprint(h) << 24 | UInt32(e + 1)
        }
        slots = bigger
    }

    /// Removes every entry from `count` on (and their records from `arenaCount` on, where the
    /// arena ended when the index had `count` entries).
    /// Linear probing keeps this exact: an older entry's probe path only crosses slots filled
    /// before it, so clearing the slots of newer entries never cuts one.
    mutating func truncate(to count: Int, arenaCount: Int) {
        guard count < self.count else { return }
        for i in slots.indices where slots[i] != 0 && Int(slots[i] & 0xFF_FFFF) - 1 >= count { slots[i] = 0 }
        recordStart.removeSubrange(((count + Self.recordStride - 1) >> Self.recordShift)...)
        classID.truncate(to: count)
        ruleID.truncate(to: count)
        self.count = count
        if arenaCount < arena.count { arena.removeSubrange(arenaCount...) }
    }

    /// Approximate heap bytes held.
    public var memoryBytes: Int {
        arena.capacity + recordStart.capacity * 4 + classID.memoryBytes + ruleID.memoryBytes + slots.capacity * 4
    }
}

/// How many of the ascending entry numbers `starts` are at most `e` (binary search): the
/// columns below record a value where it changes, and entry `e` has the last one before it.
@inline(__always) func startsAtOrBefore(_ e: Int, in starts: [UInt32]) -> Int {
    var lo = 0
    var hi = starts.count
    while lo < hi {
        let mid = (lo + hi) >> 1
        if Int(starts[mid]) <= e { lo = mid + 1 } else { hi = mid }
    }
    return lo
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
        // The last break at or before e (a handful of breaks per million ids).
        let lo = startsAtOrBefore(e, in: breakEntry)
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

/// Class ids, as runs: entries are added list by list and most of a list's rules share one class,
/// so a million entries usually take a handful of runs instead of 2 MB. A column whose class
/// changes more often than every third entry (an RPZ zone alternating `name` and `*.name`
/// rules) switches to one value per entry, so it never costs much more than 2 bytes per entry.
public struct ClassColumn: Sendable, Equatable {
    /// The first entry of each run and the run's class (runs mode).
    public internal(set) var runStart: [UInt32] = []
    public internal(set) var runValue: [UInt16] = []
    /// One class per entry (per-entry mode; empty in runs mode).
    public internal(set) var values: [UInt16] = []
    public internal(set) var perEntry = false
    public internal(set) var count = 0

    /// Runs a column keeps before it considers switching to one value per entry.
    static let minRunsBeforeSwitch = 64

    public init() {}

    init(runStart: [UInt32], runValue: [UInt16], values: [UInt16], perEntry: Bool, count: Int) {
        self.runStart = runStart
        self.runValue = runValue
        self.values = values
        self.perEntry = perEntry
        self.count = count
    }

    var memoryBytes: Int { runStart.capacity * 4 + runValue.capacity * 2 + values.capacity * 2 }

    mutating func append(_ c: UInt16) {
        defer { count += 1 }
        if perEntry {
            values.append(c)
            return
        }
        if runValue.last == c { return }
        if runStart.count >= Self.minRunsBeforeSwitch && runStart.count * 3 >= count {
            // Runs (6 bytes each) would now cost more than 2 bytes per entry.
            values.reserveCapacity(count * 2)
            for k in runStart.indices {
                let end = k + 1 < runStart.count ? Int(runStart[k + 1]) : count
                values.append(contentsOf: repeatElement(runValue[k], count: end - Int(runStart[k])))
            }
            values.append(c)
            runStart = []
            runValue = []
            perEntry = true
            return
        }
        runStart.append(UInt32(count))
        runValue.append(c)
    }

    @inline(__always) public subscript(e: Int) -> UInt16 {
        if perEntry { return values[e] }
        precondition(e >= 0 && e < count, "entry out of range")
        // The last run starting at or before e (runStart[0] is 0).
        return runValue[startsAtOrBefore(e, in: runStart) - 1]
    }

    mutating func truncate(to n: Int) {
        guard n < count else { return }
        if perEntry {
            values.removeSubrange(n...)
        } else {
            while let last = runStart.last, Int(last) >= n {
                runStart.removeLast()
                runValue.removeLast()
            }
        }
        count = n
    }

    /// Consistent with `count` entries and `classes` classes (a snapshot read from disk).
    func isValid(count: Int, classes: Int) -> Bool {
        guard self.count == count else { return false }
        if perEntry { return runStart.isEmpty && runValue.isEmpty && values.count == count && values.allSatisfy { Int($0) < classes } }
        return values.isEmpty && runStart.count == runValue.count && (count == 0 ? runStart.isEmpty : runStart.first == 0)
            && zip(runStart, runStart.dropFirst()).allSatisfy { $0 < $1 } && runStart.allSatisfy { Int($0) < max(count, 1) }
            && runValue.allSatisfy { Int($0) < classes }
    }
}
