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
}
