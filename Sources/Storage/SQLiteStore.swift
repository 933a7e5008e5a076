import Foundation
import GRDB

/// The embedded threat-intel store: one SQLite file in WAL mode, accessed through a GRDB
/// `DatabasePool` (one writer, concurrent readers).
///
/// Durability: every repository write is one transaction, and the connection runs with
/// `synchronous = FULL`. In WAL mode `NORMAL` already survives a crash of the process
/// (`kill -9`): a commit is in the WAL file, which lives in the OS page cache, as soon as
/// `COMMIT` returns. Only a power loss or kernel panic can lose the last commits under
/// `NORMAL`. `FULL` also syncs the WAL at every commit, so a commit that returned survives
/// a power loss too. Writes are batched (a whole feed run is one `upsert`), so the cost is one
/// fsync per batch, which is worth it for a list that decides what is blocked.
public final class SQLiteStore: IntelStore, Sendable {
    let pool: DatabasePool
    /// Set for `inMemory()` stores: the directory removed when the store goes away.
    private let temporaryDirectory: URL?

    /// Opens (creating it and its parent directories if needed) and migrates the database at
    /// `path`.
    public convenience init(path: String) throws(StorageError) {
        try self.init(path: path, temporaryDirectory: nil)
    }

    private init(path: String, temporaryDirectory: URL?) throws(StorageError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError(.open, "cannot create the directory \(directory.path): \(error)")
        }
        var configuration = Configuration()
        configuration.label = "bulwark.storage"
        configuration.foreignKeysEnabled = true
        // Another process (or a second store on the same file) may hold the write lock.
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // After the pool's own WAL set-up, which chooses NORMAL; the writer connection lives
            // as long as the pool, so this holds for every write.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StorageError.wrapping(error, "opening \(path)", as: .open)
        }
        self.temporaryDirectory = temporaryDirectory
        try Schema.migrate(pool, path: path)
    }

    /// A store on a fresh database in a temporary directory, removed when the store is
    /// released: for tests. (A real file rather than `:memory:`, so that tests run the same WAL
    /// pool as production.)
    public static func inMemory() throws(StorageError) -> SQLiteStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("bulwark-storage-\(UUID().uuidString.lowercased())")
        return try SQLiteStore(path: directory.appendingPathComponent("intel.sqlite").path, temporaryDirectory: directory)
    }

    deinit {
        if let temporaryDirectory {
            try? pool.close()
            try? FileManager.default.removeItem(at: temporaryDirectory)
        }
    }

    /// The path of the database file.
    public var path: String { pool.path }

    public var indicators: any IndicatorRepository { SQLiteIndicatorRepository(store: self) }
    public var sources: any SourceRepository { SQLiteSourceRepository(store: self) }
    public var organisations: any OrganisationRepository { SQLiteOrganisationRepository(store: self) }
    public var sightings: any SightingRepository { SQLiteSightingRepository(store: self) }
    public var audit: any AuditRepository { SQLiteAuditRepository(store: self) }
    public var keys: any APIKeyRepository { SQLiteAPIKeyRepository(store: self) }
    public var events: any EventRepository { SQLiteEventRepository(store: self) }
    public var tenantStats: any TenantStatsRepository { SQLiteTenantStatsRepository(store: self) }
    public var tenants: any TenantRepository { SQLiteTenantRepository(store: self) }
    public var queryLog: any QueryLogRepository { SQLiteQueryLogRepository(store: self) }

    /// Runs `body` in a read-only transaction; `context` names the operation in errors.
    func read<T: Sendable>(_ context: String, _ body: @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StorageError.wrapping(error, context)
        }
    }

    /// Runs `body` in one write transaction (all of it commits, or none of it).
    func write<T: Sendable>(_ context: String, _ body: @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw StorageError.wrapping(error, context)
        }
    }
}

extension StorageError {
    /// Converts any error met while accessing the database into a `StorageError`.
    ///
    /// Constraint violations give `.constraint`, undecodable rows and a damaged file
    /// `.corrupt`, anything else `code` (`.io` by default; `.open` while opening or migrating,
    /// where every failure is an open failure). Reasons never include statement arguments.
    static func wrapping(_ error: any Error, _ context: String, as code: Code = .io, file: String = #fileID, line: Int = #line) -> StorageError {
        switch error {
        case let error as StorageError:
            return error
        case let error as DatabaseError:
            var mapped = code
            if code != .open {
                switch error.resultCode {
                case .SQLITE_CONSTRAINT: mapped = .constraint
                case .SQLITE_CORRUPT, .SQLITE_NOTADB: mapped = .corrupt
                default: break
                }
            }
            let message = error.message ?? "no message"
            return StorageError(mapped, "\(context): SQLite error \(error.extendedResultCode.rawValue): \(message)", file: file, line: line)
        case is RowDecodingError:
            // Its description holds the row's values, which can be TLP:RED: leave them out.
            return StorageError(code == .open ? .open : .corrupt, "\(context): a row could not be decoded", file: file, line: line)
        case is CancellationError:
            return StorageError(code, "\(context): cancelled", file: file, line: line)
        default:
            return StorageError(code, "\(context): \(error)", file: file, line: line)
        }
    }
}
