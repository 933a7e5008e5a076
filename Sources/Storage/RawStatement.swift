import Foundation
import GRDB
import GRDBSQLite

/// A statement driven through the SQLite C API, on the connection of a GRDB `Database` (inside
/// its transaction).
///
/// Only for per-row loops over large batches (`upsert`, `setState`): binding typed values
/// directly skips GRDB's `StatementArguments`/`Row` boxing, which is most of the time of a
/// 100k-row upsert in a debug build (about 10 s with GRDB statements against 2-3 s with this).
/// Everything else goes through GRDB.
final class RawStatement {
    private let connection: OpaquePointer
    private let handle: OpaquePointer
    private let sql: String

    /// The `-1` destructor: SQLite copies the bytes before `bind` returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(_ db: Database, _ sql: String) throws(StorageError) {
        guard let connection = db.sqliteConnection else {
            throw StorageError(.io, "the database connection is closed")
        }
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            sqlite3_finalize(handle)
            throw Self.error(connection, code, sql)
        }
        self.connection = connection
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Parameters (1-based)

    func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                let text = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
                sqlite3_bind_text(handle, index, text, Int32(bytes.count), Self.transient)
            } else {
                // A nil pointer would bind NULL: "" must stay an empty text.
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int?) {
        bind(index, value.map(Int64.init))
    }

    func bind(_ index: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, index, value ? 1 : 0)
    }

    func bind(_ index: Int32, _ value: Double?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_double(handle, index, value)
    }

    // MARK: Execution

    /// Steps once: true when a row is available, false when done.
    func step() throws(StorageError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw Self.error(connection, code, sql)
        }
    }

    /// Makes the statement ready for new parameters.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Columns of the current row (0-based)

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// The number in a column, nil when it holds something else (NULL, text, blob).
    func number(_ column: Int32) -> Double? {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER, SQLITE_FLOAT: sqlite3_column_double(handle, column)
        default: nil
        }
    }

    /// The text of a column, nil for NULL.
    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    private static func error(_ connection: OpaquePointer, _ code: Int32, _ sql: String) -> StorageError {
        let message = String(cString: sqlite3_errmsg(connection))
        let extended = sqlite3_extended_errcode(connection)
        let kind: StorageError.Code =
            switch code & 0xFF {
            case SQLITE_CONSTRAINT: .constraint
            case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
            default: .io
            }
        let statement = sql.prefix { $0 != "(" }.trimmingCharacters(in: .whitespaces)
        return StorageError(kind, "\(statement): SQLite error \(extended): \(message)")
    }
}
