import DNSWire
import Foundation
import Hummingbird
import Policy
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
