import Foundation
import Storage

/// What the MISP pull asks for (`attributes/restSearch` filters).
public struct MISPFilters: Sendable, Equatable {
    /// MISP attribute types; the DNS-relevant ones by default.
    public var types: [String] = MISPFilters.dnsTypes
    /// Tag filter (`!` negates an entry; `%` is a wildcard), as MISP takes it.
    public var tags: [String] = []
    /// Creator organisations (names or uuids).
    public var orgs: [String] = []
    /// Only actionable attributes (`to_ids`). Attributes whose `to_ids` is unset are withdrawn
    /// either way; this only narrows what is fetched.
    public var toIDS: Bool? = nil
    /// Only attributes of published events.
    public var published: Bool? = nil

    public static let dnsTypes = [
        "domain", "hostname", "domain|ip", "ip-src", "ip-dst", "url", "uri", "link", "ip-src|port", "ip-dst|port", "hostname|port",
    ]

    public init() {}
}

/// One configured threat-intel source.
public struct IntelSourceSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A MISP instance, pulled with `attributes/restSearch`.
        case misp
        /// A MISP feed folder (`manifest.json`, `<uuid>.json`).
        case mispFeed = "misp-feed"
        /// One indicator (or several) per line, refanged and typed like MISP's freetext import.
        case freetext
        /// CSV with the indicator in chosen columns.
        case csv
        /// The policy's list formats, as feeds of indicators.
        case rpz, hosts, domains, adblock
    }
    public var name: String
    public var kind: Kind
    /// `http(s)://…` for MISP and remote feeds; a feed may also be a local `path`.
    public var url: String?
    public var path: String?
    /// MISP API key (sent raw in `Authorization`).
    public var key: String?
    /// Poll period.
    public var interval: TimeInterval = 300
    /// How far behind the watermark each incremental pull starts (edits in the same second,
    /// clock skew).
    public var overlap: TimeInterval = 300
    public var pageSize = 1000
    /// Full re-pull period, to find hard deletes.
    public var reconcile: TimeInterval = 86400
    /// Category when no tag maps to one.
    public var category: String = "malware"
    public var filters = MISPFilters()
    /// Organisation named as the publisher of a feed (MISP sources name their own).
    public var org: String?
    /// CSV: 1-based columns to read (empty: all), delimiter.
    public var csvColumns: [Int] = []
    public var csvDelimiter: Character = ","
    /// TLP of a feed without tags.
    public var tlp: String?
    /// Validity after last seen for this source's indicators (else the category's).
    public var lifetime: TimeInterval?

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// An API key from the configuration (hashed on load; only the hash is stored).
public struct KeySpec: Sendable, Equatable {
    public var name: String
    public var org: String
    public var role: APIRole
    /// Lowercase hex SHA-256 of the key.
    public var hash: String
    public var prefix: String
    /// The tenant the key is bound to (nil: the whole service).
    public var tenant: String?

    public init(name: String, org: String, role: APIRole, hash: String, prefix: String, tenant: String? = nil) {
        self.tenant = tenant
        self.name = name
        self.org = org
        self.role = role
        self.hash = hash
        self.prefix = prefix
    }
}

/// The threat-intel hub's settings, validated.
public struct IntelSettings: Sendable {
    public var databasePath: String
    public var sources: [IntelSourceSpec] = []
    public var keys: [KeySpec] = []
    /// Warninglist files (`list.json`) or directories of them.
    public var warninglists: [String] = []
    /// Names never to block (exact name and its registrable domain; `.name` for a subtree).
    public var allow: [String] = []
    public var publicSuffixList: String? = "/usr/share/publicsuffix/public_suffix_list.dat"
    /// How long an indicator stays valid after it was last seen, per category ("default" for
    /// the rest).
    public var lifetimes: [String: TimeInterval] = ["phishing": 3 * 86400, "default": 90 * 86400]
    /// MISP polynomial decay (off by default): when on, an indicator also expires when its score
    /// (NIDS Simple model; the Phishing model for phishing) falls below the threshold.
    public var decay = false
    /// Sightings back to MISP sources: aggregation period and the least number of distinct
    /// clients before a count is reported.
    public var sightingInterval: TimeInterval = 3600
    public var sightingMinClients = 100
    /// How often the expiry job runs.
    public var expiryCheck: TimeInterval = 60
    /// Tag → category overrides.
    public var tagCategories: [String: String] = [:]

    public init(databasePath: String) {
        self.databasePath = databasePath
    }

    public func lifetime(category: String) -> TimeInterval {
        lifetimes[category] ?? lifetimes["default"] ?? 90 * 86400
    }
}
