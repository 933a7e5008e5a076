/// The one error type of DNSWire: a code, the byte offset where parsing failed (or -1 when the
/// error is not about a position in a packet), a human reason, and where it was thrown.
///
/// Equality compares the code and the offset only, so tests can match on what went wrong and where.
public struct DNSWireError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: UInt8
        public static let truncated = Code(raw: 1)
        public static let badPointer = Code(raw: 2)
        public static let tooManyPointers = Code(raw: 3)
        public static let labelTooLong = Code(raw: 4)
        public static let nameTooLong = Code(raw: 5)
        public static let badLabelType = Code(raw: 6)
        public static let trailingData = Code(raw: 7)
        public static let badRData = Code(raw: 8)
        public static let badEDNS = Code(raw: 9)
        public static let badPresentation = Code(raw: 10)
        public static let messageTooLarge = Code(raw: 11)
        public static let badCount = Code(raw: 12)

        public var description: String {
            switch self {
            case .truncated: "truncated"
            case .badPointer: "bad compression pointer"
            case .tooManyPointers: "too many compression pointers"
            case .labelTooLong: "label too long"
            case .nameTooLong: "name too long"
            case .badLabelType: "bad label type"
            case .trailingData: "trailing data"
            case .badRData: "bad rdata"
            case .badEDNS: "bad EDNS"
            case .badPresentation: "bad presentation format"
            case .messageTooLarge: "message too large"
            case .badCount: "bad section count"
            default: "error \(raw)"
            }
        }
    }

    public var code: Code
    public var offset: Int
    public var reason: String
    public var file: String
    public var line: Int

    public init(_ code: Code, at offset: Int, _ reason: String = "", file: String = #fileID, line: Int = #line) {
        self.code = code
        self.offset = offset
        self.reason = reason
        self.file = file
        self.line = line
    }

    public static func == (lhs: DNSWireError, rhs: DNSWireError) -> Bool {
        lhs.code == rhs.code && lhs.offset == rhs.offset
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(offset)
    }

    public var description: String {
        let at = offset >= 0 ? " at offset \(offset)" : ""
        let why = reason.isEmpty ? "" : ": \(reason)"
        return "DNSWireError(\(code)\(at)\(why))"
    }
}
