/// The one error type of DNSTransport (listeners and upstream exchanges).
public struct TransportError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: UInt8
        public static let timeout = Code(raw: 1)
        public static let connectionClosed = Code(raw: 2)
        public static let badResponse = Code(raw: 3)
        public static let bind = Code(raw: 4)
        public static let tooManyInFlight = Code(raw: 5)
        public static let network = Code(raw: 6)
        /// A certificate or key that cannot be used.
        public static let tls = Code(raw: 7)
        public var description: String {
            switch self {
            case .timeout: "timeout"
            case .connectionClosed: "connection closed"
            case .badResponse: "bad response"
            case .bind: "cannot bind"
            case .tooManyInFlight: "too many in-flight queries"
            case .network: "network error"
            case .tls: "TLS"
            default: "error \(raw)"
            }
        }
    }

    public var code: Code
    public var reason: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ reason: String = "", file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public static func == (a: TransportError, b: TransportError) -> Bool { a.code == b.code }
    public func hash(into h: inout Hasher) { h.combine(code) }
    public var description: String { reason.isEmpty ? "\(code)" : "\(code): \(reason)" }
}
