import Foundation
import GRDB

/// A value bound to a statement parameter.
typealias SQLValue = (any DatabaseValueConvertible)?

/// Dates are stored as epoch seconds.
enum SQLDate {
    static func encode(_ date: Date) -> Double { date.timeIntervalSince1970 }
    static func encode(_ date: Date?) -> Double? { date.map(\.timeIntervalSince1970) }
}

/// Reads the columns of one row by index without ever trapping: a NULL where a value is
/// required, a value of the wrong type or an unknown enum value is a `.corrupt` error naming
/// the table, the row id (column 0) and the column, never the value (it may be TLP:RED).
struct RowReader {
    let row: Row
    let table: String
    /// The column holding the row's id, if selected.
    var idColumn: Int? = 0

    func value<T: DatabaseValueConvertible & StatementColumnConvertible>(_ index: Int) throws(StorageError) -> T {
        do {
            return try row.decode(T.self, atIndex: index)
        } catch {
            throw corrupt(index, "NULL or a value of the wrong type")
        }
    }

    func optional<T: DatabaseValueConvertible & StatementColumnConvertible>(_ index: Int) throws(StorageError) -> T? {
        row.hasNull(atIndex: index) ? nil : try value(index) as T
    }

    /// Strict: SQLite would read a text as 0, the epoch.
    func date(_ index: Int) throws(StorageError) -> Date {
        let value: DatabaseValue = row[index]
        switch value.storage {
        case .double(let seconds): return Date(timeIntervalSince1970: seconds)
        case .int64(let seconds): return Date(timeIntervalSince1970: Double(seconds))
        default: throw corrupt(index, "not a number")
        }
    }

    func optionalDate(_ index: Int) throws(StorageError) -> Date? {
        row.hasNull(atIndex: index) ? nil : try date(index)
    }

    func enumeration<E: RawRepresentable>(_ index: Int) throws(StorageError) -> E where E.RawValue == String {
        let raw: String = try value(index)
        guard let result = E(rawValue: raw) else {
            // Enum raw values are ours, not the source's: safe to name.
            throw corrupt(index, "unknown value '\(raw.prefix(40))'")
        }
        return result
    }

    func strings(_ index: Int) throws(StorageError) -> [String] {
        let text: String = try value(index)
        guard let result = JSONStrings.decode(text) else {
            throw corrupt(index, "not a JSON array of strings")
        }
        return result
    }

    private func corrupt(_ index: Int, _ what: String) -> StorageError {
        let column = row.columnNames.dropFirst(index).first ?? "#\(index)"
        let id = idColumn.flatMap { try? row.decode(Int64?.self, atIndex: $0) }.map { " \($0)" } ?? ""
        return StorageError(.corrupt, "\(table) row\(id): column \(column): \(what)")
    }
}

/// JSON arrays of strings (the `categories` and `tags` columns), without the cost of
/// `JSONEncoder`/`JSONDecoder` on the hot paths (100k-row upserts, 1M-row policy compiles).
enum JSONStrings {
    static func encode(_ strings: [String]) -> String {
        let plain = strings.allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") } }
        if plain {
            return strings.isEmpty ? "[]" : "[\"" + strings.joined(separator: "\",\"") + "\"]"
        }
        var out = "["
        for (index, string) in strings.enumerated() {
            if index > 0 { out.append(",") }
            out.append("\"")
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default: out.unicodeScalars.append(scalar)
                }
            }
            out.append("\"")
        }
        out.append("]")
        return out
    }

    /// The strings, or nil when `text` is not a JSON array of strings.
    static func decode(_ text: String) -> [String]? {
        let bytes = Array(text.utf8)
        if !bytes.contains(UInt8(ascii: "\\")), let strings = decodeUnescaped(bytes) {
            return strings
        }
        return try? JSONDecoder().decode([String].self, from: Data(bytes))
    }

    /// The fast path: without backslashes, every `"` ends a string.
    private static func decodeUnescaped(_ bytes: [UInt8]) -> [String]? {
        let quote = UInt8(ascii: "\"")
        let comma = UInt8(ascii: ",")
        let close = UInt8(ascii: "]")
        var index = 0
        func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        skipSpace()
        var strings: [String] = []
        if index < bytes.count, bytes[index] == close {
            index += 1
            skipSpace()
            return index == bytes.count ? strings : nil
        }
        while true {
            guard index < bytes.count, bytes[index] == quote else { return nil }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != quote {
                if bytes[index] < 0x20 { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            strings.append(String(decoding: bytes[start..<index], as: UTF8.self))
            index += 1
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == comma {
                index += 1
                skipSpace()
            } else if bytes[index] == close {
                index += 1
                skipSpace()
                return index == bytes.count ? strings : nil
            } else {
                return nil
            }
        }
    }
}

/// `(?, ?, ?)` for `count` parameters.
func placeholders(_ count: Int) -> String {
    "(" + Array(repeating: "?", count: count).joined(separator: ", ") + ")"
}

/// SQLite limits the number of parameters of a statement: `IN (...)` lists are split.
let maxParametersPerStatement = 500

// MARK: - Rows of each table

enum IndicatorRow {
    static let columns =
        "id, source_id, ref, value, kind, categories, tags, tlp, distribution, to_ids, event_uuid, event_id, "
        + "attribute_uuid, original_type, original_value, org_name, comment, first_seen, last_seen, valid_until, "
        + "decay_score, state, state_reason, source_timestamp, created_at, updated_at"

    /// The columns written by an upsert, after `source_id, ref, value` (the key).
    static let dataColumns = [
        "kind", "categories", "tags", "tlp", "distribution", "to_ids", "event_uuid", "event_id", "attribute_uuid", "original_type",
        "original_value", "org_name", "comment", "first_seen", "last_seen", "valid_until", "decay_score", "state", "state_reason",
        "source_timestamp", "created_at", "updated_at",
    ]

    static let insertSQL =
        "INSERT INTO indicators (source_id, ref, value, \(dataColumns.joined(separator: ", "))) VALUES \(placeholders(3 + dataColumns.count))"
    static let updateSQL = "UPDATE indicators SET \(dataColumns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?"

    /// Binds the values of `dataColumns`, in order, from parameter `first` on.
    static func bindData(_ statement: RawStatement, _ r: IndicatorRecord, createdAt: Date, from first: Int32) {
        statement.bind(first, r.kind.rawValue)
        statement.bind(first + 1, JSONStrings.encode(r.categories))
        statement.bind(first + 2, JSONStrings.encode(r.tags))
        statement.bind(first + 3, r.tlp)
        statement.bind(first + 4, r.distribution)
        statement.bind(first + 5, r.toIDS)
        statement.bind(first + 6, r.eventUUID)
        statement.bind(first + 7, r.eventID)
        statement.bind(first + 8, r.attributeUUID)
        statement.bind(first + 9, r.originalType)
        statement.bind(first + 10, r.originalValue)
        statement.bind(first + 11, r.orgName)
        statement.bind(first + 12, r.comment)
        statement.bind(first + 13, SQLDate.encode(r.firstSeen))
        statement.bind(first + 14, SQLDate.encode(r.lastSeen))
        statement.bind(first + 15, SQLDate.encode(r.validUntil))
        statement.bind(first + 16, r.decayScore)
        statement.bind(first + 17, r.state.rawValue)
        statement.bind(first + 18, r.stateReason)
        statement.bind(first + 19, r.sourceTimestamp)
        statement.bind(first + 20, SQLDate.encode(createdAt))
        statement.bind(first + 21, SQLDate.encode(r.updatedAt))
    }

    static func decode(_ row: Row) throws(StorageError) -> IndicatorRecord {
        let r = RowReader(row: row, table: "indicators")
        return IndicatorRecord(
            id: try r.value(0), sourceID: try r.value(1), ref: try r.value(2), value: try r.value(3), kind: try r.enumeration(4),
            categories: try r.strings(5), tags: try r.strings(6), tlp: try r.optional(7), distribution: try r.optional(8),
            toIDS: try r.value(9), eventUUID: try r.optional(10), eventID: try r.optional(11), attributeUUID: try r.optional(12),
            originalType: try r.optional(13), originalValue: try r.optional(14), orgName: try r.optional(15), comment: try r.optional(16),
            firstSeen: try r.optionalDate(17), lastSeen: try r.optionalDate(18), validUntil: try r.optionalDate(19),
            decayScore: try r.optional(20), state: try r.enumeration(21), stateReason: try r.optional(22),
            sourceTimestamp: try r.optional(23), createdAt: try r.date(24), updatedAt: try r.date(25)
        )
    }
}

enum SourceRow {
    static let columns =
        "id, name, type, url, org_id, watermark, last_run, last_success, last_error, last_fetched, last_accepted, "
        + "last_suppressed, last_withdrawn, last_full_reconcile"

    static func decode(_ row: Row) throws(StorageError) -> SourceRecord {
        let r = RowReader(row: row, table: "sources")
        return SourceRecord(
            id: try r.value(0), name: try r.value(1), type: try r.value(2), url: try r.optional(3), orgID: try r.optional(4),
            watermark: try r.optional(5), lastRun: try r.optionalDate(6), lastSuccess: try r.optionalDate(7), lastError: try r.optional(8),
            lastFetched: try r.value(9), lastAccepted: try r.value(10), lastSuppressed: try r.value(11), lastWithdrawn: try r.value(12),
            lastFullReconcile: try r.optionalDate(13)
        )
    }
}

enum OrganisationRow {
    static let columns = "id, uuid, name"

    static func decode(_ row: Row) throws(StorageError) -> Organisation {
        let r = RowReader(row: row, table: "organisations")
        return Organisation(id: try r.value(0), uuid: try r.value(1), name: try r.value(2))
    }
}

enum SightingRow {
    static let columns =
        "id, indicator_id, value, type, source, org_id, count, distinct_clients, interval_start, interval_end, created_at, reported_at, uuid"

    static func values(_ s: SightingRecord) -> [SQLValue] {
        [
            s.indicatorID, s.value, s.type, s.source, s.orgID, s.count, s.distinctClients, SQLDate.encode(s.intervalStart),
            SQLDate.encode(s.intervalEnd), SQLDate.encode(s.createdAt), SQLDate.encode(s.reportedAt), s.uuid,
        ]
    }

    static func decode(_ row: Row) throws(StorageError) -> SightingRecord {
        let r = RowReader(row: row, table: "sightings")
        return SightingRecord(
            id: try r.value(0), indicatorID: try r.optional(1), value: try r.value(2), type: try r.value(3), source: try r.optional(4),
            orgID: try r.optional(5), count: try r.value(6), distinctClients: try r.value(7), intervalStart: try r.optionalDate(8),
            intervalEnd: try r.optionalDate(9), createdAt: try r.date(10), reportedAt: try r.optionalDate(11), uuid: try r.value(12)
        )
    }
}

enum AuditRow {
    static let columns = "id, time, actor, org_id, action, target, detail"

    static func decode(_ row: Row) throws(StorageError) -> AuditRecord {
        let r = RowReader(row: row, table: "audit_log")
        return AuditRecord(
            id: try r.value(0), time: try r.date(1), actor: try r.value(2), orgID: try r.optional(3), action: try r.value(4),
            target: try r.optional(5), detail: try r.optional(6)
        )
    }
}

enum APIKeyRow {
    static let columns = "id, name, hash, prefix, org_id, role, created_at, last_used, revoked, tenant"

    static func decode(_ row: Row) throws(StorageError) -> APIKeyRecord {
        let r = RowReader(row: row, table: "api_keys")
        return APIKeyRecord(
            id: try r.value(0), name: try r.value(1), hash: try r.value(2), prefix: try r.value(3), orgID: try r.value(4),
            role: try r.enumeration(5), createdAt: try r.date(6), lastUsed: try r.optionalDate(7), revoked: try r.value(8), tenant: try r.optional(9)
        )
    }
}

enum EventRow {
    static let columns = "id, uuid, org_id, info, timestamp, published, publish_timestamp, distribution, json, created_at, updated_at"

    static func decode(_ row: Row) throws(StorageError) -> EventRecord {
        let r = RowReader(row: row, table: "events")
        return EventRecord(
            id: try r.value(0), uuid: try r.value(1), orgID: try r.value(2), info: try r.value(3), timestamp: try r.value(4),
            published: try r.value(5), publishTimestamp: try r.value(6), distribution: try r.value(7), json: try r.value(8),
            createdAt: try r.date(9), updatedAt: try r.date(10)
        )
    }
}

extension Database {
    /// Every row of `sql`, decoded by `decode`; the statement is cached when `cached`.
    func fetch<T>(
        _ sql: String, _ arguments: StatementArguments, cached: Bool = false, _ decode: (Row) throws(StorageError) -> T
    ) throws -> [T] {
        let statement = cached ? try cachedStatement(sql: sql) : try makeStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var result: [T] = []
        while let row = try rows.next() {
            result.append(try decode(row))
        }
        return result
    }

    /// The rows of `sql` with `IN (...)` replaced by `values`, split so as to respect
    /// SQLite's limit on the number of parameters; `before` are the parameters before the list.
    func fetch<T, V: DatabaseValueConvertible>(
        _ sql: String, before: [SQLValue] = [], in values: [V], _ decode: (Row) throws(StorageError) -> T
    ) throws -> [T] {
        var result: [T] = []
        var start = 0
        while start < values.count {
            let chunk = values[start..<min(start + maxParametersPerStatement, values.count)]
            let expanded = sql.replacingOccurrences(of: "IN (...)", with: "IN \(placeholders(chunk.count))")
            result += try fetch(expanded, StatementArguments(before + chunk.map { $0 as SQLValue }), decode)
            start += chunk.count
        }
        return result
    }
}
