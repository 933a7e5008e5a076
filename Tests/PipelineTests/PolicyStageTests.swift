import DNSTestSupport
import DNSWire
import NIOCore
import Policy
import Resolver
import Testing

@testable import Pipeline

/// PolicyQName and PolicyAnswer in the chain: what a block looks like on the wire.
struct PolicyStageTests {
    typealias P = TestPackets

    static func engine(profiles: [Profile] = Profile.builtIn) -> PolicyEngine {
        var b = SnapshotBuilder()
        func name(_ text: String, _ match: NameMatch = .subtree, _ action: RuleAction = .block, line: Int = 1) {
            P.name(text).lowercasedWire.withUnsafeBytes { b.name($0, match: match, action: action, line: line) }
        }
        b.begin(ListInfo(name: "cert", categories: CategorySet(.phishing), source: "CERT-XX"))
        name("phish.test", line: 9)
        name("nodata.test", .exact, .nodata)
        name("drop.test", .exact, .drop)
        name("local.test", .exact, .localData([P.a("local.test", "192.0.2.99", ttl: 30)]))
        b.begin(ListInfo(name: "ads", categories: CategorySet(.adsTracking)))
        name("tracker.test")
        b.begin(ListInfo(name: "hosting", categories: CategorySet(.malware)))
        b.address(CIDR("198.51.100.0/24")!, action: .block, line: 4)
        b.begin(ListInfo(name: "allow", categories: [], allow: true))
        name("ok.phish.test")
        return PolicyEngine(snapshot: b.finish(), profiles: profiles)
    }

    func harness(profile: String = "protective", action: BlockAction = .nxdomain) -> Harness {
        var profiles = Profile.builtIn
        for i in profiles.indices { profiles[i].action = action }
        let e = Self.engine(profiles: profiles)
        return Harness(policy: PolicyBox(engine: e, listenerProfiles: [e.profileIndex(named: profile)!]))
    }

    @Test func blockedNameIsNXDOMAINWithSOAAndEDE() throws {
        let h = harness()
        let m = try h.response(P.query("www.Phish.test", .a, id: 7, edns: EDNS()))
        #expect(m.rcode == .nxDomain)
        #expect(m.header.id == 7)
        #expect(m.questions.first?.name.description == "www.Phish.test.")
        #expect(m.answers.isEmpty)
        let soa = try #require(m.authorities.first)
        #expect(soa.type == .soa && soa.ttl == 60 && soa.name == P.name("phish.test"))
        guard case .soa(let s) = soa.rdata else {
            Issue.record("not an SOA")
            return
        }
        #expect(s.minimum == 60 && s.refresh == 3600 && s.retry == 600 && s.expire == 86400)
        #expect(s.mname.description == "blocked.bulwark.invalid." && s.rname.description == "hostmaster.bulwark.invalid.")
        #expect(m.edns?.options == [.extendedError(ExtendedError(code: .blocked, extraText: "phishing; source=CERT-XX; id=cert:9"))])
        #expect(h.stats.stats.blockedQName == 1)
        #expect(h.stats.stats.blockedByCategory[Int(Category.phishing.rawValue)] == 1)
        // Never asked upstream, nothing cached.
        #expect(h.stats.stats.cacheMisses == 0 && h.cache.count == 0)
    }

    @Test func allowRuleLetsTheQueryThrough() throws {
        let h = harness()
        let m = try h.response(P.query("ok.phish.test"))
        // No upstreams in the harness: reaching Resolve means SERVFAIL (not blocked).
        #expect(m.rcode == .servFail)
        #expect(h.stats.stats.allowed == 1)
    }

    @Test(arguments: [BlockAction.nodata, .sinkhole, .refused])
    func profileActions(_ action: BlockAction) throws {
        let h = harness(action: action)
        let a = try h.response(P.query("phish.test", .a))
        let aaaa = try h.response(P.query("phish.test", .aaaa))
        switch action {
        case .nodata:
            #expect(a.rcode == .noError && a.answers.isEmpty && a.authorities.map(\.type) == [.soa])
        case .sinkhole:
            #expect(a.answers.map(\.rdata) == [.a(IPv4Address(0))] && a.answers.first?.ttl == 60)
            #expect(aaaa.answers.map(\.rdata) == [.aaaa(IPv6Address("::")!)])
        case .refused:
            #expect(a.rcode == .refused && a.answers.isEmpty)
        default: break
        }
    }

    @Test func dropActionSendsNothing() throws {
        #expect(try harness(action: .drop).ask(P.query("phish.test")) == nil)
        #expect(try harness().ask(P.query("drop.test")) == nil)
    }

    @Test func ruleActionsNodataAndLocalData() throws {
        let h = harness()
        let n = try h.response(P.query("nodata.test"))
        #expect(n.rcode == .noError && n.answers.isEmpty)
        let l = try h.response(P.query("LOCAL.test"))
        #expect(l.rcode == .noError)
        #expect(l.answers.map(\.rdata) == [.a(IPv4Address("192.0.2.99")!)])
        #expect(l.answers.first?.name.description.lowercased() == "local.test.")
    }

    @Test func cachedAnswersAreCheckedPerProfile() throws {
        // The same cached answer: a CNAME to an ads tracker, and an address in a bad prefix.
        for (profile, blocked) in [("protective", false), ("protective-ads", true)] {
            let h = harness(profile: profile)
            h.cache.insert(
                CacheKey(P.queryMessage("cloaked.test").questions[0], dnssecOK: false),
                response: P.answer("cloaked.test", answers: [P.cname("cloaked.test", "x.tracker.test"), P.a("x.tracker.test", "192.0.2.1")]))
            let m = try h.response(P.query("cloaked.test", edns: EDNS()))
            #expect((m.rcode == .nxDomain) == blocked, "\(profile)")
            if blocked {
                #expect(m.edns?.options.first == .extendedError(ExtendedError(code: .filtered, extraText: "ads-tracking; source=ads; id=ads:1")))
                #expect(h.stats.stats.blockedAnswer == 1)
                #expect(m.authorities.first?.name == P.name("cloaked.test"))
            } else {
                #expect(m.answers.count == 2)
            }
        }
        let h = harness()
        h.cache.insert(
            CacheKey(P.queryMessage("hosted.test").questions[0], dnssecOK: false),
            response: P.answer("hosted.test", answers: [P.a("hosted.test", "198.51.100.20")]))
        #expect(try h.response(P.query("hosted.test")).rcode == .nxDomain)
    }

    @Test func newEngineAppliesToTheNextQuery() throws {
        let h = harness()
        #expect(try h.response(P.query("late.test")).rcode == .servFail)
        let box = h.processor.chain.policy
        box.engine = try box.engine.adding(name: P.name("late.test"), list: "cert")
        #expect(try h.response(P.query("late.test")).rcode == .nxDomain)
    }

    @Test func aBlockForAClientWithoutEDNSCarriesTheCodeOnly() throws {
        let h = harness()
        let box = h.processor.chain.policy
        let stage = PolicyQNameStage(policy: box, stats: h.stats)
        for edns in [nil, EDNS()] {
            let packet = ByteBuffer(bytes: P.query("www.phish.test", edns: edns))
            var ctx = QueryContext(packet: packet, client: loopbackClient, transport: .udp, listener: 0)
            ctx.tenant = box.profile(listener: 0)
            guard case .answer(let a) = stage.process(&ctx) else {
                Issue.record("not blocked")
                return
            }
            // The text is built only when it can be sent; the code (what the query log and the
            // metrics read) is there either way.
            let text = edns == nil ? "" : "phishing; source=CERT-XX; id=cert:9"
            #expect(a.extendedError == ExtendedError(code: .blocked, extraText: text))
            ctx.response = a
            h.stats.recordQuery(ctx, rcode: a.rcode)
            #expect(h.stats.drainQueryLog().map(\.blocked) == [true])
        }
        // On the wire: no OPT record for the client without EDNS.
        let m = try h.response(P.query("www.phish.test"))
        #expect(m.rcode == .nxDomain && m.edns == nil)
    }

    @Test func unfilteredProfileBlocksNothing() throws {
        let h = harness(profile: "unfiltered")
        #expect(try h.response(P.query("phish.test")).rcode == .servFail)
    }
}
