import DNSWire
import Foundation
import NIOCore
import Policy
import RPZ
import Yams

/// The `rpz:` section as written: the primary's listener, its zones and TSIG keys. Every zone
/// key may also be given at the top as the default for all zones.
public struct RawRPZ: Sendable, Equatable {
    /// Top-level values (`listen`, `suffix`, and the zone defaults).
    public var values: [String: RawValue] = [:]
    public var zones: [[String: RawValue]]?
    public var keys: [[String: String]] = []

    public enum RawValue: Sendable, Equatable {
        case scalar(String)
        case list([String])
        var strings: [String] {
            switch self {
            case .scalar(let s): [s]
            case .list(let l): l
            }
        }
        var scalar: String? {
            if case .scalar(let s) = self { return s }
            return nil
        }
    }

    static let zoneKeys: Set<String> = [
        "name", "profile", "categories", "lists", "exclude-lists", "action", "ttl", "max-tlp", "refresh", "retry", "expire", "allow-transfer", "require-key",
        "notify", "file",
    ]
    static let topKeys: Set<String> = zoneKeys.subtracting(["name", "profile", "lists", "exclude-lists", "file"]).union(["listen", "suffix", "zones", "keys"])
    static let keyKeys: Set<String> = ["name", "algorithm", "secret"]

    static func parse(_ node: Node) throws -> RawRPZ {
        guard let m = node.mapping else { throw AppError(.config, "rpz: expected a mapping") }
        var r = RawRPZ()
        func value(_ v: Node, _ path: String) throws -> RawValue? {
            if v.null != nil { return nil }
            if let s = v.string { return .scalar(s) }
            if let seq = v.sequence {
                return .list(
                    try seq.map { e in
                        guard let s = e.string else { throw AppError(.config, "\(path): expected a list of strings") }
                        return s
                    })
            }
            throw AppError(.config, "\(path): unsupported value")
        }
        for (k, v) in m {
            guard let key = k.string, topKeys.contains(key) else {
                throw AppError(.config, "config file: unknown key 'rpz.\(k.string ?? "?")' (known: \(topKeys.sorted().joined(separator: ", ")))")
            }
            switch key {
            case "zones":
                guard let seq = v.sequence else { throw AppError(.config, "rpz.zones: expected a list") }
                r.zones = try seq.enumerated().map { i, z in
                    guard let zm = z.mapping else { throw AppError(.config, "rpz.zones[\(i)]: expected a mapping") }
                    var out: [String: RawValue] = [:]
                    for (zk, zv) in zm {
                        guard let key = zk.string, zoneKeys.contains(key) else {
                            throw AppError(
                                .config, "rpz.zones[\(i)]: unknown key '\(zk.string ?? "?")' (known: \(zoneKeys.sorted().joined(separator: ", ")))")
                        }
                        out[key] = try value(zv, "rpz.zones[\(i)].\(key)")
                    }
                    return out
                }
            case "keys":
                guard let seq = v.sequence else { throw AppError(.config, "rpz.keys: expected a list") }
                r.keys = try seq.enumerated().map { i, e in
                    guard let km = e.mapping else { throw AppError(.config, "rpz.keys[\(i)]: expected a mapping") }
                    var out: [String: String] = [:]
                    for (kk, kv) in km {
                        guard let key = kk.string, keyKeys.contains(key), let s = kv.string else {
                            throw AppError(.config, "rpz.keys[\(i)]: keys are name, algorithm, secret (strings)")
                        }
                        out[key] = s
                    }
                    return out
                }
            default:
                r.values[key] = try value(v, "rpz.\(key)")
            }
        }
        return r
    }
}

/// The validated `rpz:` section.
public struct RPZSettings: Sendable {
    /// The primary's listener; nil when Bulwark only follows other primaries (keys only).
    public var listen: SocketAddress?
    public var zones: [RPZZoneConfig]
    public var keys: [TSIGKey]
    /// Zone files kept in step with the zones (Knot Resolver reads RPZ from files only).
    public var files: [Name: String] = [:]

    static func make(_ raw: RawRPZ?, policy: PolicyConfig, profiles: [Profile] = Profile.builtIn) throws -> RPZSettings? {
        guard let raw else { return nil }
        let listen = try raw.values["listen"]?.scalar.map { try Settings.parseAddress($0, what: "rpz.listen") }
        var keys: [TSIGKey] = []
        for (i, k) in raw.keys.enumerated() {
            guard let n = k["name"], let name = try? Name(n.hasSuffix(".") ? n : n + ".") else { throw AppError(.config, "rpz.keys[\(i)].name: a key name is required") }
            let alg = k["algorithm"] ?? "hmac-sha256"
            guard let algorithm = TSIGAlgorithm(rawValue: alg.lowercased()) else {
                throw AppError(.config, "rpz.keys[\(i)].algorithm: one of hmac-sha1, hmac-sha256, hmac-sha512")
            }
            guard let s = k["secret"], let secret = Data(base64Encoded: s), secret.count >= 16 else {
                throw AppError(.config, "rpz.keys[\(i)].secret: base64 of at least 16 bytes is required")
            }
            keys.append(TSIGKey(name: name, algorithm: algorithm, secret: [UInt8](secret)))
        }
        func keyName(_ text: String, _ path: String) throws -> Name {
            guard let n = try? Name(text.hasSuffix(".") ? text : text + "."), keys.contains(where: { $0.name == n }) else {
                throw AppError(.config, "\(path): no key named '\(text)' in rpz.keys")
            }
            return n
        }
        let suffixText = raw.values["suffix"]?.scalar ?? "rpz.bulwark."
        guard let suffix = try? Name(suffixText.hasSuffix(".") ? suffixText : suffixText + ".") else {
            throw AppError(.config, "rpz.suffix: '\(suffixText)' is not a domain name")
        }
        var zones: [RPZZoneConfig] = []
        var files: [Name: String] = [:]
        let entries: [[String: RawRPZ.RawValue]] =
            raw.zones
            ?? Policy.Category.allCases.map { ["name": .scalar("\($0).\(suffix)"), "categories": .list([$0.description])] }
        for (i, entry) in entries.enumerated() {
            let path = "rpz.zones[\(i)]"
            func value(_ key: String) -> RawRPZ.RawValue? { entry[key] ?? raw.values[key] }
            func uint(_ key: String) throws -> UInt32? {
                guard let v = value(key)?.scalar else { return nil }
                let seconds = try Durations.parse(v, "\(path).\(key)")
                guard let n = UInt32(exactly: seconds.rounded()) else { throw AppError(.config, "\(path).\(key): out of range") }
                return n
            }
            guard let nameText = entry["name"]?.scalar, let apex = try? Name(nameText.hasSuffix(".") ? nameText : nameText + "."), !apex.isRoot else {
                throw AppError(.config, "\(path).name: a zone name is required")
            }
            let categories = try PolicySettings.parseCategories(
                value("categories")?.strings ?? Policy.Category.allCases.map(\.description), at: "\(path).categories")
            var z = RPZZoneConfig(apex: apex, categories: categories, lists: entry["lists"]?.strings)
            z.excludedLists = entry["exclude-lists"]?.strings ?? []
            if let p = entry["profile"]?.scalar {
                // The zone carries what that profile blocks (a tenant's policy, for its resolvers).
                guard let profile = profiles.first(where: { $0.name == p }) else {
                    throw AppError(.config, "\(path).profile: no profile named '\(p)' (known: \(profiles.map(\.name).joined(separator: ", ")))")
                }
                guard entry["categories"] == nil && entry["lists"] == nil && entry["exclude-lists"] == nil else {
                    throw AppError(.config, "\(path): profile takes the place of categories, lists and exclude-lists")
                }
                z.categories = profile.categories
                z.lists = profile.lists
                z.excludedLists = profile.excludedLists
                z.profile = profile.name
            }
            if let a = value("action")?.scalar {
                guard let action = RPZBlockAction(rawValue: a) else {
                    throw AppError(.config, "\(path).action: one of \(RPZBlockAction.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                z.action = action
            }
            z.sinkholeV4 = policy.sinkholeV4
            z.sinkholeV6 = policy.sinkholeV6
            if let t = value("max-tlp")?.scalar {
                guard let tlp = TLP(name: t) else { throw AppError(.config, "\(path).max-tlp: one of clear, green, amber, red") }
                z.maxTLP = tlp
            }
            if let v = try uint("ttl") { z.ttl = v }
            if let v = try uint("refresh") { z.refresh = v }
            if let v = try uint("retry") { z.retry = v }
            if let v = try uint("expire") { z.expire = v }
            if let acl = value("allow-transfer")?.strings {
                z.allowTransfer = try acl.map { t in
                    guard let c = CIDR(t) else { throw AppError(.config, "\(path).allow-transfer: '\(t)' is not an address or prefix") }
                    return c
                }
            }
            z.requireKeys = try (value("require-key")?.strings ?? []).map { try keyName($0, "\(path).require-key") }
            z.notify = try (value("notify")?.strings ?? []).map { t in
                // "ADDR:PORT" or "ADDR:PORT key NAME"
                let parts = t.split(separator: " ", omittingEmptySubsequences: true)
                let address = try Settings.parseAddress(String(parts.first ?? ""), what: "\(path).notify")
                guard let ip = address.ipAddress.flatMap({ IPAddress($0) }), let port = address.port else {
                    throw AppError(.config, "\(path).notify: '\(t)' is not ADDR:PORT")
                }
                var key: Name? = nil
                if parts.count == 3 && parts[1] == "key" {
                    key = try keyName(String(parts[2]), "\(path).notify")
                } else if parts.count != 1 {
                    throw AppError(.config, "\(path).notify: '\(t)': expected ADDR:PORT [key NAME]")
                }
                return NotifyTarget(host: ip, port: port, key: key)
            }
            if zones.contains(where: { $0.apex == z.apex }) { throw AppError(.config, "\(path).name: zone \(z.apex) is defined twice") }
            if let f = entry["file"]?.scalar { files[z.apex] = f }
            zones.append(z)
        }
        return RPZSettings(listen: listen, zones: zones, keys: keys, files: files)
    }
}

/// An `axfr://ADDR:PORT/ZONE[?key=NAME]` policy source: a zone followed from another primary.
public struct TransferSource: Sendable, Hashable {
    public var address: SocketAddress
    public var host: IPAddress
    public var zone: Name
    public var key: Name?

    public init?(_ url: String) {
        guard url.hasPrefix("axfr://") else { return nil }
        let rest = url.dropFirst(7)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let hostPort = String(rest[..<slash])
        var zonePart = rest[rest.index(after: slash)...]
        var keyText: Substring? = nil
        if let q = zonePart.firstIndex(of: "?") {
            let query = zonePart[zonePart.index(after: q)...]
            zonePart = zonePart[..<q]
            guard query.hasPrefix("key="), query.count > 4 else { return nil }
            keyText = query.dropFirst(4)
        }
        guard let address = try? Settings.parseAddress(hostPort, what: "url"), let ip = address.ipAddress.flatMap({ IPAddress($0) }),
            !zonePart.isEmpty, let zone = try? Name(zonePart.hasSuffix(".") ? String(zonePart) : zonePart + "."), !zone.isRoot
        else { return nil }
        self.address = address
        self.host = ip
        self.zone = zone.lowercased()
        if let keyText {
            guard let k = try? Name(keyText.hasSuffix(".") ? String(keyText) : keyText + ".") else { return nil }
            key = k
        }
    }
}
