import Testing

@testable import Pipeline

struct ChainTests {
    @Test func chainOrderIsFixed() {
        let h = Harness()
        #expect(
            h.processor.chain.stageNames == [
                "Sanitize", "IdentifyTenant", "RateLimit", "PolicyQName", "LocalData", "Cache", "Resolve",
                "PolicyAnswer", "Finalize",
            ])
    }
}
