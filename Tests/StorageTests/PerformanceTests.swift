import Foundation
import Testing

@testable import Storage

@Suite struct PerformanceTests {
    /// 100k records in one call, inserted then updated: a few seconds even in a debug build.
    @Test func upsertsOneHundredThousandRecordsInOneCall() async throws {
        let (store, source) = try await makeStore()
        let records = (0..<100_000).map { i in
            var record = indicator("host-\(i).bad.example", source: source, ref: "attr-\(i / 2)", categories: ["malware", "c2"])
            record.tags = ["tlp:amber", "type:OSINT"]
            record.tlp = "amber"
            record.eventUUID = "event-\(i / 1000)"
            return record
        }
        let clock = ContinuousClock()
        var inserted: [IndicatorChange] = []
        let insertTime = try await clock.measure { inserted = try await store.indicators.upsert(records) }
        var updated: [IndicatorChange] = []
        let updateTime = try await clock.measure { updated = try await store.indicators.upsert(records) }
        var compiled = 0
        let readTime = try await clock.measure {
            try await store.indicators.forEachActive(batch: 10_000) { compiled += $0.count }
        }
        var missing: [IndicatorRecord] = []
        let reconcileTime = try await clock.measure {
            missing = try await store.indicators.activeNotIn(sourceID: source.id!, refs: Set((0..<40_000).map { "attr-\($0)" }))
        }
        var withdrawn: [IndicatorChange] = []
        let withdrawTime = try await clock.measure {
            withdrawn = try await store.indicators.setState(ids: missing.map { $0.id! }, to: .withdrawn, reason: "deleted")
        }
        print(
            "100k upsert: insert \(insertTime), update \(updateTime); forEachActive \(readTime); "
                + "activeNotIn (20k of 100k) \(reconcileTime); setState 20k \(withdrawTime)"
        )
        #expect(missing.count == 20_000 && withdrawn.count == 20_000)
        #expect(inserted.count == 100_000 && inserted.allSatisfy { !$0.wasActive })
        #expect(updated.count == 100_000 && updated.allSatisfy { $0.wasActive })
        #expect(updated.map(\.record.id) == inserted.map(\.record.id))
        #expect(compiled == 100_000)
    }
}
