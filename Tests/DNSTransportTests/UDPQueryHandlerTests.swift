import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import DNSTransport

/// The UDP listener's handler on an `EmbeddedChannel`.
struct UDPQueryHandlerTests {
    typealias Envelope = AddressedEnvelope<ByteBuffer>

    static func query(_ n: UInt8) -> [UInt8] { [0, n, 0x01, 0x00] + [UInt8](repeating: n, count: 8) }
    static func answer(_ n: UInt8) -> [UInt8] { [0, n, 0x81, 0x00] + [UInt8](repeating: n, count: 8) }

    static func channel(_ processor: StubProcessor, listener: Int = 1) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            UDPQueryHandler(processor: processor, listener: listener, logger: Logger(label: "test")))
        return channel
    }

    static func envelope(_ n: UInt8, from client: SocketAddress) -> Envelope {
        Envelope(remoteAddress: client, data: ByteBuffer(bytes: query(n)))
    }

    static func outbound(_ channel: EmbeddedChannel) throws -> [(SocketAddress, [UInt8])] {
        var out: [(SocketAddress, [UInt8])] = []
        while let e = try channel.readOutbound(as: Envelope.self) {
            out.append((e.remoteAddress, Array(e.data.readableBytesView)))
        }
        return out
    }

    @Test func immediateAnswerGoesToTheClientAfterTheReadBatch() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor, listener: 2)
        // A batch of two datagrams: written at once, flushed once at read-complete.
        channel.pipeline.fireChannelRead(Self.envelope(1, from: client1))
        channel.pipeline.fireChannelRead(Self.envelope(2, from: client3))
        #expect(try Self.outbound(channel).isEmpty)
        channel.pipeline.fireChannelReadComplete()
        let out = try Self.outbound(channel)
        #expect(out.map(\.0) == [client1, client3])
        #expect(out.map(\.1) == [Self.answer(1), Self.answer(2)])
        #expect(processor.calls.map(\.transport) == [.udp, .udp])
        #expect(processor.calls.map(\.listener) == [2, 2])
        #expect(processor.calls.map(\.client) == [ClientAddress(client1), ClientAddress(client3)])
        _ = try channel.finish()
    }

    @Test func laterAnswersGoOutWhenReadyEachToItsClient() throws {
        let channel = EmbeddedChannel()
        var promises: [EventLoopPromise<ByteBuffer?>] = []
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promises.append(p)
            return .later(p.futureResult)
        }
        try channel.pipeline.syncOperations.addHandler(
            UDPQueryHandler(processor: processor, listener: 0, logger: Logger(label: "test")))
        try channel.writeInbound(Self.envelope(1, from: client1))
        try channel.writeInbound(Self.envelope(2, from: client2))
        try channel.writeInbound(Self.envelope(3, from: client3))
        #expect(try Self.outbound(channel).isEmpty)

        promises[2].succeed(ByteBuffer(bytes: Self.answer(3)))
        var out = try Self.outbound(channel)
        #expect(out.map(\.0) == [client3])
        #expect(out.map(\.1) == [Self.answer(3)])
        promises[0].succeed(ByteBuffer(bytes: Self.answer(1)))
        promises[1].succeed(nil)  // nothing to send
        out = try Self.outbound(channel)
        #expect(out.map(\.0) == [client1])
        #expect(out.map(\.1) == [Self.answer(1)])
        _ = try channel.finish()
    }

    @Test func failedLaterAnswerSendsNothing() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: ByteBuffer?.self)
        let processor = StubProcessor { _ in .later(promise.futureResult) }
        try channel.pipeline.syncOperations.addHandler(
            UDPQueryHandler(processor: processor, listener: 0, logger: Logger(label: "test")))
        try channel.writeInbound(Self.envelope(1, from: client1))
        promise.fail(TransportError(.timeout))
        #expect(try Self.outbound(channel).isEmpty)
        _ = try channel.finish()
    }

    @Test func dropSendsNothing() throws {
        let processor = StubProcessor { _ in .drop }
        let channel = try Self.channel(processor)
        try channel.writeInbound(Self.envelope(1, from: client1))
        #expect(try Self.outbound(channel).isEmpty)
        #expect(processor.calls.count == 1)
        _ = try channel.finish()
    }

    @Test func socketErrorsDoNotCloseTheListener() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        try channel.connect(to: client1).wait()
        channel.pipeline.fireErrorCaught(IOError(errnoCode: 111, reason: "recvmmsg"))
        #expect(channel.isActive)
        try channel.writeInbound(Self.envelope(1, from: client2))
        #expect(try Self.outbound(channel).map(\.1) == [Self.answer(1)])
        _ = try channel.finish()
    }
}
