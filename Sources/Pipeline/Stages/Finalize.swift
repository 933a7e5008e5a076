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

        // One copy, straight into the buffer: header, the client's question, the rest of the
        // stored message, then OPT. TTLs are aged in the copy, at the offsets found by walking
        // the stored message (the question has the same length in both, so they hold).
        let id = packet.getInteger(at: base, as: UInt16.self)!
        let ar = (UInt16(wire[10]) << 8 | UInt16(wire[11])) + (optLength > 0 ? 1 : 0)
        let bodyLength = wire.count
        out.reserveCapacity(minimumWritableBytes: bodyLength)
        let written = out.withUnsafeMutableWritableBytes { dst -> Int in
            wire.withUnsafeBytes { w -> Int in
                dst.storeBytes(of: id.bigEndian, toByteOffset: 0, as: UInt16.self)
                dst.storeBytes(of: flags.bigEndian, toByteOffset: 2, as: UInt16.self)
                UnsafeMutableRawBufferPointer(rebasing: dst[4..<10]).copyMemory(from: UnsafeRawBufferPointer(rebasing: w[4..<10]))
                dst.storeBytes(of: ar.bigEndian, toByteOffset: 10, as: UInt16.self)
                var at = 12
                if let q = clientQuestion {
                    packet.withUnsafeReadableBytes { p in
                        UnsafeMutableRawBufferPointer(rebasing: dst[12..<(12 + q.count)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: p[q]))
                    }
                    at += q.count
                }
                let rest = w.count - copyFrom
                UnsafeMutableRawBufferPointer(rebasing: dst[at..<(at + rest)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: w[copyFrom...]))
                if answer.ages { answer.writeServedTTLs(from: w, into: dst) }
                return at + rest
            }
        }
        out.moveWriterIndex(forwardBy: written)
        if optLength > 0 {
            // Encrypted transports: padded to a multiple of 468 bytes (RFC 7830, RFC 8467 §4.1),
            // so that the size of an answer says little about the name.
            var padding: Int? = nil
            if ctx.transport == .dot || ctx.transport == .doh {
                let unpadded = written + optLength + 4
                let pad = (Self.paddingBlock - unpadded % Self.paddingBlock) % Self.paddingBlock
                if unpadded + pad <= 65535 { padding = pad }
            }
            writeOPT(into: &out, rcode: answer.rcode, dnssecOK: ctx.dnssecOK, ede: ede, padding: padding)
        }
        return true
    }

    /// RFC 8467 §4.1: the block length recommended for responses.
    static let paddingBlock = 468

    func writeOPT(into out: inout ByteBuffer, rcode: Rcode, dnssecOK: Bool, ede: ExtendedError?, padding: Int? = nil) {
        let text = ede?.extraText.utf8
        let optionLength = (ede == nil ? 0 : 6 + text!.count) + (padding.map { 4 + $0 } ?? 0)
        out.reserveCapacity(minimumWritableBytes: 11 + optionLength)
        let written = out.withUnsafeMutableWritableBytes { dst -> Int in
            // Root owner, type OPT, our payload size, extended rcode, version 0, DO, RDLENGTH.
            dst[0] = 0
            dst.storeBytes(of: RRType.opt.rawValue.bigEndian, toByteOffset: 1, as: UInt16.self)
            dst.storeBytes(of: UInt16(maxUDPSize).bigEndian, toByteOffset: 3, as: UInt16.self)
            dst[5] = UInt8(truncatingIfNeeded: rcode.rawValue >> 4)
            dst[6] = 0
            dst.storeBytes(of: UInt16(dnssecOK ? 0x8000 : 0).bigEndian, toByteOffset: 7, as: UInt16.self)
            dst.storeBytes(of: UInt16(optionLength).bigEndian, toByteOffset: 9, as: UInt16.self)
            var i = 11
            if let ede, let text {
                dst.storeBytes(of: EDNSOptionCode.extendedError.rawValue.bigEndian, toByteOffset: 11, as: UInt16.self)
                dst.storeBytes(of: UInt16(2 + text.count).bigEndian, toByteOffset: 13, as: UInt16.self)
                dst.storeBytes(of: ede.code.rawValue.bigEndian, toByteOffset: 15, as: UInt16.self)
                i = 17
                for b in text {
                    dst[i] = b
                    i += 1
                }
            }
            if let padding {
                dst.storeBytes(of: EDNSOptionCode.padding.rawValue.bigEndian, toByteOffset: i, as: UInt16.self)
                dst.storeBytes(of: UInt16(padding).bigEndian, toByteOffset: i + 2, as: UInt16.self)
                UnsafeMutableRawBufferPointer(rebasing: dst[(i + 4)..<(i + 4 + padding)]).initializeMemory(as: UInt8.self, repeating: 0)
                i += 4 + padding
            }
            return i
        }
        out.moveWriterIndex(forwardBy: written)
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
