import Testing

@testable import DNSWire

/// Bytes from a hex string; whitespace and newlines are ignored. Traps on bad hex (test data only).
func hex(_ text: String) -> [UInt8] {
    let clean = text.filter { !$0.isWhitespace }
    guard let bytes = Presentation.unhex(clean) else { fatalError("bad hex in test data: \(text)") }
    return bytes
}

/// A name from presentation text that is known to be valid.
func n(_ text: String) -> Name {
    do {
        return try Name(text)
    } catch {
        fatalError("bad test name \(text): \(error)")
    }
}


/// Parses `bytes` and returns the `DNSWireError` it throws, or nil when it parses.
func parseError(_ bytes: [UInt8]) -> DNSWireError? {
    do {
        _ = try Message(parsing: bytes)
        return nil
    } catch {
        return error
    }
}

/// Builds the 12-byte header followed by `body`.
func packet(
    id: UInt16 = 0x1234, flags: UInt16 = 0x8180, qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0,
    _ body: [UInt8] = []
) -> [UInt8] {
    var w = WireWriter(compression: false)
    for v in [id, flags, qd, an, ns, ar] { w.u16(v) }
    w.append(body)
    return w.bytes
}

/// Encodes `message`, parses it back, and checks the two are equal; returns the wire bytes.
@discardableResult
func roundTrip(_ message: Message, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
    let wire = try message.encode()
    let back = try Message(parsing: wire)
    #expect(back == message, sourceLocation: sourceLocation)
    // Encoding is deterministic and stable under a second trip.
    #expect(try back.encode() == wire, sourceLocation: sourceLocation)
    return wire
}

/// Decodes base64 (RFC 4648 §4) test data; traps on bad input.
func base64(_ text: String) -> [UInt8] {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for c in text.utf8 where c != UInt8(ascii: "=") && c != UInt8(ascii: " ") {
        guard let v = alphabet.firstIndex(of: c) else { fatalError("bad base64 in test data") }
        buffer = buffer << 6 | UInt32(v)
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
        }
    }
    return out
}

/// Decodes unpadded base32hex (RFC 4648 §7), either case; traps on bad input.
func base32hex(_ text: String) -> [UInt8] {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuv".utf8)
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for c in text.lowercased().utf8 {
        guard let v = alphabet.firstIndex(of: c) else { fatalError("bad base32hex in test data") }
        buffer = buffer << 5 | UInt32(v)
        bits += 5
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
        }
    }
    return out
}
