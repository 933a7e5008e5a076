import Foundation
import Logging
import Policy
import Storage
import Testing

@testable import ThreatIntel

actor Sink: IntelPolicySink {
    var adds: [IntelPolicyRule] = []
    var removes: [IntelPolicyRule] = []
    func apply(adding: [IntelPolicyRule], removing: [IntelPolicyRule]) async {
        adds += adding
        removes += removing
    }
    func rebuildAll() async {}
    func reset() {
        adds = []
        removes = []
    }
}

func hub(_ configure: (inout IntelSettings) -> Void = { _ in }) async throws -> (IntelHub, Sink, SQLiteStore) {
    var s = IntelSettings(databasePath: "")
    s.publicSuffixList = nil
    configure(&s)
    let store = try SQLiteStore.inMemory()
    let h = try IntelHub(settings: s, store: store, logger: Logger(label: "test"))
    let sink = Sink()
    await h.attach(sink)
    return (h, sink, store)
}

func candidate(_ value: String, _ kind: IntelValueKind = .domain, ref: String = "", category: String = "malware", toIDS: Bool = true)
    -> IntelCandidate
{
    var c = IntelCandidate(value: IntelValue(value: value, kind: kind), ref: ref, categories: [category])
    c.toIDS = toIDS
    return c
}

@Suite struct IntelHubTests {
    @Test func ingestDecidesStatesAndRules() async throws {
        let (h, sink, store) = try await hub { $0.allow = ["safe.example"] }
        let src = try await store.sources.ensure(name: "feed", type: "freetext", url: nil, orgID: nil)
        let r = try await h.ingest(
            [candidate("bad.example"), candidate("safe.example"), candidate("quiet.example", toIDS: false), candidate("192.0.2.1", .ip)],
            source: src, actor: "test")
        #expect(r.accepted == 2 && r.suppressed == 1 && r.withdrawn == 1)
        let adds = await sink.adds
        #expect(Set(adds.map(\.value)) == ["bad.example", "192.0.2.1"])
        // Rules: a domain blocks its subtree, an address its /32.
        let dom = adds.first { $0.value == "bad.example" }!.change!
        if case .name(_, let match) = dom.target { #expect(match == .subtree) } else { Issue.record("not a name rule") }
        if case .prefix(let p) = adds.first(where: { $0.kind == .ip })!.change!.target { #expect(p.prefixLength == 32) }
        #expect(dom.list == "intel-malware")
    }

    @Test func explainFindsTheRangesThatContainAnAddress() async throws {
        let (h, _, store) = try await hub()
        let src = try await store.sources.ensure(name: "f", type: "freetext", url: nil, orgID: nil)
        _ = try await h.ingest(
            [candidate("198.51.100.0/24", .cidr), candidate("2001:db8::/32", .cidr), candidate("198.51.100.7", .ip), candidate("203.0.113.0/24", .cidr)],
            source: src, actor: "t")
        let x = try await h.explain("198.51.100.7")
        #expect(x.blocked)
        #expect(Set(x.indicators.map(\.value)) == ["198.51.100.7", "198.51.100.0/24"])
        #expect(x.indicators.first { $0.kind == "cidr" }?.matches == "address range")
        let y = try await h.explain("2001:db8:1::5")
        #expect(y.indicators.map(\.value) == ["2001:db8::/32"])
        #expect(try await h.explain("192.0.2.1").indicators.isEmpty)
    }

    @Test func aRuleStaysWhileAnotherSourceStillListsIt() async throws {
        let (h, sink, store) = try await hub()
        let a = try await store.sources.ensure(name: "a", type: "misp", url: nil, orgID: nil)
        let b = try await store.sources.ensure(name: "b", type: "misp", url: nil, orgID: nil)
        _ = try await h.ingest([candidate("shared.example", ref: "u1")], source: a, actor: "t")
        _ = try await h.ingest([candidate("shared.example", ref: "u2")], source: b, actor: "t")
        await sink.reset()
        // Source a deletes it: source b's indicator keeps the rule in force.
        var gone = candidate("shared.example", ref: "u1")
        gone.deleted = true
        _ = try await h.ingest([gone], source: a, actor: "t")
        let removes = await sink.removes
        let adds = await sink.adds
        #expect(removes.count == 1)
        #expect(adds.map(\.value) == ["shared.example"])
        let x = try await h.explain("shared.example")
        #expect(x.blocked && x.indicators.count == 2)
    }

    @Test func expiryWithdrawsTheRuleAndKeepsTheRecord() async throws {
        let (h, sink, store) = try await hub { $0.lifetimes = ["phishing": 3 * 86400, "default": 86400] }
        let src = try await store.sources.ensure(name: "f", type: "freetext", url: nil, orgID: nil)
        var old = candidate("old.example", category: "phishing")
        old.lastSeen = Date().addingTimeInterval(-4 * 86400)
        var fresh = candidate("fresh.example", category: "phishing")
        fresh.lastSeen = Date().addingTimeInterval(-2 * 86400)
        let r = try await h.ingest([old, fresh], source: src, actor: "t")
        // Seen 4 days ago with a 3-day lifetime: stored, but expired at once.
        #expect(r.expired == 1 && r.accepted == 1)
        #expect(await h.expireDue(now: Date().addingTimeInterval(2 * 86400)) == 1)
        let removed = await sink.removes.map(\.value)
        #expect(removed == ["fresh.example"])
        let x = try await h.explain("fresh.example")
        #expect(x.indicators.first?.state == "expired" && x.indicators.first?.reason?.contains("valid until") == true)
    }

    @Test func aSourceLifetimeOverridesTheCategory() async throws {
        let (h, _, store) = try await hub { s in
            var spec = IntelSourceSpec(name: "short", kind: .freetext)
            spec.lifetime = 3600
            s.sources = [spec]
        }
        let short = try await store.sources.ensure(name: "short", type: "freetext", url: nil, orgID: nil)
        let other = try await store.sources.ensure(name: "other", type: "freetext", url: nil, orgID: nil)
        var c = candidate("two-hours-ago.example")
        c.lastSeen = Date().addingTimeInterval(-7200)
        #expect(try await h.ingest([c], source: short, actor: "t").expired == 1)
        #expect(try await h.ingest([c], source: other, actor: "t").accepted == 1)
    }

    @Test func anEditThatChangesTheValueMovesTheRule() async throws {
        let (h, sink, store) = try await hub()
        let src = try await store.sources.ensure(name: "m", type: "misp", url: nil, orgID: nil)
        func attr(_ v: String, ts: Int64) -> MISPAttribute {
            MISPAttribute(uuid: "aaaa-1", type: "domain", value: v, category: "Network activity", toIDS: true, deleted: false, timestamp: ts)
        }
        let now = Int64(Date().timeIntervalSince1970)
        _ = try await h.ingestAttributes([attr("first.example", ts: now - 10)], spec: nil, source: src, org: "O", actor: "t")
        await sink.reset()
        _ = try await h.ingestAttributes([attr("second.example", ts: now)], spec: nil, source: src, org: "O", actor: "t")
        #expect(await sink.adds.map(\.value) == ["second.example"])
        #expect(await sink.removes.map(\.value) == ["first.example"])
        let old = try await h.explain("first.example")
        #expect(old.indicators.first?.state == "withdrawn" && !old.blocked)
    }

    @Test func aFalsePositiveReportSticksWhenTheSourceSendsTheValueAgain() async throws {
        let (h, sink, store) = try await hub()
        let a = try await store.sources.ensure(name: "a", type: "misp", url: nil, orgID: nil)
        let b = try await store.sources.ensure(name: "b", type: "freetext", url: nil, orgID: nil)
        _ = try await h.ingest([candidate("ours.example", ref: "u1")], source: a, actor: "t")
        _ = try await h.ingest([candidate("ours.example")], source: b, actor: "t")
        let id = try #require(try await store.indicators.find(values: ["ours.example"]).first?.id)
        let caller = IntelCaller(keyName: "k", org: try await store.organisations.ensure(name: "TELCO", uuid: nil), role: .admin)
        let v = try await h.falsePositive(id: id, comment: "our portal", caller: caller)
        #expect(v.state == "suppressed")
        // Both sources' indicators are suppressed: the rule is gone.
        #expect(!(try await h.explain("ours.example").blocked))
        await sink.reset()
        // The MISP source edits its attribute (a newer timestamp): it stays suppressed.
        var again = candidate("ours.example", ref: "u1")
        again.sourceTimestamp = Int64(Date().timeIntervalSince1970)
        let r = try await h.ingest([again], source: a, actor: "t")
        #expect(r.suppressed == 1 && r.accepted == 0)
        #expect(await sink.adds.isEmpty)
        let x = try await h.explain("ours.example")
        #expect(x.indicators.allSatisfy { $0.reason?.contains("false positive reported by TELCO") == true })
        #expect(try await store.sightings.unreported(type: 1, limit: 10).count == 1)
    }

    @Test func hitsBelowTheClientThresholdAreNeitherKeptNorSent() async throws {
        let (h, _, store) = try await hub { $0.sightingMinClients = 3 }
        let src = try await store.sources.ensure(name: "f", type: "freetext", url: nil, orgID: nil)
        _ = try await h.ingest([candidate("a.example"), candidate("b.example")], source: src, actor: "t")
        let ids = try await store.indicators.list(IndicatorQuery()).compactMap(\.id)
        let n = await h.recordHits(
            [HitCount(indicatorID: ids[0], count: 10, clients: 3), HitCount(indicatorID: ids[1], count: 50, clients: 2)], from: Date(), to: Date())
        #expect(n == 1)
        #expect(try await store.sightings.unreported(type: 0, limit: 10).map(\.indicatorID) == [ids[0]])
    }

    @Test func publicSuffixesAreNeverEnforced() {
        let psl = PublicSuffixList(text: "// test\ncom\ngithub.io\n")
        let g = IngestGuard(warninglists: WarninglistSet([]), allow: Allowlist([]), psl: psl)
        #expect(g.reason(IntelValue(value: "github.io", kind: .domain), mispType: "domain")?.contains("public suffix") == true)
        #expect(g.reason(IntelValue(value: "evil.github.io", kind: .hostname), mispType: "hostname") == nil)
    }
}
