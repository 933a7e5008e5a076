import DNSTestSupport
import DNSWire
import Testing

@testable import Pipeline

/// LocalData: localhost and invalid are answered here and never forwarded (RFC 6761).
struct LocalDataTests {
    typealias P = TestPackets

    @Test(arguments: ["localhost", "LocalHost", "www.localhost"])
    func localhostA(_ name: String) throws {
        let h = Harness()
        let m = try h.response(P.query(name, .a, id: 11))
        #expect(m.rcode == .noError)
        #expect(m.header.id == 11)
        #expect(m.header.authoritative)
        #expect(m.answers.map(\.rdata) == [.a(IPv4Address("127.0.0.1")!)])
        #expect(m.answers.map(\.name.wire) == [P.name(name).wire])
        #expect(m.questions.map(\.name.wire) == [P.name(name).wire])
        // Answered locally, not from the cache or upstream.
        #expect(h.stats.stats.cacheMisses == 0)
        #expect(h.cache.count == 0)
    }

    @Test func localhostAAAA() throws {
        let h = Harness()
        let m = try h.response(P.query("localhost", .aaaa))
        #expect(m.rcode == .noError)
        #expect(m.answers.map(\.rdata) == [.aaaa(IPv6Address("::1")!)])
    }

    @Test func localhostOtherTypeIsNODATAWithSOA() throws {
        let h = Harness()
        let m = try h.response(P.query("localhost", .mx))
        #expect(m.rcode == .noError)
        #expect(m.answers.isEmpty)
        #expect(m.authorities.map(\.type) == [.soa])
    }

    @Test(arguments: ["invalid", "foo.invalid", "A.B.INVALID"])
    func invalidIsNXDOMAIN(_ name: String) throws {
        let h = Harness()
        let m = try h.response(P.query(name, .a, id: 12))
        #expect(m.rcode == .nxDomain)
        #expect(m.header.id == 12)
        #expect(m.answers.isEmpty)
        #expect(m.authorities.map(\.type) == [.soa])
        #expect(h.stats.stats.cacheMisses == 0)
    }

    @Test(arguments: ["resolver.arpa", "x.Resolver.ARPA", "_dns.resolver.arpa"])
    func resolverArpaIsAnsweredHere(_ name: String) throws {
        let h = Harness()
        let m = try h.response(P.query(name, .a))
        #expect(m.rcode == (name == "_dns.resolver.arpa" ? .noError : .nxDomain))
        #expect(m.answers.isEmpty && m.authorities.map(\.type) == [.soa])
        #expect(h.stats.stats.cacheMisses == 0)
    }

    @Test(arguments: [
        "localhost.example.com", "notlocalhost", "invalid.example", "xinvalid", "example.com", "local", "invalie",
        "2.0.192.in-addr.arpa", "arpa", "resolvers.arpa", "resolver.arpa.example", "example.info",
    ])
    func otherNamesGoOn(_ name: String) throws {
        let h = Harness()
        // Reaches Resolve (no upstream here): SERVFAIL.
        #expect(try h.response(P.query(name, .a)).rcode == .servFail)
        #expect(h.stats.stats.cacheMisses == 1)
    }
}
