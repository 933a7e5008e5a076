import DNSWire
import Foundation
import NIOCore
import NIOPosix
import Policy
import Testing

@testable import RPZ

/// The transfer client against the primary's own listeners on loopback: AXFR, IXFR (the
/// journal, and the whole zone when history is gone), TSIG, and applying an IXFR to zone text.
@Suite struct TransferTests {
    static let key = TSIGKey(name: try! Name("xfr-key."), secret: Array("0123456789abcdef0123456789abcdef".utf8))

    /// Runs a primary for `body`, on a port the kernel picks.
    func withPrimary(
        engine: PolicyEngine, zones: [RPZZoneConfig], _ body: (RPZPublisher, SocketAddress) async throws -> Void
    ) async throws {
        let publisher = RPZPublisher(zones: zones, engine: engine)
        var server = RPZServer(responder: RPZResponder(publisher: publisher, keyring: TSIGKeyring([Self.key])))
        server.maxConnections = 8
        let (addresses, bound) = AsyncStream.makeStream(of: SocketAddress.self)
        let task = Task {
            try await server.run(address: try SocketAddress(ipAddress: "127.0.0.1", port: 0), group: MultiThreadedEventLoopGroup.singleton) {
                bound.yield($0)
            }
        }
        defer { task.cancel() }
        var it = addresses.makeAsyncIterator()
        let address = try #require(await it.next())
        try await body(publisher, address)
    }

    @Test func axfrIxfrAndApply() async throws {
        let engine = Rules.sample().engine()
        let apex = try Name("phishing.rpz.bulwark.")
        var z = zone(apex.description, [.phishing])
        z.requireKeys = [Self.key.name]
        try await withPrimary(engine: engine, zones: [z]) { publisher, address in
            let group = MultiThreadedEventLoopGroup.singleton
            var client = TransferClient(address: address, key: Self.key)
            client.timeout = .seconds(10)
            let s0 = try await client.serial(of: apex, group: group)
            let (serial, records) = try await client.axfr(apex, group: group)
            #expect(serial == s0)
            #expect(text(records) == text(await publisher.snapshot(0).records()))
            // Without the key: refused.
            let unsigned = TransferClient(address: address)
            await #expect(throws: RPZError.self) { try await unsigned.axfr(apex, group: group) }
            // Two changes, then IXFR from s0: the net change.
            var e = try engine.adding(name: try Name("one.example"), list: "phish-feed")
            await publisher.publish(e)
            e = try e.removing(name: try Name("evil.example"), list: "phish-feed")
            e = try e.adding(name: try Name("two.example"), match: .exact, list: "phish-feed")
            await publisher.publish(e)
            let s2 = await publisher.serial(0)
            guard case .incremental(let soa, let deleted, let added) = try await client.ixfr(apex, from: s0, group: group) else {
                Issue.record("expected an incremental answer")
                return
            }
            #expect(text(deleted) == ["*.evil.example.phishing.rpz.bulwark. CNAME .", "evil.example.phishing.rpz.bulwark. CNAME ."])
            #expect(
                text(added) == [
                    "*.one.example.phishing.rpz.bulwark. CNAME .", "one.example.phishing.rpz.bulwark. CNAME .",
                    "two.example.phishing.rpz.bulwark. CNAME .",
                ])
            // The zone text with the change applied equals a fresh AXFR.
            let applied = TransferClient.apply(to: TransferClient.zoneText(records), soa: soa, deleted: deleted, added: added)
            let fresh = try await client.axfr(apex, group: group)
            #expect(fresh.serial == s2)
            let lines = applied.split(separator: "\n").map(String.init).sorted()
            #expect(lines == TransferClient.zoneText(fresh.records).split(separator: "\n").map(String.init).sorted())
            // Current: nothing to take. History gone: the whole zone.
            guard case .current(let c) = try await client.ixfr(apex, from: s2, group: group) else {
                Issue.record("expected current")
                return
            }
            #expect(c == s2)
            guard case .full(let fs, let all) = try await client.ixfr(apex, from: s0 &- 100, group: group) else {
                Issue.record("expected a full answer")
                return
            }
            #expect(fs == s2 && text(all) == text(fresh.records))
        }
    }

    @Test func unknownZoneAndDeadPrimary() async throws {
        try await withPrimary(engine: Rules.sample().engine(), zones: [zone("phishing.rpz.", [.phishing])]) { _, address in
            let group = MultiThreadedEventLoopGroup.singleton
            let client = TransferClient(address: address)
            let other = try Name("other.rpz.")
            do {
                _ = try await client.axfr(other, group: group)
                Issue.record("an unknown zone transferred")
            } catch let error as RPZError {
                #expect(error.code == .transfer && error.reason.contains("REFUSED"))
            }
        }
        // Nobody listening: a clean error, no hang.
        var client = TransferClient(address: try SocketAddress(ipAddress: "127.0.0.1", port: 9))
        client.timeout = .seconds(2)
        await #expect(throws: RPZError.self) { try await client.axfr(try Name("phishing.rpz."), group: MultiThreadedEventLoopGroup.singleton) }
    }
}
