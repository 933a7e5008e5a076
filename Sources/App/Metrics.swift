import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOHTTP1
import ControlPlane
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import ThreatIntel
import NIOPosix
import Pipeline
import Policy
import Foundation
import Resolver
import RPZ
import ServiceLifecycle

/// Renders counters in the Prometheus text exposition format (0.0.4).
public enum PrometheusText {
    /// The RPZ zones: serials and how many secondaries hold the current one.
    public static func render(rpz zones: [ZoneStatus]) -> String {
        var s = "# HELP bulwark_rpz_serial SOA serial of each published RPZ zone.\n# TYPE bulwark_rpz_serial gauge\n"
        for z in zones { s += "bulwark_rpz_serial{zone=\"\(z.zone)\"} \(z.serial)\n" }
        s += "# HELP bulwark_rpz_secondaries Secondaries seen per zone, and how many hold the current serial.\n"
        s += "# TYPE bulwark_rpz_secondaries gauge\n"
        for z in zones {
            s += "bulwark_rpz_secondaries{zone=\"\(z.zone)\",state=\"current\"} \(z.upToDate)\n"
            s += "bulwark_rpz_secondaries{zone=\"\(z.zone)\",state=\"known\"} \(z.known)\n"
        }
        return s
    }

    public static func render(_ snaps: [LoopSnapshot], policy: PolicyStatus? = nil) -> String {
        var s = ""
        func header(_ name: String, _ type: String, _ help: String) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        let total = snaps.map(\.pipeline).reduce(PipelineStats(), +)
        header("bulwark_queries_total", "counter", "Responses sent, by transport and rcode.")
        for t in TransportKind.allCases {
            for r in 0..<PipelineStats.rcodeSlots {
                let n = total.responses[t.rawValue * PipelineStats.rcodeSlots + r]
                if n > 0 || (r == 0 && (t == .udp || t == .tcp)) {
                    s += "bulwark_queries_total{transport=\"\(t)\",rcode=\"\(Rcode(UInt16(r)))\"} \(n)\n"
                }
            }
        }
        header("bulwark_queries_dropped_total", "counter", "Queries answered with silence (runts, responses sent to us).")
        s += "bulwark_queries_dropped_total \(total.dropped)\n"
        header("bulwark_queries_refused_tenant_total", "counter", "Queries refused with EDE 18: an unknown tenant token, or nobody's client on a tenant-only listener.")
        s += "bulwark_queries_refused_tenant_total \(total.refusedTenant)\n"
        header("bulwark_queries_rate_limited_total", "counter", "Queries over their client's rate limit (limits.client-qps): dropped, refused, or answered truncated.")
        s += "bulwark_queries_rate_limited_total \(total.rateLimited)\n"
        header("bulwark_queries_rate_limit_slipped_total", "counter", "UDP queries over the limit answered with an empty truncated answer (limits.slip).")
        s += "bulwark_queries_rate_limit_slipped_total \(total.rateLimitSlipped)\n"
        header("bulwark_cache_hits_total", "counter", "Queries answered from the cache.")
        s += "bulwark_cache_hits_total \(total.cacheHits)\n"
        header("bulwark_cache_misses_total", "counter", "Queries the cache could not answer.")
        s += "bulwark_cache_misses_total \(total.cacheMisses)\n"
        header("bulwark_cache_stale_answers_total", "counter", "Stale answers served (RFC 8767).")
        s += "bulwark_cache_stale_answers_total \(total.staleAnswers)\n"
        header("bulwark_cache_entries", "gauge", "Entries in the cache.")
        s += "bulwark_cache_entries \(snaps.reduce(0) { $0 + $1.cacheEntries })\n"
        header("bulwark_cache_bytes", "gauge", "Bytes accounted to the cache.")
        s += "bulwark_cache_bytes \(snaps.reduce(0) { $0 + $1.cacheBytes })\n"
        header("bulwark_cache_evictions_total", "counter", "Entries evicted to stay within the memory bound.")
        s += "bulwark_cache_evictions_total \(snaps.reduce(0) { $0 + $1.cacheEvictions })\n"
        header("bulwark_cache_prefetches_total", "counter", "Popular entries refreshed before expiry.")
        s += "bulwark_cache_prefetches_total \(snaps.reduce(0) { $0 + $1.prefetches })\n"
        header("bulwark_upstream_coalesced_total", "counter", "Queries that joined an identical in-flight upstream query.")
        s += "bulwark_upstream_coalesced_total \(snaps.reduce(0) { $0 + $1.coalesced })\n"
        header("bulwark_responses_truncated_total", "counter", "Responses cut to fit the client's UDP size.")
        s += "bulwark_responses_truncated_total \(total.truncated)\n"
        header("bulwark_tcp_connections", "gauge", "Open TCP client connections.")
        s += "bulwark_tcp_connections \(total.tcpConnections)\n"
        header("bulwark_tcp_connections_refused_total", "counter", "TCP connections closed at once for the connection limit.")
        s += "bulwark_tcp_connections_refused_total \(total.tcpConnectionsRefused)\n"

        var buckets = [UInt64](repeating: 0, count: upstreamLatencyBuckets.count + 1)
        var sum = 0.0
        var count: UInt64 = 0
        var timeouts: UInt64 = 0
        var errors: UInt64 = 0
        var tcpRetries: UInt64 = 0
        for snap in snaps {
            for i in buckets.indices { buckets[i] += snap.upstream.latencyBucketCounts[i] }
            sum += snap.upstream.latencySum
            count += snap.upstream.latencyCount
            timeouts += snap.upstream.timeouts
            errors += snap.upstream.errors
            tcpRetries += snap.upstream.tcpRetries
        }
        header("bulwark_upstream_latency_seconds", "histogram", "Time to a usable upstream answer.")
        var cumulative: UInt64 = 0
        for (i, le) in upstreamLatencyBuckets.enumerated() {
            cumulative += buckets[i]
            s += "bulwark_upstream_latency_seconds_bucket{le=\"\(le)\"} \(cumulative)\n"
        }
        cumulative += buckets[upstreamLatencyBuckets.count]
        s += "bulwark_upstream_latency_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        s += "bulwark_upstream_latency_seconds_sum \(sum)\n"
        s += "bulwark_upstream_latency_seconds_count \(count)\n"
        header("bulwark_upstream_timeouts_total", "counter", "Upstream attempts that timed out.")
        s += "bulwark_upstream_timeouts_total \(timeouts)\n"
        header("bulwark_upstream_errors_total", "counter", "Upstream attempts that failed otherwise (refused, SERVFAIL, garbage).")
        s += "bulwark_upstream_errors_total \(errors)\n"
        header("bulwark_upstream_tcp_retries_total", "counter", "Truncated upstream answers retried over TCP.")
        s += "bulwark_upstream_tcp_retries_total \(tcpRetries)\n"
        header("bulwark_upstream_queries_total", "counter", "Queries sent to each upstream.")
        var perUpstream: [String: (queries: UInt64, failures: UInt64, connections: UInt64, handshakeFailures: UInt64)] = [:]
        var tlsUpstreams: Set<String> = []
        for snap in snaps {
            for u in snap.upstreams {
                let cur = perUpstream[u.label] ?? (0, 0, 0, 0)
                perUpstream[u.label] = (
                    cur.queries + u.queries, cur.failures + u.failures, cur.connections + u.connections,
                    cur.handshakeFailures + u.handshakeFailures)
                if u.label.hasPrefix("tls://") { tlsUpstreams.insert(u.label) }
            }
        }
        let sortedUpstreams = perUpstream.sorted(by: { $0.key < $1.key })
        for (k, v) in sortedUpstreams {
            s += "bulwark_upstream_queries_total{upstream=\"\(k)\"} \(v.queries)\n"
        }
        header("bulwark_upstream_failures_total", "counter", "Failed attempts at each upstream.")
        for (k, v) in sortedUpstreams {
            s += "bulwark_upstream_failures_total{upstream=\"\(k)\"} \(v.failures)\n"
        }
        if !tlsUpstreams.isEmpty {
            header("bulwark_upstream_tls_connections_total", "counter", "Connections opened to each DNS-over-TLS upstream (kept open and reused).")
            for (k, v) in sortedUpstreams where tlsUpstreams.contains(k) {
                s += "bulwark_upstream_tls_connections_total{upstream=\"\(k)\"} \(v.connections)\n"
            }
            header("bulwark_upstream_tls_handshake_failures_total", "counter", "Failed TLS handshakes or SPKI pin checks with each DNS-over-TLS upstream.")
            for (k, v) in sortedUpstreams where tlsUpstreams.contains(k) {
                s += "bulwark_upstream_tls_handshake_failures_total{upstream=\"\(k)\"} \(v.handshakeFailures)\n"
            }
        }
        header("bulwark_policy_blocked_total", "counter", "Queries blocked, by what matched (qname, answer) and the rule's category.")
        for c in Category.allCases {
            let n = total.blockedByCategory[Int(c.rawValue)]
            if n > 0 { s += "bulwark_policy_blocked_by_category_total{category=\"\(c)\"} \(n)\n" }
        }
        s += "bulwark_policy_blocked_total{stage=\"qname\"} \(total.blockedQName)\n"
        s += "bulwark_policy_blocked_total{stage=\"answer\"} \(total.blockedAnswer)\n"
        header("bulwark_policy_allowed_total", "counter", "Queries whose name an allow rule covered.")
        s += "bulwark_policy_allowed_total \(total.allowed)\n"
        header("bulwark_policy_audited_total", "counter", "Matches of audit-mode lists (logged, not blocked).")
        s += "bulwark_policy_audited_total \(total.audited)\n"
        if let policy {
            header("bulwark_policy_generation", "gauge", "Policy version in force.")
            s += "bulwark_policy_generation \(policy.generation)\n"
            header("bulwark_policy_names", "gauge", "Name rules in the base snapshot.")
            s += "bulwark_policy_names \(policy.names)\n"
            header("bulwark_policy_prefixes", "gauge", "Address rules in the base snapshot.")
            s += "bulwark_policy_prefixes \(policy.prefixes)\n"
            header("bulwark_policy_delta_rules", "gauge", "Rule changes applied over the base since it was built.")
            s += "bulwark_policy_delta_rules \(policy.deltaRules)\n"
            header("bulwark_policy_build_seconds", "gauge", "Duration of the last snapshot build (or restore at start).")
            s += "bulwark_policy_build_seconds \(policy.lastBuildSeconds)\n"
            header("bulwark_policy_source_rules", "gauge", "Rules loaded per source.")
            for src in policy.sources { s += "bulwark_policy_source_rules{list=\"\(src.name)\"} \(src.rules)\n" }
            header("bulwark_policy_source_skipped_lines", "gauge", "Lines skipped per source in its last load.")
            for src in policy.sources { s += "bulwark_policy_source_skipped_lines{list=\"\(src.name)\"} \(src.skipped)\n" }
            header("bulwark_policy_source_failures_total", "counter", "Failed loads per source (the last good copy stayed in force).")
            for src in policy.sources { s += "bulwark_policy_source_failures_total{list=\"\(src.name)\"} \(src.failures)\n" }
            header("bulwark_policy_source_stale", "gauge", "1 when a source's last good copy is in force instead of its current contents.")
            for src in policy.sources { s += "bulwark_policy_source_stale{list=\"\(src.name)\"} \(src.usingLastGood ? 1 : 0)\n" }
        }
        return s
    }
}

/// The control plane's HTTP server (Hummingbird) on the metrics address: `/metrics`,
/// `/health`, the loopback policy interface (`/v1/policy/…`), the REST API (`/api/v1`) and the
/// MISP-compatible API at the root.
public final class ControlServer: Service, Sendable {
    let address: SocketAddress
    let dns: DNSServer
    let policy: PolicyService?
    let tenantAdmin: (any TenantAdministration)?
    let hub: IntelHub
    let rpz: RPZPublisher?
    let logger: Logger

    public init(
        address: SocketAddress, dns: DNSServer, policy: PolicyService? = nil, hub: IntelHub, rpz: RPZPublisher? = nil,
        tenantAdmin: (any TenantAdministration)? = nil, logger: Logger
    ) {
        self.tenantAdmin = tenantAdmin
        self.address = address
        self.dns = dns
        self.policy = policy
        self.hub = hub
        self.rpz = rpz
        self.logger = logger
    }

    func endpoints() -> [HostedEndpoint] {
        let dns = self.dns
        let policy = self.policy
        let hub = self.hub
        let rpz = self.rpz
        var out: [HostedEndpoint] = [
            HostedEndpoint(methods: [.get, .head], path: "/metrics") { _ in
                do {
                    var text = PrometheusText.render(try await dns.snapshots(), policy: policy?.status.withLock { $0 }) + (await hub.prometheusText())
                    if let rpz { text += PrometheusText.render(rpz: await rpz.status()) }
                    if let limiter = dns.connectionLimiter {
                        text += "# HELP bulwark_connections_refused_per_client_total TCP, DoT and DoH connections closed at once: their client had limits.connections-per-client open.\n"
                        text += "# TYPE bulwark_connections_refused_per_client_total counter\n"
                        text += "bulwark_connections_refused_per_client_total \(limiter.refused)\n"
                    }
                    return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Data(text.utf8))
                } catch {
                    return .init(status: 503, contentType: "text/plain", body: Data("unavailable\n".utf8))
                }
            },
            HostedEndpoint(methods: [.get, .head], path: "/health") { _ in .init(status: 200, contentType: "text/plain", body: Data("ok\n".utf8)) },
        ]
        if let rpz {
            // Which secondary holds which serial: from this machine only, like the policy calls.
            out.append(
                HostedEndpoint(methods: [.get, .head], path: "/v1/rpz/status") { r in
                    guard r.loopback else {
                        return .init(status: 403, contentType: "application/json", body: Data(#"{"error":"served on a loopback address only"}"#.utf8))
                    }
                    let e = JSONEncoder()
                    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    e.dateEncodingStrategy = .iso8601
                    let body = (try? e.encode(["zones": await rpz.status()])) ?? Data("{}".utf8)
                    return .init(status: 200, contentType: "application/json", body: body)
                })
        }
        if let policy {
            // Policy changes only from this machine: explanations name TLP:AMBER sources and
            // these calls take no key.
            for (path, methods) in [
                ("/v1/policy/check", [HTTPRequest.Method.get, .head]), ("/v1/policy/status", [.get, .head]), ("/v1/policy/reload", [.post]),
                ("/v1/policy/rules", [.post, .delete]),
            ] {
                out.append(
                    HostedEndpoint(methods: methods, path: path) { r in
                        let (status, body) = await PolicyAdmin.handle(
                            method: HTTPMethod(rawValue: r.method), path: r.path, query: r.query, policy: policy, admin: r.loopback)
                        return .init(status: Int(status.code), contentType: "application/json", body: Data(body.utf8))
                    })
            }
        }
        return out
    }

    public func run() async throws {
        var engine: (@Sendable () async -> PolicyEngine)? = nil
        if let p = self.policy { engine = { await p.engine } }
        var control = ControlRouter(hub: hub, hosted: endpoints(), policy: engine, logger: logger)
        control.statsMinClients = dns.settings.stats.minClients
        control.tenantAdmin = tenantAdmin
        let tls = dns.settings.controlTLS
        control.tls = tls != nil
        let router = control.build()
        let host = address.ipAddress ?? "127.0.0.1"
        let port = address.port ?? 8053
        let logger = self.logger
        let server: HTTPServerBuilder
        if let tls {
            do {
                server = try .http2Upgrade(tlsConfiguration: TLSIdentity.serverConfiguration(certificate: tls.certificate, privateKey: tls.privateKey))
            } catch {
                throw AppError(.startup, "control plane TLS: \(error)")
            }
        } else {
            server = .http1()
        }
        let scheme = tls == nil ? "http" : "https"
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "Bulwark/\(Bulwark.version)"),
            onServerRunning: { _ in
                logger.info("control plane listening", metadata: ["address": "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)/"])
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            throw AppError(.startup, "control plane \(address): \(error)")
        }
    }
}
