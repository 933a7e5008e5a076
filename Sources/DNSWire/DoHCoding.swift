/// How a DNS message travels in HTTP (RFC 8484): base64url in a GET's `dns` parameter, the
/// `application/dns-message` media type of a POST body, and the freshness lifetime of an answer.
/// Pure functions over bytes, so the DoH server and the fuzzer run the same code.
public enum DoHCoding {
    /// The media type of a DNS message in a body (RFC 8484 §6).
    public static let mediaType = "application/dns-message"
    /// A DNS message is at most 65535 bytes (RFC 8484 §4.1).
    public static let maxMessage = 65535
    /// The longest `dns` parameter that can decode to at most `maxMessage` bytes (unpadded).
    public static let maxParameter = (maxMessage * 4 + 2) / 3

    /// Decodes a `dns` parameter: base64url without padding (RFC 4648 §5; RFC 8484 §4.1).
    /// Tolerated: trailing `=` padding and the `+` `/` of plain base64 (some clients send them).
    /// Rejected: any other character, a length that cannot be base64 (4n+1), bits set in the
    /// unused end of the last character, and more than `maxParameter` characters.
    public static func decodeParameter(_ text: some StringProtocol) -> [UInt8]? {
        var utf8 = Substring(text).utf8[...]
        while utf8.last == UInt8(ascii: "=") { utf8 = utf8.dropLast() }
        guard utf8.count <= maxParameter else { return nil }
        return Presentation.unpackBits(utf8, width: 6) { c in
            switch c {
            case UInt8(ascii: "-"): 62
            case UInt8(ascii: "_"): 63
            default: ZoneText.base64Value(c).map { UInt8($0) }  // plain base64's + and / too
            }
        }
    }

    /// base64url without padding, the form `decodeParameter` reads back.
    public static func encodeParameter(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: Presentation.packBits(bytes, width: 6, alphabet: alphabet), as: UTF8.self)
    }

    /// Whether a Content-Type header names a DNS message: its media type (before any `;`
    /// parameters), trimmed and case-insensitively, is `application/dns-message`.
    public static func isMessageType(_ contentType: (some StringProtocol)?) -> Bool {
        guard let contentType else { return false }
        let type = Array(contentType.utf8.prefix { $0 != UInt8(ascii: ";") })
        let isSpace = { (c: UInt8) in c == 0x20 || c == 0x09 }  // HTTP's OWS (RFC 9110 §5.6.3)
        guard let first = type.firstIndex(where: { !isSpace($0) }), let last = type.lastIndex(where: { !isSpace($0) }) else {
            return false
        }
        let trimmed = type[first...last]
        let lower = { (c: UInt8) in c >= 0x41 && c <= 0x5A ? c | 0x20 : c }
        return trimmed.count == mediaType.utf8.count && zip(trimmed, mediaType.utf8).allSatisfy { lower($0) == $1 }
    }

    /// The freshness lifetime of an answer for HTTP caches (RFC 8484 §5.1): the smallest TTL of
    /// its records (OPT excluded); in a negative answer an SOA counts with at most its MINIMUM
    /// (RFC 2308 §5). A TTL with the top bit set counts as 0 (RFC 2181 §8). 0 when no record
    /// carries one. A scan over the records, nothing decoded; a malformed tail ends the scan.
    public static func freshness(_ wire: UnsafeRawBufferPointer) -> UInt32 {
        let p = wire
        guard p.count >= 12 else { return 0 }
        func u16(_ i: Int) -> Int { Int(p[i]) << 8 | Int(p[i + 1]) }
        func u32(_ i: Int) -> UInt32 {
            let v = UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3])
            return v & 0x8000_0000 == 0 ? v : 0
        }
        let answers = u16(6)
        let records = answers + u16(8) + u16(10)
        var i = 12
        for _ in 0..<u16(4) {
            guard let n = WireScan.skipName(p, i), n + 4 <= p.count else { return 0 }
            i = n + 4
        }
        var lifetime: UInt32? = nil
        for _ in 0..<records {
            guard let n = WireScan.skipName(p, i), n + 10 <= p.count else { break }
            let type = u16(n)
            let end = n + 10 + u16(n + 8)
            guard end <= p.count else { break }
            if type != Int(RRType.opt.rawValue) {
                var ttl = u32(n + 4)
                if type == Int(RRType.soa.rawValue) && answers == 0 && end - 4 >= n + 10 {
                    ttl = min(ttl, u32(end - 4))
                }
                lifetime = min(lifetime ?? ttl, ttl)
            }
            i = end
        }
        return lifetime ?? 0
    }

    /// `freshness` over an array.
    public static func freshness(_ wire: [UInt8]) -> UInt32 {
        wire.withUnsafeBytes { freshness($0) }
    }

    /// base64's alphabet with `-` and `_` for `+` and `/` (RFC 4648 §5).
    private static let alphabet: [UInt8] = Array(Presentation.b64.dropLast(2)) + Array("-_".utf8)
}
