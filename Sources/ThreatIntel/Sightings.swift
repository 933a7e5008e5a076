import AsyncHTTPClient
import Foundation
import Storage

/// Resolver hits on one indicator over one interval: how many blocked queries, from how many
/// distinct clients (counted by keyed hash in the data plane; no address leaves it).
public struct HitCount: Sendable, Equatable {
    public var indicatorID: Int64
    public var count: Int
    public var clients: Int

    public init(indicatorID: Int64, count: Int, clients: Int) {
        self.indicatorID = indicatorID
        self.count = count
        self.clients = clients
    }
}

extension IntelHub {
    /// Records one interval's hits: an indicator hit by at least `sightingMinClients` distinct
    /// clients gets a sighting (type 0) queued for its source; fewer clients, nothing is kept or
    /// sent (a count from a handful of clients could identify them).
    @discardableResult
    public func recordHits(_ counts: [HitCount], from: Date, to: Date) async -> Int {
        var queued = 0
        for h in counts where h.clients >= settings.sightingMinClients {
            do {
                guard let r = try await store.indicators.get(id: h.indicatorID) else { continue }
                _ = try await store.sightings.add(
                    SightingRecord(
                        indicatorID: h.indicatorID, value: r.value, type: 0, source: "bulwark", count: h.count, distinctClients: h.clients,
                        intervalStart: from, intervalEnd: to))
                queued += 1
            } catch {
                logger.warning("cannot record sightings", metadata: ["error": "\(error)"])
            }
        }
        return queued
    }

    /// Posts every queued sighting (resolver hits, type 0; false-positive reports, type 1) to the
    /// MISP source its indicator came from; sightings of indicators from other sources are
    /// marked done without sending (all of them without a client: no source to send to). A
    /// failed post stays queued for the next round.
    @discardableResult
    public func reportSightings(client: HTTPClient?) async -> Int {
        var sent = 0
        let mispSources = Dictionary(uniqueKeysWithValues: settings.sources.filter { $0.kind == .misp }.map { ($0.name, $0) })
        do {
            let names = try await sourceNames()
            for type in [0, 1] {
                let queued = try await store.sightings.unreported(type: type, limit: 1000)
                var done: [Int64] = []
                for s in queued {
                    guard let client, let iid = s.indicatorID, let r = try await store.indicators.get(id: iid), let name = names[r.sourceID],
                        let spec = mispSources[name], let url = spec.url
                    else {
                        if let id = s.id { done.append(id) }
                        continue
                    }
                    var misp = MISPClient(baseURL: url, key: spec.key ?? "", http: client)
                    misp.attempts = 1
                    let detail =
                        type == 0
                        ? "Bulwark: \(s.count) blocked queries from \(s.distinctClients) clients"
                        : "Bulwark: false positive reported by \(s.source ?? "an operator")"
                    do {
                        if let uuid = r.attributeUUID {
                            try await misp.addSighting(attribute: uuid, type: type, source: detail, timestamp: s.intervalEnd ?? s.createdAt)
                        } else {
                            try await misp.addSighting(value: r.originalValue ?? r.value, type: type, source: detail, timestamp: s.intervalEnd ?? s.createdAt)
                        }
                        if let id = s.id { done.append(id) }
                        sent += 1
                    } catch {
                        logger.warning("sighting not delivered; retrying later", metadata: ["source": "\(name)", "error": "\(error.reason)"])
                    }
                }
                if !done.isEmpty { try await store.sightings.markReported(ids: done, at: Date()) }
            }
        } catch {
            // At shutdown the round is cancelled: that is not a failure worth a warning.
            if !Task.isCancelled { logger.warning("sightings round failed", metadata: ["error": "\(error)"]) }
        }
        return sent
    }

    func sightingLoop(client: HTTPClient?) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(min(settings.sightingInterval, 60)))
            await reportSightings(client: client)
        }
    }
}
