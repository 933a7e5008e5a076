import Testing

@testable import Policy

@Suite struct CategoryTests {
    @Test func namesRoundTrip() {
        for c in Category.allCases { #expect(Category(name: c.description) == c) }
        #expect(Category(name: "Phishing") == .phishing)
        #expect(Category(name: "nonsense") == nil)
    }

    @Test func contentVersusThreat() {
        #expect(CategorySet([.adult, .gambling]).isContentOnly)
        #expect(!CategorySet([.adult, .phishing]).isContentOnly)
        #expect(!CategorySet().isContentOnly && CategorySet.ads.isContentOnly && !CategorySet(.custom).isContentOnly)
        #expect(Category.allCases.filter(\.isContent) == [.adult, .adsTracking, .gambling])
        #expect(CategorySet.threats.categories.allSatisfy { !$0.isContent })
    }
}
