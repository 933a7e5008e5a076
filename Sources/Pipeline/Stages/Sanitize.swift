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
            return check(ctx, type: RRType(s.qtype), rrClass: RRClass(s.qclass))
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
            return check(ctx, type: q.type, rrClass: q.rrClass)
        }
    }

    func refusedByACL(_ ctx: QueryContext) -> StageOutcome {
        .answer(Responses.empty(for: ctx, rcode: .refused, extendedError: ExtendedError(code: .prohibited)))
    }

    func check(_ ctx: QueryContext, type: RRType, rrClass: RRClass) -> StageOutcome {
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
        var v6: Bool
        var bytes: [UInt8]  // 4 or 16
        var prefix: Int
    }
    let entries: [Entry]
    let allowAll: Bool

    public init(allow: [CIDR]) {
        entries = allow.map { Entry(v6: $0.address.bytes.count == 16, bytes: $0.address.bytes, prefix: $0.prefixLength) }
        allowAll = allow.contains { $0.prefixLength == 0 }
    }

    /// Loopback and private networks (RFC 1918, RFC 4193, link-local) — Unbound allows only
    /// localhost by default; we add private ranges since a resolver usually serves a LAN.
    public static let defaultAllow: [CIDR] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
        "::1/128", "fc00::/7", "fe80::/10",
    ].map { CIDR($0)! }

    public func allows(_ address: SocketAddress) -> Bool {
        if allowAll { return true }
        switch address {
        case .v4(let a):
            let v = UInt32(bigEndian: a.address.sin_addr.s_addr)
            return entries.contains { e in
                guard !e.v6 else { return false }
                let net = UInt32(e.bytes[0]) << 24 | UInt32(e.bytes[1]) << 16 | UInt32(e.bytes[2]) << 8 | UInt32(e.bytes[3])
                let mask: UInt32 = e.prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - e.prefix)
                return v & mask == net & mask
            }
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                let mapped = IPAddress.v4(IPv4Address(bytes: bytes[12..<16]))
                return entries.contains { !$0.v6 && CIDR(address: .v4(IPv4Address(bytes: $0.bytes)), prefixLength: $0.prefix).contains(mapped) }
            }
            let ip = IPAddress.v6(IPv6Address(bytes: bytes))
            return entries.contains { $0.v6 && CIDR(address: .v6(IPv6Address(bytes: $0.bytes)), prefixLength: $0.prefix).contains(ip) }
        case .unixDomainSocket:
            return true
        }
    }
}
