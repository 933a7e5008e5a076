import DNSWire
import NIOCore
import Yams

/// Configuration as written by the user (file, environment, flags): every field optional.
/// Parse → `RawConfig`; validate and normalise → `Settings`.
public struct RawConfig: Sendable, Equatable {
    public var listen: [String]?
    public var upstreams: [String]?
    public var resolvConf: String?
    public var threads: Int?
    public var data: String?
    public var metrics: String?
    public var logFormat: String?
    public var logLevel: String?
    public var allow: [String]?
    public var cacheMaxBytes: Int?
    public var cacheMinTTL: Int?
    public var cacheMaxTTL: Int?
    public var cacheMaxNegativeTTL: Int?
    public var serveStale: Bool?
    public var staleAnswerTTL: Int?
    public var maxStale: Int?
    public var prefetch: Bool?
    public var upstreamTimeoutMs: Int?
    public var upstreamMaxAttempts: Int?
    public var udpMaxSize: Int?
    public var udpEngine: String?
    public var tcpIdleTimeoutMs: Int?
    public var tcpMaxConnections: Int?
    public var tcpMaxInFlight: Int?
    public var drainTimeoutMs: Int?
    public var dotListen: [String]?
    public var dotCertificate: String?
    public var dotPrivateKey: String?
    public var dohListen: [String]?
    public var dohCertificate: String?
    public var dohPrivateKey: String?
    public var dohPath: String?
    public var ddrName: String?
    public var defaultProfile: String?
    public var blockTTL: Int?
    public var sinkholeIPv4: String?
    public var sinkholeIPv6: String?
    public var policyRefresh: Int?
    public var policyFileCheckMs: Int?
    public var statsInterval: Int?
    public var statsRetentionDays: Int?
    public var statsMinClients: Int?
    public var queryLogRetentionDays: Int?
    public var queryLogClient: String?
    public var limitClientQPS: Int?
    public var controlCertificate: String?
    public var controlPrivateKey: String?
    public var limitClientBurst: Int?
    public var limitSlip: Int?
    public var limitExempt: [String]?
    public var limitConnectionsPerClient: Int?
    /// `policy.sources` and `policy.profiles` (config file only: lists of mappings).
    public var sources: [RawSource]?
    public var profiles: [RawProfile]?
    /// The `tenants:` section (config file only).
    public var tenants: [RawTenant]?
    public var tenantListen: [String]?
    public var dotTenantDomain: String?
    /// The `intel:` section (config file), and its environment variables.
    public var intel: RawIntel?
    /// The `rpz:` section (config file only).
    public var rpz: RawRPZ?
    public var intelDatabase: String?
    public var intelKey: String?

    public init() {}

    /// Later values win: `self` overlaid with every non-nil field of `other`.
    public func overlaid(with other: RawConfig) -> RawConfig {
        var r = self
        for key in RawConfig.keys { key.copy(other, &r) }
        if let v = other.sources { r.sources = v }
        if let v = other.profiles { r.profiles = v }
        if let v = other.tenants { r.tenants = v }
        if let v = other.intel { r.intel = v }
        if let v = other.rpz { r.rpz = v }
        if let v = other.intelDatabase { r.intelDatabase = v }
        if let v = other.intelKey { r.intelKey = v }
        return r
    }

    /// One configuration key: its file path, its environment variable, and how to set it.
    struct Key: Sendable {
        let path: String
        let env: String
        let set: @Sendable (inout RawConfig, ConfigValue) throws -> Void
        let copy: @Sendable (RawConfig, inout RawConfig) -> Void
    }

    enum ConfigValue {
        case scalar(String)
        case list([String])

        var strings: [String] {
            switch self {
            case .scalar(let s): s.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            case .list(let l): l
            }
        }
        func string(_ path: String) throws -> String {
            guard case .scalar(let s) = self else { throw AppError(.config, "\(path): expected a single value") }
            return s
        }
        func int(_ path: String) throws -> Int {
            guard let v = Int(try string(path)) else { throw AppError(.config, "\(path): expected an integer") }
            return v
        }
        func bool(_ path: String) throws -> Bool {
            switch try string(path).lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw AppError(.config, "\(path): expected true or false")
            }
        }
    }

    static func str(_ path: String, _ env: String, _ kp: WritableKeyPath<RawConfig, String?> & Sendable) -> Key {
        Key(path: path, env: env, set: { c, v in c[keyPath: kp] = try v.string(path) }, copy: { o, r in if let v = o[keyPath: kp] { r[keyPath: kp] = v } })
    }
    static func int(_ path: String, _ env: String, _ kp: WritableKeyPath<RawConfig, Int?> & Sendable) -> Key {
        Key(path: path, env: env, set: { c, v in c[keyPath: kp] = try v.int(path) }, copy: { o, r in if let v = o[keyPath: kp] { r[keyPath: kp] = v } })
    }
    static func bool(_ path: String, _ env: String, _ kp: WritableKeyPath<RawConfig, Bool?> & Sendable) -> Key {
        Key(path: path, env: env, set: { c, v in c[keyPath: kp] = try v.bool(path) }, copy: { o, r in if let v = o[keyPath: kp] { r[keyPath: kp] = v } })
    }
    static func list(_ path: String, _ env: String, _ kp: WritableKeyPath<RawConfig, [String]?> & Sendable) -> Key {
        Key(path: path, env: env, set: { c, v in c[keyPath: kp] = v.strings }, copy: { o, r in if let v = o[keyPath: kp] { r[keyPath: kp] = v } })
    }

    /// Every key, with its config-file path and `BULWARK_*` variable.
    static let keys: [Key] = [
        list("listen", "BULWARK_LISTEN", \.listen),
        list("upstreams", "BULWARK_UPSTREAM", \.upstreams),
        str("resolv-conf", "BULWARK_RESOLV_CONF", \.resolvConf),
        int("threads", "BULWARK_THREADS", \.threads),
        str("data", "BULWARK_DATA", \.data),
        str("metrics", "BULWARK_METRICS", \.metrics),
        str("metrics.listen", "BULWARK_METRICS_LISTEN", \.metrics),
        str("log.format", "BULWARK_LOG_FORMAT", \.logFormat),
        str("log.level", "BULWARK_LOG_LEVEL", \.logLevel),
        list("acl.allow", "BULWARK_ACL_ALLOW", \.allow),
        int("cache.max-bytes", "BULWARK_CACHE_MAX_BYTES", \.cacheMaxBytes),
        int("cache.min-ttl", "BULWARK_CACHE_MIN_TTL", \.cacheMinTTL),
        int("cache.max-ttl", "BULWARK_CACHE_MAX_TTL", \.cacheMaxTTL),
        int("cache.max-negative-ttl", "BULWARK_CACHE_MAX_NEGATIVE_TTL", \.cacheMaxNegativeTTL),
        bool("cache.serve-stale", "BULWARK_CACHE_SERVE_STALE", \.serveStale),
        int("cache.stale-answer-ttl", "BULWARK_CACHE_STALE_ANSWER_TTL", \.staleAnswerTTL),
        int("cache.max-stale", "BULWARK_CACHE_MAX_STALE", \.maxStale),
        bool("cache.prefetch", "BULWARK_CACHE_PREFETCH", \.prefetch),
        int("upstream.timeout-ms", "BULWARK_UPSTREAM_TIMEOUT_MS", \.upstreamTimeoutMs),
        int("upstream.max-attempts", "BULWARK_UPSTREAM_MAX_ATTEMPTS", \.upstreamMaxAttempts),
        int("udp.max-size", "BULWARK_UDP_MAX_SIZE", \.udpMaxSize),
        str("udp.engine", "BULWARK_UDP_ENGINE", \.udpEngine),
        int("tcp.idle-timeout-ms", "BULWARK_TCP_IDLE_TIMEOUT_MS", \.tcpIdleTimeoutMs),
        int("tcp.max-connections", "BULWARK_TCP_MAX_CONNECTIONS", \.tcpMaxConnections),
        int("tcp.max-in-flight", "BULWARK_TCP_MAX_IN_FLIGHT", \.tcpMaxInFlight),
        int("shutdown.drain-timeout-ms", "BULWARK_DRAIN_TIMEOUT_MS", \.drainTimeoutMs),
        list("dot.listen", "BULWARK_DOT_LISTEN", \.dotListen),
        str("dot.tenant-domain", "BULWARK_DOT_TENANT_DOMAIN", \.dotTenantDomain),
        list("policy.tenant-listen", "BULWARK_POLICY_TENANT_LISTEN", \.tenantListen),
        str("dot.certificate", "BULWARK_DOT_CERTIFICATE", \.dotCertificate),
        str("dot.private-key", "BULWARK_DOT_PRIVATE_KEY", \.dotPrivateKey),
        list("doh.listen", "BULWARK_DOH_LISTEN", \.dohListen),
        str("doh.certificate", "BULWARK_DOH_CERTIFICATE", \.dohCertificate),
        str("doh.private-key", "BULWARK_DOH_PRIVATE_KEY", \.dohPrivateKey),
        str("doh.path", "BULWARK_DOH_PATH", \.dohPath),
        str("ddr.name", "BULWARK_DDR_NAME", \.ddrName),
        str("policy.default-profile", "BULWARK_POLICY_DEFAULT_PROFILE", \.defaultProfile),
        int("policy.block-ttl", "BULWARK_POLICY_BLOCK_TTL", \.blockTTL),
        str("policy.sinkhole.ipv4", "BULWARK_POLICY_SINKHOLE_IPV4", \.sinkholeIPv4),
        str("policy.sinkhole.ipv6", "BULWARK_POLICY_SINKHOLE_IPV6", \.sinkholeIPv6),
        int("policy.refresh", "BULWARK_POLICY_REFRESH", \.policyRefresh),
        int("stats.interval", "BULWARK_STATS_INTERVAL", \.statsInterval),
        int("stats.retention-days", "BULWARK_STATS_RETENTION_DAYS", \.statsRetentionDays),
        int("stats.min-clients", "BULWARK_STATS_MIN_CLIENTS", \.statsMinClients),
        int("query-log.retention-days", "BULWARK_QUERY_LOG_RETENTION_DAYS", \.queryLogRetentionDays),
        str("query-log.client", "BULWARK_QUERY_LOG_CLIENT", \.queryLogClient),
        str("metrics.certificate", "BULWARK_METRICS_CERTIFICATE", \.controlCertificate),
        str("metrics.private-key", "BULWARK_METRICS_PRIVATE_KEY", \.controlPrivateKey),
        int("limits.client-qps", "BULWARK_LIMITS_CLIENT_QPS", \.limitClientQPS),
        int("limits.client-burst", "BULWARK_LIMITS_CLIENT_BURST", \.limitClientBurst),
        int("limits.slip", "BULWARK_LIMITS_SLIP", \.limitSlip),
        list("limits.exempt", "BULWARK_LIMITS_EXEMPT", \.limitExempt),
        int("limits.connections-per-client", "BULWARK_LIMITS_CONNECTIONS_PER_CLIENT", \.limitConnectionsPerClient),
        int("policy.file-check-ms", "BULWARK_POLICY_FILE_CHECK_MS", \.policyFileCheckMs),
    ]

    /// Parses a YAML config file's text. Unknown keys are errors (a typo must not be ignored).
    public static func parseYAML(_ text: String) throws -> RawConfig {
        var config = RawConfig()
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw AppError(.config, "config file is not valid YAML: \(error)")
        }
        guard let node else { return config }
        guard let root = node.mapping else { throw AppError(.config, "config file: top level must be a mapping") }
        var flat: [(String, Node)] = []
        func walk(_ m: Node.Mapping, _ prefix: String) throws {
            for (k, v) in m {
                guard let key = k.string else { throw AppError(.config, "\(prefix)<key>: keys must be strings") }
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                if path == "policy.sources" {
                    config.sources = try RawSource.parse(v)
                } else if path == "policy.profiles" {
                    config.profiles = try RawProfile.parse(v)
                } else if path == "tenants" {
                    config.tenants = try RawTenant.parse(v)
                } else if path == "intel" {
                    config.intel = try RawIntel.parse(v)
                } else if path == "rpz" {
                    config.rpz = try RawRPZ.parse(v)
                } else if let sub = v.mapping {
                    try walk(sub, path)
                } else {
                    flat.append((path, v))
                }
            }
        }
        try walk(root, "")
        for (path, value) in flat {
            guard let key = keys.first(where: { $0.path == path }) else {
                throw AppError(.config, "config file: unknown key '\(path)'")
            }
            if let seq = value.sequence {
                try key.set(&config, .list(seq.map { $0.string ?? "" }))
            } else if let s = value.string {
                try key.set(&config, .scalar(s))
            } else if value.null != nil {
                continue
            } else {
                throw AppError(.config, "\(path): unsupported value")
            }
        }
        return config
    }

    /// Reads `BULWARK_*` variables.
    public static func fromEnvironment(_ env: [String: String]) throws -> RawConfig {
        var config = RawConfig()
        for key in keys {
            if let v = env[key.env], !v.isEmpty { try key.set(&config, .scalar(v)) }
        }
        if let v = env["BULWARK_INTEL_DATABASE"], !v.isEmpty { config.intelDatabase = v }
        if let v = env["BULWARK_INTEL_KEY"], !v.isEmpty { config.intelKey = v }
        return config
    }

    /// Config-file keys and environment variables, for `--help` and README.
    public static var reference: [(path: String, env: String)] {
        keys.map { ($0.path, $0.env) } + [("intel.database", "BULWARK_INTEL_DATABASE"), ("intel.keys", "BULWARK_INTEL_KEY")]
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// Fields of one mapping in a list (`policy.sources`, `policy.profiles`), checked for unknown keys.
struct RawFields {
    let path: String
    var scalars: [String: String] = [:]
    var lists: [String: [String]] = [:]

    init(_ node: Node, path: String, allowed: Set<String>) throws {
        self.path = path
        guard let m = node.mapping else { throw AppError(.config, "\(path): expected a mapping") }
        for (k, v) in m {
            guard let key = k.string, allowed.contains(key) else {
                throw AppError(.config, "\(path): unknown key '\(k.string ?? "?")' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            if let seq = v.sequence {
                lists[key] = seq.map { $0.string ?? "" }
            } else if let s = v.string {
                scalars[key] = s
            } else if v.null == nil {
                throw AppError(.config, "\(path).\(key): unsupported value")
            }
        }
    }

    func list(_ key: String) -> [String]? {
        if let l = lists[key] { return l }
        return scalars[key].map { $0.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty } }
    }
    func int(_ key: String) throws -> Int? {
        guard let s = scalars[key] else { return nil }
        guard let v = Int(s) else { throw AppError(.config, "\(path).\(key): expected an integer") }
        return v
    }
    func bool(_ key: String) throws -> Bool? {
        guard let s = scalars[key] else { return nil }
        return try RawConfig.ConfigValue.scalar(s).bool("\(path).\(key)")
    }

    static func sequence(_ node: Node, path: String) throws -> [Node] {
        if node.null != nil { return [] }
        guard let seq = node.sequence else { throw AppError(.config, "\(path): expected a list") }
        return Array(seq)
    }
}

/// One policy source as written in the config file.
public struct RawSource: Sendable, Equatable {
    public var name: String?
    public var path: String?
    public var url: String?
    public var format: String?
    public var categories: [String]?
    public var allow: Bool?
    public var audit: Bool?
    public var tlp: String?
    public var source: String?
    public var refresh: Int?
    /// The tenant that owns the list (it applies to that tenant's subtree only).
    public var tenant: String?
    public init() {}

    static let keys: Set<String> = ["name", "path", "url", "format", "categories", "allow", "audit", "tlp", "source", "refresh", "tenant"]

    static func parse(_ node: Node) throws -> [RawSource] {
        try RawFields.sequence(node, path: "policy.sources").enumerated().map { i, n in
            let f = try RawFields(n, path: "policy.sources[\(i)]", allowed: keys)
            var r = RawSource()
            r.name = f.scalars["name"]
            r.path = f.scalars["path"]
            r.url = f.scalars["url"]
            r.format = f.scalars["format"]
            r.categories = f.list("categories")
            r.allow = try f.bool("allow")
            r.audit = try f.bool("audit")
            r.tlp = f.scalars["tlp"]
            r.source = f.scalars["source"]
            r.refresh = try f.int("refresh")
            r.tenant = f.scalars["tenant"]
            return r
        }
    }
}

/// One profile as written in the config file: a built-in one to bind or adjust, or a new one.
public struct RawProfile: Sendable, Equatable {
    public var name: String?
    public var listen: [String]?
    public var categories: [String]?
    public var action: String?
    public var lists: [String]?
    public var excludeLists: [String]?
    /// Send EDNS Client Subnet upstream for this profile (and its tenants): /24 and /56.
    public var ecs: Bool?
    public init() {}

    static let keys: Set<String> = ["name", "listen", "categories", "action", "lists", "exclude-lists", "ecs"]

    static func parse(_ node: Node) throws -> [RawProfile] {
        try RawFields.sequence(node, path: "policy.profiles").enumerated().map { i, n in
            let f = try RawFields(n, path: "policy.profiles[\(i)]", allowed: keys)
            var r = RawProfile()
            r.name = f.scalars["name"]
            r.listen = f.list("listen")
            r.categories = f.list("categories")
            r.action = f.scalars["action"]
            r.lists = f.list("lists")
            r.excludeLists = f.list("exclude-lists")
            r.ecs = try f.bool("ecs")
            return r
        }
    }
}

/// One tenant as written in the config file (`tenants:`).
public struct RawTenant: Sendable, Equatable {
    public var name: String?
    public var parent: String?
    public var categories: [String]?
    public var action: String?
    public var blockLists: [String]?
    public var allowLists: [String]?
    public var block: [String]?
    public var allow: [String]?
    public var overridable: [String]?
    public var blockPage: String?
    public var logQueries: Bool?
    public var networks: [String]?
    public var token: String?
    public init() {}

    static let keys: Set<String> = [
        "name", "parent", "categories", "action", "block-lists", "allow-lists", "block", "allow", "overridable", "block-page", "log-queries",
        "networks", "token",
    ]

    static func parse(_ node: Node) throws -> [RawTenant] {
        try RawFields.sequence(node, path: "tenants").enumerated().map { i, n in
            let f = try RawFields(n, path: "tenants[\(i)]", allowed: keys)
            var r = RawTenant()
            r.name = f.scalars["name"]
            r.parent = f.scalars["parent"]
            r.categories = f.list("categories")
            r.action = f.scalars["action"]
            r.blockLists = f.list("block-lists")
            r.allowLists = f.list("allow-lists")
            r.block = f.list("block")
            r.allow = f.list("allow")
            r.overridable = f.list("overridable")
            r.blockPage = f.scalars["block-page"]
            r.logQueries = try f.bool("log-queries")
            r.networks = f.list("networks")
            r.token = f.scalars["token"]
            return r
        }
    }
}
