/// Byte-level steps over wire data, for scans that must not allocate (the policy's answer
/// check, the DoH cache lifetime).
public enum WireScan {
    /// The offset just past the name at `start` (a compression pointer ends it); nil when it
    /// runs past the end or has a label type other than length or pointer.
    @inlinable
    public static func skipName(_ p: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var i = start
        while i < p.count {
            let len = Int(p[i])
            if len == 0 { return i + 1 }
            if len & 0xC0 == 0xC0 { return i + 2 <= p.count ? i + 2 : nil }
            guard len <= 63 else { return nil }
            i += 1 + len
        }
        return nil
    }

    /// Calls `body` with the offset of the TTL field of every record of a message (answer,
    /// authority and additional sections; OPT records are skipped: their TTL field holds flags).
    /// Stops quietly at the first malformed record; returns false then.
    @inlinable
    @discardableResult
    public static func forEachTTL(_ p: UnsafeRawBufferPointer, _ body: (Int) -> Void) -> Bool {
        guard p.count >= 12 else { return false }
        let qd = Int(p[4]) << 8 | Int(p[5])
        let records = (Int(p[6]) << 8 | Int(p[7])) + (Int(p[8]) << 8 | Int(p[9])) + (Int(p[10]) << 8 | Int(p[11]))
        var i = 12
        for _ in 0..<qd {
            guard let n = skipName(p, i), n + 4 <= p.count else { return false }
            i = n + 4
        }
        for _ in 0..<records {
            guard let n = skipName(p, i), n + 10 <= p.count else { return false }
            let type = UInt16(p[n]) << 8 | UInt16(p[n + 1])
            let rdlength = Int(p[n + 8]) << 8 | Int(p[n + 9])
            guard n + 10 + rdlength <= p.count else { return false }
            if type != 41 { body(n + 4) }
            i = n + 10 + rdlength
        }
        return true
    }
}
