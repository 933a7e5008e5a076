import DNSTransport
import DNSWire
import Logging
import NIOCore

/// Forwarding settings.
public struct ForwarderConfig: Sendable, Equatable {
    /// Timeout of one attempt at one upstream.
    public var attemptTimeout: TimeAmount = .milliseconds(1000)
    /// At most this many upstreams are tried for one query.
    public var maxAttempts: Int = 3
    /// Upstream queries in flight on one event loop; above it, queries fail fast.
    public var maxInFlight: Int = 4096
    /// EDNS payload size advertised to upstreams.
    public var udpPayloadSize: UInt16 = 1232
    public init() {}
}

/// Health of one upstream as seen from one event loop.
public struct UpstreamState: Sendable {
    public let address: SocketAddress
    /// How it is named in metrics and logs (`tls://…#name` for DNS over TLS).
    public let label: String
    /// Smoothed round-trip time in microseconds (EWMA 1/8), 0 until measured.
    public var srttMicros: Double = 0
    public var consecutiveFailures = 0
    /// Monotonic nanoseconds until which the upstream is only tried last.
    public var downUntil: UInt64 = 0
    public var queries: UInt64 = 0
    public var failures: UInt64 = 0
    /// DNS over TLS: connections opened and handshakes (or pin checks) that failed.
    public var connections: UInt64 = 0
    public var handshakeFailures: UInt64 = 0
    public init(address: SocketAddress, label: String? = nil) {
        self.address = address
        self.label = label ?? UpstreamServer(address).description
    }
}

/// Latency histogram buckets in seconds (Prometheus `le`).
public let upstreamLatencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/// Upstream counters of one event loop.
public struct UpstreamStats: Sendable {
    public var latencyBucketCounts = [UInt64](repeating: 0, count: upstreamLatencyBuckets.count + 1)
    public var latencySum: Double = 0
    public var latencyCount: UInt64 = 0
    public var timeouts: UInt64 = 0
    public var errors: UInt64 = 0
    public var tcpRetries: UInt64 = 0
    public init() {}

    mutating func observe(seconds: Double) {
        var i = 0
        while i < upstreamLatencyBuckets.count && seconds > upstreamLatencyBuckets[i] { i += 1 }
        latencyBucketCounts[i] += 1
        latencySum += seconds
        latencyCount += 1
    }
}

/// Forwards questions to upstream resolvers for one event loop: random ID and source port per
/// query, answers checked against the question, TCP retry on TC, failover by health and RTT.
/// DNS-over-TLS upstreams get one kept-open connection per loop, shared by its queries.
public final class Forwarder {
    public let config: ForwarderConfig
    public private(set) var upstreams: [UpstreamState]
    /// The loop's connection to each DNS-over-TLS upstream (nil for plain ones).
    let tlsConnections: [TLSUpstreamConnection?]
    public private(set) var stats = UpstreamStats()
    let loop: any EventLoop
    let clock: any ResolverClock
    var inFlight = 0
    public var inFlightCount: Int { inFlight }
    var rng = SystemRandomNumberGenerator()

    public convenience init(upstreams: [SocketAddress], config: ForwarderConfig, loop: any EventLoop, clock: any ResolverClock = SystemClock()) {
        self.init(servers: upstreams.map { UpstreamServer($0) }, config: config, loop: loop, clock: clock)
    }

    public init(
        servers: [UpstreamServer], config: ForwarderConfig, loop: any EventLoop, clock: any ResolverClock = SystemClock(), logger: Logger? = nil
    ) {
        self.upstreams = servers.map { UpstreamState(address: $0.address, label: $0.description) }
        self.tlsConnections = servers.map { s in s.tls.map { TLSUpstreamConnection(address: s.address, tls: $0, loop: loop, logger: logger) } }
        self.config = config
        self.loop = loop
        self.clock = clock
    }

    /// The upstreams with their connection counters brought up to date.
    public var upstreamsNow: [UpstreamState] {
        var out = upstreams
        for (i, c) in tlsConnections.enumerated() {
            guard let c else { continue }
            out[i].connections = c.connectionsOpened
            out[i].handshakeFailures = c.handshakeFailures
        }
        return out
    }

    /// Upstream indices in the order to try: healthy ones by RTT (unmeasured first, ties broken
    /// at random), then those marked down.
    func order() -> [Int] {
        let now = clock.nanoseconds()
        var up: [(Int, Double)] = []
        var down: [Int] = []
        for (i, u) in upstreams.enumerated() {
            if u.downUntil > now {
                down.append(i)
            } else {
                up.append((i, u.srttMicros + Double.random(in: 0..<50, using: &rng)))
            }
        }
        up.sort { $0.1 < $1.1 }
        return up.map(\.0) + down
    }

    /// Resolves `question` upstream; fails with `ResolverError` when no upstream gives a usable
    /// answer. With a `subnet` (a `ClientSubnetTag`), the query carries it as EDNS Client Subnet.
    public func resolve(_ question: Question, dnssecOK: Bool, checkingDisabled: Bool, subnet: UInt64 = 0) -> EventLoopFuture<Message> {
        guard !upstreams.isEmpty else { return loop.makeFailedFuture(ResolverError(.noUpstreams)) }
        guard inFlight < config.maxInFlight else { return loop.makeFailedFuture(ResolverError(.overloaded)) }
        inFlight += 1
        let order = Array(order().prefix(max(1, config.maxAttempts)))
        let promise = loop.makePromise(of: Message.self)
        let options = ClientSubnetTag.option(subnet).map { [EDNSOption.clientSubnet($0)] } ?? []
        attempt(question, dnssecOK: dnssecOK, cd: checkingDisabled, options: options, order: order, position: 0, answered: false, promise: promise)
        let loopBound = NIOLoopBound(self, eventLoop: loop)
        promise.futureResult.whenComplete { _ in loopBound.value.inFlight -= 1 }
        return promise.futureResult
    }

    func attempt(
        _ q: Question, dnssecOK: Bool, cd: Bool, options: [EDNSOption], order: [Int], position: Int, answered: Bool,
        promise: EventLoopPromise<Message>
    ) {
        guard position < order.count else {
            promise.fail(ResolverError(.upstreamsFailed, "\(order.count) upstream(s) tried", upstreamAnswered: answered))
            return
        }
        let index = order[position]
        let server = upstreams[index].address
        let tls = tlsConnections[index]
        var pick = UInt16.random(in: 0...UInt16.max, using: &rng)
        // IDs are unique per kept-open connection (RFC 7766 §6.2.1.1).
        while let tls, tls.isPending(pick) { pick = UInt16.random(in: 0...UInt16.max, using: &rng) }
        let id = pick
        var header = Header(id: id)
        header.recursionDesired = true
        header.checkingDisabled = cd
        let query = Message(
            header: header, questions: [q],
            edns: EDNS(udpPayloadSize: config.udpPayloadSize, dnssecOK: dnssecOK, options: options))
        guard let wire = try? query.encode() else {
            promise.fail(ResolverError(.badUpstreamAnswer, "cannot encode query for \(q)"))
            return
        }
        let started = clock.nanoseconds()
        upstreams[index].queries += 1
        let accept: @Sendable ([UInt8]) -> Bool = { Forwarder.matches($0, id: id, question: q) }
        let me = NIOLoopBound(self, eventLoop: loop)
        let timeout = config.attemptTimeout
        let loop = self.loop
        let exchange: EventLoopFuture<[UInt8]>
        if let tls {
            exchange = tls.exchange(wire, timeout: timeout, accept: accept)
        } else {
            exchange = UpstreamExchange.udp(wire, to: server, on: loop, timeout: timeout, accept: accept)
                .flatMap { bytes -> EventLoopFuture<[UInt8]> in
                    // TC=1: ask again over TCP (RFC 7766 §5).
                    if bytes.count > 2 && bytes[2] & 0x02 != 0 {
                        me.value.stats.tcpRetries += 1
                        return UpstreamExchange.tcp(wire, to: server, on: loop, timeout: timeout, accept: accept)
                    }
                    return loop.makeSucceededFuture(bytes)
                }
        }
        exchange.whenComplete { result in
            let this = me.value
            switch result {
            case .success(let bytes):
                guard let msg = try? Message(parsing: bytes) else {
                    this.failed(index, timeout: false)
                    this.attempt(q, dnssecOK: dnssecOK, cd: cd, options: options, order: order, position: position + 1, answered: answered, promise: promise)
                    return
                }
                switch msg.rcode {
                case .servFail, .refused, .notImp, .formErr:
                    this.failed(index, timeout: false)
                    this.attempt(q, dnssecOK: dnssecOK, cd: cd, options: options, order: order, position: position + 1, answered: true, promise: promise)
                default:
                    this.succeeded(index, started: started)
                    promise.succeed(msg)
                }
            case .failure(let error):
                let isTimeout = (error as? TransportError)?.code == .timeout
                this.failed(index, timeout: isTimeout)
                this.attempt(q, dnssecOK: dnssecOK, cd: cd, options: options, order: order, position: position + 1, answered: answered, promise: promise)
            }
        }
    }

    func succeeded(_ i: Int, started: UInt64) {
        let rtt = Double(clock.nanoseconds() &- started) / 1000
        let s = upstreams[i].srttMicros
        upstreams[i].srttMicros = s == 0 ? rtt : s + (rtt - s) / 8
        upstreams[i].consecutiveFailures = 0
        upstreams[i].downUntil = 0
        stats.observe(seconds: rtt / 1_000_000)
    }

    func failed(_ i: Int, timeout: Bool) {
        upstreams[i].failures += 1
        upstreams[i].consecutiveFailures += 1
        if timeout { stats.timeouts += 1 } else { stats.errors += 1 }
        // Penalise the RTT so that a flaky upstream sorts behind a healthy one.
        let penalty = Double(config.attemptTimeout.nanoseconds) / 1000
        let s = upstreams[i].srttMicros
        upstreams[i].srttMicros = s + (penalty - s) / 4
        let n = upstreams[i].consecutiveFailures
        if n >= 3 {
            // Back off: 1 s, 2 s, 4 s … up to 60 s.
            let backoff = UInt64(min(60, 1 << min(n - 3, 6))) * 1_000_000_000
            upstreams[i].downUntil = clock.nanoseconds() + backoff
        }
    }

    /// Is `bytes` a response to our query: same ID, QR set, opcode QUERY, same question?
    static func matches(_ bytes: [UInt8], id: UInt16, question: Question) -> Bool {
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0,
            (bytes[2] >> 3) & 0x0F == 0, bytes[4] == 0, bytes[5] == 1
        else { return false }
        var r = WireReader(bytes, offset: 12)
        guard let name = try? r.name(), let t = try? r.u16(), let c = try? r.u16() else { return false }
        return name == question.name && t == question.type.rawValue && c == question.rrClass.rawValue
    }
}

/// EDNS Client Subnet (RFC 7871) as Bulwark sends it: the client's address cut to /24 (IPv4) or
/// /56 (IPv6), packed into one non-zero integer that is also part of the cache key.
public enum ClientSubnetTag {
    static let v4: UInt64 = 1 << 62
    static let v6: UInt64 = 2 << 62

    /// The tag of an IPv4 client (`address` in host order).
    public static func ipv4(_ address: UInt32) -> UInt64 { v4 | UInt64(address >> 8) }
    /// The tag of an IPv6 client (its upper 64 bits).
    public static func ipv6(high: UInt64) -> UInt64 { v6 | (high >> 8) }

    /// The option a tag stands for (source prefix /24 or /56, scope 0), nil for 0.
    public static func option(_ tag: UInt64) -> ClientSubnet? {
        switch tag & (3 << 62) {
        case v4:
            let a = UInt32(truncatingIfNeeded: tag) << 8
            return ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [UInt8(a >> 24), UInt8((a >> 16) & 0xFF), UInt8((a >> 8) & 0xFF)])
        case v6:
            let high = tag << 8
            return ClientSubnet(family: 2, sourcePrefix: 56, scopePrefix: 0, address: (0..<7).map { UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * $0)) })
        default:
            return nil
        }
    }
}
