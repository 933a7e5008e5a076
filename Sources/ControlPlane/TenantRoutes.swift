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

/// What the API needs to change tenants: the composition root validates a new set of managed
/// tenants and entries together with the configured ones, stores it and installs the policy.
public protocol TenantAdministration: Sendable {
    /// Tenants of the configuration file (read only through the API).
    var configured: Set<String> { get }
    /// Applies `change` to the managed tenants and entries, one change at a time; throws (and
    /// changes nothing) when the result is not a valid tree. Returns once the policy is built.
    func update(_ change: @Sendable (inout [TenantSpec], inout [ManagedEntry]) throws -> Void) async throws
}

/// A tenant as the API takes it (POST creates, PATCH changes the fields given).
struct TenantBody: Decodable {
    var name: String?
    var parent: String?
    var categories: [String]?
    var overridable: [String]?
    var blockLists: [String]?
    var allowLists: [String]?
    var action: String?
    var blockPage: String?
    var logQueries: Bool?
    var networks: [String]?
    var token: String?

    func apply(to s: inout TenantSpec) {
        if let parent { s.parent = parent }
        if let categories { s.categories = categories }
        if let overridable { s.overridable = overridable }
        if let blockLists { s.blockLists = blockLists }
        if let allowLists { s.allowLists = allowLists }
        if let action { s.action = action }
        if let blockPage { s.blockPage = blockPage }
        if let logQueries { s.logQueries = logQueries }
        if let networks { s.networks = networks }
        if let token { s.token = token }
    }
}

/// A tenant's logged queries as the API shows them.
struct QueryLogView: Encodable {
    struct Entry: Encodable {
        var time: String
        var name: String
        var type: Int
        var rcode: Int
        var blocked: Bool
        var transport: String
        /// A keyed hash of the address (the key changes every day).
        var client: String
    }
    var tenant: String
    /// Whether the tenant logs its queries now.
    var logging: Bool
    var entries: [Entry]
}

/// One audit log entry as the API shows it.
struct AuditView: Encodable {
    var time: String
    var actor: String
    var action: String
    var target: String?
    var detail: String?
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
            // Children once for all (not a scan of every node per node).
            var children: [Int: [Int]] = [:]
            for n in engine.profiles.indices where engine.tree.parent[n] >= 0 { children[Int(engine.tree.parent[n]), default: []].append(n) }
            let owned = Dictionary(grouping: engine.snapshot.lists.compactMap { l in l.owner.map { ($0, l.name) } }, by: \.0).mapValues { $0.map(\.1) }
            return Self.json(.ok, ["tenants": visible.map { Self.view($0, engine, caller: c, children: children[$0] ?? [], owned: owned) }])
        }
        api.get("/tenants/:tenant") { req, ctx in
            let c = try await caller(req)
            let engine = await policy()
            let node = try Self.node(try ctx.parameters.require("tenant"), caller: c, engine)
            return Self.json(.ok, Self.view(node, engine, caller: c))
        }
        addTenantStats(api, policy: policy)
        addTenantChanges(api, policy: policy)
        let store = hub.store
        api.get("/tenants/:tenant/queries") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin || c.role == .analyst else { throw ControlError(.forbidden, "only an admin or analyst key can read the query log") }
            let engine = await policy()
            let node = try Self.node(try ctx.parameters.require("tenant"), caller: c, engine)
            let q = req.uri.queryParameters
            let since = try q.get("since").map { try Self.time(String($0), "since") } ?? Date().addingTimeInterval(-3600)
            let limit = try Self.limit(req)
            let name = engine.profiles[node].name
            let rows = try await store.queryLog.recent(tenant: name, since: since, limit: limit)
            let iso = ISO8601DateFormatter()
            iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return Self.json(
                .ok,
                QueryLogView(
                    tenant: name, logging: engine.tree.logs[node],
                    entries: rows.map {
                        .init(
                            time: iso.string(from: $0.time), name: $0.name, type: $0.type, rcode: $0.rcode, blocked: $0.blocked, transport: $0.transport,
                            client: $0.client)
                    }))
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

    /// Creating, changing and deleting tenants, and their entries: an admin key in its subtree
    /// (not its own tenant's place in the tree), an analyst key the entries; every change in
    /// the audit log.
    func addTenantChanges(_ api: RouterGroup<ControlContext>, policy: @escaping @Sendable () async -> PolicyEngine) {
        let admin = tenantAdmin
        let store = hub.store
        @Sendable func audit(_ c: IntelCaller, _ action: String, _ tenant: String, _ detail: String) async {
            try? await store.audit.append(AuditRecord(actor: "key:\(c.keyName)", orgID: c.org.id, action: action, target: "tenant:\(tenant)", detail: detail))
        }
        @Sendable func administration() throws -> any TenantAdministration {
            guard let admin else { throw ControlError(.forbidden, "tenants cannot be changed on this server") }
            return admin
        }
        @Sendable func decode(_ data: Data) throws -> TenantBody {
            do {
                return try JSONDecoder().decode(TenantBody.self, from: data)
            } catch {
                throw ControlError(.badRequest, "expected a tenant object ({\"name\": …, \"parent\": …, \"categories\": […], …}): \(error)")
            }
        }
        @Sendable func apply(_ admin: any TenantAdministration, _ change: @escaping @Sendable (inout [TenantSpec], inout [ManagedEntry]) throws -> Void) async throws {
            do {
                try await admin.update(change)
            } catch let e as ControlError {
                throw e
            } catch {
                throw ControlError(.badRequest, "\(error)")
            }
        }
        api.post("/tenants") { req, _ in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can create tenants") }
            let admin = try administration()
            let data = try await body(req)
            let b = try decode(data)
            guard let name = b.name, !name.isEmpty else { throw ControlError(.badRequest, "name is required") }
            let engine = await policy()
            if let t = c.tenant {
                // Under the key's own subtree only.
                guard let parent = b.parent else { throw ControlError(.badRequest, "parent is required (a tenant in the subtree of \(t))") }
                _ = try Self.node(parent, caller: c, engine)
            } else if let parent = b.parent, engine.profileIndex(named: parent) == nil {
                throw ControlError(.badRequest, "parent: no tenant or profile named '\(parent)'")
            }
            var made = TenantSpec(name: name)
            b.apply(to: &made)
            let spec = made
            try await apply(admin) { specs, _ in
                guard !specs.contains(where: { $0.name == name }) else { throw ControlError(.conflict, "a tenant named '\(name)' exists") }
                specs.append(spec)
            }
            await audit(c, "tenant.create", name, String(decoding: data, as: UTF8.self))
            let after = await policy()
            guard let n = after.profileIndex(named: name) else { throw ControlError(.internalServerError, "the tenant was stored but is not in the policy yet") }
            return Self.json(.created, Self.view(n, after, caller: c))
        }
        api.patch("/tenants/:tenant") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can change tenants") }
            let admin = try administration()
            let engine = await policy()
            let name = try ctx.parameters.require("tenant")
            _ = try Self.node(name, caller: c, engine)
            guard !admin.configured.contains(name) else { throw ControlError(.conflict, "tenant \(name) is defined in the configuration file") }
            let data = try await body(req)
            let b = try decode(data)
            if b.name != nil && b.name != name { throw ControlError(.badRequest, "a tenant cannot be renamed") }
            if let parent = b.parent {
                guard name != c.tenant else { throw ControlError(.forbidden, "a key cannot move its own tenant") }
                _ = try Self.node(parent, caller: c, engine)
            }
            try await apply(admin) { specs, _ in
                guard let i = specs.firstIndex(where: { $0.name == name }) else { throw ControlError(.notFound, "no such tenant among those this key may see") }
                b.apply(to: &specs[i])
            }
            await audit(c, "tenant.update", name, String(decoding: data, as: UTF8.self))
            let after = await policy()
            guard let n = after.profileIndex(named: name) else { throw ControlError(.internalServerError, "the tenant is not in the policy") }
            return Self.json(.ok, Self.view(n, after, caller: c))
        }
        api.delete("/tenants/:tenant") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can delete tenants") }
            let admin = try administration()
            let engine = await policy()
            let name = try ctx.parameters.require("tenant")
            let n = try Self.node(name, caller: c, engine)
            guard name != c.tenant else { throw ControlError(.forbidden, "a key cannot delete its own tenant") }
            guard !admin.configured.contains(name) else { throw ControlError(.conflict, "tenant \(name) is defined in the configuration file") }
            guard !engine.profiles.indices.contains(where: { Int(engine.tree.parent[$0]) == n }) else {
                throw ControlError(.conflict, "tenant \(name) has tenants below it: delete or move them first")
            }
            try await apply(admin) { specs, entries in
                specs.removeAll { $0.name == name }
                entries.removeAll { $0.tenant == name }
            }
            await audit(c, "tenant.delete", name, "")
            return Self.json(.ok, ["deleted": name])
        }
        api.post("/tenants/:tenant/entries") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin || c.role == .analyst else { throw ControlError(.forbidden, "only an admin or analyst key can add entries") }
            let admin = try administration()
            let engine = await policy()
            let tenant = try ctx.parameters.require("tenant")
            let node = try Self.node(tenant, caller: c, engine)
            struct Entry: Decodable {
                var name: String
                var action: String?
            }
            let e: Entry
            do {
                e = try JSONDecoder().decode(Entry.self, from: try await body(req))
            } catch {
                throw ControlError(.badRequest, "expected {\"name\": …, \"action\": \"block\" or \"allow\"}")
            }
            let action = e.action ?? "block"
            guard action == "block" || action == "allow" else { throw ControlError(.badRequest, "action: block or allow") }
            let bare = e.name.hasPrefix("*.") ? String(e.name.dropFirst(2)) : e.name
            guard !bare.isEmpty, (try? Name(bare)) != nil else { throw ControlError(.badRequest, "'\(e.name)' is not a domain name") }
            let entry = ManagedEntry(tenant: tenant, name: e.name.lowercased(), action: action, createdBy: "key:\(c.keyName)")
            let p = engine.profiles[node]
            if (action == "block" ? p.blockEntries : p.allowEntries).contains(entry.name) {
                throw ControlError(.conflict, "\(entry.name) is already a \(action) entry of \(tenant)")
            }
            try await apply(admin) { _, entries in
                guard !entries.contains(where: { $0.tenant == tenant && $0.name == entry.name && $0.action == action }) else {
                    throw ControlError(.conflict, "\(entry.name) is already a \(action) entry of \(tenant)")
                }
                entries.append(entry)
            }
            await audit(c, "tenant.entry.add", tenant, "\(action) \(entry.name)")
            return Self.json(.created, ["tenant": tenant, "name": entry.name, "action": action])
        }
        api.delete("/tenants/:tenant/entries") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin || c.role == .analyst else { throw ControlError(.forbidden, "only an admin or analyst key can remove entries") }
            let admin = try administration()
            let engine = await policy()
            let tenant = try ctx.parameters.require("tenant")
            _ = try Self.node(tenant, caller: c, engine)
            guard let name = req.uri.queryParameters.get("name").map({ String($0).lowercased() }) else { throw ControlError(.badRequest, "name is required") }
            let action = req.uri.queryParameters.get("action").map { String($0) } ?? "block"
            try await apply(admin) { _, entries in
                guard let i = entries.firstIndex(where: { $0.tenant == tenant && $0.name == name && $0.action == action }) else {
                    throw ControlError(.notFound, "\(name) is not a \(action) entry added to \(tenant) through the API")
                }
                entries.remove(at: i)
            }
            await audit(c, "tenant.entry.remove", tenant, "\(action) \(name)")
            return Self.json(.ok, ["tenant": tenant, "name": name, "action": action, "removed": "true"])
        }
        api.get("/audit") { req, _ in
            let c = try await caller(req)
            let engine = await policy()
            let limit = try Self.limit(req)
            let all = try await store.audit.recent(limit: c.tenant == nil ? limit : 10_000, orgID: nil)
            // A tenant's key: the changes to tenants of its subtree.
            let visible = all.filter { r in
                guard c.tenant != nil else { return true }
                guard let t = r.target, t.hasPrefix("tenant:"), let n = engine.profileIndex(named: String(t.dropFirst(7))) else { return false }
                return Self.sees(c, node: n, engine)
            }.prefix(limit)
            let iso = ISO8601DateFormatter()
            return Self.json(
                .ok,
                [
                    "entries": visible.map {
                        AuditView(time: iso.string(from: $0.time), actor: $0.actor, action: $0.action, target: $0.target, detail: $0.detail)
                    }
                ])
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

    static func view(_ n: Int, _ engine: PolicyEngine, caller c: IntelCaller, children: [Int]? = nil, owned: [String: [String]]? = nil) -> TenantView {
        let p = engine.profiles[n]
        let tree = engine.tree
        var path: [String] = []
        var i = n
        while i >= 0 {
            path.append(engine.profiles[i].name)
            i = Int(tree.parent[i])
        }
        let kids = children ?? engine.profiles.indices.filter { Int(tree.parent[$0]) == n }
        return TenantView(
            name: p.name, parent: tree.parent[n] >= 0 ? engine.profiles[Int(tree.parent[n])].name : nil, path: path.reversed(),
            depth: Int(tree.depth[n]), publicProfile: Profile.builtIn.contains { $0.name == p.name } && p.parent == nil,
            categories: p.categories.categories.map(\.description), effectiveCategories: tree.categories[n].categories.map(\.description),
            overridable: p.overridableCategories.categories.map(\.description) + p.overridableLists, blockLists: p.blockLists, allowLists: p.allowLists,
            ownLists: owned.map { $0[p.name] ?? [] } ?? engine.snapshot.lists.filter { $0.owner == p.name }.map(\.name), block: p.blockEntries, allow: p.allowEntries, action: p.action.rawValue, blockPage: p.blockPage,
            logQueries: p.logQueries ?? false, networks: p.networks.map(\.description), token: c.role == .admin ? p.token : nil,
            children: kids.filter { sees(c, node: $0, engine) }.map { engine.profiles[$0].name })
    }
}
