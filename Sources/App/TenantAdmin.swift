import ControlPlane
import Logging
import Policy
import Storage

/// Tenants made and entries added through the API: stored in the intel database, merged with
/// the configuration file's tenants, validated as one tree by the same rules as the file, and
/// installed as a policy build. One change at a time.
actor TenantAdmin: TenantAdministration {
    nonisolated let configured: Set<String>
    let raw: RawConfig
    let store: any IntelStore
    let policy: PolicyService
    let logger: Logger

    /// `configured`: the policy settings of the configuration file alone.
    init(raw: RawConfig, configured: PolicySettings, store: any IntelStore, policy: PolicyService, logger: Logger) {
        self.raw = raw
        self.configured = Set(configured.profiles[configured.firstTenant...].map(\.name))
        self.store = store
        self.policy = policy
        self.logger = logger
    }

    func update(_ change: @Sendable (inout [TenantSpec], inout [ManagedEntry]) throws -> Void) async throws {
        let before = try await store.tenants.all()
        let entriesBefore = try await store.tenants.entries()
        var specs = before
        var entries = entriesBefore
        try change(&specs, &entries)
        let next = try Self.policySettings(
            raw, configured: await policy.currentSettings, specs, entries, names: configured, installed: entriesBefore)
        // Stored first: what is installed is always what a restart finds.
        let kept = Set(specs.map(\.name))
        for s in before where !kept.contains(s.name) { try await store.tenants.delete(name: s.name) }
        for s in specs where !before.contains(s) { try await store.tenants.put(s, by: "api") }
        for e in entriesBefore where !entries.contains(where: { $0.tenant == e.tenant && $0.name == e.name && $0.action == e.action }) {
            _ = try await store.tenants.removeEntry(tenant: e.tenant, name: e.name, action: e.action)
        }
        for e in entries where !entriesBefore.contains(where: { $0.tenant == e.tenant && $0.name == e.name && $0.action == e.action }) {
            _ = try await store.tenants.addEntry(e)
        }
        await policy.replaceTenants(next)
        logger.info("tenants changed", metadata: ["managed": "\(specs.count)", "entries": "\(entries.count)"])
    }

    /// The policy settings of `raw` with the file's tenants (taken back from `configured`'s
    /// profiles, those named in `names` or all), then the stored ones, and the stored entries
    /// added to their tenants' `block:`/`allow:`. Throws what the file would.
    static func policySettings(
        _ raw: RawConfig, configured: PolicySettings, _ specs: [TenantSpec], _ entries: [ManagedEntry], names: Set<String>? = nil,
        installed: [ManagedEntry] = []
    ) throws -> PolicySettings {
        var r = raw
        var tenants = configured.profiles[configured.firstTenant...].filter { names?.contains($0.name) ?? true }.map(RawTenant.init(profile:))
        // Entries added through the API (those in force, `installed`, and the new ones) come
        // from the store, not from the profiles.
        let added = Set((installed + entries).map { "\($0.tenant)\u{0}\($0.action)\u{0}\($0.name)" })
        for i in tenants.indices {
            let n = tenants[i].name ?? ""
            tenants[i].block = tenants[i].block?.filter { !added.contains("\(n)\u{0}block\u{0}\($0)") }
            tenants[i].allow = tenants[i].allow?.filter { !added.contains("\(n)\u{0}allow\u{0}\($0)") }
        }
        for s in specs {
            var t = RawTenant()
            t.name = s.name
            t.parent = s.parent
            t.categories = s.categories
            t.overridable = s.overridable
            t.blockLists = s.blockLists
            t.allowLists = s.allowLists
            t.action = s.action
            t.blockPage = s.blockPage
            t.logQueries = s.logQueries
            t.networks = s.networks
            t.token = s.token
            tenants.append(t)
        }
        for e in entries {
            guard let i = tenants.firstIndex(where: { $0.name == e.tenant }) else {
                throw AppError(.config, "an entry of tenant '\(e.tenant)', which does not exist")
            }
            if e.action == "allow" {
                tenants[i].allow = (tenants[i].allow ?? []) + [e.name]
            } else {
                tenants[i].block = (tenants[i].block ?? []) + [e.name]
            }
        }
        r.tenants = tenants
        return try PolicySettings.make(r).0
    }
}

extension RawTenant {
    /// A file tenant as written, from its profile (what it inherited is written out: the same
    /// tree, since the file's tenants do not change while the server runs).
    init(profile p: Profile) {
        self.init()
        name = p.name
        parent = p.parent
        categories = p.categories.categories.map(\.description)
        overridable = p.overridableCategories.categories.map(\.description) + p.overridableLists
        blockLists = p.blockLists
        allowLists = p.allowLists
        block = p.blockEntries
        allow = p.allowEntries
        action = p.action.rawValue
        blockPage = p.blockPage
        logQueries = p.logQueries
        networks = p.networks.map(\.description)
        token = p.token
    }
}
