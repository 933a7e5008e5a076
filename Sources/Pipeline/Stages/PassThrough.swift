/// RateLimit: per-client limits and RRL come with the hardening issue (8); pass-through now.
public final class RateLimitStage: QueryStage {
    public let name = "RateLimit"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }
}

