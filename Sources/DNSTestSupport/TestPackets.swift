import DNSWire

/// Builders for the messages tests send and script. Names are presentation text and must be
/// valid (a bad name in test data traps).
public enum TestPackets {
    public static func name(_ text: String) -> Name {
        do {
            return try Name(text)
        } catch {
            fatalError("bad test name \(text): \(error)")
        }
    }

    /// A query message: RD set by default, one question.
    public static func queryMessage(
        _ name: String, _ type: RRType = .a, id: UInt16 = 0x1234, rrClass: RRClass = .in, edns: EDNS? = nil,
        recursionDesired: Bool = true, checkingDisabled: Bool = false, opcode: Opcode = .query
    ) -> Message {
        var header = Header(id: id)
        header.recursionDesired = recursionDesired
        header.checkingDisabled = checkingDisabled
        header.opcode = opcode
        return Message(header: header, questions: [Question(name: Self.name(name), type: type, rrClass: rrClass)], edns: edns)
    }

    /// A query as wire bytes.
    public static func query(
        _ name: String, _ type: RRType = .a, id: UInt16 = 0x1234, rrClass: RRClass = .in, edns: EDNS? = nil,
        recursionDesired: Bool = true, checkingDisabled: Bool = false, opcode: Opcode = .query
    ) -> [UInt8] {
        encode(
            queryMessage(
                name, type, id: id, rrClass: rrClass, edns: edns, recursionDesired: recursionDesired,
                checkingDisabled: checkingDisabled, opcode: opcode))
    }

    /// A response to `query`: same ID and question, QR and RA set, RD copied; EDNS echoed
    /// (payload 1232) when the query had it.
    public static func answer(
        to query: Message, rcode: Rcode = .noError, answers: [ResourceRecord] = [], authorities: [ResourceRecord] = [],
        additionals: [ResourceRecord] = [], authoritative: Bool = false, truncated: Bool = false
    ) -> Message {
        var header = Header(id: query.header.id)
        header.isResponse = true
        header.opcode = query.header.opcode
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = true
        header.authoritative = authoritative
        header.truncated = truncated
        var m = Message(
            header: header, questions: query.questions, answers: answers, authorities: authorities,
            additionals: additionals, edns: query.edns.map { EDNS(udpPayloadSize: 1232, dnssecOK: $0.dnssecOK) })
        m.rcode = rcode
        return m
    }

    /// A response to a query for `name`/`type` with ID 0 (for feeding the cache directly).
    public static func answer(
        _ name: String, _ type: RRType = .a, rcode: Rcode = .noError, answers: [ResourceRecord] = [],
        authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = [], authoritative: Bool = false,
        truncated: Bool = false
    ) -> Message {
        answer(
            to: queryMessage(name, type, id: 0), rcode: rcode, answers: answers, authorities: authorities,
            additionals: additionals, authoritative: authoritative, truncated: truncated)
    }

    // MARK: Records

    public static func a(_ name: String, _ address: String, ttl: UInt32 = 300) -> ResourceRecord {
        guard let ip = IPv4Address(address) else { fatalError("bad IPv4 address \(address)") }
        return ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .a(ip))
    }

    public static func aaaa(_ name: String, _ address: String, ttl: UInt32 = 300) -> ResourceRecord {
        guard let ip = IPv6Address(address) else { fatalError("bad IPv6 address \(address)") }
        return ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .aaaa(ip))
    }

    public static func cname(_ name: String, _ target: String, ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .cname(Self.name(target)))
    }

    public static func ns(_ name: String, _ host: String, ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .ns(Self.name(host)))
    }

    public static func txt(_ name: String, _ strings: [String], ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .txt(strings.map { Array($0.utf8) }))
    }

    /// An SOA record for negative answers: the record's TTL and the MINIMUM field are separate.
    public static func soa(_ zone: String, ttl: UInt32 = 3600, minimum: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(
            name: Self.name(zone), ttl: ttl,
            rdata: .soa(
                .init(
                    mname: Self.name("ns1." + zone), rname: Self.name("hostmaster." + zone), serial: 2024_01_01,
                    refresh: 3600, retry: 600, expire: 604800, minimum: minimum)))
    }

    /// `count` A records for `name` (10.0.x.y), to make answers of a known size.
    public static func manyA(_ name: String, count: Int, ttl: UInt32 = 300) -> [ResourceRecord] {
        (0..<count).map { i in
            ResourceRecord(name: Self.name(name), ttl: ttl, rdata: .a(IPv4Address(0x0A00_0000 | UInt32(i))))
        }
    }

    // MARK: Wire helpers

    public static func encode(_ m: Message) -> [UInt8] {
        do {
            return try m.encode()
        } catch {
            fatalError("cannot encode test message: \(error)")
        }
    }

    public static func id(of wire: [UInt8]) -> UInt16 { UInt16(wire[0]) << 8 | UInt16(wire[1]) }
    public static func flags(of wire: [UInt8]) -> UInt16 { UInt16(wire[2]) << 8 | UInt16(wire[3]) }
    /// The 4-bit header rcode.
    public static func headerRcode(of wire: [UInt8]) -> UInt8 { wire[3] & 0x0F }

    /// Raw header bytes followed by `body` (for malformed packets).
    public static func raw(
        id: UInt16 = 0x1234, flags: UInt16 = 0x0100, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0,
        body: [UInt8] = []
    ) -> [UInt8] {
        var out: [UInt8] = []
        for v in [id, flags, qd, an, ns, ar] { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        return out + body
    }
}

extension Message {
    /// The TTLs of every record in answer, authority and additional order (OPT excluded).
    public var allTTLs: [UInt32] { (answers + authorities + additionals).map(\.ttl) }
}
