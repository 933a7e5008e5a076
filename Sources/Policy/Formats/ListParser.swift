import DNSWire

/// Reads list files into a `RuleSink`.
public enum ListParser {
    /// Parses `bytes` (the whole file) as `format`, delivering every rule to `sink` and every
    /// skipped line as an issue. Never traps on any input.
    public static func parse<S: RuleSink>(_ bytes: UnsafeRawBufferPointer, format: ListFormat, into sink: inout S) {
        // Implemented per format in this folder.
        sink.issue(line: 0, "format \(format) not implemented yet")
    }
}
