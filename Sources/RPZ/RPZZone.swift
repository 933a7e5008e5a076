import DNSWire
import Policy

/// What a zone does with a block rule that has no action of its own.
public enum RPZBlockAction: String, Sendable, Hashable, CaseIterable {
    /// `CNAME .`
    case nxdomain
    /// `CNAME *.`
    case nodata
    /// `CNAME rpz-drop.`
    case drop
    /// Local data: A and AAAA of the block page.
    case sinkhole
}

/// One published RPZ zone: which of the policy's rules it carries and how it is served.
public struct RPZZoneConfig: Sendable, Hashable {
    public var apex: Name
    /// Lists whose categories meet these are published; allow lists become `rpz-passthru.`.
    public var categories: CategorySet
    /// Only these lists (nil: every list with a matching category).
    public var lists: [String]?
    public var excludedLists: [String] = []
    /// A policy node (public profile or tenant) whose verdicts the zone carries: its categories,
    /// inherited lists and its own and its ancestors' entries, in place of the three above.
    public var profile: String? = nil
    public var action: RPZBlockAction = .nxdomain
    public var sinkholeV4: IPv4Address? = nil
    public var sinkholeV6: IPv6Address? = nil
    /// TTL of the policy records (what consumers answer with; BIND caps it at max-policy-ttl).
    public var ttl: UInt32 = 60
    /// Lists marked above this are not published (TLP:RED stays inside).
    public var maxTLP: TLP = .amber
    /// SOA timers: secondaries without NOTIFY poll every `refresh` seconds; `expire` is how long
    /// a secondary keeps blocking when it cannot reach us.
    public var refresh: UInt32 = 300
    public var retry: UInt32 = 60
    public var expire: UInt32 = 2_592_000
    public var minimum: UInt32 = 60
    public var mname = Name.localhost
    public var rname = Name.rootAtLocalhost
    /// Who may transfer the zone (and ask its SOA).
    public var allowTransfer: [CIDR] = RPZZoneConfig.loopback
    /// When not empty, a transfer must be signed with one of these TSIG keys.
    public var requireKeys: [Name] = []
    /// Secondaries told of every change.
    public var notify: [NotifyTarget] = []

    public static let loopback: [CIDR] = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]

    public init(apex: Name, categories: CategorySet, lists: [String]? = nil) {
        self.apex = apex.lowercased()
        self.categories = categories
        self.lists = lists
    }

    /// The default: one zone per category, `<category>.<suffix>`.
    public static func perCategory(suffix: Name) -> [RPZZoneConfig] {
        Category.allCases.compactMap { c in
            guard let apex = try? Name(c.description, origin: suffix) else { return nil }
            return RPZZoneConfig(apex: apex, categories: CategorySet(c))
        }
    }

    public func allowsTransfer(from address: IPAddress) -> Bool { allowTransfer.contains { $0.contains(address) } }
}

/// A secondary to NOTIFY (RFC 1996).
public struct NotifyTarget: Sendable, Hashable, CustomStringConvertible {
    public var host: IPAddress
    public var port: Int
    /// Sign the NOTIFY with this key.
    public var key: Name?
    public init(host: IPAddress, port: Int = 53, key: Name? = nil) {
        self.host = host
        self.port = port
        self.key = key
    }
    public var description: String { host.isV6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension Name {
    static let localhost = try! Name("localhost.")
    static let rootAtLocalhost = try! Name("root.localhost.")
    static let rpzDrop = try! Name("rpz-drop.")
    static let rpzPassthru = try! Name("rpz-passthru.")
    static let wildcardRoot = try! Name("*.")
}

extension IPAddress {
    var isV6: Bool {
        if case .v6 = self { return true }
        return false
    }
}

/// What an owner name of an RPZ zone says.
public enum RPZAction: Sendable, Hashable {
    case nxdomain, nodata, drop, passthru
    case localData([RData])

    /// The RDATA of the records at the owner.
    var rdata: [RData] {
        switch self {
        case .nxdomain: [.cname(.root)]
        case .nodata: [.cname(.wildcardRoot)]
        case .drop: [.cname(.rpzDrop)]
        case .passthru: [.cname(.rpzPassthru)]
        case .localData(let r): r
        }
    }

    /// Which of several block rules on one name wins: the zone's own action first.
    var rank: Int {
        switch self {
        case .passthru: -1
        case .nxdomain: 0
        case .drop: 1
        case .nodata: 2
        case .localData: 3
        }
    }
}

/// What one name of the policy publishes in one zone: records at the name itself and at `*.name`.
struct OwnerState: Hashable, Sendable {
    var atName: RPZAction?
    var below: RPZAction?
    var isEmpty: Bool { atName == nil && below == nil }
}

/// A zone's view of one engine: which rule classes it carries, as block or allow.
struct ZoneView: Sendable {
    static let none: UInt8 = 0
    static let block: UInt8 = 1
    static let allow: UInt8 = 2

    let config: RPZZoneConfig
    let engine: PolicyEngine
    /// By rule class.
    let membership: [UInt8]

    init(config: RPZZoneConfig, engine: PolicyEngine) {
        self.config = config
        self.engine = engine
        let order = TLP.allCases
        let maxRank = order.firstIndex(of: config.maxTLP) ?? 0
        let node = config.profile.flatMap { engine.profileIndex(named: $0) }
        membership = engine.classes.enumerated().map { c, cls in
            if let node {
                let list = engine.snapshot.lists[Int(cls.list)]
                if (order.firstIndex(of: list.tlp) ?? 0) > maxRank { return Self.none }
                switch engine.effect(ofClass: c, profile: node).kind {
                case .block: return Self.block
                case .allow: return Self.allow
                case .audit, .none: return Self.none
                }
            }
            let list = engine.snapshot.lists[Int(cls.list)]
            if list.audit || (order.firstIndex(of: list.tlp) ?? 0) > maxRank { return Self.none }
            if config.excludedLists.contains(list.name) { return Self.none }
            if let lists = config.lists, !lists.contains(list.name) { return Self.none }
            if list.allow || cls.kind == .allow { return Self.allow }
            return list.categories.intersection(config.categories).isEmpty ? Self.none : Self.block
        }
    }

    func carries(_ m: PolicyMatch) -> Bool { membership[Int(m.classID)] != Self.none }

    /// The action of one rule in this zone.
    func action(_ m: PolicyMatch) -> RPZAction {
        if membership[Int(m.classID)] == Self.allow { return .passthru }
        switch engine.ruleClass(of: m).kind {
        case .allow: return .passthru
        case .nodata: return .nodata
        case .drop: return .drop
        case .localData:
            if let records = engine.localData(of: m), !records.isEmpty { return .localData(records.map(\.rdata)) }
            return blockAction
        case .block: return blockAction
        }
    }

    var blockAction: RPZAction {
        switch config.action {
        case .nxdomain: return .nxdomain
        case .nodata: return .nodata
        case .drop: return .drop
        case .sinkhole:
            var r: [RData] = []
            if let v4 = config.sinkholeV4 { r.append(.a(v4)) }
            if let v6 = config.sinkholeV6 { r.append(.aaaa(v6)) }
            return r.isEmpty ? .nxdomain : .localData(r)
        }
    }

    /// Several rules on one name: an allow wins, then the lowest rank.
    static func combine(_ a: RPZAction?, _ b: RPZAction) -> RPZAction {
        guard let a else { return b }
        return b.rank < a.rank ? b : a
    }

    /// The records `rules` (all on one name, in this zone) publish.
    func state(_ rules: [PolicyMatch]) -> OwnerState {
        var s = OwnerState()
        for m in rules where carries(m) {
            let a = action(m)
            let match = engine.ruleClass(of: m).match
            if match.matchesSelf { s.atName = Self.combine(s.atName, a) }
            if match.matchesBelow { s.below = Self.combine(s.below, a) }
        }
        return s
    }

    func state(wire: UnsafeRawBufferPointer) -> OwnerState { state(engine.nameRules(exactly: wire)) }

    /// The owner names: `name.apex` and `*.name.apex`; nil when longer than 255 bytes.
    func owners(_ wire: UnsafeRawBufferPointer) -> (atName: Name, below: Name)? {
        let apex = config.apex.wire
        let n = wire.count - 1 + apex.count
        guard wire.count >= 1, n + 2 <= Name.maxWireLength else { return nil }
        var at = [UInt8]()
        at.reserveCapacity(n)
        at.append(contentsOf: wire[0..<(wire.count - 1)])
        at.append(contentsOf: apex)
        return (Name(uncheckedWire: at), Name(uncheckedWire: [1, 0x2A] + at))
    }

    func records(_ wire: UnsafeRawBufferPointer, _ s: OwnerState) -> [ResourceRecord] {
        guard !s.isEmpty, let (at, below) = owners(wire) else { return [] }
        var out: [ResourceRecord] = []
        if let a = s.atName { for r in a.rdata { out.append(ResourceRecord(name: at, ttl: config.ttl, rdata: r)) } }
        if let b = s.below { for r in b.rdata { out.append(ResourceRecord(name: below, ttl: config.ttl, rdata: r)) } }
        return out
    }

    // MARK: address rules

    /// Every address rule of the zone with its action (rules on one prefix combined).
    func prefixStates() -> [CIDR: RPZAction] {
        var out: [CIDR: RPZAction] = [:]
        engine.forEachPrefixRule { prefix, m in
            guard carries(m) else { return }
            out[prefix] = Self.combine(out[prefix], action(m))
        }
        return out
    }

    func records(_ prefix: CIDR, _ action: RPZAction) -> [ResourceRecord] {
        guard let owner = try? Self.rpzIPOwner(prefix).appending(config.apex) else { return [] }
        return action.rdata.map { ResourceRecord(name: owner, ttl: config.ttl, rdata: $0) }
    }

    /// `<len>.<reversed address>.rpz-ip` (relative): IPv4 octets reversed; IPv6 16-bit words
    /// reversed in hex, the longest run of two or more zero words written `zz`.
    static func rpzIPOwner(_ p: CIDR) -> Name {
        var labels: [String] = [String(p.prefixLength)]
        switch p.address {
        case .v4(let a):
            labels += a.bytes.reversed().map { String($0) }
        case .v6(let a):
            let b = a.bytes
            let words = (0..<8).map { Int(b[2 * $0]) << 8 | Int(b[2 * $0 + 1]) }
            var best = (start: -1, length: 0)
            var i = 0
            while i < 8 {
                if words[i] == 0 {
                    var j = i
                    while j < 8 && words[j] == 0 { j += 1 }
                    if j - i > best.length { best = (i, j - i) }
                    i = j
                } else {
                    i += 1
                }
            }
            var text: [String] = []
            var k = 0
            while k < 8 {
                if best.length >= 2 && k == best.start {
                    text.append("zz")
                    k += best.length
                } else {
                    text.append(String(words[k], radix: 16))
                    k += 1
                }
            }
            labels += text.reversed()
        }
        labels.append("rpz-ip")
        return (try? Name(labels.joined(separator: ".") + ".")) ?? .root
    }
}
