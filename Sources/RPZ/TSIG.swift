import Crypto
import DNSWire

// Transaction signatures (TSIG, RFC 8945) over raw DNS wire bytes: signing requests and
// responses (including the later messages of an AXFR/IXFR stream), verifying them, and the
// error responses a server sends for a request whose TSIG does not verify.
//
// Everything here reads its input with bounds checks; hostile bytes give `.malformed` (or a
// thrown `DNSWireError` from `extract`), never a crash. Signing takes messages we built ourselves
// and traps on programmer errors (a message shorter than a header, an ARCOUNT of 65535).

// MARK: - Algorithms and keys

/// A TSIG MAC algorithm (RFC 8945 §6). HMAC-MD5 and GSS-TSIG are not supported.
public enum TSIGAlgorithm: String, Sendable, Hashable, CaseIterable {
    case hmacSHA1 = "hmac-sha1"
    case hmacSHA256 = "hmac-sha256"
    case hmacSHA512 = "hmac-sha512"

    /// The name carried in the TSIG RR, e.g. `hmac-sha256.`.
    public var name: Name {
        let label = Array(rawValue.utf8)
        return Name(uncheckedWire: [UInt8(label.count)] + label + [0])
    }

    /// The algorithm a TSIG RR names (compared case-insensitively), or nil when it is not one of ours.
    public init?(name: Name) {
        guard let algorithm = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = algorithm
    }

    /// Bytes in a full, untruncated MAC (the hash output length).
    public var macLength: Int {
        switch self {
        case .hmacSHA1: 20
        case .hmacSHA256: 32
        case .hmacSHA512: 64
        }
    }

    /// The shortest truncated MAC RFC 8945 §5.2.2.1 allows: the larger of 10 bytes and half the
    /// hash output. A shorter one is a format error.
    public var minimumMACLength: Int { max(10, macLength / 2) }
}

/// A shared secret and the name and algorithm it is used under.
///
/// `description` shows the name and the algorithm, never the secret.
public struct TSIGKey: Sendable, Hashable, CustomStringConvertible {
    /// The key name, e.g. `transfer-key.`; compared case-insensitively.
    public var name: Name
    public var algorithm: TSIGAlgorithm
    public var secret: [UInt8]

    public init(name: Name, algorithm: TSIGAlgorithm = .hmacSHA256, secret: [UInt8]) {
        self.name = name
        self.algorithm = algorithm
        self.secret = secret
    }

    /// Parses `name:base64secret` or `algorithm:name:base64secret` (the algorithm like
    /// `hmac-sha256`, case-insensitive), as BIND's and knot's `-y` do. The name is absolute with or
    /// without its trailing dot; without an algorithm, HMAC-SHA256 is used. Nil when malformed: an
    /// unknown algorithm, an empty or root name, a secret that is empty or not base64.
    public init?(spec: String) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        let algorithm: TSIGAlgorithm
        let nameText: Substring
        let secretText: Substring
        switch parts.count {
        case 2:
            algorithm = .hmacSHA256
            nameText = parts[0]
            secretText = parts[1]
        case 3:
            var text = parts[0].lowercased()
            if text.hasSuffix(".") { text.removeLast() }
            guard let known = TSIGAlgorithm(rawValue: text) else { return nil }
            algorithm = known
            nameText = parts[1]
            secretText = parts[2]
        default:
            return nil
        }
        guard !nameText.isEmpty, let name = try? Name(String(nameText)), !name.isRoot,
            let secret = Base64.decode(secretText), !secret.isEmpty
        else { return nil }
        self.init(name: name, algorithm: algorithm, secret: secret)
    }

    public var description: String { "TSIGKey(\(name) \(algorithm.rawValue))" }
}

/// Keys by name (case-insensitively). When two keys share a name, the first one wins.
public struct TSIGKeyring: Sendable {
    public let keys: [TSIGKey]
    private let byName: [Name: TSIGKey]

    public init(_ keys: [TSIGKey]) {
        self.keys = keys
        var byName: [Name: TSIGKey] = [:]
        for key in keys where byName[key.name] == nil {
            byName[key.name] = key
        }
        self.byName = byName
    }

    public func key(named name: Name) -> TSIGKey? { byName[name] }

    public var isEmpty: Bool { keys.isEmpty }
}

// MARK: - Records and results

/// The TSIG errors of RFC 8945 §3 (carried in the TSIG RR's error field; the header RCODE is NOTAUTH).
public enum TSIGError: UInt16, Sendable, CustomStringConvertible {
    case badSig = 16
    case badKey = 17
    case badTime = 18
    case badTrunc = 22

    public var description: String {
        switch self {
        case .badSig: "BADSIG"
        case .badKey: "BADKEY"
        case .badTime: "BADTIME"
        case .badTrunc: "BADTRUNC"
        }
    }
}

/// A parsed TSIG RR (RFC 8945 §4.2). The owner is the key name; class ANY and TTL 0 are implied.
public struct TSIGRecord: Sendable, Hashable {
    public var keyName: Name
    public var algorithm: Name
    /// Seconds since the epoch; 48 bits on the wire.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    public var error: UInt16
    public var otherData: [UInt8]

    public init(
        keyName: Name, algorithm: Name, timeSigned: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16,
        error: UInt16 = 0, otherData: [UInt8] = []
    ) {
        self.keyName = keyName
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }

    /// The whole RR, owner and algorithm uncompressed. Callers keep the MAC and other data short
    /// enough for a 16-bit RDLENGTH (`TSIG.maxOtherData`).
    var wire: [UInt8] {
        var w = WireWriter(
            capacity: keyName.wire.count + algorithm.wire.count + 26 + mac.count + otherData.count,
            compression: false)
        w.name(keyName, compress: false)
        w.u16(RRType.tsig.rawValue)
        w.u16(RRClass.any.rawValue)
        w.u32(0)
        let lengthAt = w.count
        w.u16(0)
        w.name(algorithm, compress: false)
        TSIG.appendTime(timeSigned, to: &w)
        w.u16(fudge)
        w.u16(UInt16(mac.count))
        w.append(mac)
        w.u16(originalID)
        w.u16(error)
        w.u16(UInt16(otherData.count))
        w.append(otherData)
        w.set16(UInt16(w.count - lengthAt - 2), at: lengthAt)
        return w.bytes
    }
}

/// The outcome of verifying a message's TSIG.
public enum TSIGVerification: Sendable, Equatable {
    /// The message carries no TSIG record.
    case unsigned
    /// The MAC verifies and the time is within the fudge. `mac` is the message's MAC: sign the
    /// response to a request with it, or verify the next message of a stream with it.
    case valid(key: TSIGKey, mac: [UInt8])
    /// BADKEY: unknown key, or an algorithm other than the key's. BADSIG: the MAC does not verify.
    /// BADTIME: the MAC verifies (and is returned, to sign the error reply with) but the time
    /// signed is outside the fudge. BADTRUNC: the MAC verifies (returned) but is truncated below
    /// the local minimum. For a response, also the error the peer reported in its TSIG.
    case failed(TSIGError, keyName: Name?, mac: [UInt8]?)
    /// The TSIG record cannot be used (not last, bad RDATA, MAC longer than the hash or shorter
    /// than RFC 8945 allows...): answer FORMERR, or drop the response.
    case malformed(String)
}

// MARK: - Signing and verifying

public enum TSIG {
    public static let defaultFudge: UInt16 = 300
    /// Time signed is a 48-bit field.
    static let maxTime: UInt64 = 0xFFFF_FFFF_FFFF
    /// The most other data a TSIG RR built here may carry (its RDATA must fit 65535 bytes).
    public static let maxOtherData = 0xFF00

    /// Signs a request (or a NOTIFY, or the first message of anything): appends a TSIG RR
    /// (uncompressed owner = key name, class ANY, TTL 0) to `message` and increments ARCOUNT.
    /// Returns the signed bytes and the MAC (needed to verify the answer).
    ///
    /// `message` must be a whole message of our own making (at least the 12-byte header, ARCOUNT
    /// below 65535); the result may exceed 65535 bytes if `message` is already close to it.
    public static func sign(_ message: [UInt8], key: TSIGKey, time: UInt64, fudge: UInt16 = 300) -> (
        bytes: [UInt8], mac: [UInt8]
    ) {
        signMessage(
            message, key: key, prefixMAC: nil, timersOnly: false, time: time, fudge: fudge, error: 0, otherData: [])
    }

    /// Signs a response: `requestMAC` is the MAC of the request it answers (RFC 8945 §4.3.1). For
    /// the second and later messages of a multi-message response (AXFR/IXFR), pass the MAC of the
    /// previous message we signed as `requestMAC` and `timersOnly: true` (§5.3.1: prior MAC, the
    /// message, time signed and fudge only). `error` and `otherData` are for error responses
    /// (BADTIME carries the server's 48-bit time as other data, see `errorResponse`).
    ///
    /// An empty `requestMAC` (not timers-only) is left out of the digest altogether, as dnspython
    /// and knot do. Same preconditions on `message` as `sign`; `otherData` at most `maxOtherData`.
    public static func signResponse(
        _ message: [UInt8], key: TSIGKey, requestMAC: [UInt8], timersOnly: Bool = false, time: UInt64,
        fudge: UInt16 = 300, error: UInt16 = 0, otherData: [UInt8] = []
    ) -> (bytes: [UInt8], mac: [UInt8]) {
        signMessage(
            message, key: key, prefixMAC: requestMAC, timersOnly: timersOnly, time: time, fudge: fudge, error: error,
            otherData: otherData)
    }

    /// Finds the TSIG RR and returns it parsed, with the message as it was before signing: the
    /// TSIG RR removed, ARCOUNT decremented and the original ID restored into the header, i.e.
    /// exactly the bytes that were MACed. Nil when the message has no TSIG RR.
    ///
    /// Throws when the message cannot be walked (truncated, bad labels, trailing bytes) or the
    /// TSIG RR is unusable: not the last record of the additional section, a class other than
    /// ANY, a TTL other than 0, RDATA that does not parse to exactly its length.
    public static func extract(_ message: [UInt8]) throws(DNSWireError) -> (record: TSIGRecord, unsigned: [UInt8])? {
        guard let found = try locate(message) else { return nil }
        return (found.record, unsignedBytes(message, tsigAt: found.start, originalID: found.record.originalID))
    }

    /// Verifies a request against a keyring at time `now` (seconds since the epoch), in the order
    /// of RFC 8945 §5.2: key, MAC, time, truncation. `minimumMACLength` is the local truncation
    /// policy (§5.2.4): a valid MAC shorter than it gives BADTRUNC; nil accepts any length RFC 8945
    /// allows.
    ///
    /// A server should also reject a time signed earlier than the last one it accepted from the
    /// key (§5.2.3); that state is the caller's.
    public static func verifyRequest(
        _ message: [UInt8], keyring: TSIGKeyring, now: UInt64, minimumMACLength: Int? = nil
    ) -> TSIGVerification {
        let found: (record: TSIGRecord, unsigned: [UInt8])?
        do {
            found = try extract(message)
        } catch {
            return .malformed(error.description)
        }
        guard let found else { return .unsigned }
        guard let key = keyring.key(named: found.record.keyName) else {
            return .failed(.badKey, keyName: found.record.keyName, mac: nil)
        }
        return check(
            found.record, unsigned: found.unsigned, key: key, prefixMAC: nil, timersOnly: false, intermediates: [],
            now: now, checkTime: true, minimumMACLength: minimumMACLength)
    }

    /// Verifies a response. The first message: `requestMAC` is the MAC we sent. Later messages of a
    /// stream: `requestMAC` is the MAC of the last signed message verified and `timersOnly` is
    /// true. A response without TSIG gives `.unsigned` (for a signed request that is a failure;
    /// `TSIGStreamVerifier` handles the unsigned messages allowed inside a zone transfer).
    ///
    /// When the response's TSIG carries an error (the server rejected our request), the result is
    /// `.failed` with that error; its MAC (when present) is verified first.
    public static func verifyResponse(
        _ message: [UInt8], key: TSIGKey, requestMAC: [UInt8], timersOnly: Bool = false, now: UInt64,
        minimumMACLength: Int? = nil
    ) -> TSIGVerification {
        let found: (record: TSIGRecord, unsigned: [UInt8])?
        do {
            found = try extract(message)
        } catch {
            return .malformed(error.description)
        }
        guard let found else { return .unsigned }
        return verifyResponse(
            found.record, unsigned: found.unsigned, key: key, prefixMAC: requestMAC, timersOnly: timersOnly,
            intermediates: [], now: now, minimumMACLength: minimumMACLength)
    }

    /// The error response to a request whose TSIG failed (RFC 8945 §5.2): the request's ID, QR set,
    /// its opcode, RD and CD, RCODE NOTAUTH, the question copied, no records, and a TSIG RR with
    /// the error. BADKEY and BADSIG are unsigned (empty MAC, time signed = `now`). BADTIME is signed
    /// with `key` and `requestMAC` (from `.failed(.badTime, ...)`), keeps the request's time signed
    /// and carries `now` as 48-bit other data; BADTRUNC is signed the same way, at `now`.
    ///
    /// Nil when the request has no usable TSIG or question section, when BADTIME/BADTRUNC lack the
    /// key or MAC (or the key is not the request's), or when the answer would not fit 65535 bytes.
    public static func errorResponse(
        to request: [UInt8], error: TSIGError, key: TSIGKey?, requestMAC: [UInt8]?, now: UInt64
    ) -> [UInt8]? {
        guard let found = try? extract(request) else { return nil }
        let record = found.record
        let id = UInt16(request[0]) << 8 | UInt16(request[1])
        let flags = UInt16(request[2]) << 8 | UInt16(request[3])
        // QR; the request's opcode, RD and CD; RCODE NOTAUTH.
        let responseFlags = 0x8000 | (flags & 0x7800) | (flags & 0x0110) | Rcode.notAuth.rawValue
        var w = WireWriter(capacity: 512)
        w.u16(id)
        w.u16(responseFlags)
        var r = WireReader(request, offset: 4)
        do {
            let questionCount = try r.u16()
            w.u16(questionCount)
            w.u16(0)
            w.u16(0)
            w.u16(0)
            r.offset = 12
            for _ in 0..<questionCount {
                w.name(try r.name())
                w.u16(try r.u16())
                w.u16(try r.u16())
            }
        } catch {
            return nil
        }
        let message = w.bytes
        let response: [UInt8]
        switch error {
        case .badKey, .badSig:
            let tsig = TSIGRecord(
                keyName: record.keyName, algorithm: record.algorithm, timeSigned: now & maxTime, fudge: defaultFudge,
                mac: [], originalID: id, error: error.rawValue)
            var out = message
            out.append(contentsOf: tsig.wire)
            out[11] = 1
            response = out
        case .badTime, .badTrunc:
            guard let key, let requestMAC, key.name == record.keyName else { return nil }
            var serverTime = WireWriter(capacity: 6, compression: false)
            appendTime(now, to: &serverTime)
            response =
                signResponse(
                    message, key: key, requestMAC: requestMAC, time: error == .badTime ? record.timeSigned : now,
                    fudge: record.fudge, error: error.rawValue, otherData: error == .badTime ? serverTime.bytes : []
                ).bytes
        }
        return response.count <= 65535 ? response : nil
    }

    // MARK: Internals

    static func signMessage(
        _ message: [UInt8], key: TSIGKey, prefixMAC: [UInt8]?, timersOnly: Bool, time: UInt64, fudge: UInt16,
        error: UInt16, otherData: [UInt8]
    ) -> (bytes: [UInt8], mac: [UInt8]) {
        precondition(message.count >= 12, "TSIG signing needs a whole DNS message (at least a 12-byte header)")
        precondition(otherData.count <= maxOtherData, "TSIG other data longer than \(maxOtherData) bytes")
        let arcount = UInt16(message[10]) << 8 | UInt16(message[11])
        precondition(arcount < 0xFFFF, "no room for a TSIG record: ARCOUNT is already 65535")
        let timeSigned = time & maxTime
        let mac = computeMAC(
            key: key, prefixMAC: prefixMAC, timersOnly: timersOnly, intermediates: [], message: message,
            timeSigned: timeSigned, fudge: fudge, error: error, otherData: otherData)
        let record = TSIGRecord(
            keyName: key.name, algorithm: key.algorithm.name, timeSigned: timeSigned, fudge: fudge, mac: mac,
            originalID: UInt16(message[0]) << 8 | UInt16(message[1]), error: error, otherData: otherData)
        var out = message
        out.append(contentsOf: record.wire)
        out[10] = UInt8((arcount + 1) >> 8)
        out[11] = UInt8((arcount + 1) & 0xFF)
        return (out, mac)
    }

    /// The MAC over, in order: the prefix MAC (request MAC or prior MAC, with its 2-byte size),
    /// the unsigned messages since the prior MAC (streams only), the message as it was before
    /// signing, and either all the TSIG variables (RFC 8945 §4.3.3) or only the timers (§5.3.1).
    static func computeMAC(
        key: TSIGKey, prefixMAC: [UInt8]?, timersOnly: Bool, intermediates: [[UInt8]], message: [UInt8],
        timeSigned: UInt64, fudge: UInt16, error: UInt16, otherData: [UInt8]
    ) -> [UInt8] {
        var parts: [[UInt8]] = []
        parts.reserveCapacity(intermediates.count + 4)
        if let prefixMAC, timersOnly || !prefixMAC.isEmpty {
            parts.append([UInt8(truncatingIfNeeded: prefixMAC.count >> 8), UInt8(truncatingIfNeeded: prefixMAC.count)])
            parts.append(prefixMAC)
        }
        parts.append(contentsOf: intermediates)
        parts.append(message)
        var tail = WireWriter(capacity: 300 + otherData.count, compression: false)
        if !timersOnly {
            tail.append(key.name.lowercasedWire)
            tail.u16(RRClass.any.rawValue)
            tail.u32(0)
            tail.append(key.algorithm.name.lowercasedWire)
        }
        appendTime(timeSigned, to: &tail)
        tail.u16(fudge)
        if !timersOnly {
            tail.u16(error)
            tail.u16(UInt16(truncatingIfNeeded: otherData.count))
            tail.append(otherData)
        }
        parts.append(tail.bytes)
        let secret = SymmetricKey(data: key.secret)
        switch key.algorithm {
        case .hmacSHA1: return authenticate(Insecure.SHA1.self, secret, parts)
        case .hmacSHA256: return authenticate(SHA256.self, secret, parts)
        case .hmacSHA512: return authenticate(SHA512.self, secret, parts)
        }
    }

    static func authenticate<H: HashFunction>(_: H.Type, _ secret: SymmetricKey, _ parts: [[UInt8]]) -> [UInt8] {
        var hmac = HMAC<H>(key: secret)
        for part in parts {
            part.withUnsafeBytes { hmac.update(data: $0) }
        }
        return Array(hmac.finalize())
    }

    /// Response checks shared by `verifyResponse` and `TSIGStreamVerifier`: the key name, then a
    /// peer-reported error, then the usual MAC, time and truncation checks.
    static func verifyResponse(
        _ record: TSIGRecord, unsigned: [UInt8], key: TSIGKey, prefixMAC: [UInt8], timersOnly: Bool,
        intermediates: [[UInt8]], now: UInt64, minimumMACLength: Int?
    ) -> TSIGVerification {
        guard record.keyName == key.name else { return .failed(.badKey, keyName: record.keyName, mac: nil) }
        guard record.error == 0 else {
            guard let peerError = TSIGError(rawValue: record.error) else {
                return .malformed("the peer reports TSIG error \(record.error)")
            }
            // BADKEY and BADSIG answers are unsigned; a signed error is believed only if it verifies.
            if record.mac.isEmpty { return .failed(peerError, keyName: record.keyName, mac: nil) }
            let result = check(
                record, unsigned: unsigned, key: key, prefixMAC: prefixMAC, timersOnly: timersOnly,
                intermediates: intermediates, now: now, checkTime: false, minimumMACLength: nil)
            guard case .valid = result else { return result }
            return .failed(peerError, keyName: record.keyName, mac: record.mac)
        }
        return check(
            record, unsigned: unsigned, key: key, prefixMAC: prefixMAC, timersOnly: timersOnly,
            intermediates: intermediates, now: now, checkTime: true, minimumMACLength: minimumMACLength)
    }

    /// RFC 8945 §5.2.1–5.2.4 once the key is known: algorithm, MAC length, MAC, time, truncation.
    static func check(
        _ record: TSIGRecord, unsigned: [UInt8], key: TSIGKey, prefixMAC: [UInt8]?, timersOnly: Bool,
        intermediates: [[UInt8]], now: UInt64, checkTime: Bool, minimumMACLength: Int?
    ) -> TSIGVerification {
        let keyName = record.keyName
        guard TSIGAlgorithm(name: record.algorithm) == key.algorithm else {
            return .failed(.badKey, keyName: keyName, mac: nil)
        }
        let algorithm = key.algorithm
        guard record.mac.count <= algorithm.macLength else {
            return .malformed("a \(record.mac.count)-byte MAC is longer than \(algorithm.rawValue) makes")
        }
        guard record.mac.count >= algorithm.minimumMACLength else {
            return .malformed(
                "a \(record.mac.count)-byte MAC is shorter than the \(algorithm.minimumMACLength) bytes allowed for \(algorithm.rawValue)"
            )
        }
        let expected = computeMAC(
            key: key, prefixMAC: prefixMAC, timersOnly: timersOnly, intermediates: intermediates, message: unsigned,
            timeSigned: record.timeSigned, fudge: record.fudge, error: record.error, otherData: record.otherData)
        guard constantTimeEqual(record.mac, expected.prefix(record.mac.count)) else {
            return .failed(.badSig, keyName: keyName, mac: nil)
        }
        if checkTime {
            let skew = now >= record.timeSigned ? now - record.timeSigned : record.timeSigned - now
            guard skew <= UInt64(record.fudge) else { return .failed(.badTime, keyName: keyName, mac: record.mac) }
        }
        if let minimumMACLength, record.mac.count < min(minimumMACLength, algorithm.macLength) {
            return .failed(.badTrunc, keyName: keyName, mac: record.mac)
        }
        return .valid(key: key, mac: record.mac)
    }

    /// Compares without an early exit, so the time taken does not tell how many bytes matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }

    static func appendTime(_ time: UInt64, to w: inout WireWriter) {
        w.u16(UInt16(truncatingIfNeeded: time >> 32))
        w.u32(UInt32(truncatingIfNeeded: time))
    }

    /// Walks every record of the message and returns the TSIG RR and where it starts, or nil.
    static func locate(_ m: [UInt8]) throws(DNSWireError) -> (record: TSIGRecord, start: Int)? {
        guard m.count >= 12 else { throw DNSWireError(.truncated, at: m.count, "header needs 12 bytes") }
        var r = WireReader(m, offset: 4)
        let questions = Int(try r.u16())
        let answers = Int(try r.u16())
        let authorities = Int(try r.u16())
        let additionals = Int(try r.u16())
        for _ in 0..<questions {
            try skipName(&r)
            try skip(4, &r)
        }
        let total = answers + authorities + additionals
        var found: (record: TSIGRecord, start: Int)? = nil
        for index in 0..<total {
            let start = r.offset
            try skipName(&r)
            let type = try r.u16()
            let rrClass = try r.u16()
            let ttl = try r.u32()
            let length = Int(try r.u16())
            guard r.remaining >= length else {
                throw DNSWireError(.truncated, at: r.offset, "RDATA of \(length) bytes runs past the end")
            }
            if type == RRType.tsig.rawValue {
                guard index == total - 1, additionals > 0 else {
                    throw DNSWireError(.badRData, at: start, "TSIG is not the last record of the additional section")
                }
                guard rrClass == RRClass.any.rawValue else {
                    throw DNSWireError(.badRData, at: start, "TSIG class \(rrClass) is not ANY")
                }
                guard ttl == 0 else { throw DNSWireError(.badRData, at: start, "TSIG TTL \(ttl) is not 0") }
                var owner = WireReader(m, offset: start)
                let keyName = try owner.name()
                var rdata = WireReader(m, offset: r.offset)
                rdata.limit = r.offset + length
                found = (try parseRData(keyName: keyName, &rdata), start)
            }
            r.offset += length
        }
        guard r.isAtEnd else {
            throw DNSWireError(.trailingData, at: r.offset, "\(r.remaining) bytes after the last record")
        }
        return found
    }

    static func parseRData(keyName: Name, _ r: inout WireReader) throws(DNSWireError) -> TSIGRecord {
        let algorithm = try r.name(allowCompression: false)
        let high = UInt64(try r.u16())
        let low = UInt64(try r.u32())
        let fudge = try r.u16()
        let mac = try r.bytes(Int(try r.u16()))
        let originalID = try r.u16()
        let error = try r.u16()
        let otherData = try r.bytes(Int(try r.u16()))
        guard r.isAtEnd else {
            throw DNSWireError(.badRData, at: r.offset, "\(r.remaining) bytes left in TSIG RDATA")
        }
        return TSIGRecord(
            keyName: keyName, algorithm: algorithm, timeSigned: high << 32 | low, fudge: fudge, mac: mac,
            originalID: originalID, error: error, otherData: otherData)
    }

    /// Steps over a possibly compressed name without following pointers (the MAC covers the
    /// bytes; only the TSIG RR's own names are decoded).
    static func skipName(_ r: inout WireReader) throws(DNSWireError) {
        var length = 1
        while true {
            guard r.offset < r.limit else { throw DNSWireError(.truncated, at: r.offset, "name runs past the end") }
            let label = r.bytes[r.offset]
            switch label & 0xC0 {
            case 0x00:
                r.offset += 1
                if label == 0 { return }
                length += 1 + Int(label)
                guard length <= Name.maxWireLength else {
                    throw DNSWireError(.nameTooLong, at: r.offset - 1, "name longer than 255 bytes")
                }
                try skip(Int(label), &r)
            case 0xC0:
                try skip(2, &r)
                return
            default:
                throw DNSWireError(.badLabelType, at: r.offset, "label type 0x\(String(label & 0xC0, radix: 16))")
            }
        }
    }

    static func skip(_ n: Int, _ r: inout WireReader) throws(DNSWireError) {
        guard r.remaining >= n else {
            throw DNSWireError(.truncated, at: r.offset, "need \(n) bytes, have \(r.remaining)")
        }
        r.offset += n
    }

    static func unsignedBytes(_ m: [UInt8], tsigAt start: Int, originalID: UInt16) -> [UInt8] {
        var out = Array(m[0..<start])
        out[0] = UInt8(originalID >> 8)
        out[1] = UInt8(originalID & 0xFF)
        // `locate` only accepts a TSIG in the additional section, so ARCOUNT is at least 1.
        let arcount = (UInt16(out[10]) << 8 | UInt16(out[11])) - 1
        out[10] = UInt8(arcount >> 8)
        out[11] = UInt8(arcount & 0xFF)
        return out
    }
}

// MARK: - Streams

/// Verifies the messages of a multi-message response (AXFR, IXFR over TCP) in order
/// (RFC 8945 §5.3.1). The first message must be signed (against the request MAC); later messages
/// may be unsigned, at most 99 in a row, and are then covered by the next signed message's MAC.
/// Call `finish()` after the last message: a response that ends unsigned is rejected.
///
/// A failure is final: every later call returns it again. Unsigned messages are kept until the
/// next signed one (at most 99 messages).
public struct TSIGStreamVerifier: Sendable {
    public static let maxUnsignedRun = 99

    public let key: TSIGKey
    /// Local truncation policy, as in `TSIG.verifyRequest`.
    public let minimumMACLength: Int?
    /// The MAC of the last signed message verified; the request MAC before the first.
    public private(set) var lastMAC: [UInt8]
    public private(set) var signedCount = 0
    private var pending: [[UInt8]] = []
    private var failure: TSIGVerification? = nil

    public init(key: TSIGKey, requestMAC: [UInt8], minimumMACLength: Int? = nil) {
        self.key = key
        self.lastMAC = requestMAC
        self.minimumMACLength = minimumMACLength
    }

    /// Unsigned messages received since the last signed one.
    public var unsignedSinceLastSigned: Int { pending.count }

    /// Feeds the next message. `.valid` for a signed message that verifies (covering the unsigned
    /// ones before it); `.unsigned` for an unsigned message accepted for now (its content is only
    /// authenticated once a later signed message verifies); `.failed` or `.malformed` otherwise.
    public mutating func verify(_ message: [UInt8], now: UInt64) -> TSIGVerification {
        if let failure { return failure }
        let found: (record: TSIGRecord, unsigned: [UInt8])?
        do {
            found = try TSIG.extract(message)
        } catch {
            return fail(.malformed(error.description))
        }
        guard let found else {
            guard signedCount > 0 else { return fail(.malformed("the first message of the response is not signed")) }
            guard pending.count < Self.maxUnsignedRun else {
                return fail(.malformed("more than \(Self.maxUnsignedRun) unsigned messages in a row"))
            }
            pending.append(message)
            return .unsigned
        }
        let result = TSIG.verifyResponse(
            found.record, unsigned: found.unsigned, key: key, prefixMAC: lastMAC, timersOnly: signedCount > 0,
            intermediates: pending, now: now, minimumMACLength: minimumMACLength)
        guard case .valid(_, let mac) = result else { return fail(result) }
        lastMAC = mac
        signedCount += 1
        pending = []
        return result
    }

    /// The verdict on the whole response once its last message has been fed: `.valid` with the
    /// last MAC when that message was signed and everything verified.
    public func finish() -> TSIGVerification {
        if let failure { return failure }
        guard signedCount > 0 else { return .malformed("no signed message in the response") }
        guard pending.isEmpty else {
            return .malformed("the response ends with \(pending.count) unsigned message(s)")
        }
        return .valid(key: key, mac: lastMAC)
    }

    private mutating func fail(_ result: TSIGVerification) -> TSIGVerification {
        failure = result
        pending = []
        return result
    }
}

// MARK: - Base64

/// Standard base64 (RFC 4648 §4), padding optional; nil on any other character.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var digits = 0
        var padding = 0
        for c in text.utf8 {
            let value: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default:
                return nil
            }
            guard padding == 0 else { return nil }
            accumulator = (accumulator << 6 | UInt32(value)) & 0xFFFFFF
            bits += 6
            digits += 1
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard digits % 4 != 1, padding <= 2, padding == 0 || (digits + padding) % 4 == 0 else { return nil }
        return out
    }
}
