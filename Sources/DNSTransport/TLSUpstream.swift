import Crypto
import Logging
import DNSWire
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import X509

/// How to authenticate one DNS-over-TLS upstream (RFC 7858, with RFC 8310's strict profile:
/// no answer is taken from a server that cannot be authenticated).
///
/// The certificate must chain to the trust roots (the system store, or the PEM file `caFile`)
/// and carry `serverName` as a DNS name (or, without a name, the upstream's IP address: an IP
/// address in the certificate does not stand in for a name that was asked for). With `spkiPins`,
/// the leaf certificate's key must also be one of them (base64 SHA-256 of its
/// SubjectPublicKeyInfo, RFC 7469 `pin-sha256`).
public struct UpstreamTLS: Sendable, CustomStringConvertible {
    public let serverName: String?
    public let caFile: String?
    public let spkiPins: [[UInt8]]
    public let context: NIOSSLContext

    public init(serverName: String?, caFile: String?, spkiPins: [[UInt8]]) throws(TransportError) {
        if let serverName {
            guard !serverName.isEmpty, IPAddress(serverName) == nil else {
                throw TransportError(.tls, "server name '\(serverName)': must be a host name (leave it out to check the address)")
            }
        }
        for pin in spkiPins where pin.count != 32 {
            throw TransportError(.tls, "an SPKI pin must be a SHA-256 digest (32 bytes), not \(pin.count)")
        }
        self.serverName = serverName
        self.caFile = caFile
        self.spkiPins = spkiPins
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        config.certificateVerification = .fullVerification
        config.applicationProtocols = ["dot"]
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw TransportError(.tls, "\(caFile): no certificate") }
                config.trustRoots = .certificates(roots)
            } catch let e as TransportError {
                throw e
            } catch {
                throw TransportError(.tls, "\(caFile): \(error)")
            }
        } else {
            config.trustRoots = .default
        }
        do {
            context = try NIOSSLContext(configuration: config)
        } catch {
            throw TransportError(.tls, "client context: \(error)")
        }
    }

    public var description: String {
        var parts: [String] = []
        if let serverName { parts.append("name=\(serverName)") }
        if let caFile { parts.append("ca=\(caFile)") }
        if !spkiPins.isEmpty { parts.append("pins=\(spkiPins.count)") }
        return parts.joined(separator: " ")
    }

    /// Why `leaf` does not authenticate the server, or nil when it does: the name check (NIOSSL
    /// also accepts a certificate for the connected IP address, which RFC 8310 §8 does not
    /// when a name is configured) and the pin check.
    func refusal(of leaf: NIOSSLCertificate) -> String? {
        if let serverName {
            guard let der = try? leaf.toDERBytes(), let cert = try? Certificate(derEncoded: der) else {
                return "cannot read the server's certificate"
            }
            let names = ((try? cert.extensions.subjectAlternativeNames) ?? nil).map { sans in
                sans.compactMap { san -> String? in
                    if case .dnsName(let n) = san { return n }
                    return nil
                }
            } ?? []
            guard names.contains(where: { Self.matches(pattern: $0, name: serverName) }) else {
                return "the certificate is not for \(serverName) (it names \(names.isEmpty ? "no DNS name" : names.joined(separator: ", ")))"
            }
        }
        if !spkiPins.isEmpty {
            guard let pin = try? Self.pin(of: leaf) else { return "cannot read the server's public key" }
            guard spkiPins.contains(pin) else { return "the server's key matches no SPKI pin" }
        }
        return nil
    }

    /// RFC 6125 §6.4: case-insensitive, a trailing dot ignored, `*` only as the whole leftmost
    /// label standing for exactly one label.
    static func matches(pattern: String, name: String) -> Bool {
        func norm(_ s: String) -> [Substring] {
            let t = s.lowercased()
            return (t.hasSuffix(".") ? String(t.dropLast()) : t).split(separator: ".", omittingEmptySubsequences: false)
        }
        let p = norm(pattern)
        let n = norm(name)
        guard p.count == n.count, !p.contains(where: \.isEmpty), !n.contains(where: \.isEmpty) else { return false }
        for (i, label) in p.enumerated() {
            if i == 0 && label == "*" && p.count > 2 { continue }
            if label != n[i] { return false }
        }
        return true
    }

    /// The pin of a certificate: SHA-256 of its SubjectPublicKeyInfo.
    public static func pin(of certificate: NIOSSLCertificate) throws -> [UInt8] {
        Array(SHA256.hash(data: try certificate.extractPublicKey().toSPKIBytes()))
    }
}

/// One event loop's connection to one DNS-over-TLS upstream, kept open and shared by all of the
/// loop's queries to it (RFC 7858 §3.4: pipelined, answered in any order, matched by ID).
///
/// - A query waits for the connection (and its handshake and pin check) when there is none.
/// - A connection idle for `idleTimeout` is closed by us, before the server would.
/// - When the server closes a connection that was reused, the queries in flight on it are sent
///   once more on a new connection: the server may have closed it as idle just as they left.
/// - Every query has its own deadline; a late answer is dropped.
///
/// Not thread-safe: use on `loop` only.
public final class TLSUpstreamConnection {
    public let address: SocketAddress
    public let tls: UpstreamTLS
    let loop: any EventLoop
    let idleTimeout: TimeAmount
    let logger: Logger?
    /// Did the last attempt to connect succeed? (A failure is logged when it did.)
    private var lastAttemptOK = true
    /// Connections opened (handshakes completed) over this object's life.
    public private(set) var connectionsOpened: UInt64 = 0
    /// Handshakes or pin checks that failed.
    public private(set) var handshakeFailures: UInt64 = 0

    private var channel: (any Channel)?
    private var connecting: EventLoopFuture<any Channel>?
    private var pending: [UInt16: Pending] = [:]

    struct Pending {
        let query: [UInt8]
        let promise: EventLoopPromise<[UInt8]>
        let accept: @Sendable ([UInt8]) -> Bool
        let timer: Scheduled<Void>
        /// The attempt's timeout (also the connect timeout when it waits for a connection).
        let timeout: TimeAmount
        /// The connection it was written on, and whether that connection had answered before.
        var sentOn: ObjectIdentifier?
        var reused = false
        var retried = false
    }

    public init(address: SocketAddress, tls: UpstreamTLS, loop: any EventLoop, idleTimeout: TimeAmount = .seconds(10), logger: Logger? = nil) {
        self.address = address
        self.tls = tls
        self.loop = loop
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// Queries waiting for an answer.
    public var inFlight: Int { pending.count }

    /// Is a query with this ID waiting? (IDs must be unique on a connection.)
    public func isPending(_ id: UInt16) -> Bool { pending[id] != nil }

    /// Sends `query` (whose ID must not be pending) and completes with the answer `accept` takes.
    public func exchange(_ query: [UInt8], timeout: TimeAmount, accept: @escaping @Sendable ([UInt8]) -> Bool) -> EventLoopFuture<[UInt8]> {
        loop.preconditionInEventLoop()
        guard query.count >= 12, query.count <= 65535 else {
            return loop.makeFailedFuture(TransportError(.badResponse, "query of \(query.count) bytes"))
        }
        let id = UInt16(query[0]) << 8 | UInt16(query[1])
        guard pending[id] == nil else {
            return loop.makeFailedFuture(TransportError(.tooManyInFlight, "ID \(id) already in flight to \(address)"))
        }
        let promise = loop.makePromise(of: [UInt8].self)
        let me = NIOLoopBound(self, eventLoop: loop)
        let address = self.address
        let timer = loop.scheduleTask(in: timeout) {
            if me.value.pending.removeValue(forKey: id) != nil {
                promise.fail(TransportError(.timeout, "tls \(address)"))
            }
        }
        pending[id] = Pending(query: query, promise: promise, accept: accept, timer: timer, timeout: timeout)
        send(id, timeout: timeout)
        return promise.futureResult
    }

    /// Writes pending query `id` on the current connection, opening one first when needed.
    private func send(_ id: UInt16, timeout: TimeAmount) {
        let me = NIOLoopBound(self, eventLoop: loop)
        connection(timeout: timeout).whenComplete { result in
            let this = me.value
            guard var p = this.pending[id] else { return }
            switch result {
            case .success(let (channel, reused)):
                p.sentOn = ObjectIdentifier(channel)
                p.reused = reused
                this.pending[id] = p
                var buffer = channel.allocator.buffer(capacity: p.query.count + 2)
                buffer.writeInteger(UInt16(p.query.count))
                buffer.writeBytes(p.query)
                channel.writeAndFlush(buffer, promise: nil)
            case .failure(let error):
                this.pending.removeValue(forKey: id)
                p.timer.cancel()
                p.promise.fail(error)
            }
        }
    }

    /// The open connection (and whether it is reused), or a new one once its handshake and pin
    /// check are done.
    private func connection(timeout: TimeAmount) -> EventLoopFuture<((any Channel), Bool)> {
        if let channel, channel.isActive { return loop.makeSucceededFuture((channel, true)) }
        if let connecting { return connecting.map { ($0, false) } }
        let me = NIOLoopBound(self, eventLoop: loop)
        let handshake = loop.makePromise(of: Void.self)
        let tls = self.tls
        let address = self.address
        let idle = idleTimeout
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                    try ops.addHandler(IdleStateHandler(allTimeout: idle))
                    try ops.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                    try ops.addHandler(TLSUpstreamHandler(owner: me, tls: tls, handshake: handshake))
                }
            }
        let future = bootstrap.connect(to: address)
            .flatMapError { error in
                handshake.fail(TransportError(.network, "tls connect \(address): \(error)"))
                return me.value.loop.makeFailedFuture(TransportError(.network, "tls connect \(address): \(error)"))
            }
            .flatMap { channel in handshake.futureResult.map { channel } }
        connecting = future
        future.whenComplete { result in
            let this = me.value
            this.connecting = nil
            switch result {
            case .success(let channel):
                this.channel = channel
                this.connectionsOpened += 1
                if !this.lastAttemptOK {
                    this.logger?.info("DNS-over-TLS upstream reachable again", metadata: ["upstream": "\(UpstreamServer(address, tls: tls))"])
                }
                this.lastAttemptOK = true
            case .failure(let error):
                this.handshakeFailures += 1
                // Logged once per outage, not per query.
                if this.lastAttemptOK {
                    this.logger?.warning(
                        "cannot use DNS-over-TLS upstream", metadata: ["upstream": "\(UpstreamServer(address, tls: tls))", "error": "\(error)"])
                }
                this.lastAttemptOK = false
            }
        }
        return future.map { ($0, false) }
    }

    func received(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let p = pending.removeValue(forKey: id) else { return }
        p.timer.cancel()
        if p.accept(bytes) {
            p.promise.succeed(bytes)
        } else {
            p.promise.fail(TransportError(.badResponse, "tls answer from \(address) does not match the question"))
        }
    }

    /// A connection went away: the queries on it are sent again once when it was reused (the
    /// server may have closed it as idle), and fail otherwise.
    func closed(_ channel: any Channel, error: (any Error)?) {
        let gone = ObjectIdentifier(channel)
        if let current = self.channel, ObjectIdentifier(current) == gone { self.channel = nil }
        for (id, p) in pending where p.sentOn == gone {
            if p.reused && !p.retried {
                var again = p
                again.retried = true
                again.sentOn = nil
                pending[id] = again
                send(id, timeout: p.timeout)
            } else {
                pending.removeValue(forKey: id)
                p.timer.cancel()
                let why = error.map { "\($0)" } ?? "closed"
                p.promise.fail(TransportError(.connectionClosed, "tls \(address): \(why)"))
            }
        }
    }
}

/// The pipeline end of a `TLSUpstreamConnection`: completes the handshake promise (after the
/// pin check), hands answers over, and reports the close.
final class TLSUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let owner: NIOLoopBound<TLSUpstreamConnection>
    let tls: UpstreamTLS
    let handshake: EventLoopPromise<Void>
    var lastError: (any Error)?

    init(owner: NIOLoopBound<TLSUpstreamConnection>, tls: UpstreamTLS, handshake: EventLoopPromise<Void>) {
        self.owner = owner
        self.tls = tls
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            if let reason = refusal(context) {
                lastError = TransportError(.tls, reason)
                handshake.fail(TransportError(.tls, reason))
                context.close(promise: nil)
                return
            }
            handshake.succeed(())
        } else if event is IdleStateHandler.IdleStateEvent {
            if owner.value.inFlight == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func refusal(_ context: ChannelHandlerContext) -> String? {
        guard tls.serverName != nil || !tls.spkiPins.isEmpty else { return nil }
        guard let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self),
            let leaf = ssl.peerCertificate
        else { return "no server certificate to check" }
        return tls.refusal(of: leaf)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.value.received(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = lastError ?? TransportError(.connectionClosed, "connection closed before the handshake")
        handshake.fail(error)
        owner.value.closed(context.channel, error: lastError)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        handshake.fail(TransportError(.tls, "\(error)"))
        context.close(promise: nil)
    }
}

/// One upstream resolver: an address, over UDP (with TCP on truncation) or over TLS.
public struct UpstreamServer: Sendable, CustomStringConvertible {
    public let address: SocketAddress
    public let tls: UpstreamTLS?

    public init(_ address: SocketAddress, tls: UpstreamTLS? = nil) {
        self.address = address
        self.tls = tls
    }

    /// `192.0.2.1:53`, or `tls://192.0.2.1:853#dns.example` (the label of its metrics).
    public var description: String {
        let ip = address.ipAddress ?? "?"
        let host = ip.contains(":") ? "[\(ip)]" : ip
        let plain = "\(host):\(address.port ?? 0)"
        guard let tls else { return plain }
        return "tls://\(plain)" + (tls.serverName.map { "#\($0)" } ?? "")
    }
}
