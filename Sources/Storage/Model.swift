import Foundation

/// What an indicator names.
public enum IndicatorKind: String, Sendable, Codable, CaseIterable {
    /// A domain and everything below it (MISP `domain`).
    case domain
    /// Exactly one host name (MISP `hostname`, the host of a `url`).
    case hostname
    /// One address (MISP `ip-src`, `ip-dst`).
    case ip
    /// An address range.
    case cidr
}

/// Where an indicator stands. Only `active` indicators are enforced; the others are kept with
/// their reason (never silently dropped).
public enum IndicatorState: String, Sendable, Codable, CaseIterable {
    case active
    /// Held back by the false-positive guard (warninglist, allow-list, public suffix) or a
    /// false-positive report.
    case suppressed
    /// Its validity ran out or its decay score fell below the threshold.
    case expired
    /// The source deleted it, unset `to_ids`, or stopped listing it.
    case withdrawn
}

/// An organisation: a source's publisher, an API key's owner.
public struct Organisation: Sendable, Equatable, Codable {
    public var id: Int64?
    public var uuid: String
    public var name: String

    public init(id: Int64? = nil, uuid: String = UUID().uuidString.lowercased(), name: String) {
        self.id = id
        self.uuid = uuid
        self.name = name
    }
}

/// A source of indicators: a MISP instance pulled from, the push API (one per pushing
/// organisation), a feed, the REST API.
public struct SourceRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    /// Unique, as configured (`misp-circl`, `push:CERT-EX`, `api`).
    public var name: String
    /// `misp`, `push`, `misp-feed`, `freetext`, `csv`, `api`.
    public var type: String
    public var url: String?
    public var orgID: Int64?
    /// Pull watermark: the largest attribute timestamp seen (epoch seconds).
    public var watermark: Int64?
    public var lastRun: Date?
    public var lastSuccess: Date?
    public var lastError: String?
    /// Counts of the last run.
    public var lastFetched: Int
    public var lastAccepted: Int
    public var lastSuppressed: Int
    public var lastWithdrawn: Int
    public var lastFullReconcile: Date?

    public init(
        id: Int64? = nil, name: String, type: String, url: String? = nil, orgID: Int64? = nil, watermark: Int64? = nil,
        lastRun: Date? = nil, lastSuccess: Date? = nil, lastError: String? = nil, lastFetched: Int = 0, lastAccepted: Int = 0,
        lastSuppressed: Int = 0, lastWithdrawn: Int = 0, lastFullReconcile: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.url = url
        self.orgID = orgID
        self.watermark = watermark
        self.lastRun = lastRun
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.lastFetched = lastFetched
        self.lastAccepted = lastAccepted
        self.lastSuppressed = lastSuppressed
        self.lastWithdrawn = lastWithdrawn
        self.lastFullReconcile = lastFullReconcile
    }
}

/// One indicator with its provenance. `(sourceID, ref, value)` is unique: `ref` is the MISP
/// attribute uuid (one attribute such as `domain|ip` can give two indicators) or "" for list
/// and API entries.
public struct IndicatorRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var sourceID: Int64
    public var ref: String
    /// Normalised: a lowercased name without the trailing dot (IDNA A-labels), an address in
    /// canonical text, or `address/length`.
    public var value: String
    public var kind: IndicatorKind
    /// Category names (`Policy.Category` descriptions), the first one is the primary.
    public var categories: [String]
    public var tags: [String]
    /// `clear`, `green`, `amber`, `amber+strict`, `red`, or nil when untagged.
    public var tlp: String?
    /// MISP distribution 0...5, nil when unknown.
    public var distribution: Int?
    public var toIDS: Bool
    public var eventUUID: String?
    public var eventID: String?
    public var attributeUUID: String?
    /// MISP type it came as (`domain`, `url`, `ip-dst|port`, ...), or the feed format.
    public var originalType: String?
    /// The value as the source gave it (before refanging and normalisation).
    public var originalValue: String?
    public var orgName: String?
    public var comment: String?
    public var firstSeen: Date?
    public var lastSeen: Date?
    public var validUntil: Date?
    public var decayScore: Double?
    public var state: IndicatorState
    public var stateReason: String?
    /// The source's own edit time (MISP attribute timestamp), epoch seconds.
    public var sourceTimestamp: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, sourceID: Int64, ref: String = "", value: String, kind: IndicatorKind, categories: [String],
        tags: [String] = [], tlp: String? = nil, distribution: Int? = nil, toIDS: Bool = true, eventUUID: String? = nil,
        eventID: String? = nil, attributeUUID: String? = nil, originalType: String? = nil, originalValue: String? = nil,
        orgName: String? = nil, comment: String? = nil, firstSeen: Date? = nil, lastSeen: Date? = nil, validUntil: Date? = nil,
        decayScore: Double? = nil, state: IndicatorState = .active, stateReason: String? = nil, sourceTimestamp: Int64? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.sourceID = sourceID
        self.ref = ref
        self.value = value
        self.kind = kind
        self.categories = categories
        self.tags = tags
        self.tlp = tlp
        self.distribution = distribution
        self.toIDS = toIDS
        self.eventUUID = eventUUID
        self.eventID = eventID
        self.attributeUUID = attributeUUID
        self.originalType = originalType
        self.originalValue = originalValue
        self.orgName = orgName
        self.comment = comment
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.validUntil = validUntil
        self.decayScore = decayScore
        self.state = state
        self.stateReason = stateReason
        self.sourceTimestamp = sourceTimestamp
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Is it enforced?
    public var isActive: Bool { state == .active }
}

/// What an upsert did to one indicator: the data plane needs to know which rules appear and
/// which go away.
public struct IndicatorChange: Sendable, Equatable {
    /// The row as it is now (with its id).
    public var record: IndicatorRecord
    /// Was it enforced before the write (false for a new row)?
    public var wasActive: Bool
    /// The value and kind it was enforced under before (a MISP edit can change the value).
    public var previousValue: String?
    public var previousKind: IndicatorKind?
    public var previousCategories: [String]?

    public init(record: IndicatorRecord, wasActive: Bool, previousValue: String? = nil, previousKind: IndicatorKind? = nil, previousCategories: [String]? = nil) {
        self.record = record
        self.wasActive = wasActive
        self.previousValue = previousValue
        self.previousKind = previousKind
        self.previousCategories = previousCategories
    }
}

/// A sighting: received from a client (push API), or aggregated resolver hits to report to
/// the source.
public struct SightingRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var indicatorID: Int64?
    public var value: String
    /// MISP sighting type: 0 sighting, 1 false positive, 2 expiration.
    public var type: Int
    public var source: String?
    public var orgID: Int64?
    public var count: Int
    public var distinctClients: Int
    public var intervalStart: Date?
    public var intervalEnd: Date?
    public var createdAt: Date
    /// When it was posted to the source MISP (nil: not yet, or never for received ones).
    public var reportedAt: Date?
    public var uuid: String

    public init(
        id: Int64? = nil, indicatorID: Int64?, value: String, type: Int, source: String? = nil, orgID: Int64? = nil, count: Int = 1,
        distinctClients: Int = 0, intervalStart: Date? = nil, intervalEnd: Date? = nil, createdAt: Date = Date(), reportedAt: Date? = nil,
        uuid: String = UUID().uuidString.lowercased()
    ) {
        self.id = id
        self.indicatorID = indicatorID
        self.value = value
        self.type = type
        self.source = source
        self.orgID = orgID
        self.count = count
        self.distinctClients = distinctClients
        self.intervalStart = intervalStart
        self.intervalEnd = intervalEnd
        self.createdAt = createdAt
        self.reportedAt = reportedAt
        self.uuid = uuid
    }
}

/// An entry of the audit log: who changed what.
public struct AuditRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var time: Date
    /// `key:<name>`, `source:<name>`, `system`, `cli`.
    public var actor: String
    public var orgID: Int64?
    /// `indicator.add`, `indicator.withdraw`, `event.add`, `key.add`, `source.run`, ...
    public var action: String
    public var target: String?
    public var detail: String?

    public init(id: Int64? = nil, time: Date = Date(), actor: String, orgID: Int64? = nil, action: String, target: String? = nil, detail: String? = nil) {
        self.id = id
        self.time = time
        self.actor = actor
        self.orgID = orgID
        self.action = action
        self.target = target
        self.detail = detail
    }
}

/// What an API key may do.
public enum APIRole: String, Sendable, Codable, CaseIterable {
    /// Everything, including keys and every organisation's data.
    case admin
    /// Push events and sightings (MISP sync user), read its own organisation's data.
    case sync
    /// Read only (a tenant's "viewer").
    case reader
    /// Adds indicators (a key of the whole service) or a tenant's own block and allow entries
    /// (a key bound to a tenant), in its subtree.
    case analyst
}

/// An API key: only its SHA-256 is stored.
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var name: String
    /// Lowercase hex SHA-256 of the key.
    public var hash: String
    /// The first 4 characters of the key, to tell keys apart in listings.
    public var prefix: String
    public var orgID: Int64
    public var role: APIRole
    public var createdAt: Date
    public var lastUsed: Date?
    public var revoked: Bool
    /// The tenant the key is bound to (it sees that tenant and its descendants only, and cannot
    /// change the shared threat intel); nil: the whole service.
    public var tenant: String?

    public init(
        id: Int64? = nil, name: String, hash: String, prefix: String, orgID: Int64, role: APIRole, createdAt: Date = Date(), lastUsed: Date? = nil,
        revoked: Bool = false, tenant: String? = nil
    ) {
        self.tenant = tenant
        self.id = id
        self.name = name
        self.hash = hash
        self.prefix = prefix
        self.orgID = orgID
        self.role = role
        self.createdAt = createdAt
        self.lastUsed = lastUsed
        self.revoked = revoked
    }
}

/// A MISP event as received by the push API (kept whole, so `events/view` returns what was
/// pushed and `filterEventIdsForPush` can compare timestamps).
public struct EventRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var uuid: String
    public var orgID: Int64
    public var info: String
    /// The event's own timestamp (epoch seconds).
    public var timestamp: Int64
    public var published: Bool
    public var publishTimestamp: Int64
    public var distribution: Int
    /// The event JSON as stored (with the ids Bulwark assigned).
    public var json: Data
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, uuid: String, orgID: Int64, info: String, timestamp: Int64, published: Bool, publishTimestamp: Int64 = 0, distribution: Int,
        json: Data, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.uuid = uuid
        self.orgID = orgID
        self.info = info
        self.timestamp = timestamp
        self.published = published
        self.publishTimestamp = publishTimestamp
        self.distribution = distribution
        self.json = json
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
