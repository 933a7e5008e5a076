import DNSWire

/// LocalData: names a resolver answers itself and must never forward (RFC 6761 §6.3 `localhost.`,
/// §6.4 `invalid.`; RFC 9462 `resolver.arpa.`: Discovery of Designated Resolvers, the SVCB records
/// of `_dns.resolver.arpa` that name this resolver's DoT and DoH endpoints).
public final class LocalDataStage: QueryStage {
    public let name = "LocalData"
    let localhost = Name.root.appendingLabel("localhost")
    let invalid = Name.root.appendingLabel("invalid")
    let resolverArpa = Name.root.appendingLabel("arpa").appendingLabel("resolver")
    let ddrName = Name.root.appendingLabel("arpa").appendingLabel("resolver").appendingLabel("_dns")
    let designatedResolvers: [RData]
    public init(designatedResolvers: [RData] = []) {
        self.designatedResolvers = designatedResolvers
    }

    /// Whether the label whose length byte is at `p[at]` is `text` (ASCII, case-insensitive).
    @inline(__always)
    static func label(_ p: UnsafeRawBufferPointer, at: Int, is text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard Int(p[at]) == n, at + n < p.count else { return false }
        let t = text.utf8Start
        for k in 0..<n {
            let b = p[at + 1 + k]
            if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != t[k] { return false }
        }
        return true
    }

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        // Hot path: compare the rightmost labels in the packet; build values only on a match.
        if ctx.scan.outcome == .query {
            let last = ctx.scan.lastLabel
            let candidate = ctx.packet.withUnsafeReadableBytes { p -> Bool in
                if Self.label(p, at: last, is: "localhost") || Self.label(p, at: last, is: "invalid") { return true }
                guard Self.label(p, at: last, is: "arpa") else { return false }
                // resolver.arpa: the label before `arpa` (in-addr.arpa and ip6.arpa go on).
                var i = 12
                var previous = -1
                while i < last {
                    previous = i
                    i += 1 + Int(p[i])
                }
                return previous >= 0 && Self.label(p, at: previous, is: "resolver")
            }
            if !candidate { return .next }
        }
        guard let q = ctx.question else { return .next }
        if q.name.isSubdomain(of: localhost) {
            var answers: [ResourceRecord] = []
            if q.type == .a || q.type == .any { answers.append(ResourceRecord(name: q.name, ttl: 86400, rdata: .a(IPv4Address(0x7F00_0001)))) }
            if q.type == .aaaa || q.type == .any {
                answers.append(ResourceRecord(name: q.name, ttl: 86400, rdata: .aaaa(IPv6Address(bytes: [UInt8](repeating: 0, count: 15) + [1]))))
            }
            return .answer(Responses.records(for: ctx, answers: answers, authorities: answers.isEmpty ? [soa(localhost)] : []))
        }
        if q.name.isSubdomain(of: invalid) {
            return .answer(Responses.records(for: ctx, rcode: .nxDomain, answers: [], authorities: [soa(invalid)]))
        }
        if q.name.isSubdomain(of: resolverArpa) {
            // RFC 9462 §4: only `_dns.resolver.arpa` exists; it has SVCB records when this
            // resolver offers encrypted transports, NODATA for other types.
            guard q.name == ddrName else {
                return .answer(Responses.records(for: ctx, rcode: .nxDomain, answers: [], authorities: [soa(resolverArpa)]))
            }
            let answers = q.type == .svcb ? designatedResolvers.map { ResourceRecord(name: q.name, ttl: 300, rdata: $0) } : []
            return .answer(Responses.records(for: ctx, answers: answers, authorities: answers.isEmpty ? [soa(resolverArpa)] : []))
        }
        return .next
    }

    func soa(_ zone: Name) -> ResourceRecord {
        ResourceRecord(
            name: zone, ttl: 10800,
            rdata: .soa(.init(mname: zone, rname: zone, serial: 1, refresh: 3600, retry: 1200, expire: 604800, minimum: 10800)))
    }
}

extension Name {
    func appendingLabel(_ label: String) -> Name {
        (try? Name(labels: [Array(label.utf8)] + labels)) ?? self
    }
}
