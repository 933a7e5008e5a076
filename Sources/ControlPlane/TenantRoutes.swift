import DNSWire
import Foundation
import Hummingbird
import Policy
import Storage
import ThreatIntel

/// A tenant (or public profile) as the API shows it: what it sets itself and what it inherits.
struct TenantView: Encodable {
    var name: String
    var parent: String?
    /// From the root down to this tenant.
    var path: [String]
    var depth: Int
    var publicProfile: Bool
    /// Categories the tenant adds, and all it blocks with its ancestors'.
    var categories: [String]
    var effectiveCategories: [String]
    var overridable: [String]
    var blockLists: [String]
    var allowLists: [String]
    /// Lists given to the tenant (`tenant:` in `policy.sources`), and its own entries.
    var ownLists: [String]
    var block: [String]
    var allow: [String]
    var action: String
    var blockPage: String?
    var logQueries: Bool
    var networks: [String]
    /// Shown to admin keys only.
    var token: String?
    var children: [String]
}

/// A tenant's statistics as the API shows them.
struct TenantStatsView: Encodable {
    struct Interval: Encodable {
        var time: String
        var seconds: Double
        var queries: Int
        var blocked: Int
        var byCategory: [String: Int]
    }
    struct Totals: Encodable {
        var queries: Int
        var blocked: Int
        var byCategory: [String: Int]
    }
    struct Blocked: Encodable {
        var name: String
        var count: Int
        var clients: Int
    }
    var tenant: String
    var since: String
    var until: String
    /// Distinct clients a blocked name needs to be listed (1 for service-wide keys).
    var minClients: Int
    var totals: Totals
    var series: [Interval]
    var topBlocked: [Blocked]
}

extension ControlRouter {
    /// `/api/v1/tenants…`: the tree, one tenant, and explanations under a tenant's policy. A key
    /// bound to a tenant sees that tenant and its descendants; anything else is "not found",
    /// with nothing of it in the body.
    func addTenants(_ router: Router<ControlContext>) {
        guard let policy else { return }
        let api = router.group("/api/v1")
        api.get("/tenants") { req, _ in
            let c = try await caller(req)
            let engine = await policy()
            let visible = engine.profiles.indices.filter { Self.sees(c, node: $0, engine) }
            return Self.json(.ok, ["tenants": visible.map { Self.view($0, engine, caller: c) }])
        }
        api.get("/tenants/:tenant") { req, ctx in
            let c = try await caller(req)
            let engine = await policy()
            let node = try Self.node(try ctx.parameters.require("tenant"), caller: c, engine)
            return Self.json(.ok, Self.view(node, engine, caller: c))
        }
        addTenantStats(api, policy: policy)
        api.get("/tenants/:tenant/explain") { req, ctx in
            let c = try await caller(req)
            let engine = await policy()
            let node = try Self.node(try ctx.parameters.require("tenant"), caller: c, engine)
            guard let q = req.uri.queryParameters.get("name"), !q.isEmpty else { throw ControlError(.badRequest, "name is required") }
            if let ip = IPAddress(String(q)) { return Self.json(.ok, engine.explain(address: ip, profile: node)) }
            guard let name = try? Name(String(q)) else { throw ControlError(.badRequest, "'\(q)' is not a domain name or an address") }
            return Self.json(.ok, engine.explain(name: name, profile: node))
        }
    }

    /// `GET /api/v1/tenants/{tenant}/stats?since=&until=`: the tenant's intervals, totals and
    /// most blocked names (for a tenant's key only those asked by enough distinct clients).
    func addTenantStats(_ api: RouterGroup<ControlContext>, policy: @escaping @Sendable () async -> PolicyEngine) {
        let store = hub.store
        let minClients = statsMinClients
        api.get("/tenants/:tenant/stats") { req, ctx in
            let c = try await caller(req)
            let engine = await policy()
            let node = try Self.node(try ctx.parameters.require("tenant"), caller: c, engine)
            let q = req.uri.queryParameters
            let now = Date()
            let until = try q.get("until").map { try Self.time(String($0), "until") } ?? now
            let since = try q.get("since").map { try Self.time(String($0), "since") } ?? until.addingTimeInterval(-86400)
            guard since < until else { throw ControlError(.badRequest, "since must be before until") }
            let name = engine.profiles[node].name
            let k = c.tenant == nil ? 1 : minClients
            let series = try await store.tenantStats.series(tenant: name, from: since, to: until)
            let top = try await store.tenantStats.topBlocked(tenant: name, from: since, to: until, minClients: k, limit: 20)
            var byCategory: [String: Int] = [:]
            for s in series { for (cat, n) in s.byCategory { byCategory[cat, default: 0] += n } }
            let iso = ISO8601DateFormatter()
            return Self.json(
                .ok,
                TenantStatsView(
                    tenant: name, since: iso.string(from: since), until: iso.string(from: until), minClients: k,
                    totals: .init(queries: series.reduce(0) { $0 + $1.queries }, blocked: series.reduce(0) { $0 + $1.blocked }, byCategory: byCategory),
                    series: series.map {
                        .init(time: iso.string(from: $0.bucket), seconds: $0.seconds, queries: $0.queries, blocked: $0.blocked, byCategory: $0.byCategory)
                    },
                    topBlocked: top.map { .init(name: $0.name, count: $0.count, clients: $0.clients) }))
        }
    }

    /// Epoch seconds or ISO 8601.
    static func time(_ text: String, _ what: String) throws -> Date {
        if let s = Double(text), s.isFinite { return Date(timeIntervalSince1970: s) }
        if let d = ISO8601DateFormatter().date(from: text) { return d }
        throw ControlError(.badRequest, "\(what): epoch seconds or an ISO 8601 time")
    }

    /// Does the caller see `node`? A key of the whole service sees all; a tenant's key its subtree.
    static func sees(_ c: IntelCaller, node: Int, _ engine: PolicyEngine) -> Bool {
        guard let t = c.tenant else { return true }
        guard let own = engine.profileIndex(named: t) else { return false }
        return engine.tree.isAncestor(own, of: node)
    }

    static func node(_ name: String, caller c: IntelCaller, _ engine: PolicyEngine) throws -> Int {
        guard let n = engine.profileIndex(named: name), sees(c, node: n, engine) else {
            // The same answer whether the tenant does not exist or is not this key's to see.
            throw ControlError(.notFound, "no such tenant among those this key may see")
        }
        return n
    }

    static func view(_ n: Int, _ engine: PolicyEngine, caller c: IntelCaller) -> TenantView {
        let p = engine.profiles[n]
        let tree = engine.tree
        var path: [String] = []
        var i = n
        while i >= 0 {
            path.append(engine.profiles[i].name)
            i = Int(tree.parent[i])
        }
        let children = engine.profiles.indices.filter { Int(tree.parent[$0]) == n }.map { engine.profiles[$0].name }
        return TenantView(
            name: p.name, parent: tree.parent[n] >= 0 ? engine.profiles[Int(tree.parent[n])].name : nil, path: path.reversed(),
            depth: Int(tree.depth[n]), publicProfile: Profile.builtIn.contains { $0.name == p.name } && p.parent == nil,
            categories: p.categories.categories.map(\.description), effectiveCategories: tree.categories[n].categories.map(\.description),
            overridable: p.overridableCategories.categories.map(\.description) + p.overridableLists, blockLists: p.blockLists, allowLists: p.allowLists,
            ownLists: engine.snapshot.lists.filter { $0.owner == p.name }.map(\.name), block: p.blockEntries, allow: p.allowEntries, action: p.action.rawValue, blockPage: p.blockPage,
            logQueries: p.logQueries ?? false, networks: p.networks.map(\.description), token: c.role == .admin ? p.token : nil,
            children: children.filter { sees(c, node: engine.profileIndex(named: $0)!, engine) })
    }
}
