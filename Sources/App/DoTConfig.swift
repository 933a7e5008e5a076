import DNSTransport
import DNSWire
import NIOCore

/// DNS over TLS (RFC 7858): listen addresses, and the certificate and key (PEM files, reloaded
/// when they change).
public struct DoTSettings: Sendable {
    public var listen: [SocketAddress]
    public var certificate: String
    public var privateKey: String
    /// Clients that connect to `<token>.<tenantDomain>` name their tenant (`dot.tenant-domain`).
    public var tenantDomain: String?

    static func make(_ raw: RawConfig, listen dns: [SocketAddress]) throws -> DoTSettings? {
        let given = [raw.dotListen != nil, raw.dotCertificate != nil, raw.dotPrivateKey != nil, raw.dotTenantDomain != nil]
        guard given.contains(true) else { return nil }
        guard let list = raw.dotListen, !list.isEmpty, let cert = raw.dotCertificate, let key = raw.dotPrivateKey else {
            throw AppError(.config, "dot: listen, certificate and private-key go together (e.g. listen: [\"127.0.0.1:853\"])")
        }
        let listen = try list.map { try Settings.parseAddress($0, what: "dot.listen") }
        for a in listen where dns.contains(where: { Settings.sameEndpoint($0, a) }) {
            throw AppError(.config, "dot.listen: \(a) is also a plain DNS listener")
        }
        var d = DoTSettings(listen: listen, certificate: cert, privateKey: key)
        if let domain = raw.dotTenantDomain {
            guard let n = try? Name(domain), n.labelCount >= 1 else { throw AppError(.config, "dot.tenant-domain: a domain name, e.g. dot.example.org") }
            d.tenantDomain = n.description.lowercased()
        }
        return d
    }
}

/// Discovery of Designated Resolvers (RFC 9462): `_dns.resolver.arpa` SVCB records naming this
/// resolver's DoT and DoH endpoints under `ddr.name`, the name its certificate carries.
enum DesignatedResolvers {
    static func records(name: String?, dot: DoTSettings?, doh: DoHSettings?) throws -> [RData] {
        guard let name else { return [] }
        guard let target = try? Name(name.hasSuffix(".") ? name : name + "."), !target.isRoot else {
            throw AppError(.config, "ddr.name: '\(name)' is not a domain name")
        }
        guard dot != nil || doh != nil else { throw AppError(.config, "ddr.name: needs dot: or doh: listeners to advertise") }
        var out: [RData] = []
        func hints(_ addresses: [SocketAddress]) -> [RData.SvcParam] {
            var v4: [UInt8] = []
            var v6: [UInt8] = []
            for a in addresses {
                switch a.ipAddress.flatMap({ IPAddress($0) }) {
                case .v4(let x)?: if x.value != 0 { v4 += x.bytes }
                case .v6(let x)?: if x.bytes.contains(where: { $0 != 0 }) { v6 += x.bytes }
                case nil: break
                }
            }
            var p: [RData.SvcParam] = []
            if !v4.isEmpty { p.append(.init(key: RData.SvcParam.ipv4hint, value: v4)) }
            if !v6.isEmpty { p.append(.init(key: RData.SvcParam.ipv6hint, value: v6)) }
            return p
        }
        func alpn(_ ids: [String]) -> RData.SvcParam {
            .init(key: RData.SvcParam.alpn, value: ids.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) })
        }
        func port(_ p: Int) -> RData.SvcParam { .init(key: RData.SvcParam.port, value: [UInt8(p >> 8), UInt8(p & 0xFF)]) }
        if let dot, let first = dot.listen.first {
            out.append(.svcb(.init(priority: 1, target: target, params: [alpn(["dot"]), port(first.port ?? 853)] + hints(dot.listen))))
        }
        if let doh, let first = doh.listen.first {
            let path = RData.SvcParam(key: RData.SvcParam.dohpath, value: Array((doh.path + "{?dns}").utf8))
            out.append(.svcb(.init(priority: 2, target: target, params: [alpn(["h2", "http/1.1"]), port(first.port ?? 443)] + hints(doh.listen) + [path])))
        }
        return out
    }
}
