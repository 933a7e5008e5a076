/// One domain per line: `example.com` blocks the name and everything below it, `*.example.com`
/// only what is below it. `#` and `!` start comment lines, `#` also a trailing comment.
enum DomainListFormat {
    static func parse<S: RuleSink>(_ text: ListText, buffer: UnsafeMutablePointer<UInt8>, into sink: inout S) {
        var lines = LineReader(text)
        while let line = lines.next() {
            if line.isTooLong {
                sink.issue(line: line.number, "line too long")
                continue
            }
            var fields = FieldReader(text, from: line.start, to: text.find(ByteClass.hash, from: line.start, to: line.end))
            guard let field = fields.next(), text[field.lowerBound] != UInt8(ascii: "!") else { continue }
            if fields.next() != nil {
                sink.issue(line: line.number, "more than one field: \(text.show(line.start, line.end))")
                continue
            }
            var start = field.lowerBound
            var match = NameMatch.subtree
            if field.count > 2 && text[start] == ByteClass.star && text[start + 1] == ByteClass.dot {
                match = .below
                start += 2
            }
            switch NameText.encode(text.base + start, field.upperBound - start, into: buffer) {
            case .name(let length):
                sink.name(UnsafeRawBufferPointer(start: buffer, count: length), match: match, action: .block, line: line.number)
            case .problem(let p):
                sink.issue(line: line.number, p.message(text.show(field.lowerBound, field.upperBound)))
            }
        }
    }
}
