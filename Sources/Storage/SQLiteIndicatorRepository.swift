import Foundation
import GRDB

/// Indicators in SQLite.
struct SQLiteIndicatorRepository: IndicatorRepository {
    let store: SQLiteStore

    /// The key of an existing row and what an `IndicatorChange` needs from it.
    private static let existingSQL =
        "SELECT id, created_at, state, kind, categories FROM indicators WHERE source_id = ? AND ref = ? AND value = ?"

    /// Rows are matched by `(sourceID, ref, value)`; the `id` of an input record is ignored.
    /// `previousValue`, `previousKind` and `previousCategories` are those of the existing row,
    /// whatever its state (`wasActive` says whether it was enforced); nil for a new row.
    ///
    /// The whole batch is one transaction. The per-row loop binds through the SQLite C API
    /// (`RawStatement`): 100k rows take about 2-3 s in a debug build.
    func upsert(_ records: [IndicatorRecord]) async throws(StorageError) -> [IndicatorChange] {
        guard !records.isEmpty else { return [] }
        return try await store.write("upserting \(records.count) indicators") { db in
            let select = try RawStatement(db, Self.existingSQL)
            let insert = try RawStatement(db, IndicatorRow.insertSQL)
            let update = try RawStatement(db, IndicatorRow.updateSQL)
            var changes: [IndicatorChange] = []
            changes.reserveCapacity(records.count)
            for input in records {
                var record = input
                select.bind(1, input.sourceID)
                select.bind(2, input.ref)
                select.bind(3, input.value)
                if try select.step() {
                    let old = try Self.existing(select)
                    select.reset()
                    record.id = old.id
                    record.createdAt = old.createdAt
                    IndicatorRow.bindData(update, record, createdAt: old.createdAt, from: 1)
                    update.bind(Int32(IndicatorRow.dataColumns.count + 1), old.id)
                    _ = try update.step()
                    update.reset()
                    changes.append(
                        IndicatorChange(
                            record: record, wasActive: old.state == .active, previousValue: input.value, previousKind: old.kind,
                            previousCategories: old.categories
                        )
                    )
                } else {
                    select.reset()
                    insert.bind(1, input.sourceID)
                    insert.bind(2, input.ref)
                    insert.bind(3, input.value)
                    IndicatorRow.bindData(insert, record, createdAt: record.createdAt, from: 4)
                    _ = try insert.step()
                    insert.reset()
                    record.id = db.lastInsertedRowID
                    changes.append(IndicatorChange(record: record, wasActive: false))
                }
            }
            return changes
        }
    }

    /// The columns of `existingSQL` on the current row of `select`.
    private static func existing(
        _ select: RawStatement
    ) throws(StorageError) -> (id: Int64, createdAt: Date, state: IndicatorState, kind: IndicatorKind, categories: [String]) {
        let id = select.int64(0)
        func corrupt(_ column: String, _ what: String) -> StorageError {
            StorageError(.corrupt, "indicators row \(id): column \(column): \(what)")
        }
        guard let createdAt = select.number(1) else { throw corrupt("created_at", "not a number") }
        let state = select.text(2) ?? ""
        guard let knownState = IndicatorState(rawValue: state) else { throw corrupt("state", "unknown value '\(state.prefix(40))'") }
        let kind = select.text(3) ?? ""
        guard let knownKind = IndicatorKind(rawValue: kind) else { throw corrupt("kind", "unknown value '\(kind.prefix(40))'") }
        guard let categories = select.text(4).flatMap(JSONStrings.decode) else { throw corrupt("categories", "not a JSON array of strings") }
        return (id, Date(timeIntervalSince1970: createdAt), knownState, knownKind, categories)
    }

    /// Unknown ids, and rows already in `state` with `reason`, are left out of the result
    /// (which is in the order of `ids`). `updatedAt` of the changed rows becomes now.
    func setState(ids: [Int64], to state: IndicatorState, reason: String?) async throws(StorageError) -> [IndicatorChange] {
        guard !ids.isEmpty else { return [] }
        return try await store.write("setting the state of \(ids.count) indicators to \(state.rawValue)") { db in
            let rows = try db.fetch("SELECT \(IndicatorRow.columns) FROM indicators WHERE id IN (...)", in: Array(Set(ids)), IndicatorRow.decode)
            var current = Dictionary(rows.map { ($0.id!, $0) }, uniquingKeysWith: { first, _ in first })
            let update = try RawStatement(db, "UPDATE indicators SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?")
            let now = Date()
            var changes: [IndicatorChange] = []
            for id in ids {
                // Removed once seen: a repeated id is not a second change.
                guard let old = current.removeValue(forKey: id) else { continue }
                guard old.state != state || old.stateReason != reason else { continue }
                update.bind(1, state.rawValue)
                update.bind(2, reason)
                update.bind(3, SQLDate.encode(now))
                update.bind(4, id)
                _ = try update.step()
                update.reset()
                var record = old
                record.state = state
                record.stateReason = reason
                record.updatedAt = now
                changes.append(
                    IndicatorChange(
                        record: record, wasActive: old.isActive, previousValue: old.value, previousKind: old.kind,
                        previousCategories: old.categories
                    )
                )
            }
            return changes
        }
    }

    func find(sourceID: Int64, refs: [String]) async throws(StorageError) -> [IndicatorRecord] {
        guard !refs.isEmpty else { return [] }
        return try await store.read("finding indicators by ref") { db in
            try db.fetch(
                "SELECT \(IndicatorRow.columns) FROM indicators WHERE source_id = ? AND ref IN (...) ORDER BY id", before: [sourceID],
                in: Array(Set(refs)), IndicatorRow.decode
            ).sorted { $0.id! < $1.id! }
        }
    }

    func find(values: [String]) async throws(StorageError) -> [IndicatorRecord] {
        guard !values.isEmpty else { return [] }
        return try await store.read("finding indicators by value") { db in
            try db.fetch(
                "SELECT \(IndicatorRow.columns) FROM indicators WHERE value IN (...) ORDER BY id", in: Array(Set(values)), IndicatorRow.decode
            )
            .sorted { $0.id! < $1.id! }
        }
    }

    func get(id: Int64) async throws(StorageError) -> IndicatorRecord? {
        try await store.read("reading indicator \(id)") { db in
            try db.fetch("SELECT \(IndicatorRow.columns) FROM indicators WHERE id = ?", [id], IndicatorRow.decode).first
        }
    }

    /// In id order.
    func list(_ query: IndicatorQuery) async throws(StorageError) -> [IndicatorRecord] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let value = query.value {
            conditions.append("value = ?")
            arguments.append(value)
        }
        if let state = query.state {
            conditions.append("state = ?")
            arguments.append(state.rawValue)
        }
        if let sourceID = query.sourceID {
            conditions.append("source_id = ?")
            arguments.append(sourceID)
        }
        if let eventUUID = query.eventUUID {
            conditions.append("event_uuid = ?")
            arguments.append(eventUUID)
        }
        if let afterID = query.afterID {
            conditions.append("id > ?")
            arguments.append(afterID)
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(max(0, query.limit))
        let sql = "SELECT \(IndicatorRow.columns) FROM indicators \(filter) ORDER BY id LIMIT ?"
        let boundArguments = StatementArguments(arguments)
        return try await store.read("listing indicators") { db in
            try db.fetch(sql, boundArguments, IndicatorRow.decode)
        }
    }

    /// Each batch is read in its own transaction and `body` runs outside the database, so a
    /// compile never holds a reader or 1M rows at once; rows written meanwhile may be seen in
    /// either state (apply the changes made since the start afterwards). An error thrown by
    /// `body` that is not a `StorageError` is wrapped in an `.io` one.
    func forEachActive(batch: Int, _ body: ([IndicatorRecord]) throws -> Void) async throws(StorageError) {
        let size = max(1, batch)
        var afterID: Int64 = 0
        while true {
            let cursor = afterID
            let rows = try await store.read("reading active indicators") { db in
                try db.fetch(
                    "SELECT \(IndicatorRow.columns) FROM indicators WHERE state = 'active' AND id > ? ORDER BY id LIMIT ?", [cursor, size],
                    cached: true, IndicatorRow.decode
                )
            }
            guard let last = rows.last?.id else { return }
            do {
                try body(rows)
            } catch let error as StorageError {
                throw error
            } catch {
                throw StorageError(.io, "forEachActive: the body failed: \(error)")
            }
            if rows.count < size { return }
            afterID = last
        }
    }

    /// A row with a `ref` is kept when its ref is in `keep`; a row with ref "" (a feed or API
    /// entry) when its value is. Reads only `(id, ref, value)` of the source's active rows,
    /// then the full rows of those not kept; one read transaction. In id order.
    func activeNotIn(sourceID: Int64, refs keep: Set<String>) async throws(StorageError) -> [IndicatorRecord] {
        try await store.read("finding withdrawn indicators of source \(sourceID)") { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, ref, value FROM indicators WHERE source_id = ? AND state = 'active'", arguments: [sourceID])
            var gone: [Int64] = []
            while let row = try rows.next() {
                let r = RowReader(row: row, table: "indicators")
                let ref: String = try r.value(1)
                if ref.isEmpty {
                    if !keep.contains(try r.value(2)) { gone.append(try r.value(0)) }
                } else if !keep.contains(ref) {
                    gone.append(try r.value(0))
                }
            }
            return try db.fetch("SELECT \(IndicatorRow.columns) FROM indicators WHERE id IN (...)", in: gone, IndicatorRow.decode)
                .sorted { $0.id! < $1.id! }
        }
    }

    /// In `validUntil` order; rows without a `validUntil` never expire.
    func activeExpiring(before date: Date) async throws(StorageError) -> [IndicatorRecord] {
        try await store.read("finding expiring indicators") { db in
            try db.fetch(
                "SELECT \(IndicatorRow.columns) FROM indicators WHERE valid_until < ? AND state = 'active' ORDER BY valid_until, id",
                [SQLDate.encode(date)], IndicatorRow.decode
            )
        }
    }

    /// Of every source when `sourceID` is nil. A state this version does not know is `.corrupt`.
    func counts(sourceID: Int64?) async throws(StorageError) -> IndicatorCounts {
        try await store.read("counting indicators") { db in
            let filter = sourceID == nil ? "" : "WHERE source_id = ?"
            let arguments: StatementArguments = sourceID.map { [$0] } ?? []
            let rows = try db.fetch("SELECT state, COUNT(*) FROM indicators \(filter) GROUP BY state", arguments) { row throws(StorageError) in
                let r = RowReader(row: row, table: "indicators", idColumn: nil)
                return (try r.enumeration(0) as IndicatorState, try r.value(1) as Int)
            }
            var counts = IndicatorCounts()
            for (state, count) in rows {
                switch state {
                case .active: counts.active = count
                case .suppressed: counts.suppressed = count
                case .expired: counts.expired = count
                case .withdrawn: counts.withdrawn = count
                }
            }
            return counts
        }
    }
}
