import DNSWire

/// Single-rule changes through the delta (API, CLI, threat-intel pushes): each returns a new
/// engine, sharing the base snapshot's arrays.
extension PolicyEngine {
    public enum ChangeError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownList(String)
        case tooManyClasses
        public var description: String {
            switch self {
            case .unknownList(let l): "no list named '\(l)'"
            case .tooManyClasses: "too many rule classes; rebuild the policy"
            }
        }
    }

    static func kind(_ action: RuleAction, list: ListInfo) -> RuleEffectKind {
        if list.allow { return .allow }
        switch action {
        case .block: return .block
        case .nodata: return .nodata
        case .drop: return .drop
        case .allow: return .allow
        case .localData: return .block
        }
    }

    /// Adds a name rule to list `listName`.
    public func adding(name: Name, match: NameMatch = .subtree, action: RuleAction = .block, list listName: String, ruleID: UInt32 = 0)
        throws(ChangeError) -> PolicyEngine
    {
        guard let l = snapshot.list(named: listName) else { throw .unknownList(listName) }
        var d = delta
        let wire = name.lowercasedWire
        let rule = PolicyDelta.NameRule(wire: wire, list: UInt16(l), match: match, kind: Self.kind(action, list: snapshot.lists[l]), ruleID: ruleID)
        // Re-adding a removed base rule restores it instead of duplicating it.
        let restored = baseEntries(wire: wire, list: UInt16(l)).filter { d.removedNames.contains($0) && classes[Int(snapshot.names.classID[$0])].match == match }
        if !restored.isEmpty {
            for e in restored { d.removedNames.remove(e) }
        } else {
            d.nameRules.removeAll { $0.wire == wire && $0.list == rule.list && $0.match == match }
            d.nameRules.append(rule)
        }
        d.rebuild(base: snapshot.classes)
        guard snapshot.classes.count + d.classes.count < Int(UInt16.max) else { throw .tooManyClasses }
        return PolicyEngine(snapshot: snapshot, delta: d, profiles: profiles, config: config, generation: generation &+ 1)
    }

    /// Removes every rule for exactly `name` from list `listName` (base and delta).
    public func removing(name: Name, list listName: String) throws(ChangeError) -> PolicyEngine {
        guard let l = snapshot.list(named: listName) else { throw .unknownList(listName) }
        var d = delta
        let wire = name.lowercasedWire
        for e in baseEntries(wire: wire, list: UInt16(l)) { d.removedNames.insert(e) }
        d.nameRules.removeAll { $0.wire == wire && $0.list == UInt16(l) }
        d.rebuild(base: snapshot.classes)
        return PolicyEngine(snapshot: snapshot, delta: d, profiles: profiles, config: config, generation: generation &+ 1)
    }

    /// Adds an address rule to list `listName`.
    public func adding(prefix: CIDR, action: RuleAction = .block, list listName: String, ruleID: UInt32 = 0) throws(ChangeError) -> PolicyEngine {
        guard let l = snapshot.list(named: listName) else { throw .unknownList(listName) }
        var d = delta
        d.prefixRules.removeAll { $0.prefix == prefix && $0.list == UInt16(l) }
        d.prefixRules.append(.init(prefix: prefix, list: UInt16(l), kind: Self.kind(action, list: snapshot.lists[l]), ruleID: ruleID))
        d.rebuild(base: snapshot.classes)
        return PolicyEngine(snapshot: snapshot, delta: d, profiles: profiles, config: config, generation: generation &+ 1)
    }

    /// Removes address rules for exactly `prefix` from list `listName`.
    public func removing(prefix: CIDR, list listName: String) throws(ChangeError) -> PolicyEngine {
        guard let l = snapshot.list(named: listName) else { throw .unknownList(listName) }
        var d = delta
        for (i, e) in snapshot.prefixes.entries.enumerated() where e.prefix == prefix && classes[Int(e.classID)].list == UInt16(l) {
            d.removedPrefixes.insert(i)
        }
        d.prefixRules.removeAll { $0.prefix == prefix && $0.list == UInt16(l) }
        d.rebuild(base: snapshot.classes)
        return PolicyEngine(snapshot: snapshot, delta: d, profiles: profiles, config: config, generation: generation &+ 1)
    }

    /// Base entries of `wire` in list `list`.
    func baseEntries(wire: [UInt8], list: UInt16) -> [Int] {
        var out: [Int] = []
        wire.withUnsafeBytes { p in
            guard let h = NameIndex.hash(p, start: 0, seed: snapshot.names.seed) else { return }
            snapshot.names.forEach(hash: h, p, start: 0, end: p.count) { e in
                if snapshot.classes[Int(snapshot.names.classID[e])].list == list { out.append(e) }
                return true
            }
        }
        return out
    }
}
