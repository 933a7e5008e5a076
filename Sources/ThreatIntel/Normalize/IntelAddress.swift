import DNSWire
import Foundation

/// An IPv4 or IPv6 address as two 64-bit words (IPv4 lives in the low 32 bits of `lo`).
/// Internal: the public surface is canonical text (`IntelNormalizer.parseIP`).
struct IntelIP: Hashable, Sendable, Comparable {
    var isV6: Bool
    var hi: UInt64
    var lo: UInt64

    var bitWidth: Int { isV6 ? 128 : 32 }

    static func < (a: IntelIP, b: IntelIP) -> Bool {
        if a.isV6 != b.isV6 { return !a.isV6 }
        return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo
    }

    /// The address with everything after the first `length` bits zeroed.
    func masked(_ length: Int) -> IntelIP {
        var r = self
        if isV6 {
            if length <= 64 {
                r.hi = hi & Self.mask64(length)
                r.lo = 0
            } else {
                r.lo = lo & Self.mask64(length - 64)
            }
        } else {
            r.lo = lo & (Self.mask64(32 + length) & 0xFFFF_FFFF)
        }
        return r
    }

    /// A 64-bit mask with the top `bits` bits set.
    static func mask64(_ bits: Int) -> UInt64 {
        if bits <= 0 { return 0 }
        if bits >= 64 { return ~0 }
        return ~UInt64(0) << UInt64(64 - bits)
    }

    /// Parses strict text with DNSWire's parsers: a dotted quad without leading zeros, or IPv6
    /// (with an optional dotted-quad tail); no zone index.
    static func parse<S: StringProtocol>(_ text: S) -> IntelIP? {
        guard !text.isEmpty, text.utf8.count <= 64, !text.contains("%") else { return nil }
        if text.contains(":") {
            guard let a = IPv6Address(text) else { return nil }
            let b = a.bytes
            return IntelIP(
                isV6: true, hi: b[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, lo: b[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        }
        guard let a = IPv4Address(text) else { return nil }
        return IntelIP(isV6: false, hi: 0, lo: UInt64(a.value))
    }

    /// Canonical text (DNSWire's): dotted quad, or RFC 5952 (IPv4-mapped with a dotted tail).
    var text: String {
        if !isV6 { return IPv4Address(UInt32(truncatingIfNeeded: lo)).description }
        var bytes: [UInt8] = []
        for k in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: hi >> UInt64(k))) }
        for k in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: lo >> UInt64(k))) }
        return IPv6Address(bytes: bytes).description
    }
}

/// A network prefix: an address with its host bits zero, and a length.
struct IntelCIDR: Hashable, Sendable {
    var network: IntelIP
    var length: Int

    var text: String { "\(network.text)/\(length)" }

    /// True when `ip` is inside this range.
    func contains(_ ip: IntelIP) -> Bool {
        ip.isV6 == network.isV6 && ip.masked(length) == network
    }

    /// True when `other` lies entirely inside this range.
    func contains(_ other: IntelCIDR) -> Bool {
        other.network.isV6 == network.isV6 && other.length >= length && other.network.masked(length) == network
    }

    /// Parses `address/length`; `hostBitsCleared` says whether the address had bits set after
    /// the prefix (the range is normalised to its network either way).
    static func parse<S: StringProtocol>(_ text: S) -> (cidr: IntelCIDR, hostBitsCleared: Bool)? {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let lenText = text[text.index(after: slash)...]
        guard let ip = IntelIP.parse(text[..<slash]), !lenText.isEmpty, lenText.count <= 3,
            lenText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let len = Int(lenText), len <= ip.bitWidth,
            lenText.count == 1 || lenText.first != "0"
        else { return nil }
        let net = ip.masked(len)
        return (IntelCIDR(network: net, length: len), net != ip)
    }
}
