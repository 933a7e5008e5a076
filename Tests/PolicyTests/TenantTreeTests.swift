import DNSWire
import Foundation
import Testing

@testable import Policy

/// A five-level tree (eu → ministry → agency → region → town) over shared feeds, with lists owned
/// by tenants, checked name by name: inheritance, tightening, and overrides only where allowed.
@Suite struct TenantTreeTests {
    static func book() -> RuleBook {
        var b = RuleBook()
        b.list("malware-feed", [.malware])
        b.name("bad.test")
        b.name("safe.test")
        b.list("ads-feed", [.adsTracking])
        b.name("ads.test")
        b.list("adult-feed", [.adult])
        b.name("porn.test")
        b.list("gambling-feed", [.gambling])
        b.name("bet.test")
        b.list("tranco", [], allow: true)
        b.name("safe.test", .exact, .allow)
        b.owned("ministry-block", owner: "ministry", [.custom])
        b.name("leak.test")
        b.prefix("192.0.2.0/24")
        b.owned("agency-allow", owner: "agency", [], allow: true)
        for n in ["ads.test", "bad.test", "porn.test"] { b.name(n, .subtree, .allow) }
        b.owned("town-allow", owner: "town", [], allow: true)
        b.name("bet.test", .subtree, .allow)
        b.owned("town-block", owner: "town", [.custom])
        b.name("local.test")
        b.name("safe.test", .exact)
        return b
    }

    static func tree() -> [Profile] {
        var eu = Profile(name: "eu", categories: .threats)
        eu.blockPage = "Blocked by the EU"
        var ministry = Profile(name: "ministry", categories: CategorySet([.adult, .adsTracking]), parent: "eu")
        ministry.overridableCategories = CategorySet(.adsTracking)
        var agency = Profile(name: "agency", categories: CategorySet(.gambling), parent: "ministry")
        agency.overridableCategories = CategorySet(.gambling)
        let agency2 = Profile(name: "agency2", categories: [], parent: "ministry")
        let region = Profile(name: "region", categories: [], parent: "agency")
        let town = Profile(name: "town", categories: [], parent: "region")
        return Profile.builtIn + [eu, ministry, agency, agency2, region, town]
    }

    static func engine() -> PolicyEngine {
        PolicyEngine(snapshot: book().builder.finish(), profiles: tree())
    }

    @Test func inheritanceTighteningAndOverrides() {
        let e = Self.engine()
        #expect(!e.tree.flat)
        // The town inherits every ancestor's categories and owned lists.
        #expect(e.kind("x.bad.test", profile: "town") == .blocked)  // eu locks threats: the agency's allow cannot undo it
        #expect(e.verdict("bad.test", profile: "town").level == 0)
        #expect(e.kind("ads.test", profile: "town") == .allowed)  // the ministry marked ads overridable; the agency allows
        #expect(e.verdict("ads.test", profile: "town").level == 2)
        #expect(e.kind("porn.test", profile: "town") == .blocked)  // adult is locked at the ministry
        #expect(e.verdict("porn.test", profile: "town").level == 1)
        #expect(e.kind("bet.test", profile: "town") == .allowed)  // gambling: the agency's, overridable; the town allows
        #expect(e.kind("bet.test", profile: "region") == .blocked)
        #expect(e.kind("local.test", profile: "town") == .blocked)  // the town's own list
        #expect(e.verdict("local.test", profile: "town").level == 4)
        #expect(e.kind("leak.test", profile: "town") == .blocked)  // the ministry's own list
        // A child tightens freely: the town blocks what the root's warninglist allows.
        #expect(e.kind("safe.test", profile: "town") == .blocked)
        #expect(e.kind("safe.test", profile: "region") == .allowed)
        #expect(e.kind("safe.test", profile: "eu") == .allowed)
        // Nothing leaks up or sideways.
        #expect(e.kind("ads.test", profile: "ministry") == .blocked)
        #expect(e.kind("ads.test", profile: "agency2") == .blocked)
        #expect(e.kind("bet.test", profile: "ministry") == .none)
        #expect(e.kind("local.test", profile: "region") == .none)
        #expect(e.kind("leak.test", profile: "eu") == .none)
        #expect(e.kind("leak.test", profile: "agency2") == .blocked)
        #expect(e.kind("porn.test", profile: "eu") == .none)
        // The public profiles are untouched by the tenants' lists.
        #expect(e.kind("local.test", profile: "protective") == .none)
        #expect(e.kind("bad.test", profile: "protective") == .blocked)
        #expect(e.kind("safe.test", profile: "protective") == .allowed)
        #expect(e.kind("ads.test", profile: "protective-ads") == .blocked)
    }

    @Test func ownedAddressRules() {
        let e = Self.engine()
        func kind(_ address: [UInt8], _ profile: String) -> PolicyVerdict.Kind {
            address.withUnsafeBytes { e.check(address: $0, at: 0, length: address.count, profile: e.profileIndex(named: profile)!).kind }
        }
        #expect(kind([192, 0, 2, 7], "town") == .blocked)
        #expect(kind([192, 0, 2, 7], "ministry") == .blocked)
        #expect(kind([192, 0, 2, 7], "eu") == .none)
        #expect(kind([192, 0, 2, 7], "protective") == .none)
    }

    @Test func explainNamesTheDecidingLevel() {
        let e = Self.engine()
        let town = e.profileIndex(named: "town")!
        let porn = e.explain(name: try! Name("porn.test"), profile: town)
        #expect(porn.verdict == "blocked")
        #expect(porn.decidedBy == "ministry")
        #expect(porn.tenantPath == ["eu", "ministry", "agency", "region", "town"])
        #expect(porn.rules.contains { $0.list == "agency-allow" && $0.effect == "allow (by agency)" })
        #expect(porn.rules.contains { $0.list == "adult-feed" && $0.effect.hasPrefix("block (by ministry; not overridable below ministry") })
        let ads = e.explain(name: try! Name("ads.test"), profile: town)
        #expect(ads.verdict == "allowed")
        #expect(ads.decidedBy == "agency")
        #expect(ads.deciding?.list == "agency-allow")
        let region = e.explain(name: try! Name("local.test"), profile: e.profileIndex(named: "region")!)
        #expect(region.rules.first?.effect == "ignored: a list of tenant town, not an ancestor")
        // EDE text names the category the tenant blocks.
        let m = e.verdict("porn.test", profile: "town").match!
        #expect(e.extendedError(for: m, profile: town).code == .filtered)
        #expect(e.extendedError(for: m, profile: town).extraText.hasPrefix("adult; source=adult-feed"))
    }

    /// 10,000 tenants that add nothing of their own share their parent's row; the compiled tree
    /// grows by a few integers per tenant, not by a row per tenant.
    @Test func tenThousandTenantsShareRows() {
        var profiles = Self.tree()
        let before = PolicyEngine(snapshot: Self.book().builder.finish(), profiles: profiles).tree.rowCount
        for i in 0..<10_000 {
            profiles.append(Profile(name: "hall-\(i)", categories: i % 1000 == 1 ? CategorySet(.gambling) : [], parent: i % 2 == 0 ? "region" : "agency2"))
        }
        let e = PolicyEngine(snapshot: Self.book().builder.finish(), profiles: profiles)
        // Halls that add gambling under agency2 get one new row; those under the region add
        // nothing (the agency already blocks gambling).
        #expect(e.tree.rowCount == before + 1)
        #expect(e.tree.memoryBytes < 10_000 * 40 + before * e.tree.width * 16 + 4096)
        #expect(e.kind("bet.test", profile: "hall-1001") == .blocked)
        #expect(e.kind("bet.test", profile: "hall-1003") == .none)
        #expect(e.kind("bet.test", profile: "hall-1000") == .blocked)  // under the region: the agency's
        #expect(e.kind("leak.test", profile: "hall-3") == .blocked)
        #expect(e.kind("local.test", profile: "hall-2") == .none)
    }

    @Test func cyclesAndUnknownParentsBecomeRoots() {
        var a = Profile(name: "a", categories: CategorySet(.malware), parent: "b")
        a.overridableCategories = []
        let b = Profile(name: "b", categories: CategorySet(.adult), parent: "a")
        let c = Profile(name: "c", categories: CategorySet(.adult), parent: "nobody")
        let e = PolicyEngine(snapshot: Self.book().builder.finish(), profiles: [a, b, c])
        #expect(e.kind("bad.test", profile: "c") == .none)
        #expect(e.kind("porn.test", profile: "c") == .blocked)
        // In a cycle every member terminates: each is checked without hanging.
        _ = e.kind("bad.test", profile: "a")
        _ = e.kind("bad.test", profile: "b")
    }

    @Test func deltaEnginesReuseTheCompiledTree() throws {
        let e = Self.engine()
        let again = PolicyEngine(snapshot: e.snapshot, delta: e.delta, profiles: e.profiles, config: e.config, reuse: e)
        #expect(again.tree.rowCount == e.tree.rowCount)
        let other = e.with(profiles: Profile.builtIn, config: e.config)
        #expect(other.tree.flat)
    }
}

extension RuleBook {
    mutating func owned(_ name: String, owner: String, _ categories: [Category], allow: Bool = false) {
        var info = ListInfo(name: name, categories: CategorySet(categories), allow: allow, origin: "/lists/\(name)")
        info.owner = owner
        builder.begin(info)
    }
}

/// Tenants' own entries share one list; the class carries the owner.
@Suite struct OwnedEntryTests {
    @Test func entriesOfManyTenantsShareOneList() throws {
        var b = RuleBook()
        b.list("malware", [.malware])
        b.name("bad.test")
        b.builder.begin(ListInfo(name: "tenants.block", categories: CategorySet(.custom)))
        for i in 0..<1000 {
            b.builder.setOwner("t\(i)")
            b.name("own-\(i).test")
            b.name("shared.test")
        }
        b.builder.setOwner(nil)
        b.builder.begin(ListInfo(name: "tenants.allow", categories: [], allow: true))
        b.builder.setOwner("t7")
        b.name("bad.test", .subtree, .allow)
        var profiles = Profile.builtIn + [Profile(name: "root", categories: .threats)]
        for i in 0..<1000 { profiles.append(Profile(name: "t\(i)", categories: [], parent: i == 999 ? "t998" : "root")) }
        var t0 = profiles[profiles.count - 1000]
        t0.overridableLists = ["tenants.block"]
        profiles[profiles.count - 1000] = t0
        let e = PolicyEngine(snapshot: b.builder.finish(), profiles: profiles)
        // Three lists, not two thousand; a class per owner.
        #expect(e.snapshot.lists.count == 3)
        #expect(e.snapshot.owners.count == 1000)
        #expect(e.kind("own-5.test", profile: "t5") == .blocked)
        #expect(e.verdict("own-5.test", profile: "t5").level == 1)
        #expect(e.kind("own-5.test", profile: "t6") == .none)
        #expect(e.kind("own-5.test", profile: "root") == .none)
        #expect(e.kind("shared.test", profile: "t6") == .blocked)
        #expect(e.kind("own-998.test", profile: "t999") == .blocked)  // the parent's entry
        // t7's own allow entry cannot undo the root's block: the root did not mark threats
        // overridable.
        #expect(e.kind("bad.test", profile: "t7") == .blocked)
        #expect(e.kind("bad.test", profile: "t8") == .blocked)
        // The shared rows stay as few as the public profiles plus the root.
        #expect(e.tree.rowCount <= Profile.builtIn.count + 1)
        let x = e.explain(name: try Name("own-5.test"), profile: e.profileIndex(named: "t6")!)
        #expect(x.rules.first?.effect == "ignored: an entry of tenant t5, not an ancestor")
        // The owners survive the snapshot file (a restart protects the tenants from the first query).
        let path = NSTemporaryDirectory() + "bulwark-owners-\(UInt32.random(in: 0...UInt32.max))/policy.snapshot"
        try PolicyFile.write(e, to: path)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let r = try PolicyFile.read(from: path, profiles: profiles, config: PolicyConfig())
        #expect(r.snapshot.owners == e.snapshot.owners)
        #expect(r.kind("own-5.test", profile: "t5") == .blocked)
        #expect(r.kind("own-5.test", profile: "t6") == .none)
    }
}

@Suite struct DeepTreeTests {
    /// 64 levels: the deepest tenant's own allow beats its parent's overridable block, not the
    /// root's locked one; depth beyond the limit is clamped, never a crash.
    @Test func sixtyFourLevels() {
        var b = RuleBook()
        b.list("malware", [.malware])
        b.name("bad.test")
        b.list("gambling", [.gambling])
        b.name("bet.test")
        b.owned("deep-allow", owner: "n63", [], allow: true)
        b.name("bet.test", .subtree, .allow)
        b.name("bad.test", .subtree, .allow)
        var profiles = [Profile(name: "n0", categories: .threats)]
        for i in 1..<70 {
            var p = Profile(name: "n\(i)", categories: i == 62 ? CategorySet(.gambling) : [], parent: "n\(i - 1)")
            if i == 62 { p.overridableCategories = CategorySet(.gambling) }
            profiles.append(p)
        }
        let e = PolicyEngine(snapshot: b.builder.finish(), profiles: profiles)
        #expect(e.tree.depth[63] == 63)
        #expect(e.kind("bet.test", profile: "n62") == .blocked)
        #expect(e.kind("bet.test", profile: "n63") == .allowed)
        #expect(e.verdict("bet.test", profile: "n63").level == 63)
        #expect(e.kind("bad.test", profile: "n63") == .blocked)
        #expect(e.kind("bet.test", profile: "n69") == .allowed)
        #expect(e.tree.depth[69] == 63)  // clamped (the configuration refuses such a tree)
    }
}

@Suite struct UnfilteredParentTests {
    /// A tenant that filters under the unfiltered profile gets the allow lists every filtering
    /// node has (warninglists), as a root would.
    @Test func warninglistsApplyBelowAnUnfilteredProfile() {
        var b = RuleBook()
        b.list("malware", [.malware])
        b.name("bad.test")
        b.name("popular.test")
        b.list("tranco", [], allow: true)
        b.name("popular.test", .exact, .allow)
        let school = Profile(name: "school", categories: .threats, parent: "unfiltered")
        let e = PolicyEngine(snapshot: b.builder.finish(), profiles: Profile.builtIn + [school])
        #expect(e.kind("popular.test", profile: "school") == .allowed)
        #expect(e.kind("bad.test", profile: "school") == .blocked)
        #expect(e.kind("popular.test", profile: "unfiltered") == .none)
        #expect(e.kind("popular.test", profile: "protective") == .allowed)
    }
}
