import DNSWire

/// Reads list files into a `RuleSink`.
public enum ListParser {
    /// Parses `bytes` (the whole file) as `format`, delivering every rule to `sink` and every
    /// skipped line as an issue. Never traps on any input.
    ///
    /// Names are checked (labels of 1 to 63 letters, digits, `-` or `_`; at most 255 bytes in
    /// wire form; ASCII only, so IDNs are written as `xn--` punycode) and delivered lowercased.
    /// A UTF-8 byte order mark is skipped, CR before LF is ignored, and a line longer than 64 KiB
    /// is skipped with one issue.
    public static func parse<S: RuleSink>(_ bytes: UnsafeRawBufferPointer, format: ListFormat, into sink: inout S) {
        bytes.withMemoryRebound(to: UInt8.self) { all in
            var body = all
            if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = UnsafeBufferPointer(rebasing: body[3...]) }
            guard let base = body.baseAddress, !body.isEmpty else {
                if format == .warninglist { sink.issue(line: 0, "invalid JSON: the file is empty") }
                return
            }
            let text = ListText(base: base, count: body.count)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: RPZFormat.scratchSize) { scratch in
                let buffer = scratch.baseAddress!
                switch format {
                case .domains: DomainListFormat.parse(text, buffer: buffer, into: &sink)
                case .hosts: HostsFormat.parse(text, buffer: buffer, into: &sink)
                case .adblock: AdblockFormat.parse(text, buffer: buffer, into: &sink)
                case .warninglist: WarninglistFormat.parse(text, buffer: buffer, into: &sink)
                case .rpz:
                    var reader = RPZFormat(text, scratch: buffer)
                    reader.run(into: &sink)
                }
            }
        }
    }
}
