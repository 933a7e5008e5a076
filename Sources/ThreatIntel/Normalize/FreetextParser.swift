import Foundation

/// Reads freetext feeds the way MISP's `ComplexTypeTool::checkFreeText` does
/// (MISP-RPZ.md §3), keeping only DNS-blockable values.
///
/// Each line is split on whitespace, `,`, `;`, `<`, `>` and NUL; lines whose first
/// non-blank character is `#` are comments. Each token is refanged and classified:
/// 1. a CIDR range (`198.51.100.0/24`) → `.cidr` (full-length prefixes → `.ip`);
/// 2. a URL (has `://`, or a `/`) → its host: `.ip` when an address, else a name;
/// 3. `IP:port` or `[IPv6]:port` → `.ip`;
/// 4. an address → `.ip`;
/// 5. a name → `.domain` or `.hostname`.
///
/// Domain or hostname: MISP counts labels (two → `domain`, more → `hostname`), which is wrong
/// under multi-label suffixes (`example.co.uk` is a domain with three labels). With a public
/// suffix list the rule is exact: a name equal to its registrable domain is a `.domain`, a
/// name below it a `.hostname`; names under unlisted top-level domains (`igfxtray.exe`) and
/// names that are public suffixes are rejected. Without a list, MISP's label count is used.
public enum FreetextParser {
    /// Longest token considered (longer ones are rejected unread).
    static let maxTokenLength = 8192

    /// Classifies every token of `text`; each result carries its 1-based line number.
    public static func parse(_ text: String, psl: PublicSuffixList? = nil) -> [(line: Int, result: Result<IntelValue, IntelRejection>)] {
        var out: [(line: Int, result: Result<IntelValue, IntelRejection>)] = []
        var utf8 = Array(text.utf8)
        utf8.append(0x0A)
        var lineNumber = 1
        var lineStart = 0
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == 0x0A || b == 0x0D {
                parseLine(utf8[lineStart..<i], line: lineNumber, psl: psl, into: &out)
                if b == 0x0D && i + 1 < utf8.count && utf8[i + 1] == 0x0A { i += 1 }
                lineNumber += 1
                lineStart = i + 1
            }
            i += 1
        }
        return out
    }

    /// Decodes `data` as UTF-8 (invalid bytes become U+FFFD) and parses it.
    public static func parse(data: Data, psl: PublicSuffixList? = nil) -> [(line: Int, result: Result<IntelValue, IntelRejection>)] {
        parse(String(decoding: data, as: UTF8.self), psl: psl)
    }

    private static func isSeparator(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x0B, 0x0C, 0x00, UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "<"), UInt8(ascii: ">"): true
        default: false
        }
    }

    private static func parseLine(
        _ line: ArraySlice<UInt8>, line number: Int, psl: PublicSuffixList?,
        into out: inout [(line: Int, result: Result<IntelValue, IntelRejection>)]
    ) {
        guard let first = line.firstIndex(where: { !isSeparator($0) }) else { return }
        if line[first] == UInt8(ascii: "#") { return }
        var start: Int? = nil
        for k in first..<line.endIndex {
            if isSeparator(line[k]) {
                if let s = start {
                    out.append((number, classify(line[s..<k])))
                    start = nil
                }
            } else if start == nil {
                start = k
            }
        }
        if let s = start { out.append((number, classify(line[s..<line.endIndex]))) }

        func classify(_ token: ArraySlice<UInt8>) -> Result<IntelValue, IntelRejection> {
            guard token.count <= maxTokenLength else {
                return .failure(IntelRejection("token of \(token.count) bytes is too long"))
            }
            return FreetextParser.classify(String(decoding: token, as: UTF8.self), psl: psl)
        }
    }

    /// Classifies one token (see the type's documentation).
    public static func classify(_ token: String, psl: PublicSuffixList? = nil) -> Result<IntelValue, IntelRejection> {
        guard token.utf8.count <= maxTokenLength else { return .failure(IntelRejection("token of \(token.utf8.count) bytes is too long")) }
        var t = IntelNormalizer.refangedTrim(token)
        // Quotes and brackets around a token are not part of it.
        while let f = t.first, f == "\"" || f == "'" || f == "(" || f == "`" { t.removeFirst() }
        while let l = t.last, l == "\"" || l == "'" || l == ")" || l == "`" { t.removeLast() }
        guard !t.isEmpty else { return .failure(IntelRejection("empty token")) }
        if t.utf8.contains(UInt8(ascii: "/")) {
            if IntelCIDR.parse(t) != nil { return IntelNormalizer.addressValue(t) }
            return IntelNormalizer.urlHost(t).flatMap { v in
                v.kind == .ip ? .success(v) : nameValue(v.value, psl: psl)
            }
        }
        if let ip = IntelIP.parse(t) { return .success(IntelValue(value: ip.text, kind: .ip)) }
        // [v6]:port or [v6]
        if t.hasPrefix("["), let close = t.firstIndex(of: "]") {
            let inner = t[t.index(after: t.startIndex)..<close]
            let after = t[t.index(after: close)...]
            if let ip = IntelIP.parse(inner), ip.isV6, after.isEmpty || isPort(after.dropFirst()) && after.hasPrefix(":") {
                return .success(IntelValue(value: ip.text, kind: .ip))
            }
            return .failure(IntelRejection("\(IntelNormalizer.quoted(token)): malformed bracketed address"))
        }
        // IPv4:port, name:port
        if let colon = t.lastIndex(of: ":"), t.firstIndex(of: ":") == colon {
            let head = t[..<colon]
            let port = t[t.index(after: colon)...]
            guard isPort(port) else { return .failure(IntelRejection("\(IntelNormalizer.quoted(token)): not an indicator (':' without a port)")) }
            if let ip = IntelIP.parse(head), !ip.isV6 { return .success(IntelValue(value: ip.text, kind: .ip)) }
            return IntelNormalizer.normalizeNameResult(String(head)).flatMap { nameValue($0, psl: psl) }
        }
        if t.utf8.contains(UInt8(ascii: "@")) {
            return .failure(IntelRejection("\(IntelNormalizer.quoted(token)): an e-mail address is not a DNS indicator"))
        }
        return IntelNormalizer.normalizeNameResult(t).flatMap { nameValue($0, psl: psl) }
    }

    /// `.domain` or `.hostname` for an already normalised name.
    static func nameValue(_ name: String, psl: PublicSuffixList?) -> Result<IntelValue, IntelRejection> {
        if let psl {
            if let r = IntelNormalizer.pslRejection(name, psl: psl) { return .failure(r) }
            let kind: IntelValueKind = psl.registrableDomain(of: name) == name ? .domain : .hostname
            return .success(IntelValue(value: name, kind: kind))
        }
        let dots = name.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
        return .success(IntelValue(value: name, kind: dots == 1 ? .domain : .hostname))
    }

    private static func isPort<S: StringProtocol>(_ s: S) -> Bool {
        !s.isEmpty && s.count <= 5 && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (Int(s) ?? 70000) <= 65535
    }
}
