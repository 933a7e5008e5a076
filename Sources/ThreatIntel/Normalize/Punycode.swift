import Foundation

/// Punycode (RFC 3492) encoding, the core of IDNA's ToASCII.
public enum Punycode {
    private static let base = 36
    private static let tMin = 1
    private static let tMax = 26
    private static let skew = 38
    private static let damp = 700
    private static let initialBias = 72
    private static let initialN = 0x80

    /// Encodes `input` (one label, any Unicode) as Punycode, without the `xn--` prefix.
    /// ASCII characters are kept as they are (case included); nil on arithmetic overflow.
    /// An all-ASCII input encodes to itself followed by `-`, as RFC 3492 specifies; IDNA only
    /// encodes labels that contain non-ASCII characters (see `IntelNormalizer.normalizeName`).
    public static func encode(_ input: String) -> String? {
        let scalars = input.unicodeScalars.map { Int($0.value) }
        var output: [UInt8] = []
        for c in scalars where c < 0x80 { output.append(UInt8(c)) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }

        var n = initialN
        var delta = 0
        var bias = initialBias
        while handled < scalars.count {
            // The smallest code point not yet handled.
            var m = Int.max
            for c in scalars where c >= n && c < m { m = c }
            let (step, o1) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !o1 else { return nil }
            let (d, o2) = delta.addingReportingOverflow(step)
            guard !o2, d < Int(UInt32.max) else { return nil }
            delta = d
            n = m
            for c in scalars {
                if c < n {
                    delta += 1
                    guard delta < Int(UInt32.max) else { return nil }
                }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta: delta, numPoints: handled + 1, first: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func digit(_ d: Int) -> UInt8 {
        d < 26 ? UInt8(d + 0x61) : UInt8(d - 26 + 0x30)
    }

    private static func adapt(delta: Int, numPoints: Int, first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / numPoints
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
}
