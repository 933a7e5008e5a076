import DNSWire
import Foundation
import Policy
import RPZ
import Testing

@testable import App

@Suite struct RPZConfigTests {
    func settings(_ yaml: String) throws -> Settings {
        var raw = try RawConfig.parseYAML(yaml)
        raw.upstreams = ["192.0.2.53:53"]
        raw.listen = ["127.0.0.1:5353"]
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

    static let secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

    @Test func defaultsOneZonePerCategory() throws {
        let s = try #require(try settings("rpz: {listen: 127.0.0.1:5300}").rpz)
        #expect(s.zones.map(\.apex.description).contains("phishing.rpz.bulwark."))
        #expect(s.zones.count == Policy.Category.allCases.count)
        let z = try #require(s.zones.first { $0.apex.description == "adult.rpz.bulwark." })
        #expect(z.categories == CategorySet(.adult) && z.action == .nxdomain && z.ttl == 60 && z.maxTLP == .amber)
        #expect(z.allowsTransfer(from: IPAddress("127.0.0.1")!) && !z.allowsTransfer(from: IPAddress("192.0.2.1")!))
    }

    @Test func zonesKeysNotifyAndDefaults() throws {
        let s = try #require(
            try settings(
                """
                rpz:
                  listen: "[::1]:5300"
                  action: nodata
                  ttl: 5m
                  allow-transfer: [198.51.100.0/24]
                  keys:
                    - {name: telco-a, secret: "\(Self.secret)"}
                  zones:
                    - {name: threats.rpz.example, categories: [threats], require-key: [telco-a], notify: ["192.0.2.53:5301 key telco-a", "[2001:db8::53]:53"]}
                    - {name: feed.rpz.example., lists: [cert-xx], action: sinkhole, max-tlp: red, file: /tmp/feed.rpz}
                """
            ).rpz)
        #expect(s.keys.map(\.name.description) == ["telco-a."] && s.keys[0].algorithm == .hmacSHA256)
        let t = s.zones[0]
        #expect(t.apex.description == "threats.rpz.example." && t.categories == .threats && t.action == .nodata && t.ttl == 300)
        #expect(t.requireKeys.map(\.description) == ["telco-a."])
        #expect(t.notify.map(\.description) == ["192.0.2.53:5301", "[2001:db8::53]:53"] && t.notify[0].key?.description == "telco-a.")
        #expect(t.allowsTransfer(from: IPAddress("198.51.100.7")!) && !t.allowsTransfer(from: IPAddress("127.0.0.1")!))
        let f = s.zones[1]
        #expect(f.lists == ["cert-xx"] && f.action == .sinkhole && f.maxTLP == .red && s.files[f.apex] == "/tmp/feed.rpz")
        #expect(f.sinkholeV4 != nil)
    }

    @Test func zoneOfAProfile() throws {
        let s = try #require(
            try settings(
                """
                policy:
                  sources:
                    - {name: noisy, path: /lists/noisy.txt, format: domains, categories: [adult]}
                  profiles:
                    - {name: school, categories: [threats, adult, gambling], exclude-lists: [noisy]}
                rpz:
                  listen: 127.0.0.1:5300
                  zones: [{name: school.rpz., profile: school}]
                """
            ).rpz)
        #expect(s.zones[0].categories == CategorySet.threats.union(CategorySet([.adult, .gambling])))
        #expect(s.zones[0].excludedLists == ["noisy"])
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{name: a., profile: nope}]}").contains("no profile named 'nope'"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{name: a., profile: protective, categories: [adult]}]}").contains("takes the place"))
    }

    @Test func followedZonesNeedTheirKey() throws {
        let s = try settings(
            """
            rpz:
              keys: [{name: k1, algorithm: hmac-sha512, secret: "\(Self.secret)"}]
            policy:
              sources:
                - {name: provider, url: "axfr://192.0.2.10:53/feed.rpz.example?key=k1", categories: [malware]}
            """)
        #expect(s.rpz?.listen == nil)
        #expect(s.policy.sources[0].format == .rpz && s.policy.transferKeys.count == 1)
        let t = try #require(TransferSource("axfr://192.0.2.10:53/feed.rpz.example?key=k1"))
        #expect(t.zone.description == "feed.rpz.example." && t.key?.description == "k1." && t.address.port == 53)
        #expect(TransferSource("axfr://192.0.2.10:53/") == nil && TransferSource("axfr://nohost/zone") == nil)
        #expect(
            error(
                """
                policy:
                  sources:
                    - {name: provider, url: "axfr://192.0.2.10:53/feed.rpz.example?key=nokey", categories: [malware]}
                """
            ).contains("no key named 'nokey.'"))
    }

    @Test func badValuesNameTheirKey() {
        #expect(error("rpz: {listen: 127.0.0.1:5353}").contains("also a DNS listener"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, colour: red}").contains("unknown key 'rpz.colour'"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, action: explode}").contains("rpz.zones[0].action"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{categories: [malware]}]}").contains("rpz.zones[0].name"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{name: a., categories: [nope]}]}").contains("unknown category 'nope'"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{name: a., notify: [\"192.0.2.1:53 key ghost\"]}]}").contains("no key named 'ghost'"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, zones: [{name: a.}, {name: A.}]}").contains("defined twice"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, keys: [{name: k, secret: short}]}").contains("rpz.keys[0].secret"))
        #expect(error("rpz: {listen: 127.0.0.1:5300, allow-transfer: [not-an-ip]}").contains("allow-transfer"))
    }
}
