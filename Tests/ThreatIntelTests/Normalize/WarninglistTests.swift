import Foundation
import Testing

@testable import ThreatIntel

@Suite struct WarninglistTests {
    static func tranco() throws -> Warninglist {
        try Warninglist.load(url: NormalizeFixtures.url("misp-warninglist-tranco10k.json"))
    }

    static func list(_ json: String, id: String = "test") throws -> Warninglist {
        try Warninglist(id: id, json: Data(json.utf8))
    }

    func host(_ s: String) -> IntelValue { IntelValue(value: s, kind: .hostname) }
    func domain(_ s: String) -> IntelValue { IntelValue(value: s, kind: .domain) }

    @Test func trancoLoads() throws {
        let clock = ContinuousClock()
        var set: WarninglistSet?
        var list: Warninglist?
        let elapsed = try clock.measure {
            list = try Self.tranco()
            set = WarninglistSet([list!])
        }
        print("tranco10k: \(list!.names.count) names loaded and indexed in \(elapsed)")
        let l = try #require(list)
        #expect(l.id == "tranco10k")
        #expect(l.name == "Top 10K most-used sites from Tranco")
        #expect(l.type == "hostname")
        #expect(l.version == 20250115)
        #expect(l.matchingAttributes == ["hostname", "domain", "url", "domain|ip"])
        #expect(l.entryCount == 9998)
        #expect(l.names.count == 9998)
        #expect(l.invalidCount == 0)
        #expect(try #require(set).skipped.isEmpty)
    }

    @Test func trancoSemantics() throws {
        let set = WarninglistSet([try Self.tranco()])
        for psl in [NormalizeFixtures.psl, nil] as [PublicSuffixList?] {
            #expect(set.match(host("github.io"), psl: psl) == "warninglist \"Top 10K most-used sites from Tranco\" (tranco10k): github.io")
            #expect(set.match(host("evil.github.io"), psl: psl) == nil)
            #expect(set.match(host("sharepoint.com"), psl: psl) != nil)
            #expect(set.match(host("evil.sharepoint.com"), psl: psl) == nil)
            #expect(set.match(host("zmidsg.am.files.1drv.com"), psl: psl) == nil)
            #expect(set.match(domain("amazonaws.com"), psl: psl) != nil)
            #expect(set.match(host("bucket.s3.amazonaws.com"), psl: psl) == nil)
            #expect(set.match(IntelValue(value: "192.0.2.1", kind: .ip), psl: psl) == nil)
        }
        // matching_attributes: the list applies to hostname, domain, url, domain|ip only.
        #expect(set.match(host("github.com"), mispType: "domain", psl: nil) != nil)
        #expect(set.match(host("github.com"), mispType: "URL", psl: nil) != nil)
        #expect(set.match(host("github.com"), mispType: "comment", psl: nil) == nil)
        #expect(set.match(host("github.com"), mispType: nil, psl: nil) != nil)
    }

    @Test func urlhausAgainstTranco() throws {
        // MISP-RPZ.md §5: names under shared platforms stay blockable.
        let set = WarninglistSet([try Self.tranco()])
        let feed = FreetextParser.parse(try NormalizeFixtures.text("urlhaus-filter-domains-online.txt"))
        let psl = NormalizeFixtures.psl
        let clock = ContinuousClock()
        var suppressed: [String] = []
        let t = clock.measure {
            for r in feed { if let v = r.result.value, set.match(v, psl: psl) != nil { suppressed.append(v.value) } }
        }
        print("tranco10k: \(feed.count) urlhaus values matched in \(t), \(suppressed.count) suppressed: \(suppressed.prefix(10))")
        #expect(!suppressed.contains("zmidsg.am.files.1drv.com"))
        #expect(suppressed.count < 20)
    }

    @Test func registrableNotSubtree() throws {
        let l = try Self.list(#"{"name":"Test","type":"string","list":["www.example.com","WWW.Example.ORG.","http://cdn.example.net/x","github.io",".google.com","*.wild.example","a.b.c.example.co.uk","not a name!","s3.amazonaws.com"]}"#)
        #expect(l.names == ["www.example.com", "www.example.org", "cdn.example.net", "github.io", "a.b.c.example.co.uk", "s3.amazonaws.com"])
        #expect(l.suffixes == ["google.com", "wild.example"])
        #expect(l.invalidCount == 1)
        let set = WarninglistSet([l])
        for psl in [NormalizeFixtures.psl, NormalizeFixtures.embeddedPSL] {
            #expect(set.match(host("www.example.com"), psl: psl) == "warninglist \"Test\" (test): www.example.com")
            #expect(set.match(domain("example.com"), psl: psl) == "warninglist \"Test\" (test): www.example.com (registrable domain example.com)")
            #expect(set.match(host("evil.example.com"), psl: psl) == nil)
            #expect(set.match(host("a.www.example.com"), psl: psl) == nil)
            #expect(set.match(host("example.org"), psl: psl) != nil)
            #expect(set.match(host("example.net"), psl: psl) != nil)
            #expect(set.match(host("github.io"), psl: psl) != nil)
            #expect(set.match(host("evil.github.io"), psl: psl) == nil)
            #expect(set.match(host("google.com"), psl: psl) == "warninglist \"Test\" (test): .google.com")
            #expect(set.match(host("mail.google.com"), psl: psl) != nil)
            #expect(set.match(host("x.y.wild.example"), psl: psl) != nil)
            #expect(set.match(host("notgoogle.com"), psl: psl) == nil)
            // a.b.c.example.co.uk protects example.co.uk (its registrable domain), not c.example.co.uk.
            #expect(set.match(domain("example.co.uk"), psl: psl) != nil)
            #expect(set.match(host("c.example.co.uk"), psl: psl) == nil)
            #expect(set.match(host("co.uk"), psl: psl) == nil)
        }
        // s3.amazonaws.com is a public suffix: it protects itself only.
        if let real = NormalizeFixtures.systemPSL {
            #expect(set.match(host("s3.amazonaws.com"), psl: real) != nil)
            #expect(set.match(host("amazonaws.com"), psl: real) == nil)
        }
        // Without a PSL the registrable domain is approximated by the last two labels.
        #expect(set.match(domain("example.com"), psl: nil) != nil)
        #expect(set.match(domain("example.co.uk"), psl: nil) == nil)
    }

    @Test func cidrList() throws {
        let l = try Self.list(
            #"{"name":"Ranges","type":"cidr","list":{"10.0.0.0/8":"rfc1918","2001:db8::/32":"doc","192.0.2.1":"one","example.com":"junk"},"matching_attributes":["ip-src","ip-dst","domain|ip"]}"#,
            id: "ranges")
        #expect(l.ranges.sorted() == ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"])
        #expect(l.invalidCount == 1)
        let set = WarninglistSet([l])
        func ip(_ s: String) -> IntelValue { IntelValue(value: s, kind: .ip) }
        func cidr(_ s: String) -> IntelValue { IntelValue(value: s, kind: .cidr) }
        #expect(set.match(ip("10.1.2.3"), psl: nil) == "warninglist \"Ranges\" (ranges): 10.0.0.0/8")
        #expect(set.match(ip("11.0.0.1"), psl: nil) == nil)
        #expect(set.match(ip("192.0.2.1"), psl: nil) == "warninglist \"Ranges\" (ranges): 192.0.2.1")
        #expect(set.match(ip("192.0.2.2"), psl: nil) == nil)
        #expect(set.match(ip("2001:db8::53"), psl: nil) != nil)
        #expect(set.match(ip("2001:db9::53"), psl: nil) == nil)
        #expect(set.match(ip("::ffff:10.1.2.3"), psl: nil) == nil)  // IPv6, not in an IPv4 range
        #expect(set.match(cidr("10.1.0.0/16"), psl: nil) != nil)  // inside
        #expect(set.match(cidr("8.0.0.0/6"), psl: nil) != nil)  // contains 10.0.0.0/8
        #expect(set.match(cidr("192.0.2.0/24"), psl: nil) != nil)  // contains 192.0.2.1
        #expect(set.match(cidr("198.51.100.0/24"), psl: nil) == nil)
        #expect(set.match(cidr("2001:db8:1::/48"), psl: nil) != nil)
        #expect(set.match(host("example.com"), psl: nil) == nil)
        #expect(set.match(ip("10.1.2.3"), mispType: "ip-dst", psl: nil) != nil)
        #expect(set.match(ip("10.1.2.3"), mispType: "hostname", psl: nil) == nil)
    }

    @Test func skippedTypes() throws {
        let sub = try Self.list(#"{"name":"Sub","type":"substring","list":["google"]}"#, id: "sub")
        let re = try Self.list(#"{"name":"Re","type":"regex","list":[".*"]}"#, id: "re")
        let set = WarninglistSet([sub, re])
        #expect(set.appliedCount == 0)
        #expect(set.skipped.count == 2)
        #expect(set.skipped[0].contains("type substring is not applied"))
        #expect(set.match(host("google.com"), psl: nil) == nil)
    }

    @Test func malformedLists() {
        for bad in ["", "[]", "{", #"{"name":"x"}"#, #"{"type":"string","list":"x"}"#, #"{"type":"string"}"#] {
            #expect(throws: IntelRejection.self) { try Self.list(bad) }
        }
    }

    @Test func loadDirectory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        for (dir, body) in [
            ("lists/alpha", #"{"name":"Alpha","type":"hostname","list":["alpha.example"]}"#),
            ("lists/nested/beta", #"{"name":"Beta","type":"string","list":["beta.example"]}"#),
            ("lists/broken", #"{"name":"Broken","#),
            ("lists/sub", #"{"name":"Sub","type":"substring","list":["x"]}"#),
        ] {
            try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
            try Data(body.utf8).write(to: root.appendingPathComponent(dir).appendingPathComponent("list.json"))
        }
        try Data("ignored".utf8).write(to: root.appendingPathComponent("lists/README.md"))
        let set = WarninglistSet.load(paths: [root.path, "/nonexistent/wl", try NormalizeFixtures.url("misp-warninglist-tranco10k.json").path])
        #expect(set.lists.map(\.id) == ["alpha", "beta", "sub", "tranco10k"])
        #expect(set.appliedCount == 3)
        #expect(set.skipped.count == 3)
        #expect(set.skipped.contains { $0.contains("broken") && $0.contains("malformed") || $0.contains("not JSON") })
        #expect(set.skipped.contains { $0.contains("/nonexistent/wl") })
        #expect(set.match(host("alpha.example"), psl: nil) == "warninglist \"Alpha\" (alpha): alpha.example")
        #expect(set.match(host("beta.example"), psl: nil) != nil)
        #expect(set.match(host("github.io"), psl: nil) != nil)
    }

    @Test func allowlist() {
        let allow = Allowlist(["www.Example.com.", ".corp.example", "192.0.2.0/24", "2001:db8::1", "not a name!", "intranet"])
        #expect(allow.entries == ["www.example.com", ".corp.example", "192.0.2.0/24", "2001:db8::1"])
        #expect(allow.invalid.count == 2)
        let psl = NormalizeFixtures.psl
        #expect(allow.match(host("www.example.com"), psl: psl) == "allowlist: www.example.com")
        #expect(allow.match(domain("example.com"), psl: psl) == "allowlist: www.example.com (registrable domain example.com)")
        #expect(allow.match(host("evil.example.com"), psl: psl) == nil)
        #expect(allow.match(host("a.b.corp.example"), psl: psl) == "allowlist: .corp.example")
        #expect(allow.match(host("corp.example"), psl: psl) != nil)
        #expect(allow.match(IntelValue(value: "192.0.2.77", kind: .ip), psl: psl) == "allowlist: 192.0.2.0/24")
        #expect(allow.match(IntelValue(value: "2001:db8::1", kind: .ip), psl: psl) == "allowlist: 2001:db8::1")
        #expect(allow.match(IntelValue(value: "2001:db8::/64", kind: .cidr), psl: psl) != nil)
        #expect(Allowlist().isEmpty)
        #expect(Allowlist().match(host("a.example"), psl: nil) == nil)
    }

    @Test func matchesManyNames() throws {
        let set = WarninglistSet([try Self.tranco()])
        let psl = NormalizeFixtures.psl
        let names = (0..<20_000).map { IntelValue(value: "host\($0).sub\($0 % 7).example\($0 % 13).com", kind: .hostname) }
        let clock = ContinuousClock()
        var hits = 0
        let t = clock.measure { for v in names where set.match(v, psl: psl) != nil { hits += 1 } }
        print("tranco10k: 20k misses matched in \(t)")
        #expect(hits == 0)
    }
}
