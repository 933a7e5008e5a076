import Foundation

/// Undoes the "defanging" that analysts apply to indicators so they cannot be clicked,
/// following MISP's `ComplexTypeTool` refang table and a few common extras.
///
/// Replacements, all case-insensitive:
/// - anywhere: `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}` `\.` → `.`; `[:]` → `:`; `[://]` → `://`;
///   `[/]` → `/`; `[@]` `[at]` `(at)` `{at}` → `@`;
/// - at the start, when followed by `://` or `s://`: `hxxp` `hxtp` `htxp` `hxxxp` `meow`
///   `h[tt]p` `h**p` → `http`, and `fxp` → `ftp`.
///
/// MISP anchors the scheme rule at the start without requiring `://`; requiring it here keeps
/// names such as `meowcats.com` intact.
public enum Refang {
    private static let anywhere: [(from: [UInt8], to: [UInt8])] = [
        ("[.]", "."), ("(.)", "."), ("{.}", "."),
        ("[dot]", "."), ("(dot)", "."), ("{dot}", "."),
        ("\\.", "."),
        ("[://]", "://"), ("[:]", ":"), ("[/]", "/"),
        ("[@]", "@"), ("[at]", "@"), ("(at)", "@"), ("{at}", "@"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    private static let schemes: [(from: [UInt8], to: [UInt8])] = [
        ("hxxxp", "http"), ("hxxp", "http"), ("hxtp", "http"), ("htxp", "http"),
        ("h[tt]p", "http"), ("h**p", "http"), ("meow", "http"), ("fxp", "ftp"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// Returns `s` with defanged notation replaced (see the type's documentation).
    public static func refang(_ s: String) -> String {
        var bytes = Array(s.utf8)
        var changed = false
        if bytes.contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "\\") }) {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            scan: while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "[") || b == UInt8(ascii: "(") || b == UInt8(ascii: "{") || b == UInt8(ascii: "\\") {
                    for rule in anywhere where hasPrefix(bytes, at: i, rule.from) {
                        out.append(contentsOf: rule.to)
                        i += rule.from.count
                        changed = true
                        continue scan
                    }
                }
                out.append(b)
                i += 1
            }
            bytes = out
        }
        for rule in schemes where hasPrefix(bytes, at: 0, rule.from) {
            let rest = rule.from.count
            if hasPrefix(bytes, at: rest, Array("://".utf8)) || hasPrefix(bytes, at: rest, Array("s://".utf8)) {
                bytes.replaceSubrange(0..<rest, with: rule.to)
                changed = true
            }
            break
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : s
    }

    /// Case-insensitive (ASCII) comparison of `pattern` with `bytes` at `offset`.
    private static func hasPrefix(_ bytes: [UInt8], at offset: Int, _ pattern: [UInt8]) -> Bool {
        guard offset + pattern.count <= bytes.count else { return false }
        var k = 0
        while k < pattern.count {
            var c = bytes[offset + k]
            if c >= 0x41 && c <= 0x5A { c += 0x20 }
            if c != pattern[k] { return false }
            k += 1
        }
        return true
    }
}
