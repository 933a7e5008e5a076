import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Socket tuning for UDP listeners, from DESIGN.md's measurements.
public struct UDPTuning: Sendable {
    /// Messages per `recvmmsg` call.
    public var vectorReadCount: Int = 32
    /// Largest datagram accepted; the receive buffer is `vectorReadCount × maxDatagram`.
    public var maxDatagram: Int = 2048
    public var receiveBufferBytes: Int32 = 4 << 20
    public var sendBufferBytes: Int32 = 4 << 20
    public init() {}
}

/// One SO_REUSEPORT UDP channel per event loop on the same address, each handing queries to its
/// loop's processor and flushing once per read batch.
public enum UDPListener {
    public static func bind(
        address: SocketAddress, listener: Int, group: any EventLoopGroup, registry: ProcessorRegistry,
        tuning: UDPTuning = UDPTuning(), logger: Logger
    ) async throws -> [any Channel] {
        var channels: [any Channel] = []
        for loop in group.makeIterator() {
            let bootstrap = DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
                .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(tuning.receiveBufferBytes))
                .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(tuning.sendBufferBytes))
                .channelOption(.datagramVectorReadMessageCount, value: tuning.vectorReadCount)
                .channelOption(
                    .recvAllocator,
                    value: FixedSizeRecvByteBufferAllocator(capacity: tuning.vectorReadCount * tuning.maxDatagram)
                )
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let processor = registry.processor(for: channel.eventLoop)
                        try channel.pipeline.syncOperations.addHandler(
                            UDPQueryHandler(processor: processor, listener: listener, logger: logger))
                    }
                }
            do {
                channels.append(try await bootstrap.bind(to: address).get())
            } catch {
                for c in channels { try? await c.close() }
                throw TransportError(.bind, "UDP \(address): \(error)")
            }
        }
        return channels
    }
}

final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let processor: any QueryProcessor
    let listener: Int
    let logger: Logger
    var needsFlush = false

    init(processor: any QueryProcessor, listener: Int, logger: Logger) {
        self.processor = processor
        self.listener = listener
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let client = envelope.remoteAddress
        switch processor.process(envelope.data, client: ClientAddress(client), transport: .udp, listener: listener) {
        case .now(let buffer):
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: buffer)), promise: nil)
            needsFlush = true
        case .drop:
            break
        case .later(let future):
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            future.whenSuccess { buffer in
                guard let buffer else { return }
                let context = ctx.value
                context.writeAndFlush(
                    handler.value.wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: buffer)), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unconnected UDP socket reports per-datagram errors (ICMP, ENOBUFS); none of them
        // makes the listener unusable, so log and keep serving.
        logger.debug("udp listener error", metadata: ["error": "\(error)"])
    }
}
