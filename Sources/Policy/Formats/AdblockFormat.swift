/// The domain rules of Adblock-style lists (AdGuard DNS and uBlock syntax):
///
/// - `||example.com^` blocks the name and its subtree, `@@||example.com^` allows them;
///   `||*.example.com^` covers only the names below; a line that is just a host name with at
///   least two labels (`example.com`, `@@example.com`) counts as `||example.com^`.
/// - Options are accepted only when they keep the rule about the whole domain (`$important`,
///   `$all`, `$document`, `$doc`).
/// - Anything a DNS resolver cannot enforce (cosmetic `##` rules, paths, regexes, substrings,
///   other options) is skipped with the issue "not a domain rule".
/// - `!` lines, `[Adblock Plus 2.0]`-style headers and `#` lines that are not cosmetic rules are
///   comments.
enum AdblockFormat {
    static func parse<S: RuleSink>(_ text: ListText, buffer: UnsafeMutablePointer<UInt8>, into sink: inout S) {
        var lines = LineReader(text)
        while let line = lines.next() {
            if line.isTooLong {
                sink.issue(line: line.number, "line too long")
                continue
            }
            var s = line.start
            var e = line.end
            while s < e && ByteClass.isBlank(text[s]) { s += 1 }
            while e > s && ByteClass.isBlank(text[e - 1]) { e -= 1 }
            guard s < e, !isComment(text, s, e) else { continue }
            switch rule(text, s, e, buffer: buffer) {
            case .rule(let length, let match, let action):
                sink.name(UnsafeRawBufferPointer(start: buffer, count: length), match: match, action: action, line: line.number)
            case .notDomainRule:
                sink.issue(line: line.number, "not a domain rule: \(text.show(s, e))")
            case .option(let from, let to):
                sink.issue(line: line.number, "not a domain rule (option \(text.show(from, to))): \(text.show(s, e))")
            case .badName(let problem, let from, let to):
                sink.issue(line: line.number, problem.message(text.show(from, to)))
            }
        }
    }

    enum Outcome {
        case rule(length: Int, match: NameMatch, action: RuleAction)
        case notDomainRule
        case option(Int, Int)
        case badName(NameProblem, Int, Int)
    }

    static func isComment(_ text: ListText, _ s: Int, _ e: Int) -> Bool {
        let c = text[s]
        if c == UInt8(ascii: "!") { return true }
        // A header such as `[Adblock Plus 2.0]`; `[$path=/x]example.com##.ad` is a rule.
        if c == UInt8(ascii: "[") { return text[e - 1] == UInt8(ascii: "]") }
        guard c == ByteClass.hash else { return false }
        // `##`, `#@#`, `#?#`, `#$#`, `#%#` open cosmetic and scriptlet rules that apply everywhere.
        guard s + 1 < e else { return true }
        switch text[s + 1] {
        case ByteClass.hash, UInt8(ascii: "@"), UInt8(ascii: "?"), UInt8(ascii: "$"), UInt8(ascii: "%"): return false
        default: return true
        }
    }

    /// The rule of the trimmed line `s..<e`; the name is written to `buffer`.
    static func rule(_ text: ListText, _ s: Int, _ e: Int, buffer: UnsafeMutablePointer<UInt8>) -> Outcome {
        var i = s
        var action = RuleAction.block
        if e - i >= 2 && text[i] == UInt8(ascii: "@") && text[i + 1] == UInt8(ascii: "@") {
            action = .allow
            i += 2
        }
        let anchored = e - i >= 2 && text[i] == UInt8(ascii: "|") && text[i + 1] == UInt8(ascii: "|")
        if anchored { i += 2 }
        var match = NameMatch.subtree
        if anchored && e - i >= 2 && text[i] == ByteClass.star && text[i + 1] == ByteClass.dot {
            match = .below
            i += 2
        }
        // The name runs to `^`, `$` or the end of the line.
        var nameEnd = i
        while nameEnd < e, text[nameEnd] != UInt8(ascii: "^"), text[nameEnd] != UInt8(ascii: "$") { nameEnd += 1 }
        var rest = nameEnd
        if anchored {
            if rest < e && text[rest] == UInt8(ascii: "^") {
                rest += 1
                if rest < e && text[rest] == UInt8(ascii: "|") { rest += 1 }
            }
            if rest < e {
                guard text[rest] == UInt8(ascii: "$") else { return .notDomainRule }
                if let bad = unsafeOption(text, rest + 1, e) { return .option(bad.lowerBound, bad.upperBound) }
            }
        } else if rest < e {
            // `example.com^` and `example.com$…` match inside longer names too (`badexample.com`).
            return .notDomainRule
        }
        switch NameText.encode(text.base + i, nameEnd - i, into: buffer) {
        case .name(let length):
            // A bare word is a substring rule, not a top-level domain.
            if !anchored && Int(buffer[0]) + 2 == length { return .notDomainRule }
            return .rule(length: length, match: match, action: action)
        case .problem(.badCharacter), .problem(.misplacedWildcard), .problem(.empty), .problem(.emptyLabel), .problem(.root):
            return .notDomainRule
        case .problem(let p):
            return .badName(p, i, nameEnd)
        }
    }

    static let safeOptions: [StaticString] = ["important", "all", "document", "doc"]

    /// The first option in the comma-separated list `from..<to` that makes a rule narrower than
    /// its domain, or nil when all of them are safe.
    static func unsafeOption(_ text: ListText, _ from: Int, _ to: Int) -> Range<Int>? {
        var s = from
        while true {
            let comma = text.find(UInt8(ascii: ","), from: s, to: to)
            if !safeOptions.contains(where: { text.equalsLowercased(s, comma, $0) }) { return s..<comma }
            guard comma < to else { return nil }
            s = comma + 1
        }
    }
}
