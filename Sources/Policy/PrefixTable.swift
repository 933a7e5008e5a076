import DNSWire

/// IPv4 and IPv6 prefixes for answer-address rules, longest prefix first. One hash table per
/// prefix length that occurs (usually a handful: /32, /24, /128, /64, /48), so a lookup is at most
/// one probe per length present. Several rules on one prefix are chained.
public struct PrefixTable: Sendable {
    struct V6Key: Hashable, Sendable {
        var hi: UInt64
        var lo: UInt64
    }

    public struct Entry: Sendable, Hashable {
        public var classID: UInt16
        public var ruleID: UInt32
        public var prefix: CIDR
        /// Next entry with the same prefix, or -1.
        var next: Int32
    }

    public internal(set) var entries: [Entry] = []
    var v4: [(length: Int, table: [UInt32: Int32])] = []
    var v6: [(length: Int, table: [V6Key: Int32])] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var hasV4: Bool { !v4.isEmpty }
    public var hasV6: Bool { !v6.isEmpty }

    @inline(__always) static func mask4(_ v: UInt32, _ len: Int) -> UInt32 {
        len == 0 ? 0 : v & (UInt32.max << UInt32(32 - len))
    }

    @inline(__always) static func mask6(_ k: V6Key, _ len: Int) -> V6Key {
        if len >= 64 {
            let l = len - 64
            return V6Key(hi: k.hi, lo: l == 0 ? 0 : k.lo & (UInt64.max << UInt64(64 - l)))
        }
        return V6Key(hi: len == 0 ? 0 : k.hi & (UInt64.max << UInt64(64 - len)), lo: 0)
    }

    static func key6(_ b: some Collection<UInt8>) -> V6Key {
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for (i, x) in b.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(x) } else { lo = lo << 8 | UInt64(x) }
        }
        return V6Key(hi: hi, lo: lo)
    }

    /// Adds a rule. The same prefix and class twice is a duplicate (false).
    @discardableResult
    public mutating func insert(_ prefix: CIDR, classID: UInt16, ruleID: UInt32) -> Bool {
        // IPv4-mapped IPv6 prefixes are IPv4 prefixes.
        var p = prefix
        if case .v6(let a) = prefix.address, a.isIPv4Mapped, prefix.prefixLength >= 96 {
            p = CIDR(address: .v4(IPv4Address(bytes: a.bytes[12..<16])), prefixLength: prefix.prefixLength - 96)
        }
        let index = Int32(entries.count)
        switch p.address {
        case .v4(let a):
            let len = min(max(p.prefixLength, 0), 32)
            let key = Self.mask4(a.value, len)
            var t = v4.firstIndex { $0.length == len }
            if t == nil {
                v4.append((len, [:]))
                v4.sort { $0.length > $1.length }
                t = v4.firstIndex { $0.length == len }
            }
            let head = v4[t!].table[key] ?? -1
            if duplicate(head, classID) { return false }
            entries.append(Entry(classID: classID, ruleID: ruleID, prefix: CIDR(address: .v4(IPv4Address(key)), prefixLength: len), next: head))
            v4[t!].table[key] = index
        case .v6(let a):
            let len = min(max(p.prefixLength, 0), 128)
            let key = Self.mask6(Self.key6(a.bytes), len)
            var t = v6.firstIndex { $0.length == len }
            if t == nil {
                v6.append((len, [:]))
                v6.sort { $0.length > $1.length }
                t = v6.firstIndex { $0.length == len }
            }
            let head = v6[t!].table[key] ?? -1
            if duplicate(head, classID) { return false }
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                bytes[i] = UInt8(truncatingIfNeeded: key.hi >> UInt64(56 - 8 * i))
                bytes[8 + i] = UInt8(truncatingIfNeeded: key.lo >> UInt64(56 - 8 * i))
            }
            entries.append(Entry(classID: classID, ruleID: ruleID, prefix: CIDR(address: .v6(IPv6Address(bytes: bytes)), prefixLength: len), next: head))
            v6[t!].table[key] = index
        }
        return true
    }

    func duplicate(_ head: Int32, _ classID: UInt16) -> Bool {
        var e = head
        while e >= 0 {
            if entries[Int(e)].classID == classID { return true }
            e = entries[Int(e)].next
        }
        return false
    }

    /// Removes every entry from `count` on.
    mutating func truncate(to count: Int) {
        while entries.count > count {
            let e = entries.removeLast()
            let index = Int32(entries.count)
            switch e.prefix.address {
            case .v4(let a):
                if let t = v4.firstIndex(where: { $0.length == e.prefix.prefixLength }), v4[t].table[a.value] == index {
                    v4[t].table[a.value] = e.next >= 0 ? e.next : nil
                    if v4[t].table.isEmpty { v4.remove(at: t) }
                }
            case .v6(let a):
                let k = Self.key6(a.bytes)
                if let t = v6.firstIndex(where: { $0.length == e.prefix.prefixLength }), v6[t].table[k] == index {
                    v6[t].table[k] = e.next >= 0 ? e.next : nil
                    if v6[t].table.isEmpty { v6.remove(at: t) }
                }
            }
        }
    }

    /// Calls `body(entry)` for every rule whose prefix contains the IPv4 address, longest
    /// prefix first; `body` returns false to stop.
    @inline(__always) public func forEach(v4 address: UInt32, _ body: (Int) -> Bool) {
        for (len, table) in v4 {
            var e = table[Self.mask4(address, len)] ?? -1
            while e >= 0 {
                if !body(Int(e)) { return }
                e = entries[Int(e)].next
            }
        }
    }

    /// The same for an IPv6 address given as its two 64-bit halves.
    @inline(__always) public func forEach(v6 hi: UInt64, _ lo: UInt64, _ body: (Int) -> Bool) {
        let k = V6Key(hi: hi, lo: lo)
        for (len, table) in v6 {
            var e = table[Self.mask6(k, len)] ?? -1
            while e >= 0 {
                if !body(Int(e)) { return }
                e = entries[Int(e)].next
            }
        }
    }
}
