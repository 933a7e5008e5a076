import AsyncHTTPClient
import DNSWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOHTTP1
import Policy
import RPZ
import ThreatIntel

/// How one source fared in the last build.
public struct SourceStatus: Sendable, Equatable {
    public var name: String
    public var origin: String
    public var rules = 0
    public var skipped = 0
    /// The list in force is the last good copy (the new one could not be fetched or was broken).
    public var usingLastGood = false
    public var lastError: String?
    public var lastSuccess: Date?
    public var failures = 0
    /// The first problem lines, `origin:line: message`.
    public var issues: [String] = []
}

/// The contents of a source for one build.
public enum SourceContent: Sendable {
    case fresh([UInt8])
    case failed(String)
}

/// Last good copies of every source, and the HTTP validators of URL sources, in
/// `<data>/sources/`: a source that fails or turns to junk keeps its previous version, across
/// restarts too.
struct SourceArchive {
    let directory: String

    struct Validators: Codable {
        var etag: String?
        var lastModified: String?
    }

    func path(_ name: String, _ ext: String) -> String { "\(directory)/\(name).\(ext)" }

    func lastGood(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(name, "last")).map { [UInt8]($0) }
    }

    func validators(_ name: String) -> Validators? {
        guard let d = FileManager.default.contents(atPath: path(name, "validators.json")) else { return nil }
        return try? JSONDecoder().decode(Validators.self, from: d)
    }

    /// Keeps `bytes` as the last good copy (unless it is already), and the validators.
    func keep(_ name: String, _ bytes: [UInt8], validators: Validators?) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let p = path(name, "last")
        let size = (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? -1
        if size != bytes.count || lastGood(name) != bytes {
            try? Data(bytes).write(to: URL(fileURLWithPath: p), options: .atomic)
        }
        if let validators, let d = try? JSONEncoder().encode(validators) {
            try? d.write(to: URL(fileURLWithPath: path(name, "validators.json")), options: .atomic)
        }
    }
}

/// Builds policy engines from sources: reads files, fetches URLs (with ETag/If-Modified-Since),
/// parses every list into one snapshot, and falls back to a source's last good copy when the
/// new one fails to load or is mostly junk.
public struct PolicyLoader: Sendable {
    public let settings: PolicySettings
    let archive: SourceArchive
    /// Largest list accepted (bytes).
    public var maxListBytes = 1 << 30

    public init(settings: PolicySettings, dataDirectory: String) {
        self.settings = settings
        self.archive = SourceArchive(directory: "\(dataDirectory)/sources")
    }

    public var snapshotPath: String { "\((archive.directory as NSString).deletingLastPathComponent)/policy.snapshot" }

    /// Reads a file source.
    func read(_ path: String) -> SourceContent {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { return .failed("cannot read \(path)") }
        if let size = attrs[.size] as? Int, size > maxListBytes { return .failed("\(path) is larger than \(maxListBytes) bytes") }
        guard let data = FileManager.default.contents(atPath: path) else { return .failed("cannot read \(path)") }
        return .fresh([UInt8](data))
    }

    /// Fetches a URL source; `nil` content means not modified (use the last good copy).
    func fetch(_ spec: SourceSpec, url: String, client: HTTPClient) async -> SourceContent? {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Bulwark/\(Bulwark.version)")
        let known = archive.validators(spec.name)
        let haveCopy = archive.lastGood(spec.name) != nil
        if haveCopy, let v = known {
            if let e = v.etag { request.headers.add(name: "If-None-Match", value: e) }
            if let m = v.lastModified { request.headers.add(name: "If-Modified-Since", value: m) }
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            if response.status == .notModified && haveCopy { return nil }
            guard response.status == .ok else { return .failed("\(url): HTTP \(response.status.code)") }
            let body = try await response.body.collect(upTo: maxListBytes)
            let bytes = [UInt8](buffer: body)
            archive.keep(
                spec.name, bytes,
                validators: .init(etag: response.headers.first(name: "ETag"), lastModified: response.headers.first(name: "Last-Modified")))
            return .fresh(bytes)
        } catch {
            return .failed("\(url): \(error)")
        }
    }

    /// Follows a zone of another RPZ primary: its SOA serial first (unchanged: the copy in
    /// force stays), then the changes by IXFR onto the copy we hold (or the whole zone by
    /// AXFR when we hold none), kept as zone text for the RPZ parser.
    func transfer(_ spec: SourceSpec, _ t: TransferSource) async -> SourceContent? {
        var key: TSIGKey? = nil
        if let k = t.key {
            guard let found = settings.transferKeys.first(where: { $0.name == k }) else { return .failed("no TSIG key named \(k)") }
            key = found
        }
        let client = TransferClient(address: t.address, key: key)
        let group = MultiThreadedEventLoopGroup.singleton
        do {
            // What we hold: IXFR from its serial (the primary may send the whole zone instead).
            if let copy = archive.lastGood(spec.name), let etag = archive.validators(spec.name)?.etag, etag.hasPrefix("serial:"),
                let known = UInt32(etag.dropFirst(7))
            {
                let serial = try await client.serial(of: t.zone, group: group)
                if serial == known || !Serial.greater(serial, than: known) { return nil }
                let text: String
                let now: UInt32
                switch try await client.ixfr(t.zone, from: known, group: group) {
                case .current: return nil
                case .full(let s, let records):
                    text = TransferClient.zoneText(records)
                    now = s
                case .incremental(let soa, let deleted, let added):
                    text = TransferClient.apply(to: String(decoding: copy, as: UTF8.self), soa: soa, deleted: deleted, added: added)
                    guard case .soa(let s) = soa.rdata else { return .failed("IXFR of \(t.zone): no SOA") }
                    now = s.serial
                }
                let bytes = [UInt8](text.utf8)
                archive.keep(spec.name, bytes, validators: .init(etag: "serial:\(now)", lastModified: nil))
                return .fresh(bytes)
            }
            let (serial, records) = try await client.axfr(t.zone, group: group)
            let bytes = [UInt8](TransferClient.zoneText(records).utf8)
            archive.keep(spec.name, bytes, validators: .init(etag: "serial:\(serial)", lastModified: nil))
            return .fresh(bytes)
        } catch {
            return .failed("\(error)")
        }
    }

    /// A file source read now, or an inline one; nil for a URL.
    func readLocal(_ spec: SourceSpec) -> SourceContent? {
        switch spec.location {
        case .file(let p): read(p)
        case .entries, .url: nil
        }
    }

    /// Current contents of every source: files read now, URLs fetched when `client` is given
    /// (else their last good copy).
    func contents(client: HTTPClient?, only due: Set<String>? = nil) async -> [String: SourceContent] {
        var out: [String: SourceContent] = [:]
        for spec in settings.sources {
            switch spec.location {
            case .file(let path): out[spec.name] = read(path)
            case .entries: break
            case .url(let url):
                if let client, due == nil || due!.contains(spec.name) {
                    if let t = TransferSource(url) {
                        out[spec.name] = await transfer(spec, t)
                    } else {
                        out[spec.name] = await fetch(spec, url: url, client: client)
                    }
                }
            }
        }
        return out
    }

    /// The threat-intel lists (one per category) with the active indicators' rules.
    static func addIntel(_ rules: [IntelPolicyRule], to builder: inout SnapshotBuilder) {
        var byCategory: [Policy.Category: [IntelPolicyRule]] = [:]
        for r in rules { byCategory[r.category, default: []].append(r) }
        for (i, info) in IntelLists.all.enumerated() {
            builder.begin(info)
            for r in byCategory[Policy.Category.allCases[i]] ?? [] {
                guard let c = r.change else { continue }
                switch c.target {
                case .name(let n, let match):
                    n.lowercasedWire.withUnsafeBytes { builder.name($0, match: match, action: .block, line: Int(c.ruleID)) }
                case .prefix(let p):
                    builder.address(p, action: .block, line: Int(c.ruleID))
                }
            }
        }
    }

    /// Is a parsed list too broken to replace the one in force?
    static func isBroken(rules: Int, skipped: Int) -> Bool {
        (rules == 0 && skipped > 0) || (skipped > rules && skipped >= 10)
    }

    /// Builds an engine from `contents` (a missing entry means: use the last good copy).
    public func build(
        contents: [String: SourceContent], previous: [String: SourceStatus] = [:], generation: UInt64 = 0, intel: [IntelPolicyRule] = []
    ) -> (
        PolicyEngine, [SourceStatus]
    ) {
        var loaded: [(SourceSpec, [UInt8]?, String?)] = []
        for spec in settings.sources {
            switch contents[spec.name] {
            case .fresh(let b)?: loaded.append((spec, b, nil))
            case .failed(let why)?: loaded.append((spec, nil, why))
            case nil: loaded.append((spec, nil, nil))
            }
        }
        // Size the index from the inputs so that loading does not reallocate.
        var lines = 0
        var bytes = 0
        for (spec, b, _) in loaded {
            if case .entries(let groups) = spec.location {
                for g in groups {
                    lines += g.names.count
                    bytes += g.names.reduce(0) { $0 + $1.utf8.count + 2 }
                }
            }
            guard let b else { continue }
            bytes += b.count
            lines += b.withUnsafeBytes { p in p.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } } + 1
        }
        var builder = SnapshotBuilder(expectedNames: lines + intel.count, arenaBytes: bytes + 2 * lines + 24 * intel.count)
        var statuses: [SourceStatus] = []
        let now = Date()
        for (spec, fresh, error) in loaded {
            var status = previous[spec.name] ?? SourceStatus(name: spec.name, origin: spec.location.description)
            if case .entries(let groups) = spec.location {
                // Tenants' own entries, from the configuration: each group under its owner.
                builder.begin(spec.info)
                var line = 0
                for g in groups {
                    builder.setOwner(g.owner)
                    for e in g.names {
                        line += 1
                        let below = e.hasPrefix("*.")
                        guard let n = try? Name(below ? String(e.dropFirst(2)) : e) else { continue }
                        n.lowercasedWire.withUnsafeBytes { builder.name($0, match: below ? .below : .subtree, action: .block, line: line) }
                    }
                }
                builder.setOwner(nil)
                let info = builder.snapshot.lists.last!
                status.rules = info.rules
                status.lastSuccess = now
                statuses.append(status)
                continue
            }
            status.lastError = error
            status.usingLastGood = false
            builder.begin(spec.info)
            let mark = builder.mark()
            var usedFresh = false
            var rejected: [String] = []
            if let fresh {
                let before = builder.issues.count
                fresh.withUnsafeBytes { builder.add($0, format: spec.format) }
                let info = builder.snapshot.lists.last!
                if Self.isBroken(rules: info.rules, skipped: info.skipped) {
                    status.lastError = "\(info.skipped) lines rejected, \(info.rules) rules: not replacing the list in force"
                    rejected = builder.issues[before...].prefix(20).map(\.description)
                    builder.rollback(to: mark)
                } else {
                    usedFresh = true
                    status.lastSuccess = now
                    if case .file = spec.location { archive.keep(spec.name, fresh, validators: nil) }
                }
            }
            if !usedFresh, let copy = archive.lastGood(spec.name) {
                copy.withUnsafeBytes { builder.add($0, format: spec.format) }
                status.usingLastGood = fresh != nil || error != nil
            }
            if status.lastError != nil { status.failures += 1 }
            let info = builder.snapshot.lists.last!
            status.rules = info.rules
            status.skipped = info.skipped
            // The problems of what was rejected, else of what is in force.
            status.issues = rejected.isEmpty ? builder.issues.filter { $0.list == spec.name }.prefix(20).map(\.description) : rejected
            statuses.append(status)
        }
        builder.begin(PolicySettings.localBlock)
        builder.begin(PolicySettings.localAllow)
        Self.addIntel(intel, to: &builder)
        let engine = PolicyEngine(snapshot: builder.finish(), profiles: settings.profiles, config: settings.config, generation: generation)
        return (engine, statuses)
    }
}
