/// IdentifyTenant: picks the tenant/profile. Until tenants exist (issue 6) every query gets the
/// listener's default profile; the stage is here so the chain's order is fixed and tested.
public final class IdentifyTenantStage: QueryStage {
    public let name = "IdentifyTenant"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        ctx.tenant = 0
        return .next
    }
}

/// RateLimit: per-client limits and RRL come with the hardening issue (8); pass-through now.
public final class RateLimitStage: QueryStage {
    public let name = "RateLimit"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }
}

/// PolicyQName: the query name and its parents against the policy snapshot (issue 3); pass-through now.
public final class PolicyQNameStage: QueryStage {
    public let name = "PolicyQName"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }
}

/// PolicyAnswer: CNAME targets and answer addresses against the policy snapshot (issue 3);
/// pass-through now.
public final class PolicyAnswerStage: QueryStage {
    public let name = "PolicyAnswer"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }
}
