#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Plain blocking BSD sockets on 127.0.0.1, for talking to servers under test the way an ordinary
/// client does (no event loop, each socket on an ephemeral port of its own).
public struct LoopbackSocketError: Error, CustomStringConvertible {
    public var description: String
    public init(_ what: String, _ err: Int32 = errno) {
        description = "\(what): \(String(cString: strerror(err)))"
    }
}

private func loopback(port: UInt16) -> sockaddr_in {
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_port = port.bigEndian
    sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return sa
}

private func socketType(_ t: Int32) -> Int32 {
    #if canImport(Glibc)
        return t | Int32(SOCK_CLOEXEC.rawValue)
    #else
        return t | SOCK_CLOEXEC
    #endif
}

#if canImport(Glibc)
    private let udpType = Int32(SOCK_DGRAM.rawValue)
    private let tcpType = Int32(SOCK_STREAM.rawValue)
#else
    private let udpType = SOCK_DGRAM
    private let tcpType = SOCK_STREAM
#endif

private func applyReceiveTimeout(_ fd: Int32, milliseconds: Int) {
    var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

private func readFD(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }

private func localPort(_ fd: Int32) -> UInt16? {
    var sa = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &sa) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return rc == 0 ? UInt16(bigEndian: sa.sin_port) : nil
}

/// A UDP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed), for
/// servers that open several sockets on one port (SO_REUSEPORT) and so cannot bind port 0.
public func freeLoopbackUDPPort() throws -> UInt16 {
    let probe = try UDPClientSocket()
    return probe.port
}

/// A blocking UDP socket bound to 127.0.0.1 on an ephemeral port. Closed on deinit.
public final class UDPClientSocket: Sendable {
    public let fd: Int32
    /// The local (source) port.
    public let port: UInt16

    public init(receiveTimeoutMilliseconds: Int = 1000) throws {
        let fd = socket(AF_INET, socketType(udpType), 0)
        guard fd >= 0 else { throw LoopbackSocketError("socket") }
        var sa = loopback(port: 0)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, let port = localPort(fd) else {
            let e = LoopbackSocketError("bind")
            close(fd)
            throw e
        }
        self.fd = fd
        self.port = port
        applyReceiveTimeout(fd, milliseconds: receiveTimeoutMilliseconds)
    }

    deinit { close(fd) }

    public func setReceiveTimeout(milliseconds: Int) {
        applyReceiveTimeout(fd, milliseconds: milliseconds)
    }

    /// Sends one datagram to 127.0.0.1:`port`.
    public func send(_ bytes: [UInt8], to port: UInt16) throws {
        var sa = loopback(port: port)
        let n = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard n == bytes.count else { throw LoopbackSocketError("sendto") }
    }

    /// The next datagram and the port it came from; nil when none arrives within the timeout.
    public func receive() -> (bytes: [UInt8], fromPort: UInt16)? {
        var buf = [UInt8](repeating: 0, count: 65536)
        var from = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buf.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &len) }
            }
        }
        guard n >= 0 else { return nil }
        return (Array(buf[0..<n]), UInt16(bigEndian: from.sin_port))
    }

    /// Sends `query` to `port` and waits for one datagram.
    public func exchange(_ query: [UInt8], port: UInt16) throws -> (bytes: [UInt8], fromPort: UInt16)? {
        try send(query, to: port)
        return receive()
    }
}

/// A blocking TCP connection to 127.0.0.1 that speaks DNS framing (2-byte length prefix).
public final class TCPClientSocket: Sendable {
    public let fd: Int32

    public init(port: UInt16, receiveTimeoutMilliseconds: Int = 1000) throws {
        let fd = socket(AF_INET, socketType(tcpType), 0)
        guard fd >= 0 else { throw LoopbackSocketError("socket") }
        var sa = loopback(port: port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = LoopbackSocketError("connect")
            close(fd)
            throw e
        }
        self.fd = fd
        applyReceiveTimeout(fd, milliseconds: receiveTimeoutMilliseconds)
    }

    deinit { close(fd) }

    /// Writes `message` with its length prefix.
    public func send(_ message: [UInt8]) throws {
        let framed = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
        var off = 0
        while off < framed.count {
            let n = framed.withUnsafeBytes { write(fd, $0.baseAddress! + off, framed.count - off) }
            guard n > 0 else { throw LoopbackSocketError("write") }
            off += n
        }
    }

    /// The next framed message; nil on timeout or end of stream.
    public func receive() -> [UInt8]? {
        guard let prefix = read(exactly: 2) else { return nil }
        return read(exactly: Int(prefix[0]) << 8 | Int(prefix[1]))
    }

    public func exchange(_ query: [UInt8]) throws -> [UInt8]? {
        try send(query)
        return receive()
    }

    func read(exactly count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var off = 0
        while off < count {
            let n = out.withUnsafeMutableBytes { readFD(fd, $0.baseAddress! + off, count - off) }
            guard n > 0 else { return nil }
            off += n
        }
        return out
    }
}
