import DNSTestSupport
import Testing

@testable import DNSWire

@Suite("Name")
struct NameTests {
    @Test("presentation text parses to length-prefixed wire labels")
    func parsesPresentation() throws {
        #expect(try Name("www.example.com.").wire == hex("03777777076578616d706c6503636f6d00"))
        #expect(try Name("www.example.com").wire == hex("03777777076578616d706c6503636f6d00"))
        #expect(try Name(".").wire == [0])
        #expect(try Name(".") == .root)
        #expect(Name.root.isRoot)
        #expect(Name.root.description == ".")
        #expect(try Name("a").description == "a.")
    }

    @Test("escapes: \\. inside a label, \\DDD decimal bytes, \\X literal characters")
    func escapes() throws {
        let dotted = try Name("a\\.b.example.")
        #expect(dotted.labels == [Array("a.b".utf8), Array("example".utf8)])
        #expect(dotted.labelCount == 2)
        #expect(dotted.description == "a\\.b.example.")

        let decimal = try Name("\\065bc.example")
        #expect(decimal.labels.first == Array("Abc".utf8))
        #expect(decimal.description == "Abc.example.")

        let binary = try Name("\\000\\255\\032.x.")
        #expect(binary.labels.first == [0, 255, 32])
        #expect(binary.description == "\\000\\255\\032.x.")

        #expect(try Name("a\\\\b.").labels.first == Array("a\\b".utf8))
        #expect(try Name("a\\\\b.").description == "a\\\\b.")
        // A trailing escaped dot belongs to the label, so the name is relative.
        #expect(try Name("a\\.").labels == [Array("a.".utf8)])
        // Special characters are escaped on output so the text parses back to the same name.
        for text in ["a\\;b.", "a\\(b\\).", "\\@.", "\\$x.", "q\\\"x."] {
            let name = try Name(text)
            #expect(name.description == text)
            #expect(try Name(name.description).wire == name.wire)
        }
    }

    @Test("malformed presentation text throws badPresentation")
    func badPresentation() {
        for text in ["", "..", "a..b", ".a", "a\\", "\\25", "\\2a5.", "\\256.", "a.\\"] {
            #expect(throws: DNSWireError(.badPresentation, at: -1), "\(text)") { try Name(text) }
        }
    }

    @Test("origin: relative names are completed, absolute names are kept, @ is the origin")
    func origin() throws {
        let origin = try Name("example.com.")
        #expect(try Name("www", origin: origin) == Name("www.example.com."))
        #expect(try Name("www.other.", origin: origin) == Name("www.other."))
        #expect(try Name("@", origin: origin) == origin)
        #expect(try Name("www", origin: .root) == Name("www."))
    }

    @Test("63-byte labels and 255-byte names are the limits")
    func limits() throws {
        let l63 = String(repeating: "a", count: 63)
        #expect(try Name("\(l63).com").labels.first?.count == 63)
        #expect(throws: DNSWireError(.labelTooLong, at: -1)) { try Name("\(l63)a.com") }

        // 4 labels of 63 bytes = 4 * 64 + 1 = 257 bytes: too long. 3 * 64 + 61 + 1 + 1 = 255: fits.
        let l61 = String(repeating: "b", count: 61)
        let max = try Name("\(l63).\(l63).\(l63).\(l61).")
        #expect(max.wire.count == 255)
        #expect(throws: DNSWireError(.nameTooLong, at: -1)) { try Name("\(l63).\(l63).\(l63).\(l61)b.") }
        #expect(throws: DNSWireError(.nameTooLong, at: -1)) { try max.appending(Name("x.")) }
        #expect(throws: DNSWireError(.nameTooLong, at: -1)) {
            try Name("x", origin: Name("\(l63).\(l63).\(l63).\(l61)."))
        }

        #expect(throws: DNSWireError(.labelTooLong, at: -1)) { try Name(labels: [Array(repeating: 0x61, count: 64)]) }
        #expect(throws: DNSWireError(.badPresentation, at: -1)) { try Name(labels: [[]]) }
        #expect(try Name(labels: []) == .root)
    }

    @Test("init(wire:) validates uncompressed wire form")
    func wireValidation() throws {
        #expect(try Name(wire: hex("0161026263 00")).description == "a.bc.")
        #expect(throws: DNSWireError(.truncated, at: 5)) { try Name(wire: hex("0161026263")) }
        #expect(throws: DNSWireError(.trailingData, at: 3)) { try Name(wire: hex("016100ff")) }
        #expect(throws: DNSWireError(.labelTooLong, at: 0)) { try Name(wire: hex("c00c")) }
        #expect(throws: DNSWireError(.labelTooLong, at: 0)) { try Name(wire: [64] + Array(repeating: 0x61, count: 64) + [0]) }
        #expect(throws: DNSWireError(.truncated, at: 0)) { try Name(wire: []) }
        var long: [UInt8] = []
        for _ in 0..<4 { long += [63] + Array(repeating: 0x61, count: 63) }
        #expect(throws: DNSWireError(.nameTooLong, at: 0)) { try Name(wire: long + [0]) }
    }

    @Test("equality and hashing ignore ASCII case; the original spelling is kept")
    func caseInsensitive() throws {
        let mixed = try Name("WwW.ExAmPlE.CoM.")
        let lower = try Name("www.example.com.")
        #expect(mixed == lower)
        #expect(mixed.hashValue == lower.hashValue)
        #expect(Set([mixed, lower]).count == 1)
        #expect(mixed.description == "WwW.ExAmPlE.CoM.")
        #expect(mixed.lowercased().description == "www.example.com.")
        #expect(mixed.lowercasedWire == lower.wire)
        #expect(try Name("www.example.org.") != lower)
        // Only ASCII letters fold: bytes 0xC1 and 0xE1 stay distinct, and '@' (0x40) != '`' (0x60).
        #expect(try Name("\\193.") != Name("\\225."))
        #expect(try Name("\\@.") != Name("`."))
        let dict = [lower: 1]
        #expect(dict[mixed] == 1)
    }

    @Test("labelCount, labels, parent")
    func structure() throws {
        let name = try Name("a.b.example.com.")
        #expect(name.labelCount == 4)
        #expect(Name.root.labelCount == 0)
        #expect(name.parent == (try Name("b.example.com.")))
        #expect(try Name("com.").parent == .root)
        #expect(Name.root.parent == nil)
        var chain: [String] = []
        var cur: Name? = name
        while let c = cur {
            chain.append(c.description)
            cur = c.parent
        }
        #expect(chain == ["a.b.example.com.", "b.example.com.", "example.com.", "com.", "."])
    }

    @Test("isSubdomain works on label boundaries and ignores case")
    func subdomain() throws {
        let zone = try Name("example.com.")
        #expect(try Name("www.example.com.").isSubdomain(of: zone))
        #expect(try Name("a.b.EXAMPLE.com.").isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: .root))
        #expect(Name.root.isSubdomain(of: .root))
        #expect(!Name.root.isSubdomain(of: zone))
        #expect(!(try Name("com.").isSubdomain(of: zone)))
        // Same bytes at the end but not on a label boundary.
        #expect(!(try Name("badexample.com.").isSubdomain(of: zone)))
        #expect(!(try Name("www.example.net.").isSubdomain(of: zone)))
        // An escaped dot is part of a label, not a boundary.
        #expect(!(try Name("a\\.example.com.").isSubdomain(of: zone)))
        #expect(!(try Name("xexample\\.com.").isSubdomain(of: try Name("com."))))
    }

    @Test("canonical ordering follows RFC 4034 section 6.1")
    func canonicalOrder() throws {
        // The example list from RFC 4034 §6.1, already in canonical order.
        let ordered = try [
            "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.",
            "\\001.z.example.", "*.z.example.", "\\200.z.example.",
        ].map { try Name($0) }
        #expect(ordered.sorted().map(\.description) == ordered.map(\.description))
        #expect(ordered.reversed().sorted().map(\.description) == ordered.map(\.description))
        var rng = SplitMix64(seed: 4034)
        for _ in 0..<20 {
            #expect(ordered.shuffled(using: &rng).sorted().map(\.description) == ordered.map(\.description))
        }
        for (i, a) in ordered.enumerated() {
            for (j, b) in ordered.enumerated() {
                #expect((a < b) == (i < j), "\(a) < \(b)")
            }
        }
        #expect(Name.root < (try Name("a.")))
        #expect(!((try Name("A.")) < (try Name("a."))))
        #expect(!((try Name("a.")) < (try Name("A."))))
    }

    @Test("random presentation text: parses and prints back to the same name, or throws")
    func randomText() {
        let alphabet = Array("ab.\\0129Z-*@ ;\"".utf8)
        var rng = SplitMix64(seed: 1035)
        var parsed = 0
        for _ in 0..<5_000 {
            let len = Int.random(in: 1...24, using: &rng)
            let text = String(decoding: (0..<len).map { _ in alphabet.randomElement(using: &rng)! }, as: UTF8.self)
            guard let name = try? Name(text) else { continue }
            parsed += 1
            let back = try? Name(name.description)
            #expect(back?.wire == name.wire, "\(text) -> \(name.description)")
            #expect(name.wire.count <= Name.maxWireLength)
        }
        #expect(parsed > 1_000)
    }

    @Test("description round-trips through Name(text) for every byte value")
    func everyByte() throws {
        for b in 0...255 {
            let name = try Name(labels: [[UInt8(b)], Array("x".utf8)])
            let back = try Name(name.description)
            #expect(back.wire == name.wire, "byte \(b) printed as \(name.description)")
        }
    }
}
