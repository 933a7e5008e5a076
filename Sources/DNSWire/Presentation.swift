/// Zone-file presentation format (RFC 1035 §5.1 and each type's RFC) for records and RDATA.

extension ResourceRecord: CustomStringConvertible {
    /// `owner TTL CLASS TYPE RDATA`, tab-separated like dig and kdig.
    public var description: String { "\(name)\t\(ttl)\t\(rrClass)\t\(type)\t\(rdata)" }
}

extension RData: CustomStringConvertible {
    /// RFC 3597's generic form of this RDATA (`\# length hex`), for what the type's own text
    /// cannot say.
    var genericText: String { Presentation.generic((try? wireBytes()) ?? []) }

    public var description: String {
        switch self {
        case .a(let a): return a.description
        case .aaaa(let a): return a.description
        case .ns(let n), .cname(let n), .dname(let n), .ptr(let n): return n.description
        case .soa(let s):
            return "\(s.mname) \(s.rname) \(s.serial) \(s.refresh) \(s.retry) \(s.expire) \(s.minimum)"
        case .mx(let p, let n): return "\(p) \(n)"
        case .txt(let strings): return strings.map(Presentation.quoted).joined(separator: " ")
        case .srv(let p, let w, let port, let t): return "\(p) \(w) \(port) \(t)"
        case .naptr(let n):
            return "\(n.order) \(n.preference) \(Presentation.quoted(n.flags)) \(Presentation.quoted(n.services)) "
                + "\(Presentation.quoted(n.regexp)) \(n.replacement)"
        case .caa(let flags, let tag, let value):
            // RFC 8659 §4.1.1: the tag is ASCII letters and digits. Anything else (hostile data, and
            // text that could break a log line) prints in the generic form instead.
            guard !tag.isEmpty, tag.allSatisfy(Presentation.isAlphanumeric) else {
                return genericText
            }
            return "\(flags) \(String(decoding: tag, as: UTF8.self)) \(Presentation.quoted(value))"
        case .svcb(let s), .https(let s):
            // Key 65535 is reserved (RFC 9460 §14.3.2): no text names it, so the whole RDATA
            // prints in the generic form, which parses back to the same bytes.
            if s.params.contains(where: { $0.key == 0xFFFF }) { return genericText }
            var parts = ["\(s.priority)", s.target.description]
            let present = Set(s.params.map(\.key))
            parts += s.params.map { Presentation.svcParam($0, present: present) }
            return parts.joined(separator: " ")
        // An empty digest, key, signature or TLSA association data prints as nothing, which
        // text cannot say: generic form.
        case .ds(let d) where d.digest.isEmpty: return genericText
        case .dnskey(let k) where k.publicKey.isEmpty: return genericText
        case .rrsig(let s) where s.signature.isEmpty: return genericText
        case .tlsa(_, _, _, let d) where d.isEmpty: return genericText
        case .ds(let d): return "\(d.keyTag) \(d.algorithm) \(d.digestType) \(Presentation.hex(d.digest).uppercased())"
        case .dnskey(let k): return "\(k.flags) \(k.protocolField) \(k.algorithm) \(Presentation.base64(k.publicKey))"
        case .rrsig(let s):
            return "\(s.typeCovered) \(s.algorithm) \(s.labels) \(s.originalTTL) \(Presentation.time(s.expiration)) "
                + "\(Presentation.time(s.inception)) \(s.keyTag) \(s.signerName) \(Presentation.base64(s.signature))"
        case .nsec(let next, let types): return ([next.description] + types.types.map(\.description)).joined(separator: " ")
        case .nsec3(let n):
            let salt = n.salt.isEmpty ? "-" : Presentation.hex(n.salt).uppercased()
            return ([
                "\(n.hashAlgorithm)", "\(n.flags)", "\(n.iterations)", salt, Presentation.base32hex(n.nextHashedOwner),
            ] + n.types.types.map(\.description)).joined(separator: " ")
        case .nsec3param(let n):
            let salt = n.salt.isEmpty ? "-" : Presentation.hex(n.salt).uppercased()
            return "\(n.hashAlgorithm) \(n.flags) \(n.iterations) \(salt)"
        case .tlsa(let u, let s, let m, let d): return "\(u) \(s) \(m) \(Presentation.hex(d).uppercased())"
        case .opt(let options): return options.map { "\($0)" }.joined(separator: " ")
        case .unknown(_, let bytes): return Presentation.generic(bytes)
        }
    }
}

extension EDNSOption: CustomStringConvertible {
    public var description: String {
        switch self {
        case .extendedError(let e): return e.description
        case .clientSubnet(let c):
            var addr = c.address
            let size = c.family == 1 ? 4 : 16
            addr += [UInt8](repeating: 0, count: max(0, size - addr.count))
            let text = c.family == 1 ? IPv4Address(bytes: addr.prefix(4)).description : IPv6Address(bytes: Array(addr.prefix(16))).description
            return "ECS \(text)/\(c.sourcePrefix)/\(c.scopePrefix)"
        case .cookie(let c, let s): return "COOKIE \(Presentation.hex(c))\(Presentation.hex(s))"
        case .padding(let n): return "PADDING \(n)"
        case .unknown(let code, let d): return d.isEmpty ? "\(code)" : "\(code) \(Presentation.hex(d))"
        }
    }
}

/// Helpers for presentation text.
public enum Presentation {
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// RFC 3597 §5 generic RDATA: `\# length hex`.
    public static func generic(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "\\# 0" : "\\# \(bytes.count) \(hex(bytes).uppercased())"
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func unhex(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = v(chars[i]), let lo = v(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static let b64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 with padding (RFC 4648 §4).
    public static func base64(_ bytes: [UInt8]) -> String {
        var out = packBits(bytes, width: 6, alphabet: b64)
        while out.count % 4 != 0 { out.append(UInt8(ascii: "=")) }
        return String(decoding: out, as: UTF8.self)
    }

    static let b32 = Array("0123456789abcdefghijklmnopqrstuv".utf8)

    /// Base32 with the extended hex alphabet, no padding (RFC 5155 §3.3). The digits are
    /// case-insensitive; lowercase matches knot/kdig and the hashed owner names of NSEC3 records.
    public static func base32hex(_ bytes: [UInt8]) -> String {
        String(decoding: packBits(bytes, width: 5, alphabet: b32), as: UTF8.self)
    }

    /// Bytes as characters of `width` bits each (6: base64, 5: base32; RFC 4648), most
    /// significant first, the last character zero-filled; no padding.
    static func packBits(_ bytes: some Collection<UInt8>, width: Int, alphabet: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 8 + width - 1) / width)
        let mask = UInt32(1) << UInt32(width) - 1
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = buffer << 8 | UInt32(b)
            bits += 8
            while bits >= width {
                bits -= width
                out.append(alphabet[Int(buffer >> UInt32(bits) & mask)])
            }
            buffer &= UInt32(1) << UInt32(bits) - 1
        }
        if bits > 0 { out.append(alphabet[Int(buffer << UInt32(width - bits) & mask)]) }
        return out
    }

    /// The reverse of `packBits`: `value` gives each character's digit (nil: not one of the
    /// alphabet). nil for a bad character, a length no byte count encodes to, or bits set past
    /// the last byte, so every byte string has exactly one form.
    static func unpackBits(_ chars: some Collection<UInt8>, width: Int, value: (UInt8) -> UInt8?) -> [UInt8]? {
        guard chars.count * width % 8 < width else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count * width / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            guard let v = value(c) else { return nil }
            buffer = buffer << UInt32(width) | UInt32(v)
            bits += width
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= UInt32(1) << UInt32(bits) - 1
            }
        }
        return buffer == 0 ? out : nil
    }

    /// A character-string in double quotes with `\"`, `\\` and `\DDD` escapes.
    public static func quoted(_ bytes: [UInt8]) -> String {
        var s = "\""
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                s.append("\\")
                s.unicodeScalars.append(Unicode.Scalar(b))
            case 0x20...0x7E:
                s.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let d = String(b)
                s.append("\\" + String(repeating: "0", count: 3 - d.count) + d)
            }
        }
        return s + "\""
    }

    /// RRSIG times as YYYYMMDDHHmmSS (UTC), RFC 4034 §3.2.
    public static func time(_ t: UInt32) -> String {
        var days = Int(t / 86400)
        let secs = Int(t % 86400)
        var year = 1970
        while true {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let len = leap ? 366 : 365
            if days < len { break }
            days -= len
            year += 1
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 0
        while days >= monthDays[month] {
            days -= monthDays[month]
            month += 1
        }
        func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)\(p2(month + 1))\(p2(days + 1))\(p2(secs / 3600))\(p2(secs / 60 % 60))\(p2(secs % 60))"
    }

    /// One SvcParam; `present` holds the record's keys (a `mandatory` that lists a key the record
    /// does not have, wire-legal but not text-legal by RFC 9460 §8, prints in the generic form).
    static func svcParam(_ p: RData.SvcParam, present: Set<UInt16>? = nil) -> String {
        let v = p.value
        switch p.key {
        case RData.SvcParam.mandatory where !v.isEmpty && v.count % 2 == 0:
            // RFC 9460 §8: a non-empty list in strictly increasing order, without mandatory itself.
            // Any other value prints in the generic form, which parses back to the same bytes.
            let keys = stride(from: 0, to: v.count, by: 2).map { UInt16(v[$0]) << 8 | UInt16(v[$0 + 1]) }
            guard keys[0] != RData.SvcParam.mandatory, zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 }),
                present.map({ p in keys.allSatisfy { p.contains($0) } }) ?? true
            else {
                return "key0=\(quoted(v))"
            }
            return "mandatory=" + keys.map(svcKeyName).joined(separator: ",")
        case RData.SvcParam.alpn:
            // At least one protocol id, none of them empty (RFC 9460 §7.1.1); else the generic form.
            var ids: [String] = []
            var r = WireReader(v)
            while !r.isAtEnd {
                guard let id = try? r.characterString(), !id.isEmpty else { return "key1=\(quoted(v))" }
                ids.append(alpnID(id))
            }
            guard !ids.isEmpty else { return "key1=\"\"" }
            return "alpn=" + ids.joined(separator: ",")
        case RData.SvcParam.noDefaultALPN where v.isEmpty: return "no-default-alpn"
        case RData.SvcParam.port where v.count == 2: return "port=\(UInt16(v[0]) << 8 | UInt16(v[1]))"
        case RData.SvcParam.ipv4hint where v.count % 4 == 0 && !v.isEmpty:
            return "ipv4hint="
                + stride(from: 0, to: v.count, by: 4).map { IPv4Address(bytes: v[$0..<($0 + 4)]).description }.joined(separator: ",")
        case RData.SvcParam.ech: return "ech=" + base64(v)
        case RData.SvcParam.ipv6hint where v.count % 16 == 0 && !v.isEmpty:
            return "ipv6hint="
                + stride(from: 0, to: v.count, by: 16).map { IPv6Address(bytes: Array(v[$0..<($0 + 16)])).description }.joined(
                    separator: ",")
        case RData.SvcParam.dohpath: return "dohpath=" + quoted(v)
        default: return v.isEmpty ? "key\(p.key)" : "key\(p.key)=\(quoted(v))"
        }
    }

    /// One ALPN id in a value-list (RFC 9460 Appendix A.1): a comma or backslash inside the id is
    /// escaped for the list (`\,`, `\\`) and that backslash again for the zone file, so a comma
    /// prints as `\\,`; bytes that are not printable ASCII print as `\DDD`.
    static func alpnID(_ id: [UInt8]) -> String {
        var s = ""
        for b in id {
            switch b {
            case UInt8(ascii: ","): s += "\\\\,"
            case UInt8(ascii: "\\"): s += "\\\\\\\\"
            case UInt8(ascii: "\""), UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"):
                s.append("\\")
                s.unicodeScalars.append(Unicode.Scalar(b))
            case 0x21...0x7E: s.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let d = String(b)
                s += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return s
    }

    static func svcKeyName(_ k: UInt16) -> String {
        switch k {
        case 0: "mandatory"
        case 1: "alpn"
        case 2: "no-default-alpn"
        case 3: "port"
        case 4: "ipv4hint"
        case 5: "ech"
        case 6: "ipv6hint"
        case 7: "dohpath"
        default: "key\(k)"
        }
    }
}

extension Message: CustomStringConvertible {
    /// A dig-like rendering, for logs and tests.
    public var description: String {
        var s = ";; opcode: \(header.opcode), status: \(rcode), id: \(header.id)\n"
        var flags: [String] = []
        if header.isResponse { flags.append("qr") }
        if header.authoritative { flags.append("aa") }
        if header.truncated { flags.append("tc") }
        if header.recursionDesired { flags.append("rd") }
        if header.recursionAvailable { flags.append("ra") }
        if header.authenticData { flags.append("ad") }
        if header.checkingDisabled { flags.append("cd") }
        s += ";; flags: \(flags.joined(separator: " "))\n"
        if let e = edns {
            s += ";; EDNS: version \(e.version), udp \(e.udpPayloadSize)\(e.dnssecOK ? ", do" : "")"
            for o in e.options { s += "; \(o)" }
            s += "\n"
        }
        for q in questions { s += ";\(q)\n" }
        for rr in answers + authorities + additionals { s += "\(rr)\n" }
        return s
    }
}
