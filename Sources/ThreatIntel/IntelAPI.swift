import Foundation
import Policy
import Storage

/// Who is calling the API (from the API key).
public struct IntelCaller: Sendable {
    public var keyName: String
    public var org: Organisation
    public var role: APIRole
    /// The tenant the key is bound to (nil: the whole service).
    public var tenant: String?

    public init(keyName: String, org: Organisation, role: APIRole, tenant: String? = nil) {
        self.keyName = keyName
        self.org = org
        self.role = role
        self.tenant = tenant
    }

    /// May this caller change the shared threat intel? Not a reader, and not a key bound to one
    /// tenant (its changes would reach every other tenant).
    public var mayChangeSharedIntel: Bool { role != .reader && tenant == nil }

    /// Why not, for the error message.
    public var readOnlyReason: String { tenant != nil ? "a key bound to tenant \(tenant!) cannot change the shared threat intel" : "a reader key" }

    var actor: String { "key:\(keyName)" }
}

/// One indicator as the API shows it.
public struct IndicatorView: Sendable, Codable, Equatable {
    public var id: Int64
    public var value: String
    public var kind: String
    public var categories: [String]
    public var state: String
    public var reason: String?
    public var source: String
    public var org: String?
    public var event_uuid: String?
    public var attribute_uuid: String?
    public var misp_type: String?
    public var original_value: String?
    public var tags: [String]
    public var tlp: String?
    public var distribution: Int?
    public var to_ids: Bool
    public var first_seen: String?
    public var last_seen: String?
    public var valid_until: String?
    public var created: String
    public var updated: String
    /// Why it matches the explained name (`exact`, `parent domain`, `address`).
    public var matches: String?
}

/// `explain`: every indicator that bears on a name or address.
public struct IntelExplanation: Sendable, Codable, Equatable {
    public var name: String
    /// Would the indicators block it (any active one that applies)?
    public var blocked: Bool
    public var indicators: [IndicatorView]
}

/// A source's status as the API shows it.
public struct SourceView: Sendable, Codable, Equatable {
    public var name: String
    public var type: String
    public var url: String?
    public var last_run: String?
    public var last_success: String?
    public var last_error: String?
    public var fetched: Int
    public var accepted: Int
    public var suppressed: Int
    public var withdrawn: Int
    public var active: Int
    public var total: Int
}

extension IntelHub {
    /// RFC 3339 UTC text (a value-type format style: no formatter built per date).
    static func iso(_ d: Date) -> String { d.formatted(.iso8601) }

    func view(_ r: IndicatorRecord, sources: [Int64: String], matches: String? = nil) -> IndicatorView {
        IndicatorView(
            id: r.id ?? 0, value: r.value, kind: r.kind.rawValue, categories: r.categories, state: r.state.rawValue, reason: r.stateReason,
            source: sources[r.sourceID] ?? "#\(r.sourceID)", org: r.orgName, event_uuid: r.eventUUID, attribute_uuid: r.attributeUUID,
            misp_type: r.originalType, original_value: r.originalValue, tags: r.tags, tlp: r.tlp, distribution: r.distribution, to_ids: r.toIDS,
            first_seen: r.firstSeen.map(Self.iso), last_seen: r.lastSeen.map(Self.iso), valid_until: r.validUntil.map(Self.iso),
            created: Self.iso(r.createdAt), updated: Self.iso(r.updatedAt), matches: matches)
    }

    func sourceNames() async throws(IntelError) -> [Int64: String] {
        do {
            return Dictionary(uniqueKeysWithValues: try await store.sources.all().compactMap { s in s.id.map { ($0, s.name) } })
        } catch {
            throw IntelError(.storage, "\(error)")
        }
    }

    /// May `caller` see this record? Admins and readers see everything; a sync key its own
    /// organisation's, and TLP:CLEAR/GREEN ones.
    func visible(_ r: IndicatorRecord, to caller: IntelCaller?) -> Bool {
        guard let caller, caller.role == .sync else { return true }
        if r.orgName == caller.org.name { return true }
        return r.tlp == nil || r.tlp == "clear" || r.tlp == "green"
    }

    /// Every indicator that matches `query`: for a name, the name itself and every parent
    /// domain (a `domain` indicator there covers it); for an address, the address.
    public func explain(_ query: String, caller: IntelCaller? = nil) async throws(IntelError) -> IntelExplanation {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        var keys: [(String, String)] = []
        if let ip = IntelNormalizer.parseIP(trimmed), let a = IntelIP.parse(ip) {
            // The address itself, and every prefix that contains it (as stored: network/length).
            keys = [(ip, "address")]
            for len in stride(from: a.bitWidth, through: 0, by: -1) {
                keys.append((IntelCIDR(network: a.masked(len), length: len).text, "address range"))
            }
        } else if let name = IntelNormalizer.normalizeName(trimmed) ?? IntelNormalizer.hostFromURL(trimmed) {
            var labels = name.split(separator: ".")
            keys.append((name, "exact"))
            while labels.count > 1 {
                labels.removeFirst()
                keys.append((labels.joined(separator: "."), "parent domain"))
            }
        } else {
            throw IntelError(.invalid, "'\(query)' is not a domain name or an address")
        }
        let rows: [IndicatorRecord]
        do {
            rows = try await store.indicators.find(values: keys.map(\.0))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let names = try await sourceNames()
        var out: [IndicatorView] = []
        var blocked = false
        for (k, how) in keys {
            for r in rows where r.value == k && visible(r, to: caller) {
                // A hostname indicator covers only itself; a parent's applies only if it is a domain.
                let applies = how != "parent domain" || r.kind == .domain
                if !applies { continue }
                if r.isActive { blocked = true }
                out.append(view(r, sources: names, matches: how))
            }
        }
        return IntelExplanation(name: keys.first?.0 ?? query, blocked: blocked, indicators: out)
    }

    public func indicators(_ q: IndicatorQuery, caller: IntelCaller?) async throws(IntelError) -> [IndicatorView] {
        let rows: [IndicatorRecord]
        do {
            rows = try await store.indicators.list(q)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let names = try await sourceNames()
        return rows.filter { visible($0, to: caller) }.map { view($0, sources: names) }
    }

    public func indicator(id: Int64, caller: IntelCaller?) async throws(IntelError) -> IndicatorView {
        let r: IndicatorRecord?
        do {
            r = try await store.indicators.get(id: id)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        guard let r, visible(r, to: caller) else { throw IntelError(.notFound, "no indicator \(id)") }
        return view(r, sources: try await sourceNames())
    }

    /// Adds an indicator through the REST API (source `api`), enforced at once.
    public func addManual(value: String, category: String, comment: String?, validDays: Double?, caller: IntelCaller) async throws(IntelError)
        -> IndicatorView
    {
        guard caller.mayChangeSharedIntel else { throw IntelError(.forbidden, "\(caller.readOnlyReason) cannot add indicators") }
        guard Category(name: category) != nil else {
            throw IntelError(.invalid, "unknown category '\(category)' (known: \(Category.allCases.map(\.description).joined(separator: ", ")))")
        }
        let v: IntelValue
        if let ip = IntelNormalizer.parseIP(value) {
            v = IntelValue(value: ip, kind: .ip)
        } else if let c = IntelNormalizer.parseCIDR(value) {
            v = IntelValue(value: c, kind: .cidr)
        } else if let n = IntelNormalizer.normalizeName(value) {
            v = IntelValue(value: n, kind: .domain)
        } else {
            throw IntelError(.invalid, "'\(value)' is not a domain name, an address or a prefix")
        }
        let source: SourceRecord
        do {
            source = try await store.sources.ensure(name: "api", type: "api", url: nil, orgID: nil)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        var c = IntelCandidate(value: v, categories: [Category(name: category)!.description])
        c.orgName = caller.org.name
        c.comment = comment
        c.originalType = "api"
        c.originalValue = value
        c.lastSeen = Date()
        if let validDays { c.lastSeen = Date().addingTimeInterval(validDays * 86400 - settings.lifetime(category: category)) }
        let result = try await ingest([c], source: source, actor: caller.actor)
        do {
            try await store.audit.append(AuditRecord(actor: caller.actor, orgID: caller.org.id, action: "indicator.add", target: v.value, detail: comment))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let rows = try await indicators(IndicatorQuery(value: v.value, sourceID: source.id, limit: 1), caller: nil)
        guard let row = rows.first else { throw IntelError(.storage, "the indicator was not stored (\(result))") }
        return row
    }

    /// Withdraws an indicator (REST `DELETE`).
    public func withdraw(id: Int64, caller: IntelCaller) async throws(IntelError) -> IndicatorView {
        guard caller.mayChangeSharedIntel else { throw IntelError(.forbidden, "\(caller.readOnlyReason) cannot withdraw indicators") }
        _ = try await indicator(id: id, caller: caller)
        _ = try await setState(ids: [id], to: .withdrawn, reason: "withdrawn by \(caller.actor)", actor: caller.actor)
        return try await indicator(id: id, caller: caller)
    }

    /// A false-positive report: the indicator is suppressed here at once, and the report is
    /// queued as a type-1 sighting for its source.
    public func falsePositive(id: Int64, comment: String?, caller: IntelCaller) async throws(IntelError) -> IndicatorView {
        let v = try await indicator(id: id, caller: caller)
        // Every indicator of that value, from any source: the value is what was judged.
        let same: [Int64]
        do {
            same = try await store.indicators.find(values: [v.value]).filter { $0.kind.rawValue == v.kind && $0.state != .withdrawn }.compactMap(\.id)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        _ = try await setState(
            ids: Array(Set(same + [id])), to: .suppressed, reason: "\(Self.falsePositivePrefix)\(caller.org.name)\(comment.map { ": \($0)" } ?? "")",
            actor: caller.actor)
        do {
            _ = try await store.sightings.add(SightingRecord(indicatorID: id, value: v.value, type: 1, source: caller.org.name, orgID: caller.org.id))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        return try await indicator(id: id, caller: caller)
    }

    public func sourceViews() async throws(IntelError) -> [SourceView] {
        do {
            var out: [SourceView] = []
            for s in try await store.sources.all() {
                let c = try await store.indicators.counts(sourceID: s.id)
                out.append(
                    SourceView(
                        name: s.name, type: s.type, url: s.url, last_run: s.lastRun.map(Self.iso), last_success: s.lastSuccess.map(Self.iso),
                        last_error: s.lastError, fetched: s.lastFetched, accepted: s.lastAccepted, suppressed: s.lastSuppressed,
                        withdrawn: s.lastWithdrawn, active: c.active, total: c.total))
            }
            return out
        } catch {
            throw IntelError(.storage, "\(error)")
        }
    }
}

extension IntelHub {
    /// The hub's metrics in the Prometheus text format: indicators by state, and per source
    /// the last success, whether the last run failed, and its active indicators.
    public func prometheusText() async -> String {
        var s = ""
        do {
            let all = try await store.indicators.counts(sourceID: nil)
            s += "# HELP bulwark_intel_indicators Threat-intel indicators by state.\n# TYPE bulwark_intel_indicators gauge\n"
            for (state, n) in [("active", all.active), ("suppressed", all.suppressed), ("expired", all.expired), ("withdrawn", all.withdrawn)] {
                s += "bulwark_intel_indicators{state=\"\(state)\"} \(n)\n"
            }
            let sources = try await store.sources.all()
            s += "# HELP bulwark_intel_source_active Active indicators per source.\n# TYPE bulwark_intel_source_active gauge\n"
            var failing = ""
            var success = ""
            for src in sources {
                let label = src.name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                let c = try await store.indicators.counts(sourceID: src.id)
                s += "bulwark_intel_source_active{source=\"\(label)\"} \(c.active)\n"
                failing += "bulwark_intel_source_failing{source=\"\(label)\"} \(src.lastError == nil ? 0 : 1)\n"
                if let t = src.lastSuccess { success += "bulwark_intel_source_last_success_seconds{source=\"\(label)\"} \(Int(t.timeIntervalSince1970))\n" }
            }
            s += "# HELP bulwark_intel_source_failing 1 when the source's last run failed (its indicators stay enforced).\n"
            s += "# TYPE bulwark_intel_source_failing gauge\n" + failing
            s += "# HELP bulwark_intel_source_last_success_seconds When the source last ran without error (Unix time).\n"
            s += "# TYPE bulwark_intel_source_last_success_seconds gauge\n" + success
        } catch {
            logger.warning("intel metrics unavailable", metadata: ["error": "\(error)"])
        }
        return s
    }
}
