import Foundation
import Logging
import Pipeline
import Policy
import ServiceLifecycle
import Storage
import ThreatIntel

/// Collects the resolver's counters and blocks every statistics interval: per-tenant statistics
/// (queries, blocks by category, blocked names with their distinct clients) go to the store at
/// once; the intel indicators' counts (queries, distinct clients) are added up until the
/// sighting interval is over and handed to the hub, which reports those seen by enough distinct
/// clients to their sources.
final class SightingCollector: Service, Sendable {
    let dns: DNSServer
    let policy: PolicyService
    let hub: IntelHub
    let interval: TimeInterval
    let stats: TenantStatsSettings
    let logger: Logger?

    init(dns: DNSServer, policy: PolicyService, hub: IntelHub, interval: TimeInterval, stats: TenantStatsSettings = .init(), logger: Logger? = nil) {
        self.dns = dns
        self.policy = policy
        self.hub = hub
        self.interval = interval
        self.stats = stats
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.collect() }
    }

    func collect() async {
        var from = Date()
        var bucket = from
        var pending: [UInt32: (Int, Set<UInt64>)] = [:]
        var lastTotals: [UInt64] = []
        var lastPrune = Date.distantPast
        let tick = min(interval, stats.interval)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(Int64(tick * 1000)))
            } catch {
                break
            }
            let now = Date()
            let hits = await dns.drainHits()
            let engine = await policy.engine
            Self.addIntel(hits, engine: engine, to: &pending)
            if now.timeIntervalSince(from) >= interval - 0.001 {
                await hub.recordHits(pending.map { HitCount(indicatorID: Int64($0.key), count: $0.value.0, clients: $0.value.1.count) }, from: from, to: now)
                pending = [:]
                from = now
            }
            // Queries per node: the counters only grow; this interval's are the differences (a
            // round whose counters cannot be read counts none, and the next one catches up).
            var totals = lastTotals
            if let snaps = try? await dns.snapshots() {
                totals = []
                for snap in snaps {
                    let q = snap.pipeline.tenantQueries
                    if q.count > totals.count { totals.append(contentsOf: repeatElement(0, count: q.count - totals.count)) }
                    for i in q.indices { totals[i] &+= q[i] }
                }
            }
            var queries = totals
            for i in queries.indices where i < lastTotals.count { queries[i] = totals[i] >= lastTotals[i] ? totals[i] - lastTotals[i] : 0 }
            lastTotals = totals
            let (rows, names) = Self.tenantStats(queries: queries, hits: hits, engine: engine, bucket: bucket, seconds: now.timeIntervalSince(bucket))
            bucket = now
            do {
                try await hub.store.tenantStats.record(rows, names: names)
                if now.timeIntervalSince(lastPrune) >= 3600 {
                    lastPrune = now
                    _ = try await hub.store.tenantStats.prune(before: now.addingTimeInterval(-Double(stats.retentionDays) * 86400))
                }
            } catch {
                logger?.warning("cannot store tenant statistics", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One interval's rows: per node with traffic, its queries and blocks by category; per
    /// node and blocked rule, the count and the number of distinct clients.
    static func tenantStats(queries: [UInt64], hits: [HitRecord], engine: PolicyEngine, bucket: Date, seconds: Double) -> (
        [TenantStatsRecord], [TenantBlockedName]
    ) {
        var blocked: [UInt32: [String: Int]] = [:]
        struct RuleKey: Hashable {
            var tenant: UInt32
            var list: UInt16
            var ruleID: UInt32
        }
        var rules: [RuleKey: (count: Int, clients: Set<UInt64>, hit: HitRecord)] = [:]
        for h in hits where Int(h.tenant) < engine.profiles.count && Int(h.list) < engine.snapshot.lists.count {
            let list = engine.snapshot.lists[Int(h.list)]
            let matched = list.categories.intersection(engine.categories(of: Int(h.tenant)))
            let category = (matched.first ?? list.categories.first)?.description ?? "other"
            blocked[h.tenant, default: [:]][category, default: 0] += 1
            let k = RuleKey(tenant: h.tenant, list: h.list, ruleID: h.ruleID)
            var r = rules[k] ?? (0, [], h)
            r.count += 1
            r.clients.insert(h.client)
            rules[k] = r
        }
        var rows: [TenantStatsRecord] = []
        for node in engine.profiles.indices {
            let q = node < queries.count ? Int(clamping: queries[node]) : 0
            let b = blocked[UInt32(node)] ?? [:]
            guard q > 0 || !b.isEmpty else { continue }
            rows.append(
                TenantStatsRecord(
                    bucket: bucket, seconds: seconds, tenant: engine.profiles[node].name, queries: q, blocked: b.values.reduce(0, +), byCategory: b))
        }
        let names = rules.map { k, v in
            let name =
                engine.trigger(layer: v.hit.layer, entry: Int(v.hit.entry), list: k.list, ruleID: k.ruleID)
                ?? "\(engine.snapshot.lists[Int(k.list)].name):\(k.ruleID)"
            return TenantBlockedName(bucket: bucket, tenant: engine.profiles[Int(k.tenant)].name, name: name, count: v.count, clients: v.clients.count)
        }
        return (rows, names)
    }

    /// Adds the intel rules' hits (rule id = indicator id) to `counts`: queries and distinct client keys.
    static func addIntel(_ hits: [HitRecord], engine: PolicyEngine, to counts: inout [UInt32: (Int, Set<UInt64>)]) {
        let intel = Set(IntelLists.names)
        var isIntel: [UInt16: Bool] = [:]
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
    }
}
