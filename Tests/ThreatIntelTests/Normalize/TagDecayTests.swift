import Foundation
import Testing

@testable import ThreatIntel

@Suite struct TagMappingTests {
    @Test func defaultTable() {
        let m = TagMapping()
        #expect(m.categories(for: [#"rsit:fraud="phishing""#]) == ["phishing"])
        #expect(m.categories(for: ["RSIT:Fraud=Phishing"]) == ["phishing"])
        #expect(m.categories(for: [#"rsit:malicious-code="c2-server""#]) == ["botnet-c2"])
        #expect(m.categories(for: [#"rsit:malicious-code="ransomware""#]) == ["malware"])  // namespace:predicate fallback
        #expect(m.categories(for: [#"ecsirt:malicious-code="c&c""#]) == ["botnet-c2"])
        #expect(m.categories(for: [#"ecsirt:malicious-code="botnet-drone""#]) == ["botnet-c2"])
        #expect(m.categories(for: [#"ecsirt:fraud="phishing""#]) == ["phishing"])
        #expect(m.categories(for: [#"circl:incident-classification="scam""#]) == ["scam"])
        #expect(m.categories(for: [#"circl:incident-classification="fastflux""#]) == ["botnet-c2"])
        #expect(
            m.categories(for: [#"threats-to-dns:dns-abuse-or-misuse="malicious-activities-on-registered-domains-botnets-c2""#])
                == ["botnet-c2"])
        #expect(m.categories(for: [#"threats-to-dns:dns-abuse-or-misuse="malicious-dgas""#]) == ["newly-observed"])
        #expect(m.categories(for: [#"domain-abuse:domain-access-method="criminal-registration""#]) == ["malware"])
        #expect(m.categories(for: [#"phishing:techniques="email-spoofing""#]) == ["phishing"])
        #expect(m.categories(for: [#"dga:generation-scheme="arithmetic""#]) == ["newly-observed"])
        #expect(m.categories(for: [#"malware_classification:malware-category="Ransomware""#]) == ["malware"])
        #expect(m.categories(for: ["tlp:white", #"osint:source-type="blog-post""#, "misp-galaxy:tool=\"X-Agent\""]) == [])
        #expect(m.categories(for: ["phishingish:x=y"]) == [])
    }

    @Test func orderAndUniqueness() {
        let m = TagMapping()
        let tags = [#"rsit:fraud="phishing""#, #"ecsirt:malicious-code="malware""#, "ecsirt:fraud=phishing", #"circl:incident-classification="malware""#]
        #expect(m.categories(for: tags) == ["phishing", "malware"])
    }

    @Test func overridesWin() {
        let m = TagMapping(overrides: [
            #"rsit:fraud="phishing""#: "scam",
            "osint:": "custom",
            "misp-galaxy:": "malware",
            "dga": "none",
            "kill-chain:*": "malware",
            "workflow": "",
        ])
        #expect(m.categories(for: [#"rsit:fraud="phishing""#]) == ["scam"])
        #expect(m.categories(for: [#"osint:source-type="blog-post""#]) == ["custom"])
        #expect(m.categories(for: [#"misp-galaxy:tool="X-Agent""#]) == [])
        #expect(m.categories(for: ["dga:generation-scheme=x"]) == [])
        #expect(m.categories(for: ["kill-chain:Delivery"]) == ["malware"])
        #expect(m.categories(for: [#"workflow:state="incomplete""#]) == [])
        #expect(m.categories(for: [#"ecsirt:fraud="phishing""#]) == ["phishing"])
    }

    @Test func realEventTags() throws {
        let event = try MISPJSON.event(from: NormalizeFixtures.data("pymisp_existing_event.json"))
        #expect(TagMapping().categories(for: event.tags) == [])
        #expect(TLPTag.parse(event.tags) == "clear")
    }

    @Test func tlp() {
        #expect(TLPTag.parse([]) == nil)
        #expect(TLPTag.parse(["osint:x"]) == nil)
        #expect(TLPTag.parse(["tlp:white"]) == "clear")
        #expect(TLPTag.parse(["TLP:GREEN"]) == "green")
        #expect(TLPTag.parse(["tlp:green", "tlp:amber"]) == "amber")
        #expect(TLPTag.parse(["tlp:amber+strict", "tlp:green"]) == "amber+strict")
        #expect(TLPTag.parse(["tlp:amber-strict"]) == "amber+strict")
        #expect(TLPTag.parse(["tlp:red", "tlp:clear"]) == "red")
        #expect(TLPTag.parse(["tlp:\"amber\""]) == "amber")
        #expect(TLPTag.parse(["tlp:ex:chr", "tlp:unclear"]) == nil)
    }
}

@Suite struct DecayModelTests {
    let day: TimeInterval = 86400

    @Test func builtIns() {
        #expect(DecayModel.nidsSimple.lifetimeDays == 120)
        #expect(DecayModel.nidsSimple.decaySpeed == 2)
        #expect(DecayModel.nidsSimple.threshold == 30)
        #expect(DecayModel.nidsSimple.defaultBase == 80)
        #expect(DecayModel.phishing.lifetimeDays == 3)
        #expect(DecayModel.phishing.decaySpeed == 2.3)
        #expect(DecayModel.phishing.threshold == 30)
    }

    @Test func score() {
        let m = DecayModel.nidsSimple
        #expect(m.score(base: 80, elapsed: 0) == 80)
        #expect(m.score(base: 80, elapsed: -5) == 80)
        // 80 · (1 − (30/120)^(1/2)) = 80 · 0.5
        #expect(abs(m.score(base: 80, elapsed: 30 * day) - 40) < 1e-9)
        #expect(m.score(base: 80, elapsed: 120 * day) == 0)
        #expect(m.score(base: 80, elapsed: 500 * day) == 0)
        #expect(!m.isDecayed(base: 80, elapsed: 30 * day))
        #expect(m.isDecayed(base: 80, elapsed: 60 * day))
        #expect(m.isDecayed(base: 20, elapsed: 0))
        // Monotone.
        var last = 81.0
        for d in stride(from: 0.0, through: 130, by: 0.5) {
            let s = m.score(base: 80, elapsed: d * day)
            #expect(s <= last)
            last = s
        }
    }

    @Test func expiry() {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let m = DecayModel.nidsSimple
        // t = 120 · (1 − 30/80)^2 = 46.875 days
        let e = m.expiry(from: start, base: 80)
        #expect(abs(e.timeIntervalSince(start) - 46.875 * day) < 1e-3)
        #expect(abs(m.score(base: 80, elapsed: e.timeIntervalSince(start)) - 30) < 1e-6)
        #expect(!m.isDecayed(base: 80, elapsed: e.timeIntervalSince(start) - 60))
        #expect(m.isDecayed(base: 80, elapsed: e.timeIntervalSince(start) + 60))
        let p = DecayModel.phishing
        let pe = p.expiry(from: start, base: 80)
        #expect(abs(pe.timeIntervalSince(start) - 3 * day * pow(0.625, 2.3)) < 1e-3)
        #expect(abs(p.score(base: 80, elapsed: pe.timeIntervalSince(start)) - 30) < 1e-6)
        #expect(pe.timeIntervalSince(start) > day && pe.timeIntervalSince(start) < 1.1 * day)
        #expect(m.expiry(from: start, base: 30) == start)
        #expect(m.expiry(from: start, base: 10) == start)
        let never = DecayModel(lifetimeDays: 10, decaySpeed: 1, threshold: 0, defaultBase: 50)
        #expect(never.expiry(from: start, base: 50) == .distantFuture)
    }
}
