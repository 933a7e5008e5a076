import DNSWire
import Foundation
import Testing

@testable import App

@Suite struct DoTConfigTests {
    func error(_ yaml: String) -> String {
        do {
            var raw = try RawConfig.parseYAML(yaml)
            raw.upstreams = ["192.0.2.53:53"]
            raw.listen = ["127.0.0.1:5353"]
            _ = try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
            return "no error"
        } catch let e as AppError {
            return e.reason
        } catch {
            return "\(error)"
        }
    }

    @Test func dotSettingsGoTogether() throws {
        var raw = try RawConfig.parseYAML("dot: {listen: [\"127.0.0.1:853\", \"[::1]:853\"], certificate: /c.pem, private-key: /k.pem}")
        raw.upstreams = ["192.0.2.53:53"]
        let s = try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
        #expect(s.dot?.listen.count == 2 && s.dot?.certificate == "/c.pem" && s.dot?.privateKey == "/k.pem")
        #expect(error("dot: {listen: [\"127.0.0.1:853\"]}").contains("go together"))
        #expect(error("dot: {certificate: /c.pem, private-key: /k.pem}").contains("go together"))
        #expect(error("dot: {listen: [\"127.0.0.1:5353\"], certificate: /c.pem, private-key: /k.pem}").contains("also a plain DNS listener"))
        #expect(error("dot: {listen: [\"nowhere\"], certificate: /c.pem, private-key: /k.pem}").contains("dot.listen"))
    }
}

@Suite struct DoHTests {
    @Test func settings() throws {
        var raw = try RawConfig.parseYAML(
            "dot: {listen: [\"127.0.0.1:853\"], certificate: /c.pem, private-key: /k.pem}\ndoh: {listen: [\"127.0.0.1:443\"], path: /q}")
        raw.upstreams = ["192.0.2.53:53"]
        let s = try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
        #expect(s.doh?.certificate == "/c.pem" && s.doh?.path == "/q")
        raw.dohPath = "q"
        #expect(throws: AppError.self) { try Settings.make(raw, coreCount: 2, readFile: { _ in nil }) }
        raw.dohPath = nil
        raw.dohListen = ["127.0.0.1:853"]
        #expect(throws: AppError.self) { try Settings.make(raw, coreCount: 2, readFile: { _ in nil }) }
    }
}

@Suite struct DesignatedResolverTests {
    @Test func recordsFollowTheListeners() throws {
        var raw = try RawConfig.parseYAML(
            """
            dot: {listen: ["192.0.2.53:853", "[2001:db8::53]:853"], certificate: /c.pem, private-key: /k.pem}
            doh: {listen: ["192.0.2.53:8443"], path: /q}
            ddr: {name: dns.example.net}
            """)
        raw.upstreams = ["192.0.2.1:53"]
        let s = try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
        guard s.designatedResolvers.count == 2, case .svcb(let dot) = s.designatedResolvers[0], case .svcb(let doh) = s.designatedResolvers[1] else {
            Issue.record("expected two SVCB records: \(s.designatedResolvers)")
            return
        }
        #expect(dot.priority == 1 && dot.target.description == "dns.example.net.")
        #expect(dot.params.first { $0.key == RData.SvcParam.alpn }?.value == [3] + Array("dot".utf8))
        #expect(dot.params.first { $0.key == RData.SvcParam.port }?.value == [0x03, 0x55])
        #expect(dot.params.first { $0.key == RData.SvcParam.ipv4hint }?.value == [192, 0, 2, 53])
        #expect(dot.params.first { $0.key == RData.SvcParam.ipv6hint }?.value.count == 16)
        #expect(doh.params.first { $0.key == RData.SvcParam.dohpath }?.value == Array("/q{?dns}".utf8))
        raw.dotListen = nil
        raw.dotCertificate = nil
        raw.dotPrivateKey = nil
        raw.dohListen = nil
        raw.dohPath = nil
        #expect(throws: AppError.self) { try Settings.make(raw, coreCount: 2, readFile: { _ in nil }) }
    }
}
