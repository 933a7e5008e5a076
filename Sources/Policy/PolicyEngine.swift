import DNSWire

/// Rules added or removed since the base snapshot was built: a small index over the same hash
/// seed (one hashing pass serves both), rebuilt whole on every change (it is small), plus the
/// base entries it removes. Applying one change takes well under a millisecond at thousands of
/// delta rules; the base is rebuilt off the hot path and the delta emptied.
public struct PolicyDelta: Sendable {
    public struct NameRule: Sendable, Hashable {
        public var wire: [UInt8]
        public var list: UInt16
        public var match: NameMatch
        public var kind: RuleEffectKind
        public var ruleID: UInt32
    }
    public struct PrefixRule: Sendable, Hashable {
        public var prefix: CIDR
        public var list: UInt16
        public var kind: RuleEffectKind
        public var ruleID: UInt32
    }

    public internal(set) var nameRules: [NameRule] = []
    public internal(set) var prefixRules: [PrefixRule] = []
    /// Base name entries and prefix entries that no longer apply.
    public internal(set) var removedNames: Set<Int> = []
    public internal(set) var removedPrefixes: Set<Int> = []
    /// Classes of delta rules, numbered after the base's.
    var classes: [RuleClass] = []
    var names: NameIndex
    var prefixes = PrefixTable()

    init(seed: UInt64) { names = NameIndex(seed: seed) }

    public var isEmpty: Bool { nameRules.isEmpty && prefixRules.isEmpty && removedNames.isEmpty && removedPrefixes.isEmpty }
    public var count: Int { nameRules.count + prefixRules.count + removedNames.count + removedPrefixes.count }

    /// Rebuilds the index from the rule lists; class numbers start at `baseClasses`, reusing the
    /// base's classes where they match.
    mutating func rebuild(base: [RuleClass]) {
        var index: [RuleClass: UInt16] = [:]
        for (i, c) in base.enumerated() { index[c] = UInt16(i) }
        classes = []
        func classID(_ c: RuleClass) -> UInt16 {
            if let id = index[c] { return id }
            let id = UInt16(base.count + classes.count)
            classes.append(c)
            index[c] = id
            return id
        }
        names = NameIndex(expected: nameRules.count, seed: names.seed)
        for r in nameRules {
            let c = classID(RuleClass(list: r.list, match: r.match, kind: r.kind))
            r.wire.withUnsafeBytes { _ = names.insert($0, classID: c, ruleID: r.ruleID) }
        }
        prefixes = PrefixTable()
        for r in prefixRules {
            prefixes.insert(r.prefix, classID: classID(RuleClass(list: r.list, match: .exact, kind: r.kind)), ruleID: r.ruleID)
        }
    }
}

/// Where a match was found.
public enum PolicyLayer: UInt8, Sendable, Codable {
    case names, deltaNames, prefixes, deltaPrefixes
}

/// One rule that matched.
public struct PolicyMatch: Sendable, Hashable {
    public var layer: PolicyLayer
    public var entry: Int
    public var classID: UInt16
    /// For name rules: how many labels below the rule's name the checked name is (0 = itself).
    public var depth: Int
}

/// The outcome of checking one name or address for a profile.
public struct PolicyVerdict: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case none, allowed, blocked, audited }
    public var kind: Kind
    /// The deciding rule (for `.blocked` and `.audited`; for `.allowed`, the allow rule).
    public var match: PolicyMatch?
    /// The tree level that decided: the level that imposed the block, or that applied the allow
    /// (0 for a public profile).
    public var level: UInt8 = 0

    public static let none = PolicyVerdict(kind: .none, match: nil)
}

/// The policy the data plane consults: the shared base snapshot, the delta over it, the
/// policy nodes (public profiles and tenants), and what each class of rules means for each node
/// (`PolicyTree`: a small table per distinct node policy).
/// Immutable: a change makes a new engine, which is handed to every event loop and engine
/// thread; each reads its own reference without locks.
public final class PolicyEngine: Sendable {
    public let snapshot: PolicySnapshot
    public let delta: PolicyDelta
    /// The nodes as configured: public profiles, then tenants (`categories` are each node's own;
    /// `tree.categories` holds what a node blocks with its ancestors').
    public let profiles: [Profile]
    public let config: PolicyConfig
    /// Increases with every change (logs, metrics, tests).
    public let generation: UInt64
    /// Base classes then delta classes.
    public let classes: [RuleClass]
    public let tree: PolicyTree

    /// `reuse`: an engine whose nodes, lists and classes are the same (a delta change that added
    /// no class), whose compiled tree is taken as it is.
    public init(
        snapshot: PolicySnapshot, delta: PolicyDelta? = nil, profiles: [Profile] = Profile.builtIn, config: PolicyConfig = PolicyConfig(),
        generation: UInt64 = 0, reuse: PolicyEngine? = nil
    ) {
        self.snapshot = snapshot
        var d = delta ?? PolicyDelta(seed: snapshot.names.seed)
        if delta == nil { d.rebuild(base: snapshot.classes) }
        self.delta = d
        self.profiles = profiles
        self.config = config
        self.generation = generation
        let classes = snapshot.classes + d.classes
        self.classes = classes
        if let reuse, reuse.classes == classes, reuse.profiles == profiles, reuse.snapshot.lists == snapshot.lists,
            reuse.snapshot.owners == snapshot.owners
        {
            tree = reuse.tree
        } else {
            tree = PolicyTree(profiles: profiles, lists: snapshot.lists, classes: classes, owners: snapshot.owners)
        }
    }

    public func profileIndex(named name: String) -> Int? { tree.byName[name].map(Int.init) }

    /// A new engine with the same rules and these profiles/config.
    public func with(profiles: [Profile], config: PolicyConfig) -> PolicyEngine {
        PolicyEngine(snapshot: snapshot, delta: delta, profiles: profiles, config: config, generation: generation &+ 1, reuse: self)
    }

    // MARK: who is asking (read through the engine: no copy of the tree on the hot path)

    @inline(__always) public var identifiesClients: Bool { !tree.clients.isEmpty }
    @inline(__always) public func node(token: String) -> Int { tree.node(token: token) }
    @inline(__always) public func node(v4 address: UInt32) -> Int { tree.node(v4: address) }
    @inline(__always) public func node(v6 hi: UInt64, _ lo: UInt64) -> Int { tree.node(v6: hi, lo) }
    /// Whether node `profile`'s queries are logged (one flag read when no node logs).
    @inline(__always) public func logs(_ profile: Int) -> Bool {
        tree.anyLogs && profile >= 0 && profile < tree.logs.count && tree.logs[profile]
    }

    /// Categories node `profile` blocks (its own and its ancestors').
    public func categories(of profile: Int) -> CategorySet { tree.categories[profile] }

    /// What class `c` does for node `profile` (the row base precomputed by the caller).
    @inline(__always) func effect(_ c: Int, profile: Int, rowBase: Int, rows: UnsafeBufferPointer<PolicyEffect>) -> PolicyEffect {
        let col = tree.column[c]
        if col >= 0 { return rows[rowBase + Int(col)] }
        let cls = classes[c]
        return tree.ownedEffect(node: profile, class: c, kind: cls.kind, audit: snapshot.lists[Int(cls.list)].audit)
    }

    /// What class `c` does for node `profile` (slow paths: explanations, RPZ).
    public func effect(ofClass c: Int, profile: Int) -> PolicyEffect {
        tree.rows.withUnsafeBufferPointer { effect(c, profile: profile, rowBase: Int(tree.rowOf[profile]) * tree.width, rows: $0) }
    }

    // MARK: checks (hot path: no allocation)

    /// The name at `p[start..<end]` (uncompressed wire form, root label last) and each parent
    /// against `profile`. An allow beats the blocks its level may override (for a public
    /// profile: every block); among blocks the most specific name wins.
    public func check(name p: UnsafeRawBufferPointer, start: Int, end: Int, profile: Int) -> PolicyVerdict {
        guard profile >= 0, profile < profiles.count, end <= p.count, hasNameRules else { return .none }
        let rowBase = Int(tree.rowOf[profile]) * tree.width
        let flat = tree.flat
        let hasDelta = !delta.isEmpty
        let removed = !delta.removedNames.isEmpty
        return tree.rows.withUnsafeBufferPointer { rows in
            func run(_ decision: inout PolicyDecision) {
                NameIndex.withSuffixHashes(p, start: start, seed: snapshot.names.seed) { depth, s, h, labels in
                    var going = true
                    func visit(_ index: NameIndex, _ layer: PolicyLayer) {
                        guard index.mayHold(labels: labels) else { return }
                        index.forEach(hash: h, p, start: s, end: end) { e in
                            if layer == .names && removed && delta.removedNames.contains(e) { return true }
                            let c = index.classID[e]
                            let m = classes[Int(c)].match
                            guard depth == 0 ? m.matchesSelf : m.matchesBelow else { return true }
                            let eff = effect(Int(c), profile: profile, rowBase: rowBase, rows: rows)
                            going = decision.add(PolicyMatch(layer: layer, entry: e, classID: c, depth: depth), eff, flat: flat)
                            return going
                        }
                    }
                    visit(snapshot.names, .names)
                    if going && hasDelta { visit(delta.names, .deltaNames) }
                    return going
                }
            }
            var decision = PolicyDecision()
            run(&decision)
            return decision.verdict(refind: run)
        }
    }

    /// An address (4 or 16 bytes at `p[at...]`) against the prefix rules.
    public func check(address p: UnsafeRawBufferPointer, at: Int, length: Int, profile: Int) -> PolicyVerdict {
        guard profile >= 0, profile < profiles.count else { return .none }
        let rowBase = Int(tree.rowOf[profile]) * tree.width
        let flat = tree.flat
        let removed = !delta.removedPrefixes.isEmpty
        var v4: UInt32? = nil
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        if length == 4 {
            v4 = p.loadUnaligned(fromByteOffset: at, as: UInt32.self).bigEndian
        } else {
            hi = p.loadUnaligned(fromByteOffset: at, as: UInt64.self).bigEndian
            lo = p.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self).bigEndian
            // IPv4-mapped: check the IPv4 rules.
            if hi == 0 && lo >> 32 == 0xFFFF { v4 = UInt32(truncatingIfNeeded: lo) }
        }
        return tree.rows.withUnsafeBufferPointer { rows in
            func run(_ decision: inout PolicyDecision) {
                var going = true
                func visit(_ e: Int, _ table: PrefixTable, _ layer: PolicyLayer) -> Bool {
                    if layer == .prefixes && removed && delta.removedPrefixes.contains(e) { return true }
                    let c = table.entries[e].classID
                    let eff = effect(Int(c), profile: profile, rowBase: rowBase, rows: rows)
                    going = decision.add(PolicyMatch(layer: layer, entry: e, classID: c, depth: 0), eff, flat: flat)
                    return going
                }
                func scan(_ table: PrefixTable, _ layer: PolicyLayer) {
                    if let v4 {
                        if table.hasV4 { table.forEach(v4: v4) { visit($0, table, layer) } }
                    } else if table.hasV6 {
                        table.forEach(v6: hi, lo) { visit($0, table, layer) }
                    }
                }
                if !snapshot.prefixes.isEmpty { scan(snapshot.prefixes, .prefixes) }
                if going && !delta.prefixes.isEmpty { scan(delta.prefixes, .deltaPrefixes) }
            }
            var decision = PolicyDecision()
            run(&decision)
            return decision.verdict(refind: run)
        }
    }

    /// True when there are name rules at all.
    public var hasNameRules: Bool { snapshot.names.labelCounts != 0 || delta.names.labelCounts != 0 }

    /// True when there are address rules at all (answers need no address checks otherwise).
    public var hasAddressRules: Bool { !snapshot.prefixes.isEmpty || !delta.prefixes.isEmpty }

    /// Every CNAME/DNAME target and every A/AAAA address in the answer section of `wire` (a
    /// whole response) against `profile`. The first blocked element decides; an element that an
    /// allow rule covers is not blocked. Audited matches are reported when nothing blocks.
    public func check(answer wire: UnsafeRawBufferPointer, profile: Int) -> PolicyVerdict {
        guard wire.count >= 12, hasNameRules || hasAddressRules else { return .none }
        let qd = Int(wire[4]) << 8 | Int(wire[5])
        let an = Int(wire[6]) << 8 | Int(wire[7])
        guard an > 0 else { return .none }
        let addresses = hasAddressRules
        var i = 12
        for _ in 0..<qd {
            guard let next = WireScan.skipName(wire, i) else { return .none }
            i = next + 4
        }
        var audited: PolicyVerdict? = nil
        var result = PolicyVerdict.none
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buf in
            let target = UnsafeMutableRawBufferPointer(buf)
            for _ in 0..<an {
                guard let afterOwner = WireScan.skipName(wire, i), afterOwner + 10 <= wire.count else { return }
                let type = Int(wire[afterOwner]) << 8 | Int(wire[afterOwner + 1])
                let rdlen = Int(wire[afterOwner + 8]) << 8 | Int(wire[afterOwner + 9])
                let rdata = afterOwner + 10
                guard rdata + rdlen <= wire.count else { return }
                var v = PolicyVerdict.none
                if type == 5 || type == 39 {
                    if let n = Self.readName(wire, rdata, into: target) {
                        v = check(name: UnsafeRawBufferPointer(target), start: 0, end: n, profile: profile)
                    }
                } else if addresses && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
                    v = check(address: wire, at: rdata, length: rdlen, profile: profile)
                }
                if v.kind == .blocked {
                    result = v
                    return
                }
                if v.kind == .audited && audited == nil { audited = v }
                i = rdata + rdlen
            }
        }
        if result.kind == .blocked { return result }
        return audited ?? .none
    }

    /// Reads a possibly compressed name at `p[start]` into `out` (uncompressed wire form);
    /// returns its length, nil when malformed.
    static func readName(_ p: UnsafeRawBufferPointer, _ start: Int, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var i = start
        var n = 0
        var jumps = 0
        while i < p.count {
            let len = Int(p[i])
            if len & 0xC0 == 0xC0 {
                guard i + 1 < p.count, jumps < 64 else { return nil }
                let target = (len & 0x3F) << 8 | Int(p[i + 1])
                guard target < i else { return nil }
                i = target
                jumps += 1
                continue
            }
            guard len <= 63, n + 1 + len <= 255, i + 1 + len <= p.count else { return nil }
            out[n] = UInt8(len)
            if len == 0 { return n + 1 }
            for k in 0..<len { out[n + 1 + k] = p[i + 1 + k] }
            n += 1 + len
            i += 1 + len
        }
        return nil
    }

    // MARK: what a match means

    public func list(of match: PolicyMatch) -> ListInfo { snapshot.lists[Int(classes[Int(match.classID)].list)] }
    public func ruleClass(of match: PolicyMatch) -> RuleClass { classes[Int(match.classID)] }

    public func ruleID(of match: PolicyMatch) -> UInt32 {
        switch match.layer {
        case .names: snapshot.names.ruleID[match.entry]
        case .deltaNames: delta.names.ruleID[match.entry]
        case .prefixes: snapshot.prefixes.entries[match.entry].ruleID
        case .deltaPrefixes: delta.prefixes.entries[match.entry].ruleID
        }
    }

    /// The trigger of the rule at `layer`/`entry`, if that entry still holds the rule of
    /// `list` with `ruleID` (a hit recorded under an earlier engine may name a moved entry).
    public func trigger(layer: UInt8, entry: Int, list: UInt16, ruleID: UInt32) -> String? {
        guard let l = PolicyLayer(rawValue: layer), entry >= 0 else { return nil }
        let classID: UInt16
        switch l {
        case .names:
            guard entry < snapshot.names.count else { return nil }
            classID = snapshot.names.classID[entry]
        case .deltaNames:
            guard entry < delta.names.count else { return nil }
            classID = delta.names.classID[entry]
        case .prefixes:
            guard entry < snapshot.prefixes.entries.count else { return nil }
            classID = snapshot.prefixes.entries[entry].classID
        case .deltaPrefixes:
            guard entry < delta.prefixes.entries.count else { return nil }
            classID = delta.prefixes.entries[entry].classID
        }
        guard Int(classID) < classes.count, classes[Int(classID)].list == list else { return nil }
        let m = PolicyMatch(layer: l, entry: entry, classID: classID, depth: 0)
        guard self.ruleID(of: m) == ruleID else { return nil }
        return trigger(of: m)
    }

    /// The rule's trigger as text: `name.`, `*.name.` or a prefix.
    public func trigger(of match: PolicyMatch) -> String {
        switch match.layer {
        case .names, .deltaNames:
            let index = match.layer == .names ? snapshot.names : delta.names
            let name = Name(uncheckedWire: index.wire(of: match.entry)).description
            return classes[Int(match.classID)].match == .below ? "*.\(name)" : name
        case .prefixes: return snapshot.prefixes.entries[match.entry].prefix.description
        case .deltaPrefixes: return delta.prefixes.entries[match.entry].prefix.description
        }
    }

    /// The matched rule's name (for a name rule).
    public func ruleName(of match: PolicyMatch) -> Name? {
        switch match.layer {
        case .names: Name(uncheckedWire: snapshot.names.wire(of: match.entry))
        case .deltaNames: Name(uncheckedWire: delta.names.wire(of: match.entry))
        default: nil
        }
    }

    public func localData(of match: PolicyMatch) -> [ResourceRecord]? {
        switch match.layer {
        case .names: snapshot.localData[match.entry]
        case .prefixes: snapshot.prefixLocalData[match.entry]
        default: nil
        }
    }

    /// EDE 15 (threats) or 17 (content) with `category; source=…; id=list:rule` (the source and
    /// list withheld under TLP:AMBER/RED). Without `text` the code alone: for a client that sent
    /// no EDNS, which cannot be told the text, the block is not spent building it.
    public func extendedError(for match: PolicyMatch, profile: Int, text withText: Bool = true) -> ExtendedError {
        let listIndex = Int(classes[Int(match.classID)].list)
        let listCategories = snapshot.lists[listIndex].categories
        let matched = listCategories.intersection(tree.categories[profile])
        let cats = matched.isEmpty ? listCategories : matched
        guard withText else { return ExtendedError(code: cats.isContentOnly ? .filtered : .blocked) }
        let list = snapshot.lists[listIndex]
        var text = cats.first.map(\.description) ?? "blocked"
        text += list.tlp.disclosable ? "; source=\(list.source); id=\(list.name):" : "; id="
        text += String(ruleID(of: match))
        return ExtendedError(code: cats.isContentOnly ? .filtered : .blocked, extraText: text)
    }
}
