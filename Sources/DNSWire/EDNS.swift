/// EDNS(0) (RFC 6891): the OPT pseudo-record, lifted out of the additional section.
public struct EDNS: Hashable, Sendable {
    /// Requestor's (or responder's) UDP payload size. Values below 512 are treated as 512: parsing
    /// raises them to 512 and encoding never writes less.
    public var udpPayloadSize: UInt16
    /// Upper 8 bits of the 12-bit rcode.
    public var extendedRcode: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    /// The other 15 flag bits, kept so they round-trip (they must be zero when sending).
    public var otherFlags: UInt16
    public var options: [EDNSOption]

    /// RFC 9715 / DNS flag day 2020 default.
    public static let defaultPayloadSize: UInt16 = 1232

    public init(
        udpPayloadSize: UInt16 = EDNS.defaultPayloadSize, extendedRcode: UInt8 = 0, version: UInt8 = 0,
        dnssecOK: Bool = false, otherFlags: UInt16 = 0, options: [EDNSOption] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRcode = extendedRcode
        self.version = version
        self.dnssecOK = dnssecOK
        self.otherFlags = otherFlags
        self.options = options
    }

    /// The first EDE option, if any.
    public var extendedError: ExtendedError? {
        for o in options { if case .extendedError(let e) = o { return e } }
        return nil
    }

    public var clientSubnet: ClientSubnet? {
        for o in options { if case .clientSubnet(let e) = o { return e } }
        return nil
    }

    public var cookie: (client: [UInt8], server: [UInt8])? {
        for o in options { if case .cookie(let c, let s) = o { return (c, s) } }
        return nil
    }
}

/// An EDNS option. Unknown options are preserved byte for byte.
public enum EDNSOption: Hashable, Sendable {
    case extendedError(ExtendedError)
    case clientSubnet(ClientSubnet)
    /// Client cookie (8 bytes) and server cookie (empty, or 8 to 32 bytes), RFC 7873.
    case cookie(client: [UInt8], server: [UInt8])
    /// Padding of this many bytes (RFC 7830); zeros when written.
    case padding(Int)
    case unknown(code: EDNSOptionCode, data: [UInt8])

    public var code: EDNSOptionCode {
        switch self {
        case .extendedError: .extendedError
        case .clientSubnet: .clientSubnet
        case .cookie: .cookie
        case .padding: .padding
        case .unknown(let c, _): c
        }
    }

    static func decode(code: UInt16, _ r: inout WireReader) throws(DNSWireError) -> EDNSOption {
        let start = r.offset
        let len = r.remaining
        switch EDNSOptionCode(code) {
        case .extendedError:
            guard len >= 2 else { throw DNSWireError(.badEDNS, at: start, "EDE shorter than 2 bytes") }
            let info = try r.u16()
            let text = r.rest()
            return .extendedError(ExtendedError(code: EDECode(info), extraText: String(decoding: text, as: UTF8.self)))
        case .clientSubnet:
            guard len >= 4 else { throw DNSWireError(.badEDNS, at: start, "ECS shorter than 4 bytes") }
            let family = try r.u16()
            let source = Int(try r.u8())
            let scope = Int(try r.u8())
            let addr = r.rest()
            let maxBits: Int
            switch family {
            case 1: maxBits = 32
            case 2: maxBits = 128
            default: throw DNSWireError(.badEDNS, at: start, "ECS family \(family)")
            }
            guard source <= maxBits, scope <= maxBits else { throw DNSWireError(.badEDNS, at: start, "ECS prefix too long") }
            guard addr.count == (source + 7) / 8 else {
                throw DNSWireError(.badEDNS, at: start, "ECS address length does not match source prefix")
            }
            if source % 8 != 0, let last = addr.last, last & (0xFF >> UInt8(source % 8)) != 0 {
                throw DNSWireError(.badEDNS, at: start, "ECS address has bits set beyond the prefix")
            }
            return .clientSubnet(ClientSubnet(family: family, sourcePrefix: UInt8(source), scopePrefix: UInt8(scope), address: addr))
        case .cookie:
            guard len == 8 || (16...40).contains(len) else {
                throw DNSWireError(.badEDNS, at: start, "cookie length \(len)")
            }
            let client = try r.bytes(8)
            return .cookie(client: client, server: r.rest())
        case .padding:
            _ = r.rest()
            return .padding(len)
        default:
            return .unknown(code: EDNSOptionCode(code), data: r.rest())
        }
    }

    func encode(into w: inout WireWriter) throws(DNSWireError) {
        w.u16(code.rawValue)
        let lenAt = w.count
        w.u16(0)
        switch self {
        case .extendedError(let e):
            w.u16(e.code.rawValue)
            w.append(e.extraText.utf8)
        case .clientSubnet(let c):
            w.u16(c.family)
            w.u8(c.sourcePrefix)
            w.u8(c.scopePrefix)
            w.append(c.address)
        case .cookie(let c, let s):
            w.append(c)
            w.append(s)
        case .padding(let n):
            guard (0...0xFFFF).contains(n) else { throw DNSWireError(.badEDNS, at: -1, "padding of \(n) bytes") }
            w.append(repeatElement(UInt8(0), count: n))
        case .unknown(_, let d):
            w.append(d)
        }
        let len = w.count - lenAt - 2
        guard len <= 0xFFFF else { throw DNSWireError(.badEDNS, at: -1, "option too long") }
        w.set16(UInt16(len), at: lenAt)
    }
}

/// RFC 8914 Extended DNS Error.
public struct ExtendedError: Hashable, Sendable, CustomStringConvertible {
    public var code: EDECode
    public var extraText: String
    public init(code: EDECode, extraText: String = "") {
        self.code = code
        self.extraText = extraText
    }
    /// `EDE 15 (extra text)`; control characters in the text, which comes from the network, are
    /// written as `\DDD` so they cannot break a log line.
    public var description: String {
        guard !extraText.isEmpty else { return "EDE \(code.rawValue)" }
        var text = ""
        for u in extraText.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F {
                let d = String(u.value)
                text += "\\" + String(repeating: "0", count: 3 - d.count) + d
            } else {
                text.unicodeScalars.append(u)
            }
        }
        return "EDE \(code.rawValue) (\(text))"
    }
}

/// RFC 7871 EDNS Client Subnet.
public struct ClientSubnet: Hashable, Sendable {
    /// 1 = IPv4, 2 = IPv6.
    public var family: UInt16
    public var sourcePrefix: UInt8
    public var scopePrefix: UInt8
    /// Only the significant bytes of the address (ceil(sourcePrefix / 8)).
    public var address: [UInt8]
    public init(family: UInt16, sourcePrefix: UInt8, scopePrefix: UInt8, address: [UInt8]) {
        self.family = family
        self.sourcePrefix = sourcePrefix
        self.scopePrefix = scopePrefix
        self.address = address
    }
}
