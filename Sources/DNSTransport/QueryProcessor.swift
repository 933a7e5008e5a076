import NIOCore

/// How a query arrived.
public enum TransportKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    case udp = 0
    case tcp = 1
    case dot = 2
    case doh = 3
    public var description: String {
        switch self {
        case .udp: "udp"
        case .tcp: "tcp"
        case .dot: "dot"
        case .doh: "doh"
        }
    }
}

/// What to do with a query: answer now, answer later, or say nothing.
public enum QueryReply: Sendable {
    case now(ByteBuffer)
    case later(EventLoopFuture<ByteBuffer?>)
    case drop
}

/// Handles raw queries for one event loop. Listeners call it on that loop only, so an
/// implementation can keep loop-local state (cache, counters) without locks.
public protocol QueryProcessor: AnyObject {
    func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int) -> QueryReply
    /// The same, for a client that named its tenant: the DoH path token or the first label of
    /// the DoT server name (SNI).
    func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int, identity: String?) -> QueryReply
    /// Called when a TCP connection is accepted (true) or closed (false), for connection limits
    /// and metrics. Returns false to refuse the connection.
    func tcpConnection(opened: Bool) -> Bool
    /// A UDP query that a native engine thread began and could not finish (a cache miss): the
    /// per-client work done there (its rate limit) is not done again.
    func processHandedOff(_ query: ByteBuffer, client: ClientAddress, listener: Int) -> QueryReply
}

extension QueryProcessor {
    public func processHandedOff(_ query: ByteBuffer, client: ClientAddress, listener: Int) -> QueryReply {
        process(query, client: client, transport: .udp, listener: listener)
    }

    /// A processor that does not tell tenants apart ignores the identity.
    public func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int, identity: String?) -> QueryReply {
        process(query, client: client, transport: transport, listener: listener)
    }
}

/// Gives each event loop its own processor.
public struct ProcessorRegistry: Sendable {
    let byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>]

    /// `make` is called on each loop to create that loop's processor.
    public static func make(
        group: any EventLoopGroup, _ make: @escaping @Sendable (any EventLoop) -> any QueryProcessor
    ) -> EventLoopFuture<ProcessorRegistry> {
        let loops = Array(group.makeIterator())
        let futures = loops.map { loop in
            loop.submit { (ObjectIdentifier(loop), NIOLoopBound(make(loop), eventLoop: loop)) }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: loops[0]).map { pairs in
            ProcessorRegistry(byLoop: Dictionary(uniqueKeysWithValues: pairs))
        }
    }

    public init(byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>]) {
        self.byLoop = byLoop
    }

    /// The processor of `loop`; call on that loop.
    public func processor(for loop: any EventLoop) -> any QueryProcessor {
        guard let bound = byLoop[ObjectIdentifier(loop)] else {
            preconditionFailure("no processor for event loop \(loop)")
        }
        return bound.value
    }

    public var loops: Int { byLoop.count }
}
