import DNSWire

/// The rules in force, one by one, for consumers that publish the policy rather than check
/// queries against it (RPZ zones). Not for the hot path.
extension PolicyEngine {
    /// Calls `body` for every name rule in force: the base entries the delta has not removed,
    /// then the delta's. The wire buffer (lowercased, uncompressed) is valid only during the call.
    public func forEachNameRule(_ body: (UnsafeRawBufferPointer, PolicyMatch) -> Void) {
        var cursor = RuleCursor()
        forEachNameRule(from: &cursor, limit: .max, body)
    }

    /// The same in steps: visits at most `limit` entries from `cursor` and moves it on
    /// (`cursor.isDone` when all are visited), so a zone transfer can send as it walks.
    public func forEachNameRule(from cursor: inout RuleCursor, limit: Int, _ body: (UnsafeRawBufferPointer, PolicyMatch) -> Void) {
        let removed = delta.removedNames
        var budget = limit
        while cursor.layer < 2 && budget > 0 {
            let layer: PolicyLayer = cursor.layer == 0 ? .names : .deltaNames
            let index = cursor.layer == 0 ? snapshot.names : delta.names
            index.arena.withUnsafeBytes { arena in
                index.arena.withUnsafeBufferPointer { bytes in
                    while cursor.entry < index.count && budget > 0 {
                        let e = cursor.entry
                        cursor.entry += 1
                        budget -= 1
                        if layer == .names && removed.contains(e) { continue }
                        let o = Int(index.nameOffset[e])
                        guard let n = NameIndex.wireLength(bytes, o) else { continue }
                        body(
                            UnsafeRawBufferPointer(rebasing: arena[o..<(o + n)]),
                            PolicyMatch(layer: layer, entry: e, classID: index.classID[e], depth: 0))
                    }
                }
            }
            if cursor.entry >= index.count {
                cursor.layer += 1
                cursor.entry = 0
            }
        }
    }

    /// The name rules in force for exactly the name `wire` (lowercased, uncompressed), in the
    /// order `forEachNameRule` visits them.
    public func nameRules(exactly wire: UnsafeRawBufferPointer) -> [PolicyMatch] {
        var out: [PolicyMatch] = []
        guard let h = NameIndex.hash(wire, start: 0, seed: snapshot.names.seed) else { return out }
        let removed = delta.removedNames
        for (layer, index) in [(PolicyLayer.names, snapshot.names), (.deltaNames, delta.names)] {
            var found: [PolicyMatch] = []
            index.forEach(hash: h, wire, start: 0, end: wire.count) { e in
                if !(layer == .names && removed.contains(e)) {
                    found.append(PolicyMatch(layer: layer, entry: e, classID: index.classID[e], depth: 0))
                }
                return true
            }
            out.append(contentsOf: found.sorted { $0.entry < $1.entry })
        }
        return out
    }

    /// Calls `body` for every address rule in force (base entries not removed, then the delta's).
    public func forEachPrefixRule(_ body: (CIDR, PolicyMatch) -> Void) {
        let removed = delta.removedPrefixes
        for (e, entry) in snapshot.prefixes.entries.enumerated() where !removed.contains(e) {
            body(entry.prefix, PolicyMatch(layer: .prefixes, entry: e, classID: entry.classID, depth: 0))
        }
        for (e, entry) in delta.prefixes.entries.enumerated() {
            body(entry.prefix, PolicyMatch(layer: .deltaPrefixes, entry: e, classID: entry.classID, depth: 0))
        }
    }

    /// The wire form of a name rule's name (an allocation; for explanations and diffs).
    public func wire(of match: PolicyMatch) -> [UInt8]? {
        switch match.layer {
        case .names: snapshot.names.wire(of: match.entry)
        case .deltaNames: delta.names.wire(of: match.entry)
        default: nil
        }
    }

    /// True when both engines share one base snapshot (their differences are in the deltas).
    public func sharesBase(with other: PolicyEngine) -> Bool {
        func base(_ e: PolicyEngine) -> (UnsafeRawPointer?, UnsafeRawPointer?, Int) {
            let a = e.snapshot.names.arena.withUnsafeBytes { $0.baseAddress }
            let s = e.snapshot.names.slots.withUnsafeBytes { $0.baseAddress }
            return (a, s, e.snapshot.prefixes.count)
        }
        let (a1, s1, p1) = base(self)
        let (a2, s2, p2) = base(other)
        return a1 == a2 && s1 == s2 && p1 == p2 && snapshot.lists == other.snapshot.lists
            && snapshot.names.count == other.snapshot.names.count
    }
}

/// A position in the walk over an engine's name rules.
public struct RuleCursor: Sendable, Hashable {
    var layer = 0
    var entry = 0
    public init() {}
    public var isDone: Bool { layer >= 2 }
}
