/// DNS code points as open structs: known values have names, every other value still round-trips.

public struct RRType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static func < (a: RRType, b: RRType) -> Bool { a.rawValue < b.rawValue }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let ptr = RRType(12)
    public static let hinfo = RRType(13)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    public static let aaaa = RRType(28)
    public static let srv = RRType(33)
    public static let naptr = RRType(35)
    public static let dname = RRType(39)
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let rrsig = RRType(46)
    public static let nsec = RRType(47)
    public static let dnskey = RRType(48)
    public static let nsec3 = RRType(50)
    public static let nsec3param = RRType(51)
    public static let tlsa = RRType(52)
    public static let cds = RRType(59)
    public static let cdnskey = RRType(60)
    public static let svcb = RRType(64)
    public static let https = RRType(65)
    public static let tsig = RRType(250)
    public static let ixfr = RRType(251)
    public static let axfr = RRType(252)
    public static let any = RRType(255)
    public static let caa = RRType(257)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
        33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
        50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 59: "CDS", 60: "CDNSKEY", 64: "SVCB", 65: "HTTPS",
        250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "ANY", 257: "CAA",
    ]
    static let byName: [String: UInt16] = Dictionary(uniqueKeysWithValues: names.map { ($1, $0) })

    /// Mnemonic, or `TYPEnnn` (RFC 3597) for types without one.
    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic (case-insensitive) or `TYPEnnn`.
    public init?(mnemonic: String) {
        let up = mnemonic.uppercased()
        if let v = Self.byName[up] {
            self.rawValue = v
        } else if up.hasPrefix("TYPE"), let v = UInt16(up.dropFirst(4)) {
            self.rawValue = v
        } else {
            return nil
        }
    }

    /// Meta and question-only types that never appear as data in a cache.
    public var isMetaType: Bool { (128...255).contains(rawValue) || self == .opt }
}

public struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = RRClass(1)
    public static let ch = RRClass(3)
    public static let hs = RRClass(4)
    public static let none = RRClass(254)
    public static let any = RRClass(255)
    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 3: "CH"
        case 4: "HS"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public static let query = Opcode(0)
    public static let iquery = Opcode(1)
    public static let status = Opcode(2)
    public static let notify = Opcode(4)
    public static let update = Opcode(5)
    public var description: String {
        switch rawValue {
        case 0: "QUERY"
        case 1: "IQUERY"
        case 2: "STATUS"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        default: "OPCODE\(rawValue)"
        }
    }
}

/// A 12-bit response code: the low 4 bits live in the header, the high 8 in the OPT record.
public struct Rcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public static let noError = Rcode(0)
    public static let formErr = Rcode(1)
    public static let servFail = Rcode(2)
    public static let nxDomain = Rcode(3)
    public static let notImp = Rcode(4)
    public static let refused = Rcode(5)
    public static let yxDomain = Rcode(6)
    public static let notAuth = Rcode(9)
    public static let notZone = Rcode(10)
    public static let badVers = Rcode(16)
    public static let badCookie = Rcode(23)
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 16: "BADVERS"
        case 23: "BADCOOKIE"
        default: "RCODE\(rawValue)"
        }
    }
}

public struct EDNSOptionCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let clientSubnet = EDNSOptionCode(8)
    public static let cookie = EDNSOptionCode(10)
    public static let padding = EDNSOptionCode(12)
    public static let extendedError = EDNSOptionCode(15)
    public var description: String {
        switch rawValue {
        case 8: "ECS"
        case 10: "COOKIE"
        case 12: "PADDING"
        case 15: "EDE"
        default: "OPT\(rawValue)"
        }
    }
}

/// Extended DNS Error info codes (RFC 8914 §4).
public struct EDECode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let other = EDECode(0)
    public static let unsupportedDNSKEYAlgorithm = EDECode(1)
    public static let unsupportedDSDigestType = EDECode(2)
    public static let staleAnswer = EDECode(3)
    public static let forgedAnswer = EDECode(4)
    public static let dnssecIndeterminate = EDECode(5)
    public static let dnssecBogus = EDECode(6)
    public static let signatureExpired = EDECode(7)
    public static let signatureNotYetValid = EDECode(8)
    public static let dnskeyMissing = EDECode(9)
    public static let rrsigsMissing = EDECode(10)
    public static let noZoneKeyBitSet = EDECode(11)
    public static let nsecMissing = EDECode(12)
    public static let cachedError = EDECode(13)
    public static let notReady = EDECode(14)
    public static let blocked = EDECode(15)
    public static let censored = EDECode(16)
    public static let filtered = EDECode(17)
    public static let prohibited = EDECode(18)
    public static let staleNXDOMAINAnswer = EDECode(19)
    public static let notAuthoritative = EDECode(20)
    public static let notSupported = EDECode(21)
    public static let noReachableAuthority = EDECode(22)
    public static let networkError = EDECode(23)
    public static let invalidData = EDECode(24)
    public var description: String { "EDE\(rawValue)" }
}
