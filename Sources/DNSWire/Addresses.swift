/// IP addresses and prefixes as plain values (no sockets), for RDATA, ECS and ACLs.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init(bytes b: some Collection<UInt8>) {
        precondition(b.count == 4)
        value = b.reduce(0) { $0 << 8 | UInt32($1) }
    }
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            // Decimal digits only (no sign), and no leading zero, like inet_pton.
            let digits = p.utf8
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                digits.count == 1 || digits.first != 0x30, let n = UInt8(p)
            else { return nil }
            v = v << 8 | UInt32(n)
        }
        value = v
    }
    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
    public var description: String { bytes.map(String.init).joined(separator: ".") }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }
    public init?(_ text: some StringProtocol) {
        var s = String(text)
        if let pct = s.firstIndex(of: "%") { s = String(s[..<pct]) }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var halves: [String] = []
        if let r = s.firstRange(of: "::") {
            halves = [String(s[..<r.lowerBound]), String(s[r.upperBound...])]
            guard halves[1].firstRange(of: "::") == nil else { return nil }
        } else {
            halves = [s]
        }
        // An embedded IPv4 address may only end the whole address, so only in the last half.
        func groups(_ part: String, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in pieces.enumerated() {
                if allowIPv4, i == pieces.count - 1, p.contains(".") {
                    guard let v4 = IPv4Address(p) else { return nil }
                    out.append(UInt16(v4.value >> 16))
                    out.append(UInt16(v4.value & 0xFFFF))
                } else {
                    // Hex digits only: `UInt16(_:radix:)` alone would also take a sign.
                    guard (1...4).contains(p.utf8.count), p.utf8.allSatisfy(Self.isHexDigit), let g = UInt16(p, radix: 16)
                    else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let h = groups(halves[0], allowIPv4: halves.count == 1) else { return nil }
        head = h
        if halves.count == 2 {
            guard let t = groups(halves[1], allowIPv4: true) else { return nil }
            tail = t
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard head.count == 8 else { return nil }
        }
        let all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// True for an IPv4-mapped address, `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2).
    public var isIPv4Mapped: Bool {
        bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    /// RFC 5952 text: lowercase, longest run of zero groups (length ≥ 2) as `::`, the first run on
    /// a tie; IPv4-mapped addresses end in dotted decimal (`::ffff:192.0.2.1`, §5), as inet_ntop
    /// and kdig print them.
    public var description: String {
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(bytes: bytes[12..<16]).description
        }
        let g = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLen = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var parts: [String] = []
        i = 0
        var out = ""
        while i < 8 {
            if i == bestStart {
                out += (parts.isEmpty ? "" : parts.joined(separator: ":")) + "::"
                parts = []
                i += bestLen
                continue
            }
            parts.append(String(g[i], radix: 16))
            i += 1
        }
        if bestStart >= 0 {
            return out + parts.joined(separator: ":")
        }
        return parts.joined(separator: ":")
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let a = IPv4Address(text) {
            self = .v4(a)
        } else if let a = IPv6Address(text) {
            self = .v6(a)
        } else {
            return nil
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4, any other address unchanged.
    public var unmapped: IPAddress {
        if case .v6(let a) = self, a.isIPv4Mapped {
            return .v4(IPv4Address(bytes: a.bytes[12..<16]))
        }
        return self
    }
}

/// An address prefix such as `192.0.2.0/24` or `2001:db8::/32`.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let addr = parts.first.flatMap({ IPAddress($0) }) else { return nil }
        let maxLen = addr.bytes.count * 8
        if parts.count == 2 {
            let digits = parts[1].utf8
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(parts[1]),
                (0...maxLen).contains(n)
            else { return nil }
            prefixLength = n
        } else {
            prefixLength = maxLen
        }
        address = addr
    }

    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// True when `other` lies in this prefix. IPv4-mapped IPv6 addresses count as IPv4, on either
    /// side: `192.0.2.0/24` contains `::ffff:192.0.2.1`, and `::ffff:10.0.0.0/104` contains
    /// `10.1.2.3`. A prefix length outside the family's range is clamped to it.
    public func contains(_ other: IPAddress) -> Bool {
        var a = address.bytes
        var bits = prefixLength
        if case .v6(let v6) = address, v6.isIPv4Mapped, bits >= 96 {
            a = Array(v6.bytes[12..<16])
            bits -= 96
        }
        let b = other.unmapped.bytes
        guard a.count == b.count else { return false }
        bits = min(max(bits, 0), a.count * 8)
        var i = 0
        while bits >= 8 {
            if a[i] != b[i] { return false }
            bits -= 8
            i += 1
        }
        if bits > 0 {
            let mask = UInt8(0xFF) << UInt8(8 - bits)
            if a[i] & mask != b[i] & mask { return false }
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
