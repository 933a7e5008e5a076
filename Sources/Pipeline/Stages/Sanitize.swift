import DNSTransport
import DNSWire
import NIOCore

/// Sanitize: refuses or rejects what must not go further (RFC 1035, RFC 6891, RFC 7766).
/// - fewer than 12 bytes, or a response (QR=1): dropped (never answer a response: reflection loops)
/// - unparseable: FORMERR; opcode other than QUERY: NOTIMP; QDCOUNT ≠ 1: FORMERR
/// - EDNS version > 0: BADVERS (RFC 6891 §6.1.3)
/// - client outside the ACL: REFUSED with EDE 18 (Prohibited)
/// - zone transfers and meta types over a forwarder: REFUSED / NOTIMP; class other than IN: REFUSED
public final class SanitizeStage: QueryStage {
    public let name = "Sanitize"
    let acl: AccessList

    public init(acl: AccessList) { self.acl = acl }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        switch ctx.scan.outcome {
        case .runt, .response:
            return .drop
        case .query:
            // The scan read a well-formed single question (and OPT): check it without parsing.
            guard acl.allows(ctx.client) else { return refusedByACL(ctx) }
            let s = ctx.scan
            guard s.opcode == .query else { return .answer(Responses.empty(for: ctx, rcode: .notImp)) }
            if s.hasEDNS && s.ednsVersion > 0 { return .answer(Responses.empty(for: ctx, rcode: .badVers)) }
            return check(&ctx, type: RRType(s.qtype), rrClass: RRClass(s.qclass))
        case .needsFullParse:
            guard acl.allows(ctx.client) else { return refusedByACL(ctx) }
            let raw = ctx.raw
            do {
                ctx.query = try Message(parsing: raw)
            } catch {
                ctx.parseError = error
                // An unparseable packet: opcode first (NOTIMP beats FORMERR for opcodes we do
                // not implement at all), then FORMERR.
                if (raw[2] >> 3) & 0x0F != 0 { return .answer(Responses.empty(for: ctx, rcode: .notImp)) }
                return .answer(Responses.empty(for: ctx, rcode: .formErr))
            }
            let query = ctx.query!
            guard query.header.opcode == .query else { return .answer(Responses.empty(for: ctx, rcode: .notImp)) }
            if let edns = query.edns, edns.version > 0 { return .answer(Responses.empty(for: ctx, rcode: .badVers)) }
            guard query.questions.count == 1, query.answers.isEmpty, query.authorities.isEmpty else {
                return .answer(Responses.empty(for: ctx, rcode: .formErr))
            }
            let q = query.questions[0]
            return check(&ctx, type: q.type, rrClass: q.rrClass)
        }
    }

    func refusedByACL(_ ctx: QueryContext) -> StageOutcome {
        .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .prohibited)))
    }

    /// `inout` only so that the 300-byte context is not copied for the call (it is not changed).
    func check(_ ctx: inout QueryContext, type: RRType, rrClass: RRClass) -> StageOutcome {
        switch type {
        case .axfr, .ixfr:
            return .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .notSupported)))
        case .opt, .tsig, RRType(253), RRType(254):  // MAILB, MAILA
            return .answer(Responses.empty(for: ctx, rcode: .formErr))
        default:
            break
        }
        guard rrClass == .in else {
            return .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .notSupported)))
        }
        return .next
    }
}

/// Which clients may query: a list of CIDRs, checked without allocating.
public struct AccessList: Sendable {
    struct Entry: Sendable {
        var family: UInt8
        var high: UInt64
        var low: UInt64
        var prefix: Int
    }
    let entries: [Entry]
    /// Some entry is a /0 of that family.
    let allowAllV4: Bool
    let allowAllV6: Bool

    public init(allow: [CIDR]) {
        entries = allow.map { c in
            var ip = c.address
            var prefix = c.prefixLength
            // ::ffff:a.b.c.d/n (n >= 96) is the IPv4 prefix a.b.c.d/(n - 96): clients are unmapped
            // before matching, as CIDR.contains does.
            if case .v6(let v6) = ip, v6.isIPv4Mapped, prefix >= 96 {
                ip = .v4(IPv4Address(bytes: v6.bytes[12..<16]))
                prefix -= 96
            }
            let a = ClientAddress(ip, port: 0)
            // Lengths outside the family's range are clamped, as CIDR.contains does.
            prefix = min(max(prefix, 0), a.family == 4 ? 32 : 128)
            return Entry(family: a.family, high: a.high, low: a.low, prefix: prefix)
        }
        allowAllV4 = entries.contains { $0.family == 4 && $0.prefix == 0 }
        allowAllV6 = entries.contains { $0.family == 6 && $0.prefix == 0 }
    }

    /// Loopback and private networks (RFC 1918, RFC 6598, RFC 4193, link-local). Unbound allows
    /// only localhost by default; we add private ranges since a resolver usually serves a LAN.
    public static let defaultAllow: [CIDR] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
        "::1/128", "fc00::/7", "fe80::/10",
    ].map { CIDR($0)! }

    public func allows(_ address: SocketAddress) -> Bool { allows(ClientAddress(address)) }

    public func allows(_ client: ClientAddress) -> Bool {
        if client.family == 0 { return true }  // unix domain socket: local by definition
        let a = client.unmapped
        if a.family == 4 ? allowAllV4 : allowAllV6 { return true }
        for e in entries where e.family == a.family {
            if a.family == 4 {
                let mask: UInt64 = e.prefix == 0 ? 0 : (~UInt64(0) << UInt64(32 - e.prefix)) & 0xFFFF_FFFF
                if a.low & mask == e.low & mask { return true }
            } else {
                let hiBits = min(64, e.prefix)
                let loBits = max(0, e.prefix - 64)
                let hiMask: UInt64 = hiBits == 0 ? 0 : ~UInt64(0) << UInt64(64 - hiBits)
                let loMask: UInt64 = loBits == 0 ? 0 : ~UInt64(0) << UInt64(64 - loBits)
                if a.high & hiMask == e.high & hiMask && a.low & loMask == e.low & loMask { return true }
            }
        }
        return false
    }
}

extension ClientAddress {
    init(_ ip: IPAddress, port: UInt16) {
        switch ip {
        case .v4(let a): self.init(v4: a.value, port: port)
        case .v6(let a): self.init(v6: a.bytes, port: port)
        }
    }
}
