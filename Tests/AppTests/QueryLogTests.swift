import Crypto
import DNSTransport
import DNSWire
import Foundation
import Pipeline
import Policy
import Storage
import Testing

@testable import App

/// The opt-in query log's client column: never the address; a keyed hash whose key changes
/// every day, or the /24 or /56 network.
@Suite struct QueryLogTests {
    static let engine = PolicyEngine(snapshot: SnapshotBuilder().finish())

    static func record(_ client: ClientAddress) throws -> QueryLogRecord {
        QueryLogRecord(
            time: 1_800_000_000, tenant: 1, name: try Name("x.example").wire, type: 1, rcode: 3, blocked: true, transport: .udp, client: client)
    }

    static func client(_ key: SymmetricKey, _ address: ClientAddress, form: QueryLogClient = .hmac) throws -> String {
        try #require(QueryLogWriter.entry(try record(address), engine: engine, key: key, form: form)).client
    }

    static let v4 = ClientAddress(v4: 0xCB00_7109, port: 5353)  // 203.0.113.9
    static let v6 = ClientAddress(v6: [0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0xbb, 0xcc, 0, 0xdd, 0, 0, 0, 0, 0, 1], port: 5353)

    @Test func keyedHashChangesWithTheDay() throws {
        let today = QueryLogWriter.key(for: 20_000, current: nil)
        let first = try Self.client(today.1, Self.v4)
        #expect(first.count == 16 && first.allSatisfy(\.isHexDigit) && !first.contains("203"))
        // Within the day: the same key, so the same value for the same client, another for another.
        let again = QueryLogWriter.key(for: 20_000, current: today)
        #expect(try Self.client(again.1, Self.v4) == first)
        #expect(try Self.client(again.1, ClientAddress(v4: 0xCB00_710A, port: 5353)) != first)
        // The next day: a new random key, so nothing links the two days.
        let tomorrow = QueryLogWriter.key(for: 20_001, current: today)
        #expect(tomorrow.0 == 20_001)
        #expect(try Self.client(tomorrow.1, Self.v4) != first)
    }

    @Test func truncatedToTheNetwork() throws {
        let key = SymmetricKey(size: .bits256)
        #expect(try Self.client(key, Self.v4, form: .truncated) == "203.0.113.0/24")
        #expect(try Self.client(key, Self.v6, form: .truncated) == "2001:db8:aaaa:bb00::/56")
        let mapped = ClientAddress(v6: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 51, 100, 7], port: 1)
        #expect(try Self.client(key, mapped, form: .truncated) == "198.51.100.0/24")
    }

    @Test func clientFormIsConfigured() throws {
        var raw = RawConfig()
        raw.upstreams = ["192.0.2.53:53"]
        #expect(try Settings.make(raw, coreCount: 1, readFile: { _ in nil }).queryLogClient == .hmac)
        raw.queryLogClient = "truncated"
        #expect(try Settings.make(raw, coreCount: 1, readFile: { _ in nil }).queryLogClient == .truncated)
        raw.queryLogClient = "plain"
        #expect(throws: AppError.self) { try Settings.make(raw, coreCount: 1, readFile: { _ in nil }) }
    }
}
