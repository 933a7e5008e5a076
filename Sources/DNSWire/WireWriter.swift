/// Appends DNS wire data to a byte array, with optional name compression (RFC 1035 §4.1.4).
public struct WireWriter: Sendable {
    public var bytes: [UInt8]
    /// Lowercased name suffixes already written, and where. Only offsets < 0x4000 can be targets.
    var compression: [ArraySlice<UInt8>: UInt16] = [:]
    public var compressionEnabled: Bool

    public init(capacity: Int = 512, compression: Bool = true) {
        bytes = []
        bytes.reserveCapacity(capacity)
        compressionEnabled = compression
    }

    public var count: Int { bytes.count }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(v & 0xFF))
    }
    public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24))
        bytes.append(UInt8((v >> 16) & 0xFF))
        bytes.append(UInt8((v >> 8) & 0xFF))
        bytes.append(UInt8(v & 0xFF))
    }
    public mutating func append(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    public mutating func characterString(_ s: [UInt8]) throws(DNSWireError) {
        guard s.count <= 255 else { throw DNSWireError(.badRData, at: -1, "character-string longer than 255") }
        u8(UInt8(s.count))
        append(s)
    }

    public mutating func set16(_ v: UInt16, at i: Int) {
        bytes[i] = UInt8(v >> 8)
        bytes[i + 1] = UInt8(v & 0xFF)
    }

    /// Writes a name, compressing against earlier names when `compress` and compression are on.
    /// Every suffix written at an offset below 0x4000 is remembered as a future pointer target.
    public mutating func name(_ name: Name, compress: Bool = true) {
        let wire = name.wire
        let lower = name.lowercasedWire
        var i = 0
        while wire[i] != 0 {
            let suffix = lower[i...]
            if compressionEnabled && compress, let target = compression[suffix] {
                u16(0xC000 | target)
                return
            }
            if compressionEnabled && bytes.count < 0x4000 && compression[suffix] == nil {
                compression[suffix] = UInt16(bytes.count)
            }
            let len = Int(wire[i])
            bytes.append(contentsOf: wire[i...(i + len)])
            i += len + 1
        }
        bytes.append(0)
    }

    /// Forgets everything written from `count` on, including compression targets there.
    public mutating func rollback(to count: Int) {
        bytes.removeSubrange(count...)
        compression = compression.filter { Int($0.value) < count }
    }
}
