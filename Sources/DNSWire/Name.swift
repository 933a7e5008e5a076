/// A domain name in uncompressed wire form (length-prefixed labels, ending with the root label),
/// in the case it was received or written. Comparison and hashing are case-insensitive (ASCII),
/// so `Example.COM.` == `example.com.` while the original spelling is kept for answers (0x20).
public struct Name: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Wire bytes, always ending in a zero byte; at most 255 bytes.
    public private(set) var wire: [UInt8]

    public static let maxWireLength = 255
    public static let maxLabelLength = 63
    public static let root = Name(uncheckedWire: [0])

    /// Wraps wire bytes that are already known to be a valid uncompressed name.
    public init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Validates uncompressed wire bytes.
    public init(wire: [UInt8]) throws(DNSWireError) {
        var i = 0
        while true {
            guard i < wire.count else { throw DNSWireError(.truncated, at: i, "name without root label") }
            let len = Int(wire[i])
            if len == 0 {
                guard i + 1 == wire.count else { throw DNSWireError(.trailingData, at: i + 1) }
                break
            }
            guard len <= Self.maxLabelLength else { throw DNSWireError(.labelTooLong, at: i) }
            i += 1 + len
        }
        guard wire.count <= Self.maxWireLength else { throw DNSWireError(.nameTooLong, at: 0) }
        self.wire = wire
    }

    /// Builds a name from labels given as bytes.
    public init(labels: [[UInt8]]) throws(DNSWireError) {
        var w: [UInt8] = []
        w.reserveCapacity(labels.reduce(1) { $0 + $1.count + 1 })
        for l in labels {
            guard !l.isEmpty else { throw DNSWireError(.badPresentation, at: -1, "empty label") }
            guard l.count <= Self.maxLabelLength else { throw DNSWireError(.labelTooLong, at: -1) }
            w.append(UInt8(l.count))
            w.append(contentsOf: l)
        }
        w.append(0)
        guard w.count <= Self.maxWireLength else { throw DNSWireError(.nameTooLong, at: -1) }
        self.wire = w
    }

    /// Parses presentation format (`www.example.com.`, escapes `\.` and `\DDD`). A name without a
    /// trailing dot is taken as absolute (relative to the root) unless `origin` is given.
    public init(_ text: String, origin: Name? = nil) throws(DNSWireError) {
        if text == "." {
            self = .root
            return
        }
        if text == "@", let origin {
            self = origin
            return
        }
        var labels: [[UInt8]] = []
        var cur: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        var absolute = false
        guard !bytes.isEmpty else { throw DNSWireError(.badPresentation, at: -1, "empty name") }
        while let c = bytes.popFirst() {
            switch c {
            case UInt8(ascii: "\\"):
                guard let n = bytes.first else { throw DNSWireError(.badPresentation, at: -1, "dangling escape") }
                if n >= 0x30 && n <= 0x39 {
                    let digits = Array(bytes.prefix(3))
                    guard digits.count == 3, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        throw DNSWireError(.badPresentation, at: -1, "bad \\DDD escape")
                    }
                    let v = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                    guard v <= 255 else { throw DNSWireError(.badPresentation, at: -1, "bad \\DDD escape") }
                    cur.append(UInt8(v))
                    bytes = bytes.dropFirst(3)
                } else {
                    cur.append(n)
                    bytes = bytes.dropFirst()
                }
            case UInt8(ascii: "."):
                guard !cur.isEmpty else { throw DNSWireError(.badPresentation, at: -1, "empty label in \(text)") }
                labels.append(cur)
                cur = []
                if bytes.isEmpty { absolute = true }
            default:
                cur.append(c)
            }
        }
        if !cur.isEmpty { labels.append(cur) }
        var name = try Name(labels: labels)
        if !absolute, let origin, origin != .root {
            name = try name.appending(origin)
        }
        self = name
    }

    /// `self` followed by `suffix`.
    public func appending(_ suffix: Name) throws(DNSWireError) -> Name {
        var w = wire
        w.removeLast()
        w.append(contentsOf: suffix.wire)
        guard w.count <= Self.maxWireLength else { throw DNSWireError(.nameTooLong, at: -1) }
        return Name(uncheckedWire: w)
    }

    public var isRoot: Bool { wire.count == 1 }

    /// Number of labels, not counting the root.
    public var labelCount: Int {
        var n = 0
        var i = 0
        while wire[i] != 0 {
            n += 1
            i += Int(wire[i]) + 1
        }
        return n
    }

    /// The labels as byte arrays, leftmost first.
    public var labels: [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            out.append(Array(wire[(i + 1)..<(i + 1 + len)]))
            i += len + 1
        }
        return out
    }

    /// The name with its leftmost label removed, or nil for the root.
    public var parent: Name? {
        guard !isRoot else { return nil }
        return Name(uncheckedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// Lowercased wire form (ASCII only), the key for caches and indexes.
    public var lowercasedWire: [UInt8] {
        var w = wire
        for i in w.indices where w[i] >= 0x41 && w[i] <= 0x5A { w[i] |= 0x20 }
        return w
    }

    public func lowercased() -> Name { Name(uncheckedWire: lowercasedWire) }

    /// True when `self` equals `other` or lies below it.
    public func isSubdomain(of other: Name) -> Bool {
        let a = wire.count
        let b = other.wire.count
        guard a >= b else { return false }
        // Walk to the label boundary of self that starts at (a - b).
        var i = 0
        while a - i > b {
            i += Int(wire[i]) + 1
        }
        guard a - i == b else { return false }
        return Self.equalsIgnoringCase(wire[i...], other.wire[...])
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    static func equalsIgnoringCase(_ x: ArraySlice<UInt8>, _ y: ArraySlice<UInt8>) -> Bool {
        guard x.count == y.count else { return false }
        var i = x.startIndex
        var j = y.startIndex
        while i < x.endIndex {
            if lower(x[i]) != lower(y[j]) { return false }
            i += 1
            j += 1
        }
        return true
    }

    public static func == (lhs: Name, rhs: Name) -> Bool {
        equalsIgnoringCase(lhs.wire[...], rhs.wire[...])
    }

    public func hash(into hasher: inout Hasher) {
        for b in wire { hasher.combine(Self.lower(b)) }
    }

    /// Canonical DNS ordering (RFC 4034 §6.1): by labels from the right, case-insensitively.
    public static func < (lhs: Name, rhs: Name) -> Bool {
        let l = lhs.labels.reversed().map { $0.map(lower) }
        let r = rhs.labels.reversed().map { $0.map(lower) }
        for (x, y) in zip(l, r) where x != y {
            return x.lexicographicallyPrecedes(y)
        }
        return l.count < r.count
    }

    /// Presentation format with a trailing dot; non-printable and special bytes escaped.
    public var description: String {
        if isRoot { return "." }
        var s = ""
        s.reserveCapacity(wire.count + 4)
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            for b in wire[(i + 1)..<(i + 1 + len)] {
                Self.appendEscaped(b, to: &s)
            }
            s.append(".")
            i += len + 1
        }
        return s
    }

    static func appendEscaped(_ b: UInt8, to s: inout String) {
        switch b {
        case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
            s.append("\\")
            s.unicodeScalars.append(Unicode.Scalar(b))
        case 0x21...0x7E:
            s.unicodeScalars.append(Unicode.Scalar(b))
        default:
            s.append("\\")
            let d = String(b)
            s.append(String(repeating: "0", count: 3 - d.count) + d)
        }
    }
}
