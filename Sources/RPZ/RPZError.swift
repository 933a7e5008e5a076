/// The one error type of the RPZ module: listeners, transfers from a primary, configuration.
public struct RPZError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// A listener could not bind.
        case bind
        /// A transfer from a primary failed: network, timeout, refusal.
        case transfer
        /// A primary answered something that is not a valid transfer of the zone.
        case badResponse = "bad response"
        /// A TSIG check failed on a primary's answer.
        case tsig
        /// Configuration problem.
        case config
    }
    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "rpz \(code.rawValue): \(reason)" }
}
