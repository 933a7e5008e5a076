import Testing

@testable import DNSWire

/// Packets built to break a parser. Each must throw a `DNSWireError` with the right code and the
/// offset of the offending byte; none may trap.
@Suite("Hostile packets")
struct HostilePacketTests {
    /// One record: owner, type, class IN, TTL 60, the RDLENGTH given (or the real one), RDATA.
    static func record(owner: [UInt8] = [0], type: RRType, rdlength: Int? = nil, _ rdata: [UInt8]) -> [UInt8] {
        var w = WireWriter(compression: false)
        w.append(owner)
        w.u16(type.rawValue)
        w.u16(1)
        w.u32(60)
        w.u16(UInt16(rdlength ?? rdata.count))
        w.append(rdata)
        return w.bytes
    }

    /// An OPT pseudo-record with the given options, already encoded.
    static func opt(owner: [UInt8] = [0], _ options: [UInt8]) -> [UInt8] {
        var w = WireWriter(compression: false)
        w.append(owner)
        w.u16(RRType.opt.rawValue)
        w.u16(1232)
        w.u32(0)
        w.u16(UInt16(options.count))
        w.append(options)
        return w.bytes
    }

    /// Where the RDATA of the first record after the header starts, for a root owner.
    static let rdataAt = 12 + 1 + 10

    static func expectError(
        _ bytes: [UInt8], _ code: DNSWireError.Code, at offset: Int, _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = parseError(bytes)
        #expect(error?.code == code, comment, sourceLocation: sourceLocation)
        #expect(error?.offset == offset, comment, sourceLocation: sourceLocation)
    }

    // MARK: Compression pointers

    @Test("a pointer to itself")
    func selfPointer() {
        Self.expectError(packet(qd: 1, hex("c00c 0001 0001")), .badPointer, at: 12)
    }

    @Test("a pointer to a label of its own name")
    func pointerIntoOwnName() {
        Self.expectError(packet(qd: 1, hex("0161 c00c 0001 0001")), .badPointer, at: 14)
    }

    @Test("a forward pointer")
    func forwardPointer() {
        Self.expectError(packet(qd: 1, hex("c00e 0161 00 0001 0001")), .badPointer, at: 12)
        // A pointer beyond the end of the message.
        Self.expectError(packet(qd: 1, hex("ffff 0001 0001")), .badPointer, at: 12)
    }

    @Test("two pointers pointing at each other")
    func pointerLoop() {
        // Answer 1 (root owner, unknown type) holds a pointer at offset 23 to offset 25; answer 2's owner
        // at 25 points back to 23. Following 25 -> 23 is fine, 23 -> 25 is not backwards.
        let a1 = Self.record(type: RRType(65280), hex("c019"))
        let a2 = hex("c017") + Self.record(type: .a, [127, 0, 0, 1]).dropFirst()
        Self.expectError(packet(an: 2, a1 + a2), .badPointer, at: 23)
    }

    @Test("a chain of more than 64 pointers")
    func tooManyPointers() {
        // RDATA at 23: a root label, then 64 pointers each pointing at the one before (the first at
        // the root label). The owner of the next record points at the last: 65 pointers in all.
        var rdata: [UInt8] = [0]
        for i in 0..<64 { rdata += [0xC0, UInt8(Self.rdataAt + (i == 0 ? 0 : 1 + 2 * (i - 1)))] }
        let lastPointer = Self.rdataAt + 1 + 2 * 63
        let a1 = Self.record(type: RRType(65280), rdata)
        let a2 = [0xC0, UInt8(lastPointer)] + Self.record(type: .a, [127, 0, 0, 1]).dropFirst()
        Self.expectError(packet(an: 2, a1 + a2), .tooManyPointers, at: Self.rdataAt + 1)

        // With 63 pointers in the RDATA (64 in all) the name still parses.
        var ok: [UInt8] = [0]
        for i in 0..<63 { ok += [0xC0, UInt8(Self.rdataAt + (i == 0 ? 0 : 1 + 2 * (i - 1)))] }
        let okA2 = [0xC0, UInt8(Self.rdataAt + 1 + 2 * 62)] + Self.record(type: .a, [127, 0, 0, 1]).dropFirst()
        #expect(parseError(packet(an: 2, Self.record(type: RRType(65280), ok) + okA2)) == nil)
    }

    @Test("a pointer cut off by the end of the packet")
    func truncatedPointer() {
        Self.expectError(packet(qd: 1, hex("0161 0162 0163 0164 c0")), .truncated, at: 20)
    }

    // MARK: Labels and names

    @Test("reserved label types 0x40 and 0x80")
    func reservedLabelTypes() {
        Self.expectError(packet(qd: 1, hex("4161 00 0001 0001")), .badLabelType, at: 12)
        Self.expectError(packet(qd: 1, hex("0161 8161 00 0001 0001")), .badLabelType, at: 14)
        // A 64-byte "label" has length byte 0x40: the extended label type of RFC 6891, not a label.
        let long = [UInt8(64)] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]
        Self.expectError(packet(qd: 1, long), .badLabelType, at: 12)
    }

    @Test("a 63-byte label is fine")
    func maxLabel() throws {
        let label = [UInt8(63)] + [UInt8](repeating: 0x61, count: 63) + [0, 0, 1, 0, 1]
        let m = try Message(parsing: packet(qd: 1, label))
        #expect(m.questions[0].name.labels[0].count == 63)
    }

    @Test("a name longer than 255 bytes, made from pointers")
    func nameTooLongViaPointers() {
        // RDATA at 23: four 63-byte labels, each followed by a pointer to the previous one.
        let a = [UInt8](repeating: 0x61, count: 63)
        var rdata = [UInt8(63)] + a + [0]
        var starts = [Self.rdataAt]
        for _ in 0..<3 {
            starts.append(Self.rdataAt + rdata.count)
            rdata += [UInt8(63)] + a + [0xC0, UInt8(starts[starts.count - 2])]
        }
        // 4 * 64 + 1 = 257 bytes: the fourth label read (the first one written) is one too many.
        let a1 = Self.record(type: RRType(65280), rdata)
        let a2 = [0xC0, UInt8(starts[3])] + Self.record(type: .a, [127, 0, 0, 1]).dropFirst()
        Self.expectError(packet(an: 2, a1 + a2), .nameTooLong, at: Self.rdataAt)

        // Three of them (193 bytes) are fine.
        let a3 = [0xC0, UInt8(starts[2])] + Self.record(type: .a, [127, 0, 0, 1]).dropFirst()
        #expect(parseError(packet(an: 2, a1 + a3)) == nil)
    }

    @Test("an uncompressed name longer than 255 bytes")
    func nameTooLongPlain() {
        var name: [UInt8] = []
        for _ in 0..<4 { name += [63] + [UInt8](repeating: 0x62, count: 63) }
        // The fourth label would end at 12 + 256 + 1: reported where it starts.
        Self.expectError(packet(qd: 1, name + [0, 0, 1, 0, 1]), .nameTooLong, at: 12 + 3 * 64)
    }

    @Test("a name running past the end of the packet")
    func nameRunsPastEnd() {
        Self.expectError(packet(qd: 1, hex("0861 6263 00 0001 00")), .truncated, at: 12)
        // The name ends with the packet, leaving no room for the type.
        Self.expectError(packet(qd: 1, hex("0161 0162 0163 00")), .truncated, at: 19)
    }

    // MARK: Header and counts

    @Test("a truncated header")
    func truncatedHeader() {
        Self.expectError([], .truncated, at: 0)
        Self.expectError(hex("1234 0100 0001 0000 0000 00"), .truncated, at: 11)
    }

    @Test("section counts larger than the packet")
    func countsTooLarge() {
        Self.expectError(packet(an: 65535, hex("00 0001 0001 00000000 0004 7f000001")), .badCount, at: 4)
        Self.expectError(packet(qd: 65535, an: 65535, ns: 65535, ar: 65535), .badCount, at: 4)
        Self.expectError(packet(qd: 1), .badCount, at: 4)
        // Counts that pass the size estimate but name more records than there are.
        Self.expectError(packet(qd: 2, hex("0161 0162 00 0001 0001 00")), .truncated, at: 22)
        Self.expectError(packet(an: 1, ar: 1, Self.record(type: .a, [1, 2, 3, 4]) + hex("00 0029 0000 0000")), .truncated, at: 32)
    }

    @Test("trailing garbage after the last record")
    func trailingGarbage() throws {
        let good = packet(qd: 1, hex("00 0001 0001"))
        #expect(parseError(good) == nil)
        Self.expectError(good + [0], .trailingData, at: good.count)
        Self.expectError(good + hex("deadbeef"), .trailingData, at: good.count)
    }

    // MARK: RDATA

    @Test("RDLENGTH beyond the end of the packet")
    func rdlengthBeyondEnd() {
        Self.expectError(packet(an: 1, Self.record(type: .a, rdlength: 0xFFFF, [1, 2, 3, 4])), .truncated, at: Self.rdataAt)
        Self.expectError(packet(an: 1, Self.record(type: .txt, rdlength: 6, hex("05 6162"))), .truncated, at: Self.rdataAt)
    }

    @Test("truncated RDATA: the fields need more bytes than RDLENGTH gives")
    func truncatedRData() {
        let at = Self.rdataAt
        // MX whose exchange name would continue past RDLENGTH into the next bytes.
        let mx = Self.record(type: .mx, rdlength: 3, hex("000a 03")) + hex("616263 00")
        Self.expectError(packet(an: 1, mx), .truncated, at: at + 2)
        Self.expectError(packet(an: 1, Self.record(type: .soa, hex("00 00 00000001"))), .truncated, at: at + 6)
        Self.expectError(packet(an: 1, Self.record(type: .srv, hex("0001 0002"))), .truncated, at: at + 4)
        Self.expectError(packet(an: 1, Self.record(type: .txt, hex("05 6162"))), .truncated, at: at + 1)
        Self.expectError(packet(an: 1, Self.record(type: .naptr, hex("0001 0002 01 53 00"))), .truncated, at: at + 7)
        Self.expectError(packet(an: 1, Self.record(type: .caa, hex("00 05 6973"))), .truncated, at: at + 2)
        Self.expectError(packet(an: 1, Self.record(type: .ds, hex("0001 0d"))), .truncated, at: at + 3)
        Self.expectError(packet(an: 1, Self.record(type: .dnskey, hex("0101 03"))), .truncated, at: at + 3)
        Self.expectError(packet(an: 1, Self.record(type: .rrsig, hex("0001 0d 02 00000e10"))), .truncated, at: at + 8)
        Self.expectError(packet(an: 1, Self.record(type: .nsec3, hex("01 00 0000 04 aabb"))), .truncated, at: at + 5)
        Self.expectError(packet(an: 1, Self.record(type: .nsec3param, hex("01 00 0000 04 aabb"))), .truncated, at: at + 5)
        Self.expectError(packet(an: 1, Self.record(type: .tlsa, hex("03 01"))), .truncated, at: at + 2)
        Self.expectError(packet(an: 1, Self.record(type: .svcb, hex("0001 00 0001 0005 0268"))), .truncated, at: at + 7)
        Self.expectError(packet(an: 1, Self.record(type: .nsec, hex("00 00 05 40"))), .truncated, at: at + 3)
    }

    @Test("RDATA of the wrong size or with bad fields")
    func badRData() {
        let at = Self.rdataAt
        Self.expectError(packet(an: 1, Self.record(type: .a, [1, 2, 3, 4, 5])), .badRData, at: at)
        Self.expectError(packet(an: 1, Self.record(type: .a, [1, 2, 3])), .badRData, at: at)
        Self.expectError(packet(an: 1, Self.record(type: .aaaa, [UInt8](repeating: 0, count: 15))), .badRData, at: at)
        Self.expectError(packet(an: 1, Self.record(type: .txt, [])), .badRData, at: at)
        Self.expectError(packet(an: 1, Self.record(type: .caa, hex("00 00 76"))), .badRData, at: at)
        // Bytes left over after the fields: reported where they start.
        Self.expectError(packet(an: 1, Self.record(type: .ns, hex("00 ff"))), .badRData, at: at + 1)
        Self.expectError(packet(an: 1, Self.record(type: .nsec3param, hex("01 00 0000 00 ff"))), .badRData, at: at + 5)
        // SvcParamKeys out of order or repeated.
        Self.expectError(packet(an: 1, Self.record(type: .https, hex("0001 00 0003 0002 01bb 0001 0000"))), .badRData, at: at + 9)
        Self.expectError(packet(an: 1, Self.record(type: .svcb, hex("0001 00 0001 0000 0001 0000"))), .badRData, at: at + 7)
        // NSEC3 with an empty next hashed owner.
        Self.expectError(packet(an: 1, Self.record(type: .nsec3, hex("01 00 0000 00 00"))), .badRData, at: at + 5)
        // Type bitmaps: windows out of order, repeated, length 0 or over 32.
        Self.expectError(packet(an: 1, Self.record(type: .nsec, hex("00 01 01 40 00 01 40"))), .badRData, at: at + 4)
        Self.expectError(packet(an: 1, Self.record(type: .nsec, hex("00 00 01 40 00 01 40"))), .badRData, at: at + 4)
        Self.expectError(packet(an: 1, Self.record(type: .nsec, hex("00 00 00"))), .badRData, at: at + 1)
        Self.expectError(
            packet(an: 1, Self.record(type: .nsec, hex("00 00 21") + [UInt8](repeating: 0, count: 33))), .badRData, at: at + 1)
    }

    // MARK: EDNS

    @Test("two OPT records")
    func twoOPT() {
        let first = Self.opt([])
        Self.expectError(packet(ar: 2, first + Self.opt([])), .badEDNS, at: 12 + first.count)
    }

    @Test("an OPT record whose owner is not the root")
    func optNonRootOwner() {
        Self.expectError(packet(ar: 1, Self.opt(owner: hex("0161 00"), [])), .badEDNS, at: 12)
    }

    static let optionsAt = 12 + 11

    @Test("bad client subnet options")
    func badECS() {
        let at = Self.optionsAt + 4
        // Source prefix longer than the address family allows.
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0009 0001 21 00 c0000201 00"))), .badEDNS, at: at)
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0004 0002 81 00"))), .badEDNS, at: at)
        // Scope prefix longer than the family allows.
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0007 0001 18 21 c00002"))), .badEDNS, at: at)
        // Address longer or shorter than the source prefix needs.
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0008 0001 18 00 c0000200"))), .badEDNS, at: at)
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0006 0001 18 00 c000"))), .badEDNS, at: at)
        // Bits set beyond the source prefix.
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0007 0001 17 00 c00003"))), .badEDNS, at: at)
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0005 0001 01 00 c0"))), .badEDNS, at: at)
        // Unknown family, and an option too short to hold the fixed fields.
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0004 0003 00 00"))), .badEDNS, at: at)
        Self.expectError(packet(ar: 1, Self.opt(hex("0008 0003 0001 00"))), .badEDNS, at: at)
        // The same prefix without the stray bits is fine.
        #expect(parseError(packet(ar: 1, Self.opt(hex("0008 0007 0001 17 00 c00002")))) == nil)
    }

    @Test("bad cookie lengths", arguments: [0, 1, 7, 9, 15, 41, 64])
    func badCookie(_ length: Int) {
        let option = hex("000a") + [UInt8(length >> 8), UInt8(length & 0xFF)] + [UInt8](repeating: 0xAA, count: length)
        Self.expectError(packet(ar: 1, Self.opt(option)), .badEDNS, at: Self.optionsAt + 4)
    }

    @Test("good cookie lengths", arguments: [8, 16, 24, 40])
    func goodCookie(_ length: Int) throws {
        let option = hex("000a") + [UInt8(length >> 8), UInt8(length & 0xFF)] + [UInt8](repeating: 0xAA, count: length)
        let m = try Message(parsing: packet(ar: 1, Self.opt(option)))
        #expect(m.edns?.cookie?.client.count == 8)
        #expect(m.edns?.cookie?.server.count == length - 8)
    }

    @Test("bad option framing and short EDE")
    func badOptions() {
        // Option length beyond the OPT RDATA.
        Self.expectError(packet(ar: 1, Self.opt(hex("000f 0010 0000"))), .truncated, at: Self.optionsAt + 4)
        // Option header cut short.
        Self.expectError(packet(ar: 1, Self.opt(hex("000f 00"))), .truncated, at: Self.optionsAt + 2)
        // EDE needs at least its 2-byte info code.
        Self.expectError(packet(ar: 1, Self.opt(hex("000f 0001 00"))), .badEDNS, at: Self.optionsAt + 4)
    }

    @Test("a hostile packet never traps, whatever its counts claim")
    func allCountsAllSizes() {
        // Every count combination against short bodies of pointer-ish bytes.
        for body in [hex("c0"), hex("c00c"), hex("00"), hex("3f"), hex("c00c c00c c00c c00c c00c c00c")] {
            for qd: UInt16 in [0, 1, 2, 0xFFFF] {
                for an: UInt16 in [0, 1, 0xFFFF] {
                    _ = parseError(packet(qd: qd, an: an, ar: an, body))
                }
            }
        }
    }
}
