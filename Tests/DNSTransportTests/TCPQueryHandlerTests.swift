import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import DNSTransport

/// The TCP listener's pipeline (frame decoder + query handler) on an `EmbeddedChannel`.
struct TCPQueryHandlerTests {
    static func query(_ n: UInt8) -> [UInt8] { [0, n, 0x01, 0x00] + [UInt8](repeating: n, count: 8) }
    static func answer(_ n: UInt8) -> [UInt8] { [0, n, 0x81, 0x00] + [UInt8](repeating: n, count: 8) }

    static func channel(
        _ processor: StubProcessor, limits: TCPLimits = TCPLimits(), listener: Int = 3
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: listener, limits: limits, logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()
        return channel
    }

    static func readAnswers(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while var b = try channel.readOutbound(as: ByteBuffer.self) {
            let length = b.readInteger(as: UInt16.self)
            #expect(length.map(Int.init) == b.readableBytes)
            out.append(Array(b.readableBytesView))
        }
        return out
    }

    static func autoRead(_ channel: EmbeddedChannel) -> Bool? {
        channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }?.value as? Bool
    }

    @Test func immediateAnswersArePrefixedAndPipelined() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        // Two queries in one segment, the second split across two segments.
        var input = framed(Self.query(1))
        let second = framed(Self.query(2))
        input.writeImmutableBuffer(second.getSlice(at: 0, length: 5)!)
        try channel.writeInbound(input)
        try channel.writeInbound(second.getSlice(at: 5, length: second.readableBytes - 5)!)
        #expect(try Self.readAnswers(channel) == [Self.answer(1), Self.answer(2)])
        #expect(processor.calls.map(\.query) == [Self.query(1), Self.query(2)])
        #expect(processor.calls.allSatisfy { $0.transport == .tcp && $0.listener == 3 && $0.client == ClientAddress(client1) })
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func laterAnswersAreWrittenInCompletionOrder() throws {
        var promises: [EventLoopPromise<ByteBuffer?>] = []
        let channel = EmbeddedChannel()
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promises.append(p)
            return .later(p.futureResult)
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: 0, limits: TCPLimits(), logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()

        var input = framed(Self.query(1))
        input.writeImmutableBuffer(framed(Self.query(2)))
        input.writeImmutableBuffer(framed(Self.query(3)))
        try channel.writeInbound(input)
        #expect(promises.count == 3)
        #expect(try Self.readAnswers(channel).isEmpty)

        // Each answer goes out (flushed) as soon as it is ready, not in query order.
        promises[1].succeed(ByteBuffer(bytes: Self.answer(2)))
        #expect(try Self.readAnswers(channel) == [Self.answer(2)])
        promises[2].succeed(ByteBuffer(bytes: Self.answer(3)))
        promises[0].succeed(ByteBuffer(bytes: Self.answer(1)))
        #expect(try Self.readAnswers(channel) == [Self.answer(3), Self.answer(1)])
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func nilOrFailedLaterAnswerWritesNothingAndKeepsTheConnection() throws {
        let channel = EmbeddedChannel()
        var promises: [EventLoopPromise<ByteBuffer?>] = []
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promises.append(p)
            return .later(p.futureResult)
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: 0, limits: TCPLimits(), logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()
        try channel.writeInbound(framed(Self.query(1)))
        try channel.writeInbound(framed(Self.query(2)))
        promises[0].succeed(nil)
        promises[1].fail(TransportError(.timeout))
        #expect(try Self.readAnswers(channel).isEmpty)
        #expect(channel.isActive)
        // Nothing in flight any more: an idle timeout now closes.
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }

    @Test func dropClosesTheConnection() throws {
        let processor = StubProcessor { _ in .drop }
        let channel = try Self.channel(processor)
        try channel.writeInbound(framed(Self.query(1)))
        #expect(!channel.isActive)
        #expect(try Self.readAnswers(channel).isEmpty)
        #expect(processor.opened == 1)
        #expect(processor.closed == 1)
    }

    @Test func idleClosesOnlyWhenNothingIsInFlight() throws {
        let channel = EmbeddedChannel()
        var promise: EventLoopPromise<ByteBuffer?>?
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promise = p
            return .later(p.futureResult)
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: 0, limits: TCPLimits(), logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()
        try channel.writeInbound(framed(Self.query(1)))

        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(channel.isActive)
        promise?.succeed(ByteBuffer(bytes: Self.answer(1)))
        #expect(try Self.readAnswers(channel) == [Self.answer(1)])
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
        #expect(processor.closed == 1)
    }

    @Test func idleWithNothingInFlightCloses() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        try channel.writeInbound(framed(Self.query(1)))
        #expect(try Self.readAnswers(channel) == [Self.answer(1)])
        // Other idle kinds (write) are passed on, not acted upon.
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.write)
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }

    @Test func halfCloseWaitsForInFlightAnswersThenCloses() throws {
        let channel = EmbeddedChannel()
        var promises: [EventLoopPromise<ByteBuffer?>] = []
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promises.append(p)
            return .later(p.futureResult)
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: 0, limits: TCPLimits(), logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()
        var input = framed(Self.query(1))
        input.writeImmutableBuffer(framed(Self.query(2)))
        try channel.writeInbound(input)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(channel.isActive)
        promises[0].succeed(ByteBuffer(bytes: Self.answer(1)))
        #expect(channel.isActive)
        promises[1].succeed(ByteBuffer(bytes: Self.answer(2)))
        #expect(try Self.readAnswers(channel) == [Self.answer(1), Self.answer(2)])
        #expect(!channel.isActive)
    }

    @Test func halfCloseWithNothingInFlightClosesAtOnce() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
    }

    @Test func refusedConnectionIsClosedAndNotCountedAsClosed() throws {
        let processor = StubProcessor { .now(echo($0)) }
        processor.acceptConnections = false
        let channel = try Self.channel(processor)
        #expect(!channel.isActive)
        #expect(processor.opened == 1)
        // Only accepted connections are reported closed.
        #expect(processor.closed == 0)
        #expect(processor.calls.isEmpty)
    }

    @Test func acceptedConnectionIsReportedClosedOnce() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        #expect(processor.opened == 1)
        #expect(processor.closed == 0)
        try channel.close().wait()
        #expect(processor.closed == 1)
    }

    @Test func readingPausesAtMaxInFlightAndResumesAtHalf() throws {
        let channel = EmbeddedChannel()
        var promises: [EventLoopPromise<ByteBuffer?>] = []
        let processor = StubProcessor { _ in
            let p = channel.eventLoop.makePromise(of: ByteBuffer?.self)
            promises.append(p)
            return .later(p.futureResult)
        }
        var limits = TCPLimits()
        limits.maxInFlightPerConnection = 4
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(
            TCPQueryHandler(processor: processor, listener: 0, limits: limits, logger: Logger(label: "test")))
        try channel.connect(to: client1).wait()
        for n in 1...3 { try channel.writeInbound(framed(Self.query(UInt8(n)))) }
        #expect(Self.autoRead(channel) == nil)
        try channel.writeInbound(framed(Self.query(4)))
        #expect(Self.autoRead(channel) == false)
        promises[0].succeed(ByteBuffer(bytes: Self.answer(1)))
        promises[1].succeed(ByteBuffer(bytes: Self.answer(2)))
        #expect(Self.autoRead(channel) == false)  // 2 in flight: not below half of 4
        promises[2].succeed(ByteBuffer(bytes: Self.answer(3)))
        #expect(Self.autoRead(channel) == true)
        promises[3].succeed(ByteBuffer(bytes: Self.answer(4)))
        #expect(try Self.readAnswers(channel).count == 4)
        _ = try channel.finish()
    }

    @Test func errorClosesTheConnection() throws {
        let processor = StubProcessor { .now(echo($0)) }
        let channel = try Self.channel(processor)
        channel.pipeline.fireErrorCaught(TransportError(.network, "reset"))
        #expect(!channel.isActive)
    }
}
