import NIOCore
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The TLS identity of a DNS-over-TLS listener (RFC 7858): certificate chain and key from PEM
/// files. New connections take the current context; `reloadIfChanged` swaps in a new one when
/// the files change, and connections already open keep theirs.
public final class TLSIdentity: Sendable {
    public let certificatePath: String
    public let privateKeyPath: String
    let state: Mutex<(context: NIOSSLContext, stamp: [Int64])>

    public init(certificate: String, privateKey: String) throws(TransportError) {
        certificatePath = certificate
        privateKeyPath = privateKey
        let context = try Self.load(certificate: certificate, privateKey: privateKey)
        state = Mutex((context, Self.stamp(certificate, privateKey)))
    }

    /// The context for a new connection.
    public var context: NIOSSLContext { state.withLock { $0.context } }

    /// Loads the files again when their size or time changed. True when a new context is in
    /// use; a failure leaves the old one in place and is thrown.
    @discardableResult
    public func reloadIfChanged() throws(TransportError) -> Bool {
        let now = Self.stamp(certificatePath, privateKeyPath)
        guard now != state.withLock({ $0.stamp }) else { return false }
        let context: NIOSSLContext
        do {
            context = try Self.load(certificate: certificatePath, privateKey: privateKeyPath)
        } catch {
            // Remember the stamp: a broken file is reported once, not every check.
            state.withLock { $0.stamp = now }
            throw error
        }
        state.withLock { $0 = (context, now) }
        return true
    }

    static func load(certificate: String, privateKey: String) throws(TransportError) -> NIOSSLContext {
        var config = try serverConfiguration(certificate: certificate, privateKey: privateKey)
        // RFC 7858 §3.2 / IANA: the ALPN id of DNS over TLS.
        config.applicationProtocols = ["dot"]
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            throw TransportError(.tls, "\(certificate), \(privateKey): \(error)")
        }
    }

    /// A server's TLS configuration (TLS 1.2 and up) from a PEM chain and key: DoT's, and DoH's
    /// (whose HTTP layer sets its own ALPN ids).
    public static func serverConfiguration(certificate: String, privateKey: String) throws(TransportError) -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate)
            guard !chain.isEmpty else { throw TransportError(.tls, "\(certificate): no certificate") }
            let key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            config.minimumTLSVersion = .tlsv12
            return config
        } catch let e as TransportError {
            throw e
        } catch {
            throw TransportError(.tls, "\(certificate), \(privateKey): \(error)")
        }
    }

    /// Size and modification time of both files (changes when either is replaced).
    public static func stamp(_ paths: String...) -> [Int64] {
        var out: [Int64] = []
        for p in paths {
            var st = stat()
            if stat(p, &st) == 0 {
                out += [Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec), Int64(st.st_ino)]
            } else {
                out += [-1, -1, -1, -1]
            }
        }
        return out
    }
}
