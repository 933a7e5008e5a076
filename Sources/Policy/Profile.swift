import DNSWire

/// How a profile answers a blocked name.
public enum BlockAction: String, Sendable, Codable, CaseIterable {
    case nxdomain, nodata, sinkhole, refused, drop
}

/// A policy node: a public profile or a tenant. A small value over the shared index.
public struct Profile: Sendable, Hashable {
    public var name: String
    /// Categories this profile blocks.
    public var categories: CategorySet
    public var action: BlockAction
    /// Only these lists (by name) apply; nil = every list.
    public var lists: [String]?
    /// Lists that never apply.
    public var excludedLists: [String]

    // MARK: the tenant tree (a public profile is a root with none of these)

    /// The node this one inherits from: its categories, lists, allow lists and blocks. A child
    /// adds to them freely; it can allow what an ancestor blocks only where that ancestor marked
    /// the category or list overridable. `categories` holds the node's own additions.
    public var parent: String? = nil
    /// Lists this node blocks for its subtree whatever their categories.
    public var blockLists: [String] = []
    /// Allow lists this node applies to its subtree (an allow list that no node names applies
    /// to every filtering node, at the root's level).
    public var allowLists: [String] = []
    /// What this node blocks that its descendants may allow.
    public var overridableCategories: CategorySet = []
    public var overridableLists: [String] = []
    /// The node's own entries as configured (they are rules of `tenants.block`/`tenants.allow`).
    public var blockEntries: [String] = []
    public var allowEntries: [String] = []
    /// Text of the block page for this node's clients (inherited when nil).
    public var blockPage: String? = nil
    /// Whether this node's queries are logged (inherited when nil; off at the top).
    public var logQueries: Bool? = nil
    /// Whether this node's queries carry EDNS Client Subnet upstream, the client's address cut
    /// to /24 or /56 (inherited when nil; off at the top).
    public var ecs: Bool? = nil
    /// Client networks that belong to this node (the longest prefix over all nodes wins).
    public var networks: [CIDR] = []
    /// The node's token: DoH path `/dns-query/<token>`, DoT server name `<token>.<dot domain>`.
    public var token: String? = nil

    public init(
        name: String, categories: CategorySet, action: BlockAction = .nxdomain, lists: [String]? = nil, excludedLists: [String] = [],
        parent: String? = nil
    ) {
        self.name = name
        self.categories = categories
        self.action = action
        self.lists = lists
        self.excludedLists = excludedLists
        self.parent = parent
    }

    /// May descendants allow what this node blocks through `list`?
    func overrides(_ list: ListInfo) -> Bool {
        overridableLists.contains(list.name) || !list.categories.intersection(overridableCategories).isEmpty
    }

    /// The five public profiles of DNS4EU.
    public static let builtIn: [Profile] = [
        Profile(name: "unfiltered", categories: []),
        Profile(name: "protective", categories: .threats),
        Profile(name: "protective-child", categories: CategorySet.threats.union(.adult)),
        Profile(name: "protective-ads", categories: CategorySet.threats.union(.ads)),
        Profile(name: "protective-child-ads", categories: CategorySet.threats.union(.adult).union(.ads)),
    ]

    public static let defaultName = "protective"

    /// Does `list` apply to this profile at all?
    func selects(_ list: ListInfo) -> Bool {
        if excludedLists.contains(list.name) { return false }
        if let lists, !lists.contains(list.name) { return false }
        return true
    }
}

/// What the answer to a query should be, per the policy.
public struct PolicyConfig: Sendable, Hashable {
    /// TTL of block answers and of their SOA (negative caching downstream), so that an unblock
    /// reaches downstream caches quickly.
    public var blockTTL: UInt32 = 60
    /// Block page addresses for the sinkhole action (A and AAAA answers).
    public var sinkholeV4: IPv4Address? = IPv4Address(0)
    public var sinkholeV6: IPv6Address? = IPv6Address(bytes: [UInt8](repeating: 0, count: 16))
    public init() {}
}
