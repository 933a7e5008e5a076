import DNSWire
import NIOCore
import Resolver

/// Cache: answers from the loop's cache (fresh, or stale while upstreams are known to be down).
/// Answers are cached raw; policy verdicts are made after this stage, per tenant.
public final class CacheStage: QueryStage {
    public let name = "Cache"
    let resolver: any AnswerCache
    let stats: StatsBox

    /// False on engine threads: their misses are handed to the loop, which counts hit or miss.
    let countsMisses: Bool

    public init(resolver: any AnswerCache, stats: StatsBox, countsMisses: Bool = true) {
        self.resolver = resolver
        self.stats = stats
        self.countsMisses = countsMisses
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        let answer: CachedAnswer?
        if ctx.scan.outcome == .query && ctx.subnet == 0 {
            let scan = ctx.scan
            let cd = scan.checkingDisabled
            let probed = ctx.cacheSlot
            answer = ctx.packet.withUnsafeReadableBytes { p in
                // PolicyQName's probe, when it made one (same thread, nothing changed since).
                let slot = probed == -2 ? resolver.cache.slot(scan, packet: p) : (probed >= 0 ? probed : nil)
                return resolver.cached(scan, packet: p, slot: slot, checkingDisabled: cd)
            }
        } else if let key = ctx.cacheKey, let q = ctx.question {
            answer = resolver.cached(key, question: q, checkingDisabled: ctx.query?.header.checkingDisabled ?? false)
        } else {
            return .next
        }
        if let answer {
            stats.stats.cacheHits += 1
            if answer.extendedError?.code == .staleAnswer { stats.stats.staleAnswers += 1 }
            ctx.response = answer
            ctx.cacheHit = true
        } else if countsMisses {
            stats.stats.cacheMisses += 1
        }
        return .next
    }
}

/// Resolve: asks the upstreams (sharing identical in-flight questions). When they all fail and
/// nothing stale is cached: SERVFAIL with EDE 22 (No Reachable Authority) or 23 (Network Error).
public final class ResolveStage: QueryStage {
    public let name = "Resolve"
    let resolver: CachingResolver
    let stats: StatsBox

    public init(resolver: CachingResolver, stats: StatsBox) {
        self.resolver = resolver
        self.stats = stats
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        guard ctx.response == nil, let key = ctx.cacheKey, let q = ctx.question else {
            return .next
        }
        let cd = ctx.scan.outcome == .query ? ctx.scan.checkingDisabled : (ctx.query?.header.checkingDisabled ?? false)
        let question = Question(name: Name(uncheckedWire: key.name), type: q.type, rrClass: q.rrClass)
        let failure = Responses.empty(for: ctx, rcode: .servFail)
        let stats = NIOLoopBound(self.stats, eventLoop: resolver.loop)
        let future = resolver.resolve(key, question: question, checkingDisabled: cd)
            .map { answer in
                if answer.extendedError?.code == .staleAnswer { stats.value.stats.staleAnswers += 1 }
                return answer
            }
            .recover { error in
                var r = failure
                let answered = (error as? ResolverError)?.upstreamAnswered ?? false
                r.extendedError = ExtendedError(
                    code: answered ? .noReachableAuthority : .networkError,
                    extraText: answered ? "upstreams answered with errors" : "no upstream reachable")
                return r
            }
        return .wait(future)
    }
}
