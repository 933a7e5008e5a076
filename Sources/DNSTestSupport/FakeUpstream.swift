import DNSWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A scripted upstream DNS server on 127.0.0.1: real UDP and TCP sockets on the same port, run
/// on an event loop of its own. Each query it can parse is handed to the script, whose `Reply`
/// says what to send back. Replies carry the query's ID (unless the reply is about wrong IDs),
/// so scripts can build them with `TestPackets.answer(to:)` or from scratch.
public final class FakeUpstream: Sendable {
    public enum Transport: Sendable, Equatable {
        case udp
        case tcp
    }

    public enum Reply: Sendable {
        /// Send this message (with the query's ID).
        case answer(Message)
        /// Send nothing: the client times out.
        case drop
        /// Send these bytes as they are (framed on TCP).
        case garbage([UInt8])
        /// Over UDP: the message with TC set and no records. Over TCP: the full message.
        case truncatedOverUDP(Message)
        /// Over UDP: first `spoof` (or the message itself) with a wrong ID, then the message with the
        /// right ID. Over TCP: only the message.
        case wrongID(Message, spoof: Message? = nil)
        /// Send the message after `delay`.
        case delay(TimeAmount, Message)
    }

    public typealias Script = @Sendable (Message) -> Reply

    public struct Received: Sendable {
        public var transport: Transport
        public var message: Message
    }

    struct State {
        var script: Script
        var received: [Received] = []
        var unparsable = 0
    }

    /// The address of both sockets.
    public let address: SocketAddress
    let group: MultiThreadedEventLoopGroup
    let channels: [any Channel]
    let state: NIOLockedValueBox<State>

    init(address: SocketAddress, group: MultiThreadedEventLoopGroup, channels: [any Channel], state: NIOLockedValueBox<State>) {
        self.address = address
        self.group = group
        self.channels = channels
        self.state = state
    }

    public var port: Int { address.port ?? 0 }

    /// Binds UDP and TCP on one free loopback port and starts answering with `script`.
    public static func start(_ script: @escaping Script) async throws -> FakeUpstream {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(State(script: script))
        var lastError: (any Error)?
        for _ in 0..<10 {
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let ops = channel.pipeline.syncOperations
                            try ops.addHandler(ByteToMessageHandler(FakeFrameDecoder()))
                            try ops.addHandler(FakeTCPHandler(state: state))
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).get()
                guard let address = tcp.localAddress, let port = address.port else {
                    try? await tcp.close()
                    throw FakeUpstreamError("no local address")
                }
                do {
                    let udp = try await DatagramBootstrap(group: group)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(FakeUDPHandler(state: state))
                            }
                        }
                        .bind(host: "127.0.0.1", port: port).get()
                    return FakeUpstream(address: address, group: group, channels: [udp, tcp], state: state)
                } catch {
                    // The UDP port is taken by someone else: try another port.
                    lastError = error
                    try? await tcp.close()
                }
            } catch {
                lastError = error
            }
        }
        try? await group.shutdownGracefully()
        throw lastError ?? FakeUpstreamError("cannot bind")
    }

    /// A fake that answers every question with `answers(question)` (NOERROR).
    public static func answering(_ records: @escaping @Sendable (Question) -> [ResourceRecord]) async throws
        -> FakeUpstream
    {
        try await start { query in
            .answer(TestPackets.answer(to: query, answers: query.questions.first.map(records) ?? []))
        }
    }

    /// Closes the sockets (the port then refuses UDP with ICMP) and stops the event loop.
    public func stop() async {
        for c in channels { try? await c.close() }
        try? await group.shutdownGracefully()
    }

    /// Replaces the script for the queries that follow.
    public func setScript(_ script: @escaping Script) {
        state.withLockedValue { $0.script = script }
    }

    public var received: [Received] { state.withLockedValue { $0.received } }
    public var udpQueries: Int { state.withLockedValue { $0.received.filter { $0.transport == .udp }.count } }
    public var tcpQueries: Int { state.withLockedValue { $0.received.filter { $0.transport == .tcp }.count } }
    public var totalQueries: Int { state.withLockedValue { $0.received.count } }
    /// Datagrams or frames that were not DNS messages.
    public var unparsable: Int { state.withLockedValue { $0.unparsable } }

    /// A loopback address nothing listens on (bound and closed again), for "dead upstream" tests.
    public static func deadAddress() async throws -> SocketAddress {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let channel = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let address = channel.localAddress!
        try await channel.close()
        return address
    }

    /// Records the query and asks the script what to do (called on the fake's loop).
    static func handle(_ bytes: [UInt8], transport: Transport, state: NIOLockedValueBox<State>) -> (Message, Reply)? {
        guard let query = try? Message(parsing: bytes) else {
            state.withLockedValue { $0.unparsable += 1 }
            return nil
        }
        let script = state.withLockedValue { s -> Script in
            s.received.append(Received(transport: transport, message: query))
            return s.script
        }
        return (query, script(query))
    }

    /// What to send for `reply` to `query`, in order, each with a delay.
    static func datagrams(for reply: Reply, query: Message, transport: Transport) -> [(TimeAmount, [UInt8])] {
        func withID(_ m: Message, _ id: UInt16) -> [UInt8] {
            var m = m
            m.header.id = id
            return (try? m.encode()) ?? []
        }
        let id = query.header.id
        switch reply {
        case .answer(let m):
            return [(.zero, withID(m, id))]
        case .drop:
            return []
        case .garbage(let bytes):
            return [(.zero, bytes)]
        case .truncatedOverUDP(let m):
            guard transport == .udp else { return [(.zero, withID(m, id))] }
            var t = m
            t.header.truncated = true
            t.answers = []
            t.authorities = []
            t.additionals = []
            return [(.zero, withID(t, id))]
        case .wrongID(let m, let spoof):
            guard transport == .udp else { return [(.zero, withID(m, id))] }
            return [(.zero, withID(spoof ?? m, id &+ 1)), (.zero, withID(m, id))]
        case .delay(let delay, let m):
            return [(delay, withID(m, id))]
        }
    }
}

public struct FakeUpstreamError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

final class FakeUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let state: NIOLockedValueBox<FakeUpstream.State>

    init(state: NIOLockedValueBox<FakeUpstream.State>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard let (query, reply) = FakeUpstream.handle(bytes, transport: .udp, state: state) else { return }
        let channel = context.channel
        for (delay, datagram) in FakeUpstream.datagrams(for: reply, query: query, transport: .udp) {
            let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: channel.allocator.buffer(bytes: datagram))
            if delay == .zero {
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            } else {
                context.eventLoop.scheduleTask(in: delay) { channel.writeAndFlush(out, promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors from clients that went away: keep serving.
    }
}

final class FakeTCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let state: NIOLockedValueBox<FakeUpstream.State>

    init(state: NIOLockedValueBox<FakeUpstream.State>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        guard let (query, reply) = FakeUpstream.handle(bytes, transport: .tcp, state: state) else { return }
        let channel = context.channel
        for (delay, message) in FakeUpstream.datagrams(for: reply, query: query, transport: .tcp) {
            var buffer = channel.allocator.buffer(capacity: message.count + 2)
            buffer.writeInteger(UInt16(message.count))
            buffer.writeBytes(message)
            if delay == .zero {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            } else {
                let out = buffer
                context.eventLoop.scheduleTask(in: delay) { channel.writeAndFlush(out, promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The fake's own TCP framing (2-byte length), independent of the code under test.
struct FakeFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
