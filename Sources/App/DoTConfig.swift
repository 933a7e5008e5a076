import DNSTransport
import NIOCore

/// DNS over TLS (RFC 7858): listen addresses, and the certificate and key (PEM files, reloaded
/// when they change).
public struct DoTSettings: Sendable {
    public var listen: [SocketAddress]
    public var certificate: String
    public var privateKey: String

    static func make(_ raw: RawConfig, listen dns: [SocketAddress]) throws -> DoTSettings? {
        let given = [raw.dotListen != nil, raw.dotCertificate != nil, raw.dotPrivateKey != nil]
        guard given.contains(true) else { return nil }
        guard let list = raw.dotListen, !list.isEmpty, let cert = raw.dotCertificate, let key = raw.dotPrivateKey else {
            throw AppError(.config, "dot: listen, certificate and private-key go together (e.g. listen: [\"127.0.0.1:853\"])")
        }
        let listen = try list.map { try Settings.parseAddress($0, what: "dot.listen") }
        for a in listen where dns.contains(where: { Settings.sameEndpoint($0, a) }) {
            throw AppError(.config, "dot.listen: \(a) is also a plain DNS listener")
        }
        return DoTSettings(listen: listen, certificate: cert, privateKey: key)
    }
}
