import DNSTestSupport
import DNSWire
import Testing

@testable import RPZ

/// Bytes from hex; whitespace ignored. Traps on bad hex (test data only).
private func tsigHex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != 0x20 && $0 != 0x0A })
    precondition(digits.count % 2 == 0, "odd hex")
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: fatalError("bad hex digit in test data")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

private func tsigName(_ text: String) -> Name {
    do {
        return try Name(text)
    } catch {
        fatalError("bad test name \(text): \(error)")
    }
}


/// Vectors made once with dnspython 2.9.2 (`dns.message` + `dns.renderer.add_multi_tsig`, the clock
/// patched): key `test-key.` hmac-sha256, secret base64 `c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0`
/// ("secretsecretsecretsecret"), fudge 300, ID 0x1234, time signed 1700000000 for the query and
/// +1, +2 for the answers. dnspython's own parser accepted every one of them.
private enum Dnspython {
    static let time: UInt64 = 1_700_000_000
    static let key = TSIGKey(name: tsigName("test-key."), secret: Array("secretsecretsecretsecret".utf8))

    /// `rpz.example. IN AXFR`, flags 0.
    static let query = tsigHex(
        "1234000000010000000000010372707a076578616d706c650000fc000108746573742d6b65790000fa00ff00000000003d0b686d"
            + "61632d7368613235360000006553f100012c0020ef17a75ed3cda25cb7c92a3e40e5d2ed28a2e0baf8f7b7e0596fca3fcc9cf0"
            + "5c123400000000")
    static let queryMAC = tsigHex("ef17a75ed3cda25cb7c92a3e40e5d2ed28a2e0baf8f7b7e0596fca3fcc9cf05c")

    /// Three answer messages: SOA + CNAME signed with the query MAC; an unsigned CNAME; the closing
    /// SOA signed timers-only (its MAC also covers the unsigned message).
    static let chain = [
        tsigHex(
            "1234840000010002000000010372707a076578616d706c650000fc0001c00c000600010000012c0026026e73c00c0a686f73"
                + "746d6173746572c00c0000000700000e1000000258000151800000003c03626164076578616d706c65c00c000500010000"
                + "012c00010008746573742d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006553f101012c00200e"
                + "68b517b68403156023bf3ca98d1d6256ef1863047d87bed42af95cfe40aa82123400000000"),
        tsigHex(
            "1234840000010001000000000372707a076578616d706c650000fc0001012a03626164076578616d706c65c00c0005000100"
                + "00012c000100"),
        tsigHex(
            "1234840000010001000000010372707a076578616d706c650000fc0001c00c000600010000012c0026026e73c00c0a686f73"
                + "746d6173746572c00c0000000700000e1000000258000151800000003c08746573742d6b65790000fa00ff00000000003d0b"
                + "686d61632d7368613235360000006553f102012c0020494575aab4d3adf06793a94d883b798b3c124d4733c0d3fe37efe21d"
                + "5c4437cd123400000000"),
    ]
    static let chainMACs = [
        tsigHex("0e68b517b68403156023bf3ca98d1d6256ef1863047d87bed42af95cfe40aa82"),
        tsigHex("494575aab4d3adf06793a94d883b798b3c124d4733c0d3fe37efe21d5c4437cd"),
    ]

    /// Two answer messages, both signed: the first is `chain[0]`, the second timers-only.
    static let signedSecond = tsigHex(
        "1234840000010002000000010372707a076578616d706c650000fc0001012a03626164076578616d706c65c00c00050001000001"
            + "2c000100c00c000600010000012c0026026e73c00c0a686f73746d6173746572c00c0000000700000e1000000258000151800"
            + "000003c08746573742d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006553f102012c0020ad0a8247"
            + "3ca8f329e1b3e7d0c984b50fc1ea1acc7110484e9ad66be7f36e6c0c123400000000")

    /// `rpz.example. IN SOA`, ID 0xbeef, signed with the same secret under hmac-sha1 and hmac-sha512.
    static let querySHA1 = tsigHex(
        "beef000000010000000000010372707a076578616d706c65000006000108746573742d6b65790000fa00ff00000000002f0968"
            + "6d61632d736861310000006553f100012c00146602943b8f5207942e52f22999e4a0f37415c2f3beef00000000")
    static let querySHA512 = tsigHex(
        "beef000000010000000000010372707a076578616d706c65000006000108746573742d6b65790000fa00ff00000000005d0b68"
            + "6d61632d7368613531320000006553f100012c004084bc8ebd188feb572d08865af0d2a62fe13b7fcdb608fd5518d86d252e"
            + "263315b62e71ae6b8426e46dd82bf48f3530bba10c59c9a80521fcb7adb9e3642dd043beef00000000")
}

@Suite("TSIG")
struct TSIGTests {
    static let key = TSIGKey(name: tsigName("transfer-key."), secret: Array("0123456789abcdef0123456789abcdef".utf8))
    static let keyring = TSIGKeyring([key])
    static let time: UInt64 = 1_700_000_000

    static func query(_ name: String = "rpz.example.", _ type: RRType = .axfr, id: UInt16 = 0x4242) -> [UInt8] {
        do {
            return try Message(header: Header(id: id), questions: [Question(name: tsigName(name), type: type)]).encode()
        } catch {
            fatalError("cannot encode a test query: \(error)")
        }
    }

    static func answer(id: UInt16 = 0x4242, _ records: [ResourceRecord]) -> [UInt8] {
        var header = Header(id: id)
        header.isResponse = true
        header.authoritative = true
        do {
            return try Message(
                header: header, questions: [Question(name: tsigName("rpz.example."), type: .axfr)], answers: records
            ).encode()
        } catch {
            fatalError("cannot encode a test answer: \(error)")
        }
    }

    static func cname(_ owner: String) -> ResourceRecord {
        ResourceRecord(name: tsigName(owner), ttl: 300, rdata: .cname(.root))
    }

    /// Replaces the TSIG RR of `signed` with `change(record)`.
    static func retagged(_ signed: [UInt8], _ change: (inout TSIGRecord) -> Void) throws -> [UInt8] {
        let found = try #require(try TSIG.extract(signed))
        var record = found.record
        change(&record)
        var out = found.unsigned
        out[0] = signed[0]
        out[1] = signed[1]
        out += record.wire
        out[11] += 1
        return out
    }

    // MARK: Keys

    @Test("algorithm names, lengths and lookup")
    func algorithms() {
        #expect(TSIGAlgorithm.hmacSHA256.name.wire == [11] + Array("hmac-sha256".utf8) + [0])
        #expect(TSIGAlgorithm.hmacSHA1.name.description == "hmac-sha1.")
        #expect(TSIGAlgorithm(name: tsigName("HMAC-SHA512.")) == .hmacSHA512)
        #expect(TSIGAlgorithm(name: tsigName("hmac-md5.sig-alg.reg.int.")) == nil)
        #expect(TSIGAlgorithm.allCases.map(\.macLength) == [20, 32, 64])
        #expect(TSIGAlgorithm.allCases.map(\.minimumMACLength) == [10, 16, 32])
    }

    @Test("key specs as BIND and knot -y take them")
    func keySpecs() throws {
        let plain = try #require(TSIGKey(spec: "transfer-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"))
        #expect(plain.name == tsigName("transfer-key."))
        #expect(plain.algorithm == .hmacSHA256)
        #expect(plain.secret == Array("secretsecretsecretsecret".utf8))

        let sha512 = try #require(TSIGKey(spec: "HMAC-SHA512:Xfr.Example.:QUJD"))
        #expect(sha512.algorithm == .hmacSHA512)
        #expect(sha512.name == tsigName("xfr.example."))
        #expect(sha512.secret == Array("ABC".utf8))
        #expect(TSIGKey(spec: "hmac-sha1:k:QUI=")?.secret == Array("AB".utf8))
        #expect(TSIGKey(spec: "hmac-sha1.:k:QQ==")?.secret == [0x41])
        #expect(TSIGKey(spec: "k:QQ")?.secret == [0x41])

        for bad in [
            "", "key", "a:b:c:d", "hmac-md5:key:QUJD", "key:", ":QUJD", "key:not base64!", "key:Q", "key:QQ=A",
            "key:QQ===", "key:QUJD=", ".:QUJD", "a..b:QUJD",
        ] {
            #expect(TSIGKey(spec: bad) == nil, "\(bad)")
        }
    }

    @Test("a key's description does not show the secret")
    func keyDescription() {
        #expect(Self.key.description == "TSIGKey(transfer-key. hmac-sha256)")
        #expect(!String(describing: Self.key).contains("0123456789"))
    }

    @Test("the keyring looks keys up case-insensitively; the first of a name wins")
    func keyring() {
        let other = TSIGKey(name: tsigName("TRANSFER-KEY."), algorithm: .hmacSHA512, secret: [1, 2, 3])
        let ring = TSIGKeyring([Self.key, other])
        #expect(ring.key(named: tsigName("Transfer-Key.")) == Self.key)
        #expect(ring.key(named: tsigName("nope.")) == nil)
        #expect(TSIGKeyring([]).isEmpty)
    }

    // MARK: Requests

    @Test("sign then verify a request")
    func roundTrip() throws {
        let query = Self.query()
        let (signed, mac) = TSIG.sign(query, key: Self.key, time: Self.time)
        #expect(mac.count == 32)
        #expect(TSIG.verifyRequest(signed, keyring: Self.keyring, now: Self.time) == .valid(key: Self.key, mac: mac))

        let found = try #require(try TSIG.extract(signed))
        #expect(found.unsigned == query)
        #expect(
            found.record
                == TSIGRecord(
                    keyName: Self.key.name, algorithm: TSIGAlgorithm.hmacSHA256.name, timeSigned: Self.time, fudge: 300,
                    mac: mac, originalID: 0x4242))

        // DNSWire reads it as an ordinary message with one (opaque) TSIG record.
        let parsed = try Message(parsing: signed)
        #expect(parsed.additionals.count == 1)
        #expect(parsed.additionals.first?.type == .tsig)
        #expect(parsed.additionals.first?.rrClass == .any)
        #expect(TSIG.verifyRequest(query, keyring: Self.keyring, now: Self.time) == .unsigned)
        #expect(try TSIG.extract(query) == nil)
    }

    @Test("every algorithm signs and verifies; a message with EDNS keeps its OPT before the TSIG")
    func algorithmsAndEDNS() throws {
        let message = try Message(
            header: Header(id: 7), questions: [Question(name: tsigName("example.com."), type: .soa)],
            edns: EDNS(udpPayloadSize: 1232)
        ).encode()
        for algorithm in TSIGAlgorithm.allCases {
            let key = TSIGKey(name: tsigName("k."), algorithm: algorithm, secret: Array(repeating: 7, count: 40))
            let (signed, mac) = TSIG.sign(message, key: key, time: Self.time, fudge: 60)
            #expect(mac.count == algorithm.macLength)
            #expect(
                TSIG.verifyRequest(signed, keyring: TSIGKeyring([key]), now: Self.time + 60)
                    == .valid(key: key, mac: mac))
            let parsed = try Message(parsing: signed)
            #expect(parsed.edns?.udpPayloadSize == 1232)
            #expect(parsed.additionals.map(\.type) == [.tsig])
        }
    }

    @Test("a flipped bit anywhere after the ID never verifies")
    func flippedBits() throws {
        let (signed, mac) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        // The ID itself is not covered: the TSIG's original ID stands in for it (RFC 8945 §4.3.2).
        var newID = signed
        newID[0] ^= 0xFF
        #expect(TSIG.verifyRequest(newID, keyring: Self.keyring, now: Self.time) == .valid(key: Self.key, mac: mac))

        for i in 2..<signed.count {
            var bad = signed
            bad[i] ^= 0x01
            let result = TSIG.verifyRequest(bad, keyring: Self.keyring, now: Self.time)
            if case .valid = result { Issue.record("byte \(i) flipped still verifies") }
        }
        // In the question: BADSIG specifically; in the MAC too.
        var body = signed
        body[14] ^= 0x01
        #expect(
            TSIG.verifyRequest(body, keyring: Self.keyring, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        var macByte = signed
        macByte[signed.count - 10] ^= 0x80
        #expect(
            TSIG.verifyRequest(macByte, keyring: Self.keyring, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
    }

    @Test("a wrong secret is BADSIG; an unknown key or another algorithm is BADKEY")
    func wrongKeys() {
        let (signed, _) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        var wrongSecret = Self.key
        wrongSecret.secret[0] ^= 1
        #expect(
            TSIG.verifyRequest(signed, keyring: TSIGKeyring([wrongSecret]), now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        #expect(
            TSIG.verifyRequest(signed, keyring: TSIGKeyring([]), now: Self.time)
                == .failed(.badKey, keyName: Self.key.name, mac: nil))
        var otherAlgorithm = Self.key
        otherAlgorithm.algorithm = .hmacSHA512
        #expect(
            TSIG.verifyRequest(signed, keyring: TSIGKeyring([otherAlgorithm]), now: Self.time)
                == .failed(.badKey, keyName: Self.key.name, mac: nil))
    }

    @Test("time signed must be within the fudge either way")
    func badTime() {
        let (signed, mac) = TSIG.sign(Self.query(), key: Self.key, time: Self.time, fudge: 300)
        for now in [Self.time - 300, Self.time + 300] {
            #expect(TSIG.verifyRequest(signed, keyring: Self.keyring, now: now) == .valid(key: Self.key, mac: mac))
        }
        for now in [Self.time - 301, Self.time + 301, 0, UInt64.max] {
            #expect(
                TSIG.verifyRequest(signed, keyring: Self.keyring, now: now)
                    == .failed(.badTime, keyName: Self.key.name, mac: mac))
        }
        // The MAC is checked before the time: a bad MAC outside the fudge is BADSIG.
        var bad = signed
        bad[13] ^= 1
        #expect(
            TSIG.verifyRequest(bad, keyring: Self.keyring, now: Self.time + 1000)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
    }

    @Test("truncated MACs: at least max(10, half the hash) or FORMERR; BADTRUNC below the local minimum")
    func truncation() throws {
        let (signed, mac) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let half = try Self.retagged(signed) { $0.mac = Array(mac.prefix(16)) }
        #expect(
            TSIG.verifyRequest(half, keyring: Self.keyring, now: Self.time)
                == .valid(key: Self.key, mac: Array(mac.prefix(16))))
        #expect(
            TSIG.verifyRequest(half, keyring: Self.keyring, now: Self.time, minimumMACLength: 32)
                == .failed(.badTrunc, keyName: Self.key.name, mac: Array(mac.prefix(16))))
        #expect(
            TSIG.verifyRequest(signed, keyring: Self.keyring, now: Self.time, minimumMACLength: 32)
                == .valid(key: Self.key, mac: mac))

        for length in [0, 10, 15] {
            let short = try Self.retagged(signed) { $0.mac = Array(mac.prefix(length)) }
            guard case .malformed = TSIG.verifyRequest(short, keyring: Self.keyring, now: Self.time) else {
                Issue.record("a \(length)-byte MAC is not a format error")
                continue
            }
        }
        let long = try Self.retagged(signed) { $0.mac = mac + [0] }
        guard case .malformed = TSIG.verifyRequest(long, keyring: Self.keyring, now: Self.time) else {
            Issue.record("a MAC longer than the hash is not a format error")
            return
        }
        // A truncated but wrong MAC is still BADSIG.
        let wrong = try Self.retagged(signed) { $0.mac = Array(mac.prefix(15)) + [mac[15] ^ 1] }
        #expect(
            TSIG.verifyRequest(wrong, keyring: Self.keyring, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        // SHA-1: 10 bytes is the floor.
        let sha1 = TSIGKey(name: Self.key.name, algorithm: .hmacSHA1, secret: Self.key.secret)
        let (signed1, mac1) = TSIG.sign(Self.query(), key: sha1, time: Self.time)
        let ten = try Self.retagged(signed1) { $0.mac = Array(mac1.prefix(10)) }
        #expect(
            TSIG.verifyRequest(ten, keyring: TSIGKeyring([sha1]), now: Self.time)
                == .valid(key: sha1, mac: Array(mac1.prefix(10))))
    }

    // MARK: Responses and streams

    @Test("a response is signed over the request MAC")
    func response() {
        let (_, requestMAC) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let answer = Self.answer([Self.cname("a.rpz.example.")])
        let (signed, mac) = TSIG.signResponse(answer, key: Self.key, requestMAC: requestMAC, time: Self.time + 1)
        #expect(
            TSIG.verifyResponse(signed, key: Self.key, requestMAC: requestMAC, now: Self.time)
                == .valid(key: Self.key, mac: mac))
        #expect(
            TSIG.verifyResponse(signed, key: Self.key, requestMAC: mac, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        // As a request (no request MAC) it does not verify either.
        #expect(
            TSIG.verifyRequest(signed, keyring: Self.keyring, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        let stranger = TSIGKey(name: tsigName("other-key."), secret: Self.key.secret)
        #expect(
            TSIG.verifyResponse(signed, key: stranger, requestMAC: requestMAC, now: Self.time)
                == .failed(.badKey, keyName: Self.key.name, mac: nil))
        #expect(TSIG.verifyResponse(answer, key: Self.key, requestMAC: requestMAC, now: Self.time) == .unsigned)
    }

    @Test("a multi-message answer chains each MAC into the next, and a reordered chain fails")
    func chain() {
        let (_, requestMAC) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let messages = (1...3).map { Self.answer([Self.cname("n\($0).rpz.example.")]) }
        var signed: [[UInt8]] = []
        var macs: [[UInt8]] = []
        var previous = requestMAC
        for (i, message) in messages.enumerated() {
            let (bytes, mac) = TSIG.signResponse(
                message, key: Self.key, requestMAC: previous, timersOnly: i > 0, time: Self.time + UInt64(i))
            signed.append(bytes)
            macs.append(mac)
            previous = mac
        }
        previous = requestMAC
        for (i, bytes) in signed.enumerated() {
            let result = TSIG.verifyResponse(
                bytes, key: Self.key, requestMAC: previous, timersOnly: i > 0, now: Self.time)
            #expect(result == .valid(key: Self.key, mac: macs[i]))
            previous = macs[i]
        }
        // Later messages are timers-only: checking one with the full variables fails, and so does
        // checking message 3 right after message 1.
        #expect(
            TSIG.verifyResponse(signed[1], key: Self.key, requestMAC: macs[0], now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        #expect(
            TSIG.verifyResponse(signed[2], key: Self.key, requestMAC: macs[0], timersOnly: true, now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))

        var inOrder = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        for (i, bytes) in signed.enumerated() {
            #expect(inOrder.verify(bytes, now: Self.time) == .valid(key: Self.key, mac: macs[i]))
        }
        #expect(inOrder.finish() == .valid(key: Self.key, mac: macs[2]))
        #expect(inOrder.signedCount == 3)

        var swapped = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        #expect(swapped.verify(signed[0], now: Self.time) == .valid(key: Self.key, mac: macs[0]))
        #expect(swapped.verify(signed[2], now: Self.time) == .failed(.badSig, keyName: Self.key.name, mac: nil))
        // Failures stick.
        #expect(swapped.verify(signed[1], now: Self.time) == .failed(.badSig, keyName: Self.key.name, mac: nil))
        #expect(swapped.finish() == .failed(.badSig, keyName: Self.key.name, mac: nil))
    }

    @Test("a stream allows up to 99 unsigned messages in a row, covered by the next MAC")
    func unsignedRuns() {
        let (_, requestMAC) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let first = TSIG.signResponse(
            Self.answer([Self.cname("first.rpz.example.")]), key: Self.key, requestMAC: requestMAC, time: Self.time)
        let unsigned = (0..<99).map { Self.answer([Self.cname("u\($0).rpz.example.")]) }
        // The signer's MAC covers the unsigned messages: prior MAC, each unsigned message, this one, timers.
        let last = Self.answer([Self.cname("last.rpz.example.")])
        let lastMAC = TSIG.computeMAC(
            key: Self.key, prefixMAC: first.mac, timersOnly: true, intermediates: unsigned, message: last,
            timeSigned: Self.time, fudge: 300, error: 0, otherData: [])
        let lastSigned =
            last
            + TSIGRecord(
                keyName: Self.key.name, algorithm: Self.key.algorithm.name, timeSigned: Self.time, fudge: 300,
                mac: lastMAC, originalID: 0x4242
            ).wire
        var lastBytes = lastSigned
        lastBytes[11] += 1

        var stream = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        #expect(stream.verify(first.bytes, now: Self.time) == .valid(key: Self.key, mac: first.mac))
        for message in unsigned {
            #expect(stream.verify(message, now: Self.time) == .unsigned)
        }
        #expect(stream.unsignedSinceLastSigned == 99)
        guard case .malformed = stream.finish() else {
            Issue.record("a stream ending unsigned is accepted")
            return
        }
        #expect(stream.verify(lastBytes, now: Self.time) == .valid(key: Self.key, mac: lastMAC))
        #expect(stream.finish() == .valid(key: Self.key, mac: lastMAC))

        // Dropping one unsigned message breaks the MAC.
        var dropped = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        _ = dropped.verify(first.bytes, now: Self.time)
        for message in unsigned.dropLast() { _ = dropped.verify(message, now: Self.time) }
        #expect(dropped.verify(lastBytes, now: Self.time) == .failed(.badSig, keyName: Self.key.name, mac: nil))

        // A hundredth unsigned message in a row fails.
        var tooMany = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        _ = tooMany.verify(first.bytes, now: Self.time)
        for message in unsigned { _ = tooMany.verify(message, now: Self.time) }
        guard case .malformed = tooMany.verify(last, now: Self.time) else {
            Issue.record("a hundredth unsigned message is accepted")
            return
        }
        guard case .malformed = tooMany.verify(lastBytes, now: Self.time) else {
            Issue.record("a failed stream recovered")
            return
        }

        // The first message must be signed.
        var unsignedFirst = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
        guard case .malformed = unsignedFirst.verify(unsigned[0], now: Self.time) else {
            Issue.record("an unsigned first message is accepted")
            return
        }
        guard case .malformed = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC).finish() else {
            Issue.record("an empty stream is accepted")
            return
        }
    }

    // MARK: Interoperability

    @Test("a dnspython-signed query verifies, and signing the same query here gives the same bytes")
    func dnspythonQuery() throws {
        let key = Dnspython.key
        #expect(
            TSIG.verifyRequest(Dnspython.query, keyring: TSIGKeyring([key]), now: Dnspython.time)
                == .valid(key: key, mac: Dnspython.queryMAC))
        let found = try #require(try TSIG.extract(Dnspython.query))
        let (ours, mac) = TSIG.sign(found.unsigned, key: key, time: Dnspython.time)
        #expect(ours == Dnspython.query)
        #expect(mac == Dnspython.queryMAC)
        #expect(TSIGKey(spec: "test-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0") == key)

        for (bytes, algorithm) in [(Dnspython.querySHA1, TSIGAlgorithm.hmacSHA1), (Dnspython.querySHA512, .hmacSHA512)]
        {
            let other = TSIGKey(name: key.name, algorithm: algorithm, secret: key.secret)
            guard case .valid = TSIG.verifyRequest(bytes, keyring: TSIGKeyring([other]), now: Dnspython.time) else {
                Issue.record("dnspython's \(algorithm.rawValue) query does not verify")
                continue
            }
            let unsigned = try #require(try TSIG.extract(bytes)).unsigned
            #expect(TSIG.sign(unsigned, key: other, time: Dnspython.time).bytes == bytes)
        }
    }

    @Test("a dnspython-signed transfer verifies, unsigned middle message included")
    func dnspythonTransfer() throws {
        let key = Dnspython.key
        var stream = TSIGStreamVerifier(key: key, requestMAC: Dnspython.queryMAC)
        #expect(stream.verify(Dnspython.chain[0], now: Dnspython.time) == .valid(key: key, mac: Dnspython.chainMACs[0]))
        #expect(stream.verify(Dnspython.chain[1], now: Dnspython.time) == .unsigned)
        #expect(stream.verify(Dnspython.chain[2], now: Dnspython.time) == .valid(key: key, mac: Dnspython.chainMACs[1]))
        #expect(stream.finish() == .valid(key: key, mac: Dnspython.chainMACs[1]))

        // The all-signed variant, one message at a time; and our signer makes the same bytes.
        #expect(
            TSIG.verifyResponse(Dnspython.chain[0], key: key, requestMAC: Dnspython.queryMAC, now: Dnspython.time)
                == .valid(key: key, mac: Dnspython.chainMACs[0]))
        guard
            case .valid(_, let secondMAC) = TSIG.verifyResponse(
                Dnspython.signedSecond, key: key, requestMAC: Dnspython.chainMACs[0], timersOnly: true,
                now: Dnspython.time)
        else {
            Issue.record("dnspython's second signed message does not verify")
            return
        }
        let first = try #require(try TSIG.extract(Dnspython.chain[0])).unsigned
        let ourFirst = TSIG.signResponse(first, key: key, requestMAC: Dnspython.queryMAC, time: Dnspython.time + 1)
        #expect(ourFirst.bytes == Dnspython.chain[0])
        #expect(ourFirst.mac == Dnspython.chainMACs[0])
        let second = try #require(try TSIG.extract(Dnspython.signedSecond)).unsigned
        let ourSecond = TSIG.signResponse(
            second, key: key, requestMAC: Dnspython.chainMACs[0], timersOnly: true, time: Dnspython.time + 2)
        #expect(ourSecond.bytes == Dnspython.signedSecond)
        #expect(ourSecond.mac == secondMAC)
    }

    // MARK: Error responses

    @Test("BADKEY and BADSIG answers are unsigned NOTAUTH with the question and the error")
    func unsignedErrors() throws {
        let (signed, _) = TSIG.sign(Self.query(id: 0x0BAD), key: Self.key, time: Self.time)
        for error in [TSIGError.badKey, .badSig] {
            let reply = try #require(
                TSIG.errorResponse(to: signed, error: error, key: nil, requestMAC: nil, now: Self.time + 5))
            let message = try Message(parsing: reply)
            #expect(message.header.id == 0x0BAD)
            #expect(message.header.isResponse)
            #expect(message.rcode == .notAuth)
            #expect(message.questions == [Question(name: tsigName("rpz.example."), type: .axfr)])
            #expect(message.answers.isEmpty && message.authorities.isEmpty)
            let record = try #require(try TSIG.extract(reply)).record
            #expect(record.keyName == Self.key.name)
            #expect(record.error == error.rawValue)
            #expect(record.mac.isEmpty)
            #expect(record.timeSigned == Self.time + 5)
            // What the client makes of it.
            #expect(
                TSIG.verifyResponse(reply, key: Self.key, requestMAC: [1, 2, 3], now: Self.time)
                    == .failed(error, keyName: Self.key.name, mac: nil))
        }
        #expect(TSIG.errorResponse(to: Self.query(), error: .badKey, key: nil, requestMAC: nil, now: Self.time) == nil)
        #expect(TSIG.errorResponse(to: [1, 2, 3], error: .badSig, key: nil, requestMAC: nil, now: Self.time) == nil)
    }

    @Test("a BADTIME answer is signed, keeps the request's time and carries the server's")
    func badTimeAnswer() throws {
        let (signed, _) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let now = Self.time + 3600
        guard
            case .failed(.badTime, let keyName?, let mac?) = TSIG.verifyRequest(signed, keyring: Self.keyring, now: now)
        else {
            Issue.record("not BADTIME")
            return
        }
        let key = try #require(Self.keyring.key(named: keyName))
        let reply = try #require(TSIG.errorResponse(to: signed, error: .badTime, key: key, requestMAC: mac, now: now))
        #expect(try Message(parsing: reply).rcode == .notAuth)
        let record = try #require(try TSIG.extract(reply)).record
        #expect(record.error == TSIGError.badTime.rawValue)
        #expect(record.timeSigned == Self.time)
        #expect(record.otherData == (0..<6).map { UInt8(truncatingIfNeeded: now >> (40 - 8 * UInt64($0))) })
        #expect(record.otherData == [0, 0, 0x65, 0x53, 0xFF, 0x10])
        // The client checks the signature, and sees the server's complaint.
        #expect(
            TSIG.verifyResponse(reply, key: Self.key, requestMAC: mac, now: Self.time)
                == .failed(.badTime, keyName: Self.key.name, mac: record.mac))
        #expect(
            TSIG.verifyResponse(reply, key: Self.key, requestMAC: [UInt8](repeating: 0, count: 32), now: Self.time)
                == .failed(.badSig, keyName: Self.key.name, mac: nil))
        // Without the key it cannot be made.
        #expect(TSIG.errorResponse(to: signed, error: .badTime, key: nil, requestMAC: mac, now: now) == nil)
        let stranger = TSIGKey(name: tsigName("other-key."), secret: Self.key.secret)
        #expect(TSIG.errorResponse(to: signed, error: .badTime, key: stranger, requestMAC: mac, now: now) == nil)

        let trunc = try #require(TSIG.errorResponse(to: signed, error: .badTrunc, key: key, requestMAC: mac, now: now))
        let truncRecord = try #require(try TSIG.extract(trunc)).record
        #expect(truncRecord.timeSigned == now && truncRecord.otherData.isEmpty)
        #expect(
            TSIG.verifyResponse(trunc, key: Self.key, requestMAC: mac, now: now)
                == .failed(.badTrunc, keyName: Self.key.name, mac: truncRecord.mac))
    }

    // MARK: Hostile input

    @Test("a TSIG that is not the last record, or is badly formed, is malformed")
    func misplacedTSIG() throws {
        let (signed, _) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let found = try #require(try TSIG.extract(signed))
        let tsig = found.record.wire
        var cases: [String: [UInt8]] = [:]

        // TSIG, then an A record, in the additional section.
        var notLast = signed + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1]
        notLast[11] = 2
        cases["not last"] = notLast
        // TSIG in the answer section.
        var inAnswer = signed
        inAnswer[7] = 1
        inAnswer[11] = 0
        cases["in the answer section"] = inAnswer
        // Two TSIGs.
        var twice = signed + tsig
        twice[11] = 2
        cases["twice"] = twice
        cases["trailing byte"] = signed + [0]
        cases["class IN"] = try Self.classOrTTL(signed, offset: 2, [0, 1])
        cases["TTL 1"] = try Self.classOrTTL(signed, offset: 4, [0, 0, 0, 1])
        // An extra byte inside the RDATA (RDLENGTH grown to match).
        var longRData = signed + [0]
        let rdlengthAt = found.unsigned.count + Self.key.name.wire.count + 8
        longRData[rdlengthAt + 1] += 1
        cases["RDATA longer than its fields"] = longRData
        // A compressed algorithm name.
        var compressedAlgorithm = signed
        compressedAlgorithm.replaceSubrange(
            (rdlengthAt + 2)..<(rdlengthAt + 2 + 13), with: [0xC0, 12] + [UInt8](repeating: 0, count: 11))
        cases["compressed algorithm"] = compressedAlgorithm

        for (what, bytes) in cases {
            guard case .malformed = TSIG.verifyRequest(bytes, keyring: Self.keyring, now: Self.time) else {
                Issue.record("\(what): not malformed")
                continue
            }
            #expect(throws: DNSWireError.self, "\(what)") { try TSIG.extract(bytes) }
            guard case .malformed = TSIG.verifyResponse(bytes, key: Self.key, requestMAC: [], now: Self.time) else {
                Issue.record("\(what): not malformed as a response")
                continue
            }
        }
    }

    /// `signed` with the bytes at `offset` past the TSIG owner's end replaced (class at 2, TTL at 4).
    static func classOrTTL(_ signed: [UInt8], offset: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let start = try #require(try TSIG.extract(signed)).unsigned.count + key.name.wire.count
        var out = signed
        out.replaceSubrange((start + offset)..<(start + offset + bytes.count), with: bytes)
        return out
    }

    @Test("every truncation of a signed message is malformed")
    func truncations() {
        let (signed, _) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        for length in 0..<signed.count {
            let cut = Array(signed.prefix(length))
            guard case .malformed = TSIG.verifyRequest(cut, keyring: Self.keyring, now: Self.time) else {
                Issue.record("\(length) bytes: not malformed")
                continue
            }
            var stream = TSIGStreamVerifier(key: Self.key, requestMAC: [])
            guard case .malformed = stream.verify(cut, now: Self.time) else {
                Issue.record("\(length) bytes: not malformed in a stream")
                continue
            }
        }
    }

    @Test("random bytes and random damage never crash and never verify")
    func fuzz() {
        func lower(_ bytes: [UInt8]) -> [UInt8] { bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }
        var random = SplitMix64(seed: 0x7516)
        let (signed, requestMAC) = TSIG.sign(Self.query(), key: Self.key, time: Self.time)
        let (response, _) = TSIG.signResponse(
            Self.answer([Self.cname("x.rpz.example.")]), key: Self.key, requestMAC: requestMAC, time: Self.time)
        for round in 0..<3000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<Int.random(in: 0..<200, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                if bytes.count >= 12, round % 2 == 0 {
                    // Plausible counts, so the walk gets further.
                    bytes[4] = 0
                    bytes[5] = 1
                    bytes[6] = 0
                    bytes[8] = 0
                    bytes[10] = 0
                    bytes[11] = 1
                }
            case 1:
                bytes = signed
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 2..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            default:
                bytes = response
                let at = Int.random(in: 2..<bytes.count, using: &random)
                bytes[at] = UInt8.random(in: 0...255, using: &random)
                if round % 4 == 0 { bytes.removeLast(Int.random(in: 0..<20, using: &random)) }
            }
            // Names in the TSIG RR compare case-insensitively, so a change of case alone may verify.
            if case .valid = TSIG.verifyRequest(bytes, keyring: Self.keyring, now: Self.time),
                lower(bytes) != lower(signed)
            {
                Issue.record("round \(round): damaged request verifies")
            }
            if case .valid = TSIG.verifyResponse(bytes, key: Self.key, requestMAC: requestMAC, now: Self.time),
                lower(bytes) != lower(response)
            {
                Issue.record("round \(round): damaged response verifies")
            }
            var stream = TSIGStreamVerifier(key: Self.key, requestMAC: requestMAC)
            _ = stream.verify(bytes, now: Self.time)
            _ = stream.finish()
            _ = TSIG.errorResponse(to: bytes, error: .badSig, key: Self.key, requestMAC: requestMAC, now: Self.time)
            _ = TSIG.errorResponse(to: bytes, error: .badTime, key: Self.key, requestMAC: requestMAC, now: Self.time)
        }
    }
}
