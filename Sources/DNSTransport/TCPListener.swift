import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Limits of the TCP listener (RFC 7766).
public struct TCPLimits: Sendable {
    /// Close a connection with nothing in flight after this long without a query.
    public var idleTimeout: TimeAmount = .seconds(10)
    /// Queries of one connection answered concurrently; reading pauses above it.
    public var maxInFlightPerConnection: Int = 64
    public init() {}
}

/// The open TCP connections of every loop, so that shutdown can close the idle ones at once
/// and the busy ones after their last answer.
public final class TCPConnections: Sendable {
    final class Set {
        var handlers: [ObjectIdentifier: TCPQueryHandler] = [:]
    }
    let byLoop: [ObjectIdentifier: NIOLoopBound<Set>]

    public init(group: any EventLoopGroup) async throws {
        var byLoop: [ObjectIdentifier: NIOLoopBound<Set>] = [:]
        for loop in group.makeIterator() {
            byLoop[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound(Set(), eventLoop: loop) }.get()
        }
        self.byLoop = byLoop
    }

    func set(for loop: any EventLoop) -> Set? { byLoop[ObjectIdentifier(loop)]?.value }

    /// Closes idle connections now and busy ones after their last answer; no new queries are read.
    public func quiesce() async {
        for bound in byLoop.values {
            try? await bound.eventLoop.submit {
                for h in bound.value.handlers.values { h.quiesce() }
            }.get()
        }
    }
}

public enum TCPListener {
    /// A TCP listener; with `tls`, DNS over TLS (RFC 7858: the same framing and RFC 7766
    /// behaviour inside TLS, the connection's queries counted as `.dot`). With `tenantDomain`,
    /// a client whose server name (SNI) is `<token>.<tenantDomain>` names its tenant by token.
    public static func bind(
        address: SocketAddress, listener: Int, group: any EventLoopGroup, registry: ProcessorRegistry,
        limits: TCPLimits = TCPLimits(), connections: TCPConnections? = nil, tls: TLSIdentity? = nil, tenantDomain: String? = nil,
        perClient: ClientConnectionLimiter? = nil, logger: Logger
    ) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 512)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let processor = registry.processor(for: channel.eventLoop)
                    let ops = channel.pipeline.syncOperations
                    let handler = TCPQueryHandler(
                        processor: processor, listener: listener, limits: limits, logger: logger,
                        connections: connections?.set(for: channel.eventLoop), transport: tls == nil ? .tcp : .dot, perClient: perClient)
                    if let tls {
                        if let tenantDomain {
                            // Reads the ClientHello's server name, then steps aside for TLS.
                            let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                            let loop = channel.eventLoop
                            try ops.addHandler(
                                ByteToMessageHandler(
                                    SNIHandler { result in
                                        if case .hostname(let name) = result {
                                            bound.value.identity = TenantToken.fromServerName(name, domain: tenantDomain)
                                        }
                                        return loop.makeSucceededVoidFuture()
                                    }))
                        }
                        try ops.addHandler(NIOSSLServerHandler(context: tls.context))
                    }
                    try ops.addHandler(IdleStateHandler(readTimeout: limits.idleTimeout))
                    try ops.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                    try ops.addHandler(handler)
                }
            }
        do {
            return try await bootstrap.bind(to: address).get()
        } catch {
            throw TransportError(.bind, "\(tls == nil ? "TCP" : "DoT") \(address): \(error)")
        }
    }
}

/// Tenant tokens in DoT server names.
public enum TenantToken {
    /// `token` from `token.domain` (one label, case-folded), nil for any other name.
    public static func fromServerName(_ name: String, domain: String) -> String? {
        let n = name.lowercased().trimmingSuffix(".")
        let d = domain.lowercased().trimmingSuffix(".")
        guard n.count > d.count + 1, n.hasSuffix("." + d) else { return nil }
        let label = n.dropLast(d.count + 1)
        guard !label.isEmpty, !label.contains("."), label.utf8.count <= 63 else { return nil }
        return String(label)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}

/// Splits a TCP stream into DNS messages, each preceded by a 2-byte length (RFC 1035 §4.2.2).
public struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        let frame = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(NIOAny(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        // A partial frame at EOF is discarded.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Answers pipelined queries on one TCP connection, each as soon as it is ready (out of order).
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let processor: any QueryProcessor
    let listener: Int
    let limits: TCPLimits
    let logger: Logger
    var inFlight = 0
    var inputClosed = false
    var accepted = false
    var readPaused = false
    var remote: ClientAddress?
    var needsFlush = false
    /// The tenant token the client named (DoT server name).
    var identity: String?

    let connections: TCPConnections.Set?
    var context: ChannelHandlerContext?
    let transport: TransportKind
    /// Connections per client; `countedForClient` when this one is counted there.
    let perClient: ClientConnectionLimiter?
    var countedForClient = false

    init(
        processor: any QueryProcessor, listener: Int, limits: TCPLimits, logger: Logger, connections: TCPConnections.Set? = nil,
        transport: TransportKind = .tcp, perClient: ClientConnectionLimiter? = nil
    ) {
        self.processor = processor
        self.listener = listener
        self.limits = limits
        self.logger = logger
        self.connections = connections
        self.transport = transport
        self.perClient = perClient
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connections?.handlers[ObjectIdentifier(self)] = nil
        self.context = nil
    }

    /// Shutdown: read no more queries; close now if idle, else after the last answer.
    func quiesce() {
        guard let context else { return }
        inputClosed = true
        context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
        if inFlight == 0 { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        remote = context.channel.remoteAddress.map(ClientAddress.init)
        if let perClient, let remote {
            guard perClient.opened(remote) else {
                context.close(promise: nil)
                return
            }
            countedForClient = true
        }
        accepted = processor.tcpConnection(opened: true)
        if !accepted {
            context.close(promise: nil)
            return
        }
        connections?.handlers[ObjectIdentifier(self)] = self
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections?.handlers[ObjectIdentifier(self)] = nil
        if countedForClient, let remote {
            perClient?.closed(remote)
            countedForClient = false
        }
        if accepted {
            _ = processor.tcpConnection(opened: false)
            accepted = false
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard accepted, let client = remote else { return }
        let frame = unwrapInboundIn(data)
        switch processor.process(frame, client: client, transport: transport, listener: listener, identity: identity) {
        case .now(let bytes):
            write(bytes, context: context)
            needsFlush = true
        case .drop:
            // RFC 7766 §6.2.3: a query we will not answer is best met by closing the connection.
            context.close(promise: nil)
        case .later(let future):
            inFlight += 1
            if inFlight >= limits.maxInFlightPerConnection && !readPaused {
                readPaused = true
                context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
            }
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            future.whenComplete { result in
                let me = handler.value
                let context = ctx.value
                me.inFlight -= 1
                if case .success(let bytes?) = result, context.channel.isActive {
                    me.write(bytes, context: context)
                    context.flush()
                }
                if me.readPaused && me.inFlight < me.limits.maxInFlightPerConnection / 2 {
                    me.readPaused = false
                    context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                }
                if me.inputClosed && me.inFlight == 0 {
                    context.close(promise: nil)
                }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(_ message: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: message.readableBytes + 2)
        buffer.writeInteger(UInt16(message.readableBytes))
        buffer.writeImmutableBuffer(message)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if inFlight == 0 { context.close(promise: nil) }
            return
        }
        if let e = event as? ChannelEvent, e == .inputClosed {
            inputClosed = true
            if inFlight == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("tcp connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
