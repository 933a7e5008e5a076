import DNSWire
import NIOCore
import Policy
import RPZ
import ThreatIntel

/// Where a list comes from.
public enum SourceLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case url(String)
    /// Entries written in the config itself: every tenant's `block:` (or `allow:`) entries, in
    /// one list, each group owned by its tenant.
    case entries([OwnedEntries])

    public var description: String {
        switch self {
        case .file(let p): p
        case .url(let u): u
        case .entries: "tenants"
        }
    }

    /// Fetched over HTTP(S).
    public var isURL: Bool {
        if case .url = self { true } else { false }
    }
}

/// A tenant's own entries: names (a subtree each; `*.name` for below only).
public struct OwnedEntries: Sendable, Equatable {
    public var owner: String
    public var names: [String]
}

/// A validated policy source.
public struct SourceSpec: Sendable, Equatable {
    public var info: ListInfo
    public var location: SourceLocation
    public var format: ListFormat
    /// Seconds between fetches of a URL (files are watched for changes).
    public var refresh: Int

    public var name: String { info.name }
}

/// Validated policy settings.
public struct PolicySettings: Sendable {
    public var sources: [SourceSpec] = []
    public var profiles: [Profile] = Profile.builtIn
    public var defaultProfile: Int = 1
    public var config = PolicyConfig()
    /// TSIG keys for `axfr://` sources (from `rpz.keys`).
    public var transferKeys: [TSIGKey] = []
    /// How often file sources are checked for changes.
    public var fileCheck: TimeAmount = .seconds(2)
    /// Listeners that answer known tenants only (`policy.tenant-listen`).
    public var tenantListen: [SocketAddress] = []
    /// The tenants (after the public profiles in `profiles`).
    public var tenantCount: Int { profiles.count - firstTenant }
    public var firstTenant: Int = Profile.builtIn.count

    /// Every tenant's own `block:` and `allow:` entries (each owned by its tenant).
    public static let tenantBlock = ListInfo(
        name: "tenants.block", categories: CategorySet(.custom), source: "tenant", origin: "tenants", format: "entries")
    public static let tenantAllow = ListInfo(name: "tenants.allow", categories: [], allow: true, source: "tenant", origin: "tenants", format: "entries")

    /// Lists every policy has, for rules added by the API or CLI (delta changes).
    public static let localBlock = ListInfo(name: "local-block", categories: CategorySet(.custom), source: "local", origin: "local")
    public static let localAllow = ListInfo(name: "local-allow", categories: [], allow: true, source: "local", origin: "local")

    static let formats = ListFormat.allCases.map(\.rawValue).joined(separator: ", ")
    static let categoryNames = Category.allCases.map(\.description).joined(separator: ", ")

    /// Validates the policy part of `raw`; returns the settings and the extra listeners
    /// (address, profile index) that profiles bind.
    static func make(_ raw: RawConfig) throws -> (PolicySettings, [(SocketAddress, Int)]) {
        var p = PolicySettings()
        if let v = raw.blockTTL {
            guard (0...86400).contains(v) else { throw AppError(.config, "policy.block-ttl: 0 to 86400 seconds") }
            p.config.blockTTL = UInt32(v)
        }
        if let v = raw.sinkholeIPv4 {
            if v == "off" || v.isEmpty {
                p.config.sinkholeV4 = nil
            } else {
                guard let a = IPv4Address(v) else { throw AppError(.config, "policy.sinkhole.ipv4: '\(v)' is not an IPv4 address") }
                p.config.sinkholeV4 = a
            }
        }
        if let v = raw.sinkholeIPv6 {
            if v == "off" || v.isEmpty {
                p.config.sinkholeV6 = nil
            } else {
                guard let a = IPv6Address(v) else { throw AppError(.config, "policy.sinkhole.ipv6: '\(v)' is not an IPv6 address") }
                p.config.sinkholeV6 = a
            }
        }
        if let v = raw.policyFileCheckMs {
            guard (100...3_600_000).contains(v) else { throw AppError(.config, "policy.file-check-ms: 100 to 3600000") }
            p.fileCheck = .milliseconds(Int64(v))
        }
        let defaultRefresh = raw.policyRefresh ?? 3600
        guard (10...604_800).contains(defaultRefresh) else { throw AppError(.config, "policy.refresh: 10 to 604800 seconds") }

        var names: Set<String> = Set([localBlock.name, localAllow.name] + IntelLists.names)
        for (i, r) in (raw.sources ?? []).enumerated() {
            let at = "policy.sources[\(i)]"
            guard let name = r.name, !name.isEmpty else { throw AppError(.config, "\(at): name is required") }
            let where_ = "\(at) (\(name))"
            guard name.utf8.allSatisfy({ $0.isListNameByte }), name.utf8.count <= 64 else {
                throw AppError(.config, "\(where_): name: letters, digits, '.', '_' and '-' only (at most 64)")
            }
            guard names.insert(name).inserted else { throw AppError(.config, "\(where_): name is used twice (or reserved)") }
            let location: SourceLocation
            switch (r.path, r.url) {
            case (let path?, nil): location = .file(path)
            case (nil, let url?):
                if url.hasPrefix("file://") {
                    location = .file(String(url.dropFirst(7)))
                } else if url.hasPrefix("axfr://") {
                    // Following another RPZ primary (zone transfers, NOTIFY).
                    guard TransferSource(url) != nil else {
                        throw AppError(.config, "\(where_): url: axfr://ADDR:PORT/ZONE[?key=NAME] expected")
                    }
                    location = .url(url)
                } else {
                    guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                        throw AppError(.config, "\(where_): url: http://, https://, axfr:// or file:// only")
                    }
                    location = .url(url)
                }
            default: throw AppError(.config, "\(where_): give exactly one of path and url")
            }
            let isTransfer = location.description.hasPrefix("axfr://")
            guard let f = r.format ?? (isTransfer ? "rpz" : Self.guessFormat(location.description)), let format = ListFormat(rawValue: f) else {
                throw AppError(.config, "\(where_): format: one of \(formats)")
            }
            let allow = r.allow ?? (format == .warninglist)
            var categories = CategorySet()
            for c in r.categories ?? [] {
                guard let cat = Category(name: c) else { throw AppError(.config, "\(where_): unknown category '\(c)' (known: \(categoryNames))") }
                categories.insert(CategorySet(cat))
            }
            if !allow && categories.isEmpty {
                throw AppError(.config, "\(where_): categories: at least one of \(categoryNames) for a block list")
            }
            var tlp = TLP.clear
            if let t = r.tlp {
                guard let v = TLP(name: t) else { throw AppError(.config, "\(where_): tlp: clear, green, amber or red") }
                tlp = v
            }
            let refresh = r.refresh ?? defaultRefresh
            guard (10...604_800).contains(refresh) else { throw AppError(.config, "\(where_): refresh: 10 to 604800 seconds") }
            var info = ListInfo(
                name: name, categories: categories, allow: allow, audit: r.audit ?? false, tlp: tlp, source: r.source ?? name,
                origin: location.description, format: format.rawValue)
            if isTransfer && format != .rpz { throw AppError(.config, "\(where_): an axfr:// source is an RPZ zone (format: rpz)") }
            if let t = r.tenant {
                guard (raw.tenants ?? []).contains(where: { $0.name == t }) else { throw AppError(.config, "\(where_): tenant: no tenant named '\(t)'") }
            }
            info.owner = r.tenant
            p.sources.append(SourceSpec(info: info, location: location, format: format, refresh: refresh))
        }

        var listeners: [(SocketAddress, Int)] = []
        for (i, r) in (raw.profiles ?? []).enumerated() {
            let at = "policy.profiles[\(i)]"
            guard let name = r.name, !name.isEmpty else { throw AppError(.config, "\(at): name is required") }
            let where_ = "\(at) (\(name))"
            var index = p.profiles.firstIndex { $0.name == name }
            if index == nil {
                guard r.categories != nil else {
                    throw AppError(.config, "\(where_): a new profile needs categories (built-in: \(Profile.builtIn.map(\.name).joined(separator: ", ")))")
                }
                p.profiles.append(Profile(name: name, categories: []))
                index = p.profiles.count - 1
            }
            var profile = p.profiles[index!]
            if let cats = r.categories { profile.categories = try parseCategories(cats, at: "\(where_).categories") }
            if let a = r.action {
                guard let action = BlockAction(rawValue: a) else {
                    throw AppError(.config, "\(where_): action: \(BlockAction.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                profile.action = action
            }
            for l in (r.lists ?? []) + (r.excludeLists ?? []) where !names.contains(l) {
                throw AppError(.config, "\(where_): no source named '\(l)'")
            }
            // The reserved lists (local rules, threat intel by category) stay in every profile;
            // categories decide which of the intel lists apply.
            if let l = r.lists { profile.lists = Array(Set(l + [localBlock.name, localAllow.name] + IntelLists.names)) }
            if let l = r.excludeLists { profile.excludedLists = l }
            if let e = r.ecs { profile.ecs = e }
            p.profiles[index!] = profile
            for a in r.listen ?? [] {
                listeners.append((try Settings.parseAddress(a, what: "\(where_).listen"), index!))
            }
        }
        p.firstTenant = p.profiles.count
        // A public profile is named by its name as a tenant is by its token: the DoH path
        // `/dns-query/<profile>` and the DoT server name `<profile>.<dot.tenant-domain>`.
        for i in p.profiles.indices where isToken(p.profiles[i].name) { p.profiles[i].token = p.profiles[i].name }
        try addTenants(raw, to: &p, names: &names)
        p.tenantListen = try (raw.tenantListen ?? []).map { try Settings.parseAddress($0, what: "policy.tenant-listen") }
        let def = raw.defaultProfile ?? Profile.defaultName
        guard let d = p.profiles.firstIndex(where: { $0.name == def }) else {
            throw AppError(.config, "policy.default-profile: no profile named '\(def)' (have: \(p.profiles.map(\.name).joined(separator: ", ")))")
        }
        p.defaultProfile = d
        return (p, listeners)
    }

    /// 1 to 63 of a-z, 0-9 and '-': a DNS label and a URL path segment.
    static func isToken(_ s: String) -> Bool {
        (1...63).contains(s.utf8.count) && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    static func hostBitsZero(_ c: CIDR) -> Bool {
        for (i, b) in c.address.bytes.enumerated() {
            let keep = min(8, max(0, c.prefixLength - i * 8))
            if b & ~UInt8(truncatingIfNeeded: 0xFF00 >> keep) != 0 { return false }
        }
        return true
    }

    static func parseCategories(_ list: [String], at path: String) throws -> CategorySet {
        var set = CategorySet()
        for c in list {
            if c == "threats" {
                set.formUnion(.threats)
                continue
            }
            guard let cat = Category(name: c) else { throw AppError(.config, "\(path): unknown category '\(c)' (known: threats, \(categoryNames))") }
            set.insert(CategorySet(cat))
        }
        return set
    }

    /// `tenants:`: the tree, each node a `Profile` after the public ones. What a tenant does not
    /// set (action, block page, logging, the root's list selection) it inherits.
    static func addTenants(_ raw: RawConfig, to p: inout PolicySettings, names: inout Set<String>) throws {
        let tenants = raw.tenants ?? []
        guard tenants.count <= 1_000_000 else { throw AppError(.config, "tenants: at most 1,000,000") }
        var index: [String: Int] = [:]
        for (i, t) in p.profiles.enumerated() { index[t.name] = i }
        let sourceNames = Dictionary(p.sources.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var tokens: [String: String] = [:]
        for profile in p.profiles { if let t = profile.token { tokens[t] = profile.name } }
        var networks: [CIDR: String] = [:]
        var pending: [(Int, RawTenant)] = []
        var ownBlock: [OwnedEntries] = []
        var ownAllow: [OwnedEntries] = []
        for (i, r) in tenants.enumerated() {
            let at = "tenants[\(i)]"
            guard let name = r.name, !name.isEmpty else { throw AppError(.config, "\(at): name is required") }
            let where_ = "\(at) (\(name))"
            guard name.utf8.allSatisfy({ $0.isListNameByte }), name.utf8.count <= 64 else {
                throw AppError(.config, "\(where_): name: letters, digits, '.', '_' and '-' only (at most 64)")
            }
            guard index[name] == nil else { throw AppError(.config, "\(where_): name is used twice (or by a public profile)") }
            var t = Profile(name: name, categories: try parseCategories(r.categories ?? [], at: "\(where_).categories"), parent: r.parent)
            for l in (r.blockLists ?? []) + (r.allowLists ?? []) where sourceNames[l] == nil && !names.contains(l) {
                throw AppError(.config, "\(where_): no source named '\(l)'")
            }
            for l in r.allowLists ?? [] where sourceNames[l].map({ !$0.info.allow }) ?? false {
                throw AppError(.config, "\(where_).allow-lists: '\(l)' is a block list")
            }
            t.blockLists = r.blockLists ?? []
            t.allowLists = r.allowLists ?? []
            for o in r.overridable ?? [] {
                if o == "threats" {
                    t.overridableCategories.formUnion(.threats)
                } else if let c = Category(name: o) {
                    t.overridableCategories.insert(CategorySet(c))
                } else if sourceNames[o] != nil || names.contains(o) {
                    t.overridableLists.append(o)
                } else {
                    throw AppError(.config, "\(where_).overridable: '\(o)' is neither a category nor a source")
                }
            }
            t.blockPage = r.blockPage
            t.logQueries = r.logQueries
            for n in r.networks ?? [] {
                guard let c = CIDR(n), Self.hostBitsZero(c) else {
                    throw AppError(.config, "\(where_).networks: '\(n)' is not a network (address/length, host bits zero)")
                }
                if let other = networks[c] { throw AppError(.config, "\(where_).networks: \(n) is also \(other)'s") }
                networks[c] = name
                t.networks.append(c)
            }
            if let tok = r.token {
                guard isToken(tok) else { throw AppError(.config, "\(where_).token: 1 to 63 of a-z, 0-9 and '-' (a DNS label and a URL path segment)") }
                if let other = tokens[tok] { throw AppError(.config, "\(where_).token: also \(other)'s") }
                tokens[tok] = name
                t.token = tok
            }
            // The tenant's own entries: one group in the shared `tenants.block` / `tenants.allow`.
            for (entries, allow) in [(r.block ?? [], false), (r.allow ?? [], true)] where !entries.isEmpty {
                for e in entries {
                    let bare = e.hasPrefix("*.") ? String(e.dropFirst(2)) : e
                    guard !bare.isEmpty, (try? Name(bare)) != nil else {
                        throw AppError(.config, "\(where_).\(allow ? "allow" : "block"): '\(e)' is not a domain name")
                    }
                }
                if allow { ownAllow.append(OwnedEntries(owner: name, names: entries)) } else { ownBlock.append(OwnedEntries(owner: name, names: entries)) }
            }
            t.blockEntries = r.block ?? []
            t.allowEntries = r.allow ?? []
            index[name] = p.profiles.count
            pending.append((p.profiles.count, r))
            p.profiles.append(t)
        }
        for (groups, allow) in [(ownBlock, false), (ownAllow, true)] where !groups.isEmpty {
            let list = allow ? Self.tenantAllow : Self.tenantBlock
            guard names.insert(list.name).inserted else { throw AppError(.config, "tenants: '\(list.name)' is reserved (a source has that name)") }
            p.sources.append(SourceSpec(info: list, location: .entries(groups), format: .domains, refresh: 3600))
        }
        // Parents: known, no cycles, at most 64 levels; then what a child inherits.
        for (i, r) in pending {
            let where_ = "tenants (\(p.profiles[i].name))"
            guard let parent = r.parent else { continue }
            guard index[parent] != nil else { throw AppError(.config, "\(where_).parent: no tenant or profile named '\(parent)'") }
        }
        var depth: [Int: Int] = [:]
        func level(_ i: Int, _ seen: Int) throws -> Int {
            if let d = depth[i] { return d }
            guard seen <= p.profiles.count else { throw AppError(.config, "tenants (\(p.profiles[i].name)): the parents form a cycle") }
            guard let parent = p.profiles[i].parent, let j = index[parent] else {
                depth[i] = 0
                return 0
            }
            let d = try level(j, seen + 1) + 1
            guard d < PolicyTree.maxDepth else { throw AppError(.config, "tenants (\(p.profiles[i].name)): deeper than \(PolicyTree.maxDepth) levels") }
            depth[i] = d
            return d
        }
        for (i, _) in pending { _ = try level(i, 0) }
        // Parents before children, then inherit.
        for (i, r) in pending.sorted(by: { depth[$0.0]! < depth[$1.0]! }) {
            var t = p.profiles[i]
            let up = t.parent.flatMap { index[$0] }.map { p.profiles[$0] }
            if let a = r.action {
                guard let action = BlockAction(rawValue: a) else {
                    throw AppError(.config, "tenants (\(t.name)).action: \(BlockAction.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                t.action = action
            } else if let up {
                t.action = up.action
            }
            if let up {
                t.blockPage = t.blockPage ?? up.blockPage
                t.logQueries = t.logQueries ?? up.logQueries
                t.lists = up.lists
                t.excludedLists = up.excludedLists
            }
            p.profiles[i] = t
        }
    }

    static func guessFormat(_ location: String) -> String? {
        let l = location.lowercased()
        if l.hasSuffix(".rpz") || l.hasSuffix(".zone") { return "rpz" }
        if l.hasSuffix(".json") { return "warninglist" }
        if l.hasSuffix("hosts") || l.hasSuffix(".hosts") { return "hosts" }
        return nil
    }
}

extension UInt8 {
    var isListNameByte: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) || self == 0x2E || self == 0x2D
            || self == 0x5F
    }
}
