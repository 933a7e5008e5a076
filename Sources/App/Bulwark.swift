import CBulwarkNet
import DNSTransport
import Logging
import NIOCore
import ServiceLifecycle
import Storage
import Synchronization
import ThreatIntel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The composition root: settings in, a running service group out.
public enum Bulwark {
    public static let version = "0.1.0"

    /// Merges defaults < config file < environment < command line, then validates.
    public static func settings(configFile: String?, flags: RawConfig, environment: [String: String]) throws -> Settings {
        var raw = RawConfig()
        if let path = configFile {
            guard let text = readFile(path) else { throw AppError(.config, "cannot read config file \(path)") }
            raw = try RawConfig.parseYAML(text)
        }
        raw = raw.overlaid(with: try RawConfig.fromEnvironment(environment)).overlaid(with: flags)
        return try Settings.make(raw, coreCount: System.coreCount, readFile: readFile)
    }

    public static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > 16 << 20 { return nil }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Runs the resolver until SIGTERM/SIGINT, then drains and returns.
    public static func serve(_ settings: Settings) async throws {
        // Large buffers (list files, policy arrays) get their own mappings, returned to the
        // system when freed: process memory follows the policy's size across reloads.
        bw_set_mmap_threshold(1 << 20)
        var settings = settings
        let json = settings.logFormat == .json
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level, json: json) }
        let logger = Logger(label: "bulwark")
        for s in settings.skippedSelf {
            logger.warning("skipping resolv.conf nameserver that is this server", metadata: ["nameserver": "\(s)"])
        }
        if settings.listenIsDefault {
            let usable = settings.listen.indices.filter { AddressProbe.isAvailable(settings.listen[$0]) }
            for a in settings.listen.indices where !usable.contains(a) {
                logger.warning("default listen address not available on this host; skipping it", metadata: ["address": "\(settings.listen[a])"])
            }
            if !usable.isEmpty {
                settings.listen = usable.map { settings.listen[$0] }
                settings.listenerProfiles = usable.map { settings.listenerProfiles[$0] }
            }
        }
        // The threat-intel hub: its store opens (and migrates) before anything listens.
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: settings.intel.databasePath)
        } catch {
            throw AppError(.startup, "intel database \(settings.intel.databasePath): \(error)")
        }
        // Tenants made through the API join the file's before the first build.
        let fileTenants = settings.policy
        do {
            let specs = try await store.tenants.all()
            let entries = try await store.tenants.entries()
            if !specs.isEmpty || !entries.isEmpty {
                settings.policy = try TenantAdmin.policySettings(settings.raw, configured: settings.policy, specs, entries)
                logger.info("tenants from the database", metadata: ["tenants": "\(specs.count)", "entries": "\(entries.count)"])
            }
        } catch {
            // Kept in the database; the file's tenants serve until the conflict is fixed.
            logger.error("tenants made through the API do not fit the configuration; serving without them", metadata: ["error": "\(error)"])
        }
        let (dns, policy, rpz) = try await startPolicy(settings, logger: logger)
        let hub: IntelHub
        do {
            hub = try IntelHub(settings: settings.intel, store: store, logger: logger)
        } catch {
            throw AppError(.config, error.reason)
        }
        await policy.attachIntel { await hub.activeRules() }
        await hub.attach(PolicyIntelSink(policy: policy))
        var services: [any Service] = [dns, policy, hub, SightingCollector(dns: dns, policy: policy, hub: hub, interval: settings.intel.sightingInterval, stats: settings.stats, logger: logger)]
        services.append(QueryLogWriter(dns: dns, policy: policy, store: store, retentionDays: settings.queryLogRetentionDays, client: settings.queryLogClient, logger: logger))
        if let rpz { services.append(rpz) }
        if let doh = settings.doh {
            services.append(DoHServer(settings: doh, dns: dns, listenerBase: settings.listen.count + (settings.dot?.listen.count ?? 0), logger: logger))
        }
        if let m = settings.metrics {
            let admin = TenantAdmin(raw: settings.raw, configured: fileTenants, store: store, policy: policy, logger: logger)
            services.append(ControlServer(address: m, dns: dns, policy: policy, hub: hub, rpz: rpz?.publisher, tenantAdmin: admin, logger: logger))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

extension Bulwark {
    /// The first policy engine, the DNS server and policy service that carry it on, and the RPZ
    /// primary. A function of its own so that nothing keeps the first engine alive once a
    /// rebuild replaces it (a local of `serve` would, until shutdown: one policy's memory).
    static func startPolicy(_ settings: Settings, logger: Logger) async throws -> (DNSServer, PolicyService, RPZService?) {
        let (initial, current, statuses, seconds) = PolicyService.initialEngine(settings: settings.policy, dataDirectory: settings.dataDirectory, logger: logger)
        PolicyService.releaseFreedMemory()
        let dns = try await DNSServer(settings: settings, policy: initial, logger: logger)
        // NOTIFY for zones the policy follows (axfr:// sources) reaches the policy service,
        // which exists only after the RPZ service it publishes to.
        let followed = FollowedPolicy()
        let rpz = settings.rpz.flatMap { r in
            r.listen == nil
                ? nil
                : RPZService(settings: r, initial: initial, dataDirectory: settings.dataDirectory, logger: logger) { zone, sender in
                    guard let policy = followed.policy.withLock({ $0 }) else { return false }
                    return await policy.notified(zone: zone, from: sender)
                }
        }
        let policy = PolicyService(
            settings: settings.policy, dataDirectory: settings.dataDirectory, initial: initial, initialIsCurrent: current, statuses: statuses,
            initialSeconds: seconds, logger: logger,
            publish: { engine in
                dns.publish(engine)
                rpz?.publish(engine)
            })
        followed.policy.withLock { $0 = policy }
        return (dns, policy, rpz)
    }
}

/// The policy service, once it exists.
final class FollowedPolicy: Sendable {
    let policy = Mutex<PolicyService?>(nil)
}

/// Intel changes into the in-process policy.
struct PolicyIntelSink: IntelPolicySink {
    let policy: PolicyService
    func apply(adding: [IntelPolicyRule], removing: [IntelPolicyRule]) async {
        await policy.applyIntel(adding: adding, removing: removing)
    }
    func rebuildAll() async {
        await policy.rebuildForIntel()
    }
}
