#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bytes of a list file (byte order mark removed), read in place: nothing here copies a line.
struct ListText {
    let base: UnsafePointer<UInt8>
    let count: Int

    /// Longer lines are skipped with one issue; nothing in a list needs more.
    static let maxLineLength = 64 * 1024

    @inline(__always)
    subscript(i: Int) -> UInt8 { base[i] }

    /// The first `byte` in `from..<to`, or `to`.
    func find(_ byte: UInt8, from: Int, to: Int) -> Int {
        guard from < to, let p = memchr(base + from, Int32(byte), to - from) else { return to }
        return UnsafeRawPointer(p) - UnsafeRawPointer(base)
    }

    /// True when `from..<to` holds exactly `ascii` (already lowercase), compared case-insensitively.
    @inline(__always)
    func equalsLowercased(_ from: Int, _ to: Int, _ ascii: StaticString) -> Bool {
        guard to - from == ascii.utf8CodeUnitCount else { return false }
        let p = ascii.utf8Start
        for i in 0..<(to - from) where ByteClass.lower(base[from + i]) != p[i] { return false }
        return true
    }

    /// A field for an issue message: quoted, at most 40 bytes, other than printable ASCII as `\DDD`.
    func show(_ from: Int, _ to: Int) -> String {
        ByteClass.show(UnsafeBufferPointer(start: base + from, count: to - from))
    }

    func string(_ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + from, count: to - from), as: UTF8.self)
    }
}

/// One physical line, `start..<end` without its newline and a trailing CR.
struct TextLine {
    var start: Int
    var end: Int
    /// From 1.
    var number: Int
    var isTooLong: Bool { end - start > ListText.maxLineLength }
}

/// Splits a `ListText` into lines; a 10 MB line costs one `memchr`, not a byte loop per field.
struct LineReader {
    let text: ListText
    var pos = 0
    var number = 0

    init(_ text: ListText) { self.text = text }

    mutating func next() -> TextLine? {
        guard pos < text.count else { return nil }
        number += 1
        let start = pos
        var end = text.find(ByteClass.newline, from: pos, to: text.count)
        pos = end + 1
        if end > start && text[end - 1] == ByteClass.cr { end -= 1 }
        return TextLine(start: start, end: end, number: number)
    }
}

/// Blank-separated fields of one line.
struct FieldReader {
    let text: ListText
    var pos: Int
    let end: Int

    init(_ text: ListText, from: Int, to: Int) {
        self.text = text
        pos = from
        end = to
    }

    /// The next field as `start..<end`, or nil at the end of the line.
    mutating func next() -> Range<Int>? {
        while pos < end && ByteClass.isBlank(text[pos]) { pos += 1 }
        guard pos < end else { return nil }
        let s = pos
        while pos < end && !ByteClass.isBlank(text[pos]) { pos += 1 }
        return s..<pos
    }
}

enum ByteClass {
    static let newline = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let dot = UInt8(ascii: ".")
    static let star = UInt8(ascii: "*")
    static let hash = UInt8(ascii: "#")

    /// Space, tab, CR, vertical tab and form feed separate fields.
    @inline(__always)
    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c }

    /// The byte as it goes into a name (letters lowercased), or 0 when a host name cannot hold it:
    /// letters, digits, `-` and `_` only.
    @inline(__always)
    static func nameByte(_ c: UInt8) -> UInt8 {
        let l = c | 0x20
        if l >= 0x61 && l <= 0x7A { return l }
        if isDigit(c) || c == 0x2D || c == 0x5F { return c }
        return 0
    }

    /// True when `bytes` are exactly the bytes of `ascii`.
    static func equals(_ bytes: UnsafeRawBufferPointer, _ ascii: StaticString) -> Bool {
        guard bytes.count == ascii.utf8CodeUnitCount else { return false }
        let p = ascii.utf8Start
        for i in 0..<bytes.count where bytes[i] != p[i] { return false }
        return true
    }

    /// `nameByte` for every byte, and `.` for `.`.
    static let nameTable: [UInt8] = (0...255).map { c in c == 0x2E ? 0x2E : nameByte(UInt8(c)) }

    static func show(_ bytes: some Collection<UInt8>) -> String {
        var s = "'"
        for b in bytes.prefix(40) {
            if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "'") && b != UInt8(ascii: "\\") {
                s.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let d = String(b)
                s += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return s + (bytes.count > 40 ? "…'" : "'")
    }
}
