/// The cache's map from key hash (`QueryScan.keyHash`, already keyed by a per-process random
/// basis) to slot number: open addressing with linear probing over a power-of-two table kept at
/// most half full, one 16-byte bucket per probe, deletion by shifting later buckets back (no
/// tombstones, so probe sequences never grow with churn). What `[UInt64: Int]` does, without
/// hashing the hash again: a cache hit costs one multiply and usually one bucket.
struct SlotTable {
    private struct Bucket {
        var hash: UInt64
        /// Slot number + 1; 0 = empty.
        var slot: UInt32
    }

    private var buckets: [Bucket]
    private var mask: Int
    private(set) var count = 0

    init() {
        buckets = [Bucket](repeating: Bucket(hash: 0, slot: 0), count: 16)
        mask = 15
    }

    /// Home bucket: the high bits of the hash times an odd constant (spreads FNV's low-bit bias).
    @inline(__always) private func home(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    subscript(hash: UInt64) -> Int? {
        var i = home(hash)
        while true {
            let b = buckets[i]
            if b.slot == 0 { return nil }
            if b.hash == hash { return Int(b.slot) - 1 }
            i = (i + 1) & mask
        }
    }

    /// Maps `hash` to `slot`, replacing what it mapped to.
    mutating func set(_ hash: UInt64, _ slot: Int) {
        precondition(slot >= 0 && slot < Int(UInt32.max))
        if (count + 1) * 2 > buckets.count { grow() }
        var i = home(hash)
        while buckets[i].slot != 0 && buckets[i].hash != hash { i = (i + 1) & mask }
        if buckets[i].slot == 0 { count += 1 }
        buckets[i] = Bucket(hash: hash, slot: UInt32(slot + 1))
    }

    mutating func remove(_ hash: UInt64) {
        var i = home(hash)
        while true {
            if buckets[i].slot == 0 { return }
            if buckets[i].hash == hash { break }
            i = (i + 1) & mask
        }
        count -= 1
        // Shift back every later bucket of the run whose home is not in (i, j] (Knuth 6.4 R).
        var j = i
        while true {
            buckets[i].slot = 0
            while true {
                j = (j + 1) & mask
                if buckets[j].slot == 0 { return }
                let k = home(buckets[j].hash)
                let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
                if !stays { break }
            }
            buckets[i] = buckets[j]
            i = j
        }
    }

    private mutating func grow() {
        let old = buckets
        buckets = [Bucket](repeating: Bucket(hash: 0, slot: 0), count: old.count * 2)
        mask = buckets.count - 1
        count = 0
        for b in old where b.slot != 0 { set(b.hash, Int(b.slot) - 1) }
    }
}
