/// Zone-file presentation text to typed RDATA: the inverse of `RData.description`.

extension RData {
    /// Parses the RDATA part of a zone-file record for `type`. Relative names are completed with
    /// `origin` (without one they are taken as absolute, like `Name(_:origin:)`), and an unquoted
    /// `@` is the origin. The RFC 3597 generic form `\# <length> <hex>` is accepted for every type
    /// and decoded through the wire decoder, so `\# 4 C0000201` for A gives `.a(192.0.2.1)`.
    ///
    /// Every error is `.badPresentation` at offset -1 with a reason naming the type and field.
    public init(presentation: String, type: RRType, origin: Name? = nil) throws(DNSWireError) {
        let entry = try ZoneLexer.singleEntry(presentation, what: "RDATA")
        self = try RData.parse(entry.tokens[...], type: type, origin: origin)
    }

    /// Parses RDATA fields that have already been split by the zone-file lexer.
    static func parse(_ tokens: ArraySlice<ZoneToken>, type: RRType, origin: Name?) throws(DNSWireError) -> RData {
        var f = RDataFields(tokens: tokens, type: type, origin: origin)
        // The lexer reads `key="a b"` as one field for SvcParams; anywhere else it is a mistake
        // (a quote inside an unquoted word), not a quoted string to unwrap silently.
        if type != .svcb && type != .https, let t = tokens.first(where: \.embeddedQuote) {
            throw f.error("RDATA", "'\"' inside the unquoted field \(ZoneText.show(t.text))")
        }
        if let first = tokens.first, !first.quoted, first.text == [ZoneLexer.backslash, UInt8(ascii: "#")] {
            return try f.generic()
        }
        let rdata: RData
        switch type {
        case .a:
            let t = try f.take("address")
            guard let a = IPv4Address(String(decoding: t.text, as: UTF8.self)) else {
                throw f.error("address", "\(ZoneText.show(t.text)) is not an IPv4 address")
            }
            rdata = .a(a)
        case .aaaa:
            let t = try f.take("address")
            guard !t.text.contains(UInt8(ascii: "%")), let a = IPv6Address(String(decoding: t.text, as: UTF8.self)) else {
                throw f.error("address", "\(ZoneText.show(t.text)) is not an IPv6 address")
            }
            rdata = .aaaa(a)
        case .ns: rdata = .ns(try f.name("name server"))
        case .cname: rdata = .cname(try f.name("target"))
        case .dname: rdata = .dname(try f.name("target"))
        case .ptr: rdata = .ptr(try f.name("target"))
        case .soa:
            rdata = .soa(
                SOA(
                    mname: try f.name("primary name server"), rname: try f.name("responsible mailbox"),
                    serial: UInt32(try f.number("serial", max: UInt64(UInt32.max))), refresh: try f.timer("refresh"),
                    retry: try f.timer("retry"), expire: try f.timer("expire"), minimum: try f.timer("minimum")))
        case .mx:
            rdata = .mx(preference: try f.u16("preference"), exchange: try f.name("exchange"))
        case .txt:
            var strings: [[UInt8]] = []
            guard !f.tokens.isEmpty else { throw f.error("text", "at least one string is needed") }
            while !f.tokens.isEmpty { strings.append(try f.characterString("string \(strings.count + 1)")) }
            rdata = .txt(strings)
        case .srv:
            rdata = .srv(
                priority: try f.u16("priority"), weight: try f.u16("weight"), port: try f.u16("port"), target: try f.name("target"))
        case .naptr:
            rdata = .naptr(
                NAPTR(
                    order: try f.u16("order"), preference: try f.u16("preference"), flags: try f.characterString("flags"),
                    services: try f.characterString("services"), regexp: try f.characterString("regexp"),
                    replacement: try f.name("replacement")))
        case .caa:
            let flags = try f.u8("flags")
            let tagToken = try f.take("tag")
            // RFC 8659 §4.1.1: the tag is 1 to 255 ASCII letters and digits.
            guard !tagToken.quoted, (1...255).contains(tagToken.text.count), tagToken.text.allSatisfy(Presentation.isAlphanumeric)
            else { throw f.error("tag", "\(ZoneText.show(tagToken.text)) is not 1 to 255 letters and digits") }
            let value = try ZoneText.unescape(try f.take("value").text, field: "CAA value")
            rdata = .caa(flags: flags, tag: tagToken.text, value: value)
        case .svcb, .https:
            let s = try f.svcb()
            rdata = type == .svcb ? .svcb(s) : .https(s)
        case .ds, .cds:
            let ds = try f.ds()
            rdata = type == .ds ? .ds(ds) : .unknown(type, try RData.ds(ds).wireBytes())
        case .dnskey, .cdnskey:
            let key = DNSKEY(
                flags: try f.u16("flags"), protocolField: try f.u8("protocol"), algorithm: try f.u8("algorithm"),
                publicKey: try f.base64Rest("public key"))
            rdata = type == .dnskey ? .dnskey(key) : .unknown(type, try RData.dnskey(key).wireBytes())
        case .rrsig:
            let covered = try f.take("type covered")
            guard let tc = ZoneText.rrType(covered.text) else {
                throw f.error("type covered", "\(ZoneText.show(covered.text)) is not a type")
            }
            rdata = .rrsig(
                RRSIG(
                    typeCovered: tc, algorithm: try f.u8("algorithm"), labels: try f.u8("labels"),
                    originalTTL: UInt32(try f.number("original TTL", max: UInt64(UInt32.max))),
                    expiration: try f.time("expiration"), inception: try f.time("inception"), keyTag: try f.u16("key tag"),
                    signerName: try f.name("signer name"), signature: try f.base64Rest("signature")))
        case .nsec:
            rdata = .nsec(next: try f.name("next name"), types: try f.typeBitmap())
        case .nsec3:
            let alg = try f.u8("hash algorithm")
            let flags = try f.u8("flags")
            let iterations = try f.u16("iterations")
            let salt = try f.salt()
            let next = try f.take("next hashed owner")
            let hash = try ZoneText.base32hex(next.text, field: "NSEC3 next hashed owner")
            guard (1...255).contains(hash.count) else { throw f.error("next hashed owner", "must be 1 to 255 bytes") }
            rdata = .nsec3(
                NSEC3(
                    hashAlgorithm: alg, flags: flags, iterations: iterations, salt: salt, nextHashedOwner: hash,
                    types: try f.typeBitmap()))
        case .nsec3param:
            rdata = .nsec3param(
                NSEC3PARAM(
                    hashAlgorithm: try f.u8("hash algorithm"), flags: try f.u8("flags"), iterations: try f.u16("iterations"),
                    salt: try f.salt()))
        case .tlsa:
            rdata = .tlsa(
                usage: try f.u8("usage"), selector: try f.u8("selector"), matchingType: try f.u8("matching type"),
                data: try f.hexRest("certificate association data"))
        case .hinfo:
            var w = WireWriter(capacity: 64, compression: false)
            try w.characterString(try f.characterString("CPU"))
            try w.characterString(try f.characterString("OS"))
            rdata = .unknown(type, w.bytes)
        default:
            throw DNSWireError(
                .badPresentation, at: -1, "\(type) has no presentation format here: use the RFC 3597 form '\\# <length> <hex>'")
        }
        try f.finish()
        // Fields that hold many bytes can add up to more than RDLENGTH can say.
        switch rdata {
        case .txt, .caa, .svcb, .https, .ds, .dnskey, .rrsig, .tlsa:
            let length: Int
            do {
                length = try rdata.wireBytes().count
            } catch {
                throw f.error("RDATA", "has no wire form: \(error.reason)")
            }
            guard length <= 0xFFFF else { throw f.error("RDATA", "\(length) bytes, more than 65535") }
        default: break
        }
        return rdata
    }
}

/// A cursor over the RDATA fields of one record, with decoders that name the field in errors.
struct RDataFields {
    var tokens: ArraySlice<ZoneToken>
    let type: RRType
    let origin: Name?

    func error(_ field: String, _ problem: String) -> DNSWireError {
        DNSWireError(.badPresentation, at: -1, "\(type) \(field): \(problem)")
    }

    mutating func take(_ field: String) throws(DNSWireError) -> ZoneToken {
        guard let t = tokens.popFirst() else { throw error(field, "missing") }
        return t
    }

    func finish() throws(DNSWireError) {
        if let t = tokens.first { throw error("RDATA", "unexpected extra field \(ZoneText.show(t.text))") }
    }

    mutating func number(_ field: String, max: UInt64) throws(DNSWireError) -> UInt64 {
        let t = try take(field)
        guard let v = ZoneText.decimal(t.text, max: max) else {
            throw error(field, "\(ZoneText.show(t.text)) is not a number in 0...\(max)")
        }
        return v
    }

    mutating func u8(_ field: String) throws(DNSWireError) -> UInt8 { UInt8(try number(field, max: 255)) }
    mutating func u16(_ field: String) throws(DNSWireError) -> UInt16 { UInt16(try number(field, max: 65535)) }

    /// An SOA timer: seconds, or with units like a TTL (`1h`, `2w`).
    mutating func timer(_ field: String) throws(DNSWireError) -> UInt32 {
        let t = try take(field)
        guard let v = ZoneText.ttl(t.text) else {
            throw error(field, "\(ZoneText.show(t.text)) is not a time in 0...4294967295 seconds (units s m h d w allowed)")
        }
        return v
    }

    mutating func time(_ field: String) throws(DNSWireError) -> UInt32 {
        try ZoneText.rrsigTime(try take(field).text, field: "\(type) \(field)")
    }

    mutating func name(_ field: String) throws(DNSWireError) -> Name {
        try ZoneText.name(try take(field), origin: origin, field: "\(type) \(field)")
    }

    /// One <character-string> (RFC 1035 §3.3), quoted or a plain word: at most 255 bytes.
    mutating func characterString(_ field: String) throws(DNSWireError) -> [UInt8] {
        let bytes = try ZoneText.unescape(try take(field).text, field: "\(type) \(field)")
        guard bytes.count <= 255 else { throw error(field, "\(bytes.count) bytes, at most 255 in one string") }
        return bytes
    }

    /// The remaining fields as hex (spaces allowed between them); at least one byte.
    mutating func hexRest(_ field: String) throws(DNSWireError) -> [UInt8] {
        let bytes = try ZoneText.hex(tokens, field: "\(type) \(field)")
        tokens = tokens[tokens.endIndex...]
        guard !bytes.isEmpty else { throw error(field, "missing") }
        return bytes
    }

    /// The remaining fields as base64 (spaces allowed between them); at least one byte.
    mutating func base64Rest(_ field: String) throws(DNSWireError) -> [UInt8] {
        let bytes = try ZoneText.base64(tokens, field: "\(type) \(field)")
        tokens = tokens[tokens.endIndex...]
        guard !bytes.isEmpty else { throw error(field, "missing") }
        return bytes
    }

    /// The remaining fields as type mnemonics or `TYPEnnn`.
    mutating func typeBitmap() throws(DNSWireError) -> TypeBitmap {
        var types: [RRType] = []
        while let t = tokens.popFirst() {
            guard let type = ZoneText.rrType(t.text) else { throw error("type bitmap", "\(ZoneText.show(t.text)) is not a type") }
            types.append(type)
        }
        return TypeBitmap(types)
    }

    /// An NSEC3 salt: `-` for none, else 1 to 255 bytes of hex.
    mutating func salt() throws(DNSWireError) -> [UInt8] {
        let t = try take("salt")
        if t.text == [UInt8(ascii: "-")] && !t.quoted { return [] }
        guard !t.text.isEmpty else { throw error("salt", "empty (write '-' for no salt)") }
        let salt = try ZoneText.hex(CollectionOfOne(t), field: "\(type) salt")
        guard salt.count <= 255 else { throw error("salt", "\(salt.count) bytes, at most 255") }
        return salt
    }

    mutating func ds() throws(DNSWireError) -> RData.DS {
        RData.DS(
            keyTag: try u16("key tag"), algorithm: try u8("algorithm"), digestType: try u8("digest type"), digest: try hexRest("digest"))
    }

    /// RFC 3597 §5: `\# <length> <hex>`, decoded with the wire decoder of `type`.
    mutating func generic() throws(DNSWireError) -> RData {
        _ = tokens.popFirst()
        let length = Int(try number("generic RDATA length", max: 65535))
        let bytes = try ZoneText.hex(tokens, field: "\(type) generic RDATA")
        tokens = tokens[tokens.endIndex...]
        guard bytes.count == length else {
            throw error("generic RDATA", "length says \(length) bytes but the hex has \(bytes.count)")
        }
        var r = WireReader(bytes)
        let rdata: RData
        do {
            rdata = try RData.decode(type: type, &r)
        } catch {
            throw self.error("generic RDATA", "does not decode as \(type): \(error.code)\(error.reason.isEmpty ? "" : ", \(error.reason)")")
        }
        guard r.isAtEnd else { throw error("generic RDATA", "\(r.remaining) bytes left over after the \(type) RDATA") }
        return rdata
    }

    // MARK: SVCB and HTTPS (RFC 9460 §2.1 and Appendix A)

    mutating func svcb() throws(DNSWireError) -> RData.SVCB {
        let priority = try u16("priority")
        let target = try name("target")
        var params: [RData.SvcParam] = []
        var seen = Set<UInt16>()
        var checkMandatory = false
        while let t = tokens.popFirst() {
            let text = t.text
            let eq = text.firstIndex(of: UInt8(ascii: "="))
            let keyText = Array(text[..<(eq ?? text.endIndex)])
            guard let key = Self.svcKey(keyText) else {
                throw error("SvcParam", "unknown key \(ZoneText.show(keyText)) (use a name or keyNNNNN, 0...65534)")
            }
            let keyName = Presentation.svcKeyName(key)
            guard seen.insert(key).inserted else { throw error("SvcParam", "key \(keyName) appears more than once") }
            let raw = eq.map { Array(text[($0 + 1)...]) } ?? []
            let value = try ZoneText.unescape(raw, field: "\(type) \(keyName)")
            // keyNNNNN is the generic form even for a registered key: its value is the wire value.
            let generic = keyText.count > 3 && keyText[0] | 0x20 == UInt8(ascii: "k") && ZoneText.isDigit(keyText[3])
            let wire = generic ? value : try svcValue(key: key, name: keyName, value: value)
            if key == RData.SvcParam.mandatory && !generic { checkMandatory = true }
            guard wire.count <= 0xFFFF else { throw error(keyName, "value longer than 65535 bytes") }
            params.append(RData.SvcParam(key: key, value: wire))
        }
        params.sort { $0.key < $1.key }
        // RFC 9460 §8: every key listed in mandatory must be present (unless it was given as key0,
        // whose value is taken as it is).
        if checkMandatory, let m = params.first {
            for i in stride(from: 0, to: m.value.count, by: 2) {
                let k = UInt16(m.value[i]) << 8 | UInt16(m.value[i + 1])
                guard seen.contains(k) else {
                    throw error("mandatory", "lists \(Presentation.svcKeyName(k)), which is not present")
                }
            }
        }
        return RData.SVCB(priority: priority, target: target, params: params)
    }

    /// A key name (case-insensitive) or `keyNNNNN` without leading zeros; 65535 is reserved.
    static func svcKey(_ text: [UInt8]) -> UInt16? {
        let lower = String(decoding: text.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        switch lower {
        case "mandatory": return RData.SvcParam.mandatory
        case "alpn": return RData.SvcParam.alpn
        case "no-default-alpn": return RData.SvcParam.noDefaultALPN
        case "port": return RData.SvcParam.port
        case "ipv4hint": return RData.SvcParam.ipv4hint
        case "ech": return RData.SvcParam.ech
        case "ipv6hint": return RData.SvcParam.ipv6hint
        case "dohpath": return RData.SvcParam.dohpath
        default:
            let digits = lower.utf8.dropFirst(3)
            guard lower.hasPrefix("key"), digits.first != UInt8(ascii: "0") || digits.count == 1,
                let v = ZoneText.decimal(digits, max: 65534)
            else { return nil }
            return UInt16(v)
        }
    }

    /// The wire value of a registered key from its (already unescaped) presentation value.
    func svcValue(key: UInt16, name: String, value: [UInt8]) throws(DNSWireError) -> [UInt8] {
        var w = WireWriter(capacity: value.count + 8, compression: false)
        switch key {
        case RData.SvcParam.mandatory:
            var keys: [UInt16] = []
            for item in try valueList(value, key: name) {
                guard let k = Self.svcKey(item) else { throw error(name, "unknown key \(ZoneText.show(item))") }
                guard k != RData.SvcParam.mandatory else { throw error(name, "must not list mandatory itself") }
                guard !keys.contains(k) else { throw error(name, "lists \(Presentation.svcKeyName(k)) more than once") }
                keys.append(k)
            }
            for k in keys.sorted() { w.u16(k) }
        case RData.SvcParam.alpn:
            for id in try valueList(value, key: name) {
                guard id.count <= 255 else { throw error(name, "protocol id longer than 255 bytes") }
                try w.characterString(id)
            }
        case RData.SvcParam.noDefaultALPN:
            guard value.isEmpty else { throw error(name, "takes no value") }
        case RData.SvcParam.port:
            guard let p = ZoneText.decimal(value, max: 65535) else {
                throw error(name, "\(ZoneText.show(value)) is not a port in 0...65535")
            }
            w.u16(UInt16(p))
        case RData.SvcParam.ipv4hint:
            for item in try valueList(value, key: name) {
                guard let a = IPv4Address(String(decoding: item, as: UTF8.self)) else {
                    throw error(name, "\(ZoneText.show(item)) is not an IPv4 address")
                }
                w.u32(a.value)
            }
        case RData.SvcParam.ech:
            return try ZoneText.base64(CollectionOfOne(ZoneToken(text: value, quoted: false)), field: "\(type) \(name)")
        case RData.SvcParam.ipv6hint:
            for item in try valueList(value, key: name) {
                guard !item.contains(UInt8(ascii: "%")), let a = IPv6Address(String(decoding: item, as: UTF8.self)) else {
                    throw error(name, "\(ZoneText.show(item)) is not an IPv6 address")
                }
                w.append(a.bytes)
            }
        default:  // dohpath: the URI template as it is
            return value
        }
        return w.bytes
    }

    /// A comma-separated value-list (RFC 9460 Appendix A.1) of non-empty items, where `\,` and
    /// `\\` stand for a comma and a backslash inside an item.
    func valueList(_ value: [UInt8], key: String) throws(DNSWireError) -> [[UInt8]] {
        guard !value.isEmpty else { throw error(key, "needs a value") }
        var items: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        while i < value.count {
            let b = value[i]
            i += 1
            switch b {
            case UInt8(ascii: ","):
                guard !cur.isEmpty else { throw error(key, "empty item in the list") }
                items.append(cur)
                cur = []
            case ZoneLexer.backslash:
                guard i < value.count, value[i] == UInt8(ascii: ",") || value[i] == ZoneLexer.backslash else {
                    throw error(key, "in a list only '\\,' and '\\\\' may be escaped")
                }
                cur.append(value[i])
                i += 1
            default:
                cur.append(b)
            }
        }
        guard !cur.isEmpty else { throw error(key, "empty item in the list") }
        items.append(cur)
        return items
    }
}
