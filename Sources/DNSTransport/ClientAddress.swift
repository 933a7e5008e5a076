import CBulwarkNet
import DNSWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A client's address and port as plain integers: no allocation, unlike `SocketAddress` (which
/// boxes its storage and formats the address as text when built from a `sockaddr`).
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 or 6.
    public var family: UInt8
    /// IPv4: the address in the low 32 bits of `low`. IPv6: bytes 0-7 in `high`, 8-15 in `low`.
    public var high: UInt64
    public var low: UInt64
    public var port: UInt16

    /// Who a per-client limit counts: the IPv4 address (also when IPv4-mapped) or the IPv6 /64
    /// (one host's share); nil for anything else.
    @inline(__always) public var limitKey: UInt64? {
        if family == 4 { return 1 << 63 | (low & 0xFFFF_FFFF) }
        if family == 6 {
            if high == 0 && low >> 32 == 0xFFFF { return 1 << 63 | (low & 0xFFFF_FFFF) }
            return high
        }
        return nil
    }

    public init(v4 address: UInt32, port: UInt16) {
        family = 4
        high = 0
        low = UInt64(address)
        self.port = port
    }

    public init(v6 bytes: [UInt8], port: UInt16) {
        precondition(bytes.count == 16)
        family = 6
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        self.port = port
    }

    public init(_ address: SocketAddress) {
        switch address {
        case .v4(let a):
            self.init(v4: UInt32(bigEndian: a.address.sin_addr.s_addr), port: UInt16(bigEndian: a.address.sin_port))
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            self.init(v6: bytes, port: UInt16(bigEndian: a.address.sin6_port))
        case .unixDomainSocket:
            self.init(v4: 0, port: 0)
            family = 0
        }
    }

    /// From a `sockaddr` filled in by the kernel.
    public init(_ sa: UnsafePointer<sockaddr>) {
        if Int32(sa.pointee.sa_family) == AF_INET6 {
            let a = UnsafeRawPointer(sa).load(as: sockaddr_in6.self)
            let bytes = withUnsafeBytes(of: a.sin6_addr) { Array($0) }
            self.init(v6: bytes, port: UInt16(bigEndian: a.sin6_port))
        } else if Int32(sa.pointee.sa_family) == AF_INET {
            let a = UnsafeRawPointer(sa).load(as: sockaddr_in.self)
            self.init(v4: UInt32(bigEndian: a.sin_addr.s_addr), port: UInt16(bigEndian: a.sin_port))
        } else {
            self.init(v4: 0, port: 0)
            family = 0
        }
    }

    /// IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4.
    public var unmapped: ClientAddress {
        guard family == 6, high == 0, low >> 32 == 0xFFFF else { return self }
        return ClientAddress(v4: UInt32(truncatingIfNeeded: low), port: port)
    }

    public var ipAddress: IPAddress? {
        switch family {
        case 4: return .v4(IPv4Address(UInt32(truncatingIfNeeded: low)))
        case 6:
            var b: [UInt8] = []
            for s in stride(from: 56, through: 0, by: -8) { b.append(UInt8(truncatingIfNeeded: high >> UInt64(s))) }
            for s in stride(from: 56, through: 0, by: -8) { b.append(UInt8(truncatingIfNeeded: low >> UInt64(s))) }
            return .v6(IPv6Address(bytes: b))
        default: return nil
        }
    }

    public var description: String {
        guard let ip = ipAddress else { return "unix" }
        return family == 6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
