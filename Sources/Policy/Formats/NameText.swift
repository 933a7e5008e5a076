import DNSWire

/// Why a field is not a name a list can hold.
enum NameProblem: Equatable {
    case empty
    case root
    case emptyLabel
    case labelTooLong
    case nameTooLong
    case notASCII
    case badCharacter(UInt8)
    case ipAddress
    case numericTopLabel
    case misplacedWildcard

    var message: String {
        switch self {
        case .empty: "empty name"
        case .root: "the root is not a name to list"
        case .emptyLabel: "empty label"
        case .labelTooLong: "label longer than 63 bytes"
        case .nameTooLong: "name longer than 255 bytes"
        case .notASCII: "not an ASCII name; use punycode"
        case .badCharacter(let c): "bad character \(ByteClass.show([c])) in name"
        case .ipAddress: "IP address, not a name"
        case .numericTopLabel: "all-numeric top-level label, not a host name"
        case .misplacedWildcard: "'*' is allowed only as a whole first label (*.name)"
        }
    }

    /// `message: 'field'`, the issue text for a field that is not a name.
    func message(_ field: String) -> String { "\(message): \(field)" }
}

enum NameResult {
    /// The name's wire length in the output buffer.
    case name(Int)
    case problem(NameProblem)
}

enum ZoneNameResult {
    /// The name's wire length in the output buffer, and whether it was written with a final dot.
    case name(Int, absolute: Bool)
    case problem(NameProblem)
}

/// Host names from list text to lowercased wire form, at byte level, into a caller's buffer of at
/// least `NameText.bufferSize` bytes: no allocation per name.
enum NameText {
    static let bufferSize = 264

    /// Encodes the host name `p[0..<n]` (optional trailing dot, no escapes) as lowercased wire
    /// form. Labels hold letters, digits, `-` and `_`; an IP address or a name whose last label
    /// is all digits is refused, as is the root.
    static func encode(_ p: UnsafePointer<UInt8>, _ n: Int, into out: UnsafeMutablePointer<UInt8>) -> NameResult {
        guard n > 0 else { return .problem(.empty) }
        if n == 1 && p[0] == ByteClass.dot { return .problem(.root) }
        // n bytes of text make n + 1 (trailing dot) or n + 2 bytes of wire form.
        guard n + (p[n - 1] == ByteClass.dot ? 1 : 2) <= Name.maxWireLength else { return .problem(.nameTooLong) }
        let result = ByteClass.nameTable.withUnsafeBufferPointer { table -> NameResult in
            var labelStart = 0
            var o = 1
            for i in 0..<n {
                let b = table[Int(p[i])]
                if b == ByteClass.dot {
                    let len = o - labelStart - 1
                    guard len > 0 else { return .problem(.emptyLabel) }
                    guard len <= Name.maxLabelLength else { return .problem(.labelTooLong) }
                    out[labelStart] = UInt8(truncatingIfNeeded: len)
                    labelStart = o
                    o &+= 1
                    continue
                }
                guard b != 0 else { return .problem(badByte(p[i], p, n)) }
                out[o] = b
                o &+= 1
            }
            let len = o - labelStart - 1
            guard len > 0 else {
                // A trailing dot: the length byte reserved for the next label is the root label.
                out[labelStart] = 0
                return .name(o)
            }
            guard len <= Name.maxLabelLength else { return .problem(.labelTooLong) }
            out[labelStart] = UInt8(truncatingIfNeeded: len)
            out[o] = 0
            return .name(o &+ 1)
        }
        if case .name(let length) = result, let p = numericProblem(UnsafeRawBufferPointer(start: out, count: length)) {
            return .problem(p)
        }
        return result
    }

    /// The problem for the first byte a host name cannot hold; `p[0..<n]` is the whole field, to
    /// tell an IPv6 address from a name with a colon.
    static func badByte(_ c: UInt8, _ p: UnsafePointer<UInt8>, _ n: Int) -> NameProblem {
        if c >= 0x80 { return .notASCII }
        if c == ByteClass.star { return .misplacedWildcard }
        if c == UInt8(ascii: ":"), IPv6Address(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)) != nil {
            return .ipAddress
        }
        return .badCharacter(c)
    }

    /// Encodes a zone-file name field without escapes: any byte but `.` is kept (ASCII letters
    /// lowercased). A field without a trailing dot is completed with `origin` (lowercased wire).
    /// `isHostName` is set when the field holds only host-name bytes, with `*` at most as a whole
    /// first label; the origin is not looked at.
    static func encodeZoneName(
        _ p: UnsafePointer<UInt8>, _ n: Int, origin: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>,
        isHostName: inout Bool
    ) -> ZoneNameResult {
        guard n > 0 else { return .problem(.empty) }
        isHostName = true
        if n == 1 && p[0] == ByteClass.dot {
            out[0] = 0
            return .name(1, absolute: true)
        }
        guard n < Name.maxWireLength else { return .problem(.nameTooLong) }
        var hostName = true
        let result = ByteClass.nameTable.withUnsafeBufferPointer { table -> ZoneNameResult in
            var labelStart = 0
            var o = 1
            for i in 0..<n {
                let c = p[i]
                var b = table[Int(c)]
                if b == ByteClass.dot {
                    let len = o - labelStart - 1
                    guard len > 0 else { return .problem(.emptyLabel) }
                    guard len <= Name.maxLabelLength else { return .problem(.labelTooLong) }
                    out[labelStart] = UInt8(truncatingIfNeeded: len)
                    labelStart = o
                    o &+= 1
                    continue
                }
                if b == 0 {
                    if !(c == ByteClass.star && i == 0 && (n == 1 || p[1] == ByteClass.dot)) { hostName = false }
                    b = ByteClass.lower(c)
                }
                out[o] = b
                o &+= 1
            }
            let len = o - labelStart - 1
            guard len > 0 else {
                out[labelStart] = 0
                return .name(o, absolute: true)
            }
            guard len <= Name.maxLabelLength else { return .problem(.labelTooLong) }
            out[labelStart] = UInt8(truncatingIfNeeded: len)
            guard o + origin.count <= Name.maxWireLength else { return .problem(.nameTooLong) }
            UnsafeMutableRawPointer(out + o).copyMemory(from: origin.baseAddress!, byteCount: origin.count)
            return .name(o + origin.count, absolute: false)
        }
        isHostName = hostName
        return result
    }

    /// Checks lowercased wire form against the host-name rules of `encode`; a first label `*`
    /// is accepted when `wildcard` is true.
    static func check(_ wire: UnsafeRawBufferPointer, wildcard: Bool) -> NameProblem? {
        var i = 0
        var first = true
        while i < wire.count, wire[i] != 0 {
            let len = Int(wire[i])
            if first && wildcard && len == 1 && wire[i + 1] == ByteClass.star {
                i += 2
                first = false
                continue
            }
            for j in (i + 1)..<(i + 1 + len) {
                let c = wire[j]
                if ByteClass.nameByte(c) == 0 {
                    return c >= 0x80 ? .notASCII : c == ByteClass.star ? .misplacedWildcard : .badCharacter(c)
                }
            }
            i += 1 + len
            first = false
        }
        return nil
    }

    /// `encode`'s numeric rule on wire form: nil, or the problem of a name that looks like an
    /// IP address or ends in an all-digits label.
    static func numericProblem(_ wire: UnsafeRawBufferPointer) -> NameProblem? {
        var i = 0
        var labels = 0
        var numeric = 0
        var lastNumeric = false
        while i < wire.count, wire[i] != 0 {
            let len = Int(wire[i])
            lastNumeric = (1...len).allSatisfy { ByteClass.isDigit(wire[i + $0]) }
            labels += 1
            if lastNumeric { numeric += 1 }
            i += 1 + len
        }
        guard lastNumeric else { return nil }
        return labels == 4 && numeric == 4 ? .ipAddress : .numericTopLabel
    }

    /// The last label of lowercased wire form, as offsets `start..<end`, or nil for the root.
    static func lastLabel(_ wire: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 0
        var last: Range<Int>? = nil
        while i < wire.count, wire[i] != 0 {
            let len = Int(wire[i])
            last = (i + 1)..<(i + 1 + len)
            i += 1 + len
        }
        return last
    }
}

extension CIDR {
    /// The prefix with every bit after the prefix length cleared.
    var masked: CIDR {
        var bytes = address.bytes
        var keep = prefixLength
        for i in bytes.indices {
            if keep >= 8 {
                keep -= 8
            } else {
                bytes[i] &= keep <= 0 ? 0 : UInt8(0xFF) << UInt8(8 - keep)
                keep = 0
            }
        }
        let a: IPAddress =
            bytes.count == 4 ? .v4(IPv4Address(bytes: bytes)) : .v6(IPv6Address(bytes: bytes))
        return CIDR(address: a, prefixLength: prefixLength)
    }

    /// True when no bit after the prefix length is set.
    var hostBitsAreZero: Bool { masked.address == address }
}
