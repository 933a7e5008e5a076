/// The 12-byte header, without the section counts (those follow from the sections).
public struct Header: Hashable, Sendable {
    public var id: UInt16
    public var flags: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    @inline(__always) func bit(_ b: UInt16) -> Bool { flags & b != 0 }
    @inline(__always) mutating func set(_ b: UInt16, _ on: Bool) { flags = on ? flags | b : flags & ~b }

    public var isResponse: Bool { get { bit(0x8000) } set { set(0x8000, newValue) } }
    public var opcode: Opcode {
        get { Opcode(UInt8((flags >> 11) & 0x0F)) }
        set { flags = (flags & ~0x7800) | (UInt16(newValue.rawValue) << 11) }
    }
    public var authoritative: Bool { get { bit(0x0400) } set { set(0x0400, newValue) } }
    public var truncated: Bool { get { bit(0x0200) } set { set(0x0200, newValue) } }
    public var recursionDesired: Bool { get { bit(0x0100) } set { set(0x0100, newValue) } }
    public var recursionAvailable: Bool { get { bit(0x0080) } set { set(0x0080, newValue) } }
    public var zBit: Bool { get { bit(0x0040) } set { set(0x0040, newValue) } }
    public var authenticData: Bool { get { bit(0x0020) } set { set(0x0020, newValue) } }
    public var checkingDisabled: Bool { get { bit(0x0010) } set { set(0x0010, newValue) } }
    /// The low 4 bits of the rcode as carried in the header.
    public var headerRcode: UInt8 {
        get { UInt8(flags & 0x000F) }
        set { flags = (flags & ~0x000F) | UInt16(newValue & 0x0F) }
    }
}

public struct Question: Hashable, Sendable, CustomStringConvertible {
    public var name: Name
    public var type: RRType
    public var rrClass: RRClass
    public init(name: Name, type: RRType, rrClass: RRClass = .in) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
    }
    public var description: String { "\(name) \(rrClass) \(type)" }
}

public struct ResourceRecord: Hashable, Sendable {
    public var name: Name
    public var rrClass: RRClass
    public var ttl: UInt32
    public var rdata: RData
    public var type: RRType { rdata.type }

    public init(name: Name, rrClass: RRClass = .in, ttl: UInt32, rdata: RData) {
        self.name = name
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
    }
}

/// A whole DNS message. The OPT record, when present, is held in `edns` and not in `additionals`.
public struct Message: Hashable, Sendable {
    public var header: Header
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authorities: [ResourceRecord]
    public var additionals: [ResourceRecord]
    public var edns: EDNS?

    public init(
        header: Header = Header(), questions: [Question] = [], answers: [ResourceRecord] = [],
        authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = [], edns: EDNS? = nil
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.edns = edns
    }

    /// The full 12-bit rcode (header bits plus the OPT record's extended bits).
    public var rcode: Rcode {
        get { Rcode(UInt16(edns?.extendedRcode ?? 0) << 4 | UInt16(header.headerRcode)) }
        set {
            header.headerRcode = UInt8(newValue.rawValue & 0x0F)
            let high = UInt8(newValue.rawValue >> 4)
            if edns != nil {
                edns!.extendedRcode = high
            }
        }
    }

    public var question: Question? { questions.first }

    // MARK: Parsing

    /// Parses a whole message. Trailing bytes after the last record are an error.
    public init(parsing bytes: [UInt8]) throws(DNSWireError) {
        var r = WireReader(bytes)
        guard bytes.count >= 12 else { throw DNSWireError(.truncated, at: bytes.count, "header needs 12 bytes") }
        let id = try r.u16()
        let flags = try r.u16()
        let qd = Int(try r.u16())
        let an = Int(try r.u16())
        let ns = Int(try r.u16())
        let ar = Int(try r.u16())
        // Each question takes at least 5 bytes and each record at least 11: reject absurd counts
        // before allocating anything.
        guard qd * 5 + (an + ns + ar) * 11 <= bytes.count - 12 else {
            throw DNSWireError(.badCount, at: 4, "section counts exceed the message size")
        }
        header = Header(id: id, flags: flags)
        questions = []
        questions.reserveCapacity(qd)
        for _ in 0..<qd {
            let name = try r.name()
            let t = RRType(try r.u16())
            let c = RRClass(try r.u16())
            questions.append(Question(name: name, type: t, rrClass: c))
        }
        answers = try Self.records(an, &r)
        authorities = try Self.records(ns, &r)
        additionals = []
        edns = nil
        for _ in 0..<ar {
            let start = r.offset
            let rr = try Self.record(&r)
            if case .opt(let options) = rr.rdata {
                guard edns == nil else { throw DNSWireError(.badEDNS, at: start, "more than one OPT record") }
                guard rr.name.isRoot else { throw DNSWireError(.badEDNS, at: start, "OPT owner is not the root") }
                // RFC 6891 §6.2.3: a payload size below 512 is treated as 512. Normalising here
                // keeps parse -> encode -> parse stable (encodeOPT never writes less than 512).
                edns = EDNS(
                    udpPayloadSize: max(512, rr.rrClass.rawValue), extendedRcode: UInt8(rr.ttl >> 24),
                    version: UInt8((rr.ttl >> 16) & 0xFF), dnssecOK: rr.ttl & 0x8000 != 0,
                    otherFlags: UInt16(rr.ttl & 0x7FFF), options: options)
            } else {
                additionals.append(rr)
            }
        }
        guard r.isAtEnd else { throw DNSWireError(.trailingData, at: r.offset, "\(r.remaining) bytes after the last record") }
    }

    static func records(_ n: Int, _ r: inout WireReader) throws(DNSWireError) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try record(&r)) }
        return out
    }

    static func record(_ r: inout WireReader) throws(DNSWireError) -> ResourceRecord {
        let name = try r.name()
        let t = RRType(try r.u16())
        let c = RRClass(try r.u16())
        let ttl = try r.u32()
        let len = Int(try r.u16())
        let start = r.offset
        try r.need(len)
        let savedLimit = r.limit
        r.limit = start + len
        let rdata = try RData.decode(type: t, &r)
        guard r.offset == r.limit else {
            throw DNSWireError(.badRData, at: r.offset, "\(r.limit - r.offset) bytes left in \(t) RDATA")
        }
        r.limit = savedLimit
        return ResourceRecord(name: name, rrClass: c, ttl: ttl, rdata: rdata)
    }

    // MARK: Building

    /// Encodes the message with name compression. When `maxSize` is given and the message does
    /// not fit, additional records are dropped first (without TC); if the answer or authority
    /// sections still do not fit, they are emptied and TC is set (RFC 2181 §9). The OPT record
    /// is always kept.
    public func encode(maxSize: Int = 65535) throws(DNSWireError) -> [UInt8] {
        guard questions.count <= 0xFFFF else {
            throw DNSWireError(.messageTooLarge, at: -1, "\(questions.count) questions")
        }
        let opt = try edns.map { e throws(DNSWireError) -> [UInt8] in try Self.encodeOPT(e, rcode: rcode) }
        // No DNS message is longer than 65535 bytes, whatever the caller allows.
        let budget = min(maxSize, 65535) - (opt?.count ?? 0)
        var h = header
        var w = headerAndQuestions(h)
        guard w.count <= budget else { throw DNSWireError(.messageTooLarge, at: -1, "question does not fit in \(maxSize)") }
        var counts = [0, 0, 0]
        var truncated = false
        sections: for (i, section) in [answers, authorities, additionals].enumerated() {
            for rr in section {
                let mark = w.count
                try Self.encodeRecord(rr, into: &w)
                if w.count > budget {
                    w.rollback(to: mark)
                    if i < 2 { truncated = true }
                    break sections
                }
                counts[i] += 1
            }
        }
        if truncated {
            // Drop partial RRsets entirely: keep only the header, the question and the OPT.
            h.truncated = true
            w = headerAndQuestions(h)
            counts = [0, 0, 0]
        }
        var out = w.bytes
        out[6] = UInt8(counts[0] >> 8)
        out[7] = UInt8(counts[0] & 0xFF)
        out[8] = UInt8(counts[1] >> 8)
        out[9] = UInt8(counts[1] & 0xFF)
        var ar = counts[2]
        if let opt {
            out.append(contentsOf: opt)
            ar += 1
        }
        out[10] = UInt8(ar >> 8)
        out[11] = UInt8(ar & 0xFF)
        return out
    }

    /// The header (section counts other than QDCOUNT left at zero) and the question section.
    func headerAndQuestions(_ h: Header) -> WireWriter {
        var w = WireWriter(capacity: 512)
        w.u16(h.id)
        w.u16(h.flags)
        w.u16(UInt16(questions.count))
        w.u16(0)
        w.u16(0)
        w.u16(0)
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.rrClass.rawValue)
        }
        return w
    }

    static func encodeRecord(_ rr: ResourceRecord, into w: inout WireWriter) throws(DNSWireError) {
        w.name(rr.name)
        w.u16(rr.type.rawValue)
        w.u16(rr.rrClass.rawValue)
        w.u32(rr.ttl)
        let lenAt = w.count
        w.u16(0)
        try rr.rdata.encode(into: &w)
        let len = w.count - lenAt - 2
        guard len <= 0xFFFF else { throw DNSWireError(.badRData, at: -1, "RDATA longer than 65535") }
        w.set16(UInt16(len), at: lenAt)
    }

    /// The OPT record as wire bytes (root owner, no compression needed).
    public static func encodeOPT(_ e: EDNS, rcode: Rcode) throws(DNSWireError) -> [UInt8] {
        var w = WireWriter(capacity: 64, compression: false)
        w.u8(0)
        w.u16(RRType.opt.rawValue)
        w.u16(max(512, e.udpPayloadSize))
        let high = UInt32(rcode.rawValue >> 4) & 0xFF
        w.u32(high << 24 | UInt32(e.version) << 16 | (e.dnssecOK ? 0x8000 : 0) | UInt32(e.otherFlags & 0x7FFF))
        let lenAt = w.count
        w.u16(0)
        for o in e.options { try o.encode(into: &w) }
        let len = w.count - lenAt - 2
        guard len <= 0xFFFF else { throw DNSWireError(.badEDNS, at: -1, "OPT RDATA longer than 65535") }
        w.set16(UInt16(len), at: lenAt)
        return w.bytes
    }
}
