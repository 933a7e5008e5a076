import Foundation
import Testing

@testable import ThreatIntel

@Suite struct PublicSuffixListTests {
    /// Official PSL test vectors (tests/test_psl.txt, `checkPublicSuffix(name, registrable)`),
    /// the subset whose rules are in the embedded list too, names given in A-label form.
    static let vectors: [(String, String?)] = [
        ("com", nil), ("example.com", "example.com"), ("b.example.com", "example.com"), ("a.b.example.com", "example.com"),
        ("COM", nil), ("example.COM", "example.com"), ("WwW.example.COM", "example.com"),
        ("uk.com", nil), ("example.uk.com", "example.uk.com"), ("b.example.uk.com", "example.uk.com"),
        ("test.ac", "test.ac"),
        ("mm", nil), ("c.mm", nil), ("b.c.mm", "b.c.mm"), ("a.b.c.mm", "b.c.mm"),
        ("jp", nil), ("test.jp", "test.jp"), ("www.test.jp", "test.jp"), ("ac.jp", nil), ("test.ac.jp", "test.ac.jp"),
        ("www.test.ac.jp", "test.ac.jp"), ("kyoto.jp", nil), ("test.kyoto.jp", "test.kyoto.jp"), ("ide.kyoto.jp", nil),
        ("b.ide.kyoto.jp", "b.ide.kyoto.jp"), ("a.b.ide.kyoto.jp", "b.ide.kyoto.jp"), ("c.kobe.jp", nil),
        ("b.c.kobe.jp", "b.c.kobe.jp"), ("a.b.c.kobe.jp", "b.c.kobe.jp"), ("city.kobe.jp", "city.kobe.jp"),
        ("www.city.kobe.jp", "city.kobe.jp"),
        ("ck", nil), ("test.ck", nil), ("b.test.ck", "b.test.ck"), ("a.b.test.ck", "b.test.ck"), ("www.ck", "www.ck"),
        ("www.www.ck", "www.ck"),
        ("us", nil), ("test.us", "test.us"), ("www.test.us", "test.us"), ("ak.us", nil), ("test.ak.us", "test.ak.us"),
        ("www.test.ak.us", "test.ak.us"), ("k12.ak.us", nil), ("test.k12.ak.us", "test.k12.ak.us"),
        ("www.test.k12.ak.us", "test.k12.ak.us"),
        // 食狮.com.cn, 食狮.公司.cn, www.食狮.公司.cn, shishi.公司.cn, 公司.cn
        ("xn--85x722f.com.cn", "xn--85x722f.com.cn"), ("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
        ("www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"), ("shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn"),
        ("xn--55qx5d.cn", nil),
        // Unlisted top-level domains: the implicit "*" rule.
        ("example", nil), ("example.example", "example.example"), ("b.example.example", "example.example"),
        // Private section.
        ("github.io", nil), ("evil.github.io", "evil.github.io"), ("a.evil.github.io", "evil.github.io"),
    ]

    func check(_ psl: PublicSuffixList) {
        for (name, expected) in Self.vectors {
            #expect(psl.registrableDomain(of: name) == expected, "\(name)")
            #expect(psl.isPublicSuffix(name) == (expected == nil), "\(name)")
        }
        #expect(psl.publicSuffix(of: "www.example.co.uk") == "co.uk")
        #expect(psl.registrableDomain(of: "www.example.co.uk.") == "example.co.uk")
        #expect(psl.publicSuffix(of: "a.b.ck") == "b.ck")
        #expect(psl.publicSuffix(of: "www.ck") == "ck")
        #expect(psl.isPublicSuffix("github.io"))
        #expect(psl.isPrivateSuffix("evil.github.io"))
        #expect(psl.suffixInfo(of: "evil.github.io").suffix == "github.io")
        #expect(!psl.isPrivateSuffix("example.co.uk"))
        #expect(psl.hasListedTopLevelDomain("example.com"))
        #expect(psl.hasListedTopLevelDomain("x.ck"))
        #expect(!psl.hasListedTopLevelDomain("igfxtray.exe"))
        #expect(psl.publicSuffix(of: "igfxtray.exe") == "exe")
        #expect(psl.registrableDomain(of: "") == nil)
        #expect(!psl.isPublicSuffix(""))
        // Unicode rules are stored as A-labels: the normaliser's output finds them.
        let name = IntelNormalizer.normalizeName("www.食狮.公司.cn")
        #expect(name == "www.xn--85x722f.xn--55qx5d.cn")
        #expect(psl.registrableDomain(of: name ?? "") == "xn--85x722f.xn--55qx5d.cn")
    }

    @Test func embeddedList() {
        let psl = NormalizeFixtures.embeddedPSL
        #expect(psl.ruleCount == 27)
        check(psl)
    }

    @Test func realList() throws {
        let path = NormalizeFixtures.systemPSLPath
        guard FileManager.default.fileExists(atPath: path) else { return }  // package `publicsuffix` not installed
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let clock = ContinuousClock()
        var psl: PublicSuffixList?
        let elapsed = clock.measure { psl = PublicSuffixList(text: text) }
        let list = try #require(psl)
        print("PSL: \(list.ruleCount) rules parsed in \(elapsed)")
        #expect(list.ruleCount > 9000)
        check(list)
        #expect(list.isPublicSuffix("blogspot.com"))
        #expect(list.isPublicSuffix("amazonaws.com") == false)
        #expect(list.isPublicSuffix("s3.amazonaws.com"))
        // Lookups are cheap: 100k in well under a second even in debug builds.
        let lookups = clock.measure {
            for i in 0..<100_000 { _ = list.registrableDomain(of: "host\(i % 97).sub.example.co.uk") }
        }
        print("PSL: 100k lookups in \(lookups)")
    }

    @Test func loadMissingFile() {
        #expect(PublicSuffixList.load(path: "/nonexistent/psl.dat") == nil)
    }

    @Test func junkText() {
        let psl = PublicSuffixList(text: "\u{0}\u{1}garbage here\n!\n*.\n\n// c\n" + String(repeating: "x.", count: 5000))
        #expect(psl.registrableDomain(of: "a.b.c") == "b.c")
    }
}
