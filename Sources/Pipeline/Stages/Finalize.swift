import DNSWire
import NIOCore
import Resolver

/// Finalize: turns the answer into the bytes for this client — ID, flags and the question exactly
/// as the client wrote it (0x20) from the query; TTLs aged; the OPT record with EDE when the client
/// used EDNS; truncation (TC) to the client's UDP size (RFC 6891, RFC 9715) or 512 without EDNS.
/// On the hot path the cached message is copied once, into the outgoing buffer.
public final class FinalizeStage: QueryStage {
    public let name = "Finalize"
    /// Largest UDP response we send, whatever the client offers (RFC 9715: 1232).
    let maxUDPSize: Int
    let stats: StatsBox
    let allocator = ByteBufferAllocator()

    public init(maxUDPSize: Int, stats: StatsBox) {
        self.maxUDPSize = maxUDPSize
        self.stats = stats
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }

    /// The response bytes; nil when nothing should be sent.
    public func finalize(_ ctx: inout QueryContext) -> ByteBuffer? {
        var out = allocator.buffer(capacity: (ctx.response?.wire.count ?? 0) + 64)
        return finalize(&ctx, into: &out) ? out : nil
    }

    /// Writes the response into `out` (appending); false when nothing should be sent.
    public func finalize(_ ctx: inout QueryContext, into out: inout ByteBuffer) -> Bool {
        guard let answer = ctx.response, answer.wire.count >= 12, ctx.packet.readableBytes >= 12 else { return false }
        let packet = ctx.packet
        let base = packet.readerIndex
        let queryFlags = packet.getInteger(at: base + 2, as: UInt16.self)!
        let wire = answer.wire
        let answerFlags = UInt16(wire[2]) << 8 | UInt16(wire[3])
        // Flags: QR; opcode, RD and CD from the query; RA; AA and TC as the answer says; AD only
        // when the client asked for DNSSEC data (RFC 6840 §5.8).
        var flags: UInt16 = 0x8000 | (queryFlags & 0x7900) | 0x0080 | (queryFlags & 0x0010)
        flags |= answerFlags & 0x0600
        if ctx.dnssecOK || queryFlags & 0x0020 != 0 { flags |= answerFlags & 0x0020 }
        flags |= answer.rcode.rawValue & 0x0F

        // The question: the client's own bytes when both sides have the same single question.
        let answerQD = Int(wire[4]) << 8 | Int(wire[5])
        var copyFrom = 12  // where the rest of the stored message starts
        var clientQuestion: Range<Int>? = nil
        if answerQD == 1, let qEnd = ctx.questionEnd {
            let storedEnd = Self.questionEnd(wire)
            if storedEnd == qEnd {
                clientQuestion = 12..<qEnd
                copyFrom = qEnd
            }
        }

        var limit = 65535
        let ede = answer.extendedError
        let optLength = ctx.hasEDNS ? 11 + (ede.map { 4 + 2 + $0.extraText.utf8.count } ?? 0) : 0
        if ctx.transport == .udp {
            limit = ctx.hasEDNS ? min(max(512, ctx.clientUDPSize), maxUDPSize) : 512
        }
        ctx.finalRcode = answer.rcode
        stats.stats.count(ctx.transport, answer.rcode)
        if wire.count + optLength > limit {
            guard let t = truncated(ctx, answer: answer, flags: flags, limit: limit) else { return false }
            out.writeImmutableBuffer(t)
            return true
        }

        let messageStart = out.writerIndex
        out.writeInteger(packet.getInteger(at: base, as: UInt16.self)!)
        out.writeInteger(flags)
        let ar = (UInt16(wire[10]) << 8 | UInt16(wire[11])) + (optLength > 0 ? 1 : 0)
        wire.withUnsafeBytes { w in
            out.writeBytes(UnsafeRawBufferPointer(rebasing: w[4..<10]))
            out.writeInteger(ar)
            if let q = clientQuestion {
                packet.withUnsafeReadableBytes { p in _ = out.writeBytes(UnsafeRawBufferPointer(rebasing: p[q])) }
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: w[copyFrom...]))
        }
        // Age the TTLs in place (the question has the same length in both, so offsets hold).
        if answer.age > 0 || answer.ttlOverride != nil {
            let start = messageStart
            for off in answer.ttlOffsets {
                let o = Int(off)
                let t = UInt32(wire[o]) << 24 | UInt32(wire[o + 1]) << 16 | UInt32(wire[o + 2]) << 8 | UInt32(wire[o + 3])
                out.setInteger(answer.servedTTL(t), at: start + o)
            }
        }
        if optLength > 0 {
            writeOPT(into: &out, rcode: answer.rcode, dnssecOK: ctx.dnssecOK, ede: ede)
        }
        return true
    }

    func writeOPT(into out: inout ByteBuffer, rcode: Rcode, dnssecOK: Bool, ede: ExtendedError?) {
        out.writeInteger(UInt8(0))
        out.writeInteger(RRType.opt.rawValue)
        out.writeInteger(UInt16(maxUDPSize))
        out.writeInteger(UInt8(truncatingIfNeeded: rcode.rawValue >> 4))
        out.writeInteger(UInt8(0))  // version
        out.writeInteger(UInt16(dnssecOK ? 0x8000 : 0))
        if let ede {
            let text = ede.extraText.utf8
            out.writeInteger(UInt16(6 + text.count))
            out.writeInteger(EDNSOptionCode.extendedError.rawValue)
            out.writeInteger(UInt16(2 + text.count))
            out.writeInteger(ede.code.rawValue)
            out.writeBytes(text)
        } else {
            out.writeInteger(UInt16(0))
        }
    }

    /// Too large for the client: re-encode, dropping additional records first and setting TC
    /// (with empty answer and authority sections) if that is not enough.
    func truncated(_ ctx: QueryContext, answer: CachedAnswer, flags: UInt16, limit: Int) -> ByteBuffer? {
        stats.stats.truncated += 1
        var wire = answer.agedWire
        wire[2] = UInt8(flags >> 8)
        wire[3] = UInt8(flags & 0xFF)
        guard var message = try? Message(parsing: wire) else { return nil }
        message.header.id = ctx.packet.getInteger(at: ctx.packet.readerIndex, as: UInt16.self)!
        if let q = ctx.question, message.questions.count == 1 { message.questions[0] = q }
        if ctx.hasEDNS {
            let options: [EDNSOption] = answer.extendedError.map { [.extendedError($0)] } ?? []
            message.edns = EDNS(udpPayloadSize: UInt16(maxUDPSize), dnssecOK: ctx.dnssecOK, options: options)
        }
        message.rcode = answer.rcode
        guard let bytes = try? message.encode(maxSize: limit) else { return nil }
        return allocator.buffer(bytes: bytes)
    }

    /// End of the first question of a well-formed stored message (its name is uncompressed).
    static func questionEnd(_ wire: [UInt8]) -> Int? {
        var i = 12
        while i < wire.count {
            let len = Int(wire[i])
            if len == 0 { return i + 1 + 4 <= wire.count ? i + 1 + 4 : nil }
            guard len <= 63 else { return nil }
            i += 1 + len
        }
        return nil
    }
}
