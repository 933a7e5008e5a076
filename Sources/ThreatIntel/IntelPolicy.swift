import DNSWire
import Policy
import Storage

/// How active indicators appear in the policy: one list per category (`intel-phishing`, …),
/// TLP:AMBER so that block answers name the indicator id but never its source (the API's
/// explanation does, to those allowed to see it).
public enum IntelLists {
    public static func name(_ category: Category) -> String { "intel-\(category)" }

    public static let all: [ListInfo] = Category.allCases.map {
        ListInfo(name: name($0), categories: CategorySet($0), tlp: .amber, source: "intel", origin: "intel", format: "intel")
    }

    public static var names: [String] { all.map(\.name) }

    /// The category a record is enforced under: its first category Bulwark knows, else custom.
    public static func category(_ names: [String]) -> Category {
        for n in names { if let c = Category(name: n) { return c } }
        return .custom
    }
}

/// One indicator as a policy rule.
public struct IntelPolicyRule: Sendable, Hashable {
    public var value: String
    public var kind: IndicatorKind
    public var category: Category
    public var id: Int64

    public init(value: String, kind: IndicatorKind, category: Category, id: Int64) {
        self.value = value
        self.kind = kind
        self.category = category
        self.id = id
    }

    public init(_ r: IndicatorRecord) {
        self.init(value: r.value, kind: r.kind, category: IntelLists.category(r.categories), id: r.id ?? 0)
    }

    /// The rule for the policy engine: a `domain` blocks its subtree, a `hostname` only itself,
    /// addresses and ranges the answers that contain them. Nil for a value that is not valid.
    public var change: RuleChange? {
        let list = IntelLists.name(category)
        // Rule ids are 32 bits; indicator ids beyond that wrap (explanations then show the low bits).
        let id = UInt32(truncatingIfNeeded: id)
        switch kind {
        case .domain, .hostname:
            guard let n = try? Name(value), !n.isRoot else { return nil }
            return RuleChange(target: .name(n, kind == .domain ? .subtree : .exact), list: list, ruleID: id)
        case .ip:
            guard let a = IPAddress(value) else { return nil }
            let a4 = a.unmapped
            let bits: Int
            if case .v4 = a4 { bits = 32 } else { bits = 128 }
            return RuleChange(target: .prefix(CIDR(address: a4, prefixLength: bits)), list: list, ruleID: id)
        case .cidr:
            guard let c = CIDR(value) else { return nil }
            return RuleChange(target: .prefix(c), list: list, ruleID: id)
        }
    }
}

/// Where accepted indicators go: the in-process resolver's policy (the App wires it to the
/// policy service), later resolver nodes and RPZ zones.
public protocol IntelPolicySink: Sendable {
    /// Applies rule changes through the delta (milliseconds).
    func apply(adding: [IntelPolicyRule], removing: [IntelPolicyRule]) async
    /// Rebuilds the policy with every active indicator (startup, large batches).
    func rebuildAll() async
}
