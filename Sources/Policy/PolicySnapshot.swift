import DNSWire

/// Traffic Light Protocol marking of a list: AMBER and RED sources are never named in answers.
public enum TLP: String, Sendable, Codable, CaseIterable {
    case clear, green, amber, red

    public init?(name: String) {
        var n = Substring(name.lowercased())
        if n.hasPrefix("tlp:") { n = n.dropFirst(4) }
        if n.hasSuffix("+strict") { n = n.dropLast(7) }
        if n == "white" {
            self = .clear
            return
        }
        guard let t = TLP(rawValue: String(n)) else { return nil }
        self = t
    }

    /// May the source be named to clients?
    public var disclosable: Bool { self == .clear || self == .green }
}

/// One list (source) in a snapshot.
public struct ListInfo: Sendable, Codable, Hashable {
    public var name: String
    public var categories: CategorySet
    /// Every rule of this list allows (an allow list, a warninglist).
    public var allow: Bool
    /// Matches are counted and logged, not enforced.
    public var audit: Bool
    public var tlp: TLP
    /// Who publishes it (named in EDE text unless the TLP forbids it).
    public var source: String
    /// File path or URL (for explanations: `origin:line`).
    public var origin: String
    public var format: String
    /// Rules loaded, lines skipped.
    public var rules: Int = 0
    public var skipped: Int = 0
    /// The tenant (policy node) this list belongs to: it applies to that tenant and its
    /// descendants only, whatever their categories. nil: a shared list, chosen by categories.
    public var owner: String? = nil

    public init(
        name: String, categories: CategorySet, allow: Bool = false, audit: Bool = false, tlp: TLP = .clear,
        source: String? = nil, origin: String = "", format: String = ""
    ) {
        self.name = name
        self.categories = categories
        self.allow = allow
        self.audit = audit
        self.tlp = tlp
        self.source = source ?? name
        self.origin = origin
        self.format = format
    }
}

extension CategorySet: Codable {
    public init(from decoder: any Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(UInt32.self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// What a class of rules does when it matches (the list's kind and the rule's own action).
public enum RuleEffectKind: UInt8, Sendable, Codable {
    case block = 0, nodata, drop, localData, allow
}

/// Rules that share list, match, action and owner share a class (a few per list), so an entry
/// needs only a 16-bit class number.
public struct RuleClass: Sendable, Hashable, Codable {
    public var list: UInt16
    public var match: NameMatch
    public var kind: RuleEffectKind
    /// The tenant whose own entry this is: 1 + its index in `PolicySnapshot.owners`; 0 for none.
    /// All tenants' own entries share two lists, told apart by this, so a tenant's entries
    /// cost a class, not a list.
    public var owner: UInt32 = 0

    public init(list: UInt16, match: NameMatch, kind: RuleEffectKind, owner: UInt32 = 0) {
        self.list = list
        self.match = match
        self.kind = kind
        self.owner = owner
    }

    enum CodingKeys: String, CodingKey { case list, match, kind, owner }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        list = try c.decode(UInt16.self, forKey: .list)
        match = try c.decode(NameMatch.self, forKey: .match)
        kind = try c.decode(RuleEffectKind.self, forKey: .kind)
        owner = try c.decodeIfPresent(UInt32.self, forKey: .owner) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(list, forKey: .list)
        try c.encode(match, forKey: .match)
        try c.encode(kind, forKey: .kind)
        if owner != 0 { try c.encode(owner, forKey: .owner) }
    }
}

extension NameMatch: Codable {}

/// A problem line of a list.
public struct ListIssue: Sendable, Hashable, Codable, CustomStringConvertible {
    public var list: String
    public var origin: String
    public var line: Int
    public var message: String
    public var description: String { "\(origin.isEmpty ? list : origin):\(line): \(message)" }
}

/// The compiled, immutable policy base: every list's names and prefixes in one shared index.
public struct PolicySnapshot: Sendable {
    public internal(set) var lists: [ListInfo] = []
    public internal(set) var classes: [RuleClass] = []
    public internal(set) var names: NameIndex
    public internal(set) var prefixes = PrefixTable()
    /// Records of local-data rules, by name entry.
    public internal(set) var localData: [Int: [ResourceRecord]] = [:]
    public internal(set) var prefixLocalData: [Int: [ResourceRecord]] = [:]
    /// Tenants that own entries (`RuleClass.owner` - 1 indexes this).
    public internal(set) var owners: [String] = []

    public init(names: NameIndex = NameIndex()) {
        self.names = names
    }

    public static let empty = PolicySnapshot()

    public var nameCount: Int { names.count }
    public var memoryBytes: Int { names.memoryBytes + prefixes.count * 48 }

    public func list(named name: String) -> Int? { lists.firstIndex { $0.name == name } }
}

/// Builds a snapshot list by list. Parsers deliver rules to it (`RuleSink`).
public struct SnapshotBuilder: RuleSink {
    public private(set) var snapshot: PolicySnapshot
    var classIndex: [RuleClass: UInt16] = [:]
    var current: UInt16 = 0
    var currentOwner: UInt32 = 0
    var ownerIndex: [String: UInt32] = [:]
    /// Issues kept per list (all are counted).
    public var maxIssuesPerList = 100
    public private(set) var issues: [ListIssue] = []
    var issuesThisList = 0
    public private(set) var duplicates = 0
    public private(set) var overflow = 0

    /// `expectedNames` and `arenaBytes` size the arrays up front (a file's line count and byte
    /// size are good bounds), so loading does not reallocate and leave freed memory behind.
    public init(expectedNames: Int = 0, arenaBytes: Int = 0) {
        snapshot = PolicySnapshot(names: NameIndex(expected: expectedNames, arenaBytes: arenaBytes))
    }

    /// Starts a list; following rules belong to it. Returns its id.
    @discardableResult
    public mutating func begin(_ list: ListInfo) -> Int {
        snapshot.lists.append(list)
        current = UInt16(snapshot.lists.count - 1)
        currentOwner = 0
        issuesThisList = 0
        return Int(current)
    }

    /// Following rules of the current list are `tenant`'s own entries (nil: nobody's).
    public mutating func setOwner(_ tenant: String?) {
        guard let tenant else {
            currentOwner = 0
            return
        }
        if let i = ownerIndex[tenant] {
            currentOwner = i
            return
        }
        snapshot.owners.append(tenant)
        currentOwner = UInt32(snapshot.owners.count)
        ownerIndex[tenant] = currentOwner
    }

    /// Parses a whole list file into the current list.
    public mutating func add(_ bytes: UnsafeRawBufferPointer, format: ListFormat) {
        ListParser.parse(bytes, format: format, into: &self)
    }

    mutating func classID(_ match: NameMatch, _ action: RuleAction) -> UInt16 {
        var kind: RuleEffectKind
        switch action {
        case .block: kind = .block
        case .nodata: kind = .nodata
        case .drop: kind = .drop
        case .allow: kind = .allow
        case .localData: kind = .localData
        }
        if snapshot.lists[Int(current)].allow { kind = .allow }
        let c = RuleClass(list: current, match: match, kind: kind, owner: currentOwner)
        if let id = classIndex[c] { return id }
        let id = UInt16(snapshot.classes.count)
        snapshot.classes.append(c)
        classIndex[c] = id
        return id
    }

    public mutating func name(_ wire: UnsafeRawBufferPointer, match: NameMatch, action: RuleAction, line: Int) {
        guard snapshot.classes.count < Int(UInt16.max) || classIndex.count < Int(UInt16.max) else { return }
        let c = classID(match, action)
        switch snapshot.names.insert(wire, classID: c, ruleID: UInt32(clamping: line)) {
        case .added:
            snapshot.lists[Int(current)].rules += 1
            if case .localData(let records) = action, snapshot.classes[Int(c)].kind == .localData {
                snapshot.localData[snapshot.names.count - 1] = records
            }
        case .duplicate:
            duplicates += 1
        case .full:
            overflow += 1
            issue(line: line, "policy is full (\(NameIndex.maxEntries) names)")
        }
    }

    public mutating func address(_ prefix: CIDR, action: RuleAction, line: Int) {
        let c = classID(.exact, action)
        if snapshot.prefixes.insert(prefix, classID: c, ruleID: UInt32(clamping: line)) {
            snapshot.lists[Int(current)].rules += 1
            if case .localData(let records) = action, snapshot.classes[Int(c)].kind == .localData {
                snapshot.prefixLocalData[snapshot.prefixes.count - 1] = records
            }
        } else {
            duplicates += 1
        }
    }

    public mutating func issue(line: Int, _ message: String) {
        snapshot.lists[Int(current)].skipped += 1
        issuesThisList += 1
        if issuesThisList <= maxIssuesPerList {
            let l = snapshot.lists[Int(current)]
            issues.append(ListIssue(list: l.name, origin: l.origin, line: line, message: message))
        }
    }

    /// Where the current list started, to undo it (`rollback`).
    public struct Mark: Sendable {
        var names: Int
        var arena: Int
        var prefixes: Int
        var classes: Int
        var issues: Int
        var duplicates: Int
    }

    public func mark() -> Mark {
        Mark(
            names: snapshot.names.count, arena: snapshot.names.arena.count, prefixes: snapshot.prefixes.count,
            classes: snapshot.classes.count, issues: issues.count, duplicates: duplicates)
    }

    /// Undoes every rule added since `mark` (a list that turned out to be broken), keeping the
    /// list itself (so a last good copy can be parsed into it instead), its counters reset.
    public mutating func rollback(to m: Mark) {
        snapshot.names.truncate(to: m.names, arenaCount: m.arena)
        snapshot.prefixes.truncate(to: m.prefixes)
        for k in snapshot.localData.keys where k >= m.names { snapshot.localData[k] = nil }
        for k in snapshot.prefixLocalData.keys where k >= m.prefixes { snapshot.prefixLocalData[k] = nil }
        for c in snapshot.classes[m.classes...] { classIndex[c] = nil }
        snapshot.classes.removeSubrange(m.classes...)
        issues.removeSubrange(m.issues...)
        duplicates = m.duplicates
        issuesThisList = 0
        snapshot.lists[Int(current)].rules = 0
        snapshot.lists[Int(current)].skipped = 0
    }

    /// Sets metadata of the current list (e.g. that it is a last good copy).
    public mutating func updateCurrent(_ body: (inout ListInfo) -> Void) { body(&snapshot.lists[Int(current)]) }

    public func finish() -> PolicySnapshot { snapshot }
}
