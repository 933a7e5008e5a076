import Foundation
import Logging
import Pipeline
import Policy
import ServiceLifecycle
import ThreatIntel

/// Collects the resolver's blocks by rule every sighting interval and hands the intel
/// indicators' counts (queries, distinct clients) to the hub, which reports those seen by
/// enough distinct clients to their sources.
final class SightingCollector: Service, Sendable {
    let dns: DNSServer
    let policy: PolicyService
    let hub: IntelHub
    let interval: TimeInterval

    init(dns: DNSServer, policy: PolicyService, hub: IntelHub, interval: TimeInterval) {
        self.dns = dns
        self.policy = policy
        self.hub = hub
        self.interval = interval
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.collect() }
    }

    func collect() async {
        var from = Date()
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            } catch {
                break
            }
            let to = Date()
            let hits = await dns.drainHits()
            let engine = await policy.engine
            await hub.recordHits(Self.aggregate(hits, engine: engine), from: from, to: to)
            from = to
        }
    }

    /// Counts per intel rule (rule id = indicator id): queries and distinct client keys.
    static func aggregate(_ hits: [HitRecord], engine: PolicyEngine) -> [HitCount] {
        let intel = Set(IntelLists.names)
        var isIntel: [UInt16: Bool] = [:]
        var counts: [UInt32: (Int, Set<UInt64>)] = [:]
        for h in hits {
            let yes =
                isIntel[h.list]
                ?? {
                    let v = Int(h.list) < engine.snapshot.lists.count && intel.contains(engine.snapshot.lists[Int(h.list)].name)
                    isIntel[h.list] = v
                    return v
                }()
            guard yes else { continue }
            var c = counts[h.ruleID] ?? (0, [])
            c.0 += 1
            c.1.insert(h.client)
            counts[h.ruleID] = c
        }
        return counts.map { HitCount(indicatorID: Int64($0.key), count: $0.value.0, clients: $0.value.1.count) }
    }
}
