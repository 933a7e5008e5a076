import DNSTestSupport
import Testing

@testable import DNSWire

@Suite("Addresses")
struct AddressTests {
    @Test("IPv4 text parses and prints")
    func ipv4() {
        #expect(IPv4Address("192.0.2.1")?.value == 0xC000_0201)
        #expect(IPv4Address("0.0.0.0")?.value == 0)
        #expect(IPv4Address("255.255.255.255")?.value == .max)
        #expect(IPv4Address("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPv4Address(0x7F00_0001).description == "127.0.0.1")
        #expect(IPv4Address(bytes: [10, 0, 0, 1]).description == "10.0.0.1")
        #expect(IPv4Address("10.0.0.1")! < IPv4Address("10.0.0.2")!)
    }

    @Test(
        "malformed IPv4 text is rejected",
        arguments: [
            "", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "1.2.3.", ".1.2.3", "a.b.c.d", "1.2.3.-4", "+1.2.3.4",
            "1.2.3.+4", "01.2.3.4", "1.2.3.04", "1.2.3.0004", " 1.2.3.4", "1.2.3.4 ", "١.2.3.4",
        ])
    func ipv4Bad(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test(
        "IPv6 text prints in RFC 5952 canonical form",
        arguments: [
            // (input, canonical output)
            ("2001:db8::1", "2001:db8::1"),
            ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            // §4.2.2: a single zero group is not shortened.
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            // §4.2.3: the longest run is shortened; on a tie, the first.
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:2:3:4:5:6::", "1:2:3:4:5:6::"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
            ("fe80::1%eth0", "fe80::1"),
            // §4.3: lowercase; §4.1: no leading zeros.
            ("2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:0AAA", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaa"),
            // §5: IPv4-mapped addresses keep the dotted quad.
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
            ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
            ("::1.2.3.4", "::102:304"),
            ("::ffff:0:1", "::ffff:0.0.0.1"),
            ("::fffe:0:1", "::fffe:0:1"),
            ("0:0:0:0:1:ffff:0:1", "::1:ffff:0:1"),
        ])
    func ipv6(_ input: String, _ canonical: String) throws {
        let a = try #require(IPv6Address(input))
        #expect(a.description == canonical)
        #expect(IPv6Address(canonical) == a)
    }

    @Test(
        "malformed IPv6 text is rejected",
        arguments: [
            "", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
            "12345::", "g::", ":1::", "1::2:", "1:2:3:4:5:6:7:8:", "1.2.3.4::", "1.2.3.4:1::", "::1.2.3", "::ffff:256.0.0.1",
            "+1::", "::-1", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "[::1]",
        ])
    func ipv6Bad(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("every group pattern formats canonically and parses back")
    func ipv6Exhaustive() throws {
        // All 256 patterns of zero and non-zero groups.
        for mask in 0..<256 {
            var bytes = [UInt8](repeating: 0, count: 16)
            for g in 0..<8 where mask & (1 << g) != 0 { bytes[2 * g + 1] = UInt8(g + 1) }
            let a = IPv6Address(bytes: bytes)
            let text = a.description
            #expect(IPv6Address(text) == a, "\(text)")
            #expect(!text.contains(":::"))
            #expect(text.ranges(of: "::").count <= 1)
            // A lone zero group is never written as "::".
            if text.contains("::") {
                let written = text.split(separator: ":", omittingEmptySubsequences: true).count
                let dotted = text.contains(".") ? 1 : 0
                #expect(8 - written - dotted >= 2, "\(text)")
            }
        }
    }

    @Test("random addresses print and parse back; CIDR contains its own network")
    func randomAddresses() throws {
        var rng = SplitMix64(seed: 5952)
        for _ in 0..<2_000 {
            // Mostly sparse addresses, so zero runs of every length occur.
            var bytes = (0..<16).map { _ in Int.random(in: 0..<3, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng) : 0 }
            if Int.random(in: 0..<8, using: &rng) == 0 {
                bytes.replaceSubrange(0..<12, with: [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF])
            }
            let v6 = IPv6Address(bytes: bytes)
            #expect(IPv6Address(v6.description) == v6, "\(v6.description)")
            #expect(v6.description == v6.description.lowercased())

            let v4 = IPv4Address(UInt32(truncatingIfNeeded: rng.next()))
            #expect(IPv4Address(v4.description) == v4)

            let bits = Int.random(in: 0...32, using: &rng)
            let mask: UInt32 = bits == 0 ? 0 : ~0 << UInt32(32 - bits)
            let net = try #require(CIDR("\(IPv4Address(v4.value & mask))/\(bits)"))
            #expect(net.contains(.v4(v4)))
            #expect(net.contains(.v6(IPv6Address("::ffff:\(v4)")!)))
            if bits > 0 {
                // Flipping the last bit inside the prefix leaves the network.
                let outside = IPv4Address(v4.value ^ (1 << UInt32(32 - bits)))
                #expect(!net.contains(.v4(outside)))
            }
        }
    }

    @Test("IPAddress picks the family and unmaps IPv4-mapped IPv6")
    func ipAddress() {
        #expect(IPAddress("192.0.2.1") == .v4(IPv4Address("192.0.2.1")!))
        #expect(IPAddress("2001:db8::1") == .v6(IPv6Address("2001:db8::1")!))
        #expect(IPAddress("nope") == nil)
        #expect(IPAddress("::ffff:192.0.2.1")?.unmapped == .v4(IPv4Address("192.0.2.1")!))
        #expect(IPAddress("::192.0.2.1")?.unmapped == IPAddress("::192.0.2.1"))
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress("::1")?.description == "::1")
    }

    @Test("CIDR parses, prints and checks containment")
    func cidr() throws {
        let net = try #require(CIDR("192.0.2.0/24"))
        #expect(net.prefixLength == 24)
        #expect(net.description == "192.0.2.0/24")
        #expect(net.contains(IPAddress("192.0.2.0")!))
        #expect(net.contains(IPAddress("192.0.2.255")!))
        #expect(!net.contains(IPAddress("192.0.3.0")!))
        #expect(!net.contains(IPAddress("2001:db8::1")!))
        // IPv4-mapped IPv6 clients match IPv4 prefixes.
        #expect(net.contains(IPAddress("::ffff:192.0.2.77")!))
        #expect(!net.contains(IPAddress("::ffff:192.0.3.77")!))
        // ...and IPv4-mapped IPv6 prefixes match IPv4 clients.
        let mapped = try #require(CIDR("::ffff:10.0.0.0/104"))
        #expect(mapped.contains(IPAddress("10.1.2.3")!))
        #expect(mapped.contains(IPAddress("::ffff:10.1.2.3")!))
        #expect(!mapped.contains(IPAddress("11.1.2.3")!))

        let odd = try #require(CIDR("10.0.0.0/9"))
        #expect(odd.contains(IPAddress("10.127.255.255")!))
        #expect(!odd.contains(IPAddress("10.128.0.0")!))

        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        #expect(!v6.contains(IPAddress("192.0.2.1")!))
        let v6odd = try #require(CIDR("2001:db8:8000::/33"))
        #expect(v6odd.contains(IPAddress("2001:db8:8000::1")!))
        #expect(!v6odd.contains(IPAddress("2001:db8:7fff::1")!))

        #expect(try #require(CIDR("0.0.0.0/0")).contains(IPAddress("203.0.113.9")!))
        #expect(try #require(CIDR("::/0")).contains(IPAddress("2001:db8::1")!))
        #expect(try #require(CIDR("192.0.2.7")).prefixLength == 32)
        #expect(try #require(CIDR("192.0.2.7")).contains(IPAddress("192.0.2.7")!))
        #expect(!(try #require(CIDR("192.0.2.7")).contains(IPAddress("192.0.2.8")!)))
        #expect(try #require(CIDR("2001:db8::1")).prefixLength == 128)
    }

    @Test(
        "malformed CIDR text is rejected",
        arguments: [
            "", "/24", "192.0.2.0/", "192.0.2.0/33", "192.0.2.0/-1", "192.0.2.0/+8", "::/129", "x/8", "192.0.2.0/24/1", "192.0.2.0/ 8",
        ])
    func cidrBad(_ text: String) {
        #expect(CIDR(text) == nil)
    }

    @Test("out-of-range prefix lengths built in code do not trap")
    func cidrOutOfRange() {
        let all = CIDR(address: .v4(IPv4Address("10.0.0.0")!), prefixLength: 40)
        #expect(all.contains(IPAddress("10.0.0.0")!))
        #expect(!all.contains(IPAddress("10.0.0.1")!))
        let none = CIDR(address: .v4(IPv4Address("10.0.0.0")!), prefixLength: -3)
        #expect(none.contains(IPAddress("99.0.0.1")!))
    }
}
