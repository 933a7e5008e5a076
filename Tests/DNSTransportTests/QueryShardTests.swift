import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Testing

/// `QueryShard.owner`: the loop that owns a query name, the same choice the kernel makes for the
/// native UDP engine (a hash of the first 32 bytes of the name, ASCII case folded).
struct QueryShardTests {
    typealias P = TestPackets

    static func owner(_ packet: [UInt8], _ loops: Int) -> Int { QueryShard.owner(of: ByteBuffer(bytes: packet), loops: loops) }

    @Test func asciiCaseDoesNotChangeTheOwner() {
        let spellings = ["www.example.test", "WWW.EXAMPLE.TEST", "WwW.eXaMpLe.TeSt", "www.Example.TEST"]
        for loops in 2...16 {
            let owners = Set(spellings.map { Self.owner(P.query($0), loops) })
            #expect(owners.count == 1, "\(loops) loops: \(owners)")
        }
    }

    @Test func onlyTheNameCounts() {
        // ID, flags, type, class and EDNS are outside the hash: a name has one owner for every
        // question about it (so that A and AAAA, DO and not, share a thread).
        let base = P.query("owner.example.test")
        let variants = [
            P.query("owner.example.test", .aaaa, id: 0xFFFF),
            P.query("owner.example.test", .txt, id: 7, edns: EDNS(udpPayloadSize: 4096, dnssecOK: true)),
            P.query("owner.example.test", .a, recursionDesired: false, checkingDisabled: true),
            P.query("OWNER.example.test", .mx, rrClass: .ch),
        ]
        for loops in 2...16 {
            for v in variants { #expect(Self.owner(v, loops) == Self.owner(base, loops)) }
        }
    }

    @Test func namesSharingTheirFirst32BytesCollide() throws {
        // Documented: only the first BW_STEER_BYTES (32) bytes of the name are hashed.
        let label = "abcdefghijklmnopqrstuvwxyz0123456789"  // 37 wire bytes with its length
        let a = P.query("\(label).one.test")
        let b = P.query("\(label).two.example.test")
        #expect(Array(a[12..<44]) == Array(b[12..<44]))
        for loops in 2...64 { #expect(Self.owner(a, loops) == Self.owner(b, loops)) }
        // The boundary: byte 32 of the name (offset 44) is not hashed, byte 31 (offset 43) is.
        let outside = P.query("abcdefghijklmnopqrstuvwxyz01234X6789.one.test")
        #expect(outside[44] == UInt8(ascii: "X"))
        for loops in 2...64 { #expect(Self.owner(a, loops) == Self.owner(outside, loops)) }
        let inside = P.query("abcdefghijklmnopqrstuvwxyz0123X56789.one.test")
        #expect(inside[43] == UInt8(ascii: "X"))
        #expect((2...64).contains { Self.owner(a, $0) != Self.owner(inside, $0) })
        let d = P.query("bbcdefghijklmnopqrstuvwxyz0123456789.one.test")
        #expect((2...64).contains { Self.owner(a, $0) != Self.owner(d, $0) })
    }

    @Test func shortNamesEndAtTheirRootLabel() {
        // Bytes after the name's terminating zero (type, class, OPT) are not hashed, even when
        // the whole packet is shorter than 32 bytes past the header.
        let a = P.query("a.test", .a)
        let b = P.query("a.test", .aaaa)
        #expect(a.count < 12 + 32)
        for loops in 2...64 { #expect(Self.owner(a, loops) == Self.owner(b, loops)) }
    }

    @Test(arguments: [
        [], [0x12], [0x12, 0x34, 0x01, 0x00], [UInt8](repeating: 0xFF, count: 11), [UInt8](repeating: 0, count: 12),
        [UInt8](repeating: 0x41, count: 13), [UInt8](repeating: 0x41, count: 43), [UInt8](repeating: 0x41, count: 44),
        [UInt8](repeating: 0xFF, count: 600),
    ])
    func shortAndOddPacketsGiveAValidOwner(_ packet: [UInt8]) {
        for loops in 1...9 {
            let o = Self.owner(packet, loops)
            #expect((0..<loops).contains(o), "\(packet.count) bytes, \(loops) loops: \(o)")
        }
        #expect(Self.owner(packet, 1) == 0)
    }

    @Test func emptyAndHeaderOnlyPacketsBelongToLoopZero() {
        // Nothing to hash: h = 0.
        for loops in 2...9 {
            #expect(Self.owner([], loops) == 0)
            #expect(Self.owner([UInt8](repeating: 0xAB, count: 12), loops) == 0)
            // Root name: the zero byte ends the hash at once.
            #expect(Self.owner(P.query("."), loops) == 0)
        }
    }

    @Test func theReadableBytesAreThePacket() {
        // TCP frames arrive as slices of a larger buffer: the reader index is where the packet starts.
        let query = P.query("slice.example.test")
        var buffer = ByteBuffer(bytes: [0, UInt8(query.count)] + query + [9, 9, 9])
        buffer.moveReaderIndex(forwardBy: 2)
        let slice = buffer.getSlice(at: buffer.readerIndex, length: query.count)!
        for loops in 2...16 {
            #expect(QueryShard.owner(of: buffer.getSlice(at: 2, length: query.count)!, loops: loops) == Self.owner(query, loops))
            #expect(QueryShard.owner(of: slice, loops: loops) == Self.owner(query, loops))
        }
    }

    @Test func oneThousandNamesAreBalancedOverTwoLoops() {
        var counts = [0, 0]
        for i in 0..<1000 { counts[Self.owner(P.query("h\(i).test."), 2)] += 1 }
        #expect(counts.allSatisfy { (350...650).contains($0) }, "\(counts)")
    }

    @Test(arguments: [3, 4, 8])
    func oneThousandNamesAreBalancedOverMoreLoops(_ loops: Int) {
        var counts = [Int](repeating: 0, count: loops)
        for i in 0..<1000 { counts[Self.owner(P.query("h\(i).test."), loops)] += 1 }
        let fair = 1000 / loops
        #expect(counts.allSatisfy { $0 >= fair * 7 / 10 && $0 <= fair * 13 / 10 }, "\(counts)")
    }
}
