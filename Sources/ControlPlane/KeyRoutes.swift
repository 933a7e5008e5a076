import Foundation
import Hummingbird
import Policy
import Storage
import ThreatIntel

/// An API key as the API shows it (never the key itself, only when it is made).
struct KeyView: Encodable {
    var id: Int64
    var name: String
    var prefix: String
    var role: String
    var tenant: String?
    var organisation: String?
    var createdAt: String
    var lastUsed: String?
    var revoked: Bool
    /// From the configuration file: not revocable through the API.
    var configured: Bool
    /// Only in the answer that makes the key.
    var key: String?
}

extension ControlRouter {
    /// `/api/v1/keys`: admins make, list and revoke keys; a tenant's admin only keys bound to its
    /// subtree, with the roles admin, analyst or reader (viewer). Every change is audited.
    func addKeys(_ router: Router<ControlContext>) {
        guard let policy else { return }
        let api = router.group("/api/v1")
        let store = hub.store
        let configured = Set(hub.settings.keys.map(\.hash))
        @Sendable func view(_ k: APIKeyRecord, org: String?, key: String? = nil) -> KeyView {
            let iso = ISO8601DateFormatter()
            return KeyView(
                id: k.id ?? 0, name: k.name, prefix: k.prefix, role: k.role.rawValue, tenant: k.tenant, organisation: org,
                createdAt: iso.string(from: k.createdAt), lastUsed: k.lastUsed.map { iso.string(from: $0) }, revoked: k.revoked,
                configured: configured.contains(k.hash), key: key)
        }
        /// Keys the caller may see: all for a key of the whole service, else those bound to its subtree.
        @Sendable func visible(_ c: IntelCaller, _ k: APIKeyRecord, _ engine: PolicyEngine) -> Bool {
            guard c.tenant != nil else { return true }
            guard let t = k.tenant, let n = engine.profileIndex(named: t) else { return false }
            return Self.sees(c, node: n, engine)
        }
        api.get("/keys") { req, _ in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can list keys") }
            let engine = await policy()
            let orgs = Dictionary(uniqueKeysWithValues: try await store.organisations.all().compactMap { o in o.id.map { ($0, o.name) } })
            let keys = try await store.keys.all().filter { visible(c, $0, engine) }
            return Self.json(.ok, ["keys": keys.map { view($0, org: orgs[$0.orgID]) }])
        }
        api.post("/keys") { req, _ in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can make keys") }
            struct NewKey: Decodable {
                var name: String
                var role: String
                var tenant: String?
            }
            let n: NewKey
            do {
                n = try JSONDecoder().decode(NewKey.self, from: try await body(req))
            } catch {
                throw ControlError(.badRequest, "expected {\"name\": …, \"role\": \"admin\"|\"analyst\"|\"viewer\", \"tenant\": …}")
            }
            guard !n.name.isEmpty, n.name.count <= 64 else { throw ControlError(.badRequest, "name: 1 to 64 characters") }
            guard let role = APIRole(rawValue: n.role == "viewer" ? "reader" : n.role) else {
                throw ControlError(.badRequest, "role: admin, analyst, viewer (reader) or sync")
            }
            let engine = await policy()
            if let own = c.tenant {
                // Only inside the subtree, and never a key of the whole service.
                guard let t = n.tenant else { throw ControlError(.badRequest, "tenant is required (one in the subtree of \(own))") }
                _ = try Self.node(t, caller: c, engine)
                guard role != .sync else { throw ControlError(.forbidden, "a tenant's key cannot make MISP sync keys") }
            } else if let t = n.tenant {
                guard engine.profileIndex(named: t) != nil else { throw ControlError(.badRequest, "tenant: no tenant named '\(t)'") }
            }
            let key = APIKeys.generate()
            let stored = try await store.keys.add(
                APIKeyRecord(name: n.name, hash: APIKeys.hash(key), prefix: String(key.prefix(4)), orgID: c.org.id ?? 0, role: role, tenant: n.tenant))
            try? await store.audit.append(
                AuditRecord(
                    actor: "key:\(c.keyName)", orgID: c.org.id, action: "key.add", target: n.tenant.map { "tenant:\($0)" } ?? "key:\(n.name)",
                    detail: "\(n.name) (\(role.rawValue))"))
            return Self.json(.created, view(stored, org: c.org.name, key: key))
        }
        api.delete("/keys/:id") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin else { throw ControlError(.forbidden, "only an admin key can revoke keys") }
            let engine = await policy()
            guard let id = Int64(try ctx.parameters.require("id")),
                let k = try await store.keys.all().first(where: { $0.id == id && !$0.revoked }), visible(c, k, engine)
            else { throw ControlError(.notFound, "no such key among those this key may see") }
            guard !configured.contains(k.hash) else { throw ControlError(.conflict, "key \(k.name) is defined in the configuration file") }
            try await store.keys.revoke(id: id)
            try? await store.audit.append(
                AuditRecord(
                    actor: "key:\(c.keyName)", orgID: c.org.id, action: "key.revoke", target: k.tenant.map { "tenant:\($0)" } ?? "key:\(k.name)",
                    detail: "\(k.name) (\(k.role.rawValue))"))
            return Self.json(.ok, ["revoked": k.name])
        }
    }
}
