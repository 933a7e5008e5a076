import Crypto
import DNSWire
import Foundation
import Logging
import Pipeline
import Policy
import ServiceLifecycle
import Storage

/// Writes the queries of tenants that opted in (`log-queries: true`) to the store every second,
/// each client replaced by an HMAC-SHA256 of its address under a random key that changes at
/// every UTC midnight and is kept in memory only: within a day one client's queries can be told
/// apart from another's; across days, restarts or outside this process they cannot be linked,
/// and no address is stored. Entries older than `query-log.retention-days` are deleted.
final class QueryLogWriter: Service, Sendable {
    let dns: DNSServer
    let policy: PolicyService
    let store: any IntelStore
    let retentionDays: Int
    let logger: Logger

    init(dns: DNSServer, policy: PolicyService, store: any IntelStore, retentionDays: Int, logger: Logger) {
        self.dns = dns
        self.policy = policy
        self.store = store
        self.retentionDays = retentionDays
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    /// The day's key: (day number, key).
    static func key(for day: Int, current: (Int, SymmetricKey)?) -> (Int, SymmetricKey) {
        if let current, current.0 == day { return current }
        return (day, SymmetricKey(size: .bits256))
    }

    func loop() async {
        var key: (Int, SymmetricKey)? = nil
        var lastPrune = Date.distantPast
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                break
            }
            let records = await dns.drainQueryLog()
            let now = Date()
            if !records.isEmpty {
                let engine = await policy.engine
                let k = Self.key(for: Int(now.timeIntervalSince1970 / 86400), current: key)
                key = k
                let entries = records.compactMap { Self.entry($0, engine: engine, key: k.1) }
                do {
                    try await store.queryLog.append(entries)
                } catch {
                    logger.warning("cannot write the query log", metadata: ["error": "\(error)", "lost": "\(entries.count)"])
                }
            }
            if now.timeIntervalSince(lastPrune) >= 3600 {
                lastPrune = now
                _ = try? await store.queryLog.prune(before: now.addingTimeInterval(-Double(retentionDays) * 86400))
            }
        }
    }

    static func entry(_ r: QueryLogRecord, engine: PolicyEngine, key: SymmetricKey) -> QueryLogEntry? {
        guard Int(r.tenant) < engine.profiles.count else { return nil }
        var address = [UInt8](repeating: 0, count: 17)
        address[0] = r.client.family
        for i in 0..<8 {
            address[1 + i] = UInt8(truncatingIfNeeded: r.client.high >> UInt64(56 - 8 * i))
            address[9 + i] = UInt8(truncatingIfNeeded: r.client.low >> UInt64(56 - 8 * i))
        }
        let mac = HMAC<SHA256>.authenticationCode(for: address, using: key)
        let client = mac.prefix(8).map { String(format: "%02x", $0) }.joined()
        return QueryLogEntry(
            time: Date(timeIntervalSince1970: r.time), tenant: engine.profiles[Int(r.tenant)].name, name: Name(uncheckedWire: r.name).description,
            type: Int(r.type), rcode: Int(r.rcode), blocked: r.blocked, transport: r.transport.description, client: client)
    }
}
