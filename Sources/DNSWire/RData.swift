/// Typed RDATA of the record types Bulwark understands; every other type is kept as opaque
/// bytes (RFC 3597) and round-trips unchanged.
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(Name)
    case cname(Name)
    case dname(Name)
    case ptr(Name)
    case soa(SOA)
    case mx(preference: UInt16, exchange: Name)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: Name)
    case naptr(NAPTR)
    case caa(flags: UInt8, tag: [UInt8], value: [UInt8])
    case svcb(SVCB)
    case https(SVCB)
    case ds(DS)
    case dnskey(DNSKEY)
    case rrsig(RRSIG)
    case nsec(next: Name, types: TypeBitmap)
    case nsec3(NSEC3)
    case nsec3param(NSEC3PARAM)
    case tlsa(usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8])
    case opt([EDNSOption])
    case unknown(RRType, [UInt8])

    public struct SOA: Hashable, Sendable {
        public var mname: Name
        public var rname: Name
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        public var minimum: UInt32
        public init(mname: Name, rname: Name, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
            self.mname = mname
            self.rname = rname
            self.serial = serial
            self.refresh = refresh
            self.retry = retry
            self.expire = expire
            self.minimum = minimum
        }
    }

    public struct NAPTR: Hashable, Sendable {
        public var order: UInt16
        public var preference: UInt16
        public var flags: [UInt8]
        public var services: [UInt8]
        public var regexp: [UInt8]
        public var replacement: Name
        public init(order: UInt16, preference: UInt16, flags: [UInt8], services: [UInt8], regexp: [UInt8], replacement: Name) {
            self.order = order
            self.preference = preference
            self.flags = flags
            self.services = services
            self.regexp = regexp
            self.replacement = replacement
        }
    }

    /// SVCB and HTTPS (RFC 9460): parameters kept as key/value bytes in wire order.
    public struct SVCB: Hashable, Sendable {
        public var priority: UInt16
        public var target: Name
        public var params: [SvcParam]
        public init(priority: UInt16, target: Name, params: [SvcParam]) {
            self.priority = priority
            self.target = target
            self.params = params
        }
    }

    public struct SvcParam: Hashable, Sendable {
        public var key: UInt16
        public var value: [UInt8]
        public init(key: UInt16, value: [UInt8]) {
            self.key = key
            self.value = value
        }
        public static let mandatory: UInt16 = 0
        public static let alpn: UInt16 = 1
        public static let noDefaultALPN: UInt16 = 2
        public static let port: UInt16 = 3
        public static let ipv4hint: UInt16 = 4
        public static let ech: UInt16 = 5
        public static let ipv6hint: UInt16 = 6
        public static let dohpath: UInt16 = 7
    }

    public struct DS: Hashable, Sendable {
        public var keyTag: UInt16
        public var algorithm: UInt8
        public var digestType: UInt8
        public var digest: [UInt8]
        public init(keyTag: UInt16, algorithm: UInt8, digestType: UInt8, digest: [UInt8]) {
            self.keyTag = keyTag
            self.algorithm = algorithm
            self.digestType = digestType
            self.digest = digest
        }
    }

    public struct DNSKEY: Hashable, Sendable {
        public var flags: UInt16
        public var protocolField: UInt8
        public var algorithm: UInt8
        public var publicKey: [UInt8]
        public init(flags: UInt16, protocolField: UInt8, algorithm: UInt8, publicKey: [UInt8]) {
            self.flags = flags
            self.protocolField = protocolField
            self.algorithm = algorithm
            self.publicKey = publicKey
        }
    }

    public struct RRSIG: Hashable, Sendable {
        public var typeCovered: RRType
        public var algorithm: UInt8
        public var labels: UInt8
        public var originalTTL: UInt32
        public var expiration: UInt32
        public var inception: UInt32
        public var keyTag: UInt16
        public var signerName: Name
        public var signature: [UInt8]
        public init(
            typeCovered: RRType, algorithm: UInt8, labels: UInt8, originalTTL: UInt32, expiration: UInt32,
            inception: UInt32, keyTag: UInt16, signerName: Name, signature: [UInt8]
        ) {
            self.typeCovered = typeCovered
            self.algorithm = algorithm
            self.labels = labels
            self.originalTTL = originalTTL
            self.expiration = expiration
            self.inception = inception
            self.keyTag = keyTag
            self.signerName = signerName
            self.signature = signature
        }
    }

    public struct NSEC3: Hashable, Sendable {
        public var hashAlgorithm: UInt8
        public var flags: UInt8
        public var iterations: UInt16
        public var salt: [UInt8]
        public var nextHashedOwner: [UInt8]
        public var types: TypeBitmap
        public init(hashAlgorithm: UInt8, flags: UInt8, iterations: UInt16, salt: [UInt8], nextHashedOwner: [UInt8], types: TypeBitmap) {
            self.hashAlgorithm = hashAlgorithm
            self.flags = flags
            self.iterations = iterations
            self.salt = salt
            self.nextHashedOwner = nextHashedOwner
            self.types = types
        }
    }

    public struct NSEC3PARAM: Hashable, Sendable {
        public var hashAlgorithm: UInt8
        public var flags: UInt8
        public var iterations: UInt16
        public var salt: [UInt8]
        public init(hashAlgorithm: UInt8, flags: UInt8, iterations: UInt16, salt: [UInt8]) {
            self.hashAlgorithm = hashAlgorithm
            self.flags = flags
            self.iterations = iterations
            self.salt = salt
        }
    }

    /// The type of this RDATA.
    public var type: RRType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .dname: .dname
        case .ptr: .ptr
        case .soa: .soa
        case .mx: .mx
        case .txt: .txt
        case .srv: .srv
        case .naptr: .naptr
        case .caa: .caa
        case .svcb: .svcb
        case .https: .https
        case .ds: .ds
        case .dnskey: .dnskey
        case .rrsig: .rrsig
        case .nsec: .nsec
        case .nsec3: .nsec3
        case .nsec3param: .nsec3param
        case .tlsa: .tlsa
        case .opt: .opt
        case .unknown(let t, _): t
        }
    }
}

/// The type bitmap of NSEC and NSEC3 (RFC 4034 §4.1.2), as a sorted set of types.
public struct TypeBitmap: Hashable, Sendable {
    public var types: [RRType]
    public init(_ types: [RRType]) { self.types = Array(Set(types)).sorted() }

    public func encode(into w: inout WireWriter) {
        var window: Int = -1
        var block: [UInt8] = []
        func flush(_ w: inout WireWriter) {
            guard window >= 0 else { return }
            while let last = block.last, last == 0 { block.removeLast() }
            guard !block.isEmpty else { return }
            w.u8(UInt8(window))
            w.u8(UInt8(block.count))
            w.append(block)
        }
        for t in types {
            let win = Int(t.rawValue >> 8)
            if win != window {
                flush(&w)
                window = win
                block = [UInt8](repeating: 0, count: 32)
            }
            let low = Int(t.rawValue & 0xFF)
            block[low / 8] |= 0x80 >> UInt8(low % 8)
        }
        flush(&w)
    }

    public static func decode(_ r: inout WireReader) throws(DNSWireError) -> TypeBitmap {
        var out: [RRType] = []
        var lastWindow = -1
        while !r.isAtEnd {
            let at = r.offset
            let window = Int(try r.u8())
            let len = Int(try r.u8())
            guard window > lastWindow else { throw DNSWireError(.badRData, at: at, "type bitmap windows out of order") }
            guard (1...32).contains(len) else { throw DNSWireError(.badRData, at: at, "bad type bitmap length \(len)") }
            lastWindow = window
            let bits = try r.bytes(len)
            for (i, b) in bits.enumerated() where b != 0 {
                for bit in 0..<8 where b & (0x80 >> UInt8(bit)) != 0 {
                    out.append(RRType(UInt16(window << 8 | (i * 8 + bit))))
                }
            }
        }
        return TypeBitmap(out)
    }
}
