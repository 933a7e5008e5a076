/// The one error type of the ThreatIntel module: source, ingest and API problems, mapped to an
/// HTTP status at the control plane's edge.
public struct IntelError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: UInt8
        /// The request or payload is malformed (HTTP 400).
        public static let invalid = Code(raw: 1)
        /// Nothing with that id or name (HTTP 404).
        public static let notFound = Code(raw: 2)
        /// The caller may not do this (HTTP 403).
        public static let forbidden = Code(raw: 3)
        /// A remote source failed or answered junk (kept as the source's last error).
        public static let source = Code(raw: 4)
        /// The store failed (HTTP 500).
        public static let storage = Code(raw: 5)
        /// Configuration problem.
        public static let config = Code(raw: 6)
        public var description: String {
            switch raw {
            case 1: "invalid"
            case 2: "not found"
            case 3: "forbidden"
            case 4: "source"
            case 5: "storage"
            default: "config"
            }
        }
    }
    public var code: Code
    public var reason: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { reason }
}
