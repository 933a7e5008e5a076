import Crypto
import DNSTransport
import DNSWire
import Foundation
import Logging
import Pipeline
import Policy
import ServiceLifecycle
import Storage

/// How a logged query names its client (`query-log.client`).
public enum QueryLogClient: String, Sendable {
    /// The first 64 bits of an HMAC-SHA256 of the address under the day's in-memory key.
    case hmac
    /// The address cut to its /24 (IPv4) or /56 (IPv6) network.
    case truncated
}

/// Writes the queries of tenants that opted in (`log-queries: true`) to the store every second,
/// each client replaced (`query-log.client`) by an HMAC-SHA256 of its address under a random key
/// that changes at every UTC midnight and is kept in memory only (within a day one client's
/// queries can be told apart from another's; across days, restarts or outside this process they
/// cannot be linked), or by its /24 or /56 network. No address is stored. Entries older than
/// `query-log.retention-days` are deleted.
final class QueryLogWriter: Service, Sendable {
    let dns: DNSServer
    let policy: PolicyService
    let store: any IntelStore
    let retentionDays: Int
    let client: QueryLogClient
    let logger: Logger

    init(dns: DNSServer, policy: PolicyService, store: any IntelStore, retentionDays: Int, client: QueryLogClient = .hmac, logger: Logger) {
        self.dns = dns
        self.policy = policy
        self.store = store
        self.retentionDays = retentionDays
        self.client = client
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
                let form = client
                let entries = records.compactMap { Self.entry($0, engine: engine, key: k.1, form: form) }
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

    static func entry(_ r: QueryLogRecord, engine: PolicyEngine, key: SymmetricKey, form: QueryLogClient = .hmac) -> QueryLogEntry? {
        guard Int(r.tenant) < engine.profiles.count else { return nil }
        let client: String
        switch form {
        case .hmac:
            var address = [UInt8](repeating: 0, count: 17)
            address[0] = r.client.family
            for i in 0..<8 {
                address[1 + i] = UInt8(truncatingIfNeeded: r.client.high >> UInt64(56 - 8 * i))
                address[9 + i] = UInt8(truncatingIfNeeded: r.client.low >> UInt64(56 - 8 * i))
            }
            let mac = HMAC<SHA256>.authenticationCode(for: address, using: key)
            client = mac.prefix(8).map { String(format: "%02x", $0) }.joined()
        case .truncated:
            client = Self.network(r.client)
        }
        return QueryLogEntry(
            time: Date(timeIntervalSince1970: r.time), tenant: engine.profiles[Int(r.tenant)].name, name: Name(uncheckedWire: r.name).description,
            type: Int(r.type), rcode: Int(r.rcode), blocked: r.blocked, transport: r.transport.description, client: client)
    }

    /// The client's /24 (IPv4, also when IPv4-mapped) or /56 (IPv6) network, as text.
    static func network(_ c: ClientAddress) -> String {
        let v4: UInt32? =
            c.family == 4 ? UInt32(truncatingIfNeeded: c.low) : (c.family == 6 && c.high == 0 && c.low >> 32 == 0xFFFF ? UInt32(truncatingIfNeeded: c.low) : nil)
        if let v4 {
            return "\(v4 >> 24).\((v4 >> 16) & 0xFF).\((v4 >> 8) & 0xFF).0/24"
        }
        guard c.family == 6 else { return "unknown" }
        let h = c.high & ~UInt64(0xFF)
        let groups = (0..<4).map { String((h >> UInt64(48 - 16 * $0)) & 0xFFFF, radix: 16) }
        return groups.joined(separator: ":") + "::/56"
    }
}
