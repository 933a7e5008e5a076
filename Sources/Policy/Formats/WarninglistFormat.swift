import DNSWire
import Foundation

/// MISP warninglists (`{name, description, version, type, list, matching_attributes}`): every
/// entry is an allow rule, and an entry's line is its 1-based index in `list` (for a
/// `{value: comment}` list, in the values sorted).
///
/// - `hostname` and `string`: a name allows exactly itself. A warninglist entry `github.io` must
///   not shield `evil.github.io`, so only a leading dot (`.google.com`) allows a whole subtree,
///   and `*.name` the names below. URLs give their host, `a|b` each part, an IP address or
///   prefix an address rule.
/// - `cidr`: address prefixes (a bare address is a /32 or /128; host bits are cleared, as MISP's
///   own matching ignores them).
/// - `substring` and `regex` lists have nothing a resolver can match: one issue, no rules.
enum WarninglistFormat {
    static func parse<S: RuleSink>(_ text: ListText, buffer: UnsafeMutablePointer<UInt8>, into sink: inout S) {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes: text.base, count: text.count))
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            return sink.issue(line: 0, "invalid JSON: \(reason)")
        }
        guard let object = json as? [String: Any] else {
            return sink.issue(line: 0, "not a warninglist: the JSON is not an object")
        }
        guard let type = object["type"] as? String else { return sink.issue(line: 0, "not a warninglist: no type") }
        let values: [Any]
        switch object["list"] {
        case let array as [Any]: values = array
        case let map as [String: Any]: values = map.keys.sorted()
        default: return sink.issue(line: 0, "not a warninglist: no list")
        }
        let addressesOnly: Bool
        switch type {
        case "hostname", "string": addressesOnly = false
        case "cidr": addressesOnly = true
        case "substring", "regex": return sink.issue(line: 0, "warninglist type \(type) cannot be used by DNS")
        default: return sink.issue(line: 0, "unknown warninglist type \(ByteClass.show(Array(type.utf8)))")
        }
        for (i, value) in values.enumerated() {
            guard let string = value as? String else {
                sink.issue(line: i + 1, "entry is not a string")
                continue
            }
            // `a|b` entries: each part on its own; the entry's first problem is its one issue.
            var problem: String? = nil
            for part in string.split(separator: "|", omittingEmptySubsequences: false) {
                let p = trimmed(part)
                let bad =
                    addressesOnly
                    ? cidrPart(p, line: i + 1, into: &sink) : hostPart(p, line: i + 1, buffer: buffer, into: &sink)
                if problem == nil { problem = bad }
            }
            if let problem { sink.issue(line: i + 1, problem) }
        }
    }

    static func trimmed(_ s: Substring) -> Substring {
        guard let first = s.firstIndex(where: { !$0.isWhitespace }), let last = s.lastIndex(where: { !$0.isWhitespace }) else {
            return ""
        }
        return s[first...last]
    }

    static func show(_ s: Substring) -> String { ByteClass.show(Array(s.utf8)) }

    static func hostPart<S: RuleSink>(
        _ raw: Substring, line: Int, buffer: UnsafeMutablePointer<UInt8>, into sink: inout S
    ) -> String? {
        guard !raw.isEmpty else { return "empty value" }
        var value = raw
        if value.utf8.contains(UInt8(ascii: ":")), let scheme = value.firstRange(of: "://") {
            value = host(ofURL: value[scheme.upperBound...])
        }
        if mayBeAddress(value) && CIDR(value) != nil { return cidrPart(value, line: line, into: &sink) }
        var match = NameMatch.exact
        if value.hasPrefix("*.") {
            match = .below
            value = value.dropFirst(2)
        } else if value.hasPrefix(".") {
            match = .subtree
            value = value.dropFirst()
        }
        var name = String(value)
        let result = name.withUTF8 { NameText.encode($0.baseAddress ?? UnsafePointer(buffer), $0.count, into: buffer) }
        switch result {
        case .name(let length):
            sink.name(UnsafeRawBufferPointer(start: buffer, count: length), match: match, action: .allow, line: line)
            return nil
        case .problem(let p):
            return p.message(show(raw))
        }
    }

    /// False for a value that cannot be an IP address or prefix (saves parsing every name as one).
    static func mayBeAddress(_ value: Substring) -> Bool {
        value.utf8.allSatisfy { ByteClass.isDigit($0) || $0 == ByteClass.dot || $0 == UInt8(ascii: "/") }
            || value.utf8.contains(UInt8(ascii: ":"))
    }

    /// The host of a URL without its scheme: no user, port, path, query or fragment.
    static func host(ofURL rest: Substring) -> Substring {
        var h = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex)]
        if let at = h.lastIndex(of: "@") { h = h[h.index(after: at)...] }
        if h.hasPrefix("["), let close = h.firstIndex(of: "]") { return h[h.index(after: h.startIndex)..<close] }
        if let colon = h.firstIndex(of: ":") { h = h[..<colon] }
        return h
    }

    static func cidrPart<S: RuleSink>(_ value: Substring, line: Int, into sink: inout S) -> String? {
        guard !value.isEmpty else { return "empty value" }
        guard let cidr = CIDR(value) else { return "not an IP address or prefix: \(show(value))" }
        guard cidr.prefixLength > 0 else { return "a /0 prefix would allow every address: \(show(value))" }
        sink.address(cidr.masked, action: .allow, line: line)
        return nil
    }
}
