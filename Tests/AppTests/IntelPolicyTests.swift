import DNSWire
import Foundation
import Logging
import Policy
import Testing
import ThreatIntel

@testable import App

/// Threat-intel rules in the policy service: batches through the delta, full builds from the
/// hub's active rules, and no change lost when one arrives while a build reads them.
@Suite struct IntelPolicyTests {
    func service() throws -> (PolicyService, String) {
        var raw = try RawConfig.parseYAML("listen: [\"127.0.0.1:5300\"]\n")
        raw.upstreams = ["192.0.2.53:53"]
        let s = try Settings.make(raw, coreCount: 2, readFile: { _ in nil })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("intel-policy-\(UUID().uuidString)").path
        let (e, _, statuses, _) = PolicyService.initialEngine(settings: s.policy, dataDirectory: dir, logger: Logger(label: "t"))
        let p = PolicyService(settings: s.policy, dataDirectory: dir, initial: e, statuses: statuses, logger: Logger(label: "t"), publish: { _ in })
        return (p, dir)
    }

    func verdict(_ p: PolicyService, _ name: String) async -> String {
        await p.explain(name, profile: nil)?.verdict ?? "?"
    }

    @Test func deltaChangesAndFullBuilds() async throws {
        let (p, dir) = try service()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = IntelPolicyRule(value: "phish.example", kind: .domain, category: .phishing, id: 7)
        let h = IntelPolicyRule(value: "host.example", kind: .hostname, category: .malware, id: 8)
        let ip = IntelPolicyRule(value: "192.0.2.9", kind: .ip, category: .botnetC2, id: 9)
        await p.applyIntel(adding: [a, h, ip], removing: [])
        #expect(await verdict(p, "www.phish.example") == "blocked")
        #expect(await verdict(p, "host.example") == "blocked")
        #expect(await verdict(p, "www.host.example") == "not-listed")
        #expect(await verdict(p, "192.0.2.9") == "blocked")
        let x = await p.explain("phish.example", profile: nil)
        #expect(x?.extendedError == "15 Blocked: phishing; id=7")
        await p.applyIntel(adding: [], removing: [a])
        #expect(await verdict(p, "www.phish.example") == "not-listed")
        // A full build takes the hub's rules into the base; the delta is empty after it.
        await p.attachIntel { [h, ip] }
        await p.rebuildForIntel()
        #expect(await p.engine.delta.count == 0)
        #expect(await verdict(p, "host.example") == "blocked")
        #expect(await verdict(p, "phish.example") == "not-listed")
    }

    @Test func aChangeDuringABuildIsNotLost() async throws {
        let (p, dir) = try service()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let early = IntelPolicyRule(value: "early.example", kind: .domain, category: .malware, id: 1)
        let late = IntelPolicyRule(value: "late.example", kind: .domain, category: .malware, id: 2)
        // The hub returns the rules as they were; while it does, a new indicator arrives.
        await p.attachIntel { [p] in
            await p.applyIntel(adding: [late], removing: [early])
            return [early]
        }
        await p.rebuildForIntel()
        #expect(await verdict(p, "late.example") == "blocked")
        #expect(await verdict(p, "early.example") == "not-listed")
    }
}
