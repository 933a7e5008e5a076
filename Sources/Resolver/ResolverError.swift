/// The one error type of the Resolver module.
public struct ResolverError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: UInt8
        /// Every upstream timed out, refused or failed.
        public static let upstreamsFailed = Code(raw: 1)
        /// An upstream answered, but with something that is not an answer to our question.
        public static let badUpstreamAnswer = Code(raw: 2)
        /// Too many upstream queries are already in flight on this event loop.
        public static let overloaded = Code(raw: 3)
        public static let noUpstreams = Code(raw: 4)
        public var description: String {
            switch self {
            case .upstreamsFailed: "all upstreams failed"
            case .badUpstreamAnswer: "bad upstream answer"
            case .overloaded: "overloaded"
            case .noUpstreams: "no upstreams configured"
            default: "error \(raw)"
            }
        }
    }

    public var code: Code
    public var reason: String
    /// True when at least one upstream was reached but answered with an error rcode, false when
    /// none was reachable (decides between EDE 22 and 23).
    public var upstreamAnswered: Bool
    public var file: String
    public var line: Int

    public init(_ code: Code, _ reason: String = "", upstreamAnswered: Bool = false, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.upstreamAnswered = upstreamAnswered
        self.file = file
        self.line = line
    }

    public static func == (a: ResolverError, b: ResolverError) -> Bool { a.code == b.code }
    public func hash(into h: inout Hasher) { h.combine(code) }
    public var description: String { reason.isEmpty ? "\(code)" : "\(code): \(reason)" }
}
