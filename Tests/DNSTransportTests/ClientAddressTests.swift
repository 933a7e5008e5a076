import DNSTransport
import DNSWire
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `ClientAddress`: the allocation-free client address of the native UDP engine and the chain.
struct ClientAddressTests {
    static func v6Bytes(_ text: String) -> [UInt8] { IPv6Address(text)!.bytes }

    // MARK: From SocketAddress

    @Test func fromSocketAddressV4() throws {
        let a = ClientAddress(try SocketAddress(ipAddress: "192.0.2.33", port: 5353))
        #expect(a.family == 4)
        #expect(a.high == 0)
        #expect(a.low == 0xC000_0221)
        #expect(a.port == 5353)
        #expect(a == ClientAddress(v4: 0xC000_0221, port: 5353))
        #expect(a.ipAddress == .v4(IPv4Address("192.0.2.33")!))
        #expect(a.description == "192.0.2.33:5353")
    }

    @Test func fromSocketAddressV6() throws {
        let a = ClientAddress(try SocketAddress(ipAddress: "2001:db8::1:2", port: 65535))
        #expect(a.family == 6)
        #expect(a.high == 0x2001_0DB8_0000_0000)
        #expect(a.low == 0x0000_0000_0001_0002)
        #expect(a.port == 65535)
        #expect(a == ClientAddress(v6: Self.v6Bytes("2001:db8::1:2"), port: 65535))
        #expect(a.ipAddress == .v6(IPv6Address("2001:db8::1:2")!))
        #expect(a.description == "[2001:db8::1:2]:65535")
    }

    @Test func loopbacksAndExtremes() throws {
        #expect(ClientAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 1)).description == "127.0.0.1:1")
        #expect(ClientAddress(try SocketAddress(ipAddress: "::1", port: 0)).description == "[::1]:0")
        #expect(ClientAddress(try SocketAddress(ipAddress: "255.255.255.255", port: 0)).low == 0xFFFF_FFFF)
        let all = ClientAddress(try SocketAddress(ipAddress: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", port: 9))
        #expect(all.high == ~0 && all.low == ~0)
        #expect(ClientAddress(try SocketAddress(ipAddress: "::", port: 0)).description == "[::]:0")
    }

    @Test func unixDomainSocketIsFamilyZero() throws {
        let a = ClientAddress(try SocketAddress(unixDomainSocketPath: "/tmp/bulwark-test.sock"))
        #expect(a.family == 0)
        #expect(a.ipAddress == nil)
        #expect(a.description == "unix")
        #expect(a.unmapped == a)
    }

    // MARK: From sockaddr

    @Test func fromSockaddrIn() {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = UInt16(40053).bigEndian
        sin.sin_addr.s_addr = UInt32(0x0A01_0203).bigEndian
        let a = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ClientAddress($0) } }
        #expect(a == ClientAddress(v4: 0x0A01_0203, port: 40053))
        #expect(a.description == "10.1.2.3:40053")
    }

    @Test func fromSockaddrIn6() {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = UInt16(853).bigEndian
        let bytes = Self.v6Bytes("fe80::abcd:ef01:2345:6789")
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
        sin6.sin6_scope_id = 3  // not part of the address
        let a = withUnsafePointer(to: &sin6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ClientAddress($0) } }
        #expect(a == ClientAddress(v6: bytes, port: 853))
        #expect(a.high == 0xFE80_0000_0000_0000)
        #expect(a.low == 0xABCD_EF01_2345_6789)
        #expect(a.description == "[fe80::abcd:ef01:2345:6789]:853")
    }

    @Test func fromSockaddrStorageMatchesSocketAddress() throws {
        // The engine hands the kernel's sockaddr_storage over as a `sockaddr` pointer.
        for (text, port) in [("198.51.100.7", 1), ("2001:db8:85a3::8a2e:370:7334", 53), ("::ffff:192.0.2.128", 6000)] {
            let sa = try SocketAddress(ipAddress: text, port: port)
            var storage = sockaddr_storage()
            sa.withSockAddr { p, len in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: len)) }
            }
            let fromStorage = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ClientAddress($0) }
            }
            #expect(fromStorage == ClientAddress(sa), "\(text)")
        }
    }

    @Test func fromSockaddrOfAnotherFamilyIsFamilyZero() {
        var sa = sockaddr()
        sa.sa_family = sa_family_t(AF_UNIX)
        let a = withUnsafePointer(to: &sa) { ClientAddress($0) }
        #expect(a.family == 0)
        #expect(a.description == "unix")
    }

    // MARK: IPv4-mapped

    @Test func unmappedTurnsMappedIPv6IntoIPv4() throws {
        let mapped = ClientAddress(try SocketAddress(ipAddress: "::ffff:203.0.113.9", port: 4242))
        #expect(mapped.family == 6)
        #expect(mapped.description == "[::ffff:203.0.113.9]:4242")
        let v4 = mapped.unmapped
        #expect(v4 == ClientAddress(v4: 0xCB00_7109, port: 4242))
        #expect(v4.description == "203.0.113.9:4242")
        #expect(v4.unmapped == v4)
    }

    @Test(arguments: ["::1", "::203.0.113.9", "::fffe:203.0.113.9", "0:0:0:1:0:ffff:cb00:7109", "2001:db8::ffff:1:2", "64:ff9b::cb00:7109"])
    func unmappedLeavesOtherIPv6Alone(_ text: String) throws {
        let a = ClientAddress(try SocketAddress(ipAddress: text, port: 1))
        #expect(a.unmapped == a, "\(text)")
    }

    @Test func portTakesPartInEquality() {
        #expect(ClientAddress(v4: 1, port: 1) != ClientAddress(v4: 1, port: 2))
        #expect(ClientAddress(v4: 1, port: 1) != ClientAddress(v6: [UInt8](repeating: 0, count: 15) + [1], port: 1))
        #expect(Set([ClientAddress(v4: 1, port: 1), ClientAddress(v4: 1, port: 1)]).count == 1)
    }
}
