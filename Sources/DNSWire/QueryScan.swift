/// The header, question and EDNS summary of a query, read straight from the packet without
/// allocating: the hot path of a resolver looks at nothing else. `Message(parsing:)` remains the
/// full, strict parser; `QueryScan` says when it is needed (`needsFullParse`).
public struct QueryScan: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// A single-question query whose question (and OPT, if any) was read.
        case query
        /// Shorter than a header: not worth an answer.
        case runt
        /// QR=1: never answer a response.
        case response
        /// Anything unusual (several questions, records in answer/authority, compression in the
        /// question, EDNS options to validate, other additional records, trailing bytes): parse
        /// it fully to decide.
        case needsFullParse
    }

    public var outcome: Outcome = .runt
    public var id: UInt16 = 0
    public var flags: UInt16 = 0
    /// Offset just past the query name (the name starts at 12).
    public var nameEnd: Int = 0
    /// Offset of the rightmost label's length byte (12 for a one-label name; `nameEnd - 1` for the root).
    public var lastLabel: Int = 0
    public var qtype: UInt16 = 0
    public var qclass: UInt16 = 0
    public var hasEDNS = false
    public var ednsVersion: UInt8 = 0
    public var dnssecOK = false
    public var udpPayloadSize: UInt16 = 0
    /// FNV-1a over the lowercased name, type, class and the DO bit, from a per-process random
    /// basis (so that names colliding with a popular one cannot be computed offline to evict
    /// it): the cache key's hash.
    public var keyHash: UInt64 = 0

    /// The per-process FNV basis.
    public static let hashBasis: UInt64 = {
        var g = SystemRandomNumberGenerator()
        return 0xcbf2_9ce4_8422_2325 ^ g.next()
    }()

    public init() {}

    /// Question end: name, type and class.
    public var questionEnd: Int { nameEnd + 4 }
    public var opcode: Opcode { Opcode(UInt8((flags >> 11) & 0x0F)) }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }

    /// Scans `p`, a whole message.
    public static func scan(_ p: UnsafeRawBufferPointer) -> QueryScan {
        var s = QueryScan()
        let n = p.count
        guard n >= 12 else { return s }
        s.id = UInt16(p[0]) << 8 | UInt16(p[1])
        s.flags = UInt16(p[2]) << 8 | UInt16(p[3])
        if s.flags & 0x8000 != 0 {
            s.outcome = .response
            return s
        }
        s.outcome = .needsFullParse
        guard p[4] == 0, p[5] == 1, p[6] == 0, p[7] == 0, p[8] == 0, p[9] == 0, p[10] == 0, p[11] <= 1 else { return s }
        let ar = p[11]
        var h: UInt64 = hashBasis
        let prime: UInt64 = 0x100_0000_01b3
        var i = 12
        var last = 12
        while true {
            guard i < n else { return s }
            let len = Int(p[i])
            if len == 0 {
                h = (h ^ 0) &* prime
                i += 1
                break
            }
            guard len <= 63, i + 1 + len < n, i + 1 + len - 12 <= 254 else { return s }
            last = i
            h = (h ^ UInt64(len)) &* prime
            var j = i + 1
            let end = i + 1 + len
            while j < end {
                var b = p[j]
                if b >= 0x41 && b <= 0x5A { b |= 0x20 }
                h = (h ^ UInt64(b)) &* prime
                j += 1
            }
            i = end
        }
        s.nameEnd = i
        s.lastLabel = i == 13 ? 12 : last
        guard i + 4 <= n else { return s }
        s.qtype = UInt16(p[i]) << 8 | UInt16(p[i + 1])
        s.qclass = UInt16(p[i + 2]) << 8 | UInt16(p[i + 3])
        i += 4
        if ar == 1 {
            // OPT: root owner, type 41, class = payload size, TTL = ext rcode/version/flags.
            guard i + 11 <= n, p[i] == 0, p[i + 1] == 0, p[i + 2] == 41 else { return s }
            s.hasEDNS = true
            s.udpPayloadSize = UInt16(p[i + 3]) << 8 | UInt16(p[i + 4])
            s.ednsVersion = p[i + 6]
            s.dnssecOK = p[i + 7] & 0x80 != 0
            let rdlen = Int(p[i + 9]) << 8 | Int(p[i + 10])
            i += 11
            guard i + rdlen == n else { return s }
            // Options: cookies and padding need no validation by a forwarder that does not
            // answer with cookies yet; anything else (ECS, unknown) goes to the full parser.
            var o = i
            while o < n {
                guard o + 4 <= n else { return s }
                let code = Int(p[o]) << 8 | Int(p[o + 1])
                let olen = Int(p[o + 2]) << 8 | Int(p[o + 3])
                guard o + 4 + olen <= n else { return s }
                switch code {
                case 10: guard olen == 8 || (16...40).contains(olen) else { return s }
                case 12: break
                default: return s
                }
                o += 4 + olen
            }
            i = n
        }
        guard i == n else { return s }
        h = (h ^ UInt64(s.qtype >> 8)) &* prime
        h = (h ^ UInt64(s.qtype & 0xFF)) &* prime
        h = (h ^ UInt64(s.qclass >> 8)) &* prime
        h = (h ^ UInt64(s.qclass & 0xFF)) &* prime
        h = (h ^ (s.dnssecOK ? 1 : 0)) &* prime
        s.keyHash = h
        s.outcome = .query
        return s
    }

    /// The same hash `scan` computes, for a lowercased name in wire form.
    public static func keyHash(lowercasedName name: [UInt8], type: UInt16, rrClass: UInt16, dnssecOK: Bool) -> UInt64 {
        var h: UInt64 = hashBasis
        let prime: UInt64 = 0x100_0000_01b3
        for b in name { h = (h ^ UInt64(b)) &* prime }
        h = (h ^ UInt64(type >> 8)) &* prime
        h = (h ^ UInt64(type & 0xFF)) &* prime
        h = (h ^ UInt64(rrClass >> 8)) &* prime
        h = (h ^ UInt64(rrClass & 0xFF)) &* prime
        h = (h ^ (dnssecOK ? 1 : 0)) &* prime
        return h
    }
}
