import DNSTestSupport
import DNSWire
import NIOCore
import Policy
import Resolver
import Testing

@testable import Pipeline

/// EDNS Client Subnet (RFC 7871): never sent by default, not even when the client sends one;
/// with `ecs: true` on the profile, the client's address cut to /24 or /56, and answers cached
/// per subnet.
struct ClientSubnetTests {
    typealias P = TestPackets

    static let record = P.a("www.example.com", "192.0.2.1", ttl: 300)
    static func answering(_ q: Message) -> FakeUpstream.Reply { .answer(P.answer(to: q, answers: [record])) }

    static func engine(ecs: Bool) -> PolicyEngine {
        var profiles = Profile.builtIn
        profiles[profiles.firstIndex { $0.name == "protective" }!].ecs = ecs
        return PolicyEngine(snapshot: SnapshotBuilder().finish(), profiles: profiles)
    }

    static let everyone = [CIDR("0.0.0.0/0")!, CIDR("::/0")!]
    static func client(_ ip: String) -> SocketAddress { try! SocketAddress(ipAddress: ip, port: 40000) }

    @Test func sentPerProfileCutAndCachedPerSubnet() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address], policy: (Self.engine(ecs: true), "protective"), allow: Self.everyone)
                func sent() -> ClientSubnet? { fake.received.last?.message.edns?.clientSubnet }

                #expect(try await h.response(P.query("www.example.com", edns: EDNS()), from: Self.client("203.0.113.9")).answers == [Self.record])
                #expect(sent() == ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [203, 0, 113]))
                // Same /24: answered from the cache. Another /24: asked again, with its subnet.
                _ = try await h.response(P.query("www.example.com"), from: Self.client("203.0.113.200"))
                #expect(fake.totalQueries == 1)
                _ = try await h.response(P.query("www.example.com"), from: Self.client("198.51.100.7"))
                #expect(fake.totalQueries == 2)
                #expect(sent() == ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [198, 51, 100]))
                // IPv6: /56. IPv4-mapped addresses count as IPv4.
                _ = try await h.response(P.query("www.example.com"), from: Self.client("2001:db8:aaaa:bbcc:dd::1"))
                #expect(sent() == ClientSubnet(family: 2, sourcePrefix: 56, scopePrefix: 0, address: [0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0xbb]))
                _ = try await h.response(P.query("www.example.com"), from: Self.client("::ffff:192.0.2.77"))
                #expect(sent() == ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [192, 0, 2]))
                #expect(fake.totalQueries == 4)
                // A client that asks for no subnet (its own option with source prefix 0, RFC 7871
                // §7.1.2) gets none, and shares the answer of everyone without one.
                let optOut = EDNS(options: [.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 0, scopePrefix: 0, address: []))])
                _ = try await h.response(P.query("www.example.com", edns: optOut), from: Self.client("203.0.113.9"))
                #expect(fake.totalQueries == 5)
                #expect(sent() == nil)
            }
        }
    }

    @Test func neverSentByDefaultNorPassedOn() async throws {
        try await withEventLoop { loop in
            try await withFakeUpstream(Self.answering) { fake in
                let h = try await LiveHarness(loop: loop, upstreams: [fake.address], policy: (Self.engine(ecs: false), "protective"), allow: Self.everyone)
                let own = EDNS(options: [.clientSubnet(ClientSubnet(family: 1, sourcePrefix: 32, scopePrefix: 0, address: [203, 0, 113, 9]))])
                _ = try await h.response(P.query("www.example.com", edns: own), from: Self.client("203.0.113.9"))
                #expect(fake.totalQueries == 1)
                #expect(fake.received.last?.message.edns?.clientSubnet == nil)
                // Every client shares one cache entry.
                _ = try await h.response(P.query("www.example.com"), from: Self.client("198.51.100.7"))
                #expect(fake.totalQueries == 1)
            }
        }
    }

    @Test func tagsRoundTrip() {
        #expect(ClientSubnetTag.option(0) == nil)
        #expect(ClientSubnetTag.option(ClientSubnetTag.ipv4(0xC000_02FF))?.address == [192, 0, 2])
        let t = ClientSubnetTag.ipv6(high: 0x2001_0db8_1234_56ff)
        #expect(ClientSubnetTag.option(t)?.address == [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56])
        #expect(t != ClientSubnetTag.ipv4(0x2001_0db8))
    }
}
