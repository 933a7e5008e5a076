import DNSTransport
import DNSWire
import NIOCore
import Resolver

/// The query processor of one event loop: decodes the packet into a `QueryContext` and runs the
/// chain. Owns the loop's cache, forwarder and counters.
public final class DNSProcessor: QueryProcessor {
    public let chain: QueryChain
    public let resolver: CachingResolver
    public let stats: StatsBox
    let loop: any EventLoop
    let maxTCPConnections: Int

    public init(chain: QueryChain, resolver: CachingResolver, stats: StatsBox, loop: any EventLoop, maxTCPConnections: Int) {
        self.chain = chain
        self.resolver = resolver
        self.stats = stats
        self.loop = loop
        self.maxTCPConnections = maxTCPConnections
    }

    /// When set, TCP queries are answered by the loop that owns their name (`QueryShard`), the
    /// same loop whose native UDP thread gets that name, so both transports share one cache entry.
    public var shard: (index: Int, owners: [NIOLoopBound<DNSProcessor>])?

    public func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int) -> QueryReply {
        process(query, client: client, transport: transport, listener: listener, identity: nil)
    }

    public func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int, identity: String?) -> QueryReply {
        if transport != .udp, let shard {
            let owner = QueryShard.owner(of: query, loops: shard.owners.count)
            // What Sanitize drops (runts, responses) is dropped here, so that the listener sees
            // `.drop` (and a TCP connection is closed) whichever loop has the connection.
            let outcome = query.withUnsafeReadableBytes { QueryScan.scan($0).outcome }
            if owner != shard.index, outcome != .runt, outcome != .response {
                let target = shard.owners[owner]
                return .later(
                    target.eventLoop.flatSubmit {
                        switch target.value.processHere(query, client: client, transport: transport, listener: listener, identity: identity) {
                        case .now(let b): return target.eventLoop.makeSucceededFuture(b)
                        case .drop: return target.eventLoop.makeSucceededFuture(nil)
                        case .later(let f): return f
                        }
                    }.hop(to: loop))
            }
        }
        return processHere(query, client: client, transport: transport, listener: listener, identity: identity)
    }

    /// A UDP query a native engine thread could not finish (its rate limit is charged already).
    public func processHandedOff(_ query: ByteBuffer, client: ClientAddress, listener: Int) -> QueryReply {
        processHere(query, client: client, transport: .udp, listener: listener, rateCharged: true)
    }

    func processHere(
        _ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int, identity: String? = nil, rateCharged: Bool = false
    ) -> QueryReply {
        var ctx = QueryContext(packet: query, client: client, transport: transport, listener: listener)
        ctx.identity = identity
        ctx.rateCharged = rateCharged
        switch chain.run(&ctx, on: loop) {
        case .done(let bytes?):
            return .now(bytes)
        case .done(nil):
            stats.stats.dropped += 1
            return .drop
        case .pending(let future):
            return .later(future)
        }
    }

    public func tcpConnection(opened: Bool) -> Bool {
        if opened {
            guard stats.stats.tcpConnections < maxTCPConnections else {
                stats.stats.tcpConnectionsRefused += 1
                return false
            }
            stats.stats.tcpConnections += 1
        } else {
            stats.stats.tcpConnections -= 1
        }
        return true
    }
}
