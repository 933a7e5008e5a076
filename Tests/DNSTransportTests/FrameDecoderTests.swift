import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import DNSTransport

/// The TCP framing (RFC 1035 §4.2.2): a 2-byte length before each message.
struct FrameDecoderTests {
    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    @Test func verifierDripFeedsAndBatchesFrames() throws {
        let one: [UInt8] = Array(0..<12)
        let two: [UInt8] = [0xAB]
        let big: [UInt8] = (0..<1500).map { UInt8($0 & 0xFF) }
        var twoFrames = framed(one)
        var second = framed(two)
        twoFrames.writeBuffer(&second)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (framed(one), [Self.buffer(one)]),
                (framed(big), [Self.buffer(big)]),
                (twoFrames, [Self.buffer(one), Self.buffer(two)]),
                // A zero-length frame is a frame (the processor then rejects it as a runt).
                (framed([]), [Self.buffer([])]),
            ],
            decoderFactory: { LengthPrefixedFrameDecoder() })
    }

    @Test func largestFrameIsDecoded() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        let max = [UInt8](repeating: 7, count: 65535)
        try channel.writeInbound(framed(max))
        #expect(try channel.readInbound(as: ByteBuffer.self) == Self.buffer(max))
        #expect(try channel.finish().isClean)
    }

    @Test func partialFrameWaitsAndIsDiscardedAtEOF() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LengthPrefixedFrameDecoder()))
        let whole = framed(Array(0..<20))
        try channel.writeInbound(whole.getSlice(at: 0, length: 1)!)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        try channel.writeInbound(whole.getSlice(at: 1, length: 10)!)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        // EOF with 11 of 22 bytes: nothing comes out, and nothing fails.
        #expect(try channel.finish().isClean)
    }
}
