import Foundation
import Testing

@testable import Storage

@Suite struct IndicatorTests {
    @Test func upsertInsertsThenUpdatesKeepingIdAndCreatedAt() async throws {
        let (store, source) = try await makeStore()
        var full = indicator("evil.example", source: source, ref: "attr-1", categories: ["malware", "phishing"])
        full.tags = ["tlp:amber", "misp-galaxy:x=\"y\""]
        full.tlp = "amber"
        full.distribution = 1
        full.toIDS = true
        full.eventUUID = "event-1"
        full.eventID = "42"
        full.attributeUUID = "attr-1"
        full.originalType = "domain"
        full.originalValue = "evil[.]example"
        full.orgName = "CERT-EX"
        full.comment = "seen in campaign"
        full.firstSeen = t0
        full.lastSeen = t0.addingTimeInterval(60)
        full.validUntil = t0.addingTimeInterval(86_400)
        full.decayScore = 0.75
        full.stateReason = nil
        full.sourceTimestamp = 1_700_000_123

        let inserted = try await store.indicators.upsert([full, indicator("other.example", source: source)])
        #expect(inserted.count == 2)
        #expect(inserted.allSatisfy { !$0.wasActive && $0.previousValue == nil && $0.previousKind == nil && $0.previousCategories == nil })
        let id = try #require(inserted[0].record.id)
        #expect(inserted[1].record.id != id)
        var expected = full
        expected.id = id
        #expect(inserted[0].record == expected)
        #expect(try await store.indicators.get(id: id) == expected, "every field round-trips")

        var edited = indicator("evil.example", source: source, ref: "attr-1", kind: .hostname, categories: ["c2"])
        edited.createdAt = t0.addingTimeInterval(999)
        edited.updatedAt = t0.addingTimeInterval(1000)
        let updated = try await store.indicators.upsert([edited])
        #expect(updated.count == 1)
        let change = updated[0]
        #expect(change.record.id == id)
        #expect(change.record.createdAt == t0, "createdAt of the existing row is kept")
        #expect(change.record.updatedAt == t0.addingTimeInterval(1000))
        #expect(change.wasActive)
        #expect(change.previousValue == "evil.example")
        #expect(change.previousKind == .domain)
        #expect(change.previousCategories == ["malware", "phishing"])
        let stored = try #require(try await store.indicators.get(id: id))
        #expect(stored == change.record)
        #expect(stored.kind == .hostname && stored.categories == ["c2"] && stored.tags == [] && stored.tlp == nil)
    }

    @Test func upsertOfAnInactiveRowSaysItWasNotActive() async throws {
        let (store, source) = try await makeStore()
        _ = try await store.indicators.upsert([indicator("held.example", source: source, state: .suppressed)])
        let change = try await store.indicators.upsert([indicator("held.example", source: source)])[0]
        #expect(!change.wasActive)
        #expect(change.previousKind == .domain)
        #expect(change.record.isActive)
    }

    @Test func theKeyIsSourceRefAndValue() async throws {
        let (store, source) = try await makeStore()
        let other = try await store.sources.ensure(name: "feed", type: "freetext", url: nil, orgID: nil)
        let changes = try await store.indicators.upsert([
            indicator("x.example", source: source, ref: "a"),
            indicator("x.example", source: source, ref: "b"),
            indicator("x.example", source: source, ref: ""),
            indicator("x.example", source: other, ref: "a"),
            indicator("x.example", source: source, ref: "a", categories: ["second"]),  // the same key again, in the same batch
        ])
        #expect(Set(changes.map(\.record.id)).count == 4)
        #expect(changes[4].record.id == changes[0].record.id)
        #expect(changes[4].wasActive && changes[4].previousCategories == ["malware"])
        #expect(try await store.indicators.find(values: ["x.example"]).count == 4)

        // The unique key holds below the repository too, and maps to `.constraint`.
        do {
            try await store.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO indicators (source_id, ref, value, kind, state, created_at, updated_at)
                        VALUES (?, 'a', 'x.example', 'domain', 'active', 0, 0)
                        """,
                    arguments: [source.id]
                )
            }
            Issue.record("a duplicate key was accepted")
        } catch {
            let mapped = StorageError.wrapping(error, "raw insert")
            #expect(mapped.code == .constraint)
            #expect(mapped.reason.contains("UNIQUE constraint failed: indicators.source_id, indicators.ref, indicators.value"))
        }
    }

    @Test func aRefusedBatchWritesNothing() async throws {
        let (store, source) = try await makeStore()
        var orphan = indicator("orphan.example", source: source)
        orphan.sourceID = 9999
        let error = await #expect(throws: StorageError.self) {
            try await store.indicators.upsert([indicator("first.example", source: source), orphan])
        }
        #expect(error?.code == .constraint)
        #expect(error?.reason.contains("FOREIGN KEY") == true)
        #expect(try await store.indicators.counts(sourceID: nil).total == 0)
    }

    @Test func setStateReturnsOnlyTheRowsThatChanged() async throws {
        let (store, source) = try await makeStore()
        let ids = try await store.indicators.upsert([
            indicator("a.example", source: source),
            indicator("b.example", source: source, state: .withdrawn),
            indicator("c.example", source: source),
        ]).map { $0.record.id! }
        _ = try await store.indicators.setState(ids: [ids[1]], to: .withdrawn, reason: "deleted")

        let changes = try await store.indicators.setState(ids: ids + [424_242], to: .withdrawn, reason: "deleted")
        #expect(changes.map(\.record.id) == [ids[0], ids[2]])
        #expect(changes.allSatisfy { $0.wasActive && $0.record.state == .withdrawn && $0.record.stateReason == "deleted" })
        #expect(changes[0].previousValue == "a.example")
        #expect(try await store.indicators.get(id: ids[0])?.state == .withdrawn)

        #expect(try await store.indicators.setState(ids: ids, to: .withdrawn, reason: "deleted").isEmpty)
        let reasonOnly = try await store.indicators.setState(ids: [ids[0]], to: .withdrawn, reason: "to_ids unset")
        #expect(reasonOnly.count == 1 && !reasonOnly[0].wasActive)
        let back = try await store.indicators.setState(ids: [ids[0]], to: .active, reason: nil)
        #expect(back.count == 1 && !back[0].wasActive && back[0].record.isActive)
    }

    @Test func forEachActivePagesInIdOrder() async throws {
        let (store, source) = try await makeStore()
        let records = (0..<2_600).map { i in
            indicator("d\(i).example", source: source, state: i % 26 == 25 ? .expired : .active)
        }
        _ = try await store.indicators.upsert(records)
        var sizes: [Int] = []
        var ids: [Int64] = []
        try await store.indicators.forEachActive(batch: 1000) { batch in
            sizes.append(batch.count)
            ids += batch.map { $0.id! }
            #expect(batch.allSatisfy { $0.isActive })
        }
        #expect(sizes == [1000, 1000, 500])
        #expect(ids == ids.sorted() && Set(ids).count == 2_500)

        var exact: [Int] = []
        try await store.indicators.forEachActive(batch: 500) { exact.append($0.count) }
        #expect(exact == [500, 500, 500, 500, 500])
    }

    @Test func forEachActiveOnNothingNeverCallsTheBodyAndPassesItsErrorsOn() async throws {
        let (store, source) = try await makeStore()
        try await store.indicators.forEachActive(batch: 10) { _ in Issue.record("no rows, no call") }

        _ = try await store.indicators.upsert([indicator("a.example", source: source)])
        struct Stop: Error {}
        let error = await #expect(throws: StorageError.self) {
            try await store.indicators.forEachActive(batch: 10) { _ in throw Stop() }
        }
        #expect(error?.code == .io)
        let own = await #expect(throws: StorageError.self) {
            try await store.indicators.forEachActive(batch: 10) { _ in throw StorageError(.constraint, "mine") }
        }
        #expect(own?.reason == "mine")
    }

    @Test func activeNotInMatchesRefsAndValuesOfRefLessRows() async throws {
        let (store, source) = try await makeStore()
        let other = try await store.sources.ensure(name: "other", type: "misp", url: nil, orgID: nil)
        _ = try await store.indicators.upsert([
            indicator("kept.example", source: source, ref: "attr-keep"),
            indicator("kept2.example", source: source, ref: "attr-keep"),
            indicator("gone.example", source: source, ref: "attr-gone"),
            indicator("inactive.example", source: source, ref: "attr-old", state: .withdrawn),
            indicator("listed.example", source: source, ref: ""),
            indicator("delisted.example", source: source, ref: ""),
            indicator("elsewhere.example", source: other, ref: "attr-other"),
        ])
        let gone = try await store.indicators.activeNotIn(sourceID: source.id!, refs: ["attr-keep", "listed.example"])
        #expect(gone.map(\.value) == ["gone.example", "delisted.example"])
        #expect(try await store.indicators.activeNotIn(sourceID: other.id!, refs: []).map(\.value) == ["elsewhere.example"])
        #expect(try await store.indicators.activeNotIn(sourceID: 9999, refs: []).isEmpty)
    }

    @Test func activeExpiringSkipsInactiveAndUndatedRows() async throws {
        let (store, source) = try await makeStore()
        _ = try await store.indicators.upsert([
            indicator("later.example", source: source, validUntil: t0.addingTimeInterval(100)),
            indicator("soon.example", source: source, validUntil: t0.addingTimeInterval(10)),
            indicator("never.example", source: source),
            indicator("done.example", source: source, state: .expired, validUntil: t0),
            indicator("far.example", source: source, validUntil: t0.addingTimeInterval(10_000)),
        ])
        let expiring = try await store.indicators.activeExpiring(before: t0.addingTimeInterval(1000))
        #expect(expiring.map(\.value) == ["soon.example", "later.example"])
    }

    @Test func countsPerStateAndSource() async throws {
        let (store, source) = try await makeStore()
        let other = try await store.sources.ensure(name: "other", type: "misp", url: nil, orgID: nil)
        _ = try await store.indicators.upsert([
            indicator("a", source: source), indicator("b", source: source), indicator("c", source: source, state: .suppressed),
            indicator("d", source: source, state: .expired), indicator("e", source: other, state: .withdrawn),
            indicator("f", source: other),
        ])
        let all = try await store.indicators.counts(sourceID: nil)
        #expect((all.active, all.suppressed, all.expired, all.withdrawn, all.total) == (3, 1, 1, 1, 6))
        let one = try await store.indicators.counts(sourceID: source.id)
        #expect((one.active, one.suppressed, one.expired, one.withdrawn) == (2, 1, 1, 0))
        #expect(try await store.indicators.counts(sourceID: 9999) == IndicatorCounts())
    }

    @Test func findAndList() async throws {
        let (store, source) = try await makeStore()
        var records = (0..<1_200).map { indicator("d\($0).example", source: source, ref: "attr-\($0 % 600)") }
        records[5].eventUUID = "event-5"
        records[7].eventUUID = "event-5"
        records[9].state = .suppressed
        _ = try await store.indicators.upsert(records)

        // More refs than one statement takes.
        let refs = (0..<600).map { "attr-\($0)" }
        #expect(try await store.indicators.find(sourceID: source.id!, refs: refs).count == 1_200)
        #expect(try await store.indicators.find(sourceID: source.id!, refs: ["attr-3"]).map(\.value) == ["d3.example", "d603.example"])
        #expect(try await store.indicators.find(sourceID: source.id! + 1, refs: ["attr-3"]).isEmpty)
        #expect(try await store.indicators.find(values: (0..<700).map { "d\($0).example" }).count == 700)

        #expect(try await store.indicators.list(IndicatorQuery(eventUUID: "event-5")).map(\.value) == ["d5.example", "d7.example"])
        #expect(try await store.indicators.list(IndicatorQuery(state: .suppressed)).map(\.value) == ["d9.example"])
        #expect(try await store.indicators.list(IndicatorQuery(value: "d11.example", sourceID: source.id)).count == 1)
        var seen: [Int64] = []
        var query = IndicatorQuery(limit: 500)
        while true {
            let page = try await store.indicators.list(query)
            if page.isEmpty { break }
            seen += page.map { $0.id! }
            query.afterID = page.last?.id
        }
        #expect(seen.count == 1_200 && seen == seen.sorted())
    }
}
