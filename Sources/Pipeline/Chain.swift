import DNSWire
import NIOCore
import Resolver

/// The query chain. Its order is decided in `QueryChain.build`, and only there.
public final class QueryChain {
    public let stages: [any QueryStage]
    let finalize: FinalizeStage

    init(stages: [any QueryStage], finalize: FinalizeStage) {
        self.stages = stages
        self.finalize = finalize
    }

    /// Stage names in order, Finalize last.
    public var stageNames: [String] { stages.map(\.name) + [finalize.name] }

    public struct Parts {
        public var acl: AccessList
        public var resolver: CachingResolver
        public var stats: StatsBox
        public var maxUDPSize: Int
        public init(acl: AccessList, resolver: CachingResolver, stats: StatsBox, maxUDPSize: Int) {
            self.acl = acl
            self.resolver = resolver
            self.stats = stats
            self.maxUDPSize = maxUDPSize
        }
    }

    /// The one place the order of the chain is written down.
    public static func build(_ p: Parts) -> QueryChain {
        QueryChain(
            stages: [
                // 1. Reject what is malformed, unsupported or from a client outside the ACL,
                //    before spending anything on it.
                SanitizeStage(acl: p.acl),
                // 2. Decide whose policy applies: everything after this depends on the tenant.
                IdentifyTenantStage(),
                // 3. Rate limits are per client/tenant, and must come before any work that
                //    costs memory (cache) or upstream traffic (resolve).
                RateLimitStage(),
                // 4. A blocked name is answered without looking in the cache or asking upstream:
                //    the verdict is per tenant, the cache is shared.
                PolicyQNameStage(),
                // 5. Names we answer ourselves (localhost, invalid) never reach the cache or upstream.
                LocalDataStage(),
                // 6. Raw cached answers, shared by every tenant.
                CacheStage(resolver: p.resolver, stats: p.stats),
                // 7. Ask upstream for what the cache did not have (the only asynchronous stage).
                ResolveStage(resolver: p.resolver, stats: p.stats),
                // 8. The answer's CNAME targets and addresses against the tenant's policy; runs on
                //    cached and fresh answers alike.
                PolicyAnswerStage(),
            ],
            // 9. Always last: ID, case, EDNS, EDE and truncation for this client.
            finalize: FinalizeStage(maxUDPSize: p.maxUDPSize, stats: p.stats)
        )
    }

    public enum Result {
        case done(ByteBuffer?)
        case pending(EventLoopFuture<ByteBuffer?>)
    }

    /// Runs the chain from stage `start`.
    public func run(_ ctx: inout QueryContext, from start: Int = 0, on loop: any EventLoop) -> Result {
        var i = start
        while i < stages.count {
            switch stages[i].process(&ctx) {
            case .next:
                i += 1
            case .answer(let answer):
                ctx.response = answer
                return .done(finalize.finalize(&ctx))
            case .drop:
                return .done(nil)
            case .wait(let future):
                let next = i + 1
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
        return .done(finalize.finalize(&ctx))
    }
}
