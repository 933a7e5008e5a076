extension RData {
    /// Decodes RDATA of `type` from `r`, whose limit is the end of the RDATA.
    static func decode(type: RRType, _ r: inout WireReader) throws(DNSWireError) -> RData {
        let start = r.offset
        let len = r.remaining
        switch type {
        case .a:
            guard len == 4 else { throw DNSWireError(.badRData, at: start, "A RDATA of \(len) bytes") }
            return .a(IPv4Address(bytes: try r.bytes(4)))
        case .aaaa:
            guard len == 16 else { throw DNSWireError(.badRData, at: start, "AAAA RDATA of \(len) bytes") }
            return .aaaa(IPv6Address(bytes: try r.bytes(16)))
        case .ns: return .ns(try r.name())
        case .cname: return .cname(try r.name())
        case .dname: return .dname(try r.name())
        case .ptr: return .ptr(try r.name())
        case .soa:
            let m = try r.name()
            let rn = try r.name()
            return .soa(
                SOA(mname: m, rname: rn, serial: try r.u32(), refresh: try r.u32(), retry: try r.u32(), expire: try r.u32(),
                    minimum: try r.u32()))
        case .mx:
            let p = try r.u16()
            return .mx(preference: p, exchange: try r.name())
        case .txt:
            var strings: [[UInt8]] = []
            guard len > 0 else { throw DNSWireError(.badRData, at: start, "empty TXT RDATA") }
            while !r.isAtEnd { strings.append(try r.characterString()) }
            return .txt(strings)
        case .srv:
            let p = try r.u16()
            let w = try r.u16()
            let port = try r.u16()
            return .srv(priority: p, weight: w, port: port, target: try r.name())
        case .naptr:
            let o = try r.u16()
            let p = try r.u16()
            let f = try r.characterString()
            let s = try r.characterString()
            let re = try r.characterString()
            return .naptr(NAPTR(order: o, preference: p, flags: f, services: s, regexp: re, replacement: try r.name()))
        case .caa:
            let flags = try r.u8()
            let tagLen = Int(try r.u8())
            guard tagLen >= 1 else { throw DNSWireError(.badRData, at: start, "CAA tag is empty") }
            let tag = try r.bytes(tagLen)
            return .caa(flags: flags, tag: tag, value: r.rest())
        case .svcb, .https:
            let prio = try r.u16()
            let target = try r.name(allowCompression: false)
            var params: [SvcParam] = []
            var lastKey = -1
            while !r.isAtEnd {
                let at = r.offset
                let key = try r.u16()
                guard Int(key) > lastKey else { throw DNSWireError(.badRData, at: at, "SvcParamKeys not in strictly increasing order") }
                lastKey = Int(key)
                let vlen = Int(try r.u16())
                params.append(SvcParam(key: key, value: try r.bytes(vlen)))
            }
            let v = SVCB(priority: prio, target: target, params: params)
            return type == .svcb ? .svcb(v) : .https(v)
        case .ds:
            return .ds(DS(keyTag: try r.u16(), algorithm: try r.u8(), digestType: try r.u8(), digest: r.rest()))
        case .dnskey:
            return .dnskey(DNSKEY(flags: try r.u16(), protocolField: try r.u8(), algorithm: try r.u8(), publicKey: r.rest()))
        case .rrsig:
            let tc = RRType(try r.u16())
            let alg = try r.u8()
            let labels = try r.u8()
            let ottl = try r.u32()
            let exp = try r.u32()
            let inc = try r.u32()
            let tag = try r.u16()
            let signer = try r.name(allowCompression: false)
            return .rrsig(
                RRSIG(
                    typeCovered: tc, algorithm: alg, labels: labels, originalTTL: ottl, expiration: exp, inception: inc,
                    keyTag: tag, signerName: signer, signature: r.rest()))
        case .nsec:
            let next = try r.name(allowCompression: false)
            return .nsec(next: next, types: try TypeBitmap.decode(&r))
        case .nsec3:
            let alg = try r.u8()
            let flags = try r.u8()
            let it = try r.u16()
            let salt = try r.characterString()
            let hashLen = Int(try r.u8())
            guard hashLen >= 1 else { throw DNSWireError(.badRData, at: r.offset - 1, "NSEC3 hash length 0") }
            let next = try r.bytes(hashLen)
            return .nsec3(
                NSEC3(hashAlgorithm: alg, flags: flags, iterations: it, salt: salt, nextHashedOwner: next, types: try TypeBitmap.decode(&r)))
        case .nsec3param:
            let alg = try r.u8()
            let flags = try r.u8()
            let it = try r.u16()
            return .nsec3param(NSEC3PARAM(hashAlgorithm: alg, flags: flags, iterations: it, salt: try r.characterString()))
        case .tlsa:
            return .tlsa(usage: try r.u8(), selector: try r.u8(), matchingType: try r.u8(), data: r.rest())
        case .opt:
            var options: [EDNSOption] = []
            while !r.isAtEnd {
                let code = try r.u16()
                let olen = Int(try r.u16())
                try r.need(olen)
                var sub = r
                sub.limit = r.offset + olen
                options.append(try EDNSOption.decode(code: code, &sub))
                r.offset += olen
            }
            return .opt(options)
        default:
            return .unknown(type, r.rest())
        }
    }

    /// Appends the RDATA (without its length). Names are compressed only in the RFC 1035 types
    /// (RFC 3597 §4); DNAME, SRV, NAPTR, SVCB and DNSSEC types are written uncompressed.
    func encode(into w: inout WireWriter) throws(DNSWireError) {
        switch self {
        case .a(let a): w.u32(a.value)
        case .aaaa(let a): w.append(a.bytes)
        case .ns(let n), .cname(let n), .ptr(let n): w.name(n)
        case .dname(let n): w.name(n, compress: false)
        case .soa(let s):
            w.name(s.mname)
            w.name(s.rname)
            w.u32(s.serial)
            w.u32(s.refresh)
            w.u32(s.retry)
            w.u32(s.expire)
            w.u32(s.minimum)
        case .mx(let p, let n):
            w.u16(p)
            w.name(n)
        case .txt(let strings):
            guard !strings.isEmpty else { throw DNSWireError(.badRData, at: -1, "TXT needs at least one string") }
            for s in strings { try w.characterString(s) }
        case .srv(let p, let wt, let port, let t):
            w.u16(p)
            w.u16(wt)
            w.u16(port)
            w.name(t, compress: false)
        case .naptr(let n):
            w.u16(n.order)
            w.u16(n.preference)
            try w.characterString(n.flags)
            try w.characterString(n.services)
            try w.characterString(n.regexp)
            w.name(n.replacement, compress: false)
        case .caa(let flags, let tag, let value):
            guard (1...255).contains(tag.count) else { throw DNSWireError(.badRData, at: -1, "CAA tag length") }
            w.u8(flags)
            w.u8(UInt8(tag.count))
            w.append(tag)
            w.append(value)
        case .svcb(let s), .https(let s):
            w.u16(s.priority)
            w.name(s.target, compress: false)
            for p in s.params {
                guard p.value.count <= 0xFFFF else { throw DNSWireError(.badRData, at: -1, "SvcParam too long") }
                w.u16(p.key)
                w.u16(UInt16(p.value.count))
                w.append(p.value)
            }
        case .ds(let d):
            w.u16(d.keyTag)
            w.u8(d.algorithm)
            w.u8(d.digestType)
            w.append(d.digest)
        case .dnskey(let k):
            w.u16(k.flags)
            w.u8(k.protocolField)
            w.u8(k.algorithm)
            w.append(k.publicKey)
        case .rrsig(let s):
            w.u16(s.typeCovered.rawValue)
            w.u8(s.algorithm)
            w.u8(s.labels)
            w.u32(s.originalTTL)
            w.u32(s.expiration)
            w.u32(s.inception)
            w.u16(s.keyTag)
            w.name(s.signerName, compress: false)
            w.append(s.signature)
        case .nsec(let next, let types):
            w.name(next, compress: false)
            types.encode(into: &w)
        case .nsec3(let n):
            w.u8(n.hashAlgorithm)
            w.u8(n.flags)
            w.u16(n.iterations)
            try w.characterString(n.salt)
            guard (1...255).contains(n.nextHashedOwner.count) else { throw DNSWireError(.badRData, at: -1, "NSEC3 hash length") }
            w.u8(UInt8(n.nextHashedOwner.count))
            w.append(n.nextHashedOwner)
            n.types.encode(into: &w)
        case .nsec3param(let n):
            w.u8(n.hashAlgorithm)
            w.u8(n.flags)
            w.u16(n.iterations)
            try w.characterString(n.salt)
        case .tlsa(let u, let s, let m, let d):
            w.u8(u)
            w.u8(s)
            w.u8(m)
            w.append(d)
        case .opt(let options):
            for o in options { try o.encode(into: &w) }
        case .unknown(_, let bytes):
            w.append(bytes)
        }
    }

    /// The RDATA alone in uncompressed wire form (RFC 3597 `\# len hex`, and DNSSEC canonical input).
    public func wireBytes() throws(DNSWireError) -> [UInt8] {
        var w = WireWriter(capacity: 64, compression: false)
        try encode(into: &w)
        return w.bytes
    }
}
