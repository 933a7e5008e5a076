import DNSWire
import NIOCore
import Policy
import Resolver

/// The query chain. Its order is decided in `QueryChain.build`, and only there.
public final class QueryChain {
    public let stages: [any QueryStage]
    /// The same stages, one per field, for `advance`: a stage called through a `let` field of
    /// the chain is borrowed, one called through an array element is retained and released
    /// around the call (two atomic operations per stage per query).
    let s0, s1, s2, s3, s4, s5, s6, s7: any QueryStage
    let finalize: FinalizeStage
    /// The policy this chain's stages consult (replace its engine between queries, on the
    /// chain's thread).
    public let policy: PolicyBox

    let stats: StatsBox

    init(stages: [any QueryStage], finalize: FinalizeStage, policy: PolicyBox, stats: StatsBox) {
        precondition(stages.count == 8, "QueryChain holds 8 stages (see `stage(_:_:)`)")
        self.stages = stages
        (s0, s1, s2, s3, s4, s5, s6, s7) = (stages[0], stages[1], stages[2], stages[3], stages[4], stages[5], stages[6], stages[7])
        self.finalize = finalize
        self.policy = policy
        self.stats = stats
    }

    /// Keeps the query for the query log when its tenant logs (one flag read otherwise; the
    /// context is passed `inout` so that it is not copied for the call).
    @inline(__always) func log(_ ctx: inout QueryContext) {
        guard policy.logsQueries, policy.engine.logs(ctx.tenant) else { return }
        stats.recordQuery(ctx, rcode: ctx.finalRcode)
    }

    /// Stage names in order, Finalize last.
    public var stageNames: [String] { stages.map(\.name) + [finalize.name] }

    public struct Parts {
        public var acl: AccessList
        public var resolution: Resolution
        public var stats: StatsBox
        public var maxUDPSize: Int
        /// This thread's policy (an empty policy when nil).
        public var policy: PolicyBox
        /// Discovery of Designated Resolvers (RFC 9462): the SVCB records of `_dns.resolver.arpa`.
        public var designatedResolvers: [RData]
        /// Per-client query rate limits (shared by every thread), and the UDP slip.
        public var rateLimiter: ClientRateLimiter? = nil
        public var slip = 2
        public init(
            acl: AccessList, resolver: CachingResolver, stats: StatsBox, maxUDPSize: Int, policy: PolicyBox? = nil, designatedResolvers: [RData] = []
        ) {
            self.init(
                acl: acl, resolution: .forward(resolver), stats: stats, maxUDPSize: maxUDPSize, policy: policy, designatedResolvers: designatedResolvers)
        }
        public init(
            acl: AccessList, resolution: Resolution, stats: StatsBox, maxUDPSize: Int, policy: PolicyBox? = nil, designatedResolvers: [RData] = []
        ) {
            self.acl = acl
            self.resolution = resolution
            self.stats = stats
            self.maxUDPSize = maxUDPSize
            self.policy = policy ?? PolicyBox(engine: PolicyEngine(snapshot: .empty))
            self.designatedResolvers = designatedResolvers
        }
    }

    /// How the Cache and Resolve positions are filled.
    public enum Resolution {
        /// On an event loop: the loop's cache, and upstream queries.
        case forward(CachingResolver)
        /// On a native UDP engine thread: its replica cache, and a handoff to the loop.
        case handoff(ReplicaCache)
    }

    /// The one place the order of the chain is written down.
    public static func build(_ p: Parts) -> QueryChain {
        let cacheStage: any QueryStage
        let resolveStage: any QueryStage
        let cache: ResponseCache
        switch p.resolution {
        case .forward(let resolver):
            cacheStage = CacheStage(resolver: resolver, stats: p.stats)
            resolveStage = ResolveStage(resolver: resolver, stats: p.stats)
            cache = resolver.cache
        case .handoff(let replica):
            cacheStage = CacheStage(resolver: replica, stats: p.stats, countsMisses: false)
            resolveStage = HandoffStage()
            cache = replica.cache
        }
        return QueryChain(
            stages: [
                // 1. Reject what is malformed, unsupported or from a client outside the ACL,
                //    before spending anything on it.
                SanitizeStage(acl: p.acl),
                // 2. Decide whose policy applies: everything after this depends on the tenant.
                IdentifyTenantStage(policy: p.policy, stats: p.stats),
                // 3. Rate limits are per client/tenant, and must come before any work that
                //    costs memory (cache) or upstream traffic (resolve).
                RateLimitStage(limiter: p.rateLimiter, slip: p.slip, stats: p.stats),
                // 4. A blocked name is answered without looking in the cache or asking upstream:
                //    the verdict is per tenant, the cache is shared.
                //    A memo in the cache entry (see PolicyQNameStage) spares the lookups for
                //    names and answers that passed before under the same policy.
                PolicyQNameStage(policy: p.policy, stats: p.stats, cache: cache),
                // 5. Names we answer ourselves (localhost, invalid, resolver.arpa) never reach the
                //    cache or upstream.
                LocalDataStage(designatedResolvers: p.designatedResolvers),
                // 6. Raw cached answers, shared by every tenant.
                cacheStage,
                // 7. Ask upstream for what the cache did not have (the only asynchronous stage);
                //    on an engine thread, hand the query to the event loop instead.
                resolveStage,
                // 8. The answer's CNAME targets and addresses against the tenant's policy; runs on
                //    cached and fresh answers alike.
                PolicyAnswerStage(policy: p.policy, stats: p.stats, cache: cache),
            ],
            // 9. Always last: ID, case, EDNS, EDE and truncation for this client.
            finalize: FinalizeStage(maxUDPSize: p.maxUDPSize, stats: p.stats),
            policy: p.policy,
            stats: p.stats
        )
    }

    public enum Result {
        case done(ByteBuffer?)
        case pending(EventLoopFuture<ByteBuffer?>)
    }

    /// Where running the stages from `start` stopped.
    enum Stop {
        /// Every stage said `.next`, or one gave the final answer (in `response`): finalize.
        case finalize
        case drop
        case handoff
        /// Wait for this answer, then go on at stage `next`.
        case wait(EventLoopFuture<CachedAnswer>, next: Int)
    }

    /// Runs stages from `start` until one does not say `.next`: the one stage loop that both
    /// `run` and `runSync` use.
    func advance(_ ctx: inout QueryContext, from start: Int) -> Stop {
        var i = start
        while i < 8 {
            switch stage(i, &ctx) {
            case .next:
                i += 1
            case .answer(let answer):
                ctx.response = answer
                return .finalize
            case .drop:
                return .drop
            case .handoff:
                return .handoff
            case .wait(let future):
                return .wait(future, next: i + 1)
            }
        }
        return .finalize
    }

    @inline(__always) func stage(_ i: Int, _ ctx: inout QueryContext) -> StageOutcome {
        switch i {
        case 0: s0.process(&ctx)
        case 1: s1.process(&ctx)
        case 2: s2.process(&ctx)
        case 3: s3.process(&ctx)
        case 4: s4.process(&ctx)
        case 5: s5.process(&ctx)
        case 6: s6.process(&ctx)
        default: s7.process(&ctx)  // `advance` stops before 8
        }
    }

    /// Runs the chain from stage `start`.
    public func run(_ ctx: inout QueryContext, from start: Int = 0, on loop: any EventLoop) -> Result {
        switch advance(&ctx, from: start) {
        case .finalize:
            let bytes = finalize.finalize(&ctx)
            log(&ctx)
            return .done(bytes)
        case .drop, .handoff:
            return .done(nil)
        case .wait(let future, let next):
            let captured = ctx
            let chain = NIOLoopBound(self, eventLoop: loop)
            return .pending(
                future.flatMap { answer -> EventLoopFuture<ByteBuffer?> in
                    var c = captured
                    c.response = answer
                    switch chain.value.run(&c, from: next, on: loop) {
                    case .done(let bytes): return loop.makeSucceededFuture(bytes)
                    case .pending(let f): return f
                    }
                })
        }
    }

    public enum SyncResult {
        case answered
        case dropped
        case handoff
    }

    /// Runs the chain without waiting (native UDP engine threads), writing the answer into `out`.
    public func runSync(_ ctx: inout QueryContext, into out: inout ByteBuffer) -> SyncResult {
        switch advance(&ctx, from: 0) {
        case .finalize:
            let answered = finalize.finalize(&ctx, into: &out)
            log(&ctx)
            return answered ? .answered : .dropped
        case .drop: return .dropped
        case .handoff, .wait: return .handoff
        }
    }
}
