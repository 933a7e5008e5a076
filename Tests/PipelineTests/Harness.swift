import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import NIOEmbedded
import Resolver
import Policy
import Testing

@testable import Pipeline

let loopbackClient = try! SocketAddress(ipAddress: "127.0.0.1", port: 53000)
let outsideClient = try! SocketAddress(ipAddress: "203.0.113.9", port: 53000)

/// One event loop's processor, built the way the server builds it (`QueryChain.build`), on an
/// `EmbeddedEventLoop`: for answers that never leave the loop (errors, local data, cache hits).
/// With no upstreams, whatever reaches Resolve fails at once (SERVFAIL, EDE 23).
final class Harness {
    let loop = EmbeddedEventLoop()
    let stats = StatsBox()
    let clock: ManualClock
    let cache: ResponseCache
    let resolver: CachingResolver
    let processor: DNSProcessor

    init(
        allow: [CIDR] = AccessList.defaultAllow, maxUDPSize: Int = 1232, clock: ManualClock = ManualClock(), policy: PolicyBox? = nil,
        rateLimiter: ClientRateLimiter? = nil, slip: Int = 2
    ) {
        self.clock = clock
        cache = ResponseCache(config: CacheConfig(), clock: clock)
        let forwarder = Forwarder(upstreams: [], config: ForwarderConfig(), loop: loop, clock: clock)
        resolver = CachingResolver(cache: cache, forwarder: forwarder, loop: loop)
        var parts = QueryChain.Parts(acl: AccessList(allow: allow), resolver: resolver, stats: stats, maxUDPSize: maxUDPSize, policy: policy)
        parts.rateLimiter = rateLimiter
        parts.slip = slip
        let chain = QueryChain.build(parts)
        processor = DNSProcessor(chain: chain, resolver: resolver, stats: stats, loop: loop, maxTCPConnections: 10)
    }

    /// The response bytes, or nil when the query is dropped.
    func ask(_ query: [UInt8], from client: SocketAddress = loopbackClient, over transport: TransportKind = .udp)
        throws -> [UInt8]?
    {
        switch processor.process(ByteBuffer(bytes: query), client: ClientAddress(client), transport: transport, listener: 0) {
        case .now(let b):
            return Array(b.readableBytesView)
        case .drop:
            return nil
        case .later(let future):
            loop.run()
            var result: Result<ByteBuffer?, any Error>?
            future.assumeIsolated().whenComplete { result = $0 }
            let value = try #require(result, "the answer did not complete on the embedded loop")
            return try value.get().map { Array($0.readableBytesView) }
        }
    }

    /// Parses the response to `query`, which must not be dropped.
    func response(_ query: [UInt8], from client: SocketAddress = loopbackClient, over transport: TransportKind = .udp)
        throws -> Message
    {
        let bytes = try #require(try ask(query, from: client, over: transport))
        return try Message(parsing: bytes)
    }
}

/// The server's processor on a real single-threaded event loop, forwarding to real upstreams.
final class LiveHarness: Sendable {
    let loop: any EventLoop
    let processor: NIOLoopBound<DNSProcessor>
    let clock: ManualClock

    /// `policy`: an engine and the profile of listener 0.
    init(
        loop: any EventLoop, upstreams: [SocketAddress], clock: ManualClock = ManualClock(), maxUDPSize: Int = 1232,
        policy: (PolicyEngine, String)? = nil, allow: [CIDR] = AccessList.defaultAllow
    ) async throws {
        self.loop = loop
        self.clock = clock
        var config = ForwarderConfig()
        config.attemptTimeout = .milliseconds(200)
        processor = try await loop.submit { [config] in
            let stats = StatsBox()
            let cache = ResponseCache(config: CacheConfig(), clock: clock)
            let forwarder = Forwarder(upstreams: upstreams, config: config, loop: loop, clock: clock)
            let resolver = CachingResolver(cache: cache, forwarder: forwarder, loop: loop)
            let box = policy.map { e, p in PolicyBox(engine: e, listenerProfiles: [e.profileIndex(named: p)!]) }
            let chain = QueryChain.build(
                .init(acl: AccessList(allow: allow), resolver: resolver, stats: stats, maxUDPSize: maxUDPSize, policy: box))
            return NIOLoopBound(
                DNSProcessor(chain: chain, resolver: resolver, stats: stats, loop: loop, maxTCPConnections: 10),
                eventLoop: loop)
        }.get()
    }

    func ask(_ query: [UInt8], over transport: TransportKind = .udp, from client: SocketAddress = loopbackClient) async throws -> [UInt8]? {
        let loop = self.loop
        let processor = self.processor
        return try await loop.flatSubmit { () -> EventLoopFuture<[UInt8]?> in
            switch processor.value.process(ByteBuffer(bytes: query), client: ClientAddress(client), transport: transport, listener: 0) {
            case .now(let b): return loop.makeSucceededFuture(Array(b.readableBytesView))
            case .later(let f): return f.map { $0.map { Array($0.readableBytesView) } }
            case .drop: return loop.makeSucceededFuture(nil)
            }
        }.get()
    }

    func response(_ query: [UInt8], over transport: TransportKind = .udp, from client: SocketAddress = loopbackClient) async throws -> Message {
        let bytes = try #require(try await ask(query, over: transport, from: client))
        return try Message(parsing: bytes)
    }

    var stats: PipelineStats {
        get async throws {
            let processor = self.processor
            return try await loop.submit { processor.value.stats.stats }.get()
        }
    }
}
