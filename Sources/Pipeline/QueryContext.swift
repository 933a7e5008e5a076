import DNSTransport
import DNSWire
import NIOCore
import Resolver

/// Everything the chain knows about one query. Created from the packet by a cheap scan
/// (`QueryScan`, no allocation); the full parse (`query`) happens only where needed.
public struct QueryContext: Sendable {
    /// The query as received.
    public let packet: ByteBuffer
    public let scan: QueryScan
    /// The fully parsed query: set by Sanitize when the scan was not enough, nil on the hot path.
    public var query: Message?
    public var parseError: DNSWireError?
    public let client: ClientAddress
    public let transport: TransportKind
    /// Index of the listener the query arrived on.
    public let listener: Int
    /// Tenant/profile chosen by IdentifyTenant (0 = the listener's default profile).
    public var tenant: Int = 0
    /// The tenant token the client named (DoH path, DoT server name), if any.
    public var identity: String? = nil
    /// The client's subnet to send upstream as EDNS Client Subnet (`ClientSubnetTag`), set by
    /// IdentifyTenant for profiles with `ecs: true`; 0 = none. Part of the cache key.
    public var subnet: UInt64 = 0
    /// The client's rate limit was charged for this query already (on the native UDP engine
    /// thread that handed it to the loop).
    public var rateCharged = false
    /// The answer so far (from the cache or upstream), before Finalize.
    public var response: CachedAnswer?
    /// The rcode of the final response, set by Finalize (for metrics and logs).
    public var finalRcode: Rcode = .noError
    public var cacheHit = false
    /// PolicyQName's probe of the cache: -2 not probed, -1 not cached, else the slot (which the
    /// Cache stage then reads instead of looking again).
    public var cacheSlot = -2
    /// The policy memo: that slot's entry is stamped clear for this engine and tenant, so
    /// PolicyQName did not look the name up and PolicyAnswer skips a hit from that entry.
    public var policyCleared = false
    /// PolicyQName looked the name up and no rule matched (an answer clear too gets stamped).
    public var nameClear = false

    public init(packet: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int) {
        self.packet = packet
        self.scan = packet.withUnsafeReadableBytes { QueryScan.scan($0) }
        self.client = client
        self.transport = transport
        self.listener = listener
    }

    public init(packet: ByteBuffer, client: SocketAddress, transport: TransportKind, listener: Int) {
        self.init(packet: packet, client: ClientAddress(client), transport: transport, listener: listener)
    }

    public init(raw: [UInt8], client: SocketAddress, transport: TransportKind, listener: Int) {
        self.init(packet: ByteBuffer(bytes: raw), client: client, transport: transport, listener: listener)
    }

    /// The query bytes as an array (slow paths and tests).
    public var raw: [UInt8] { Array(packet.readableBytesView) }

    /// End of the question in the packet, when `hasSingleQuestion`.
    public var questionEnd: Int? {
        if scan.outcome == .query { return scan.questionEnd }
        guard let q = query, q.questions.count == 1 else { return nil }
        // Only when the name is written out literally at 12 (no compression pointer): then the
        // packet's bytes are the question.
        let name = q.questions[0].name.wire
        let end = 12 + name.count + 4
        let literal = packet.withUnsafeReadableBytes { p in
            end <= p.count && p[12..<(12 + name.count)].elementsEqual(name)
        }
        return literal ? end : nil
    }

    public var dnssecOK: Bool { scan.outcome == .query ? scan.dnssecOK : (query?.edns?.dnssecOK ?? false) }
    public var hasEDNS: Bool { scan.outcome == .query ? scan.hasEDNS : (query?.edns != nil) }
    public var clientUDPSize: Int {
        scan.outcome == .query ? Int(scan.udpPayloadSize) : Int(query?.edns?.udpPayloadSize ?? 512)
    }

    /// The question as a value (allocates; for slow paths).
    public var question: Question? {
        if let q = query { return q.questions.count == 1 ? q.questions[0] : nil }
        guard scan.outcome == .query else { return nil }
        let name = packet.withUnsafeReadableBytes { Name(uncheckedWire: Array($0[12..<scan.nameEnd])) }
        return Question(name: name, type: RRType(scan.qtype), rrClass: RRClass(scan.qclass))
    }

    /// The cache key (allocates; for the miss path).
    public var cacheKey: CacheKey? {
        var key: CacheKey
        if scan.outcome == .query {
            key = packet.withUnsafeReadableBytes { CacheKey(scan, packet: $0) }
        } else if let q = question {
            key = CacheKey(q, dnssecOK: dnssecOK)
        } else {
            return nil
        }
        key.subnet = subnet
        return key
    }
}

/// What a stage decided.
public enum StageOutcome {
    /// Go on with the next stage.
    case next
    /// This is the final answer: skip to Finalize. (Boxed, so that an outcome fits in registers:
    /// unboxed, every stage returned ~50 bytes through memory for its `.next` and the chain read
    /// them back; bulwark-hotpath 414 -> 339 ns per cache hit. The box is allocated only for
    /// answers a stage makes itself, which allocate their message anyway.)
    indirect case answer(CachedAnswer)
    /// Send nothing.
    case drop
    /// Wait for this answer (stored in `response`), then go on with the next stage.
    case wait(EventLoopFuture<CachedAnswer>)
    /// This thread cannot go on (it does no upstream I/O): hand the query to the event loop.
    case handoff
}

/// One position in the query chain. Stages run on the query's event loop and must not block.
public protocol QueryStage: AnyObject {
    var name: String { get }
    func process(_ ctx: inout QueryContext) -> StageOutcome
}

/// Builds responses that the chain synthesises (errors, local data, blocks).
public enum Responses {
    /// A response without records: opcode, RD and CD from the query, the question echoed when
    /// the query had exactly one.
    public static func empty(for ctx: QueryContext, rcode: Rcode, extendedError: ExtendedError? = nil) -> CachedAnswer {
        var w: [UInt8] = []
        w.reserveCapacity(64)
        let flags = ctx.packet.getInteger(at: ctx.packet.readerIndex + 2, as: UInt16.self) ?? 0
        let out: UInt16 = 0x8000 | (flags & 0x7800) | (flags & 0x0100) | (flags & 0x0010) | (rcode.rawValue & 0x0F)
        w += [0, 0, UInt8(out >> 8), UInt8(out & 0xFF)]
        if let end = ctx.questionEnd {
            w += [0, 1, 0, 0, 0, 0, 0, 0]
            ctx.packet.withUnsafeReadableBytes { w.append(contentsOf: $0[12..<end]) }
        } else {
            w += [0, 0, 0, 0, 0, 0, 0, 0]
        }
        return CachedAnswer(wire: w, rcode: rcode, extendedError: extendedError)
    }

    /// A response with the given records (AA set: we are the source). Finalize puts the
    /// client's ID, flags and spelling of the question on it.
    public static func records(
        for ctx: QueryContext, rcode: Rcode = .noError, answers: [ResourceRecord], authorities: [ResourceRecord] = []
    ) -> CachedAnswer {
        guard let question = ctx.question else { return empty(for: ctx, rcode: rcode) }
        var header = Header()
        header.isResponse = true
        header.authoritative = true
        header.headerRcode = UInt8(rcode.rawValue & 0x0F)
        let message = Message(header: header, questions: [question], answers: answers, authorities: authorities)
        guard let wire = try? message.encode() else { return empty(for: ctx, rcode: .servFail) }
        return CachedAnswer(wire: wire, rcode: rcode)
    }
}
