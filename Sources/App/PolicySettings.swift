import DNSWire
import NIOCore
import Policy
import RPZ
import ThreatIntel

/// Where a list comes from.
public enum SourceLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case url(String)

    public var description: String {
        switch self {
        case .file(let p): p
        case .url(let u): u
        }
    }
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
            let info = ListInfo(
                name: name, categories: categories, allow: allow, audit: r.audit ?? false, tlp: tlp, source: r.source ?? name,
                origin: location.description, format: format.rawValue)
            if isTransfer && format != .rpz { throw AppError(.config, "\(where_): an axfr:// source is an RPZ zone (format: rpz)") }
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
            if let cats = r.categories {
                profile.categories = []
                for c in cats {
                    if c == "threats" {
                        profile.categories.formUnion(.threats)
                        continue
                    }
                    guard let cat = Category(name: c) else { throw AppError(.config, "\(where_): unknown category '\(c)'") }
                    profile.categories.insert(CategorySet(cat))
                }
            }
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
            p.profiles[index!] = profile
            for a in r.listen ?? [] {
                listeners.append((try Settings.parseAddress(a, what: "\(where_).listen"), index!))
            }
        }
        let def = raw.defaultProfile ?? Profile.defaultName
        guard let d = p.profiles.firstIndex(where: { $0.name == def }) else {
            throw AppError(.config, "policy.default-profile: no profile named '\(def)' (have: \(p.profiles.map(\.name).joined(separator: ", ")))")
        }
        p.defaultProfile = d
        return (p, listeners)
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
