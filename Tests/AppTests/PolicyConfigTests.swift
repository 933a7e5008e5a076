import DNSWire
import Foundation
import Policy
import Testing

@testable import App

@Suite struct PolicyConfigTests {
    func settings(_ yaml: String) throws -> Settings {
        var raw = try RawConfig.parseYAML(yaml)
        raw.upstreams = ["192.0.2.53:53"]
        return try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
    }

    func error(_ yaml: String) -> String {
        do {
            _ = try settings(yaml)
            return "no error"
        } catch let e as AppError {
            return e.reason
        } catch {
            return "\(error)"
        }
    }

    @Test func sourcesAndProfilesValidate() throws {
        let s = try settings(
            """
            listen: ["127.0.0.1:5300"]
            policy:
              default-profile: protective-ads
              block-ttl: 30
              sinkhole: {ipv4: 192.0.2.1, ipv6: "2001:db8::1"}
              sources:
                - {name: feed, path: /lists/a.txt, format: domains, categories: [phishing, malware], tlp: "TLP:AMBER", source: CERT-XX}
                - {name: top, url: "https://example.org/tranco.json", format: warninglist, refresh: 600}
                - {name: z, path: /lists/threats.rpz, categories: [malware], audit: true}
              profiles:
                - {name: protective-child, listen: ["127.0.0.1:5302", "127.0.0.1:5300"]}
                - {name: school, categories: [threats, gambling], action: sinkhole, listen: ["127.0.0.1:5310"], exclude-lists: [z]}
            """)
        let p = s.policy
        #expect(p.sources.map(\.name) == ["feed", "top", "z"])
        #expect(p.sources[0].info.categories == CategorySet([.phishing, .malware]))
        #expect(p.sources[0].info.tlp == .amber && p.sources[0].info.source == "CERT-XX")
        #expect(p.sources[1].info.allow && p.sources[1].refresh == 600 && p.sources[1].location == .url("https://example.org/tranco.json"))
        #expect(p.sources[2].format == .rpz && p.sources[2].info.audit)
        #expect(p.config.blockTTL == 30 && p.config.sinkholeV4 == IPv4Address("192.0.2.1"))
        #expect(p.profiles[p.defaultProfile].name == "protective-ads")
        let school = try #require(p.profiles.first { $0.name == "school" })
        #expect(school.categories == CategorySet.threats.union(CategorySet(.gambling)) && school.action == .sinkhole)
        #expect(school.excludedLists == ["z"])
        // Listeners: the plain listen address is rebound to the child profile, two are added.
        #expect(s.listen.count == 3)
        let names = s.listenerProfiles.map { p.profiles[$0].name }
        #expect(names == ["protective-child", "protective-child", "school"])
    }

    @Test func badPolicyConfigurationIsAClearError() {
        #expect(error("policy: {sources: [{name: a, path: /x, format: domains}]}").contains("categories: at least one"))
        #expect(error("policy: {sources: [{name: a, path: /x, format: nope, categories: [malware]}]}").contains("format: one of"))
        #expect(error("policy: {sources: [{name: a, path: /x, format: domains, categories: [evil]}]}").contains("unknown category 'evil'"))
        #expect(error("policy: {sources: [{name: a, path: /x, url: 'http://x', format: domains, categories: [malware]}]}").contains("exactly one of path and url"))
        #expect(error("policy: {sources: [{name: a, path: /x, format: domains, categories: [malware], colour: red}]}").contains("unknown key 'colour'"))
        #expect(error("policy: {sources: [{name: a, path: /x, format: domains, categories: [malware]}, {name: a, path: /y, format: domains, categories: [malware]}]}").contains("used twice"))
        #expect(error("policy: {sources: [{name: local-block, path: /x, format: domains, categories: [malware]}]}").contains("reserved"))
        #expect(error("policy: {sources: [{name: a, url: 'ftp://x', format: domains, categories: [malware]}]}").contains("http://"))
        #expect(error("policy: {default-profile: nope}").contains("no profile named 'nope'"))
        #expect(error("policy: {profiles: [{name: custom}]}").contains("needs categories"))
        #expect(error("policy: {profiles: [{name: protective, action: explode}]}").contains("action:"))
        #expect(error("policy: {profiles: [{name: protective, lists: [ghost]}]}").contains("no source named 'ghost'"))
        #expect(error("policy: {block-ttl: 999999}").contains("block-ttl"))
        #expect(error("policy: {sinkhole: {ipv4: '::1'}}").contains("not an IPv4"))
    }

    @Test func environmentSetsScalarPolicyKeys() throws {
        let raw = try RawConfig.fromEnvironment(["BULWARK_POLICY_DEFAULT_PROFILE": "unfiltered", "BULWARK_POLICY_BLOCK_TTL": "5"])
        var r = raw
        r.upstreams = ["192.0.2.53:53"]
        let s = try Settings.make(r, coreCount: 1, readFile: { _ in nil })
        #expect(s.policy.profiles[s.policy.defaultProfile].name == "unfiltered")
        #expect(s.policy.config.blockTTL == 5)
    }
}
