import Foundation
import GRDB

/// Sources in SQLite.
struct SQLiteSourceRepository: SourceRepository {
    let store: SQLiteStore

    /// An existing source is returned as it is (its type, url and organisation are not updated).
    func ensure(name: String, type: String, url: String?, orgID: Int64?) async throws(StorageError) -> SourceRecord {
        try await store.write("ensuring source \(name)") { db in
            try db.execute(
                sql: "INSERT INTO sources (name, type, url, org_id) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                arguments: [name, type, url, orgID])
            guard let source = try db.fetch("SELECT \(SourceRow.columns) FROM sources WHERE name = ?", [name], SourceRow.decode).first else {
                throw StorageError(.io, "source \(name) missing right after its insert")
            }
            return source
        }
    }

    func get(name: String) async throws(StorageError) -> SourceRecord? {
        try await store.read("reading source \(name)") { db in
            try db.fetch("SELECT \(SourceRow.columns) FROM sources WHERE name = ?", [name], SourceRow.decode).first
        }
    }

    func get(id: Int64) async throws(StorageError) -> SourceRecord? {
        try await store.read("reading source \(id)") { db in
            try db.fetch("SELECT \(SourceRow.columns) FROM sources WHERE id = ?", [id], SourceRow.decode).first
        }
    }

    /// In id order.
    func all() async throws(StorageError) -> [SourceRecord] {
        try await store.read("listing sources") { db in
            try db.fetch("SELECT \(SourceRow.columns) FROM sources ORDER BY id", [], SourceRow.decode)
        }
    }

    /// The row is found by `id`, or by `name` when `id` is nil; a source that does not exist is
    /// left alone (no error). Name, type, url and organisation are not written.
    func update(_ source: SourceRecord) async throws(StorageError) {
        try await store.write("updating source \(source.name)") { db in
            try db.execute(
                sql: """
                    UPDATE sources SET watermark = ?, last_run = ?, last_success = ?, last_error = ?, last_fetched = ?,
                    last_accepted = ?, last_suppressed = ?, last_withdrawn = ?, last_full_reconcile = ?
                    WHERE id = ? OR (? IS NULL AND name = ?)
                    """,
                arguments: [
                    source.watermark, SQLDate.encode(source.lastRun), SQLDate.encode(source.lastSuccess), source.lastError,
                    source.lastFetched, source.lastAccepted, source.lastSuppressed, source.lastWithdrawn,
                    SQLDate.encode(source.lastFullReconcile), source.id, source.id, source.name,
                ]
            )
        }
    }
}

/// Organisations in SQLite.
struct SQLiteOrganisationRepository: OrganisationRepository {
    let store: SQLiteStore

    /// A new organisation gets `uuid`, or a random one; an existing one keeps its own. A `uuid`
    /// already taken by another name is a `.constraint` error.
    func ensure(name: String, uuid: String?) async throws(StorageError) -> Organisation {
        try await store.write("ensuring organisation \(name)") { db in
            let sql = "SELECT \(OrganisationRow.columns) FROM organisations WHERE name = ?"
            if let existing = try db.fetch(sql, [name], OrganisationRow.decode).first {
                return existing
            }
            var organisation = Organisation(name: name)
            if let uuid { organisation.uuid = uuid }
            try db.execute(sql: "INSERT INTO organisations (uuid, name) VALUES (?, ?)", arguments: [organisation.uuid, name])
            organisation.id = db.lastInsertedRowID
            return organisation
        }
    }

    func get(id: Int64) async throws(StorageError) -> Organisation? {
        try await store.read("reading organisation \(id)") { db in
            try db.fetch("SELECT \(OrganisationRow.columns) FROM organisations WHERE id = ?", [id], OrganisationRow.decode).first
        }
    }

    /// In id order.
    func all() async throws(StorageError) -> [Organisation] {
        try await store.read("listing organisations") { db in
            try db.fetch("SELECT \(OrganisationRow.columns) FROM organisations ORDER BY id", [], OrganisationRow.decode)
        }
    }
}

/// Sightings in SQLite.
struct SQLiteSightingRepository: SightingRepository {
    let store: SQLiteStore

    /// Returns the sighting with its id. A `uuid` already stored is a `.constraint` error.
    func add(_ sighting: SightingRecord) async throws(StorageError) -> SightingRecord {
        try await store.write("adding a sighting") { db in
            try db.execute(
                sql: "INSERT INTO sightings (\(SightingRow.columns.dropFirst(4))) VALUES \(placeholders(12))",
                arguments: StatementArguments(SightingRow.values(sighting))
            )
            var stored = sighting
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    /// Oldest first.
    func unreported(type: Int, limit: Int) async throws(StorageError) -> [SightingRecord] {
        try await store.read("reading unreported sightings") { db in
            try db.fetch(
                "SELECT \(SightingRow.columns) FROM sightings WHERE type = ? AND reported_at IS NULL ORDER BY id LIMIT ?",
                [type, max(0, limit)], SightingRow.decode
            )
        }
    }

    func markReported(ids: [Int64], at date: Date) async throws(StorageError) {
        guard !ids.isEmpty else { return }
        try await store.write("marking \(ids.count) sightings reported") { db in
            let update = try db.cachedStatement(sql: "UPDATE sightings SET reported_at = ? WHERE id = ?")
            for id in ids {
                try update.execute(arguments: [SQLDate.encode(date), id])
            }
        }
    }

    /// Oldest first.
    func forIndicator(_ id: Int64) async throws(StorageError) -> [SightingRecord] {
        try await store.read("reading the sightings of indicator \(id)") { db in
            try db.fetch("SELECT \(SightingRow.columns) FROM sightings WHERE indicator_id = ? ORDER BY id", [id], SightingRow.decode)
        }
    }
}

/// The audit log in SQLite.
struct SQLiteAuditRepository: AuditRepository {
    let store: SQLiteStore

    func append(_ entry: AuditRecord) async throws(StorageError) {
        try await store.write("appending to the audit log") { db in
            try db.execute(
                sql: "INSERT INTO audit_log (time, actor, org_id, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [SQLDate.encode(entry.time), entry.actor, entry.orgID, entry.action, entry.target, entry.detail]
            )
        }
    }

    /// Newest first by time, then by insertion order.
    func recent(limit: Int, orgID: Int64?) async throws(StorageError) -> [AuditRecord] {
        try await store.read("reading the audit log") { db in
            if let orgID {
                return try db.fetch(
                    "SELECT \(AuditRow.columns) FROM audit_log WHERE org_id = ? ORDER BY time DESC, id DESC LIMIT ?", [orgID, max(0, limit)],
                    AuditRow.decode
                )
            }
            return try db.fetch("SELECT \(AuditRow.columns) FROM audit_log ORDER BY time DESC, id DESC LIMIT ?", [max(0, limit)], AuditRow.decode)
        }
    }
}

/// API keys in SQLite.
struct SQLiteAPIKeyRepository: APIKeyRepository {
    let store: SQLiteStore

    /// Returns the key with its id. A hash already stored is a `.constraint` error.
    func add(_ key: APIKeyRecord) async throws(StorageError) -> APIKeyRecord {
        try await store.write("adding API key \(key.name)") { db in
            try db.execute(
                sql:
                    "INSERT INTO api_keys (name, hash, prefix, org_id, role, created_at, last_used, revoked, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    key.name, key.hash, key.prefix, key.orgID, key.role.rawValue, SQLDate.encode(key.createdAt), SQLDate.encode(key.lastUsed),
                    key.revoked, key.tenant,
                ]
            )
            var stored = key
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    func setScope(id: Int64, role: APIRole, tenant: String?) async throws(StorageError) {
        try await store.write("changing the scope of API key \(id)") { db in
            try db.execute(sql: "UPDATE api_keys SET role = ?, tenant = ? WHERE id = ?", arguments: [role.rawValue, tenant, id])
        }
    }

    func find(hash: String) async throws(StorageError) -> APIKeyRecord? {
        try await store.read("finding an API key") { db in
            try db.fetch("SELECT \(APIKeyRow.columns) FROM api_keys WHERE hash = ? AND revoked = 0", [hash], APIKeyRow.decode).first
        }
    }

    /// Revoked ones included, in id order.
    func all() async throws(StorageError) -> [APIKeyRecord] {
        try await store.read("listing API keys") { db in
            try db.fetch("SELECT \(APIKeyRow.columns) FROM api_keys ORDER BY id", [], APIKeyRow.decode)
        }
    }

    /// An unknown id is left alone (no error).
    func revoke(id: Int64) async throws(StorageError) {
        try await store.write("revoking API key \(id)") { db in
            try db.execute(sql: "UPDATE api_keys SET revoked = 1 WHERE id = ?", arguments: [id])
        }
    }

    /// An unknown id is left alone (no error).
    func touch(id: Int64, at date: Date) async throws(StorageError) {
        try await store.write("touching API key \(id)") { db in
            try db.execute(sql: "UPDATE api_keys SET last_used = ? WHERE id = ?", arguments: [SQLDate.encode(date), id])
        }
    }
}

/// Pushed MISP events in SQLite.
struct SQLiteEventRepository: EventRepository {
    let store: SQLiteStore

    /// A replaced event keeps its `id` and `createdAt`; everything else is overwritten.
    func save(_ event: EventRecord) async throws(StorageError) -> EventRecord {
        try await store.write("saving event \(event.uuid)") { db in
            var stored = event
            let fields: [SQLValue] = [
                event.orgID, event.info, event.timestamp, event.published, event.publishTimestamp, event.distribution, event.json,
            ]
            if let row = try Row.fetchOne(db, sql: "SELECT id, created_at FROM events WHERE uuid = ?", arguments: [event.uuid]) {
                let old = RowReader(row: row, table: "events")
                stored.id = try old.value(0) as Int64
                stored.createdAt = try old.date(1)
                try db.execute(
                    sql: """
                        UPDATE events SET org_id = ?, info = ?, timestamp = ?, published = ?, publish_timestamp = ?, distribution = ?,
                        json = ?, updated_at = ? WHERE id = ?
                        """,
                    arguments: StatementArguments(fields + [SQLDate.encode(event.updatedAt), stored.id])
                )
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO events (org_id, info, timestamp, published, publish_timestamp, distribution, json, updated_at, uuid,
                        created_at) VALUES \(placeholders(10))
                        """,
                    arguments: StatementArguments(fields + [SQLDate.encode(event.updatedAt), event.uuid, SQLDate.encode(event.createdAt)])
                )
                stored.id = db.lastInsertedRowID
            }
            return stored
        }
    }

    func get(uuid: String) async throws(StorageError) -> EventRecord? {
        try await store.read("reading event \(uuid)") { db in
            try db.fetch("SELECT \(EventRow.columns) FROM events WHERE uuid = ?", [uuid], EventRow.decode).first
        }
    }

    func get(id: Int64) async throws(StorageError) -> EventRecord? {
        try await store.read("reading event \(id)") { db in
            try db.fetch("SELECT \(EventRow.columns) FROM events WHERE id = ?", [id], EventRow.decode).first
        }
    }

    /// `since` keeps the events with a timestamp at or after it. `page` counts from 1, as in
    /// MISP (0 is taken as 1); each page holds `limit` events.
    func list(orgID: Int64?, since: Int64?, limit: Int, page: Int) async throws(StorageError) -> [EventRecord] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let orgID {
            conditions.append("org_id = ?")
            arguments.append(orgID)
        }
        if let since {
            conditions.append("timestamp >= ?")
            arguments.append(since)
        }
        let size = max(0, limit)
        arguments += [size, (max(1, page) - 1) * size]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(EventRow.columns) FROM events \(filter) ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?"
        let boundArguments = StatementArguments(arguments)
        return try await store.read("listing events") { db in
            try db.fetch(sql, boundArguments, EventRow.decode)
        }
    }

    /// Unknown uuids are absent from the result.
    func timestamps(uuids: [String]) async throws(StorageError) -> [String: Int64] {
        guard !uuids.isEmpty else { return [:] }
        return try await store.read("reading event timestamps") { db in
            let pairs = try db.fetch("SELECT uuid, timestamp FROM events WHERE uuid IN (...)", in: Array(Set(uuids))) { row throws(StorageError) in
                let r = RowReader(row: row, table: "events", idColumn: nil)
                return (try r.value(0) as String, try r.value(1) as Int64)
            }
            return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        }
    }
}

/// Per-tenant statistics in SQLite.
struct SQLiteTenantStatsRepository: TenantStatsRepository {
    let store: SQLiteStore

    func record(_ stats: [TenantStatsRecord], names: [TenantBlockedName]) async throws(StorageError) {
        guard !stats.isEmpty || !names.isEmpty else { return }
        try await store.write("recording tenant statistics") { db in
            for s in stats {
                let cats = String(decoding: (try? JSONEncoder().encode(s.byCategory)) ?? Data("{}".utf8), as: UTF8.self)
                try db.execute(
                    sql: "INSERT INTO tenant_stats (bucket, seconds, tenant, queries, blocked, by_category) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [SQLDate.encode(s.bucket), s.seconds, s.tenant, s.queries, s.blocked, cats])
            }
            for n in names {
                try db.execute(
                    sql: "INSERT INTO tenant_blocked_names (bucket, tenant, name, count, clients) VALUES (?, ?, ?, ?, ?)",
                    arguments: [SQLDate.encode(n.bucket), n.tenant, n.name, n.count, n.clients])
            }
        }
    }

    func series(tenant: String, from: Date, to: Date) async throws(StorageError) -> [TenantStatsRecord] {
        try await store.read("reading tenant statistics") { db in
            try db.fetch(
                "SELECT bucket, seconds, tenant, queries, blocked, by_category FROM tenant_stats WHERE tenant = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
                [tenant, SQLDate.encode(from), SQLDate.encode(to)]
            ) { row throws(StorageError) in
                let r = RowReader(row: row, table: "tenant_stats")
                let text: String = try r.value(5)
                guard let cats = try? JSONDecoder().decode([String: Int].self, from: Data(text.utf8)) else {
                    throw StorageError(.corrupt, "tenant_stats.by_category is not a JSON object of counts")
                }
                return TenantStatsRecord(
                    bucket: try r.date(0), seconds: try r.value(1), tenant: try r.value(2), queries: try r.value(3), blocked: try r.value(4),
                    byCategory: cats)
            }
        }
    }

    func topBlocked(tenant: String, from: Date, to: Date, minClients: Int, limit: Int) async throws(StorageError) -> [TenantBlockedName] {
        try await store.read("reading a tenant's blocked names") { db in
            try db.fetch(
                """
                SELECT MIN(bucket), tenant, name, SUM(count), MAX(clients) FROM tenant_blocked_names
                WHERE tenant = ? AND bucket >= ? AND bucket < ? GROUP BY name HAVING MAX(clients) >= ?
                ORDER BY SUM(count) DESC, name LIMIT ?
                """,
                [tenant, SQLDate.encode(from), SQLDate.encode(to), minClients, limit]
            ) { row throws(StorageError) in
                let r = RowReader(row: row, table: "tenant_blocked_names")
                return TenantBlockedName(bucket: try r.date(0), tenant: try r.value(1), name: try r.value(2), count: try r.value(3), clients: try r.value(4))
            }
        }
    }

    func prune(before: Date) async throws(StorageError) -> Int {
        try await store.write("pruning tenant statistics") { db in
            try db.execute(sql: "DELETE FROM tenant_stats WHERE bucket < ?", arguments: [SQLDate.encode(before)])
            var n = db.changesCount
            try db.execute(sql: "DELETE FROM tenant_blocked_names WHERE bucket < ?", arguments: [SQLDate.encode(before)])
            n += db.changesCount
            return n
        }
    }
}

/// Tenants and entries made through the API, in SQLite.
struct SQLiteTenantRepository: TenantRepository {
    let store: SQLiteStore

    func all() async throws(StorageError) -> [TenantSpec] {
        try await store.read("reading tenants") { db in
            try db.fetch("SELECT spec FROM managed_tenants ORDER BY rowid", []) { row throws(StorageError) in
                let text: String = try RowReader(row: row, table: "managed_tenants").value(0)
                guard let spec = try? JSONDecoder().decode(TenantSpec.self, from: Data(text.utf8)) else {
                    throw StorageError(.corrupt, "managed_tenants.spec is not a tenant")
                }
                return spec
            }
        }
    }

    func put(_ spec: TenantSpec, by actor: String) async throws(StorageError) {
        let text = String(decoding: (try? JSONEncoder().encode(spec)) ?? Data(), as: UTF8.self)
        try await store.write("storing tenant \(spec.name)") { db in
            try db.execute(
                sql: """
                    INSERT INTO managed_tenants (name, spec, updated_by, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, updated_by = excluded.updated_by, updated_at = excluded.updated_at
                    """,
                arguments: [spec.name, text, actor, SQLDate.encode(Date())])
        }
    }

    func delete(name: String) async throws(StorageError) {
        try await store.write("deleting tenant \(name)") { db in
            try db.execute(sql: "DELETE FROM managed_tenants WHERE name = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM managed_entries WHERE tenant = ?", arguments: [name])
        }
    }

    func entries() async throws(StorageError) -> [ManagedEntry] {
        try await store.read("reading tenant entries") { db in
            try db.fetch("SELECT tenant, name, action, created_by, created_at FROM managed_entries ORDER BY id", []) { row throws(StorageError) in
                let r = RowReader(row: row, table: "managed_entries")
                return ManagedEntry(tenant: try r.value(0), name: try r.value(1), action: try r.value(2), createdBy: try r.value(3), createdAt: try r.date(4))
            }
        }
    }

    func addEntry(_ e: ManagedEntry) async throws(StorageError) -> Bool {
        try await store.write("adding an entry of tenant \(e.tenant)") { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO managed_entries (tenant, name, action, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [e.tenant, e.name, e.action, e.createdBy, SQLDate.encode(e.createdAt)])
            return db.changesCount > 0
        }
    }

    func removeEntry(tenant: String, name: String, action: String) async throws(StorageError) -> Bool {
        try await store.write("removing an entry of tenant \(tenant)") { db in
            try db.execute(sql: "DELETE FROM managed_entries WHERE tenant = ? AND name = ? AND action = ?", arguments: [tenant, name, action])
            return db.changesCount > 0
        }
    }
}

/// The opt-in query log in SQLite.
struct SQLiteQueryLogRepository: QueryLogRepository {
    let store: SQLiteStore

    func append(_ entries: [QueryLogEntry]) async throws(StorageError) {
        guard !entries.isEmpty else { return }
        try await store.write("writing the query log") { db in
            let st = try db.cachedStatement(
                sql: "INSERT INTO query_log (time, tenant, name, type, rcode, blocked, transport, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for e in entries {
                try st.execute(arguments: [SQLDate.encode(e.time), e.tenant, e.name, e.type, e.rcode, e.blocked, e.transport, e.client])
            }
        }
    }

    func recent(tenant: String, since: Date, limit: Int) async throws(StorageError) -> [QueryLogEntry] {
        try await store.read("reading the query log") { db in
            try db.fetch(
                "SELECT time, tenant, name, type, rcode, blocked, transport, client FROM query_log WHERE tenant = ? AND time >= ? ORDER BY time DESC LIMIT ?",
                [tenant, SQLDate.encode(since), limit]
            ) { row throws(StorageError) in
                let r = RowReader(row: row, table: "query_log")
                return QueryLogEntry(
                    time: try r.date(0), tenant: try r.value(1), name: try r.value(2), type: try r.value(3), rcode: try r.value(4), blocked: try r.value(5),
                    transport: try r.value(6), client: try r.value(7))
            }
        }
    }

    func prune(before: Date) async throws(StorageError) -> Int {
        try await store.write("pruning the query log") { db in
            try db.execute(sql: "DELETE FROM query_log WHERE time < ?", arguments: [SQLDate.encode(before)])
            return db.changesCount
        }
    }
}
