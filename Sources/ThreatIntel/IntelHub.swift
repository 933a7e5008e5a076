import AsyncHTTPClient
import Foundation
import Logging
import Policy
import ServiceLifecycle
import Storage

/// The threat-intelligence hub: takes indicators from MISP pulls, the push API, feeds and the
/// REST API, guards against false positives, stores them with their provenance, keeps their
/// lifecycle (expiry, withdrawal) and hands every change of what is enforced to the policy.
public actor IntelHub: Service {
    public nonisolated let store: any IntelStore
    public nonisolated let settings: IntelSettings
    let planner: IngestPlanner
    let tagMapping: TagMapping
    let logger: Logger
    var sink: (any IntelPolicySink)?
    /// Sources being pulled now (one run per source at a time).
    var running: Set<String> = []
    /// Consecutive failures per source (the next run backs off).
    var failures: [String: Int] = [:]
    /// MISP feed event timestamps already ingested (uuid → timestamp), per source.
    var feedSeen: [String: [String: Int64]] = [:]
    /// Attribute uuids of every MISP feed event in force (uuid → refs), per source.
    var feedRefs: [String: [String: Set<String>]] = [:]
    /// Creator organisation names of pulled events ("source event-id" → name; "" unknown).
    var eventOrgs: [String: String] = [:]
    /// Runs requested through the API.
    var requested: Set<String> = []

    public init(settings: IntelSettings, store: any IntelStore, logger: Logger) throws(IntelError) {
        self.settings = settings
        self.store = store
        self.logger = logger
        for p in settings.warninglists where !FileManager.default.fileExists(atPath: p) {
            throw IntelError(.config, "intel.warninglists: \(p) does not exist")
        }
        let lists = WarninglistSet.load(paths: settings.warninglists)
        for s in lists.skipped { logger.notice("warninglist not applied", metadata: ["list": "\(s)"]) }
        let psl = settings.publicSuffixList.flatMap { PublicSuffixList.load(path: $0) }
        if settings.publicSuffixList != nil && psl == nil {
            logger.warning("public suffix list not found; public suffixes are not guarded", metadata: ["path": "\(settings.publicSuffixList!)"])
        }
        planner = IngestPlanner(settings: settings, guardrail: IngestGuard(warninglists: lists, allow: Allowlist(settings.allow), psl: psl))
        tagMapping = TagMapping(overrides: settings.tagCategories)
    }

    public func attach(_ sink: any IntelPolicySink) { self.sink = sink }

    /// How the reason of a false-positive suppression starts (it sticks across re-ingests).
    static let falsePositivePrefix = "false positive reported by "

    public nonisolated var warninglistCount: Int { planner.guardrail.warninglists.appliedCount }

    // MARK: running

    public func run() async throws {
        try await prepare()
        await sink?.rebuildAll()
        // An HTTP client only when there is a source to pull from and report sightings to.
        let client = settings.sources.isEmpty ? nil : HTTPClient(eventLoopGroupProvider: .singleton)
        await withTaskGroup(of: Void.self) { group in
            if let client {
                for spec in settings.sources {
                    group.addTask { await cancelWhenGracefulShutdown { await self.sourceLoop(spec, client: client) } }
                }
            }
            group.addTask { await cancelWhenGracefulShutdown { await self.expiryLoop() } }
            group.addTask { await cancelWhenGracefulShutdown { await self.sightingLoop(client: client) } }
            await group.waitForAll()
        }
        try? await client?.shutdown()
    }

    /// Creates the configured sources and keys in the store.
    public func prepare() async throws(IntelError) {
        do {
            for spec in settings.sources {
                var org: Int64?
                if let o = spec.org { org = try await store.organisations.ensure(name: o, uuid: nil).id }
                _ = try await store.sources.ensure(name: spec.name, type: spec.kind.rawValue, url: spec.url ?? spec.path, orgID: org)
            }
            for k in settings.keys {
                let org = try await store.organisations.ensure(name: k.org, uuid: nil)
                if let found = try await store.keys.find(hash: k.hash) {
                    if found.role != k.role || found.tenant != k.tenant { try await store.keys.setScope(id: found.id ?? 0, role: k.role, tenant: k.tenant) }
                } else {
                    _ = try await store.keys.add(
                        APIKeyRecord(name: k.name, hash: k.hash, prefix: k.prefix, orgID: org.id ?? 0, role: k.role, tenant: k.tenant))
                }
            }
        } catch {
            throw IntelError(.storage, "preparing the store: \(error)")
        }
    }

    func sourceLoop(_ spec: IntelSourceSpec, client: HTTPClient) async {
        var lastReconcile: Date? = (try? await store.sources.get(name: spec.name))?.lastFullReconcile
        while !Task.isCancelled {
            let full = lastReconcile.map { Date().timeIntervalSince($0) >= spec.reconcile } ?? true
            let ok = await runSource(spec, client: client, full: full)
            if ok && full { lastReconcile = Date() }
            // Back off after failures (2, then 4 intervals; each request already retried with
            // its own backoff), else wait one interval; an API run request cuts the wait short.
            let n = failures[spec.name] ?? 0
            let wait = spec.interval * Double(1 << min(n, 2))
            let until = Date().addingTimeInterval(wait)
            while Date() < until && !Task.isCancelled {
                if requested.remove(spec.name) != nil { break }
                try? await Task.sleep(for: .milliseconds(min(200, Int(wait * 1000))))
            }
        }
    }

    /// Asks for a run of `name` now.
    public func requestRun(_ name: String) throws(IntelError) {
        guard settings.sources.contains(where: { $0.name == name }) else { throw IntelError(.notFound, "no intel source named '\(name)'") }
        requested.insert(name)
    }

    /// One run of a source; records its status. Returns whether it succeeded.
    @discardableResult
    func runSource(_ spec: IntelSourceSpec, client: HTTPClient, full: Bool) async -> Bool {
        guard running.insert(spec.name).inserted else { return false }
        defer { running.remove(spec.name) }
        var source: SourceRecord
        do {
            guard let s = try await store.sources.get(name: spec.name) else { return false }
            source = s
        } catch {
            logger.error("intel store failed", metadata: ["error": "\(error)"])
            return false
        }
        let started = Date()
        source.lastRun = started
        var result = IngestResult()
        do {
            switch spec.kind {
            case .misp:
                result = try await pullMISP(spec, source: &source, client: client, full: full)
            case .mispFeed:
                result = try await pullMISPFeed(spec, source: source, client: client)
            case .freetext, .csv, .rpz, .hosts, .domains, .adblock:
                result = try await pullListFeed(spec, source: source, client: client)
            }
            source.lastSuccess = Date()
            source.lastError = nil
            if full { source.lastFullReconcile = started }
            failures[spec.name] = 0
        } catch {
            source.lastError = error.reason
            failures[spec.name, default: 0] += 1
            logger.warning("intel source failed; its indicators stay enforced", metadata: ["source": "\(spec.name)", "error": "\(error.reason)"])
        }
        source.lastFetched = result.received
        source.lastAccepted = result.accepted
        source.lastSuppressed = result.suppressed
        source.lastWithdrawn = result.withdrawn
        do {
            // The watermark may have advanced page by page; keep the newest copy's.
            if let current = try await store.sources.get(name: spec.name), let w = current.watermark, (source.watermark ?? 0) < w {
                source.watermark = w
            }
            try await store.sources.update(source)
        } catch {
            logger.error("intel store failed", metadata: ["error": "\(error)"])
        }
        if result.received > 0 || result.withdrawn > 0 {
            logger.info(
                "intel source run", metadata: [
                    "source": "\(spec.name)", "fetched": "\(result.received)", "accepted": "\(result.accepted)", "suppressed": "\(result.suppressed)",
                    "withdrawn": "\(result.withdrawn)", "full": "\(full)",
                ])
        }
        return source.lastError == nil
    }

    // MARK: ingest

    /// Guards, stores and enforces `candidates` from `source` in one transaction.
    public func ingest(_ candidates: [IntelCandidate], source: SourceRecord, actor: String) async throws(IntelError) -> IngestResult {
        var result = IngestResult()
        result.received = candidates.count
        guard let sourceID = source.id, !candidates.isEmpty else { return result }
        let now = Date()
        let lifetime = settings.sources.first { $0.name == source.name }?.lifetime
        var records = candidates.map { planner.record($0, sourceID: sourceID, now: now, lifetime: lifetime) }
        let changes: [IndicatorChange]
        do {
            // A value reported as a false positive stays suppressed, whichever source sends it
            // again (the report is the operator's judgement of the value).
            let reported = try await store.indicators.find(values: Array(Set(records.map(\.value)))).filter {
                $0.state == .suppressed && ($0.stateReason ?? "").hasPrefix(Self.falsePositivePrefix)
            }
            if !reported.isEmpty {
                let why = Dictionary(reported.map { ($0.value, $0.stateReason!) }, uniquingKeysWith: { a, _ in a })
                for i in records.indices where records[i].state == .active || records[i].state == .expired {
                    if let w = why[records[i].value] {
                        records[i].state = .suppressed
                        records[i].stateReason = w
                    }
                }
            }
            changes = try await store.indicators.upsert(records)
        } catch {
            throw IntelError(.storage, "storing indicators: \(error)")
        }
        for c in changes {
            switch c.record.state {
            case .active: result.accepted += 1
            case .suppressed: result.suppressed += 1
            case .withdrawn: result.withdrawn += 1
            case .expired: result.expired += 1
            }
        }
        try await enforce(changes, result: &result)
        return result
    }

    /// Hands the rule changes of `changes` to the policy. A rule removed because one source's
    /// indicator went away stays when another active indicator still calls for it.
    func enforce(_ changes: [IndicatorChange], result: inout IngestResult) async throws(IntelError) {
        var (adding, removing) = IngestPlanner.ruleChanges(changes)
        if !removing.isEmpty {
            let values = Array(Set(removing.map(\.value)))
            let others: [IndicatorRecord]
            do {
                others = try await store.indicators.find(values: values)
            } catch {
                throw IntelError(.storage, "\(error)")
            }
            let addedKeys = Set(adding.map { RuleKey($0) })
            for o in others where o.isActive {
                let r = IntelPolicyRule(o)
                if removing.contains(where: { RuleKey($0) == RuleKey(r) }) && !addedKeys.contains(RuleKey(r)) {
                    adding.append(r)
                }
            }
        }
        result.addedRules += adding.count
        result.removedRules += removing.count
        if !adding.isEmpty || !removing.isEmpty { await sink?.apply(adding: adding, removing: removing) }
    }

    struct RuleKey: Hashable {
        var value: String
        var kind: IndicatorKind
        var category: Category
        init(_ r: IntelPolicyRule) {
            value = r.value
            kind = r.kind
            category = r.category
        }
    }

    /// Changes the state of indicators and enforces the result.
    public func setState(ids: [Int64], to state: IndicatorState, reason: String?, actor: String) async throws(IntelError) -> [IndicatorRecord] {
        let changes: [IndicatorChange]
        do {
            changes = try await store.indicators.setState(ids: ids, to: state, reason: reason)
            for c in changes {
                try await store.audit.append(AuditRecord(actor: actor, action: "indicator.\(state.rawValue)", target: "\(c.record.id ?? 0) \(c.record.value)", detail: reason))
            }
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        var r = IngestResult()
        try await enforce(changes, result: &r)
        return changes.map(\.record)
    }

    /// Every active indicator as a rule (for a full policy build).
    public func activeRules() async -> [IntelPolicyRule] {
        var out: [IntelPolicyRule] = []
        do {
            try await store.indicators.forEachActive(batch: 10_000) { batch in
                for r in batch { out.append(IntelPolicyRule(r)) }
            }
        } catch {
            logger.error("cannot read the active indicators; the policy keeps its intel rules", metadata: ["error": "\(error)"])
        }
        return out
    }

    // MARK: lifecycle

    func expiryLoop() async {
        while !Task.isCancelled {
            await expireDue(now: Date())
            try? await Task.sleep(for: .seconds(settings.expiryCheck))
        }
    }

    /// Expires active indicators whose validity ran out.
    @discardableResult
    public func expireDue(now: Date) async -> Int {
        do {
            let due = try await store.indicators.activeExpiring(before: now)
            guard !due.isEmpty else { return 0 }
            var n = 0
            // Group by reason text (the validity date) to keep the writes few.
            for (until, rows) in Dictionary(grouping: due, by: { $0.validUntil ?? now }) {
                let changed = try await setState(
                    ids: rows.compactMap(\.id), to: .expired, reason: "valid until \(Self.iso(until)) (not seen again)", actor: "system")
                n += changed.count
            }
            if n > 0 { logger.info("intel indicators expired", metadata: ["count": "\(n)"]) }
            return n
        } catch {
            logger.warning("intel expiry failed", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
