import DNSWire

/// `/etc/hosts` lines, `ADDRESS name [name...]`: every name blocks itself and its subtree, and the
/// address (whatever it is) is ignored. The entries every hosts file has for the machine itself
/// (`localhost`, `ip6-allnodes`, …) are skipped without an issue.
enum HostsFormat {
    static func parse<S: RuleSink>(_ text: ListText, buffer: UnsafeMutablePointer<UInt8>, into sink: inout S) {
        var lines = LineReader(text)
        while let line = lines.next() {
            if line.isTooLong {
                sink.issue(line: line.number, "line too long")
                continue
            }
            var fields = FieldReader(text, from: line.start, to: text.find(ByteClass.hash, from: line.start, to: line.end))
            guard let address = fields.next() else { continue }
            guard isAddress(text, address) else {
                sink.issue(line: line.number, "expected an IP address first, found \(text.show(address.lowerBound, address.upperBound))")
                continue
            }
            var names = 0
            var problem: String? = nil
            while let field = fields.next() {
                names += 1
                if isSelfEntry(text, field) { continue }
                switch NameText.encode(text.base + field.lowerBound, field.count, into: buffer) {
                case .name(let length):
                    sink.name(UnsafeRawBufferPointer(start: buffer, count: length), match: .subtree, action: .block, line: line.number)
                case .problem(let p):
                    if problem == nil { problem = p.message(text.show(field.lowerBound, field.upperBound)) }
                }
            }
            if let problem {
                sink.issue(line: line.number, problem)
            } else if names == 0 {
                sink.issue(line: line.number, "no name after the address")
            }
        }
    }

    @inline(__always)
    static func isAddress(_ text: ListText, _ field: Range<Int>) -> Bool {
        text.equalsLowercased(field.lowerBound, field.upperBound, "0.0.0.0")
            || text.equalsLowercased(field.lowerBound, field.upperBound, "127.0.0.1")
            || IPAddress(text.string(field.lowerBound, field.upperBound)) != nil
    }

    static let selfEntries: [StaticString] = [
        "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost", "ip6-loopback", "ip6-localnet",
        "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts", "0.0.0.0",
    ]

    /// One of `selfEntries`, in any case, with or without a trailing dot.
    static func isSelfEntry(_ text: ListText, _ field: Range<Int>) -> Bool {
        guard field.count <= 22 else { return false }
        let end = text[field.upperBound - 1] == ByteClass.dot ? field.upperBound - 1 : field.upperBound
        return selfEntries.contains { text.equalsLowercased(field.lowerBound, end, $0) }
    }
}
