import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Testing

@testable import Pipeline

/// `AccessList` over `ClientAddress`: IPv4 and IPv6 prefixes of every interesting length, and
/// IPv4-mapped clients (dual-stack sockets) matched against IPv4 entries.
struct AccessListTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cidr: String
        var client: String
        var allowed: Bool
        var testDescription: String { "\(client) in \(cidr): \(allowed)" }
    }

    static func client(_ text: String, port: Int = 5300) -> ClientAddress {
        ClientAddress(try! SocketAddress(ipAddress: text, port: port))
    }

    static let cases: [Case] = [
        // IPv4 /0, /1, /8, /24, /31, /32
        Case(cidr: "0.0.0.0/0", client: "1.2.3.4", allowed: true),
        Case(cidr: "0.0.0.0/0", client: "255.255.255.255", allowed: true),
        Case(cidr: "0.0.0.0/0", client: "::ffff:198.51.100.1", allowed: true),
        Case(cidr: "128.0.0.0/1", client: "128.0.0.0", allowed: true),
        Case(cidr: "128.0.0.0/1", client: "127.255.255.255", allowed: false),
        Case(cidr: "10.0.0.0/8", client: "10.0.0.0", allowed: true),
        Case(cidr: "10.0.0.0/8", client: "10.255.255.255", allowed: true),
        Case(cidr: "10.0.0.0/8", client: "11.0.0.0", allowed: false),
        Case(cidr: "10.0.0.0/8", client: "9.255.255.255", allowed: false),
        Case(cidr: "10.9.9.9/8", client: "10.1.1.1", allowed: true),  // host bits in the entry are ignored
        Case(cidr: "192.0.2.0/24", client: "192.0.2.255", allowed: true),
        Case(cidr: "192.0.2.0/24", client: "192.0.3.0", allowed: false),
        Case(cidr: "192.0.2.4/31", client: "192.0.2.5", allowed: true),
        Case(cidr: "192.0.2.4/31", client: "192.0.2.6", allowed: false),
        Case(cidr: "192.0.2.7/32", client: "192.0.2.7", allowed: true),
        Case(cidr: "192.0.2.7/32", client: "192.0.2.6", allowed: false),
        Case(cidr: "192.0.2.7/32", client: "192.0.2.8", allowed: false),
        Case(cidr: "192.0.2.7", client: "192.0.2.7", allowed: true),  // no length: a host
        // IPv4-mapped clients against IPv4 entries
        Case(cidr: "10.0.0.0/8", client: "::ffff:10.200.0.1", allowed: true),
        Case(cidr: "10.0.0.0/8", client: "::ffff:11.0.0.1", allowed: false),
        Case(cidr: "192.0.2.7/32", client: "::ffff:192.0.2.7", allowed: true),
        Case(cidr: "192.0.2.7/32", client: "::ffff:192.0.2.8", allowed: false),
        // …but not IPv4-compatible or NAT64 addresses, which are IPv6
        Case(cidr: "10.0.0.0/8", client: "::10.0.0.1", allowed: false),
        Case(cidr: "10.0.0.0/8", client: "64:ff9b::a00:1", allowed: false),
        // IPv4 entries never match IPv6 clients, and the reverse
        Case(cidr: "127.0.0.0/8", client: "::1", allowed: false),
        Case(cidr: "::1/128", client: "127.0.0.1", allowed: false),
        Case(cidr: "::/1", client: "10.0.0.1", allowed: false),
        // IPv6 /0, /1, /10, /32, /63, /64, /65, /96, /127, /128
        Case(cidr: "::/0", client: "2001:db8::1", allowed: true),
        Case(cidr: "::/0", client: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", allowed: true),
        Case(cidr: "8000::/1", client: "8000::", allowed: true),
        Case(cidr: "8000::/1", client: "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", allowed: false),
        Case(cidr: "fe80::/10", client: "fe80::1", allowed: true),
        Case(cidr: "fe80::/10", client: "febf:ffff::1", allowed: true),
        Case(cidr: "fe80::/10", client: "fec0::1", allowed: false),
        Case(cidr: "2001:db8::/32", client: "2001:db8:ffff:ffff::1", allowed: true),
        Case(cidr: "2001:db8::/32", client: "2001:db9::", allowed: false),
        Case(cidr: "2001:db8:1:2::/63", client: "2001:db8:1:3:ffff::1", allowed: true),
        Case(cidr: "2001:db8:1:2::/63", client: "2001:db8:1:4::", allowed: false),
        Case(cidr: "2001:db8:1:2::/64", client: "2001:db8:1:2::", allowed: true),
        Case(cidr: "2001:db8:1:2::/64", client: "2001:db8:1:2:ffff:ffff:ffff:ffff", allowed: true),
        Case(cidr: "2001:db8:1:2::/64", client: "2001:db8:1:3::", allowed: false),
        Case(cidr: "2001:db8:1:2::/64", client: "2001:db8:1:1:ffff:ffff:ffff:ffff", allowed: false),
        Case(cidr: "2001:db8:1:2:8000::/65", client: "2001:db8:1:2:8000::1", allowed: true),
        Case(cidr: "2001:db8:1:2:8000::/65", client: "2001:db8:1:2:ffff:ffff:ffff:ffff", allowed: true),
        Case(cidr: "2001:db8:1:2:8000::/65", client: "2001:db8:1:2:7fff:ffff:ffff:ffff", allowed: false),
        Case(cidr: "2001:db8:1:2:8000::/65", client: "2001:db8:1:3:8000::", allowed: false),
        Case(cidr: "2001:db8:1:2::/65", client: "2001:db8:1:2:7fff::1", allowed: true),
        Case(cidr: "2001:db8:1:2::/65", client: "2001:db8:1:2:8000::", allowed: false),
        Case(cidr: "2001:db8::/96", client: "2001:db8::ffff:ffff", allowed: true),
        Case(cidr: "2001:db8::/96", client: "2001:db8::1:0:0", allowed: false),
        Case(cidr: "2001:db8::2/127", client: "2001:db8::3", allowed: true),
        Case(cidr: "2001:db8::2/127", client: "2001:db8::4", allowed: false),
        Case(cidr: "2001:db8::1/128", client: "2001:db8::1", allowed: true),
        Case(cidr: "2001:db8::1/128", client: "2001:db8::2", allowed: false),
        Case(cidr: "2001:db8::1/128", client: "2001:db8::1:0:0:1", allowed: false),
        Case(cidr: "2001:db8::1/128", client: "3001:db8::1", allowed: false),
    ]

    @Test(arguments: cases)
    func entryAgainstClient(_ c: Case) throws {
        let cidr = try #require(CIDR(c.cidr))
        let acl = AccessList(allow: [cidr])
        let client = Self.client(c.client)
        #expect(acl.allows(client) == c.allowed)
        // The SocketAddress overload and the port make no difference.
        #expect(acl.allows(try SocketAddress(ipAddress: c.client, port: 1)) == c.allowed)
        #expect(acl.allows(Self.client(c.client, port: 65535)) == c.allowed)
        // The table agrees with CIDR.contains, DNSWire's reference for "this prefix holds that address".
        #expect(cidr.contains(IPAddress(c.client)!) == c.allowed, "table vs CIDR.contains")
    }

    @Test func severalEntriesAnyMatchAllows() {
        let acl = AccessList(allow: ["192.0.2.0/24", "2001:db8::/32", "10.1.0.0/16"].map { CIDR($0)! })
        #expect(acl.allows(Self.client("192.0.2.1")))
        #expect(acl.allows(Self.client("10.1.200.1")))
        #expect(acl.allows(Self.client("::ffff:10.1.0.1")))
        #expect(acl.allows(Self.client("2001:db8:5::5")))
        #expect(!acl.allows(Self.client("10.2.0.1")))
        #expect(!acl.allows(Self.client("2001:db9::1")))
        #expect(!acl.allows(Self.client("::1")))
    }

    @Test func emptyListRefusesEveryoneButUnixSockets() throws {
        let acl = AccessList(allow: [])
        #expect(!acl.allows(Self.client("127.0.0.1")))
        #expect(!acl.allows(Self.client("::1")))
        #expect(acl.allows(ClientAddress(try SocketAddress(unixDomainSocketPath: "/tmp/bulwark-acl.sock"))))
    }

    @Test func defaultAllowIsLoopbackAndPrivateNetworks() {
        let acl = AccessList(allow: AccessList.defaultAllow)
        for inside in [
            "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.9.9",
            "100.64.0.1", "100.127.255.255", "::1", "fc00::1", "fdff::1", "fe80::1", "::ffff:192.168.0.10",
        ] {
            #expect(acl.allows(Self.client(inside)), "\(inside) should be allowed")
        }
        for outside in [
            "8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1", "203.0.113.9", "::2",
            "2001:db8::1", "fe00::1", "fec0::1", "::ffff:8.8.8.8",
        ] {
            #expect(!acl.allows(Self.client(outside)), "\(outside) should be refused")
        }
    }

    /// CIDR.contains documents that `::ffff:10.0.0.0/104` contains 10.1.2.3; an ACL entry written
    /// that way never matches, because clients are unmapped to IPv4 and the entry stays IPv6.
    @Test func ipv4MappedEntryMatchesTheIPv4Clients() throws {
        let cidr = try #require(CIDR("::ffff:10.0.0.0/104"))
        #expect(cidr.contains(IPAddress("10.1.2.3")!))
        let acl = AccessList(allow: [cidr])
        #expect(acl.allows(Self.client("10.1.2.3")), "BUG: IPv4-mapped ACL entries never match")
        #expect(acl.allows(Self.client("::ffff:10.1.2.3")), "BUG: IPv4-mapped ACL entries never match")
        #expect(!acl.allows(Self.client("11.0.0.1")))
    }

    /// `0.0.0.0/0` is every IPv4 address; it should not open the resolver to every IPv6 client
    /// (nor `::/0` to every IPv4 client): CIDR.contains says no, AccessList says yes.
    @Test func zeroPrefixOfOneFamilyDoesNotAdmitTheOther() throws {
        let v4All = try #require(CIDR("0.0.0.0/0"))
        let v6All = try #require(CIDR("::/0"))
        #expect(!v4All.contains(IPAddress("2001:db8::1")!))
        #expect(!v6All.contains(IPAddress("192.0.2.1")!))
        #expect(!AccessList(allow: [v4All, CIDR("::1/128")!]).allows(Self.client("2001:db8::1")), "BUG: 0.0.0.0/0 admits IPv6")
        #expect(!AccessList(allow: [v6All]).allows(Self.client("192.0.2.1")), "BUG: ::/0 admits IPv4")
    }

    /// `CIDR(address:prefixLength:)` does not validate, and CIDR.contains clamps lengths beyond the
    /// family's; AccessList turns them into a negative shift and traps (crashing the server on the
    /// first query). Disabled because the trap would end the test process.
    @Test
    func overlongPrefixIsClampedNotATrap() {
        let v4 = CIDR(address: .v4(IPv4Address("192.0.2.7")!), prefixLength: 40)
        #expect(v4.contains(IPAddress("192.0.2.7")!))
        #expect(AccessList(allow: [v4]).allows(Self.client("192.0.2.7")))
        let v6 = CIDR(address: .v6(IPv6Address("2001:db8::1")!), prefixLength: 200)
        #expect(AccessList(allow: [v6]).allows(Self.client("2001:db8::1")))
    }
}
