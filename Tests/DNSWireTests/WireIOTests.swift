import Testing

@testable import DNSWire

@Suite("WireReader and WireWriter")
struct WireIOTests {
    @Test("reads are big-endian and bounds-checked with the offset")
    func reader() throws {
        var r = WireReader(hex("01 0203 04050607 08"))
        #expect(try r.u8() == 1)
        #expect(try r.u16() == 0x0203)
        #expect(try r.u32() == 0x0405_0607)
        #expect(r.remaining == 1)
        #expect(throws: DNSWireError(.truncated, at: 7)) { try r.u16() }
        #expect(throws: DNSWireError(.truncated, at: 7)) { try r.bytes(2) }
        #expect(throws: DNSWireError(.truncated, at: 7)) { try r.bytes(-1) }
        #expect(try r.u8() == 8)
        #expect(r.isAtEnd)
        #expect(throws: DNSWireError(.truncated, at: 8)) { try r.u8() }
        #expect(r.rest() == [])

        // A limit stops reads before the end of the bytes.
        var limited = WireReader(hex("03 616263 ff"))
        limited.limit = 3
        #expect(throws: DNSWireError(.truncated, at: 1)) { try limited.characterString() }
        var enough = WireReader(hex("03 616263 ff"))
        enough.limit = 4
        #expect(try enough.characterString() == Array("abc".utf8))
        #expect(enough.isAtEnd)
    }

    @Test("names: the part before the first pointer must stay inside the limit")
    func readerNameLimit() throws {
        // "b." at 0, then "a" + pointer to 0 at 3.
        var r = WireReader(hex("0162 00 0161 c000"), offset: 3)
        #expect(try r.name() == n("a.b."))
        #expect(r.offset == 7)
        var limited = WireReader(hex("0162 00 0161 c000"), offset: 3)
        limited.limit = 6
        #expect(throws: DNSWireError(.truncated, at: 5)) { try limited.name() }
        var noCompression = WireReader(hex("0162 00 0161 c000"), offset: 3)
        #expect(throws: DNSWireError(.badPointer, at: 5)) { try noCompression.name(allowCompression: false) }
    }

    @Test("the writer compresses only against names it remembers")
    func writerCompression() throws {
        var w = WireWriter()
        w.name(n("www.example.com."))
        w.name(n("mail.EXAMPLE.com."))
        w.name(n("com."))
        #expect(w.bytes == hex("03777777076578616d706c6503636f6d00 046d61696c c004 c00c"))

        var off = WireWriter(compression: false)
        off.name(n("a.example."))
        off.name(n("a.example."))
        #expect(off.bytes == hex("0161076578616d706c6500 0161076578616d706c6500"))

        // After a rollback the forgotten name is no pointer target.
        var rb = WireWriter()
        rb.name(n("keep."))
        rb.name(n("gone.example."))
        rb.rollback(to: 6)
        rb.name(n("x.example."))
        #expect(rb.bytes == hex("046b65657000 0178076578616d706c6500"))

        // compress: false writes in full but still leaves targets for later names.
        var mixed = WireWriter()
        mixed.name(n("a.example."), compress: false)
        mixed.name(n("a.example."), compress: false)
        mixed.name(n("b.example."))
        #expect(mixed.bytes == hex("0161076578616d706c6500 0161076578616d706c6500 0162c002"))
    }

    @Test("no pointer targets at offsets of 0x4000 and beyond")
    func writerPointerRange() {
        var w = WireWriter()
        w.append([UInt8](repeating: 0, count: 0x4000))
        w.name(n("far.example."))
        w.name(n("far.example."))
        let far = n("far.example.").wire
        #expect(Array(w.bytes[0x4000...]) == far + far)
    }

    @Test("a large message with names beyond 16 KiB round-trips")
    func largeMessage() throws {
        var m = Message(header: Header(id: 3, flags: 0x8400), questions: [Question(name: n("big.example."), type: .txt)])
        let chunk = [UInt8](repeating: 0x7A, count: 255)
        for i in 0..<200 {
            m.answers.append(ResourceRecord(name: n("r\(i % 7).big.example."), ttl: 1, rdata: .txt([chunk])))
            m.answers.append(ResourceRecord(name: n("r\(i).big.example."), ttl: 1, rdata: .ns(n("ns\(i % 3).big.example."))))
        }
        let wire = try roundTrip(m)
        #expect(wire.count > 0x4000)
        #expect(wire.count < 65535)
    }
}
