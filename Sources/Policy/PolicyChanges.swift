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
        try single(adding: RuleChange(target: .name(name, match), list: listName, action: action, ruleID: ruleID))
    }

    /// Removes every rule for exactly `name` from list `listName` (base and delta).
    public func removing(name: Name, list listName: String) throws(ChangeError) -> PolicyEngine {
        try single(removing: RuleChange(target: .name(name, .subtree), list: listName))
    }

    /// Adds an address rule to list `listName`.
    public func adding(prefix: CIDR, action: RuleAction = .block, list listName: String, ruleID: UInt32 = 0) throws(ChangeError) -> PolicyEngine {
        try single(adding: RuleChange(target: .prefix(prefix), list: listName, action: action, ruleID: ruleID))
    }

    /// Removes address rules for exactly `prefix` from list `listName`.
    public func removing(prefix: CIDR, list listName: String) throws(ChangeError) -> PolicyEngine {
        try single(removing: RuleChange(target: .prefix(prefix), list: listName))
    }

    /// One change through `applying`; an unknown list is an error here.
    private func single(adding: RuleChange? = nil, removing: RuleChange? = nil) throws(ChangeError) -> PolicyEngine {
        let (engine, skipped) = try applying(removing: removing.map { [$0] } ?? [], adding: adding.map { [$0] } ?? [])
        if let s = skipped.first { throw .unknownList(s.list) }
        return engine
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

/// One rule of a batch change: a name (with its match) or an address prefix, in a list.
public struct RuleChange: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case name(Name, NameMatch)
        case prefix(CIDR)
    }
    public var target: Target
    public var list: String
    public var action: RuleAction
    public var ruleID: UInt32

    public init(target: Target, list: String, action: RuleAction = .block, ruleID: UInt32 = 0) {
        self.target = target
        self.list = list
        self.action = action
        self.ruleID = ruleID
    }
}

extension PolicyEngine {
    /// Applies many changes at once with one rebuild of the delta index (the single-rule calls
    /// rebuild it each time): removals first, then additions. Changes naming an unknown list
    /// are skipped and returned.
    public func applying(removing: [RuleChange], adding: [RuleChange]) throws(ChangeError) -> (engine: PolicyEngine, skipped: [RuleChange]) {
        var d = delta
        var skipped: [RuleChange] = []
        var listIndex: [String: Int] = [:]
        func list(_ name: String) -> Int? {
            if let l = listIndex[name] { return l }
            let l = snapshot.list(named: name)
            listIndex[name] = l
            return l
        }
        var removedNames = Set<[UInt8]>()
        var removedPrefixes = Set<CIDR>()
        var removedKeys = Set<NameKey>()
        var removedPrefixKeys = Set<PrefixKey>()
        for c in removing {
            guard let l = list(c.list) else {
                skipped.append(c)
                continue
            }
            switch c.target {
            case .name(let n, _):
                let wire = n.lowercasedWire
                for e in baseEntries(wire: wire, list: UInt16(l)) { d.removedNames.insert(e) }
                removedNames.insert(wire)
                removedKeys.insert(NameKey(wire: wire, list: UInt16(l)))
            case .prefix(let p):
                removedPrefixes.insert(p)
                removedPrefixKeys.insert(PrefixKey(prefix: p, list: UInt16(l)))
            }
        }
        if !removedKeys.isEmpty { d.nameRules.removeAll { removedKeys.contains(NameKey(wire: $0.wire, list: $0.list)) } }
        if !removedPrefixKeys.isEmpty {
            d.prefixRules.removeAll { removedPrefixKeys.contains(PrefixKey(prefix: $0.prefix, list: $0.list)) }
            for (i, e) in snapshot.prefixes.entries.enumerated() where removedPrefixes.contains(e.prefix) {
                let l = classes[Int(e.classID)].list
                if removedPrefixKeys.contains(PrefixKey(prefix: e.prefix, list: l)) { d.removedPrefixes.insert(i) }
            }
        }
        var addedKeys = Set<NameKey>()
        var addedPrefixKeys = Set<PrefixKey>()
        var names: [PolicyDelta.NameRule] = []
        var prefixes: [PolicyDelta.PrefixRule] = []
        for c in adding {
            guard let l = list(c.list) else {
                skipped.append(c)
                continue
            }
            let kind = Self.kind(c.action, list: snapshot.lists[l])
            switch c.target {
            case .name(let n, let match):
                let wire = n.lowercasedWire
                let restored = baseEntries(wire: wire, list: UInt16(l)).filter {
                    d.removedNames.contains($0) && classes[Int(snapshot.names.classID[$0])].match == match
                }
                if !restored.isEmpty {
                    for e in restored { d.removedNames.remove(e) }
                } else {
                    addedKeys.insert(NameKey(wire: wire, list: UInt16(l)))
                    names.append(.init(wire: wire, list: UInt16(l), match: match, kind: kind, ruleID: c.ruleID))
                }
            case .prefix(let p):
                addedPrefixKeys.insert(PrefixKey(prefix: p, list: UInt16(l)))
                prefixes.append(.init(prefix: p, list: UInt16(l), kind: kind, ruleID: c.ruleID))
            }
        }
        // A re-added rule replaces the delta's earlier one for the same name and list.
        if !addedKeys.isEmpty {
            let matches = Set(names.map { NameMatchKey(wire: $0.wire, list: $0.list, match: $0.match) })
            d.nameRules.removeAll { matches.contains(NameMatchKey(wire: $0.wire, list: $0.list, match: $0.match)) }
        }
        if !addedPrefixKeys.isEmpty { d.prefixRules.removeAll { addedPrefixKeys.contains(PrefixKey(prefix: $0.prefix, list: $0.list)) } }
        d.nameRules.append(contentsOf: names)
        d.prefixRules.append(contentsOf: prefixes)
        d.rebuild(base: snapshot.classes)
        guard snapshot.classes.count + d.classes.count < Int(UInt16.max) else { throw .tooManyClasses }
        return (PolicyEngine(snapshot: snapshot, delta: d, profiles: profiles, config: config, generation: generation &+ 1), skipped)
    }

    private struct NameKey: Hashable {
        var wire: [UInt8]
        var list: UInt16
    }
    private struct NameMatchKey: Hashable {
        var wire: [UInt8]
        var list: UInt16
        var match: NameMatch
    }
    private struct PrefixKey: Hashable {
        var prefix: CIDR
        var list: UInt16
    }
}
