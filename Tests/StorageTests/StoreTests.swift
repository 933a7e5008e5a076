import Foundation
import GRDB
import Testing

@testable import Storage

@Suite struct StoreTests {
    @Test func migratesAFreshFileAndReopensIt() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("nested", "deeper", "intel.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            let tables = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            }
            #expect(
                tables == [
                    "api_keys", "audit_log", "events", "grdb_migrations", "indicators", "managed_entries", "managed_tenants", "organisations", "query_log",
                    "sightings", "sources", "tenant_blocked_names", "tenant_stats",
                ])
            let mode = try await store.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
            let foreignKeys = try await store.pool.read { try Bool.fetchOne($0, sql: "PRAGMA foreign_keys") }
            #expect(foreignKeys == true)
            let synchronous = try await store.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
            #expect(synchronous == 2)  // FULL
            _ = try await store.sources.ensure(name: "feed", type: "freetext", url: nil, orgID: nil)
        }
        let reopened = try SQLiteStore(path: path)
        let applied = try await reopened.pool.read { try Schema.migrator.appliedMigrations($0) }
        #expect(applied == ["v1", "v2", "v3"])
        #expect(try await reopened.sources.get(name: "feed")?.type == "freetext")
    }

    @Test func tenantStatisticsKeepCountsNotClients() async throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("intel.sqlite"))
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var rows: [TenantStatsRecord] = []
        var names: [TenantBlockedName] = []
        for i in 0..<3 {
            let b = t0.addingTimeInterval(Double(i) * 300)
            rows.append(TenantStatsRecord(bucket: b, seconds: 300, tenant: "town", queries: 100 + i, blocked: 5, byCategory: ["phishing": 5]))
            names.append(TenantBlockedName(bucket: b, tenant: "town", name: "phish.example.", count: 4, clients: 3 + i * 4))
            names.append(TenantBlockedName(bucket: b, tenant: "town", name: "rare.example.", count: 1, clients: 1))
        }
        rows.append(TenantStatsRecord(bucket: t0, seconds: 300, tenant: "other", queries: 7, blocked: 0, byCategory: [:]))
        try await store.tenantStats.record(rows, names: names)
        let series = try await store.tenantStats.series(tenant: "town", from: t0, to: t0.addingTimeInterval(900))
        #expect(series.map(\.queries) == [100, 101, 102])
        #expect(series.first?.byCategory == ["phishing": 5])
        // k = 10: phish.example reached 11 distinct clients in its busiest interval; rare never.
        let top = try await store.tenantStats.topBlocked(tenant: "town", from: t0, to: t0.addingTimeInterval(900), minClients: 10, limit: 10)
        #expect(top.map(\.name) == ["phish.example."])
        #expect(top.first?.count == 12 && top.first?.clients == 11)
        let all = try await store.tenantStats.topBlocked(tenant: "town", from: t0, to: t0.addingTimeInterval(900), minClients: 1, limit: 10)
        #expect(all.map(\.name) == ["phish.example.", "rare.example."])
        // Retention: everything before the second interval goes.
        let deleted = try await store.tenantStats.prune(before: t0.addingTimeInterval(300))
        #expect(deleted == 4)
        #expect(try await store.tenantStats.series(tenant: "town", from: t0, to: t0.addingTimeInterval(900)).count == 2)
    }

    /// The query log keeps what it is given (no address column exists) and retention deletes
    /// what is older.
    @Test func queryLogRetentionDeletesOldRows() async throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("intel.sqlite"))
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let entries = (0..<5).map { i in
            QueryLogEntry(
                time: t0.addingTimeInterval(Double(i) * 86400), tenant: "town", name: "n\(i).example.", type: 1, rcode: 0, blocked: false,
                transport: "udp", client: "0123456789abcdef")
        }
        try await store.queryLog.append(entries)
        #expect(try await store.queryLog.recent(tenant: "town", since: t0, limit: 10).count == 5)
        #expect(try await store.queryLog.prune(before: t0.addingTimeInterval(2 * 86400)) == 2)
        let left = try await store.queryLog.recent(tenant: "town", since: t0, limit: 10)
        #expect(left.map(\.name) == ["n4.example.", "n3.example.", "n2.example."])
        let columns = try await store.pool.read { try String.fetchAll($0, sql: "SELECT name FROM pragma_table_info('query_log')") }
        #expect(!columns.contains { $0.contains("addr") || $0 == "ip" })
    }

    /// A database of the first version (keys without a tenant) is migrated in place: its keys
    /// stay, unbound, and can then be bound to a tenant.
    @Test func keysOfAVersionOneDatabaseSurviveTheTenantMigration() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("intel.sqlite")
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let pool = try DatabasePool(path: path)
            try Schema.migrator.migrate(pool, upTo: "v1")
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO organisations (uuid, name) VALUES ('u', 'CERT')")
                try db.execute(
                    sql: "INSERT INTO api_keys (name, hash, prefix, org_id, role, created_at) VALUES ('old', 'h1', 'abcd', 1, 'admin', 0)")
            }
        }
        let store = try SQLiteStore(path: path)
        let key = try #require(try await store.keys.find(hash: "h1"))
        #expect(key.name == "old" && key.role == .admin && key.tenant == nil)
        try await store.keys.setScope(id: key.id!, role: .reader, tenant: "ministry")
        let bound = try #require(try await store.keys.find(hash: "h1"))
        #expect(bound.role == .reader && bound.tenant == "ministry")
    }

    @Test func refusesADatabaseOfANewerVersion() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("intel.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try await store.pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        }
        let error = #expect(throws: StorageError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .open)
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("intel.sqlite")
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StorageError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .open)
    }

    /// What `kill -9` leaves behind is the database file and its WAL as they were after the
    /// last commit, with no checkpoint and no clean close: copy exactly that, and open the copy.
    @Test func committedRowsSurviveWithoutCheckpointOrClose() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("live", "intel.sqlite")
        let store = try SQLiteStore(path: path)
        let source = try await store.sources.ensure(name: "feed", type: "freetext", url: nil, orgID: nil)
        _ = try await store.indicators.upsert((0..<300).map { indicator("d\($0).example", source: source) })
        let walSize = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(walSize > 0, "the rows are still in the WAL, not checkpointed")

        let crashed = directory.path("crashed", "intel.sqlite")
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: crashed).deletingLastPathComponent(), withIntermediateDirectories: true
        )
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: crashed + "-wal")
        let recovered = try SQLiteStore(path: crashed)
        #expect(try await recovered.indicators.counts(sourceID: nil).active == 300)
        #expect(try await recovered.sources.get(name: "feed") != nil)
        withExtendedLifetime(store) {}
    }

    @Test func aSecondStoreReadsWhileTheFirstIsOpenAndAfterItCloses() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("intel.sqlite")
        var first: SQLiteStore? = try SQLiteStore(path: path)
        let source = try await first!.sources.ensure(name: "feed", type: "freetext", url: nil, orgID: nil)
        _ = try await first!.indicators.upsert([indicator("a.example", source: source), indicator("b.example", source: source)])

        let second = try SQLiteStore(path: path)
        #expect(try await second.indicators.find(values: ["a.example", "b.example"]).count == 2)
        // The second one writes too (the write lock is taken in turn).
        _ = try await second.indicators.upsert([indicator("c.example", source: source)])
        #expect(try await first!.indicators.counts(sourceID: source.id).active == 3)

        first = nil
        let third = try SQLiteStore(path: path)
        #expect(try await third.indicators.counts(sourceID: nil).active == 3)
    }

    @Test func aRowWithAnUnknownStateIsACorruptErrorNotACrash() async throws {
        let (store, source) = try await makeStore()
        let good = try await store.indicators.upsert([indicator("good.example", source: source)])[0].record
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO indicators (source_id, ref, value, kind, categories, tags, to_ids, state, created_at, updated_at)
                    VALUES (?, '', 'bad.example', 'domain', '["malware"]', '[]', 1, 'bogus', 0, 0)
                    """,
                arguments: [source.id]
            )
        }
        let badID = try await store.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM indicators WHERE value = 'bad.example'") }!

        let error = await #expect(throws: StorageError.self) { try await store.indicators.get(id: badID) }
        #expect(error?.code == .corrupt)
        #expect(error?.reason.contains("state") == true)
        #expect(error?.reason.contains("bogus") == true)
        await #expect(throws: StorageError.self) { try await store.indicators.list(IndicatorQuery()) }
        await #expect(throws: StorageError.self) { try await store.indicators.counts(sourceID: nil) }
        // An upsert onto the bad row reports it rather than overwriting blindly.
        let upsertError = await #expect(throws: StorageError.self) {
            try await store.indicators.upsert([indicator("bad.example", source: source)])
        }
        #expect(upsertError?.code == .corrupt)
        // The good rows are still readable.
        #expect(try await store.indicators.get(id: good.id!)?.value == "good.example")
        var seen = 0
        try await store.indicators.forEachActive(batch: 10) { seen += $0.count }
        #expect(seen == 1)
    }

    @Test func badColumnValuesAreCorruptErrors() async throws {
        let (store, source) = try await makeStore()
        let id = try await store.indicators.upsert([indicator("x.example", source: source)])[0].record.id!
        try await store.pool.write { try $0.execute(sql: "UPDATE indicators SET categories = 'not json' WHERE id = ?", arguments: [id]) }
        let error = await #expect(throws: StorageError.self) { try await store.indicators.get(id: id) }
        #expect(error?.code == .corrupt)
        #expect(error?.reason.contains("categories") == true)

        try await store.pool.write {
            try $0.execute(sql: "UPDATE indicators SET categories = '[]', created_at = 'yesterday' WHERE id = ?", arguments: [id])
        }
        let dateError = await #expect(throws: StorageError.self) { try await store.indicators.get(id: id) }
        #expect(dateError?.code == .corrupt)
        #expect(dateError?.reason.contains("yesterday") == false, "values are not quoted in errors")
    }

    @Test func jsonStringsRoundTrip() {
        let cases: [[String]] = [[], ["malware"], ["a", "b c", ""], ["quote \" backslash \\ tab \t nl \n"], ["é", "日本", "\u{1}"]]
        for strings in cases {
            let text = JSONStrings.encode(strings)
            #expect(JSONStrings.decode(text) == strings)
            let viaFoundation = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
            #expect(viaFoundation == strings)
        }
        #expect(JSONStrings.decode(" [ \"a\" , \"b\" ] ") == ["a", "b"])
        #expect(JSONStrings.decode("[1]") == nil)
        #expect(JSONStrings.decode("[\"a\"") == nil)
        #expect(JSONStrings.decode("[\"a\"] x") == nil)
        #expect(JSONStrings.decode("") == nil)
    }
}

@Suite struct TenantRepositoryTests {
    @Test func tenantsAndEntriesRoundTripAndDeleteTogether() async throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("intel.sqlite"))
        var hall = TenantSpec(name: "hall", parent: "agency")
        hall.categories = ["gambling"]
        hall.networks = ["10.9.0.0/16"]
        try await store.tenants.put(hall, by: "key:a")
        try await store.tenants.put(TenantSpec(name: "other", parent: "agency"), by: "key:a")
        hall.blockPage = "changed"
        try await store.tenants.put(hall, by: "key:b")
        #expect(try await store.tenants.all() == [hall, TenantSpec(name: "other", parent: "agency")])
        #expect(try await store.tenants.addEntry(ManagedEntry(tenant: "hall", name: "x.example", action: "block", createdBy: "key:a")))
        #expect(try await store.tenants.addEntry(ManagedEntry(tenant: "hall", name: "x.example", action: "block", createdBy: "key:a")) == false)
        #expect(try await store.tenants.addEntry(ManagedEntry(tenant: "other", name: "y.example", action: "allow", createdBy: "key:a")))
        #expect(try await store.tenants.removeEntry(tenant: "hall", name: "nope.example", action: "block") == false)
        try await store.tenants.delete(name: "hall")
        #expect(try await store.tenants.all().map(\.name) == ["other"])
        #expect(try await store.tenants.entries().map(\.name) == ["y.example"])
    }
}
