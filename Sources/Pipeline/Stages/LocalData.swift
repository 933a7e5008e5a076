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

    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        // Hot path: look at the rightmost label in the packet; build values only on a match.
        if ctx.scan.outcome == .query {
            let s = ctx.scan
            let candidate = ctx.packet.withUnsafeReadableBytes { p -> Bool in
                let len = Int(p[s.lastLabel])
                return len == 9 || len == 7 || len == 4
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
