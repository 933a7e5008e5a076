import DNSTestSupport
import DNSWire
import NIOCore
import Policy
import Resolver
import Testing

@testable import Pipeline

/// The policy memo (PolicyQNameStage): a cached answer whose name and answer passed is stamped
/// with the engine and policy node, and is let through on the stamp; anything that could change
/// the verdict (a new engine, another node, a replaced answer) is checked again.
struct PolicyMemoTests {
    typealias P = TestPackets

    func harness(profile: String = "protective") -> Harness {
        let e = PolicyStageTests.engine()
        return Harness(policy: PolicyBox(engine: e, listenerProfiles: [e.profileIndex(named: profile)!]))
    }

    func cache(_ h: Harness, _ name: String, _ answers: [ResourceRecord]) {
        h.cache.insert(CacheKey(P.queryMessage(name).questions[0], dnssecOK: false), response: P.answer(name, answers: answers))
    }

    /// The slot of `name`'s A entry and its stamp.
    func stamp(_ h: Harness, _ name: String) -> UInt64? {
        P.query(name).withUnsafeBytes { p in h.cache.slot(QueryScan.scan(p), packet: p).map { h.cache.stamp(slot: $0) } }
    }

    /// PolicyQName alone over `name`, as the chain runs it for listener 0.
    func qnameStage(_ h: Harness, _ name: String) -> QueryContext {
        let box = h.processor.chain.policy
        var ctx = QueryContext(packet: ByteBuffer(bytes: P.query(name)), client: loopbackClient, transport: .udp, listener: 0)
        ctx.tenant = box.profile(listener: 0)
        _ = PolicyQNameStage(policy: box, stats: StatsBox(), cache: h.cache).process(&ctx)
        return ctx
    }

    @Test func aClearAnswerIsStampedAndTheNextQueryPassesOnTheStamp() throws {
        let h = harness()
        let box = h.processor.chain.policy
        cache(h, "fine.test", [P.a("fine.test", "192.0.2.7")])
        #expect(stamp(h, "fine.test") == 0)
        #expect(!qnameStage(h, "fine.test").policyCleared)

        let first = try h.response(P.query("fine.test"))
        #expect(first.rcode == .noError && first.answers.count == 1)
        #expect(stamp(h, "fine.test") == box.stamp(tenant: box.profile(listener: 0)))
        let probed = qnameStage(h, "FINE.test")
        #expect(probed.policyCleared && !probed.nameClear && probed.cacheSlot >= 0)

        let second = try h.response(P.query("fine.test"))
        #expect(second.rcode == .noError && second.answers == first.answers)
        #expect(h.stats.stats.cacheHits == 2)
        // Not cached: probed, not found, checked.
        let missing = qnameStage(h, "absent.test")
        #expect(missing.cacheSlot == -1 && missing.nameClear && !missing.policyCleared)
    }

    @Test func aNewEngineChecksStampedNamesAndAnswersAgain() throws {
        let h = harness()
        let box = h.processor.chain.policy
        cache(h, "late.test", [P.a("late.test", "192.0.2.8")])
        cache(h, "hop.test", [P.cname("hop.test", "www.later.test"), P.a("www.later.test", "192.0.2.9")])
        for name in ["late.test", "hop.test"] {
            #expect(try h.response(P.query(name)).rcode == .noError)
            #expect(stamp(h, name) != 0)
        }
        box.engine = try box.engine.adding(name: P.name("late.test"), list: "cert").adding(name: P.name("later.test"), list: "cert")
        #expect(!qnameStage(h, "late.test").policyCleared)
        #expect(try h.response(P.query("late.test")).rcode == .nxDomain)
        #expect(try h.response(P.query("hop.test")).rcode == .nxDomain)
        #expect(h.stats.stats.blockedQName == 1 && h.stats.stats.blockedAnswer == 1)
        // Blocked answers leave no stamp of the new engine.
        #expect(stamp(h, "hop.test") != box.stamp(tenant: box.profile(listener: 0)))
    }

    @Test func aStampForOneProfileDoesNotClearAnother() throws {
        let h = harness(profile: "protective")
        let box = h.processor.chain.policy
        cache(h, "cloaked.test", [P.cname("cloaked.test", "x.tracker.test"), P.a("x.tracker.test", "192.0.2.1")])
        #expect(try h.response(P.query("cloaked.test")).rcode == .noError)
        #expect(stamp(h, "cloaked.test") != 0)
        // Same engine, same cache entry, another profile: the tracker is blocked there.
        box.listenerProfiles = [box.engine.profileIndex(named: "protective-ads")!]
        #expect(try h.response(P.query("cloaked.test")).rcode == .nxDomain)
        #expect(h.stats.stats.blockedAnswer == 1)
    }

    @Test func aReplacedAnswerLosesItsStamp() throws {
        let h = harness()
        cache(h, "moving.test", [P.a("moving.test", "192.0.2.10")])
        #expect(try h.response(P.query("moving.test")).rcode == .noError)
        #expect(stamp(h, "moving.test") != 0)
        // The upstream's answer changes: now a CNAME into a phishing domain, or a bad address.
        cache(h, "moving.test", [P.cname("moving.test", "login.phish.test"), P.a("login.phish.test", "192.0.2.11")])
        #expect(stamp(h, "moving.test") == 0)
        #expect(try h.response(P.query("moving.test")).rcode == .nxDomain)
        cache(h, "moving.test", [P.a("moving.test", "198.51.100.5")])
        #expect(try h.response(P.query("moving.test")).rcode == .nxDomain)
        #expect(h.stats.stats.blockedAnswer == 2)
    }

    @Test func matchesThatDoNotBlockAreNeverStamped() throws {
        let h = harness()
        // An allow rule (counted every time) and an answer the allow rule covers.
        cache(h, "ok.phish.test", [P.a("ok.phish.test", "192.0.2.12")])
        for _ in 0..<3 { #expect(try h.response(P.query("ok.phish.test")).rcode == .noError) }
        #expect(h.stats.stats.allowed == 3)
        #expect(stamp(h, "ok.phish.test") == 0)
    }

    @Test func boxesNeverShareAnEpoch() {
        let e = PolicyStageTests.engine()
        let a = PolicyBox(engine: e)
        let b = PolicyBox(engine: e)
        #expect(a.epoch != b.epoch && a.epoch != 0 && b.epoch != 0)
        let before = a.epoch
        a.engine = e
        #expect(a.epoch != before && a.epoch != b.epoch)
        #expect(a.stamp(tenant: 1) != a.stamp(tenant: 2) && a.stamp(tenant: 0) != 0)
    }
}
