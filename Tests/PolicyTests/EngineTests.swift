import DNSWire
import Foundation
import Testing

@testable import Policy

/// Builds snapshots rule by rule (the list parsers have their own tests).
struct RuleBook {
    var builder = SnapshotBuilder()

    mutating func list(_ name: String, _ categories: [Category], allow: Bool = false, audit: Bool = false, tlp: TLP = .clear) {
        builder.begin(ListInfo(name: name, categories: CategorySet(categories), allow: allow, audit: audit, tlp: tlp, origin: "/lists/\(name)"))
    }

    mutating func name(_ text: String, _ match: NameMatch = .subtree, _ action: RuleAction = .block, line: Int = 1) {
        let wire = try! Name(text).lowercasedWire
        wire.withUnsafeBytes { builder.name($0, match: match, action: action, line: line) }
    }

    mutating func prefix(_ text: String, _ action: RuleAction = .block, line: Int = 1) {
        builder.address(CIDR(text)!, action: action, line: line)
    }

    func engine(config: PolicyConfig = PolicyConfig()) -> PolicyEngine {
        PolicyEngine(snapshot: builder.finish(), config: config)
    }
}

extension PolicyEngine {
    func verdict(_ name: String, profile: String = "protective") -> PolicyVerdict {
        let wire = try! Name(name).wire
        return wire.withUnsafeBytes { check(name: $0, start: 0, end: $0.count, profile: profileIndex(named: profile)!) }
    }

    func kind(_ name: String, profile: String = "protective") -> PolicyVerdict.Kind { verdict(name, profile: profile).kind }
}

@Suite struct EngineTests {
    @Test func suffixSemantics() {
        var b = RuleBook()
        b.list("threats", [.phishing])
        b.name("evil.example", .subtree)
        b.name("exact.example", .exact)
        b.name("wild.example", .below)
        let e = b.engine()
        #expect(e.kind("evil.example") == .blocked)
        #expect(e.kind("a.b.EVIL.example") == .blocked)
        #expect(e.kind("notevil.example") == .none)
        #expect(e.kind("example") == .none)
        #expect(e.kind("exact.example") == .blocked)
        #expect(e.kind("sub.exact.example") == .none)
        #expect(e.kind("wild.example") == .none)
        #expect(e.kind("x.wild.example") == .blocked)
        // The most specific block decides; depth counts labels below the rule.
        #expect(e.verdict("a.b.evil.example").match?.depth == 2)
    }

    @Test func allowBeatsBlockAndWarninglistsAreExact() {
        var b = RuleBook()
        b.list("feed", [.malware])
        b.name("github.io")
        b.name("evil.github.io")
        b.name("shop.example")
        b.list("tranco", [], allow: true)
        b.name("github.io", .exact, .allow)
        b.list("mine", [], allow: true)
        b.name("example", .subtree, .allow)
        let e = b.engine()
        // The warninglist entry shields github.io itself, not its subdomains.
        #expect(e.kind("github.io") == .allowed)
        #expect(e.kind("evil.github.io") == .blocked)
        #expect(e.kind("other.github.io") == .blocked)  // the feed's github.io rule covers the subtree
        // A subtree allow beats a more specific block.
        #expect(e.kind("shop.example") == .allowed)
    }

    @Test func profilesSelectCategories() {
        var b = RuleBook()
        b.list("threats", [.phishing])
        b.name("phish.test")
        b.list("adult", [.adult])
        b.name("adult.test")
        b.list("ads", [.adsTracking])
        b.name("ads.test")
        let e = b.engine()
        let expectations: [(String, [PolicyVerdict.Kind])] = [
            ("unfiltered", [.none, .none, .none]),
            ("protective", [.blocked, .none, .none]),
            ("protective-child", [.blocked, .blocked, .none]),
            ("protective-ads", [.blocked, .none, .blocked]),
            ("protective-child-ads", [.blocked, .blocked, .blocked]),
        ]
        for (profile, kinds) in expectations {
            #expect(["phish.test", "adult.test", "ads.test"].map { e.kind($0, profile: profile) } == kinds, "\(profile)")
        }
    }

    @Test func extendedErrorsNameCategorySourceAndRule() {
        var b = RuleBook()
        b.list("cert-xx", [.phishing])
        b.name("phish.test", line: 42)
        b.list("secret", [.malware], tlp: .amber)
        b.name("mal.test", line: 7)
        b.list("adult", [.adult])
        b.name("adult.test", line: 3)
        let e = b.engine()
        let p = e.profileIndex(named: "protective-child")!
        let phish = e.extendedError(for: e.verdict("phish.test").match!, profile: p)
        #expect(phish.code == .blocked)
        #expect(phish.extraText == "phishing; source=cert-xx; id=cert-xx:42")
        let secret = e.extendedError(for: e.verdict("mal.test").match!, profile: p)
        #expect(secret.extraText == "malware; id=7")
        let adult = e.extendedError(for: e.verdict("adult.test", profile: "protective-child").match!, profile: p)
        #expect(adult.code == .filtered)
    }

    @Test func auditListsMatchWithoutBlocking() {
        var b = RuleBook()
        b.list("trial", [.malware], audit: true)
        b.name("maybe.test")
        let e = b.engine()
        #expect(e.kind("maybe.test") == .audited)
    }

    @Test func answerAddressesLongestPrefixAndAllow() {
        var b = RuleBook()
        b.list("bad-hosting", [.malware])
        b.prefix("192.0.2.0/24", line: 1)
        b.prefix("2001:db8::/32", line: 2)
        b.list("cdn", [], allow: true)
        b.prefix("192.0.2.128/25")
        let e = b.engine()
        func v(_ a: String) -> PolicyVerdict.Kind {
            let bytes = IPAddress(a)!.bytes
            return bytes.withUnsafeBytes { e.check(address: $0, at: 0, length: bytes.count, profile: 1).kind }
        }
        #expect(v("192.0.2.1") == .blocked)
        #expect(v("192.0.2.200") == .allowed)
        #expect(v("192.0.3.1") == .none)
        #expect(v("2001:db8:1::1") == .blocked)
        #expect(v("2001:db9::1") == .none)
        #expect(v("::ffff:192.0.2.1") == .blocked)
    }

    @Test func answersAreCheckedForCNAMETargetsAndAddresses() throws {
        var b = RuleBook()
        b.list("trackers", [.adsTracking])
        b.name("tracker.test")
        b.list("bad-hosting", [.malware])
        b.prefix("198.51.100.0/24")
        let e = b.engine()
        let q = try Name("www.shop.test")
        func response(_ answers: [ResourceRecord]) throws -> [UInt8] {
            var h = Header()
            h.isResponse = true
            return try Message(header: h, questions: [Question(name: q, type: .a)], answers: answers).encode()
        }
        let cloaked = try response([
            ResourceRecord(name: q, ttl: 60, rdata: .cname(try Name("x.Tracker.test"))),
            ResourceRecord(name: try Name("x.tracker.test"), ttl: 60, rdata: .a(IPv4Address("203.0.113.1")!)),
        ])
        let ads = e.profileIndex(named: "protective-ads")!
        #expect(cloaked.withUnsafeBytes { e.check(answer: $0, profile: ads) }.kind == .blocked)
        #expect(cloaked.withUnsafeBytes { e.check(answer: $0, profile: 1) }.kind == .none)
        let badIP = try response([ResourceRecord(name: q, ttl: 60, rdata: .a(IPv4Address("198.51.100.7")!))])
        #expect(badIP.withUnsafeBytes { e.check(answer: $0, profile: 1) }.kind == .blocked)
        let fine = try response([ResourceRecord(name: q, ttl: 60, rdata: .a(IPv4Address("203.0.113.9")!))])
        #expect(fine.withUnsafeBytes { e.check(answer: $0, profile: 1) }.kind == .none)
    }

    @Test func deltaAddsAndRemovesOverTheBase() throws {
        var b = RuleBook()
        b.list("feed", [.phishing])
        b.name("old.test")
        b.list("local-block", [.custom])
        let base = b.engine()
        let added = try base.adding(name: try Name("new.test"), list: "local-block")
        #expect(added.kind("www.new.test") == .blocked)
        #expect(base.kind("www.new.test") == .none)  // the old engine is unchanged
        let removed = try added.removing(name: try Name("old.test"), list: "feed")
        #expect(removed.kind("old.test") == .none)
        #expect(removed.kind("new.test") == .blocked)
        let restored = try removed.adding(name: try Name("old.test"), list: "feed")
        #expect(restored.kind("old.test") == .blocked)
        #expect(restored.delta.nameRules.count == 1)
        #expect(throws: PolicyEngine.ChangeError.unknownList("nope")) { try base.adding(name: try Name("x.test"), list: "nope") }
        let ip = try base.adding(prefix: CIDR("203.0.113.0/24")!, list: "local-block")
        let bytes: [UInt8] = [203, 0, 113, 5]
        #expect(bytes.withUnsafeBytes { ip.check(address: $0, at: 0, length: 4, profile: 1) }.kind == .blocked)
        #expect(added.generation > base.generation)
    }

    @Test func rollbackUndoesABrokenList() {
        var b = RuleBook()
        b.list("good", [.malware])
        b.name("keep.test")
        b.list("broken", [.malware])
        let mark = b.builder.mark()
        for i in 0..<1000 { b.name("junk\(i).test") }
        b.prefix("192.0.2.0/24")
        b.builder.rollback(to: mark)
        b.name("fallback.test")
        let e = b.engine()
        #expect(e.kind("keep.test") == .blocked)
        #expect(e.kind("junk5.test") == .none)
        #expect(e.kind("fallback.test") == .blocked)
        #expect(e.snapshot.nameCount == 2)
        #expect(e.snapshot.prefixes.isEmpty)
        #expect(e.snapshot.lists[1].rules == 1)
    }

    @Test func manyNamesGrowTheTableAndAllStayFindable() {
        var b = RuleBook()
        b.list("big", [.malware])
        for i in 0..<50_000 { b.name("host\(i).example\(i % 97).test") }
        let e = b.engine()
        #expect(e.snapshot.nameCount == 50_000)
        for i in stride(from: 0, to: 50_000, by: 997) { #expect(e.kind("a.host\(i).example\(i % 97).test") == .blocked) }
        #expect(e.kind("host50000.example0.test") == .none)
    }

    @Test func sameNameInSeveralListsIsStoredOnce() {
        var b = RuleBook()
        b.list("a", [.malware])
        b.name("dup.test")
        b.name("dup.test")
        b.list("b", [.phishing])
        b.name("dup.test")
        let s = b.builder.finish()
        #expect(s.nameCount == 2)
        #expect(b.builder.duplicates == 1)
        #expect(s.names.arena.count == 10 + 5)  // \003dup\004test\000 once, then a 5-byte alias of it
        #expect(s.names.wire(of: 1) == s.names.wire(of: 0))
        #expect(s.names.nameOffset(of: 1) == 0)
    }

    @Test func ruleIDsKeepTheirHighHalf() {
        var c = RuleIDColumn()
        let ids: [UInt32] = [1, 2, 65_535, 65_536, 65_537, 200_000, 7, 4_000_000_000, 4_000_000_001]
        for id in ids { c.append(id) }
        #expect((0..<ids.count).map { c[$0] } == ids)
        #expect(c.breakEntry.count == 4)  // high halves 0 0 0 1 1 3 0 61035 61035: four changes
        c.truncate(to: 4)
        #expect((0..<4).map { c[$0] } == Array(ids[0..<4]))
        c.append(9)
        #expect(c[4] == 9)
        #expect(c.isValid(count: 5))
    }

    @Test func explainListsEveryMatchingRule() throws {
        var b = RuleBook()
        b.list("feed", [.phishing])
        b.name("evil.test", line: 12)
        b.list("adult", [.adult])
        b.name("www.evil.test", .exact, line: 3)
        let e = b.engine()
        let x = e.explain(name: try Name("www.evil.test"), profile: 1)
        #expect(x.verdict == "blocked")
        #expect(x.answer == "nxdomain")
        #expect(x.deciding?.list == "feed")
        #expect(x.deciding?.location == "/lists/feed:12")
        #expect(x.rules.count == 2)
        #expect(x.rules.first { $0.list == "adult" }?.effect == "ignored: categories not in profile")
        #expect(x.extendedError == "15 Blocked: phishing; source=feed; id=feed:12")
        #expect(x.text.contains("www.evil.test"))
    }

    @Test func persistedSnapshotRestoresTheSameVerdicts() throws {
        var b = RuleBook()
        b.list("feed", [.phishing])
        for i in 0..<2000 { b.name("n\(i).test", line: i + 1) }
        b.name("local.test", .exact, .localData([ResourceRecord(name: try Name("local.test"), ttl: 5, rdata: .a(IPv4Address("192.0.2.9")!))]))
        b.prefix("198.51.100.0/24")
        b.list("local-block", [.custom])
        let e = try b.engine().adding(name: try Name("delta.test"), list: "local-block")
        let path = NSTemporaryDirectory() + "bulwark-policy-\(UInt32.random(in: 0...UInt32.max))/policy.snapshot"
        try PolicyFile.write(e, to: path)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let r = try PolicyFile.read(from: path, profiles: Profile.builtIn, config: PolicyConfig())
        #expect(r.snapshot.nameCount == e.snapshot.nameCount)
        #expect(r.kind("x.n1999.test") == .blocked)
        #expect(r.verdict("n5.test").match.map { r.ruleID(of: $0) } == 6)
        #expect(r.kind("delta.test") == .blocked)
        #expect(r.kind("other.test") == .none)
        #expect(r.localData(of: r.verdict("local.test").match!)?.count == 1)
        // A damaged file is an error, never a crash or a wrong policy.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.removeLast(100)
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try PolicyFile.read(from: path, profiles: Profile.builtIn, config: PolicyConfig()) }
    }
}
