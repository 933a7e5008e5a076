import Foundation

/// Filters for listing indicators.
public struct IndicatorQuery: Sendable, Equatable {
    public var value: String?
    public var state: IndicatorState?
    public var sourceID: Int64?
    public var eventUUID: String?
    /// Keyset paging: rows with an id greater than this.
    public var afterID: Int64?
    public var limit: Int

    public init(value: String? = nil, state: IndicatorState? = nil, sourceID: Int64? = nil, eventUUID: String? = nil, afterID: Int64? = nil, limit: Int = 100) {
        self.value = value
        self.state = state
        self.sourceID = sourceID
        self.eventUUID = eventUUID
        self.afterID = afterID
        self.limit = limit
    }
}

/// Counts per state.
public struct IndicatorCounts: Sendable, Equatable {
    public var active = 0
    public var suppressed = 0
    public var expired = 0
    public var withdrawn = 0
    public init() {}
    public var total: Int { active + suppressed + expired + withdrawn }
}

/// Indicators. Every write is one transaction: it is all there after a crash or none of it.
public protocol IndicatorRepository: Sendable {
    /// Inserts or updates by `(sourceID, ref, value)`, keeping `id` and `createdAt` of existing
    /// rows; returns one change per input record, in input order.
    func upsert(_ records: [IndicatorRecord]) async throws(StorageError) -> [IndicatorChange]
    /// Sets the state (and reason) of rows; returns the rows that changed (as they are now),
    /// with whether each was active before.
    func setState(ids: [Int64], to state: IndicatorState, reason: String?) async throws(StorageError) -> [IndicatorChange]
    /// Rows of source `sourceID` with `ref` in `refs` (every value of those attributes).
    func find(sourceID: Int64, refs: [String]) async throws(StorageError) -> [IndicatorRecord]
    /// Every row whose value is one of `values` (any source, any state): for explanations.
    func find(values: [String]) async throws(StorageError) -> [IndicatorRecord]
    func get(id: Int64) async throws(StorageError) -> IndicatorRecord?
    func list(_ query: IndicatorQuery) async throws(StorageError) -> [IndicatorRecord]
    /// Every active row, in id order, `batch` at a time (for compiling the policy).
    func forEachActive(batch: Int, _ body: ([IndicatorRecord]) throws -> Void) async throws(StorageError)
    /// Active rows of `sourceID` whose `ref` is not in `keep` (a full reconcile finds the hard
    /// deletes on the MISP side this way; feeds, whose rows have ref "", pass values instead and
    /// such rows are matched by value).
    func activeNotIn(sourceID: Int64, refs keep: Set<String>) async throws(StorageError) -> [IndicatorRecord]
    /// Active rows whose `validUntil` is before `date`.
    func activeExpiring(before date: Date) async throws(StorageError) -> [IndicatorRecord]
    func counts(sourceID: Int64?) async throws(StorageError) -> IndicatorCounts
}

public protocol SourceRepository: Sendable {
    /// Returns the source named `name`, creating it with `type`/`url` if it does not exist.
    func ensure(name: String, type: String, url: String?, orgID: Int64?) async throws(StorageError) -> SourceRecord
    func get(name: String) async throws(StorageError) -> SourceRecord?
    func get(id: Int64) async throws(StorageError) -> SourceRecord?
    func all() async throws(StorageError) -> [SourceRecord]
    /// Saves the status fields (watermark, last run, counts, error).
    func update(_ source: SourceRecord) async throws(StorageError)
}

public protocol OrganisationRepository: Sendable {
    /// Returns the organisation named `name` (case-sensitive), creating it if needed.
    func ensure(name: String, uuid: String?) async throws(StorageError) -> Organisation
    func get(id: Int64) async throws(StorageError) -> Organisation?
    func all() async throws(StorageError) -> [Organisation]
}

public protocol SightingRepository: Sendable {
    func add(_ sighting: SightingRecord) async throws(StorageError) -> SightingRecord
    /// Sightings of type `type` not reported yet.
    func unreported(type: Int, limit: Int) async throws(StorageError) -> [SightingRecord]
    func markReported(ids: [Int64], at date: Date) async throws(StorageError)
    func forIndicator(_ id: Int64) async throws(StorageError) -> [SightingRecord]
}

public protocol AuditRepository: Sendable {
    func append(_ entry: AuditRecord) async throws(StorageError)
    /// Newest first.
    func recent(limit: Int, orgID: Int64?) async throws(StorageError) -> [AuditRecord]
}

public protocol APIKeyRepository: Sendable {
    func add(_ key: APIKeyRecord) async throws(StorageError) -> APIKeyRecord
    /// The unrevoked key with this hash.
    func find(hash: String) async throws(StorageError) -> APIKeyRecord?
    func all() async throws(StorageError) -> [APIKeyRecord]
    func revoke(id: Int64) async throws(StorageError)
    /// Sets the role and tenant of a key (the configuration changed them).
    func setScope(id: Int64, role: APIRole, tenant: String?) async throws(StorageError)
    func touch(id: Int64, at date: Date) async throws(StorageError)
}

public protocol EventRepository: Sendable {
    /// Inserts or replaces by uuid (keeps the id).
    func save(_ event: EventRecord) async throws(StorageError) -> EventRecord
    func get(uuid: String) async throws(StorageError) -> EventRecord?
    func get(id: Int64) async throws(StorageError) -> EventRecord?
    /// Newest first; `since` filters on the event timestamp.
    func list(orgID: Int64?, since: Int64?, limit: Int, page: Int) async throws(StorageError) -> [EventRecord]
    /// Timestamps of the events with these uuids (uuid → timestamp), for `filterEventIdsForPush`.
    func timestamps(uuids: [String]) async throws(StorageError) -> [String: Int64]
}

/// Everything the threat-intel hub stores. The SQLite (GRDB) implementation is the embedded
/// default; a PostgreSQL one implements the same protocols.
public protocol IntelStore: Sendable {
    var indicators: any IndicatorRepository { get }
    var sources: any SourceRepository { get }
    var organisations: any OrganisationRepository { get }
    var sightings: any SightingRepository { get }
    var audit: any AuditRepository { get }
    var keys: any APIKeyRepository { get }
    var events: any EventRepository { get }
    var tenantStats: any TenantStatsRepository { get }
    var tenants: any TenantRepository { get }
    var queryLog: any QueryLogRepository { get }
}

/// One logged query (a tenant opted in). `client` is a keyed hash, never the address.
public struct QueryLogEntry: Sendable, Equatable, Codable {
    public var time: Date
    public var tenant: String
    public var name: String
    public var type: Int
    public var rcode: Int
    public var blocked: Bool
    public var transport: String
    public var client: String

    public init(time: Date, tenant: String, name: String, type: Int, rcode: Int, blocked: Bool, transport: String, client: String) {
        self.time = time
        self.tenant = tenant
        self.name = name
        self.type = type
        self.rcode = rcode
        self.blocked = blocked
        self.transport = transport
        self.client = client
    }
}

public protocol QueryLogRepository: Sendable {
    func append(_ entries: [QueryLogEntry]) async throws(StorageError)
    /// Newest first, from `since` on.
    func recent(tenant: String, since: Date, limit: Int) async throws(StorageError) -> [QueryLogEntry]
    /// Deletes what is older than `before`; returns the rows deleted.
    func prune(before: Date) async throws(StorageError) -> Int
}

/// A tenant made through the API, as stored (the fields of a `tenants:` entry of the config).
public struct TenantSpec: Sendable, Equatable, Codable {
    public var name: String
    public var parent: String?
    public var categories: [String]?
    public var overridable: [String]?
    public var blockLists: [String]?
    public var allowLists: [String]?
    public var action: String?
    public var blockPage: String?
    public var logQueries: Bool?
    public var networks: [String]?
    public var token: String?

    public init(name: String, parent: String? = nil) {
        self.name = name
        self.parent = parent
    }
}

/// An entry added to a tenant through the API: `block` or `allow`.
public struct ManagedEntry: Sendable, Equatable, Codable {
    public var tenant: String
    public var name: String
    public var action: String
    public var createdBy: String
    public var createdAt: Date

    public init(tenant: String, name: String, action: String, createdBy: String, createdAt: Date = Date()) {
        self.tenant = tenant
        self.name = name
        self.action = action
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

public protocol TenantRepository: Sendable {
    func all() async throws(StorageError) -> [TenantSpec]
    /// Inserts or replaces by name.
    func put(_ spec: TenantSpec, by actor: String) async throws(StorageError)
    /// Deletes the tenant and its entries.
    func delete(name: String) async throws(StorageError)
    func entries() async throws(StorageError) -> [ManagedEntry]
    /// False when the entry was there already.
    func addEntry(_ entry: ManagedEntry) async throws(StorageError) -> Bool
    /// False when there was no such entry.
    func removeEntry(tenant: String, name: String, action: String) async throws(StorageError) -> Bool
}

/// One interval of one tenant's traffic.
public struct TenantStatsRecord: Sendable, Equatable, Codable {
    /// Start of the interval and its length.
    public var bucket: Date
    public var seconds: Double
    public var tenant: String
    public var queries: Int
    public var blocked: Int
    /// Blocks by category name.
    public var byCategory: [String: Int]

    public init(bucket: Date, seconds: Double, tenant: String, queries: Int, blocked: Int, byCategory: [String: Int]) {
        self.bucket = bucket
        self.seconds = seconds
        self.tenant = tenant
        self.queries = queries
        self.blocked = blocked
        self.byCategory = byCategory
    }
}

/// A blocked name of one tenant: how often, and by how many distinct clients (in one interval,
/// or at most in any one interval of a range).
public struct TenantBlockedName: Sendable, Equatable, Codable {
    public var bucket: Date
    public var tenant: String
    public var name: String
    public var count: Int
    public var clients: Int

    public init(bucket: Date, tenant: String, name: String, count: Int, clients: Int) {
        self.bucket = bucket
        self.tenant = tenant
        self.name = name
        self.count = count
        self.clients = clients
    }
}

public protocol TenantStatsRepository: Sendable {
    func record(_ stats: [TenantStatsRecord], names: [TenantBlockedName]) async throws(StorageError)
    /// Intervals of `tenant` starting in `from..<to`, oldest first.
    func series(tenant: String, from: Date, to: Date) async throws(StorageError) -> [TenantStatsRecord]
    /// The most blocked names of `tenant` in `from..<to` whose distinct clients reached
    /// `minClients` in at least one interval (distinct clients cannot be added up across
    /// intervals; the largest is a lower bound).
    func topBlocked(tenant: String, from: Date, to: Date, minClients: Int, limit: Int) async throws(StorageError) -> [TenantBlockedName]
    /// Deletes what is older than `before`; returns the rows deleted.
    func prune(before: Date) async throws(StorageError) -> Int
}

/// The one error type of the Storage module.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: UInt8
        /// The database cannot be opened or migrated.
        public static let open = Code(raw: 1)
        /// A read or write failed.
        public static let io = Code(raw: 2)
        /// A constraint (unique key, foreign key) refused the write.
        public static let constraint = Code(raw: 3)
        /// A row could not be decoded (corrupt or from a newer version).
        public static let corrupt = Code(raw: 4)
        public var description: String {
            switch raw {
            case 1: "open"
            case 2: "io"
            case 3: "constraint"
            default: "corrupt"
            }
        }
    }
    public var code: Code
    public var reason: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(reason)" }
}
