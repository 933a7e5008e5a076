import Foundation
import GRDB

/// The schema, as a list of named migrations. Never edit a migration that has shipped: add
/// the next one ("v2", ...).
///
/// Conventions: dates are epoch seconds (REAL), booleans 0/1, enums their raw value (TEXT),
/// string lists JSON arrays (TEXT). Enum values are not CHECK-constrained: a value this
/// version does not know (written by a newer one, or damage) is reported as `.corrupt` when
/// the row is read.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
        }
        // API keys bound to a tenant: they see that tenant's subtree only.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE api_keys ADD COLUMN tenant TEXT")
        }
        // Per-tenant statistics: counts per interval, and blocked names with their distinct
        // client counts (never the clients themselves).
        migrator.registerMigration("v3") { db in
            try db.execute(sql: v3)
        }
        return migrator
    }

    /// Applies the migrations not applied yet; refuses a database migrated by a newer version.
    static func migrate(_ pool: DatabasePool, path: String) throws(StorageError) {
        let migrator = migrator
        do {
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                throw StorageError(.open, "\(path) was written by a newer version of Bulwark (unknown migrations)")
            }
            try migrator.migrate(pool)
        } catch {
            throw StorageError.wrapping(error, "migrating \(path)", as: .open)
        }
    }

    private static let v3 = """
        CREATE TABLE tenant_stats (
            bucket REAL NOT NULL,
            seconds REAL NOT NULL,
            tenant TEXT NOT NULL,
            queries INTEGER NOT NULL,
            blocked INTEGER NOT NULL,
            by_category TEXT NOT NULL
        );
        CREATE INDEX tenant_stats_tenant_bucket ON tenant_stats(tenant, bucket);
        CREATE TABLE tenant_blocked_names (
            bucket REAL NOT NULL,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            count INTEGER NOT NULL,
            clients INTEGER NOT NULL
        );
        CREATE INDEX tenant_blocked_names_tenant_bucket ON tenant_blocked_names(tenant, bucket);

        -- Tenants made through the API (those of the config file are not stored), and entries
        -- added to any tenant through the API.
        CREATE TABLE managed_tenants (
            name TEXT PRIMARY KEY,
            spec TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        -- Queries of tenants that opted in (log-queries), with the client as a keyed hash
        -- under a key that changes every day and is never stored.
        CREATE TABLE query_log (
            time REAL NOT NULL,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            type INTEGER NOT NULL,
            rcode INTEGER NOT NULL,
            blocked INTEGER NOT NULL,
            transport TEXT NOT NULL,
            client TEXT NOT NULL
        );
        CREATE INDEX query_log_tenant_time ON query_log(tenant, time);
        CREATE INDEX query_log_time ON query_log(time);
        CREATE TABLE managed_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            action TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (tenant, name, action)
        );
        """

    private static let v1 = """
        CREATE TABLE organisations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE
        );

        CREATE TABLE sources (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            url TEXT,
            org_id INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
            watermark INTEGER,
            last_run REAL,
            last_success REAL,
            last_error TEXT,
            last_fetched INTEGER NOT NULL DEFAULT 0,
            last_accepted INTEGER NOT NULL DEFAULT 0,
            last_suppressed INTEGER NOT NULL DEFAULT 0,
            last_withdrawn INTEGER NOT NULL DEFAULT 0,
            last_full_reconcile REAL
        );

        -- The unique key's index also serves lookups by (source_id, ref): no separate index.
        CREATE TABLE indicators (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            ref TEXT NOT NULL,
            value TEXT NOT NULL,
            kind TEXT NOT NULL,
            categories TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            tlp TEXT,
            distribution INTEGER,
            to_ids INTEGER NOT NULL DEFAULT 1,
            event_uuid TEXT,
            event_id TEXT,
            attribute_uuid TEXT,
            original_type TEXT,
            original_value TEXT,
            org_name TEXT,
            comment TEXT,
            first_seen REAL,
            last_seen REAL,
            valid_until REAL,
            decay_score REAL,
            state TEXT NOT NULL,
            state_reason TEXT,
            source_timestamp INTEGER,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (source_id, ref, value)
        );
        CREATE INDEX indicators_value ON indicators(value);
        -- With the rowid, this is (state, id): keyset paging over the active rows.
        CREATE INDEX indicators_state ON indicators(state);
        CREATE INDEX indicators_valid_until ON indicators(valid_until);
        CREATE INDEX indicators_event_uuid ON indicators(event_uuid);

        CREATE TABLE sightings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            indicator_id INTEGER REFERENCES indicators(id) ON DELETE SET NULL,
            value TEXT NOT NULL,
            type INTEGER NOT NULL,
            source TEXT,
            org_id INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
            count INTEGER NOT NULL,
            distinct_clients INTEGER NOT NULL,
            interval_start REAL,
            interval_end REAL,
            created_at REAL NOT NULL,
            reported_at REAL,
            uuid TEXT NOT NULL UNIQUE
        );
        CREATE INDEX sightings_indicator ON sightings(indicator_id);
        CREATE INDEX sightings_unreported ON sightings(type, id) WHERE reported_at IS NULL;

        -- No foreign key on org_id: the log outlives what it names.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            actor TEXT NOT NULL,
            org_id INTEGER,
            action TEXT NOT NULL,
            target TEXT,
            detail TEXT
        );
        CREATE INDEX audit_log_time ON audit_log(time);
        CREATE INDEX audit_log_org_time ON audit_log(org_id, time);

        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            org_id INTEGER NOT NULL REFERENCES organisations(id),
            role TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_used REAL,
            revoked INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL UNIQUE,
            org_id INTEGER NOT NULL REFERENCES organisations(id),
            info TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            published INTEGER NOT NULL,
            publish_timestamp INTEGER NOT NULL,
            distribution INTEGER NOT NULL,
            json BLOB NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX events_timestamp ON events(timestamp);
        CREATE INDEX events_org_timestamp ON events(org_id, timestamp);
        """
}
