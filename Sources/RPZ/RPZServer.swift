import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The RPZ primary's listeners: TCP for transfers (and SOA), UDP for SOA, IXFR-that-fits and
/// NOTIFY. Control traffic: each connection is a task; a transfer is written as it is walked,
/// with NIO's back-pressure, so a million-name zone is never held as messages.
public struct RPZServer: Sendable {
    public let responder: RPZResponder
    public var maxConnections = 64
    /// A connection with no request for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(60)
    let logger: Logger

    public init(responder: RPZResponder, logger: Logger = Logger(label: "bulwark.rpz")) {
        self.responder = responder
        self.logger = logger
    }

    /// Binds TCP and UDP on `address` and serves until cancelled.
    public func run(address: SocketAddress, group: any EventLoopGroup, bound: (@Sendable (SocketAddress) -> Void)? = nil) async throws {
        let timeout = idleTimeout
        let tcp: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        let udp: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
        do {
            tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        try ops.addHandler(IdleStateHandler(readTimeout: timeout))
                        try ops.addHandler(CloseOnIdle())
                        try ops.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                        try ops.addHandler(MessageToByteHandler(LengthPrefixedFrameEncoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let port = tcp.channel.localAddress?.port ?? address.port ?? 0
            var udpAddress = address
            udpAddress.port = port
            udp = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(to: udpAddress) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RPZError(.bind, "rpz listener \(address): \(error)")
        }
        if let local = tcp.channel.localAddress { bound?(local) }
        logger.info("rpz primary listening", metadata: ["address": "\(tcp.channel.localAddress.map { "\($0)" } ?? "\(address)")"])
        let tcpChannel = tcp.channel
        let udpChannel = udp.channel
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await serveTCP(tcp) }
                group.addTask { try await serveUDP(udp) }
                try await group.next()
                group.cancelAll()
            }
        } onCancel: {
            tcpChannel.close(promise: nil)
            udpChannel.close(promise: nil)
        }
    }

    func serveTCP(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async throws {
        let open = ConnectionCount()
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    guard open.open(max: maxConnections) else {
                        try? await connection.channel.close()
                        continue
                    }
                    group.addTask {
                        defer { open.close() }
                        await serve(connection)
                    }
                }
            }
        }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress.flatMap(IPAddress.init(socketAddress:))
        do {
            try await connection.executeThenClose { inbound, outbound in
                guard let peer else { return }
                for try await frame in inbound {
                    let request = Array(frame.readableBytesView)
                    try await responder.respond(to: request, from: peer, over: .tcp) { bytes in
                        try await outbound.write(ByteBuffer(bytes: bytes))
                    }
                }
            }
        } catch {
            logger.debug("rpz tcp connection ended", metadata: ["error": "\(error)"])
        }
    }

    func serveUDP(_ channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>) async throws {
        try await channel.executeThenClose { inbound, outbound in
            for try await envelope in inbound {
                guard let peer = IPAddress(socketAddress: envelope.remoteAddress) else { continue }
                let request = Array(envelope.data.readableBytesView)
                try? await responder.respond(to: request, from: peer, over: .udp) { bytes in
                    try await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: bytes)))
                }
            }
        }
    }
}

/// Counts open connections (control plane, not the hot path: a mutex is fine).
final class ConnectionCount: Sendable {
    let count = Mutex(0)
    func open(max: Int) -> Bool {
        count.withLock { n in
            guard n < max else { return false }
            n += 1
            return true
        }
    }
    func close() { count.withLock { $0 -= 1 } }
}

/// Writes each message with its 2-byte length (RFC 1035 §4.2.2).
struct LengthPrefixedFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = ByteBuffer
    func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeInteger(UInt16(data.readableBytes))
        out.writeImmutableBuffer(data)
    }
}

/// Closes a connection that stayed silent past the idle timeout.
final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

extension IPAddress {
    init?(socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let a):
            guard let ip = a.host.split(separator: "%").first.flatMap({ IPAddress($0) }) else { return nil }
            self = ip
        case .v6(let a):
            guard let ip = a.host.split(separator: "%").first.flatMap({ IPAddress($0) }) else { return nil }
            // IPv4-mapped peers on a dual-stack socket are IPv4 peers.
            if case .v6(let v6) = ip, v6.isIPv4Mapped {
                self = .v4(IPv4Address(bytes: v6.bytes[12..<16]))
            } else {
                self = ip
            }
        default:
            return nil
        }
    }
}
