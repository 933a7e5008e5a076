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
                        let o = index.nameOffset(of: e)
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
        nameRules(exactly: wire, into: &out)
        return out
    }

    /// The same into a caller's buffer (emptied first; no allocation once it has grown), for
    /// walks over millions of names.
    public func nameRules(exactly wire: UnsafeRawBufferPointer, into out: inout [PolicyMatch]) {
        out.removeAll(keepingCapacity: true)
        guard let h = NameIndex.hash(wire, start: 0, seed: snapshot.names.seed) else { return }
        let removed = delta.removedNames
        for (layer, index) in [(PolicyLayer.names, snapshot.names), (.deltaNames, delta.names)] {
            let start = out.count
            index.forEach(hash: h, wire, start: 0, end: wire.count) { e in
                if !(layer == .names && removed.contains(e)) {
                    out.append(PolicyMatch(layer: layer, entry: e, classID: index.classID[e], depth: 0))
                }
                return true
            }
            // Probe order is not entry order; one name rarely has more than one rule.
            if out.count - start > 1 { out[start...].sort { $0.entry < $1.entry } }
        }
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

    /// Which base snapshot this engine stands on: equal for engines that differ only in their
    /// deltas (the arrays are shared, not copied). Holding it keeps no engine alive.
    public var baseIdentity: BaseIdentity {
        BaseIdentity(
            arena: snapshot.names.arena.withUnsafeBytes { $0.baseAddress.map { UInt(bitPattern: $0) } ?? 0 },
            slots: snapshot.names.slots.withUnsafeBytes { $0.baseAddress.map { UInt(bitPattern: $0) } ?? 0 },
            names: snapshot.names.count, prefixes: snapshot.prefixes.count)
    }

    /// True when both engines share one base snapshot (their differences are in the deltas).
    public func sharesBase(with other: PolicyEngine) -> Bool {
        baseIdentity == other.baseIdentity && snapshot.lists == other.snapshot.lists
    }
}

/// See `PolicyEngine.baseIdentity`.
public struct BaseIdentity: Hashable, Sendable {
    let arena: UInt
    let slots: UInt
    let names: Int
    let prefixes: Int
}

/// A position in the walk over an engine's name rules.
public struct RuleCursor: Sendable, Hashable {
    var layer = 0
    var entry = 0
    public init() {}
    public var isDone: Bool { layer >= 2 }
}
