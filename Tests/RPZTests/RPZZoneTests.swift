import DNSWire
import Foundation
import Policy
import Testing

@testable import RPZ

/// Builds policy engines rule by rule.
struct Rules {
    var builder = SnapshotBuilder()

    mutating func list(_ name: String, _ categories: [Policy.Category], allow: Bool = false, audit: Bool = false, tlp: TLP = .clear) {
        builder.begin(ListInfo(name: name, categories: CategorySet(categories), allow: allow, audit: audit, tlp: tlp, origin: name))
    }

    mutating func name(_ text: String, _ match: NameMatch = .subtree, _ action: RuleAction = .block) {
        let wire = try! Name(text).lowercasedWire
        wire.withUnsafeBytes { builder.name($0, match: match, action: action, line: 1) }
    }

    mutating func prefix(_ text: String, _ action: RuleAction = .block) {
        builder.address(CIDR(text)!, action: action, line: 1)
    }

    func engine() -> PolicyEngine { PolicyEngine(snapshot: builder.finish()) }

    /// A policy with a bit of everything.
    static func sample() -> Rules {
        var r = Rules()
        r.list("phish-feed", [.phishing])
        r.name("evil.example")
        r.name("exact.example", .exact)
        r.name("wild.example", .below)
        r.name("quiet.example", .subtree, .nodata)
        r.name("gone.example", .subtree, .drop)
        r.prefix("192.0.2.0/24")
        r.prefix("2001:db8::10/128")
        r.list("malware-feed", [.malware])
        r.name("evil.example")
        r.name("malware.example")
        r.list("allow", [], allow: true)
        r.name("good.example", .exact)
        r.list("adult", [.adult])
        r.name("adult.example")
        r.list("trial", [.phishing], audit: true)
        r.name("audited.example")
        r.list("secret", [.phishing], tlp: .red)
        r.name("secret.example")
        r.list("local-block", [.custom])
        return r
    }
}

func zone(_ apex: String, _ categories: [Policy.Category]) -> RPZZoneConfig {
    RPZZoneConfig(apex: try! Name(apex), categories: CategorySet(categories))
}

func text(_ records: [ResourceRecord]) -> [String] {
    records.map { "\($0.name) \($0.type) \($0.rdata)" }.sorted()
}

@Suite struct RPZZoneTests {
    @Test func phishingZoneContent() {
        let engine = Rules.sample().engine()
        let view = ZoneView(config: zone("phishing.rpz.bulwark.", [.phishing]), engine: engine)
        var walker = ZoneWalker(view: view)
        let records = text(walker.all())
        let z = "phishing.rpz.bulwark."
        #expect(
            records == [
                "*.evil.example.\(z) CNAME .",
                "*.gone.example.\(z) CNAME rpz-drop.",
                "*.quiet.example.\(z) CNAME *.",
                "*.wild.example.\(z) CNAME .",
                "128.10.zz.db8.2001.rpz-ip.\(z) CNAME .",
                "24.0.2.0.192.rpz-ip.\(z) CNAME .",
                "evil.example.\(z) CNAME .",
                "exact.example.\(z) CNAME .",
                "gone.example.\(z) CNAME rpz-drop.",
                "good.example.\(z) CNAME rpz-passthru.",
                "quiet.example.\(z) CNAME *.",
            ])
        // Audit lists, TLP:RED lists and other categories stay out.
        #expect(!records.contains { $0.contains("audited") || $0.contains("secret") || $0.contains("adult") || $0.contains("malware.example") })
    }

    @Test func oneNameInTwoListsIsOneOwner() {
        let engine = Rules.sample().engine()
        let view = ZoneView(config: RPZZoneConfig(apex: try! Name("threats.rpz."), categories: .threats), engine: engine)
        var walker = ZoneWalker(view: view)
        let records = text(walker.all())
        #expect(records.filter { $0.hasPrefix("evil.example.") }.count == 1)
        #expect(records.contains("malware.example.threats.rpz. CNAME ."))
    }

    @Test func sinkholeAndListSelection() {
        let engine = Rules.sample().engine()
        var c = zone("adult.rpz.", [.adult])
        c.action = .sinkhole
        c.sinkholeV4 = IPv4Address("192.0.2.80")
        c.sinkholeV6 = IPv6Address("2001:db8::80")
        var walker = ZoneWalker(view: ZoneView(config: c, engine: engine))
        let records = text(walker.all())
        #expect(records.contains("adult.example.adult.rpz. A 192.0.2.80"))
        #expect(records.contains("*.adult.example.adult.rpz. AAAA 2001:db8::80"))
        var only = zone("feed.rpz.", [.phishing, .malware])
        only.lists = ["malware-feed"]
        var w2 = ZoneWalker(view: ZoneView(config: only, engine: engine))
        #expect(text(w2.all()) == ["*.evil.example.feed.rpz. CNAME .", "*.malware.example.feed.rpz. CNAME .", "evil.example.feed.rpz. CNAME .", "malware.example.feed.rpz. CNAME ."])
    }

    @Test func rpzIPOwners() {
        #expect(ZoneView.rpzIPOwner(CIDR("127.0.0.1/32")!).description == "32.1.0.0.127.rpz-ip.")
        #expect(ZoneView.rpzIPOwner(CIDR("198.51.100.0/24")!).description == "24.0.100.51.198.rpz-ip.")
        #expect(ZoneView.rpzIPOwner(CIDR("2001:db8::10/32")!).description == "32.10.zz.db8.2001.rpz-ip.")
        #expect(ZoneView.rpzIPOwner(CIDR("2001:db8:0:1::/64")!).description == "64.zz.1.0.db8.2001.rpz-ip.")
        #expect(ZoneView.rpzIPOwner(CIDR("::1/128")!).description == "128.1.zz.rpz-ip.")
    }

    @Test func deltaDiffs() throws {
        let base = Rules.sample().engine()
        let zones = [zone("phishing.rpz.", [.phishing]), zone("malware.rpz.", [.malware])]
        let added = try base.adding(name: try Name("new.example"), list: "phish-feed")
        var d = ZoneDiffer.diff(old: base, new: added, zones: zones)
        #expect(text(d[0].added) == ["*.new.example.phishing.rpz. CNAME .", "new.example.phishing.rpz. CNAME ."])
        #expect(d[0].deleted.isEmpty && d[1].isEmpty)
        // Removing a base rule deletes its records; the same name in another zone stays.
        let removed = try added.removing(name: try Name("evil.example"), list: "phish-feed")
        d = ZoneDiffer.diff(old: added, new: removed, zones: zones)
        #expect(text(d[0].deleted) == ["*.evil.example.phishing.rpz. CNAME .", "evil.example.phishing.rpz. CNAME ."])
        #expect(d[0].added.isEmpty && d[1].isEmpty)
        // An allow rule on a blocked name turns it into passthru.
        let allowed = try removed.adding(name: try Name("malware.example"), match: .exact, list: "allow")
        d = ZoneDiffer.diff(old: removed, new: allowed, zones: zones)
        #expect(text(d[1].deleted) == ["malware.example.malware.rpz. CNAME ."])
        #expect(text(d[1].added) == ["malware.example.malware.rpz. CNAME rpz-passthru."])
        #expect(text(d[0].added) == ["malware.example.phishing.rpz. CNAME rpz-passthru."])
        // Address rules.
        let ip = try allowed.adding(prefix: CIDR("203.0.113.7")!, list: "malware-feed")
        d = ZoneDiffer.diff(old: allowed, new: ip, zones: zones)
        #expect(text(d[1].added) == ["32.7.113.0.203.rpz-ip.malware.rpz. CNAME ."])
        #expect(d[0].isEmpty)
    }

    @Test func rebuildDiffFindsOnlyWhatChanged() {
        let old = Rules.sample().engine()
        var r = Rules.sample()
        r.list("more", [.phishing])
        r.name("fresh.example", .exact)
        let new = r.engine()
        let d = ZoneDiffer.diff(old: old, new: new, zones: [zone("phishing.rpz.", [.phishing])])
        #expect(text(d[0].added) == ["fresh.example.phishing.rpz. CNAME ."])
        #expect(d[0].deleted.isEmpty)
        let back = ZoneDiffer.diff(old: new, new: old, zones: [zone("phishing.rpz.", [.phishing])])
        #expect(text(back[0].deleted) == ["fresh.example.phishing.rpz. CNAME ."])
    }

    @Test func publisherSerialsAndJournal() async throws {
        let base = Rules.sample().engine()
        let zones = [zone("phishing.rpz.", [.phishing]), zone("malware.rpz.", [.malware])]
        let publisher = RPZPublisher(zones: zones, engine: base, now: Date(timeIntervalSince1970: 1_000_000), journalMaxChanges: 2)
        let s0 = await publisher.serial(0)
        let m0 = await publisher.serial(1)
        var e = try base.adding(name: try Name("one.example"), list: "phish-feed")
        await publisher.publish(e)
        let s1 = await publisher.serial(0)
        #expect(Serial.greater(s1, than: s0))
        #expect(await publisher.serial(1) == m0)
        e = try e.adding(name: try Name("two.example"), list: "phish-feed")
        await publisher.publish(e)
        let s2 = await publisher.serial(0)
        let chain = try #require(await publisher.changes(0, from: s0))
        #expect(chain.changes.map(\.from) == [s0, s1])
        #expect(chain.changes.last?.to == s2)
        #expect(try #require(await publisher.changes(0, from: s2)).changes.isEmpty)
        // The journal keeps two changes: a third pushes the first out.
        e = try e.adding(name: try Name("three.example"), list: "phish-feed")
        await publisher.publish(e)
        #expect(await publisher.changes(0, from: s0) == nil)
        #expect(await publisher.changes(0, from: s1) != nil)
        // An engine that changes nothing published leaves the serials alone.
        let s3 = await publisher.serial(0)
        await publisher.publish(e.with(profiles: e.profiles, config: e.config))
        #expect(await publisher.serial(0) == s3)
    }

    @Test func serialsSurviveRestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rpz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rpz-serials.json").path
        let base = Rules.sample().engine()
        let zones = [zone("phishing.rpz.", [.phishing])]
        // A clock far ahead, then a restart with the clock back: the serial still grows.
        let p1 = RPZPublisher(zones: zones, engine: base, statePath: path, now: Date(timeIntervalSince1970: 2_000_000_000))
        await p1.publish(try base.adding(name: try Name("x.example"), list: "phish-feed"))
        let before = await p1.serial(0)
        let p2 = RPZPublisher(zones: zones, engine: base, statePath: path, now: Date(timeIntervalSince1970: 1_000_000_000))
        #expect(Serial.greater(await p2.serial(0), than: before))
    }

    @Test func serialArithmetic() {
        #expect(Serial.greater(1, than: 0))
        #expect(Serial.greater(0, than: UInt32.max))
        #expect(!Serial.greater(0, than: 1))
        #expect(!Serial.greater(5, than: 5))
        #expect(Serial.greater(0x7FFF_FFFF, than: 0))
    }
}
