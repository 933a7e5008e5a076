import DNSTransport
import Foundation
import DNSWire
import Logging
import NIOCore
import Pipeline
import Resolver
import RPZ
import ThreatIntel

/// Validated, normalised settings: what the server runs with.
public struct Settings: Sendable {
    public enum LogFormat: String, Sendable { case text, json }
    /// How UDP is served: Bulwark's own batched socket threads, or SwiftNIO datagram channels.
    public enum UDPEngine: String, Sendable { case native, nio }

    public var listen: [SocketAddress]
    /// True when `listen` is the built-in default (then an address family the host lacks, such
    /// as IPv6 in some containers, is skipped with a warning instead of failing startup).
    public var listenIsDefault: Bool = false
    /// Upstream resolvers: plain DNS (UDP, TCP on truncation) or DNS over TLS.
    public var upstreams: [UpstreamServer]
    public var threads: Int
    public var dataDirectory: String
    public var metrics: SocketAddress?
    public var logFormat: LogFormat
    public var logLevel: Logger.Level
    public var allow: [CIDR]
    public var cache: CacheConfig
    public var forwarder: ForwarderConfig
    public var maxUDPSize: Int
    public var udpEngine: UDPEngine
    public var tcp: TCPLimits
    public var maxTCPConnections: Int
    public var drainTimeout: TimeAmount
    /// Nameservers of resolv.conf skipped because they are this server.
    public var skippedSelf: [String] = []
    public var policy = PolicySettings()
    public var intel: IntelSettings
    /// The RPZ primary (nil: not published).
    public var rpz: RPZSettings?
    /// DNS over TLS (RFC 7858; nil: off).
    public var dot: DoTSettings?
    /// DNS over HTTPS (RFC 8484; nil: off).
    public var doh: DoHSettings?
    /// The SVCB records of `_dns.resolver.arpa` (RFC 9462), from `ddr.name` and the DoT/DoH listeners.
    public var designatedResolvers: [RData] = []
    /// Profile index per entry of `listen`.
    public var listenerProfiles: [Int] = []
    /// The configuration as written, without `tenants:` (tenants made through the API are
    /// validated with it and the file's tenants, which `policy.profiles` holds).
    public var raw = RawConfig()
    /// How long logged queries (tenants with `log-queries`) are kept.
    public var queryLogRetentionDays = 7
    /// How logged queries name their client.
    public var queryLogClient = QueryLogClient.hmac
    /// Per-client query rate limit (`limits.*`; nil = off) and the UDP slip.
    public var rateLimit: ClientRateLimiter.Config? = nil
    public var slip = 2
    /// Open TCP, DoT and DoH connections per client address (0 = no limit per client).
    public var connectionsPerClient = 0
    /// HTTPS for the control plane (`metrics.certificate`, `metrics.private-key`): PEM files.
    public var controlTLS: (certificate: String, privateKey: String)? = nil
    /// Clients neither limit applies to (`limits.exempt`, default loopback).
    public var connectionExempt: [CIDR] = []
    /// Per-tenant statistics (`stats.*`).
    public var stats = TenantStatsSettings()
    /// Per listener (plain, then DoT, then DoH): serves known tenants only.
    public var tenantOnlyListeners: [Bool] = []

    public static let defaultListen = ["127.0.0.1:53", "[::1]:53"]

    /// Validates `raw`; `readFile` reads resolv.conf (injectable for tests).
    public static func make(_ raw: RawConfig, coreCount: Int, readFile: (String) -> String?) throws -> Settings {
        var listen = try (raw.listen ?? defaultListen).map { try parseAddress($0, what: "listen") }
        guard !listen.isEmpty else { throw AppError(.config, "listen: at least one address is needed") }
        let (policy, profileListeners) = try PolicySettings.make(raw)
        var listenerProfiles = [Int](repeating: policy.defaultProfile, count: listen.count)
        for (address, profile) in profileListeners {
            if let i = listen.firstIndex(where: { sameEndpoint($0, address) }) {
                listenerProfiles[i] = profile
            } else {
                listen.append(address)
                listenerProfiles.append(profile)
            }
        }
        var tenantOnly = [Bool](repeating: false, count: listen.count)
        for address in policy.tenantListen {
            if let i = listen.firstIndex(where: { sameEndpoint($0, address) }) {
                tenantOnly[i] = true
            } else {
                listen.append(address)
                listenerProfiles.append(policy.defaultProfile)
                tenantOnly.append(true)
            }
        }
        var skipped: [String] = []
        var upstreams: [UpstreamServer]
        if let list = raw.upstreams, !list.isEmpty {
            upstreams = try list.map { try parseUpstream($0) }
        } else {
            let path = raw.resolvConf ?? "/etc/resolv.conf"
            guard let text = readFile(path) else {
                throw AppError(.config, "no upstreams given and \(path) cannot be read; use --upstream ADDR:PORT")
            }
            upstreams = []
            for ns in parseResolvConf(text) {
                guard let a = try? SocketAddress(ipAddress: ns, port: 53) else { continue }
                if isSelf(a, listen: listen) {
                    skipped.append(ns)
                } else {
                    upstreams.append(UpstreamServer(a))
                }
            }
            guard !upstreams.isEmpty else {
                let why = skipped.isEmpty ? "it lists no nameserver" : "its nameservers (\(skipped.joined(separator: ", "))) are this server"
                throw AppError(.config, "no upstreams given and \(path) is of no use: \(why); use --upstream ADDR:PORT")
            }
        }
        for u in upstreams where u.tls == nil && listen.contains(where: { sameEndpoint($0, u.address) }) {
            throw AppError(.config, "upstream \(u) is one of this server's listen addresses: it would forward to itself")
        }
        let threads = raw.threads ?? 0
        guard (0...256).contains(threads) else { throw AppError(.config, "threads: 0 (one per core) to 256") }
        var metrics: SocketAddress? = nil
        let m = raw.metrics ?? "127.0.0.1:8053"
        if m != "off" && m != "" { metrics = try parseAddress(m, what: "metrics") }
        guard let format = LogFormat(rawValue: raw.logFormat ?? "text") else {
            throw AppError(.config, "log.format: text or json")
        }
        guard let level = Logger.Level(rawValue: raw.logLevel ?? "info") else {
            throw AppError(.config, "log.level: trace, debug, info, notice, warning, error or critical")
        }
        var allow = AccessList.defaultAllow
        if let a = raw.allow {
            allow = try a.map { s in
                guard let c = CIDR(s) else { throw AppError(.config, "acl.allow: '\(s)' is not a CIDR") }
                return c
            }
        }
        var cache = CacheConfig()
        if let v = raw.cacheMaxBytes {
            guard v >= 1 << 16 else { throw AppError(.config, "cache.max-bytes: at least 65536") }
            cache.maxBytes = v
        }
        func ttl(_ v: Int?, _ name: String) throws -> UInt32? {
            guard let v else { return nil }
            guard (0...Int(Int32.max)).contains(v) else { throw AppError(.config, "\(name): 0 to 2147483647 seconds") }
            return UInt32(v)
        }
        if let v = try ttl(raw.cacheMinTTL, "cache.min-ttl") { cache.minTTL = v }
        if let v = try ttl(raw.cacheMaxTTL, "cache.max-ttl") { cache.maxTTL = v }
        guard cache.minTTL <= cache.maxTTL else { throw AppError(.config, "cache.min-ttl is above cache.max-ttl") }
        if let v = try ttl(raw.cacheMaxNegativeTTL, "cache.max-negative-ttl") { cache.maxNegativeTTL = v }
        if let v = raw.serveStale { cache.serveStale = v }
        if let v = try ttl(raw.staleAnswerTTL, "cache.stale-answer-ttl") { cache.staleAnswerTTL = v }
        if let v = try ttl(raw.maxStale, "cache.max-stale") { cache.maxStale = v }
        if let v = raw.prefetch { cache.prefetch = v }
        var fwd = ForwarderConfig()
        if let v = raw.upstreamTimeoutMs {
            guard (10...60000).contains(v) else { throw AppError(.config, "upstream.timeout-ms: 10 to 60000") }
            fwd.attemptTimeout = .milliseconds(Int64(v))
        }
        if let v = raw.upstreamMaxAttempts {
            guard (1...16).contains(v) else { throw AppError(.config, "upstream.max-attempts: 1 to 16") }
            fwd.maxAttempts = v
        }
        let udpMax = raw.udpMaxSize ?? 1232
        guard (512...4096).contains(udpMax) else { throw AppError(.config, "udp.max-size: 512 to 4096") }
        guard let engine = UDPEngine(rawValue: raw.udpEngine ?? "native") else {
            throw AppError(.config, "udp.engine: native or nio")
        }
        var tcp = TCPLimits()
        if let v = raw.tcpIdleTimeoutMs {
            guard (100...3_600_000).contains(v) else { throw AppError(.config, "tcp.idle-timeout-ms: 100 to 3600000") }
            tcp.idleTimeout = .milliseconds(Int64(v))
        }
        if let v = raw.tcpMaxInFlight {
            guard (1...65535).contains(v) else { throw AppError(.config, "tcp.max-in-flight: 1 to 65535") }
            tcp.maxInFlightPerConnection = v
        }
        let maxConn = raw.tcpMaxConnections ?? 1024
        guard maxConn >= 1 else { throw AppError(.config, "tcp.max-connections: at least 1") }
        let drain = raw.drainTimeoutMs ?? 5000
        guard (0...600_000).contains(drain) else { throw AppError(.config, "shutdown.drain-timeout-ms: 0 to 600000") }
        var settings = Settings(
            listen: listen, upstreams: upstreams, threads: threads == 0 ? max(1, coreCount) : threads,
            dataDirectory: raw.data ?? "./bulwark-data", metrics: metrics, logFormat: format, logLevel: level, allow: allow,
            cache: cache, forwarder: fwd, maxUDPSize: udpMax, udpEngine: engine, tcp: tcp, maxTCPConnections: maxConn,
            drainTimeout: .milliseconds(Int64(drain)), skippedSelf: skipped,
            intel: try IntelSettings.make(raw.intel, dataDirectory: raw.data ?? "./bulwark-data", environment: raw.intelKey))
        if let db = raw.intelDatabase { settings.intel.databasePath = db }
        for k in settings.intel.keys {
            if let t = k.tenant, !policy.profiles[policy.firstTenant...].contains(where: { $0.name == t }) {
                throw AppError(.config, "intel.keys (\(k.name)).tenant: no tenant named '\(t)'")
            }
        }
        settings.listenIsDefault = raw.listen == nil && profileListeners.isEmpty && policy.tenantListen.isEmpty
        settings.policy = policy
        settings.listenerProfiles = listenerProfiles
        settings.tenantOnlyListeners = tenantOnly
        // Without its tenants: they live on as the policy's profiles (one copy, not two).
        var kept = raw
        kept.tenants = nil
        settings.raw = kept
        if let v = raw.statsInterval {
            guard (1...86400).contains(v) else { throw AppError(.config, "stats.interval: 1 to 86400 seconds") }
            settings.stats.interval = Double(v)
        }
        if let v = raw.statsRetentionDays {
            guard (1...3650).contains(v) else { throw AppError(.config, "stats.retention-days: 1 to 3650") }
            settings.stats.retentionDays = v
        }
        if let v = raw.queryLogRetentionDays {
            guard (1...3650).contains(v) else { throw AppError(.config, "query-log.retention-days: 1 to 3650") }
            settings.queryLogRetentionDays = v
        }
        let exempt = try (raw.limitExempt ?? ["127.0.0.0/8", "::1/128"]).map { s -> CIDR in
            guard let c = CIDR(s) else { throw AppError(.config, "limits.exempt: '\(s)' is not a CIDR") }
            return c
        }
        let qps = raw.limitClientQPS ?? 0
        guard (0...1_000_000).contains(qps) else { throw AppError(.config, "limits.client-qps: 0 (off) to 1000000") }
        if qps > 0 {
            let burst = raw.limitClientBurst.flatMap { $0 == 0 ? nil : $0 } ?? min(qps, ClientRateLimiter.maxBurst)
            guard (1...ClientRateLimiter.maxBurst).contains(burst) else {
                throw AppError(.config, "limits.client-burst: 1 to \(ClientRateLimiter.maxBurst)")
            }
            settings.rateLimit = ClientRateLimiter.Config(qps: qps, burst: burst, exempt: exempt)
        } else if let b = raw.limitClientBurst, b != 0 {
            throw AppError(.config, "limits.client-burst: needs limits.client-qps")
        }
        if let v = raw.limitSlip {
            guard (0...10).contains(v) else { throw AppError(.config, "limits.slip: 0 (drop all) to 10") }
            settings.slip = v
        }
        if let v = raw.limitConnectionsPerClient {
            guard v >= 0 else { throw AppError(.config, "limits.connections-per-client: 0 (no limit) or more") }
            settings.connectionsPerClient = v
        }
        settings.connectionExempt = exempt
        switch (raw.controlCertificate, raw.controlPrivateKey) {
        case (nil, nil): break
        case (let c?, let k?):
            // Checked now: a typo must stop the start, not leave the API on plain HTTP.
            do {
                _ = try TLSIdentity.serverConfiguration(certificate: c, privateKey: k)
            } catch {
                throw AppError(.config, "metrics.certificate / metrics.private-key: \(error)")
            }
            settings.controlTLS = (c, k)
        default: throw AppError(.config, "metrics.certificate and metrics.private-key go together")
        }
        if let v = raw.queryLogClient {
            guard let form = QueryLogClient(rawValue: v) else { throw AppError(.config, "query-log.client: hmac or truncated") }
            settings.queryLogClient = form
        }
        if let v = raw.statsMinClients {
            guard (1...1_000_000).contains(v) else { throw AppError(.config, "stats.min-clients: at least 1") }
            settings.stats.minClients = v
        }
        settings.rpz = try RPZSettings.make(raw.rpz, policy: policy.config, profiles: policy.profiles)
        settings.dot = try DoTSettings.make(raw, listen: settings.listen)
        settings.doh = try DoHSettings.make(raw, dot: settings.dot, listen: settings.listen)
        settings.designatedResolvers = try DesignatedResolvers.records(name: raw.ddrName, dot: settings.dot, doh: settings.doh)
        if let rpz = settings.rpz {
            settings.policy.transferKeys = rpz.keys
            if let l = rpz.listen, listen.contains(where: { sameEndpoint($0, l) }) {
                throw AppError(.config, "rpz.listen: \(l) is also a DNS listener; give the RPZ primary its own port")
            }
        }
        for spec in settings.policy.sources {
            if case .url(let u) = spec.location, let t = TransferSource(u), let k = t.key, !settings.policy.transferKeys.contains(where: { $0.name == k }) {
                throw AppError(.config, "policy.sources (\(spec.name)): no key named '\(k)' in rpz.keys")
            }
        }
        return settings
    }

    /// `ADDR:PORT`, `[V6]:PORT`, or a bare address (port 53).
    public static func parseAddress(_ text: String, what: String) throws -> SocketAddress {
        var host = text
        var port = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw AppError(.config, "\(what): '\(text)' lacks ']'") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", let p = Int(rest.dropFirst()) else { throw AppError(.config, "\(what): bad port in '\(text)'") }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { throw AppError(.config, "\(what): bad port in '\(text)'") }
            port = p
        }
        guard (0...65535).contains(port) else { throw AppError(.config, "\(what): port \(port) out of range") }
        guard IPAddress(host) != nil else { throw AppError(.config, "\(what): '\(host)' is not an IP address") }
        do {
            return try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw AppError(.config, "\(what): '\(text)': \(error)")
        }
    }

    /// One upstream: `ADDR[:PORT]` (plain DNS, port 53), or DNS over TLS (port 853):
    /// `tls://ADDR[:PORT][#NAME][?name=NAME&ca=FILE&pin=BASE64…]`. NAME is the name its
    /// certificate must carry (without one, its IP address); `ca` a PEM file of trust roots
    /// (default: the system store); each `pin` a base64 SHA-256 of an accepted
    /// SubjectPublicKeyInfo (RFC 7469 `pin-sha256`).
    public static func parseUpstream(_ text: String) throws -> UpstreamServer {
        let scheme = "tls://"
        guard text.lowercased().hasPrefix(scheme) else {
            return UpstreamServer(try parseAddress(text, what: "upstreams"))
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var options: [(String, String)] = []
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                guard let eq = pair.firstIndex(of: "=") else { throw AppError(.config, "upstreams: '\(text)': '\(pair)' is not KEY=VALUE") }
                options.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
            }
            rest = rest[..<q]
        }
        var name: String? = nil
        if let hash = rest.firstIndex(of: "#") {
            name = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        var ca: String? = nil
        var pins: [[UInt8]] = []
        for (key, value) in options {
            switch key {
            case "name": name = value
            case "ca": ca = value
            case "pin":
                let b64 = value.hasPrefix("sha256/") ? String(value.dropFirst(7)) : value
                guard let digest = Data(base64Encoded: b64), digest.count == 32 else {
                    throw AppError(.config, "upstreams: '\(text)': pin '\(value)' is not a base64 SHA-256 digest")
                }
                pins.append([UInt8](digest))
            default:
                throw AppError(.config, "upstreams: '\(text)': unknown option '\(key)' (name, ca, pin)")
            }
        }
        var address = String(rest)
        if address.hasPrefix("[") {
            if address.hasSuffix("]") { address += ":853" }
        } else if !address.contains(":") {
            address += ":853"
        } else if address.filter({ $0 == ":" }).count > 1 {
            address = "[\(address)]:853"
        }
        let socket = try parseAddress(address, what: "upstreams")
        do {
            return UpstreamServer(socket, tls: try UpstreamTLS(serverName: name.flatMap { $0.isEmpty ? nil : $0 }, caFile: ca, spkiPins: pins))
        } catch {
            throw AppError(.config, "upstreams: '\(text)': \(error)")
        }
    }

    static func parseResolvConf(_ text: String) -> [String] {
        var out: [String] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            var ns = String(fields[1])
            if let pct = ns.firstIndex(of: "%") { ns = String(ns[..<pct]) }
            if IPAddress(ns) != nil { out.append(ns) }
        }
        return out
    }

    static func sameEndpoint(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
        a.port == b.port && a.ipAddress == b.ipAddress
    }

    /// Would forwarding to `a` reach one of our own listeners?
    static func isSelf(_ a: SocketAddress, listen: [SocketAddress]) -> Bool {
        for l in listen where l.port == a.port {
            if l.ipAddress == a.ipAddress { return true }
            let wildcard = l.ipAddress == "0.0.0.0" || l.ipAddress == "::"
            let loopback = a.ipAddress?.hasPrefix("127.") == true || a.ipAddress == "::1"
            if wildcard && loopback { return true }
        }
        return false
    }
}

/// Per-tenant statistics: counts per interval kept `retentionDays`; a blocked name is shown to a
/// tenant's keys only when at least `minClients` distinct clients asked for it in one interval.
public struct TenantStatsSettings: Sendable, Equatable {
    public var interval: Double = 300
    public var retentionDays = 30
    public var minClients = 10
    public init() {}
}
