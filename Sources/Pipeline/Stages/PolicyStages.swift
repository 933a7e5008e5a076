import DNSWire
import Logging
import NIOCore
import Policy
import Resolver
import Synchronization

/// The policy one thread (event loop or native UDP engine thread) consults: its own reference to
/// the current engine, replaced between queries when a new one is published, so the hot path
/// reads it with no lock and no atomic.
public final class PolicyBox {
    @exclusivity(unchecked) public var engine: PolicyEngine {
        didSet { cacheFlags() }
    }
    /// Read on every query: whether any tenant is told apart by its network, and whether any
    /// logs its queries (kept here so that most queries never look into the engine for them).
    @exclusivity(unchecked) public private(set) var identifiesClients = false
    @exclusivity(unchecked) public private(set) var logsQueries = false
    /// Whether any node sends EDNS Client Subnet upstream (`ecs: true`).
    @exclusivity(unchecked) public private(set) var sendsSubnets = false
    /// Profile per listener index (queries on listener i get `listenerProfiles[i]`).
    @exclusivity(unchecked) public var listenerProfiles: [Int]
    /// Profile of listeners not in `listenerProfiles`.
    public var defaultProfile: Int
    /// Listeners that serve known tenants only (by listener index): anyone else is refused.
    public var tenantOnly: [Bool]
    public let logger: Logger?

    public init(engine: PolicyEngine, listenerProfiles: [Int] = [], defaultProfile: Int = 1, tenantOnly: [Bool] = [], logger: Logger? = nil) {
        self.engine = engine
        self.listenerProfiles = listenerProfiles
        self.defaultProfile = defaultProfile
        self.tenantOnly = tenantOnly
        self.logger = logger
        cacheFlags()
    }

    /// Unique to this box's current engine, process-wide: taken from `epochs` at every
    /// assignment, so no two boxes (several chains may share one cache) and no two engines of
    /// one box ever have the same epoch.
    @exclusivity(unchecked) public private(set) var epoch: UInt64 = 0
    static let epochs = Atomic<UInt64>(0)

    /// The policy memo's stamp on a cache entry: this engine (`epoch`) found nothing to block,
    /// allow or audit in the entry's question or answer for policy node `tenant`. Never 0.
    @inline(__always) func stamp(tenant: Int) -> UInt64 { epoch << 32 | UInt64(UInt32(truncatingIfNeeded: tenant)) }

    func cacheFlags() {
        epoch = Self.epochs.wrappingAdd(1, ordering: .relaxed).newValue
        identifiesClients = engine.identifiesClients
        logsQueries = engine.tree.anyLogs
        sendsSubnets = engine.tree.anyECS
    }

    @inline(__always) func profile(listener: Int) -> Int {
        listener >= 0 && listener < listenerProfiles.count ? listenerProfiles[listener] : defaultProfile
    }
}

/// A new engine for a thread that is not an event loop (native UDP engine threads): published
/// from any thread, picked up at the start of the next batch (one atomic load when nothing is new).
public final class PolicyMailbox: Sendable {
    let slot = Mutex<PolicyEngine?>(nil)
    let pending = Atomic<Bool>(false)
    public init() {}

    public func publish(_ engine: PolicyEngine) {
        slot.withLock { $0 = engine }
        pending.store(true, ordering: .releasing)
    }

    /// The engine published since the last call, if any.
    public func take() -> PolicyEngine? {
        guard pending.load(ordering: .acquiring) else { return nil }
        pending.store(false, ordering: .relaxed)
        return slot.withLock { e in
            defer { e = nil }
            return e
        }
    }
}

/// IdentifyTenant: picks the policy node, in this order: the token the client named (DoH path
/// `/dns-query/<token>`, DoT server name `<token>.<domain>`), the tenant whose network holds the
/// source address (longest prefix, IPv4 and IPv6), the listener's profile (public profiles are
/// bound to listeners, like DNS4EU's). A token nobody has, or an unknown client on a tenant-only
/// listener, is refused with EDE 18 (Prohibited).
public final class IdentifyTenantStage: QueryStage {
    public let name = "IdentifyTenant"
    let policy: PolicyBox
    let stats: StatsBox?
    public init(policy: PolicyBox, stats: StatsBox? = nil) {
        self.policy = policy
        self.stats = stats
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        let outcome = identify(&ctx)
        if policy.sendsSubnets, case .next = outcome, policy.engine.tree.ecs[ctx.tenant] {
            ctx.subnet = Self.subnet(of: ctx)
        }
        return outcome
    }

    /// The subnet to send upstream for this client (RFC 7871: /24 and /56), or 0 when the
    /// client asked for none (an ECS option of its own with source prefix 0, §7.1.2).
    static func subnet(of ctx: QueryContext) -> UInt64 {
        if ctx.hasEDNS {
            let query = ctx.query ?? (try? Message(parsing: ctx.raw))
            if let own = query?.edns?.clientSubnet, own.sourcePrefix == 0 { return 0 }
        }
        let c = ctx.client
        if c.family == 4 { return ClientSubnetTag.ipv4(UInt32(truncatingIfNeeded: c.low)) }
        if c.family == 6 {
            if c.high == 0 && c.low >> 32 == 0xFFFF { return ClientSubnetTag.ipv4(UInt32(truncatingIfNeeded: c.low)) }
            return ClientSubnetTag.ipv6(high: c.high)
        }
        return 0
    }

    func identify(_ ctx: inout QueryContext) -> StageOutcome {
        if let token = ctx.identity {
            let node = policy.engine.node(token: token)
            guard node >= 0 else { return refuse(ctx, "unknown tenant token") }
            ctx.tenant = node
            stats?.stats.countTenant(node)
            return .next
        }
        if policy.identifiesClients {
            let engine = policy.engine
            let c = ctx.client
            let node: Int
            if c.family == 4 {
                node = engine.node(v4: UInt32(truncatingIfNeeded: c.low))
            } else if c.family == 6 {
                node = c.high == 0 && c.low >> 32 == 0xFFFF ? engine.node(v4: UInt32(truncatingIfNeeded: c.low)) : engine.node(v6: c.high, c.low)
            } else {
                node = -1
            }
            if node >= 0 {
                ctx.tenant = node
                stats?.stats.countTenant(node)
                return .next
            }
        }
        let l = ctx.listener
        if l >= 0 && l < policy.tenantOnly.count && policy.tenantOnly[l] { return refuse(ctx, "not a client of this service") }
        ctx.tenant = policy.profile(listener: l)
        stats?.stats.countTenant(ctx.tenant)
        return .next
    }

    func refuse(_ ctx: QueryContext, _ why: String) -> StageOutcome {
        stats?.stats.refusedTenant += 1
        return .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .prohibited, extraText: why)))
    }
}

/// PolicyQName: the query name and every parent against the profile's rules, before the cache or
/// an upstream sees it. Allow rules win over blocks.
///
/// The policy memo: a cached answer whose question and answer both passed (no rule matched at
/// all) is stamped in its cache entry with the engine and policy node (`PolicyBox.stamp`). The
/// cache entry is read for the answer anyway, so a later query of the same name and node under
/// the same engine is let through on that stamp, without the lookups in the big name index
/// (a cache miss each) and PolicyAnswer's walk of the answer. A new engine (any change to any
/// rule), another node or a replaced entry does not match the stamp, and the checks run again.
public final class PolicyQNameStage: QueryStage {
    public let name = "PolicyQName"
    let policy: PolicyBox
    let stats: StatsBox
    /// The cache the Cache stage reads after this one (nil: no memo).
    let cache: ResponseCache?

    public init(policy: PolicyBox, stats: StatsBox, cache: ResponseCache? = nil) {
        self.policy = policy
        self.stats = stats
        self.cache = cache
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        let engine = policy.engine
        let profile = ctx.tenant
        let verdict: PolicyVerdict
        if ctx.scan.outcome == .query {
            if let cache, ctx.subnet == 0 {
                // The probe the Cache stage would make (it takes the slot from here).
                let scan = ctx.scan
                let slot = ctx.packet.withUnsafeReadableBytes { cache.slot(scan, packet: $0) } ?? -1
                ctx.cacheSlot = slot
                if slot >= 0 && cache.stamp(slot: slot) == policy.stamp(tenant: profile) {
                    ctx.policyCleared = true
                    return .next
                }
            }
            let end = ctx.scan.nameEnd
            verdict = ctx.packet.withUnsafeReadableBytes { engine.check(name: $0, start: 12, end: end, profile: profile) }
        } else if let q = ctx.question {
            verdict = q.name.lowercasedWire.withUnsafeBytes { engine.check(name: $0, start: 0, end: $0.count, profile: profile) }
        } else {
            return .next
        }
        switch verdict.kind {
        case .none:
            ctx.nameClear = true
            return .next
        case .allowed:
            stats.stats.allowed += 1
            return .next
        case .audited:
            PolicyAnswers.audit(ctx, engine: engine, match: verdict.match!, logger: policy.logger, stats: stats)
            return .next
        case .blocked:
            stats.stats.blockedQName += 1
            return PolicyAnswers.block(ctx, engine: engine, match: verdict.match!, qnameMatch: true, stats: stats)
        }
    }
}

/// PolicyAnswer: every CNAME target and A/AAAA address of the answer (cached or fresh) against
/// the profile's rules: CNAME cloaking, malicious hosting addresses.
public final class PolicyAnswerStage: QueryStage {
    public let name = "PolicyAnswer"
    let policy: PolicyBox
    let stats: StatsBox
    /// The cache PolicyQName probed (nil: no memo).
    let cache: ResponseCache?

    public init(policy: PolicyBox, stats: StatsBox, cache: ResponseCache? = nil) {
        self.policy = policy
        self.stats = stats
        self.cache = cache
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        // Stamped clear, and the answer is that entry's (a fresh answer after an expired entry
        // is checked like any other).
        if ctx.policyCleared && ctx.cacheHit { return .next }
        guard let answer = ctx.response else { return .next }
        guard answer.rcode == .noError else {
            stampClear(ctx)
            return .next
        }
        let engine = policy.engine
        let verdict = answer.wire.withUnsafeBytes { engine.check(answer: $0, profile: ctx.tenant) }
        switch verdict.kind {
        case .none:
            stampClear(ctx)
            return .next
        case .allowed: return .next
        case .audited:
            PolicyAnswers.audit(ctx, engine: engine, match: verdict.match!, logger: policy.logger, stats: stats)
            return .next
        case .blocked:
            stats.stats.blockedAnswer += 1
            switch PolicyAnswers.block(ctx, engine: engine, match: verdict.match!, qnameMatch: false, stats: stats) {
            case .answer(let a):
                ctx.response = a
                return .next
            case let other: return other
            }
        }
    }

    /// The memo: the question and the answer of the cache entry PolicyQName probed both passed.
    /// Only a cache hit from that probe's slot is stamped (same thread, nothing stored or
    /// removed in between: the chain runs from PolicyQName to here without waiting).
    @inline(__always) func stampClear(_ ctx: QueryContext) {
        guard let cache, ctx.nameClear, ctx.cacheHit, ctx.cacheSlot >= 0 else { return }
        cache.setStamp(slot: ctx.cacheSlot, policy.stamp(tenant: ctx.tenant))
    }
}

/// The answers a block gives.
public enum PolicyAnswers {
    static func audit(_ ctx: QueryContext, engine: PolicyEngine, match: PolicyMatch, logger: Logger?, stats: StatsBox) {
        stats.stats.audited += 1
        let list = engine.list(of: match)
        logger?.notice(
            "policy audit match (not blocked)",
            metadata: [
                "qname": "\(ctx.question?.name.description ?? "?")", "rule": "\(engine.trigger(of: match))", "list": "\(list.name)",
                "line": "\(engine.ruleID(of: match))", "profile": "\(engine.profiles[ctx.tenant].name)",
            ])
    }

    /// The block answer for `match` (or `.drop`): the rule's own action (NODATA, drop, local
    /// data) or the profile's (NXDOMAIN, NODATA, sinkhole, REFUSED, drop), with EDE 15/17 and a
    /// short SOA-based negative TTL.
    public static func block(_ ctx: QueryContext, engine: PolicyEngine, match: PolicyMatch, qnameMatch: Bool, stats: StatsBox) -> StageOutcome {
        // Only the fields needed: a whole `Profile` or `ListInfo` is strings and arrays to retain.
        let action = engine.profiles[ctx.tenant].action
        let ruleClass = engine.ruleClass(of: match)
        let listCategories = engine.snapshot.lists[Int(ruleClass.list)].categories
        if let c = listCategories.intersection(engine.categories(of: ctx.tenant)).first ?? listCategories.first {
            stats.stats.blockedByCategory[Int(c.rawValue)] += 1
        }
        stats.recordHit(
            ruleID: engine.ruleID(of: match), list: ruleClass.list, client: ctx.client, tenant: ctx.tenant, layer: match.layer.rawValue,
            entry: match.entry)
        // The text only for a client that can be sent it (an OPT record of its own).
        let ede = engine.extendedError(for: match, profile: ctx.tenant, text: ctx.hasEDNS)
        let kind = ruleClass.kind
        if kind != .localData, ctx.scan.outcome == .query {
            return fastBlock(ctx, engine: engine, kind: kind, action: action, depth: qnameMatch ? match.depth : 0, ede: ede)
        }
        guard let q = ctx.question else { return .answer(Responses.empty(for: ctx, rcode: .nxDomain, extendedError: ede)) }
        let ttl = engine.config.blockTTL
        // The SOA's owner: the rule's name when it is the query name or a parent of it.
        var zone = q.name
        if qnameMatch, let n = engine.ruleName(of: match), q.name.isSubdomain(of: n) { zone = n }
        let soa = ResourceRecord(
            name: zone, ttl: ttl,
            rdata: .soa(
                .init(
                    mname: Self.mname, rname: Self.rname, serial: UInt32(truncatingIfNeeded: engine.generation), refresh: 3600,
                    retry: 600, expire: 86400, minimum: ttl)))
        func answer(_ rcode: Rcode, _ records: [ResourceRecord]) -> StageOutcome {
            var a = Responses.records(for: ctx, rcode: rcode, answers: records, authorities: records.isEmpty ? [soa] : [])
            a.extendedError = ede
            return .answer(a)
        }
        switch kind {
        case .nodata: return answer(.noError, [])
        case .drop: return .drop
        case .localData:
            let records = (engine.localData(of: match) ?? []).filter {
                $0.type == q.type || $0.type == .cname || q.type == .any
            }.map { r -> ResourceRecord in
                var r = r
                r.name = q.name
                return r
            }
            return answer(.noError, records)
        case .block, .allow:
            switch action {
            case .nxdomain: return answer(.nxDomain, [])
            case .nodata: return answer(.noError, [])
            case .refused:
                var a = Responses.empty(for: ctx, rcode: .refused, extendedError: ede)
                a.extendedError = ede
                return .answer(a)
            case .drop: return .drop
            case .sinkhole:
                if q.type == .a, let v4 = engine.config.sinkholeV4 {
                    return answer(.noError, [ResourceRecord(name: q.name, ttl: ttl, rdata: .a(v4))])
                }
                if q.type == .aaaa, let v6 = engine.config.sinkholeV6 {
                    return answer(.noError, [ResourceRecord(name: q.name, ttl: ttl, rdata: .aaaa(v6))])
                }
                return answer(.noError, [])
            }
        }
    }

    static let mname = (try? Name("blocked.bulwark.invalid.")) ?? .root
    static let rname = (try? Name("hostmaster.bulwark.invalid.")) ?? .root
    /// SOA RDATA up to the serial: mname, then rname compressed against it.
    static let soaNames: [UInt8] = mname.wire + [10] + Array("hostmaster".utf8) + [0xC0, 0]

    /// The same answers as the general path for a scanned query, written straight into one
    /// buffer: the question as the client sent it, an SOA whose owner points into the question
    /// (the rule's name when it is the query name or a parent of it), a sinkhole record whose
    /// owner points at the query name. No message is built and encoded.
    static func fastBlock(
        _ ctx: QueryContext, engine: PolicyEngine, kind: RuleEffectKind, action: BlockAction, depth: Int, ede: ExtendedError
    ) -> StageOutcome {
        var rcode = Rcode.noError
        var record: [UInt8] = []
        let qtype = ctx.scan.qtype
        switch kind {
        case .nodata: break
        case .drop: return .drop
        default:
            switch action {
            case .nxdomain: rcode = .nxDomain
            case .nodata: break
            case .drop: return .drop
            case .refused:
                var a = Responses.empty(for: ctx, rcode: .refused, extendedError: ede)
                a.extendedError = ede
                return .answer(a)
            case .sinkhole:
                if qtype == RRType.a.rawValue, let v4 = engine.config.sinkholeV4 {
                    record = v4.bytes
                } else if qtype == RRType.aaaa.rawValue, let v6 = engine.config.sinkholeV6 {
                    record = v6.bytes
                }
            }
        }
        let ttl = engine.config.blockTTL
        let qEnd = ctx.scan.questionEnd
        let packet = ctx.packet
        var w: [UInt8] = []
        w.reserveCapacity(qEnd + 96)
        // Header (ID and most flags come from the query in Finalize): QR, AA, rcode; one question;
        // one answer (sinkhole) or one authority record (SOA).
        let hasRecord = !record.isEmpty
        w += [0, 0, 0x84, UInt8(rcode.rawValue & 0x0F), 0, 1, 0, hasRecord ? 1 : 0, 0, hasRecord ? 0 : 1, 0, 0]
        packet.withUnsafeReadableBytes { p in w.append(contentsOf: p[12..<qEnd]) }
        func put32(_ v: UInt32) { w += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        if hasRecord {
            w += [0xC0, 12, 0, record.count == 4 ? 1 : 28, 0, 1]
            put32(ttl)
            w += [0, UInt8(record.count)]
            w += record
        } else {
            // The owner: the suffix of the query name `depth` labels down.
            var zone = 12
            packet.withUnsafeReadableBytes { p in
                for _ in 0..<depth where zone < qEnd - 4 && p[zone] != 0 { zone += 1 + Int(p[zone]) }
            }
            let mnameAt = w.count + 12
            w += [0xC0 | UInt8(zone >> 8), UInt8(zone & 0xFF), 0, 6, 0, 1]
            put32(ttl)
            let rdLength = soaNames.count + 20
            w += [UInt8(rdLength >> 8), UInt8(rdLength & 0xFF)]
            w += soaNames
            // rname's pointer to "bulwark.invalid." inside mname ("\007blocked" is 8 bytes).
            w[w.count - 1] = UInt8((mnameAt + 8) & 0xFF)
            w[w.count - 2] = 0xC0 | UInt8((mnameAt + 8) >> 8)
            put32(UInt32(truncatingIfNeeded: engine.generation))
            put32(3600)
            put32(600)
            put32(86400)
            put32(ttl)
        }
        return .answer(CachedAnswer(wire: w, rcode: rcode, extendedError: ede))
    }
}
