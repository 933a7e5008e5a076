import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Storage

extension IntelHub {
    // MARK: MISP attributes → candidates

    /// The candidates of one MISP attribute (a `domain|ip` gives two), or why it was rejected.
    func candidates(_ a: MISPAttribute, spec: IntelSourceSpec?, org: String?) -> Result<[IntelCandidate], IntelRejection> {
        let values: [IntelValue]
        switch IntelNormalizer.values(mispType: a.type, value: a.value) {
        case .failure(let r): return .failure(r)
        case .success(let v): values = v
        }
        let tags = a.allTags
        var categories = tagMapping.categories(for: tags)
        if categories.isEmpty { categories = [spec?.category ?? "malware"] }
        let tlp = TLPTag.parse(tags)
        return .success(
            values.map { v in
                var c = IntelCandidate(value: v, ref: a.uuid, categories: categories)
                c.originalType = a.type
                c.originalValue = a.value
                c.tags = tags
                c.tlp = tlp
                c.distribution = a.distribution
                c.toIDS = spec?.filters.toIDS == false ? true : a.toIDS
                c.deleted = a.deleted
                c.eventUUID = a.eventUUID
                c.eventID = a.eventID
                c.orgName = a.orgName ?? org
                c.comment = a.comment
                c.firstSeen = a.firstSeen
                c.lastSeen = a.lastSeen
                c.sourceTimestamp = a.timestamp
                return c
            })
    }

    /// Ingests a batch of MISP attributes: rows of the same attributes whose value is no
    /// longer there (an edit changed it) are withdrawn.
    func ingestAttributes(_ attrs: [MISPAttribute], spec: IntelSourceSpec?, source: SourceRecord, org: String?, actor: String) async throws(IntelError)
        -> IngestResult
    {
        var cands: [IntelCandidate] = []
        var rejected: [String] = []
        for a in attrs {
            switch candidates(a, spec: spec, org: org) {
            case .success(let c): cands.append(contentsOf: c)
            case .failure(let r): rejected.append("\(a.type) '\(a.value)' (\(a.uuid)): \(r.reason)")
            }
        }
        // Earlier values of these attributes that the new versions no longer have.
        let refs = Array(Set(attrs.map(\.uuid)))
        let existing: [IndicatorRecord]
        do {
            existing = refs.isEmpty ? [] : try await store.indicators.find(sourceID: source.id ?? 0, refs: refs)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let current = Set(cands.map { "\($0.ref) \($0.value.value)" })
        let stale = existing.filter { $0.isActive && !current.contains("\($0.ref) \($0.value)") }.compactMap(\.id)
        var result = try await ingest(cands, source: source, actor: actor)
        if !stale.isEmpty {
            result.withdrawn += try await setState(ids: stale, to: .withdrawn, reason: "changed at the source (value or type edited)", actor: actor).count
        }
        result.received = attrs.count
        result.rejected = rejected
        return result
    }

    // MARK: MISP pull

    /// Incremental pull (`attributes/restSearch` from the watermark minus the overlap, deleted
    /// rows included, oldest first, page by page, the watermark saved after each page), or a
    /// full pull that also withdraws what the source no longer has (hard deletes).
    func pullMISP(_ spec: IntelSourceSpec, source: inout SourceRecord, client: HTTPClient, full: Bool) async throws(IntelError) -> IngestResult {
        guard let url = spec.url else { throw IntelError(.config, "source \(spec.name): no url") }
        let misp = MISPClient(baseURL: url, key: spec.key ?? "", http: client)
        var base: [String: any Sendable] = [
            "returnFormat": "json", "type": spec.filters.types, "includeEventTags": 1, "order": "Attribute.timestamp asc",
            "limit": spec.pageSize,
        ]
        if !spec.filters.tags.isEmpty { base["tags"] = spec.filters.tags }
        if !spec.filters.orgs.isEmpty { base["org"] = spec.filters.orgs }
        if spec.filters.published == true { base["published"] = 1 }
        var total = IngestResult()
        var seenRefs = Set<String>()
        var body = base
        let watermark = source.watermark ?? 0
        if full {
            body["deleted"] = 0
        } else {
            body["deleted"] = [0, 1]
            if watermark > 0 { body["timestamp"] = String(max(0, watermark - Int64(spec.overlap))) }
        }
        var newMark = watermark
        try await forEachPage(body, misp: misp, spec: spec) { rows throws(IntelError) in
            total.add(try await ingestAttributes(rows, spec: spec, source: source, org: nil, actor: "source:\(spec.name)"))
            for a in rows {
                if !a.deleted { seenRefs.insert(a.uuid) }
                newMark = max(newMark, a.timestamp)
            }
            if newMark > (source.watermark ?? 0) {
                source.watermark = newMark
                do { try await store.sources.update(source) } catch { throw IntelError(.storage, "\(error)") }
            }
        }
        // Publishing does not touch attribute timestamps: ask for what was published since.
        if !full && spec.filters.published == true, let since = source.lastSuccess {
            var pub = base
            pub["deleted"] = 0
            pub["publish_timestamp"] = String(Int64(since.timeIntervalSince1970) - Int64(spec.overlap))
            try await forEachPage(pub, misp: misp, spec: spec) { rows throws(IntelError) in
                total.add(try await ingestAttributes(rows, spec: spec, source: source, org: nil, actor: "source:\(spec.name)"))
            }
        }
        if full && !Task.isCancelled {
            total.withdrawn += try await withdrawStale(source: source, keep: seenRefs, reason: "no longer at the source (deleted there)")
        }
        return total
    }

    /// Pages through `attributes/restSearch` with `body` (1-based pages of `pageSize`, until a
    /// short page), handing each page's rows, with their organisations, to `each`.
    func forEachPage(
        _ body: [String: any Sendable], misp: MISPClient, spec: IntelSourceSpec, _ each: ([MISPAttribute]) async throws(IntelError) -> Void
    ) async throws(IntelError) {
        var body = body
        var page = 1
        while page <= 100_000 && !Task.isCancelled {
            body["page"] = page
            let (fetched, _) = try await misp.searchAttributes(body as [String: Any])
            let rows = try await withOrganisations(fetched, misp: misp, source: spec.name)
            try await each(rows)
            if rows.count < spec.pageSize { break }
            page += 1
        }
    }

    /// Fills in the creator organisation of each row from its event (looked up once per event
    /// and kept).
    func withOrganisations(_ rows: [MISPAttribute], misp: MISPClient, source: String) async throws(IntelError) -> [MISPAttribute] {
        var out = rows
        for i in out.indices where out[i].orgName == nil {
            guard let eid = out[i].eventID ?? out[i].eventUUID else { continue }
            let key = "\(source) \(eid)"
            if eventOrgs[key] == nil { eventOrgs[key] = try await misp.eventOrganisation(eid) ?? "" }
            if let o = eventOrgs[key], !o.isEmpty { out[i].orgName = o }
        }
        return out
    }

    /// Withdraws the active rows of `source` that are not in `keep` (refs, or values for rows
    /// without a ref).
    func withdrawStale(source: SourceRecord, keep: Set<String>, reason: String) async throws(IntelError) -> Int {
        let stale: [IndicatorRecord]
        do {
            stale = try await store.indicators.activeNotIn(sourceID: source.id ?? 0, refs: keep)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        guard !stale.isEmpty else { return 0 }
        return try await setState(ids: stale.compactMap(\.id), to: .withdrawn, reason: reason, actor: "source:\(source.name)").count
    }

    // MARK: feeds

    /// Reads a feed: a local path or an HTTP(S) URL.
    func fetch(_ spec: IntelSourceSpec, suffix: String = "", client: HTTPClient) async throws(IntelError) -> Data {
        if let path = spec.path {
            let p = suffix.isEmpty ? path : (path as NSString).appendingPathComponent(suffix)
            guard let d = FileManager.default.contents(atPath: p) else { throw IntelError(.source, "cannot read \(p)") }
            return d
        }
        guard var url = spec.url else { throw IntelError(.config, "source \(spec.name): no url or path") }
        if !suffix.isEmpty {
            if !url.hasSuffix("/") { url += "/" }
            url += suffix
        }
        var req = HTTPClientRequest(url: url)
        req.headers.add(name: "User-Agent", value: "Bulwark")
        if let k = spec.key { req.headers.add(name: "Authorization", value: k) }
        do {
            let resp = try await client.execute(req, timeout: .seconds(120))
            guard resp.status == .ok else { throw IntelError(.source, "\(url): HTTP \(resp.status.code)") }
            return Data(buffer: try await resp.body.collect(upTo: 512 << 20))
        } catch let e as IntelError {
            throw e
        } catch {
            throw IntelError(.source, "\(url): \(error)")
        }
    }

    /// A freetext, CSV or list-format feed: every run is a full copy, so what it no longer lists is
    /// withdrawn. A run where most lines are junk is refused (the previous copy stays).
    func pullListFeed(_ spec: IntelSourceSpec, source: SourceRecord, client: HTTPClient) async throws(IntelError) -> IngestResult {
        let data = try await fetch(spec, client: client)
        let text = String(decoding: data, as: UTF8.self)
        let parsed: [(line: Int, result: Result<IntelValue, IntelRejection>)]
        switch spec.kind {
        case .csv: parsed = CSVFeedParser.parse(text, columns: spec.csvColumns, delimiter: spec.csvDelimiter, psl: planner.guardrail.psl)
        case .rpz: parsed = IntelListCollector.parse(data, format: .rpz)
        case .hosts: parsed = IntelListCollector.parse(data, format: .hosts)
        case .domains: parsed = IntelListCollector.parse(data, format: .domains)
        case .adblock: parsed = IntelListCollector.parse(data, format: .adblock)
        default: parsed = FreetextParser.parse(text, psl: planner.guardrail.psl)
        }
        var cands: [IntelCandidate] = []
        var rejected: [String] = []
        var seen = Set<IntelValue>()
        for (line, r) in parsed {
            switch r {
            case .success(let v):
                guard seen.insert(v).inserted else { continue }
                var c = IntelCandidate(value: v, categories: [spec.category])
                c.originalType = spec.kind.rawValue
                c.tlp = spec.tlp
                c.orgName = spec.org
                cands.append(c)
            case .failure(let e):
                if rejected.count < 100 { rejected.append("\(spec.url ?? spec.path ?? spec.name):\(line): \(e.reason)") }
            }
        }
        if cands.isEmpty && !parsed.isEmpty || (parsed.count >= 10 && cands.count * 2 < parsed.count - cands.count) {
            throw IntelError(.source, "\(parsed.count - cands.count) of \(parsed.count) entries rejected: not replacing the feed in force")
        }
        var total = IngestResult()
        var i = 0
        while i < cands.count {
            let chunk = Array(cands[i..<min(cands.count, i + 10_000)])
            total.add(try await ingest(chunk, source: source, actor: "source:\(spec.name)"))
            i += chunk.count
        }
        total.withdrawn += try await withdrawStale(source: source, keep: Set(cands.map(\.value.value)), reason: "no longer in the feed")
        total.rejected = rejected
        total.received = parsed.count
        return total
    }

    /// A MISP feed folder: the manifest says which events changed; those are fetched and
    /// ingested; indicators of events that left the manifest, or attributes that left an
    /// event, are withdrawn.
    func pullMISPFeed(_ spec: IntelSourceSpec, source: SourceRecord, client: HTTPClient) async throws(IntelError) -> IngestResult {
        let manifestData = try await fetch(spec, suffix: "manifest.json", client: client)
        let manifest: [MISPManifestEntry]
        do {
            manifest = try MISPJSON.manifest(from: manifestData)
        } catch {
            throw IntelError(.source, "\(spec.name): manifest.json: \(error)")
        }
        var seen = feedSeen[spec.name] ?? [:]
        var refs = feedRefs[spec.name] ?? [:]
        var total = IngestResult()
        for entry in manifest where seen[entry.uuid].map({ $0 < entry.timestamp }) ?? true {
            let data = try await fetch(spec, suffix: "\(entry.uuid).json", client: client)
            let event: MISPEvent
            do {
                event = try MISPJSON.event(from: data)
            } catch {
                total.rejected.append("\(entry.uuid).json: \(error)")
                continue
            }
            let attrs = event.attributes.map { a -> MISPAttribute in
                var a = a
                a.inheritedTags = event.tags
                return a
            }
            let r = try await ingestAttributes(attrs, spec: spec, source: source, org: event.orgName ?? spec.org, actor: "source:\(spec.name)")
            total.add(r)
            seen[entry.uuid] = entry.timestamp
            refs[entry.uuid] = Set(event.attributes.filter { !$0.deleted }.map(\.uuid))
        }
        let inManifest = Set(manifest.map(\.uuid))
        refs = refs.filter { inManifest.contains($0.key) }
        seen = seen.filter { inManifest.contains($0.key) }
        feedSeen[spec.name] = seen
        feedRefs[spec.name] = refs
        total.withdrawn += try await withdrawStale(
            source: source, keep: refs.values.reduce(into: Set<String>()) { $0.formUnion($1) }, reason: "no longer in the feed")
        return total
    }
}

extension IngestResult {
    mutating func add(_ o: IngestResult) {
        received += o.received
        accepted += o.accepted
        suppressed += o.suppressed
        withdrawn += o.withdrawn
        expired += o.expired
        rejected += o.rejected.prefix(max(0, 100 - rejected.count))
        addedRules += o.addedRules
        removedRules += o.removedRules
    }
}
