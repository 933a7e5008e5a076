import AsyncHTTPClient
import CBulwarkNet
import DNSWire
import Foundation
import Logging
import NIOCore
import Policy
import ServiceLifecycle
import Synchronization
import ThreatIntel
import UnixSignals

/// What the metrics endpoint and the admin calls see of the policy.
public struct PolicyStatus: Sendable {
    public var generation: UInt64 = 0
    public var names = 0
    public var prefixes = 0
    public var deltaRules = 0
    public var lastBuildSeconds = 0.0
    public var lastBuild: Date?
    public var sources: [SourceStatus] = []
}

/// Keeps the policy current: loads the sources, rebuilds the snapshot when a file changes, a URL
/// is due or SIGHUP arrives, applies single-rule changes through the delta, publishes every new
/// engine to the data plane and persists it. Builds run here, never on an event loop.
public actor PolicyService: Service {
    var settings: PolicySettings
    var loader: PolicyLoader
    let dataDirectory: String
    let logger: Logger
    let publish: @Sendable (PolicyEngine) -> Void
    public private(set) var engine: PolicyEngine
    var statuses: [String: SourceStatus] = [:]
    var stamps: [String: FileStamp] = [:]
    var nextFetch: [String: Date] = [:]
    var reloadRequested = false
    /// Every active threat-intel rule, for full builds (set by the composition root).
    var intelRules: (@Sendable () async -> [IntelPolicyRule])?
    /// Intel changes applied while a build reads the active rules: replayed onto its result, so
    /// none is lost (replaying one the build already has is harmless).
    var intelReplay: [(adding: [RuleChange], removing: [RuleChange])]?
    var intelRebuildRequested = false
    var rebuilding = false
    var persisting = false
    /// URL sources whose fetch was asked for while a build ran: fetched on the next round.
    var pendingFetch: Set<String> = []
    /// Delta size above which the intel rules are folded into a new base.
    public var foldThreshold = 10_000
    var persistPending = false
    /// A build left garbage (the old engine once the loops drop it, the list bytes): give the
    /// freed memory back to the system on the next round.
    var trimPending = false
    public nonisolated let status = Mutex(PolicyStatus())

    struct FileStamp: Equatable {
        var size: Int
        var modified: Date
    }

    /// Whether `initial` is current (then only URL sources are fetched at start, and the
    /// snapshot rebuilt only if one of them changed).
    let initialIsCurrent: Bool

    public init(
        settings: PolicySettings, dataDirectory: String, initial: PolicyEngine, initialIsCurrent: Bool = false,
        statuses: [SourceStatus] = [], initialSeconds: Double = 0, logger: Logger, publish: @escaping @Sendable (PolicyEngine) -> Void
    ) {
        self.initialIsCurrent = initialIsCurrent
        for st in statuses { self.statuses[st.name] = st }
        self.settings = settings
        self.loader = PolicyLoader(settings: settings, dataDirectory: dataDirectory)
        self.dataDirectory = dataDirectory
        self.logger = logger
        self.publish = publish
        self.engine = initial
        let s = PolicyStatus(
            generation: initial.generation, names: initial.snapshot.nameCount, prefixes: initial.snapshot.prefixes.count,
            lastBuildSeconds: initialSeconds, lastBuild: Date(), sources: statuses)
        status.withLock { $0 = s }
    }

    /// The engine to start with, and whether it is already current: the persisted snapshot when
    /// there is one (protection from the first query; current when it has the configured lists
    /// and no list file changed since it was written), else a build from the files and the last
    /// good copies of URL sources (no network).
    public static func initialEngine(settings: PolicySettings, dataDirectory: String, logger: Logger) -> (
        PolicyEngine, current: Bool, statuses: [SourceStatus], seconds: Double
    ) {
        let start = ContinuousClock.now
        func since() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        let loader = PolicyLoader(settings: settings, dataDirectory: dataDirectory)
        let fm = FileManager.default
        let leftovers = PolicyFile.removeLeftovers(of: loader.snapshotPath)
        if leftovers > 0 { logger.info("removed an unfinished policy snapshot (the last run stopped while writing it)", metadata: ["files": "\(leftovers)"]) }
        if fm.fileExists(atPath: loader.snapshotPath) {
            do {
                let e = try PolicyFile.read(from: loader.snapshotPath, profiles: settings.profiles, config: settings.config)
                logger.info("policy restored from the last snapshot", metadata: ["names": "\(e.snapshot.nameCount)", "path": "\(loader.snapshotPath)"])
                let written = (try? fm.attributesOfItem(atPath: loader.snapshotPath)[.modificationDate] as? Date) ?? .distantPast
                let sameLists = e.snapshot.lists.map(\.self) == Self.expectedLists(settings, from: e)
                let filesOlder = settings.sources.allSatisfy { spec in
                    guard case .file(let p) = spec.location else { return true }
                    let m = (try? fm.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantFuture
                    return m < written
                }
                return (e, sameLists && filesOlder, Self.statuses(settings, from: e), since())
            } catch {
                logger.warning("cannot use the persisted policy snapshot; building from the sources", metadata: ["error": "\(error)"])
            }
        }
        var contents: [String: SourceContent] = [:]
        for spec in settings.sources { if let c = loader.readLocal(spec) { contents[spec.name] = c } }
        let (e, statuses) = loader.build(contents: contents)
        let seconds = since()
        logger.info("policy built from the sources", metadata: ["names": "\(e.snapshot.nameCount)", "seconds": "\(seconds)"])
        return (e, true, statuses, seconds)
    }

    /// Source statuses as far as a restored snapshot tells them (counts, no line issues).
    static func statuses(_ settings: PolicySettings, from e: PolicyEngine) -> [SourceStatus] {
        settings.sources.map { spec in
            var s = SourceStatus(name: spec.name, origin: spec.location.description)
            if let l = e.snapshot.lists.first(where: { $0.name == spec.name }) {
                s.rules = l.rules
                s.skipped = l.skipped
            }
            return s
        }
    }

    /// The lists a snapshot of the current configuration has (with the counts `e` has for them).
    static func expectedLists(_ settings: PolicySettings, from e: PolicyEngine) -> [ListInfo] {
        var out: [ListInfo] = []
        for (i, info) in (settings.sources.map(\.info) + [PolicySettings.localBlock, PolicySettings.localAllow] + IntelLists.all).enumerated() {
            var l = info
            if i < e.snapshot.lists.count {
                l.rules = e.snapshot.lists[i].rules
                l.skipped = e.snapshot.lists[i].skipped
            }
            out.append(l)
        }
        return out
    }

    public func run() async throws {
        // An HTTP client only when some list is fetched: a resolver with local lists never
        // starts one (nor pages its code in).
        let client = settings.sources.contains(where: \.location.isURL) ? HTTPClient(eventLoopGroupProvider: .singleton) : nil
        let hangup = await UnixSignalsSequence(trapping: .sighup)
        let service = self
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangup { await service.requestReload() }
            }
            group.addTask {
                await cancelWhenGracefulShutdown { await service.loop(client: client) }
            }
            await group.next()
            group.cancelAll()
        }
        if persistPending { await persist() }
        try? await client?.shutdown()
    }

    func requestReload() {
        logger.info("policy reload requested (SIGHUP)")
        reloadRequested = true
    }

    func loop(client: HTTPClient?) async {
        if initialIsCurrent {
            for spec in settings.sources { if case .file(let p) = spec.location { stamps[spec.name] = stamp(p) } }
            let urls = Set(settings.sources.filter(\.location.isURL).map(\.name))
            if !urls.isEmpty { await rebuild(client: client, due: urls, reason: "startup fetch", onlyIfChanged: true) }
            persistPending = !FileManager.default.fileExists(atPath: loader.snapshotPath)
        } else {
            await rebuild(client: client, due: nil, reason: "startup")
        }
        if persistPending { await persist() }
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .nanoseconds(settings.fileCheck.nanoseconds))
            } catch {
                break
            }
            if trimPending {
                trimPending = false
                Self.releaseFreedMemory()
            }
            let now = Date()
            var due: Set<String> = pendingFetch
            pendingFetch = []
            var changed: [String] = []
            for spec in settings.sources {
                switch spec.location {
                case .file(let p):
                    if stamp(p) != stamps[spec.name] { changed.append(spec.name) }
                case .url:
                    if let next = nextFetch[spec.name], next <= now { due.insert(spec.name) }
                case .entries: break
                }
            }
            if reloadRequested {
                reloadRequested = false
                await rebuild(client: client, due: nil, reason: "reload")
            } else if intelRebuildRequested {
                await rebuild(client: client, due: due, reason: due.isEmpty ? "threat intel" : "threat intel; fetch: \(due.sorted().joined(separator: ", "))")
            } else if !changed.isEmpty {
                await rebuild(client: client, due: due, reason: "changed: \((changed + due.sorted()).joined(separator: ", "))")
            } else if !due.isEmpty {
                await rebuild(client: client, due: due, reason: "refresh: \(due.sorted().joined(separator: ", "))", onlyIfChanged: true)
            }
            if persistPending { await persist() }
        }
    }

    func stamp(_ path: String) -> FileStamp? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileStamp(size: a[.size] as? Int ?? -1, modified: a[.modificationDate] as? Date ?? .distantPast)
    }

    /// Rebuilds the base from every source (fetching the URLs in `due`, or all when nil), keeps
    /// the delta's rules on top, publishes and persists.
    func rebuild(client: HTTPClient?, due: Set<String>?, reason: String, onlyIfChanged: Bool = false, intel given: [IntelPolicyRule]? = nil) async {
        // One build at a time (the hub's requests come in while the loop may be building): a
        // request during a build becomes a build right after it.
        guard !rebuilding else {
            if let due {
                pendingFetch.formUnion(due)
                if due.isEmpty { intelRebuildRequested = true }
            } else {
                reloadRequested = true
            }
            return
        }
        rebuilding = true
        defer { rebuilding = false }
        var filesChanged = false
        for spec in settings.sources {
            if case .file(let p) = spec.location {
                let s = stamp(p)
                if s != stamps[spec.name] { filesChanged = true }
                stamps[spec.name] = s
            }
        }
        let contents = await loader.contents(client: client, only: due)
        let now = Date()
        var urlChanged = false
        for spec in settings.sources {
            if case .url = spec.location, due == nil || due!.contains(spec.name) {
                nextFetch[spec.name] = now.addingTimeInterval(TimeInterval(spec.refresh))
                if contents[spec.name] != nil { urlChanged = true }
            }
        }
        if onlyIfChanged && !filesChanged && !urlChanged {
            logger.debug("policy sources unchanged", metadata: ["reason": "\(reason)"])
            return
        }
        let start = ContinuousClock.now
        intelRebuildRequested = false
        // The replay log starts where the rules are read (the caller read them when it gives them).
        if given == nil { intelReplay = [] }
        var intel: [IntelPolicyRule] = []
        if let given {
            intel = given
        } else if let rules = intelRules {
            intel = await rules()
        }
        // The build runs off the actor: rule changes (API, intel) go on meanwhile and are carried
        // or replayed onto its result below.
        let loader = self.loader
        let previous = self.statuses
        let (built, statuses) = await Task.detached { loader.build(contents: contents, previous: previous, intel: intel) }.value
        let base = PolicyEngine(snapshot: built.snapshot, profiles: built.profiles, config: built.config, generation: engine.generation &+ 1)
        var next = carryDelta(onto: base)
        for change in intelReplay ?? [] {
            if let e = try? next.applying(removing: change.removing, adding: change.adding).engine { next = e }
        }
        intelReplay = nil
        let elapsed = ContinuousClock.now - start
        for s in statuses {
            self.statuses[s.name] = s
            if let e = s.lastError {
                logger.warning(
                    "policy source failed", metadata: ["list": "\(s.name)", "error": "\(e)", "kept-last-good": "\(s.usingLastGood)"])
            }
            for i in s.issues.prefix(5) { logger.notice("policy list line skipped", metadata: ["list": "\(s.name)", "issue": "\(i)"]) }
        }
        install(next, buildSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        persistPending = true
        trimPending = true
        logger.info(
            "policy loaded",
            metadata: [
                "reason": "\(reason)", "names": "\(next.snapshot.nameCount)", "prefixes": "\(next.snapshot.prefixes.count)",
                "generation": "\(next.generation)", "seconds": "\(elapsed)",
            ])
    }

    /// The new base with the current delta's added rules (by list name) on top.
    func carryDelta(onto base: PolicyEngine) -> PolicyEngine {
        var e = base
        let intelLists = Set(IntelLists.names)
        for r in engine.delta.nameRules {
            let list = engine.snapshot.lists[Int(r.list)].name
            // The intel rules in force are in the new base already.
            if intelLists.contains(list) && intelRules != nil { continue }
            let action: RuleAction = r.kind == .allow ? .allow : r.kind == .nodata ? .nodata : r.kind == .drop ? .drop : .block
            if let next = try? e.adding(name: Name(uncheckedWire: r.wire), match: r.match, action: action, list: list, ruleID: r.ruleID) { e = next }
        }
        for r in engine.delta.prefixRules {
            let list = engine.snapshot.lists[Int(r.list)].name
            if intelLists.contains(list) && intelRules != nil { continue }
            if let next = try? e.adding(prefix: r.prefix, action: r.kind == .allow ? .allow : .block, list: list, ruleID: r.ruleID) { e = next }
        }
        return e
    }

    func install(_ next: PolicyEngine, buildSeconds: Double? = nil) {
        engine = next
        publish(next)
        let sources = settings.sources.compactMap { statuses[$0.name] }
        status.withLock { s in
            s.generation = next.generation
            s.names = next.snapshot.nameCount
            s.prefixes = next.snapshot.prefixes.count
            s.deltaRules = next.delta.count
            if let buildSeconds {
                s.lastBuildSeconds = buildSeconds
                s.lastBuild = Date()
            }
            s.sources = sources
        }
    }

    /// Returns freed heap memory to the system (glibc keeps it otherwise, and a rebuild frees
    /// tens of megabytes at a time).
    public static func releaseFreedMemory() {
        _ = bw_release_freed_memory()
    }

    /// Writes the engine in force to disk, off the actor (a large delta takes a while to write,
    /// and rule changes must not wait for it). One write at a time; a change during a write is
    /// written on the next round.
    func persist() async {
        guard !persisting else { return }
        persistPending = false
        trimPending = true
        persisting = true
        let e = engine
        let path = loader.snapshotPath
        let failure = await Task.detached { () -> String? in
            do {
                try PolicyFile.write(e, to: path)
                return nil
            } catch {
                return "\(error)"
            }
        }.value
        persisting = false
        if let failure { logger.warning("cannot persist the policy snapshot", metadata: ["error": "\(failure)"]) }
    }

    // MARK: single-rule changes (delta)

    public enum Change: Sendable {
        case addName(Name, list: String, match: NameMatch, action: RuleAction)
        case removeName(Name, list: String)
        case addPrefix(CIDR, list: String, action: RuleAction)
        case removePrefix(CIDR, list: String)
    }

    /// Applies one change and publishes it; returns the new generation.
    public func apply(_ change: Change) throws -> UInt64 {
        let next: PolicyEngine
        do {
            switch change {
            case .addName(let n, let l, let m, let a): next = try engine.adding(name: n, match: m, action: a, list: l, ruleID: nextRuleID())
            case .removeName(let n, let l): next = try engine.removing(name: n, list: l)
            case .addPrefix(let p, let l, let a): next = try engine.adding(prefix: p, action: a, list: l, ruleID: nextRuleID())
            case .removePrefix(let p, let l): next = try engine.removing(prefix: p, list: l)
            }
        } catch {
            throw AppError(.config, error.description)
        }
        install(next)
        persistPending = true
        return next.generation
    }

    /// The settings in force (the file's, with the tenants made through the API).
    public var currentSettings: PolicySettings { settings }

    /// New policy settings with the same sources and public profiles and other tenants (made
    /// or changed through the API): a build with the sources as they are (no fetch), installed
    /// before this returns.
    public func replaceTenants(_ next: PolicySettings) async {
        settings = next
        loader = PolicyLoader(settings: next, dataDirectory: dataDirectory)
        // A build already running has the old settings: wait for it (bounded by a build's time),
        // so that the change is in force when this returns.
        for _ in 0..<6000 where rebuilding {
            try? await Task.sleep(for: .milliseconds(10))
        }
        await rebuild(client: nil, due: [], reason: "tenants changed")
    }

    public func reload() async {
        reloadRequested = true
    }

    /// A NOTIFY (RFC 1996) for `zone` from `sender`: when a source follows that zone from that
    /// primary, it is fetched on the next round (true); anything else is not ours (false).
    public func notified(zone: Name, from sender: IPAddress) -> Bool {
        let z = zone.lowercased()
        let names = settings.sources.filter { spec in
            guard case .url(let u) = spec.location, let t = TransferSource(u) else { return false }
            return t.zone == z && t.host == sender
        }.map(\.name)
        guard !names.isEmpty else { return false }
        logger.info("NOTIFY for a followed zone", metadata: ["zone": "\(z)", "from": "\(sender)", "sources": "\(names.joined(separator: ", "))"])
        pendingFetch.formUnion(names)
        return true
    }

    // MARK: threat intel

    /// Where full builds get the active intel rules.
    public func attachIntel(_ rules: @escaping @Sendable () async -> [IntelPolicyRule]) {
        intelRules = rules
    }

    /// Applies intel rule changes through the delta and publishes them; a delta grown past
    /// `foldThreshold` is folded into a new base in the background loop.
    public func applyIntel(adding: [IntelPolicyRule], removing: [IntelPolicyRule]) {
        let add = adding.compactMap(\.change)
        let remove = removing.compactMap(\.change)
        intelReplay?.append((add, remove))
        do {
            let (next, skipped) = try engine.applying(removing: remove, adding: add)
            if !skipped.isEmpty { logger.warning("intel rules for unknown lists skipped", metadata: ["count": "\(skipped.count)"]) }
            install(next)
            persistPending = true
            if next.delta.count > foldThreshold { intelRebuildRequested = true }
        } catch {
            logger.warning("intel change needs a rebuild", metadata: ["error": "\(error)"])
            intelRebuildRequested = true
        }
    }

    /// Rebuilds now with every active intel rule (no URL fetches); nothing to do when there
    /// are none and the policy has none either (a fresh start: no second build of the lists).
    public func rebuildForIntel() async {
        if let rules = intelRules, !rebuilding {
            if intelReplay == nil { intelReplay = [] }
            let active = await rules()
            let intelLists = Set(IntelLists.names)
            let inForce =
                engine.snapshot.lists.contains { intelLists.contains($0.name) && $0.rules > 0 }
                || engine.delta.nameRules.contains { intelLists.contains(engine.snapshot.lists[Int($0.list)].name) }
                || engine.delta.prefixRules.contains { intelLists.contains(engine.snapshot.lists[Int($0.list)].name) }
            if active.isEmpty && !inForce && intelReplay?.isEmpty != false {
                if !rebuilding { intelReplay = nil }
                return
            }
            await rebuild(client: nil, due: [], reason: "threat intel", intel: active)
            return
        }
        await rebuild(client: nil, due: [], reason: "threat intel")
    }

    /// Rule ids of API/CLI rules: increasing, never reused (explanations stay unambiguous).
    var ruleCounter: UInt32 = 0
    func nextRuleID() -> UInt32 {
        ruleCounter &+= 1
        return ruleCounter
    }

    public func explain(_ query: String, profile: String?) -> Explanation? {
        let p = profile.flatMap { engine.profileIndex(named: $0) } ?? settings.defaultProfile
        if let ip = IPAddress(query) { return engine.explain(address: ip, profile: p) }
        guard let n = try? Name(query) else { return nil }
        return engine.explain(name: n, profile: p)
    }
}
