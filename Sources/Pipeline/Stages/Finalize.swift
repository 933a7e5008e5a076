import DNSWire

/// Finalize: turns the answer into the bytes for this client — ID, flags and the question's
/// original case (0x20) from the query; the OPT record with EDE when the client used EDNS;
/// truncation (TC) to the client's UDP size (RFC 6891, RFC 9715) or 512 without EDNS.
public final class FinalizeStage: QueryStage {
    public let name = "Finalize"
    /// Largest UDP response we send, whatever the client offers (RFC 9715: 1232).
    let maxUDPSize: Int
    let stats: StatsBox

    public init(maxUDPSize: Int, stats: StatsBox) {
        self.maxUDPSize = maxUDPSize
        self.stats = stats
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome { .next }

    /// The response bytes; nil when nothing should be sent.
    public func finalize(_ ctx: inout QueryContext) -> [UInt8]? {
        guard let answer = ctx.response, answer.wire.count >= 12, ctx.raw.count >= 12 else { return nil }
        var wire = answer.wire
        let query = ctx.query
        // Header: ID, QR, opcode, RD and CD from the query; RA set; AD only when the client
        // asked for DNSSEC data (RFC 6840 §5.8); AA cleared unless we are the source.
        wire[0] = ctx.raw[0]
        wire[1] = ctx.raw[1]
        let queryFlags = UInt16(ctx.raw[2]) << 8 | UInt16(ctx.raw[3])
        let answerFlags = UInt16(wire[2]) << 8 | UInt16(wire[3])
        var flags: UInt16 = 0x8000 | (queryFlags & 0x7800) | (queryFlags & 0x0100) | 0x0080 | (queryFlags & 0x0010)
        flags |= answerFlags & 0x0400  // AA, set only by local data
        let wantsAD = (query?.edns?.dnssecOK ?? false) || queryFlags & 0x0020 != 0
        if wantsAD { flags |= answerFlags & 0x0020 }
        flags |= answerFlags & 0x0200  // TC
        flags |= UInt16(answer.rcode.rawValue & 0x0F)
        wire[2] = UInt8(flags >> 8)
        wire[3] = UInt8(flags & 0xFF)
        // 0x20: the question in the client's spelling.
        if let q = query?.questions.first, wire[4] == 0, wire[5] == 1, 12 + q.name.wire.count <= wire.count {
            let n = q.name.wire
            var same = true
            for i in 0..<n.count where Name.lowerByte(wire[12 + i]) != Name.lowerByte(n[i]) {
                same = false
                break
            }
            if same { wire.replaceSubrange(12..<(12 + n.count), with: n) }
        }
        // EDNS: answer with OPT only if the client sent one.
        var opt: [UInt8] = []
        var limit = 65535
        if let clientEDNS = query?.edns {
            var options: [EDNSOption] = []
            if let e = answer.extendedError { options.append(.extendedError(e)) }
            let ours = EDNS(udpPayloadSize: UInt16(maxUDPSize), dnssecOK: clientEDNS.dnssecOK, options: options)
            opt = (try? Message.encodeOPT(ours, rcode: answer.rcode)) ?? []
            if ctx.transport == .udp { limit = min(max(512, Int(clientEDNS.udpPayloadSize)), maxUDPSize) }
        } else if ctx.transport == .udp {
            limit = 512
        }
        ctx.finalRcode = answer.rcode
        stats.stats.count(ctx.transport, answer.rcode)
        if wire.count + opt.count <= limit {
            if !opt.isEmpty {
                let ar = (Int(wire[10]) << 8 | Int(wire[11])) + 1
                wire[10] = UInt8(ar >> 8)
                wire[11] = UInt8(ar & 0xFF)
                wire.append(contentsOf: opt)
            }
            return wire
        }
        // Too large: re-encode, dropping additional records first and setting TC if needed.
        stats.stats.truncated += 1
        guard var message = try? Message(parsing: wire) else { return nil }
        if let clientEDNS = query?.edns {
            var options: [EDNSOption] = []
            if let e = answer.extendedError { options.append(.extendedError(e)) }
            message.edns = EDNS(udpPayloadSize: UInt16(maxUDPSize), dnssecOK: clientEDNS.dnssecOK, options: options)
            message.rcode = answer.rcode
        }
        return try? message.encode(maxSize: limit)
    }
}

extension Name {
    @inline(__always)
    static func lowerByte(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }
}
