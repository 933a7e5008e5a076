/// The one error type of the App module: configuration and startup problems, with the place
/// in the configuration they concern.
public struct AppError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        let raw: UInt8
        public static let config = Code(raw: 1)
        public static let startup = Code(raw: 2)
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
