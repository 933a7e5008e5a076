import ControlPlane
import Foundation
import Policy
import Storage
import ThreatIntel
import Yams

/// The `intel:` section as written (config file only; `BULWARK_INTEL_DATABASE` and
/// `BULWARK_INTEL_KEY` from the environment).
public struct RawIntel: Sendable, Equatable {
    public var database: String?
    public var warninglists: [String]?
    public var allow: [String]?
    public var publicSuffixList: String?
    public var lifetime: [String: String]?
    public var decay: Bool?
    public var sightingInterval: String?
    public var sightingMinClients: Int?
    public var expiryCheck: String?
    public var tagCategories: [String: String]?
    public var keys: [[String: String]]?
    public var sources: [[String: String]]?
    public var sourceLists: [[String: [String]]]?
    public init() {}

    static let keys: Set<String> = [
        "database", "warninglists", "allow", "public-suffix-list", "lifetime", "decay", "sightings", "expiry-check", "tag-categories", "keys",
        "sources",
    ]
    static let keyKeys: Set<String> = ["name", "org", "role", "key", "sha256", "tenant"]
    static let sourceKeys: Set<String> = [
        "name", "type", "url", "path", "key", "interval", "overlap", "page-size", "reconcile", "category", "types", "tags", "orgs", "to-ids",
        "published", "org", "columns", "delimiter", "tlp", "lifetime",
    ]

    static func parse(_ node: Node) throws -> RawIntel {
        guard let m = node.mapping else { throw AppError(.config, "intel: expected a mapping") }
        var r = RawIntel()
        func strings(_ n: Node, _ path: String) throws -> [String] {
            if let s = n.string { return [s] }
            guard let seq = n.sequence else { throw AppError(.config, "\(path): expected a list") }
            return seq.map { $0.string ?? "" }
        }
        func stringMap(_ n: Node, _ path: String) throws -> [String: String] {
            guard let mm = n.mapping else { throw AppError(.config, "\(path): expected a mapping") }
            var out: [String: String] = [:]
            for (k, v) in mm {
                guard let key = k.string, let value = v.string else { throw AppError(.config, "\(path): keys and values must be strings") }
                out[key] = value
            }
            return out
        }
        func entries(_ n: Node, _ path: String, allowed: Set<String>) throws -> ([[String: String]], [[String: [String]]]) {
            guard let seq = n.sequence else { throw AppError(.config, "\(path): expected a list") }
            var scalars: [[String: String]] = []
            var lists: [[String: [String]]] = []
            for (i, e) in seq.enumerated() {
                guard let mm = e.mapping else { throw AppError(.config, "\(path)[\(i)]: expected a mapping") }
                var s: [String: String] = [:]
                var l: [String: [String]] = [:]
                for (k, v) in mm {
                    guard let key = k.string, allowed.contains(key) else {
                        throw AppError(.config, "\(path)[\(i)]: unknown key '\(k.string ?? "?")' (known: \(allowed.sorted().joined(separator: ", ")))")
                    }
                    if let seq = v.sequence {
                        l[key] = seq.map { $0.string ?? "" }
                    } else if let str = v.string {
                        s[key] = str
                    } else if v.null == nil {
                        throw AppError(.config, "\(path)[\(i)].\(key): unsupported value")
                    }
                }
                scalars.append(s)
                lists.append(l)
            }
            return (scalars, lists)
        }
        for (k, v) in m {
            guard let key = k.string, keys.contains(key) else {
                throw AppError(.config, "config file: unknown key 'intel.\(k.string ?? "?")' (known: \(keys.sorted().joined(separator: ", ")))")
            }
            if v.null != nil { continue }
            switch key {
            case "database": r.database = v.string
            case "warninglists": r.warninglists = try strings(v, "intel.warninglists")
            case "allow": r.allow = try strings(v, "intel.allow")
            case "public-suffix-list": r.publicSuffixList = v.string
            case "lifetime": r.lifetime = try stringMap(v, "intel.lifetime")
            case "decay": r.decay = try RawConfig.ConfigValue.scalar(v.string ?? "").bool("intel.decay")
            case "sightings":
                let s = try stringMap(v, "intel.sightings")
                for k in s.keys where k != "interval" && k != "min-clients" {
                    throw AppError(.config, "intel.sightings: unknown key '\(k)' (known: interval, min-clients)")
                }
                r.sightingInterval = s["interval"]
                if let n = s["min-clients"] {
                    guard let i = Int(n) else { throw AppError(.config, "intel.sightings.min-clients: expected an integer") }
                    r.sightingMinClients = i
                }
            case "expiry-check": r.expiryCheck = v.string
            case "tag-categories": r.tagCategories = try stringMap(v, "intel.tag-categories")
            case "keys": r.keys = try entries(v, "intel.keys", allowed: keyKeys).0
            case "sources":
                let (s, l) = try entries(v, "intel.sources", allowed: sourceKeys)
                r.sources = s
                r.sourceLists = l
            default: break
            }
        }
        return r
    }
}

enum Durations {
    /// `90`, `90s`, `15m`, `2h`, `3d`, `1w` → seconds.
    static func parse(_ text: String, _ path: String) throws -> TimeInterval {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        var number = Substring(t)
        var unit = 1.0
        if let last = t.last, let u = units[last] {
            unit = u
            number = number.dropLast()
        } else if t.hasSuffix("ms") {
            unit = 0.001
            number = number.dropLast(2)
        }
        guard let n = Double(number), n >= 0, n.isFinite else { throw AppError(.config, "\(path): '\(text)' is not a duration (like 90s, 15m, 2h, 3d)") }
        return n * unit
    }
}

extension IntelSettings {
    /// Validates the `intel:` section; `dataDirectory` holds the database by default.
    static func make(_ raw: RawIntel?, dataDirectory: String, environment keyFromEnv: String?) throws -> IntelSettings {
        let r = raw ?? RawIntel()
        var s = IntelSettings(databasePath: r.database ?? "\(dataDirectory)/intel.sqlite")
        s.warninglists = r.warninglists ?? []
        s.allow = r.allow ?? []
        if let p = r.publicSuffixList { s.publicSuffixList = p == "off" ? nil : p }
        if let d = r.decay { s.decay = d }
        for (k, v) in r.lifetime ?? [:] {
            guard k == "default" || Policy.Category(name: k) != nil else { throw AppError(.config, "intel.lifetime: unknown category '\(k)'") }
            s.lifetimes[Policy.Category(name: k)?.description ?? "default"] = try Durations.parse(v, "intel.lifetime.\(k)")
        }
        if let v = r.sightingInterval { s.sightingInterval = max(1, try Durations.parse(v, "intel.sightings.interval")) }
        if let v = r.sightingMinClients {
            guard v >= 1 else { throw AppError(.config, "intel.sightings.min-clients: at least 1") }
            s.sightingMinClients = v
        }
        if let v = r.expiryCheck { s.expiryCheck = max(1, try Durations.parse(v, "intel.expiry-check")) }
        s.tagCategories = r.tagCategories ?? [:]
        for (tag, c) in s.tagCategories where Policy.Category(name: c) == nil {
            throw AppError(.config, "intel.tag-categories: '\(tag)' maps to unknown category '\(c)'")
        }
        var keyNames = Set<String>()
        for (i, k) in (r.keys ?? []).enumerated() {
            let path = "intel.keys[\(i)]"
            guard let name = k["name"], !name.isEmpty else { throw AppError(.config, "\(path): name is required") }
            guard keyNames.insert(name).inserted else { throw AppError(.config, "\(path): key name '\(name)' is used twice") }
            guard let org = k["org"], !org.isEmpty else { throw AppError(.config, "\(path): org is required") }
            // "viewer" is the tenant administrators' word for a reader.
            guard let role = APIRole(rawValue: k["role"] == "viewer" ? "reader" : (k["role"] ?? "sync")) else {
                throw AppError(.config, "\(path).role: admin, sync, analyst, reader (viewer)")
            }
            let hash: String
            let prefix: String
            if let key = k["key"] {
                guard APIKeys.isWellFormed(key) else { throw AppError(.config, "\(path).key: 40 characters of a-z, A-Z, 0-9 (like a MISP key)") }
                hash = APIKeys.hash(key)
                prefix = String(key.prefix(4))
            } else if let h = k["sha256"] {
                guard h.count == 64, h.allSatisfy(\.isHexDigit) else { throw AppError(.config, "\(path).sha256: 64 hex digits") }
                hash = h.lowercased()
                prefix = "????"
            } else {
                throw AppError(.config, "\(path): key or sha256 is required")
            }
            s.keys.append(KeySpec(name: name, org: org, role: role, hash: hash, prefix: prefix, tenant: k["tenant"]))
        }
        if let key = keyFromEnv, !key.isEmpty {
            guard APIKeys.isWellFormed(key) else { throw AppError(.config, "BULWARK_INTEL_KEY: 40 characters of a-z, A-Z, 0-9") }
            s.keys.append(KeySpec(name: "env", org: "local", role: .admin, hash: APIKeys.hash(key), prefix: String(key.prefix(4))))
        }
        var names = Set<String>()
        let lists = r.sourceLists ?? []
        for (i, f) in (r.sources ?? []).enumerated() {
            let path = "intel.sources[\(i)]"
            let l = i < lists.count ? lists[i] : [:]
            func list(_ k: String) -> [String]? {
                l[k] ?? f[k].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            }
            guard let name = f["name"], !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw AppError(.config, "\(path): name is required (letters, digits, - _ .)")
            }
            guard names.insert(name).inserted, name != "api", !name.hasPrefix("push:") else { throw AppError(.config, "\(path): name '\(name)' is used twice or reserved") }
            guard let kind = IntelSourceSpec.Kind(rawValue: f["type"] ?? "") else {
                throw AppError(.config, "\(path).type: \(IntelSourceSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var spec = IntelSourceSpec(name: name, kind: kind)
            spec.url = f["url"]
            spec.path = f["path"]
            if let u = spec.url, !(u.hasPrefix("http://") || u.hasPrefix("https://")) { throw AppError(.config, "\(path).url: http:// or https://") }
            switch kind {
            case .misp:
                guard spec.url != nil else { throw AppError(.config, "\(path): a MISP source needs url") }
                guard let k = f["key"], APIKeys.isWellFormed(k) else { throw AppError(.config, "\(path).key: the MISP API key (40 characters)") }
                spec.key = k
            default:
                guard (spec.url == nil) != (spec.path == nil) else { throw AppError(.config, "\(path): url or path (one of them)") }
                spec.key = f["key"]
            }
            if let v = f["interval"] { spec.interval = max(0.1, try Durations.parse(v, "\(path).interval")) }
            if let v = f["overlap"] { spec.overlap = try Durations.parse(v, "\(path).overlap") }
            if let v = f["reconcile"] { spec.reconcile = max(1, try Durations.parse(v, "\(path).reconcile")) }
            if let v = f["page-size"] {
                guard let n = Int(v), (1...100_000).contains(n) else { throw AppError(.config, "\(path).page-size: 1 to 100000") }
                spec.pageSize = n
            }
            if let c = f["category"] {
                guard let cat = Policy.Category(name: c) else { throw AppError(.config, "\(path).category: unknown category '\(c)'") }
                spec.category = cat.description
            }
            if let t = list("types") { spec.filters.types = t }
            if let t = list("tags") { spec.filters.tags = t }
            if let o = list("orgs") { spec.filters.orgs = o }
            if let v = f["to-ids"] { spec.filters.toIDS = try RawConfig.ConfigValue.scalar(v).bool("\(path).to-ids") }
            if let v = f["published"] { spec.filters.published = try RawConfig.ConfigValue.scalar(v).bool("\(path).published") }
            spec.org = f["org"]
            if let cols = list("columns") {
                spec.csvColumns = try cols.map { c in
                    guard let n = Int(c), n >= 1 else { throw AppError(.config, "\(path).columns: 1-based column numbers") }
                    return n
                }
            }
            if let d = f["delimiter"] {
                guard d.count == 1 else { throw AppError(.config, "\(path).delimiter: one character") }
                spec.csvDelimiter = d.first!
            }
            spec.tlp = f["tlp"]
            if let v = f["lifetime"] { spec.lifetime = max(1, try Durations.parse(v, "\(path).lifetime")) }
            s.sources.append(spec)
        }
        return s
    }
}
