import Foundation

/// Turns raw indicator text (MISP attribute values, feed tokens, configured names) into
/// normalised `IntelValue`s, or says why not.
///
/// Names: trimmed, refanged, the trailing dot dropped, lowercased, NFKC-normalised and
/// IDNA-encoded (non-ASCII labels become `xn--` + Punycode). This approximates UTS #46
/// mapping (lowercase + NFKC + the ideographic full stops as dots); it does not apply the
/// IDNA2008 bidi and context rules. Labels may hold letters, digits, `-` and `_` (underscore
/// is common in real DNS, e.g. `_dmarc`); `*` wildcards are rejected; a label is at most 63
/// bytes and a name at most 253; a name needs at least two labels and a top-level label that
/// is not all digits (so `107.183.86` is not a name).
///
/// Addresses: canonical text (dotted quad; RFC 5952 for IPv6). IPv4-mapped IPv6
/// (`::ffff:192.0.2.1`) stays IPv6: it is a distinct AAAA value, and an `rpz-ip` IPv4 trigger
/// would not match it.
public enum IntelNormalizer {
    /// Longest raw input considered; longer text is rejected before any work.
    static let maxInputLength = 8192

    // MARK: Names

    /// The normalised name, or nil (see `normalizeNameResult` for the reason).
    public static func normalizeName(_ s: String) -> String? {
        normalizeNameResult(s).successValue
    }

    /// The normalised name, or why `s` is not a valid DNS name.
    public static func normalizeNameResult(_ s: String) -> Result<String, IntelRejection> {
        guard s.utf8.count <= maxInputLength else { return .failure(IntelRejection("name too long (\(s.utf8.count) bytes)")) }
        if let name = plainASCIIName(s) { return .success(name) }
        var t = Refang.refang(trimmed(s))
        guard !t.isEmpty else { return .failure(IntelRejection("empty name")) }
        let isASCII = t.utf8.allSatisfy { $0 < 0x80 }
        if !isASCII {
            // IDNA2008 admits letters, digits and combining marks (plus the ASCII hyphen); symbols,
            // punctuation, emoji, U+FFFD and controls are not valid in a name.
            if let bad = t.unicodeScalars.first(where: { !$0.isASCII && !isIDNAScalar($0) && !isFullStop($0) }) {
                return .failure(IntelRejection("\(quoted(s)): invalid character U+\(hex(bad.value))"))
            }
            // UTS #46 maps these full stops to ".".
            if t.unicodeScalars.contains(where: isFullStop) {
                t = String(String.UnicodeScalarView(t.unicodeScalars.map { isFullStop($0) ? "." : $0 }))
            }
        }
        if t.hasSuffix(".") { t.removeLast() }
        guard !t.isEmpty else { return .failure(IntelRejection("empty name")) }
        var labels: [String] = []
        for raw in t.split(separator: ".", omittingEmptySubsequences: false) {
            guard !raw.isEmpty else { return .failure(IntelRejection("\(quoted(s)): empty label")) }
            if raw.utf8.allSatisfy({ $0 < 0x80 }) {
                labels.append(raw.lowercased())
                continue
            }
            let mapped = String(raw).lowercased().precomposedStringWithCompatibilityMapping.lowercased()
            if mapped.utf8.allSatisfy({ $0 < 0x80 }) {
                labels.append(mapped)
                continue
            }
            if let bad = mapped.unicodeScalars.first(where: { !isIDNAScalar($0) }) {
                return .failure(IntelRejection("\(quoted(s)): invalid character U+\(hex(bad.value))"))
            }
            guard let p = Punycode.encode(mapped) else { return .failure(IntelRejection("\(quoted(s)): cannot be IDNA-encoded")) }
            labels.append("xn--" + p)
        }
        for label in labels {
            guard label.utf8.count <= 63 else { return .failure(IntelRejection("\(quoted(s)): label longer than 63 bytes")) }
            for b in label.utf8 {
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    continue
                case UInt8(ascii: "*"):
                    return .failure(IntelRejection("\(quoted(s)): wildcards are not supported"))
                default:
                    let c = b >= 0x21 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "U+\(hex(UInt32(b)))"
                    return .failure(IntelRejection("\(quoted(s)): invalid character \(c)"))
                }
            }
        }
        let name = labels.joined(separator: ".")
        guard name.utf8.count <= 253 else { return .failure(IntelRejection("\(quoted(s)): name longer than 253 bytes")) }
        guard labels.count >= 2 else {
            return .failure(IntelRejection("\(quoted(s)): a single label (\(name)) is not a blockable name"))
        }
        if labels[labels.count - 1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return .failure(IntelRejection("\(quoted(s)): the top-level label is numeric (a truncated address?)"))
        }
        return .success(name)
    }

    /// The common case without allocation-heavy work: an already-plain ASCII name (letters,
    /// digits, `-`, `_`, dots; upper case allowed; one trailing dot allowed) that passes every
    /// check. Returns nil for anything else, which then takes the full path (and gets a reason).
    static func plainASCIIName(_ s: String) -> String? {
        var labels = 0
        var labelLength = 0
        var numeric = true  // the current label is all digits so far
        var finishedNumeric = true  // the last finished label was all digits
        var upper = false
        var count = 0
        for b in s.utf8 {
            count += 1
            switch b {
            case UInt8(ascii: "."):
                guard labelLength > 0 else { return nil }
                labels += 1
                labelLength = 0
                finishedNumeric = numeric
                numeric = true
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "-"), UInt8(ascii: "_"): numeric = false
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                numeric = false
                upper = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"): break
            default: return nil
            }
            labelLength += 1
            guard labelLength <= 63 else { return nil }
        }
        let endsWithDot = labelLength == 0
        if !endsWithDot {
            labels += 1
            finishedNumeric = numeric
        }
        let length = endsWithDot ? count - 1 : count
        guard labels >= 2, length <= 253, !finishedNumeric else { return nil }
        var name = upper ? s.lowercased() : s
        if endsWithDot { name.removeLast() }
        return name
    }

    /// The ideographic and full-width full stops that UTS #46 maps to ".".
    static func isFullStop(_ u: Unicode.Scalar) -> Bool {
        u.value == 0x3002 || u.value == 0xFF0E || u.value == 0xFF61
    }

    /// Upper-case hex, at least four digits.
    static func hex(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return h.count >= 4 ? h : String(repeating: "0", count: 4 - h.count) + h
    }

    /// Whether a non-ASCII-label scalar is acceptable (see `normalizeNameResult`).
    static func isIDNAScalar(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII {
            return (u >= "a" && u <= "z") || (u >= "0" && u <= "9") || u == "-" || u == "_"
        }
        if u.value == 0xFFFD { return false }
        let p = u.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark, .otherLetter, .modifierLetter: return true
        default: return false
        }
    }

    // MARK: Addresses

    /// The canonical text of an IPv4 or IPv6 address (see the type's documentation), or nil.
    /// Brackets around IPv6 are accepted; zone indexes (`%eth0`) and leading zeros in IPv4
    /// octets (ambiguous: octal to some parsers) are not.
    public static func parseIP(_ s: String) -> String? {
        var t = Substring(s.trimmingCharacters(in: .whitespacesAndNewlines))
        if t.hasPrefix("[") && t.hasSuffix("]") && t.count >= 2 { t = t.dropFirst().dropLast() }
        return IntelIP.parse(t)?.text
    }

    /// The canonical `network/length` of a CIDR range, or nil. Host bits are cleared
    /// (`10.1.2.3/8` → `10.0.0.0/8`); use `parseCIDRValue` to learn whether that happened.
    public static func parseCIDR(_ s: String) -> String? {
        IntelCIDR.parse(s.trimmingCharacters(in: .whitespacesAndNewlines))?.cidr.text
    }

    /// An address or range as an `IntelValue`: `.ip` for a plain address and for a full-length
    /// prefix (`/32`, `/128`), `.cidr` otherwise, with a note when host bits were cleared.
    public static func addressValue(_ s: String) -> Result<IntelValue, IntelRejection> {
        let t = refangedTrim(s)
        if t.utf8.contains(UInt8(ascii: "/")) {
            guard let (cidr, cleared) = IntelCIDR.parse(t) else {
                return .failure(IntelRejection("\(quoted(s)): not an address range"))
            }
            if cidr.length == cidr.network.bitWidth {
                return .success(IntelValue(value: cidr.network.text, kind: .ip))
            }
            return .success(
                IntelValue(value: cidr.text, kind: .cidr, note: cleared ? "host bits cleared: \(t)" : nil))
        }
        guard let ip = parseIP(t) else { return .failure(IntelRejection("\(quoted(s)): not an IP address")) }
        return .success(IntelValue(value: ip, kind: .ip))
    }

    // MARK: URLs

    /// The host of a URL, normalised: canonical address text when the host is an address,
    /// else the normalised name; nil when neither. Refangs first and assumes `http://` when
    /// there is no scheme; userinfo, port, path, query and fragment are dropped.
    public static func hostFromURL(_ s: String) -> String? {
        urlHost(s).successValue?.value
    }

    /// The host of a URL as `.ip` or `.hostname`, or why there is none.
    public static func urlHost(_ s: String) -> Result<IntelValue, IntelRejection> {
        guard s.utf8.count <= maxInputLength else { return .failure(IntelRejection("URL too long (\(s.utf8.count) bytes)")) }
        let t = refangedTrim(s)
        guard !t.isEmpty else { return .failure(IntelRejection("empty URL")) }
        var rest = Substring(t)
        if let r = rest.range(of: "://") {
            let scheme = rest[..<r.lowerBound]
            guard let first = scheme.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII,
                scheme.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)) })
            else { return .failure(IntelRejection("\(quoted(s)): malformed URL scheme")) }
            rest = rest[r.upperBound...]
        } else if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
        }
        // The authority ends at the first '/', '?', '#' or '\'.
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "\\" }) ?? rest.endIndex
        var authority = rest[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(IntelRejection("\(quoted(s)): unclosed '[' in URL host")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return .failure(IntelRejection("\(quoted(s)): junk after ']' in URL host")) }
            guard let ip = IntelIP.parse(host), ip.isV6 else { return .failure(IntelRejection("\(quoted(s)): bracketed host is not an IPv6 address")) }
            return .success(IntelValue(value: ip.text, kind: .ip))
        } else if authority.filter({ $0 == ":" }).count > 1, let ip = IntelIP.parse(authority) {
            // An unbracketed IPv6 address (invalid in a URL, common in feeds).
            return .success(IntelValue(value: ip.text, kind: .ip))
        } else {
            host = authority
            if let colon = host.firstIndex(of: ":") {
                let port = host[host.index(after: colon)...]
                guard port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .failure(IntelRejection("\(quoted(s)): invalid port")) }
                host = host[..<colon]
            }
        }
        guard !host.isEmpty else { return .failure(IntelRejection("\(quoted(s)): URL without a host")) }
        let decoded = host.contains("%") ? (String(host).removingPercentEncoding ?? String(host)) : String(host)
        if let ip = IntelIP.parse(decoded) { return .success(IntelValue(value: ip.text, kind: .ip)) }
        return normalizeNameResult(decoded).map { IntelValue(value: $0, kind: .hostname) }
    }

    // MARK: MISP attributes

    /// The DNS values of one MISP attribute (MISP-RPZ.md §1.6).
    ///
    /// - `domain` → `.domain`; `hostname` → `.hostname`;
    /// - `domain|ip` → the domain and the address (split on the first `|`); when one part is
    ///   invalid the other is still returned, and only when both fail is it rejected;
    /// - `ip-src`, `ip-dst` → `.ip`, or `.cidr` when the value has a prefix length;
    /// - `url`, and `uri` when it has a scheme → the URL's host (`.hostname` or `.ip`);
    /// - `ip-src|port`, `ip-dst|port`, `hostname|port`, `domain|port` → the left part;
    /// - anything else, including `link` (a reference such as a blog post, not an indicator),
    ///   is rejected as not a DNS indicator.
    ///
    /// With a public suffix list, names under an unlisted top-level domain (`igfxtray.exe`)
    /// and names that are themselves public suffixes (`github.io`) are rejected too; without
    /// one, names are checked syntactically only.
    public static func values(mispType: String, value: String, psl: PublicSuffixList? = nil) -> Result<[IntelValue], IntelRejection> {
        let type = mispType.trimmingCharacters(in: .whitespaces).lowercased()
        func name(_ v: String, _ kind: IntelValueKind) -> Result<IntelValue, IntelRejection> {
            normalizeNameResult(v).flatMap { n in
                if let r = pslRejection(n, psl: psl) { return .failure(r) }
                return .success(IntelValue(value: n, kind: kind))
            }
        }
        func one(_ r: Result<IntelValue, IntelRejection>) -> Result<[IntelValue], IntelRejection> { r.map { [$0] } }
        switch type {
        case "domain": return one(name(value, .domain))
        case "hostname": return one(name(value, .hostname))
        case "ip-src", "ip-dst": return one(addressValue(value))
        case "domain|ip":
            let (l, r) = splitPipe(value)
            guard let r else { return .failure(IntelRejection("domain|ip value \(quoted(value)) has no '|'")) }
            let d = name(l, .domain)
            let a = addressValue(r)
            let ok = [d.successValue, a.successValue].compactMap { $0 }
            if ok.isEmpty { return .failure(IntelRejection("domain|ip: \(d.failureReason); \(a.failureReason)")) }
            return .success(ok)
        case "ip-src|port", "ip-dst|port": return one(addressValue(splitPipe(value).0))
        case "hostname|port": return one(name(splitPipe(value).0, .hostname))
        case "domain|port": return one(name(splitPipe(value).0, .domain))
        case "url", "uri":
            if type == "uri" && !value.contains("://") {
                return .failure(IntelRejection("uri \(quoted(value)) has no host (a path?)"))
            }
            return one(
                urlHost(value).flatMap { v in
                    if v.kind == .hostname, let r = pslRejection(v.value, psl: psl) { return .failure(r) }
                    return .success(v)
                })
        default:
            return .failure(IntelRejection("type \(mispType) is not a DNS indicator"))
        }
    }

    /// Why a syntactically valid name cannot be an indicator under `psl`, or nil.
    static func pslRejection(_ name: String, psl: PublicSuffixList?) -> IntelRejection? {
        guard let psl else { return nil }
        if !psl.hasListedTopLevelDomain(name) {
            let tld = name.split(separator: ".").last.map(String.init) ?? name
            return IntelRejection("\(name): .\(tld) is not a top-level domain in the public suffix list")
        }
        if psl.isPublicSuffix(name) {
            return IntelRejection("\(name) is a public suffix: blocking it would block every name below it")
        }
        return nil
    }

    /// Refangs and trims.
    static func refangedTrim(_ s: String) -> String {
        Refang.refang(trimmed(s))
    }

    /// `s` without surrounding white space (a fast path skips Foundation for plain text).
    static func trimmed(_ s: String) -> String {
        guard let f = s.utf8.first, let l = s.utf8.last else { return s }
        if f > 0x20 && f < 0x80 && l > 0x20 && l < 0x80 { return s }
        let scalars = s.unicodeScalars
        func blank(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace || u.value == 0x85 }
        guard let a = scalars.firstIndex(where: { !blank($0) }), let b = scalars.lastIndex(where: { !blank($0) }) else { return "" }
        return String(scalars[a...b])
    }

    static func splitPipe(_ s: String) -> (String, String?) {
        guard let i = s.firstIndex(of: "|") else { return (s, nil) }
        return (String(s[..<i]), String(s[s.index(after: i)...]))
    }

    static func quoted(_ s: String) -> String {
        let short = s.utf8.count > 80 ? String(s.prefix(80)) + "…" : s
        if !short.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "\"" + short + "\"" }
        return "\"" + short.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}

extension Result where Failure == IntelRejection {
    /// The value, or nil on failure (without throwing).
    var successValue: Success? {
        if case .success(let v) = self { return v }
        return nil
    }

    /// The rejection's reason, or "" on success.
    var failureReason: String {
        if case .failure(let r) = self { return r.reason }
        return ""
    }
}
