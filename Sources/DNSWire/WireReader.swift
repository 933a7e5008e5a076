/// A bounds-checked cursor over a whole DNS message. Every read checks the remaining length and
/// throws `DNSWireError` with the offset; names follow compression pointers with caps.
public struct WireReader: Sendable {
    public let bytes: [UInt8]
    public var offset: Int
    /// Reads stop here (end of the message, or of the current RDATA).
    public var limit: Int

    /// At most this many pointers are followed in one name (a name has at most 127 labels).
    public static let maxPointers = 64

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.limit = bytes.count
    }

    public var remaining: Int { limit - offset }
    public var isAtEnd: Bool { offset >= limit }

    @inline(__always)
    mutating func need(_ n: Int) throws(DNSWireError) {
        guard n >= 0, limit - offset >= n else {
            throw DNSWireError(.truncated, at: offset, "need \(n) bytes, have \(max(0, limit - offset))")
        }
    }

    public mutating func u8() throws(DNSWireError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16() throws(DNSWireError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func u32() throws(DNSWireError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    public mutating func bytes(_ n: Int) throws(DNSWireError) -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    /// A <character-string>: one length byte and that many bytes.
    public mutating func characterString() throws(DNSWireError) -> [UInt8] {
        let n = Int(try u8())
        return try bytes(n)
    }

    public mutating func rest() -> [UInt8] {
        defer { offset = limit }
        return Array(bytes[offset..<limit])
    }

    /// Reads a possibly compressed name. A pointer must point strictly backwards, to before the
    /// start of the name being read, which makes loops impossible; the pointer count is capped too.
    public mutating func name(allowCompression: Bool = true) throws(DNSWireError) -> Name {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var pos = offset
        var end: Int? = nil
        var pointers = 0
        var lowestStart = offset
        while true {
            // Labels of a name are read within the whole message when following pointers, but the
            // first part must stay inside the current limit.
            let bound = end == nil ? limit : bytes.count
            guard pos < bound else { throw DNSWireError(.truncated, at: pos, "name runs past the end") }
            let len = bytes[pos]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    out.append(0)
                    if end == nil { end = pos + 1 }
                    guard out.count <= Name.maxWireLength else {
                        throw DNSWireError(.nameTooLong, at: offset, "\(out.count) bytes")
                    }
                    offset = end!
                    return Name(uncheckedWire: out)
                }
                let l = Int(len)
                guard pos + 1 + l <= bound else { throw DNSWireError(.truncated, at: pos, "label runs past the end") }
                guard out.count + 1 + l + 1 <= Name.maxWireLength else {
                    throw DNSWireError(.nameTooLong, at: pos, "name longer than 255 bytes")
                }
                out.append(len)
                out.append(contentsOf: bytes[(pos + 1)..<(pos + 1 + l)])
                pos += 1 + l
            case 0xC0:
                guard allowCompression else { throw DNSWireError(.badPointer, at: pos, "compression not allowed here") }
                guard pos + 1 < bound else { throw DNSWireError(.truncated, at: pos, "pointer runs past the end") }
                let target = Int(len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target < lowestStart else {
                    throw DNSWireError(.badPointer, at: pos, "pointer to \(target) does not point backwards")
                }
                pointers += 1
                guard pointers <= Self.maxPointers else { throw DNSWireError(.tooManyPointers, at: pos) }
                if end == nil { end = pos + 2 }
                lowestStart = target
                pos = target
            default:
                throw DNSWireError(.badLabelType, at: pos, "label type 0x\(String(len & 0xC0, radix: 16))")
            }
        }
    }
}
