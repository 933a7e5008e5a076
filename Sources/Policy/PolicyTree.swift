/// What one class of rules does for one policy node, with the tree levels behind it.
///
/// Levels are depths in the tenant tree (0 = a root: a public profile or a top tenant). A block
/// records the deepest level that imposes it (`deepest`), the shallowest (`origin`, the level that
/// decided) and the shallowest level that imposes it without marking it overridable (`locked`,
/// 255 when every level allows overrides). An allow records the levels that apply it as a mask.
///
/// An allow at level `a` beats the blocks of a name when every block is imposed at `a` or above
/// (`deepest <= a`: a child tightens freely, an ancestor's allow does not undo it) and every level
/// above `a` that imposes one marked it overridable (`locked >= a`).
public struct PolicyEffect: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case none = 0, block, allow, audit }
    public var kind: Kind
    public var deepest: UInt8 = 0
    public var locked: UInt8 = PolicyEffect.unlocked
    public var origin: UInt8 = 0
    public var allowLevels: UInt64 = 0

    public static let unlocked: UInt8 = 255
    public static let none = PolicyEffect(kind: .none)

    init(kind: Kind) { self.kind = kind }

    static func allow(level: Int) -> PolicyEffect {
        var e = PolicyEffect(kind: .allow)
        e.allowLevels = 1 << UInt64(level)
        return e
    }

    static func block(_ kind: Kind, level: Int, overridable: Bool) -> PolicyEffect {
        var e = PolicyEffect(kind: kind)
        e.deepest = UInt8(level)
        e.origin = UInt8(level)
        e.locked = overridable ? unlocked : UInt8(level)
        return e
    }

    /// This level blocks too.
    mutating func addBlock(_ kind: Kind, level: Int, overridable: Bool) {
        if self.kind == .none || self.kind == .allow {
            self = .block(kind, level: level, overridable: overridable)
            return
        }
        deepest = max(deepest, UInt8(level))
        if !overridable { locked = min(locked, UInt8(level)) }
        if kind == .block && self.kind == .audit {
            // An ancestor only audits; this level enforces.
            self.kind = .block
            origin = UInt8(level)
        }
    }
}

/// The policy nodes (public profiles and tenants) compiled against the classes of a snapshot:
/// every node maps to a row of effects over the shared lists' classes; nodes that add nothing to
/// their parent share its row, and equal rows are stored once, so 10,000 tenants cost a few
/// integers each. Lists owned by a tenant (its own block and allow entries) are not in the rows:
/// their effect follows from whether the owner is the node or one of its ancestors.
public struct PolicyTree: Sendable {
    /// The deepest tree supported (levels 0...63: the allow levels are a 64-bit mask).
    public static let maxDepth = 64

    public let parent: [Int32]
    public let depth: [UInt8]
    /// Pre-order number and the largest pre-order number in the subtree: `a` is an ancestor of
    /// (or is) `n` when `pre[a] <= pre[n] && pre[n] <= last[a]`.
    let pre: [Int32]
    let last: [Int32]
    /// Categories each node blocks, its own and its ancestors'.
    public let categories: [CategorySet]
    /// The root above each node (whose list selection applies to the subtree).
    public let root: [Int32]
    /// Shared-column number per class, -1 for a class of an owned list.
    let column: [Int32]
    let width: Int
    let rowOf: [Int32]
    let rows: [PolicyEffect]
    /// Per list: the owning node (-1: shared) and whether the owner lets descendants allow it.
    let listOwner: [Int32]
    let listOverridable: [Bool]
    /// Per class: the owning node of a tenant's own entry (-1: none; `Int32.max`: an owner
    /// that is not a node), and whether that owner lets descendants allow it.
    let classOwner: [Int32]
    let classOverridable: [Bool]
    /// Whether each node's queries are logged (`log-queries`, inherited), and whether any is.
    public let logs: [Bool]
    public let anyLogs: Bool
    /// Whether each node sends EDNS Client Subnet upstream (`ecs`, inherited), and whether any does.
    public let ecs: [Bool]
    public let anyECS: Bool
    /// Node index by name (the first node of that name).
    let byName: [String: Int32]
    /// Client networks to nodes (an entry's `ruleID` is the node), and tokens to nodes.
    let clients: PrefixTable
    let tokens: [String: Int32]
    /// True when every node is a root: every allow and block is at level 0, an allow always wins,
    /// and a check may stop at the first one.
    public let flat: Bool

    init(profiles: [Profile], lists: [ListInfo], classes: [RuleClass], owners: [String] = []) {
        let n = profiles.count
        var index: [String: Int] = [:]
        for (i, p) in profiles.enumerated() where index[p.name] == nil { index[p.name] = i }
        // Parents, with anything unknown or cyclic made a root.
        var parent = [Int32](repeating: -1, count: n)
        for (i, p) in profiles.enumerated() {
            if let name = p.parent, let j = index[name], j != i { parent[i] = Int32(j) }
        }
        for i in 0..<n {
            var seen = 0
            var a = parent[i]
            while a >= 0 && seen <= n {
                a = parent[Int(a)]
                seen += 1
            }
            if seen > n { parent[i] = -1 }
        }
        var children = [[Int32]](repeating: [], count: n)
        for i in 0..<n where parent[i] >= 0 { children[Int(parent[i])].append(Int32(i)) }
        // Pre-order walk: parents before children.
        var order: [Int32] = []
        order.reserveCapacity(n)
        var pre = [Int32](repeating: 0, count: n)
        var last = [Int32](repeating: 0, count: n)
        var depth = [UInt8](repeating: 0, count: n)
        var root = [Int32](repeating: 0, count: n)
        for r in 0..<n where parent[r] < 0 {
            var stack: [(Int32, Bool)] = [(Int32(r), false)]
            while let (node, done) = stack.popLast() {
                let i = Int(node)
                if done {
                    last[i] = Int32(order.count - 1)
                    continue
                }
                pre[i] = Int32(order.count)
                order.append(node)
                if parent[i] >= 0 {
                    depth[i] = UInt8(min(Self.maxDepth - 1, Int(depth[Int(parent[i])]) + 1))
                    root[i] = root[Int(parent[i])]
                } else {
                    root[i] = node
                }
                stack.append((node, true))
                for c in children[i].reversed() { stack.append((c, false)) }
            }
        }
        var logs = [Bool](repeating: false, count: n)
        var ecs = [Bool](repeating: false, count: n)
        var categories = [CategorySet](repeating: [], count: n)
        // Whether a node's subtree filters at all (global allow lists apply only where it does).
        var filters = [Bool](repeating: false, count: n)
        for node in order {
            let i = Int(node)
            let p = parent[i]
            categories[i] = profiles[i].categories.union(p >= 0 ? categories[Int(p)] : [])
            logs[i] = profiles[i].logQueries ?? (p >= 0 ? logs[Int(p)] : false)
            ecs[i] = profiles[i].ecs ?? (p >= 0 ? ecs[Int(p)] : false)
            filters[i] = !categories[i].isEmpty || !profiles[i].blockLists.isEmpty || (p >= 0 && filters[Int(p)])
        }

        // Lists: owned (by a node) or shared; allow lists named by a node apply only below it.
        var listOwner = [Int32](repeating: -1, count: lists.count)
        var listOverridable = [Bool](repeating: false, count: lists.count)
        var listIndex: [String: Int] = [:]
        for (l, list) in lists.enumerated() {
            listIndex[list.name] = l
            guard let owner = list.owner else { continue }
            if let o = index[owner] {
                listOwner[l] = Int32(o)
                listOverridable[l] = profiles[o].overrides(list)
            } else {
                // Owner unknown: it applies nowhere (an owner that cannot be reached).
                listOwner[l] = Int32.max
            }
        }
        var scopedAllow = Set<Int>()
        for p in profiles { for a in p.allowLists { if let l = listIndex[a] { scopedAllow.insert(l) } } }

        // Own entries: the class names its owner.
        let ownerNodes = owners.map { index[$0].map(Int32.init) ?? Int32.max }
        var classOwner = [Int32](repeating: -1, count: classes.count)
        var classOverridable = [Bool](repeating: false, count: classes.count)
        for (c, cls) in classes.enumerated() {
            let l = Int(cls.list)
            if cls.owner != 0 {
                let o = Int(cls.owner) - 1 < ownerNodes.count ? ownerNodes[Int(cls.owner) - 1] : Int32.max
                classOwner[c] = o
                classOverridable[c] = o < Int32(n) && profiles[Int(o)].overrides(lists[l])
            } else if listOwner[l] >= 0 {
                classOwner[c] = listOwner[l]
                classOverridable[c] = listOverridable[l]
            }
        }
        var column = [Int32](repeating: -1, count: classes.count)
        var shared: [Int] = []
        for (c, _) in classes.enumerated() where classOwner[c] < 0 {
            column[c] = Int32(shared.count)
            shared.append(c)
        }
        let width = shared.count

        // Rows: a node's is its parent's plus what the node itself adds.
        var rows: [PolicyEffect] = []
        var rowOf = [Int32](repeating: 0, count: n)
        var rowIndex: [ArraySlice<PolicyEffect>: Int32] = [:]
        for node in order {
            let i = Int(node)
            let p = profiles[i]
            let pi = parent[i]
            let own = pi >= 0 ? p.categories.subtracting(categories[Int(pi)]) : p.categories
            if pi >= 0 && own.isEmpty && p.blockLists.isEmpty && p.allowLists.isEmpty {
                rowOf[i] = rowOf[Int(pi)]
                continue
            }
            let level = Int(depth[i])
            let selector = profiles[Int(root[i])]
            var row = [PolicyEffect](repeating: .none, count: width)
            if pi >= 0 {
                let b = Int(rowOf[Int(pi)]) * width
                for k in 0..<width { row[k] = rows[b + k] }
            }
            for (k, c) in shared.enumerated() {
                let cls = classes[c]
                let l = Int(cls.list)
                let list = lists[l]
                if cls.kind == .allow {
                    // Allow lists no node names apply from the first node of a chain that filters
                    // (a root, or a tenant that filters under an unfiltered profile), at its level.
                    if (pi < 0 || !filters[Int(pi)]) && filters[i] && selector.selects(list) && !scopedAllow.contains(l) {
                        if row[k].kind != .allow { row[k] = PolicyEffect(kind: .allow) }
                        row[k].allowLevels |= 1 << UInt64(level)
                    }
                    if p.allowLists.contains(list.name) {
                        if row[k].kind != .allow { row[k] = PolicyEffect(kind: .allow) }
                        row[k].allowLevels |= 1 << UInt64(level)
                    }
                    continue
                }
                let byCategory = selector.selects(list) && !list.categories.intersection(own).isEmpty
                guard byCategory || p.blockLists.contains(list.name) else { continue }
                let overridable = p.overrides(list)
                row[k].addBlock(list.audit ? .audit : .block, level: level, overridable: overridable)
            }
            if let r = rowIndex[row[...]] {
                rowOf[i] = r
            } else {
                let r = Int32(rows.count / max(width, 1))
                rows.append(contentsOf: row)
                rowIndex[row[...]] = r
                rowOf[i] = width == 0 ? 0 : r
            }
        }
        self.parent = parent
        self.depth = depth
        self.pre = pre
        self.last = last
        self.categories = categories
        self.root = root
        self.column = column
        self.width = width
        self.rowOf = rowOf
        self.rows = rows
        self.listOwner = listOwner
        self.listOverridable = listOverridable
        self.classOwner = classOwner
        self.classOverridable = classOverridable
        self.flat = depth.allSatisfy { $0 == 0 }
        self.byName = index.mapValues { Int32($0) }
        self.logs = logs
        self.anyLogs = logs.contains(true)
        self.ecs = ecs
        self.anyECS = ecs.contains(true)
        var clients = PrefixTable()
        var tokens: [String: Int32] = [:]
        for (i, p) in profiles.enumerated() {
            for c in p.networks { clients.insert(c, classID: 0, ruleID: UInt32(i)) }
            if let t = p.token, tokens[t] == nil { tokens[t] = Int32(i) }
        }
        self.clients = clients
        self.tokens = tokens
    }

    /// `a` is `node` or one of its ancestors.
    @inline(__always) public func isAncestor(_ a: Int, of node: Int) -> Bool {
        pre[a] <= pre[node] && pre[node] <= last[a]
    }

    /// The effect for `node` of class `c`, owned by a tenant (its own entry, or a list given to it).
    @inline(__always) func ownedEffect(node: Int, class c: Int, kind: RuleEffectKind, audit: Bool) -> PolicyEffect {
        let o = Int(classOwner[c])
        guard o < pre.count, isAncestor(o, of: node) else { return .none }
        let level = Int(depth[o])
        if kind == .allow { return .allow(level: level) }
        return .block(audit ? .audit : .block, level: level, overridable: classOverridable[c])
    }

    /// The owning node of class `c` (-1: shared, `Int32.max`: an owner that is not a node).
    public func owner(ofClass c: Int) -> Int { Int(classOwner[c]) }

    /// The node whose network holds an IPv4 client (the longest prefix), or -1.
    @inline(__always) public func node(v4 address: UInt32) -> Int {
        var found = -1
        if clients.hasV4 {
            clients.forEach(v4: address) { e in
                found = Int(clients.entries[e].ruleID)
                return false
            }
        }
        return found
    }

    /// The node whose network holds an IPv6 client, or -1.
    @inline(__always) public func node(v6 hi: UInt64, _ lo: UInt64) -> Int {
        var found = -1
        if clients.hasV6 {
            clients.forEach(v6: hi, lo) { e in
                found = Int(clients.entries[e].ruleID)
                return false
            }
        }
        return found
    }

    /// True when some node has client networks.
    public var identifiesClients: Bool { !clients.isEmpty }

    /// The node a token names, or -1.
    public func node(token: String) -> Int { tokens[token].map(Int.init) ?? -1 }

    /// The ancestor of `node` at `level` (the node itself at its own depth).
    public func ancestor(of node: Int, atLevel level: Int) -> Int {
        var n = node
        while Int(depth[n]) > level && parent[n] >= 0 { n = Int(parent[n]) }
        return n
    }

    /// The row count, for memory reports and tests.
    public var rowCount: Int { width == 0 ? 0 : rows.count / width }

    /// Bytes the compiled tree takes beyond the profiles themselves.
    public var memoryBytes: Int {
        parent.count * (4 + 1 + 4 + 4 + 4 + 4 + 4) + rows.count * MemoryLayout<PolicyEffect>.stride + column.count * 9 + listOwner.count * 5
    }
}

/// Collects the matches of one check and decides: the most specific block, unless an allow at a
/// level that may override every block matched.
struct PolicyDecision {
    var block: PolicyMatch? = nil
    var audit: PolicyMatch? = nil
    var allow: PolicyMatch? = nil
    var blockOrigin: UInt8 = 0
    var deepest: Int = -1
    var locked: Int = 255
    var allowLevels: UInt64 = 0
    /// The levels of the first allow seen (`allow`).
    var firstAllowLevels: UInt64 = 0
    /// In the second pass: the levels that win; the first allow at one of them is kept.
    var window: UInt64 = 0

    /// Returns false to stop looking (an allow that wins whatever else matches).
    @inline(__always) mutating func add(_ m: PolicyMatch, _ e: PolicyEffect, flat: Bool) -> Bool {
        switch e.kind {
        case .none: return true
        case .allow:
            if window != 0 {
                if e.allowLevels & window != 0 {
                    allow = m
                    return false
                }
                return true
            }
            if allow == nil {
                allow = m
                firstAllowLevels = e.allowLevels
            }
            allowLevels |= e.allowLevels
            return !flat
        case .block:
            if block == nil {
                block = m
                blockOrigin = e.origin
            }
            deepest = max(deepest, Int(e.deepest))
            locked = min(locked, Int(e.locked))
        case .audit:
            if audit == nil { audit = m }
        }
        return true
    }

    /// The allow levels that beat every block matched.
    var winningLevels: UInt64 {
        guard block != nil else { return allowLevels }
        guard deepest <= locked else { return 0 }
        let lo = UInt64(max(0, deepest))
        let hi = UInt64(min(63, locked))
        let span: UInt64 = hi >= 63 ? UInt64.max : (1 << (hi + 1)) - 1
        return allowLevels & (span & ~((1 << lo) - 1))
    }

    /// The verdict; `refind` runs the check again to find the allow rule at a winning level when
    /// the first allow seen is not one.
    @inline(__always) mutating func verdict(refind: (inout PolicyDecision) -> Void) -> PolicyVerdict {
        if allowLevels != 0 {
            let win = winningLevels
            if win != 0 {
                if firstAllowLevels & win == 0 {
                    var again = PolicyDecision()
                    again.window = win
                    refind(&again)
                    if let a = again.allow { allow = a }
                }
                return PolicyVerdict(kind: .allowed, match: allow, level: UInt8(win.trailingZeroBitCount))
            }
        }
        if let block { return PolicyVerdict(kind: .blocked, match: block, level: blockOrigin) }
        if let audit { return PolicyVerdict(kind: .audited, match: audit, level: 0) }
        return .none
    }
}
