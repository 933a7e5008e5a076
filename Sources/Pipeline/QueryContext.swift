import DNSTransport
import DNSWire
import NIOCore
import Resolver

/// Everything the chain knows about one query. Created by the processor from the packet;
/// stages read it and fill in what they decide.
public struct QueryContext: Sendable {
    /// The query as received.
    public let raw: [UInt8]
    /// The parsed query, or nil when it could not be parsed (see `parseError`).
    public var query: Message?
    public var parseError: DNSWireError?
    public let client: SocketAddress
    public let transport: TransportKind
    /// Index of the listener the query arrived on.
    public let listener: Int
    /// Tenant/profile chosen by IdentifyTenant (0 = the listener's default profile).
    public var tenant: Int = 0
    /// Set by the Cache stage for well-formed QUERY/IN questions.
    public var cacheKey: CacheKey?
    /// The answer so far (from the cache or upstream), before Finalize.
    public var response: CachedAnswer?
    /// The rcode of the final response, set by Finalize (for metrics and logs).
    public var finalRcode: Rcode = .noError
    public var cacheHit = false

    public init(raw: [UInt8], client: SocketAddress, transport: TransportKind, listener: Int) {
        self.raw = raw
        self.client = client
        self.transport = transport
        self.listener = listener
        do {
            query = try Message(parsing: raw)
        } catch {
            query = nil
            parseError = error
        }
    }

    public var question: Question? { query?.questions.first }
}

/// What a stage decided.
public enum StageOutcome {
    /// Go on with the next stage.
    case next
    /// This is the final answer: skip to Finalize.
    case answer(CachedAnswer)
    /// Send nothing.
    case drop
    /// Wait for this answer (stored in `response`), then go on with the next stage.
    case wait(EventLoopFuture<CachedAnswer>)
}

/// One position in the query chain. Stages run on the query's event loop and must not block.
public protocol QueryStage: AnyObject {
    var name: String { get }
    func process(_ ctx: inout QueryContext) -> StageOutcome
}

/// Builds responses that the chain synthesises (errors, local data, blocks).
public enum Responses {
    /// A response without records: header flags from the query, the question echoed when known.
    public static func empty(for ctx: QueryContext, rcode: Rcode, extendedError: ExtendedError? = nil) -> CachedAnswer {
        var header = Header(id: 0)
        header.isResponse = true
        var questions: [Question] = []
        if let q = ctx.query {
            header.opcode = q.header.opcode
            header.recursionDesired = q.header.recursionDesired
            header.checkingDisabled = q.header.checkingDisabled
            if q.questions.count == 1 { questions = q.questions }
        } else if ctx.raw.count >= 4 {
            header.opcode = Opcode((ctx.raw[2] >> 3) & 0x0F)
            header.recursionDesired = ctx.raw[2] & 0x01 != 0
        }
        header.headerRcode = UInt8(rcode.rawValue & 0x0F)
        let message = Message(header: header, questions: questions)
        let wire = (try? message.encode()) ?? [0, 0, 0x80, UInt8(rcode.rawValue & 0x0F), 0, 0, 0, 0, 0, 0, 0, 0]
        return CachedAnswer(wire: wire, rcode: rcode, extendedError: extendedError)
    }

    /// A response with the given answer records.
    public static func records(for ctx: QueryContext, rcode: Rcode = .noError, answers: [ResourceRecord], authorities: [ResourceRecord] = []) -> CachedAnswer {
        var r = empty(for: ctx, rcode: rcode)
        guard var m = try? Message(parsing: r.wire) else { return r }
        m.header.authoritative = true
        m.answers = answers
        m.authorities = authorities
        if let wire = try? m.encode() { r.wire = wire }
        return r
    }
}
