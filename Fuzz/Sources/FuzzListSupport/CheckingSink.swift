import DNSWire
import FuzzPolicy
import FuzzSupport

/// A `RuleSink` that checks what the list parsers promise about every rule, then hands it on
/// to a real `SnapshotBuilder` (so the name index and prefix table see the rules too).
///
/// - Names are valid wire form, lowercased, with labels of 1 to 63 letters, digits, `-` or `_`
///   (the last label may be `*` only as a whole wildcard, which parsers turn into `.below`).
/// - Address prefixes have a length within their family and print as text that parses back.
/// - Lines are within `0...maxLine`.
public struct CheckingSink: RuleSink {
    public var builder = SnapshotBuilder()
    public let maxLine: Int
    public var rules = 0

    public init(format: ListFormat, maxLine: Int) {
        self.maxLine = maxLine
        builder.begin(ListInfo(name: "fuzz", categories: CategorySet(rawValue: 1), format: format.rawValue))
    }

    public mutating func name(_ wire: UnsafeRawBufferPointer, match: NameMatch, action: RuleAction, line: Int) {
        let bytes = Array(wire)
        guard let name = try? Name(wire: bytes) else { violated("delivered name is not valid wire form: \(hex(bytes))") }
        require(name.lowercasedWire == bytes, "delivered name \(name) is not lowercased")
        for label in name.labels {
            require(
                label.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F },
                "delivered name \(name) has a label with other than letters, digits, - or _")
        }
        require(line >= 0 && line <= maxLine, "name \(name) on line \(line), outside 0...\(maxLine)")
        rules += 1
        builder.name(wire, match: match, action: action, line: line)
    }

    public mutating func address(_ prefix: CIDR, action: RuleAction, line: Int) {
        let bits = prefix.address.bytes.count * 8
        require(prefix.prefixLength >= 0 && prefix.prefixLength <= bits, "prefix \(prefix) longer than \(bits) bits")
        require(CIDR(prefix.description) == prefix, "prefix \(prefix) does not print as text that parses back")
        require(prefix.contains(prefix.address), "prefix \(prefix) does not contain its own address")
        require(line >= 0 && line <= maxLine, "prefix \(prefix) on line \(line), outside 0...\(maxLine)")
        rules += 1
        builder.address(prefix, action: action, line: line)
    }

    public mutating func issue(line: Int, _ message: String) {
        require(line >= 0 && line <= maxLine, "issue on line \(line), outside 0...\(maxLine): \(message)")
        require(!message.isEmpty, "an issue without a message on line \(line)")
        builder.issue(line: line, message)
    }
}

/// Parses `data` as `format` into a `CheckingSink`; `maxLine` defaults to the number of lines.
@discardableResult
public func parseChecked(_ data: UnsafeRawBufferPointer, _ format: ListFormat, maxLine: Int? = nil) -> CheckingSink {
    let lines = maxLine ?? (data.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) })
    var sink = CheckingSink(format: format, maxLine: lines)
    ListParser.parse(data, format: format, into: &sink)
    let built = sink.builder.snapshot
    require(built.lists[0].rules <= sink.rules, "the builder counted \(built.lists[0].rules) rules of \(sink.rules) delivered")
    return sink
}
