import NIOCore
import NIOPosix

/// One exchange with an upstream server over a fresh socket: a connected UDP socket (so the
/// kernel picks a random source port per query and drops datagrams from other addresses) or a
/// new TCP connection. The caller checks the answer against its question via `accept`.
public enum UpstreamExchange {
    /// Sends `query` over UDP and completes with the first datagram `accept` takes. Datagrams it
    /// rejects (wrong ID or question) are ignored, and the wait goes on until `timeout`.
    public static func udp(
        _ query: [UInt8], to server: SocketAddress, on loop: any EventLoop, timeout: TimeAmount,
        accept: @escaping @Sendable ([UInt8]) -> Bool
    ) -> EventLoopFuture<[UInt8]> {
        let promise = loop.makePromise(of: [UInt8].self)
        let bootstrap = DatagramBootstrap(group: loop)
            // We advertise 1232 bytes (EDNS); 4 KiB leaves room for servers that ignore it.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPResponseHandler(promise: promise, accept: accept))
                }
            }
        let connect = bootstrap.connect(to: server)
        connect.whenFailure { promise.fail(TransportError(.network, "udp connect \(server): \($0)")) }
        connect.whenSuccess { channel in
            let timer = loop.scheduleTask(in: timeout) {
                promise.fail(TransportError(.timeout, "udp \(server)"))
            }
            promise.futureResult.whenComplete { _ in
                timer.cancel()
                channel.close(promise: nil)
            }
            let buffer = channel.allocator.buffer(bytes: query)
            channel.writeAndFlush(buffer).whenFailure { error in
                promise.fail(TransportError(.network, "udp send \(server): \(error)"))
            }
        }
        return promise.futureResult
    }

    /// Sends `query` over a new TCP connection and completes with the first framed reply.
    public static func tcp(
        _ query: [UInt8], to server: SocketAddress, on loop: any EventLoop, timeout: TimeAmount,
        accept: @escaping @Sendable ([UInt8]) -> Bool
    ) -> EventLoopFuture<[UInt8]> {
        let promise = loop.makePromise(of: [UInt8].self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                    try ops.addHandler(TCPResponseHandler(promise: promise, accept: accept))
                }
            }
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(TransportError(.timeout, "tcp \(server)"))
        }
        let connect = bootstrap.connect(to: server)
        connect.whenFailure { promise.fail(TransportError(.network, "tcp connect \(server): \($0)")) }
        connect.whenSuccess { channel in
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            var buffer = channel.allocator.buffer(capacity: query.count + 2)
            buffer.writeInteger(UInt16(query.count))
            buffer.writeBytes(query)
            channel.writeAndFlush(buffer).whenFailure { error in
                promise.fail(TransportError(.network, "tcp send \(server): \(error)"))
            }
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }
}

final class UDPResponseHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let promise: EventLoopPromise<[UInt8]>
    let accept: @Sendable ([UInt8]) -> Bool

    init(promise: EventLoopPromise<[UInt8]>, accept: @escaping @Sendable ([UInt8]) -> Bool) {
        self.promise = promise
        self.accept = accept
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        if accept(bytes) { promise.succeed(bytes) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // On a connected UDP socket, ECONNREFUSED (ICMP port unreachable) means the upstream is down.
        promise.fail(TransportError(.network, "\(error)"))
    }
}

final class TCPResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>
    let accept: @Sendable ([UInt8]) -> Bool

    init(promise: EventLoopPromise<[UInt8]>, accept: @escaping @Sendable ([UInt8]) -> Bool) {
        self.promise = promise
        self.accept = accept
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        if accept(bytes) {
            promise.succeed(bytes)
        } else {
            promise.fail(TransportError(.badResponse, "tcp answer does not match the question"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TransportError(.connectionClosed, "tcp upstream closed before answering"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(TransportError(.network, "\(error)"))
    }
}
