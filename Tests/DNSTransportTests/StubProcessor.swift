import DNSTransport
import NIOCore

/// A scripted `QueryProcessor` for handler tests on an `EmbeddedChannel` (single-threaded).
final class StubProcessor: QueryProcessor {
    struct Call {
        var query: [UInt8]
        var client: ClientAddress
        var transport: TransportKind
        var listener: Int
    }

    var reply: (ByteBuffer) -> QueryReply
    var calls: [Call] = []
    var acceptConnections = true
    var opened = 0
    var closed = 0

    init(_ reply: @escaping (ByteBuffer) -> QueryReply) {
        self.reply = reply
    }

    func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int) -> QueryReply {
        calls.append(Call(query: Array(query.readableBytesView), client: client, transport: transport, listener: listener))
        return reply(query)
    }

    func tcpConnection(opened: Bool) -> Bool {
        if opened {
            self.opened += 1
            return acceptConnections
        }
        closed += 1
        return true
    }
}

/// Echoes the query with QR set (an "answer" that tells which query it belongs to).
func echo(_ query: ByteBuffer) -> ByteBuffer {
    var bytes = Array(query.readableBytesView)
    if bytes.count > 2 { bytes[2] |= 0x80 }
    return ByteBuffer(bytes: bytes)
}

/// `bytes` with a 2-byte length prefix.
func framed(_ bytes: [UInt8]) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(UInt16(bytes.count))
    b.writeBytes(bytes)
    return b
}

let client1 = try! SocketAddress(ipAddress: "127.0.0.1", port: 40001)
let client2 = try! SocketAddress(ipAddress: "127.0.0.2", port: 40002)
let client3 = try! SocketAddress(ipAddress: "::1", port: 40003)
