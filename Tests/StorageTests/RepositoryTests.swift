import Foundation
import Testing

@testable import Storage

@Suite struct RepositoryTests {
    @Test func sourcesEnsureOnceAndSaveTheirStatus() async throws {
        let store = try SQLiteStore.inMemory()
        let org = try await store.organisations.ensure(name: "CERT-EX", uuid: nil)
        let created = try await store.sources.ensure(name: "misp-circl", type: "misp", url: "https://misp.example", orgID: org.id)
        let again = try await store.sources.ensure(name: "misp-circl", type: "csv", url: nil, orgID: nil)
        #expect(again == created)
        #expect(created.type == "misp" && created.orgID == org.id && created.lastFetched == 0)

        var status = created
        status.watermark = 1_700_000_000
        status.lastRun = t0
        status.lastSuccess = t0
        status.lastError = "timeout"
        status.lastFetched = 10
        status.lastAccepted = 7
        status.lastSuppressed = 2
        status.lastWithdrawn = 1
        status.lastFullReconcile = t0.addingTimeInterval(-3600)
        try await store.sources.update(status)
        #expect(try await store.sources.get(id: created.id!) == status)

        var byName = status
        byName.id = nil
        byName.lastError = nil
        try await store.sources.update(byName)
        #expect(try await store.sources.get(name: "misp-circl")?.lastError == nil)
        try await store.sources.update(SourceRecord(id: 9999, name: "nobody", type: "misp"))

        _ = try await store.sources.ensure(name: "api", type: "api", url: nil, orgID: nil)
        #expect(try await store.sources.all().map(\.name) == ["misp-circl", "api"])
        #expect(try await store.sources.get(name: "missing") == nil)
    }

    @Test func organisationsEnsureByName() async throws {
        let store = try SQLiteStore.inMemory()
        let a = try await store.organisations.ensure(name: "CERT-EX", uuid: "5d0a9f3e-0000-4000-8000-000000000001")
        #expect(a.uuid == "5d0a9f3e-0000-4000-8000-000000000001" && a.id != nil)
        #expect(try await store.organisations.ensure(name: "CERT-EX", uuid: nil) == a)
        let b = try await store.organisations.ensure(name: "cert-ex", uuid: nil)
        #expect(b.id != a.id, "names are case-sensitive")
        #expect(try await store.organisations.get(id: a.id!) == a)
        #expect(try await store.organisations.all() == [a, b])
        let error = await #expect(throws: StorageError.self) {
            try await store.organisations.ensure(name: "Other", uuid: a.uuid)
        }
        #expect(error?.code == .constraint)
    }

    @Test func keysAreFoundByHashUnlessRevoked() async throws {
        let store = try SQLiteStore.inMemory()
        let org = try await store.organisations.ensure(name: "CERT-EX", uuid: nil)
        let key = try await store.keys.add(
            APIKeyRecord(name: "sync", hash: String(repeating: "ab", count: 32), prefix: "abcd", orgID: org.id!, role: .sync, createdAt: t0))
        #expect(key.id != nil)
        #expect(try await store.keys.find(hash: key.hash) == key)
        #expect(try await store.keys.find(hash: "00") == nil)

        try await store.keys.touch(id: key.id!, at: t0.addingTimeInterval(5))
        #expect(try await store.keys.find(hash: key.hash)?.lastUsed == t0.addingTimeInterval(5))

        try await store.keys.revoke(id: key.id!)
        #expect(try await store.keys.find(hash: key.hash) == nil)
        let all = try await store.keys.all()
        #expect(all.count == 1 && all[0].revoked && all[0].role == .sync)

        let duplicate = await #expect(throws: StorageError.self) {
            try await store.keys.add(APIKeyRecord(name: "again", hash: key.hash, prefix: "abcd", orgID: org.id!, role: .reader))
        }
        #expect(duplicate?.code == .constraint)
        let orphan = await #expect(throws: StorageError.self) {
            try await store.keys.add(APIKeyRecord(name: "orphan", hash: "ff", prefix: "ffff", orgID: 9999, role: .admin))
        }
        #expect(orphan?.code == .constraint)
    }

    @Test func eventsAreReplacedByUUIDKeepingTheirId() async throws {
        let store = try SQLiteStore.inMemory()
        let org = try await store.organisations.ensure(name: "CERT-EX", uuid: nil)
        let first = EventRecord(
            uuid: "event-a", orgID: org.id!, info: "first", timestamp: 100, published: false, distribution: 1, json: Data("{\"a\":1}".utf8),
            createdAt: t0, updatedAt: t0
        )
        let saved = try await store.events.save(first)
        let id = try #require(saved.id)

        var edited = first
        edited.info = "edited"
        edited.timestamp = 200
        edited.published = true
        edited.publishTimestamp = 201
        edited.json = Data("{\"a\":2}".utf8)
        edited.createdAt = t0.addingTimeInterval(50)
        edited.updatedAt = t0.addingTimeInterval(60)
        let replaced = try await store.events.save(edited)
        #expect(replaced.id == id)
        #expect(replaced.createdAt == t0)
        let stored = try #require(try await store.events.get(uuid: "event-a"))
        #expect(stored == replaced)
        #expect(stored.info == "edited" && stored.json == Data("{\"a\":2}".utf8) && stored.updatedAt == t0.addingTimeInterval(60))
        #expect(try await store.events.get(id: id) == stored)
        #expect(try await store.events.get(uuid: "missing") == nil)

        for (n, timestamp) in [150, 300, 50].enumerated() {
            _ = try await store.events.save(
                EventRecord(
                    uuid: "event-\(n)", orgID: org.id!, info: "e\(n)", timestamp: Int64(timestamp), published: true, distribution: 0, json: Data())
            )
        }
        #expect(try await store.events.timestamps(uuids: ["event-a", "event-1", "nope"]) == ["event-a": 200, "event-1": 300])
        #expect(try await store.events.list(orgID: nil, since: nil, limit: 10, page: 1).map(\.uuid) == ["event-1", "event-a", "event-0", "event-2"])
        #expect(try await store.events.list(orgID: org.id, since: 150, limit: 10, page: 1).map(\.uuid) == ["event-1", "event-a", "event-0"])
        #expect(try await store.events.list(orgID: nil, since: nil, limit: 3, page: 2).map(\.uuid) == ["event-2"])
        #expect(try await store.events.list(orgID: nil, since: nil, limit: 3, page: 0).count == 3)
        #expect(try await store.events.list(orgID: 9999, since: nil, limit: 10, page: 1).isEmpty)
    }

    @Test func auditIsNewestFirst() async throws {
        let store = try SQLiteStore.inMemory()
        try await store.audit.append(AuditRecord(time: t0, actor: "system", action: "source.run"))
        try await store.audit.append(AuditRecord(time: t0.addingTimeInterval(10), actor: "key:a", orgID: 1, action: "indicator.add", target: "x"))
        try await store.audit.append(AuditRecord(time: t0.addingTimeInterval(5), actor: "key:b", orgID: 2, action: "event.add"))
        try await store.audit.append(AuditRecord(time: t0.addingTimeInterval(10), actor: "key:a", orgID: 1, action: "indicator.withdraw"))

        let recent = try await store.audit.recent(limit: 10, orgID: nil)
        #expect(recent.map(\.action) == ["indicator.withdraw", "indicator.add", "event.add", "source.run"])
        #expect(recent[1].target == "x" && recent[1].time == t0.addingTimeInterval(10))
        #expect(try await store.audit.recent(limit: 2, orgID: nil).count == 2)
        #expect(try await store.audit.recent(limit: 10, orgID: 1).map(\.action) == ["indicator.withdraw", "indicator.add"])
    }

    @Test func sightingsWaitToBeReported() async throws {
        let (store, source) = try await makeStore()
        let id = try await store.indicators.upsert([indicator("seen.example", source: source)])[0].record.id!
        let a = try await store.sightings.add(
            SightingRecord(
                indicatorID: id, value: "seen.example", type: 0, count: 12, distinctClients: 3, intervalStart: t0, intervalEnd: t0, createdAt: t0)
        )
        let b = try await store.sightings.add(SightingRecord(indicatorID: id, value: "seen.example", type: 1, source: "analyst", createdAt: t0))
        let c = try await store.sightings.add(SightingRecord(indicatorID: nil, value: "unknown.example", type: 0, createdAt: t0))
        #expect(a.id != nil && b.id != nil && c.id != nil)

        #expect(try await store.sightings.unreported(type: 0, limit: 10) == [a, c])
        #expect(try await store.sightings.unreported(type: 0, limit: 1) == [a])
        try await store.sightings.markReported(ids: [a.id!], at: t0.addingTimeInterval(1))
        #expect(try await store.sightings.unreported(type: 0, limit: 10) == [c])
        let forIndicator = try await store.sightings.forIndicator(id)
        #expect(forIndicator.map(\.id) == [a.id, b.id])
        #expect(forIndicator[0].reportedAt == t0.addingTimeInterval(1))

        let duplicate = await #expect(throws: StorageError.self) { try await store.sightings.add(a) }
        #expect(duplicate?.code == .constraint)
    }
}
