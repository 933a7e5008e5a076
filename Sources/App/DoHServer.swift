import DNSTransport
import DNSWire
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// DNS over HTTPS (RFC 8484): `GET ?dns=<base64url>` and `POST application/dns-message` on
/// `doh.path` (default `/dns-query`), over HTTP/2 (ALPN h2) or HTTP/1.1, TLS only. Each query runs
/// through the same chain as every other transport (counted as `doh`).
public struct DoHSettings: Sendable {
    public var listen: [SocketAddress]
    public var certificate: String
    public var privateKey: String
    public var path: String = "/dns-query"

    static func make(_ raw: RawConfig, dot: DoTSettings?, listen dns: [SocketAddress]) throws -> DoHSettings? {
        guard let list = raw.dohListen, !list.isEmpty else {
            if raw.dohCertificate != nil || raw.dohPrivateKey != nil || raw.dohPath != nil { throw AppError(.config, "doh: listen is required") }
            return nil
        }
        guard let cert = raw.dohCertificate ?? dot?.certificate, let key = raw.dohPrivateKey ?? dot?.privateKey else {
            throw AppError(.config, "doh: certificate and private-key are required (or those of dot:)")
        }
        let listen = try list.map { try Settings.parseAddress($0, what: "doh.listen") }
        for a in listen where dns.contains(where: { Settings.sameEndpoint($0, a) }) || (dot?.listen.contains(where: { Settings.sameEndpoint($0, a) }) ?? false) {
            throw AppError(.config, "doh.listen: \(a) is also a DNS or DoT listener")
        }
        var s = DoHSettings(listen: listen, certificate: cert, privateKey: key)
        if let p = raw.dohPath {
            guard p.hasPrefix("/"), p.count > 1, !p.contains("?") else { throw AppError(.config, "doh.path: a path like /dns-query") }
            s.path = p
        }
        return s
    }
}

/// The request context of DoH: the peer's address becomes the query's client.
struct DoHContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var remoteAddress: SocketAddress?
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

final class DoHServer: Service, Sendable {
    let settings: DoHSettings
    let dns: DNSServer
    let listenerBase: Int
    let logger: Logger

    init(settings: DoHSettings, dns: DNSServer, listenerBase: Int, logger: Logger) {
        self.settings = settings
        self.dns = dns
        self.listenerBase = listenerBase
        self.logger = logger
    }

    func router(listener: Int) -> Router<DoHContext> {
        let router = Router(context: DoHContext.self)
        let dns = self.dns
        let get: @Sendable (Request, DoHContext) async throws -> Response = { request, context in
            guard let text = request.uri.queryParameters.get("dns"), !text.isEmpty else {
                return Self.error(.badRequest, "the dns parameter (base64url of a DNS message) is required")
            }
            guard text.utf8.count <= DoHCoding.maxParameter else {
                return Self.error(.uriTooLong, "dns: longer than a DNS message can be")
            }
            guard let bytes = DoHCoding.decodeParameter(text) else {
                return Self.error(.badRequest, "dns: not base64url")
            }
            return await Self.resolve(bytes, context: context, dns: dns, listener: listener, token: context.parameters.get("token"))
        }
        let post: @Sendable (Request, DoHContext) async throws -> Response = { request, context in
            guard DoHCoding.isMessageType(request.headers[.contentType]) else {
                return Self.error(.unsupportedMediaType, "Content-Type must be application/dns-message")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: DoHCoding.maxMessage)
            } catch {
                return Self.error(.contentTooLarge, "a DNS message is at most 65535 bytes")
            }
            return await Self.resolve(Array(body.readableBytesView), context: context, dns: dns, listener: listener, token: context.parameters.get("token"))
        }
        // `/dns-query/<token>`: the client names its tenant.
        for path in [settings.path, settings.path + "/:token"] {
            router.get(RouterPath(path), use: get)
            router.post(RouterPath(path), use: post)
        }
        return router
    }

    static func resolve(_ bytes: [UInt8], context: DoHContext, dns: DNSServer, listener: Int, token: String?) async -> Response {
        guard bytes.count >= 12 else { return error(.badRequest, "not a DNS message") }
        let client = context.remoteAddress.map(ClientAddress.init) ?? ClientAddress(v4: 0, port: 0)
        guard let answer = await dns.answer(ByteBuffer(bytes: bytes), client: client, transport: .doh, listener: listener, identity: token?.lowercased())
        else {
            return error(.badRequest, "the query was not answered")
        }
        var headers = HTTPFields()
        headers[.contentType] = DoHCoding.mediaType
        headers[.cacheControl] = "max-age=\(answer.withUnsafeReadableBytes { DoHCoding.freshness($0) })"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: answer))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    func run() async throws {
        let tls: TLSConfiguration
        do {
            tls = try TLSIdentity.serverConfiguration(certificate: settings.certificate, privateKey: settings.privateKey)
        } catch {
            throw AppError(.startup, "doh: \(error)")
        }
        let logger = self.logger
        let channels = DoHChannels()
        let perClient = dns.connectionLimiter
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (k, address) in settings.listen.enumerated() {
                let host = address.ipAddress ?? "127.0.0.1"
                let port = address.port ?? 443
                let app = Application(
                    router: router(listener: listenerBase + k),
                    server: HTTPServerBuilder { responder in
                        try channels.add(ReloadableDoHChannel(tls: tls, responder: responder, perClient: perClient))
                    },
                    configuration: .init(address: .hostname(host, port: port), serverName: "Bulwark/\(Bulwark.version)"),
                    onServerRunning: { _ in
                        logger.info("listening", metadata: ["address": "\(address)", "transports": "doh (h2, http/1.1)"])
                    },
                    logger: logger)
                group.addTask { try await app.run() }
            }
            group.addTask { await self.reloadCertificates(channels) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Checks the certificate and key files every 2 s; when they change, new connections take
    /// the new pair and open ones keep theirs. A pair that cannot be used is logged once and the
    /// old one stays in use (as for DoT).
    func reloadCertificates(_ channels: DoHChannels) async {
        var stamp = TLSIdentity.stamp(settings.certificate, settings.privateKey)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(2))
            } catch {
                return
            }
            let now = TLSIdentity.stamp(settings.certificate, settings.privateKey)
            guard now != stamp else { continue }
            stamp = now
            do {
                let tls = try TLSIdentity.serverConfiguration(certificate: settings.certificate, privateKey: settings.privateKey)
                try channels.replace(tls)
                logger.info("doh certificate reloaded", metadata: ["certificate": "\(settings.certificate)"])
            } catch {
                logger.error("doh certificate not reloaded; the previous one stays in use", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// The child channels of every DoH listener, for certificate reloads.
final class DoHChannels: Sendable {
    let all = Mutex<[ReloadableDoHChannel]>([])

    func add(_ channel: ReloadableDoHChannel) -> ReloadableDoHChannel {
        all.withLock { $0.append(channel) }
        return channel
    }

    /// Builds the new TLS context once per listener before swapping any, so a bad pair changes
    /// nothing.
    func replace(_ tls: TLSConfiguration) throws {
        let channels = all.withLock { $0 }
        let fresh = try channels.map { try HTTP2UpgradeChannel(tlsConfiguration: tls, responder: $0.responder) }
        for (c, f) in zip(channels, fresh) { c.current.withLock { $0 = f } }
    }
}

/// Hummingbird's HTTP/2-upgrade child channel (TLS with ALPN h2 and http/1.1) whose TLS
/// context can be replaced while the server runs: each new connection is set up by the current
/// one.
final class ReloadableDoHChannel: ServerChildChannel, Sendable {
    typealias Value = HTTP2UpgradeChannel.Value
    let responder: HTTPChannelHandler.Responder
    let current: Mutex<HTTP2UpgradeChannel>
    /// Connections per client (`limits.connections-per-client`), shared with TCP and DoT.
    let perClient: ClientConnectionLimiter?

    init(tls: TLSConfiguration, responder: @escaping HTTPChannelHandler.Responder, perClient: ClientConnectionLimiter? = nil) throws {
        self.responder = responder
        self.perClient = perClient
        current = Mutex(try HTTP2UpgradeChannel(tlsConfiguration: tls, responder: responder))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        if let perClient, let address = channel.remoteAddress {
            let client = ClientAddress(address)
            guard perClient.opened(client) else {
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(TransportError(.tooManyInFlight, "too many connections from \(address)"))
            }
            channel.closeFuture.whenComplete { _ in perClient.closed(client) }
        }
        return current.withLock { $0 }.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await current.withLock { $0 }.handle(value: value, logger: logger)
    }
}
