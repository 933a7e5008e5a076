/// The lexical layer of zone-file text (RFC 1035 §5.1): fields separated by blanks, `"quoted"`
/// fields, `\` escapes, `;` comments, and `( … )` groups that let one entry span lines.
///
/// Escapes are kept in the field text (`\.` and `.` mean different things in a name), so each
/// field decoder interprets them itself. The one extension is RFC 9460's `key="quoted value"`:
/// a quote right after an unescaped `=` quotes the rest of the field.

/// One field of an entry: its bytes with escapes kept and the quotes removed.
struct ZoneToken: Hashable, Sendable {
    var text: [UInt8]
    /// The whole field was in double quotes (so `@`, `\#` and `-` lose their special meaning).
    var quoted: Bool
    /// The field is `key="value"` (RFC 9460); only SvcParams may be written that way.
    var embeddedQuote: Bool = false
}

/// One logical entry: the fields of a line, or of several lines joined by parentheses.
struct ZoneEntry: Sendable {
    /// The line the entry starts on, from 1.
    var line: Int
    /// The entry's first line starts with a blank, so it has no owner field (RFC 1035 §5.1).
    var ownerOmitted: Bool
    var tokens: [ZoneToken]
}

/// A lexical error and the line where it was found.
struct ZoneLexFailure: Error, Sendable {
    var line: Int
    var error: DNSWireError
}

struct ZoneLexer: Sendable {
    let bytes: [UInt8]
    var pos = 0
    /// The current line, from 1.
    var line = 1

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static let newline = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    @inline(__always)
    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

    @inline(__always)
    static func endsField(_ c: UInt8) -> Bool {
        isBlank(c) || c == newline || c == UInt8(ascii: ";") || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
    }

    /// The next entry with at least one field, a lexical error (after which the rest of that
    /// physical line is skipped and lexing goes on), or nil at the end of the text.
    mutating func next() -> Result<ZoneEntry, ZoneLexFailure>? {
        var tokens: [ZoneToken] = []
        var depth = 0
        var openLine = 0
        var startLine = line
        var ownerOmitted = pos < bytes.count && Self.isBlank(bytes[pos])
        while pos < bytes.count {
            let c = bytes[pos]
            switch c {
            case Self.newline:
                pos += 1
                line += 1
                if depth == 0 {
                    if !tokens.isEmpty {
                        return .success(ZoneEntry(line: startLine, ownerOmitted: ownerOmitted, tokens: tokens))
                    }
                    startLine = line
                    ownerOmitted = pos < bytes.count && Self.isBlank(bytes[pos])
                }
            case 0x20, 0x09, 0x0D:
                pos += 1
            case UInt8(ascii: ";"):
                while pos < bytes.count && bytes[pos] != Self.newline { pos += 1 }
            case UInt8(ascii: "("):
                if depth == 0 { openLine = line }
                depth += 1
                pos += 1
            case UInt8(ascii: ")"):
                guard depth > 0 else { return fail("')' without a matching '('") }
                depth -= 1
                pos += 1
            case Self.quote:
                pos += 1
                var text: [UInt8] = []
                if let problem = scanQuoted(into: &text) { return fail(problem) }
                tokens.append(ZoneToken(text: text, quoted: true))
            default:
                var text: [UInt8] = []
                var lastEscaped = false
                var embeddedQuote = false
                while pos < bytes.count, !Self.endsField(bytes[pos]) {
                    let b = bytes[pos]
                    if b == Self.backslash {
                        guard pos + 1 < bytes.count, bytes[pos + 1] != Self.newline else {
                            return fail("backslash at the end of a line")
                        }
                        text.append(b)
                        text.append(bytes[pos + 1])
                        pos += 2
                        lastEscaped = true
                        continue
                    }
                    if b == Self.quote {
                        // RFC 9460 Appendix A: `key="value"` quotes the value of a SvcParam.
                        guard text.last == UInt8(ascii: "="), !lastEscaped else {
                            return fail("'\"' inside an unquoted field")
                        }
                        pos += 1
                        if let problem = scanQuoted(into: &text) { return fail(problem) }
                        embeddedQuote = true
                        break
                    }
                    text.append(b)
                    pos += 1
                    lastEscaped = false
                }
                tokens.append(ZoneToken(text: text, quoted: false, embeddedQuote: embeddedQuote))
            }
        }
        if depth > 0 {
            return .failure(
                ZoneLexFailure(
                    line: openLine, error: DNSWireError(.badPresentation, at: -1, "'(' on line \(openLine) is never closed")))
        }
        return tokens.isEmpty ? nil : .success(ZoneEntry(line: startLine, ownerOmitted: ownerOmitted, tokens: tokens))
    }

    /// Reads up to the closing quote (the opening one is consumed); nil when it was found, else
    /// what went wrong. Escapes are kept; a quoted string may not span lines.
    mutating func scanQuoted(into text: inout [UInt8]) -> String? {
        while pos < bytes.count {
            let b = bytes[pos]
            switch b {
            case Self.quote:
                pos += 1
                return nil
            case Self.newline:
                return "quoted string not closed before the end of the line"
            case Self.backslash:
                guard pos + 1 < bytes.count, bytes[pos + 1] != Self.newline else { return "backslash at the end of a line" }
                text.append(b)
                text.append(bytes[pos + 1])
                pos += 2
            default:
                text.append(b)
                pos += 1
            }
        }
        return "quoted string not closed before the end of the text"
    }

    /// Skips the rest of the physical line and reports `reason` on the current line.
    mutating func fail(_ reason: String) -> Result<ZoneEntry, ZoneLexFailure> {
        let at = line
        while pos < bytes.count && bytes[pos] != Self.newline { pos += 1 }
        if pos < bytes.count {
            pos += 1
            line += 1
        }
        return .failure(ZoneLexFailure(line: at, error: DNSWireError(.badPresentation, at: -1, reason)))
    }

    /// The one entry in `text`, for parsing a single record or RDATA: no fields gives an empty
    /// entry, a second entry (a line break outside parentheses) is an error.
    static func singleEntry(_ text: String, what: String) throws(DNSWireError) -> ZoneEntry {
        var lexer = ZoneLexer(Array(text.utf8))
        var entry = ZoneEntry(line: 1, ownerOmitted: false, tokens: [])
        switch lexer.next() {
        case nil: break
        case .failure(let f)?: throw f.error
        case .success(let e)?: entry = e
        }
        if lexer.next() != nil {
            throw DNSWireError(.badPresentation, at: -1, "\(what) continues on a second line (use parentheses)")
        }
        return entry
    }
}

/// Field decoders shared by the RDATA and record parsers. Errors are `.badPresentation` at -1
/// with a reason that names the field.
enum ZoneText {
    static func error(_ reason: String) -> DNSWireError { DNSWireError(.badPresentation, at: -1, reason) }

    /// A field for an error message: quoted, at most 40 bytes, non-printable bytes as `\DDD`.
    static func show(_ text: [UInt8]) -> String {
        var s = "'"
        for b in text.prefix(40) {
            if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "'") {
                s.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let d = String(b)
                s += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return s + (text.count > 40 ? "…'" : "'")
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// An unsigned decimal number (digits only, no sign) no larger than `max`; nil otherwise.
    static func decimal(_ text: some Collection<UInt8>, max: UInt64) -> UInt64? {
        guard !text.isEmpty, text.count <= 20 else { return nil }
        var v: UInt64 = 0
        for b in text {
            guard isDigit(b) else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
            guard !o1, !o2 else { return nil }
            v = s
        }
        return v <= max ? v : nil
    }

    /// A TTL or timer: plain seconds, or BIND-style units (`1h30m`, `2w`, `1d12h`), at most
    /// 4294967295 seconds. Units are s, m, h, d, w in either case; every number needs a unit
    /// once any has one.
    static func ttl(_ text: some Collection<UInt8>) -> UInt32? {
        if let v = decimal(text, max: UInt64(UInt32.max)) { return UInt32(v) }
        var total: UInt64 = 0
        var number: UInt64? = nil
        for b in text {
            if isDigit(b) {
                let v = (number ?? 0) * 10 + UInt64(b - 0x30)
                guard v <= UInt64(UInt32.max) else { return nil }
                number = v
                continue
            }
            guard let n = number else { return nil }
            let unit: UInt64
            switch b | 0x20 {
            case UInt8(ascii: "s"): unit = 1
            case UInt8(ascii: "m"): unit = 60
            case UInt8(ascii: "h"): unit = 3600
            case UInt8(ascii: "d"): unit = 86400
            case UInt8(ascii: "w"): unit = 604800
            default: return nil
            }
            total += n * unit
            guard total <= UInt64(UInt32.max) else { return nil }
            number = nil
        }
        guard number == nil, !text.isEmpty else { return nil }
        return UInt32(total)
    }

    /// An RR type mnemonic (any case) or `TYPEnnn` (RFC 3597 §5).
    static func rrType(_ text: [UInt8]) -> RRType? {
        let up = text.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        if let v = RRType.byName[String(decoding: up, as: UTF8.self)] { return RRType(v) }
        guard up.starts(with: Array("TYPE".utf8)), let v = decimal(up.dropFirst(4), max: 65535), up.count <= 9 else { return nil }
        return RRType(UInt16(v))
    }

    /// A class mnemonic (any case) or `CLASSnnn` (RFC 3597 §5).
    static func rrClass(_ text: [UInt8]) -> RRClass? {
        let up = text.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        switch String(decoding: up, as: UTF8.self) {
        case "IN": return .in
        case "CH": return .ch
        case "HS": return .hs
        case "NONE": return RRClass.none
        case "ANY": return .any
        default:
            guard up.starts(with: Array("CLASS".utf8)), up.count <= 10, let v = decimal(up.dropFirst(5), max: 65535) else {
                return nil
            }
            return RRClass(UInt16(v))
        }
    }

    /// A domain name from a field (escapes `\X` and `\DDD`); relative names are completed with
    /// `origin`, or taken as absolute when there is none, like `Name(_:origin:)`. An unquoted `@`
    /// is the origin.
    static func name(_ token: ZoneToken, origin: Name?, field: String) throws(DNSWireError) -> Name {
        let t = token.text
        guard !token.embeddedQuote else { throw error("\(field): '\"' inside an unquoted field") }
        if !token.quoted && t == [UInt8(ascii: "@")] {
            guard let origin else { throw error("\(field): '@' but no origin is set") }
            return origin
        }
        guard !t.isEmpty else { throw error("\(field): empty name") }
        if t == [UInt8(ascii: ".")] { return .root }
        var wire: [UInt8] = [0]
        var labelStart = 0
        var absolute = false
        var i = 0
        while i < t.count {
            var b = t[i]
            i += 1
            if b == UInt8(ascii: ".") {
                let len = wire.count - labelStart - 1
                guard len > 0 else { throw error("\(field): empty label in \(show(t))") }
                wire[labelStart] = UInt8(len)
                labelStart = wire.count
                wire.append(0)
                if i == t.count { absolute = true }
                continue
            }
            if b == ZoneLexer.backslash {
                guard i < t.count else { throw error("\(field): backslash at the end of \(show(t))") }
                if isDigit(t[i]) {
                    guard i + 3 <= t.count, let v = decimal(t[i..<(i + 3)], max: 255) else {
                        throw error("\(field): bad \\DDD escape in \(show(t))")
                    }
                    b = UInt8(v)
                    i += 3
                } else {
                    b = t[i]
                    i += 1
                }
            }
            wire.append(b)
            guard wire.count - labelStart - 1 <= Name.maxLabelLength else {
                throw error("\(field): label longer than 63 bytes in \(show(t))")
            }
            guard wire.count < Name.maxWireLength else { throw error("\(field): name longer than 255 bytes") }
        }
        if !absolute {
            // The last label is still open: close it, then append the origin (or the root).
            wire[labelStart] = UInt8(wire.count - labelStart - 1)
            wire.append(contentsOf: origin?.wire ?? [0])
        }
        guard wire.count <= Name.maxWireLength else { throw error("\(field): name longer than 255 bytes") }
        return Name(uncheckedWire: wire)
    }

    /// The bytes of a <character-string> field or word: `\X` is X, `\DDD` a byte (0…255).
    static func unescape(_ t: [UInt8], field: String) throws(DNSWireError) -> [UInt8] {
        guard t.contains(ZoneLexer.backslash) else { return t }
        var out: [UInt8] = []
        out.reserveCapacity(t.count)
        var i = 0
        while i < t.count {
            let b = t[i]
            i += 1
            guard b == ZoneLexer.backslash else {
                out.append(b)
                continue
            }
            guard i < t.count else { throw error("\(field): backslash at the end of \(show(t))") }
            if isDigit(t[i]) {
                guard i + 3 <= t.count, let v = decimal(t[i..<(i + 3)], max: 255) else {
                    throw error("\(field): bad \\DDD escape in \(show(t)) (three digits, at most \\255)")
                }
                out.append(UInt8(v))
                i += 3
            } else {
                out.append(t[i])
                i += 1
            }
        }
        return out
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// Hex digits in either case, split over any number of fields.
    static func hex(_ fields: some Sequence<ZoneToken>, field: String) throws(DNSWireError) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for f in fields {
            for c in f.text {
                guard let v = hexValue(c) else { throw error("\(field): \(show(f.text)) is not hex") }
                if let h = high {
                    out.append(h << 4 | v)
                    high = nil
                } else {
                    high = v
                }
            }
        }
        guard high == nil else { throw error("\(field): odd number of hex digits") }
        return out
    }

    static func base64Value(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x41...0x5A: UInt32(c - 0x41)
        case 0x61...0x7A: UInt32(c - 0x61 + 26)
        case 0x30...0x39: UInt32(c - 0x30 + 52)
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// Base64 (RFC 4648 §4) with padding, split over any number of fields. Garbage, misplaced
    /// padding, a length that is not a multiple of 4 and non-zero pad bits are errors.
    static func base64(_ fields: some Sequence<ZoneToken>, field: String) throws(DNSWireError) -> [UInt8] {
        var chars: [UInt8] = []
        for f in fields { chars += f.text }
        guard chars.count % 4 == 0 else { throw error("\(field): base64 length \(chars.count) is not a multiple of 4") }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            var pad = 0
            var v: UInt32 = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") && last && j >= 2 {
                    pad += 1
                    v <<= 6
                    continue
                }
                guard pad == 0, let d = base64Value(c) else {
                    throw error("\(field): bad base64 near \(show(Array(chars[i..<(i + 4)])))")
                }
                v = v << 6 | d
            }
            out.append(UInt8(v >> 16))
            if pad < 2 { out.append(UInt8((v >> 8) & 0xFF)) }
            if pad < 1 { out.append(UInt8(v & 0xFF)) }
            guard (pad == 1 && v & 0xFF == 0) || (pad == 2 && v & 0xFFFF == 0) || pad == 0 else {
                throw error("\(field): base64 has non-zero bits in its padding")
            }
            i += 4
        }
        return out
    }

    /// Base32 with the extended hex alphabet (RFC 4648 §7), either case, no padding.
    static func base32hex(_ text: [UInt8], field: String) throws(DNSWireError) -> [UInt8] {
        guard text.count * 5 % 8 < 5 else { throw error("\(field): base32hex length \(text.count) is impossible") }
        let digits = Presentation.unpackBits(text, width: 5) { c in
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x56: c - 0x41 + 10
            case 0x61...0x76: c - 0x61 + 10
            default: nil
            }
        }
        guard let digits else {
            throw error("\(field): \(show(text)) is not base32hex: a bad digit or non-zero trailing bits")
        }
        return digits
    }

    /// RRSIG times (RFC 4034 §3.2): `YYYYMMDDHHmmSS` in UTC, or seconds since 1970.
    static func rrsigTime(_ text: [UInt8], field: String) throws(DNSWireError) -> UInt32 {
        if text.count != 14 {
            guard let v = decimal(text, max: UInt64(UInt32.max)) else {
                throw error("\(field): \(show(text)) is neither YYYYMMDDHHmmSS nor seconds in 0...4294967295")
            }
            return UInt32(v)
        }
        guard text.allSatisfy(isDigit) else { throw error("\(field): \(show(text)) is not YYYYMMDDHHmmSS") }
        func part(_ from: Int, _ len: Int) -> Int { text[from..<(from + len)].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        let (y, mo, d, h, mi, s) = (part(0, 4), part(4, 2), part(6, 2), part(8, 2), part(10, 2), part(12, 2))
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard y >= 1970, (1...12).contains(mo), (1...monthDays[mo - 1]).contains(d), h < 24, mi < 60, s < 60 else {
            throw error("\(field): \(show(text)) is not a valid date and time")
        }
        // Days from 1970-01-01 to y-mo-d (proleptic Gregorian; y >= 1970 keeps everything positive).
        let yy = mo <= 2 ? y - 1 : y
        let era = yy / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let t = days * 86400 + h * 3600 + mi * 60 + s
        guard t <= Int(UInt32.max) else { throw error("\(field): \(show(text)) is after 2106-02-07 06:28:15") }
        return UInt32(t)
    }
}

/// A TTL in zone-file presentation: plain seconds or BIND units (`1h30m`), at most
/// 4294967295; nil when invalid. The one TTL parser for zone files and RPZ lists.
public func zoneFileTTL(_ text: some Collection<UInt8>) -> UInt32? { ZoneText.ttl(text) }
