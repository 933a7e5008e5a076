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

    /// Parses strict text: a dotted quad without leading zeros, or IPv6 (with an optional
    /// dotted-quad tail) without a zone index.
    static func parse<S: StringProtocol>(_ text: S) -> IntelIP? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        if bytes.contains(UInt8(ascii: ":")) { return parseV6(bytes[...]) }
        guard let v4 = parseV4(bytes[...]) else { return nil }
        return IntelIP(isV6: false, hi: 0, lo: UInt64(v4))
    }

    static func parseV4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        var digits = 0
        var part: UInt32 = 0
        var leadingZero = false
        for b in bytes {
            if b == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                parts += 1
                digits = 0
                part = 0
                leadingZero = false
            } else if b >= 0x30 && b <= 0x39 {
                if digits == 0 && b == 0x30 { leadingZero = true } else if leadingZero { return nil }
                digits += 1
                guard digits <= 3 else { return nil }
                part = part * 10 + UInt32(b - 0x30)
                guard part <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | part
    }

    static func parseV6(_ bytes: ArraySlice<UInt8>) -> IntelIP? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var seenDouble = false
        // Split on "::" once.
        var groups: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        var pieces: [[ArraySlice<UInt8>]] = [[]]
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: ":") {
                if i + 1 < bytes.endIndex && bytes[i + 1] == UInt8(ascii: ":") {
                    guard !seenDouble else { return nil }
                    seenDouble = true
                    if i > start { pieces[pieces.count - 1].append(bytes[start..<i]) } else if i != bytes.startIndex { return nil }
                    pieces.append([])
                    i += 2
                    start = i
                    continue
                }
                guard i > start else { return nil }
                pieces[pieces.count - 1].append(bytes[start..<i])
                i += 1
                start = i
                guard start < bytes.endIndex else { return nil }
                continue
            }
            i += 1
        }
        if start < bytes.endIndex { pieces[pieces.count - 1].append(bytes[start..<bytes.endIndex]) }
        groups = pieces.flatMap { $0 }
        guard !groups.isEmpty || seenDouble else { return nil }

        func words(_ list: [ArraySlice<UInt8>], allowV4Tail: Bool) -> [UInt16]? {
            var out: [UInt16] = []
            for (k, g) in list.enumerated() {
                if g.contains(UInt8(ascii: ".")) {
                    guard allowV4Tail, k == list.count - 1, let v4 = parseV4(g) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard g.count >= 1, g.count <= 4 else { return nil }
                var w: UInt16 = 0
                for b in g {
                    let d: UInt8
                    switch b {
                    case 0x30...0x39: d = b - 0x30
                    case 0x61...0x66: d = b - 0x61 + 10
                    case 0x41...0x46: d = b - 0x41 + 10
                    default: return nil
                    }
                    w = w << 4 | UInt16(d)
                }
                out.append(w)
            }
            return out
        }
        if seenDouble {
            guard let h = words(pieces[0], allowV4Tail: false), let t = words(pieces[1], allowV4Tail: true) else { return nil }
            head = h
            tail = t
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard let h = words(pieces[0], allowV4Tail: true), h.count == 8 else { return nil }
            head = h
        }
        let all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(all[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(all[k]) }
        return IntelIP(isV6: true, hi: hi, lo: lo)
    }

    /// Canonical text: dotted quad, or RFC 5952 (lowercase, no leading zeros, the longest run
    /// of two or more zero groups as `::`, the first on a tie, IPv4-mapped with a dotted tail).
    var text: String {
        if !isV6 {
            let v = UInt32(truncatingIfNeeded: lo)
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        if hi == 0 && lo >> 32 == 0xFFFF {
            let v4 = IntelIP(isV6: false, hi: 0, lo: lo & 0xFFFF_FFFF)
            return "::ffff:" + v4.text
        }
        var w: [UInt16] = []
        for k in stride(from: 48, through: 0, by: -16) { w.append(UInt16(truncatingIfNeeded: hi >> UInt64(k))) }
        for k in stride(from: 48, through: 0, by: -16) { w.append(UInt16(truncatingIfNeeded: lo >> UInt64(k))) }
        var bestStart = -1
        var bestLen = 0
        var k = 0
        while k < 8 {
            if w[k] == 0 {
                var e = k
                while e < 8 && w[e] == 0 { e += 1 }
                if e - k > bestLen {
                    bestStart = k
                    bestLen = e - k
                }
                k = e
            } else {
                k += 1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var s = ""
        k = 0
        while k < 8 {
            if k == bestStart {
                s += "::"
                k += bestLen
                continue
            }
            if !s.isEmpty && !s.hasSuffix(":") { s += ":" }
            s += String(w[k], radix: 16)
            k += 1
        }
        return s
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
