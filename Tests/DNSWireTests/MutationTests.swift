import DNSTestSupport
import Testing

@testable import DNSWire

/// A bounded, reproducible fuzz run in the spirit of hickory's `fuzz_targets/message.rs`: mutate
/// golden packets, then parse. A parse either throws a `DNSWireError` or succeeds; when it
/// succeeds, encode -> parse must give back the same message (parse, build and re-parse agree).
@Suite("Mutation")
struct MutationTests {
    static let seeds: [[UInt8]] = Golden.all.flatMap { [hex($0.queryHex), hex($0.responseHex)] }

    enum Outcome {
        case rejected(DNSWireError)
        case accepted
    }

    /// Parses `bytes`; on success checks the round trip and exercises the presentation code.
    static func check(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let first: Message
        do {
            first = try Message(parsing: bytes)
        } catch {
            #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error)", sourceLocation: sourceLocation)
            return .rejected(error)
        }
        do {
            let wire = try first.encode()
            let second = try Message(parsing: wire)
            #expect(second == first, "round trip differs for \(Presentation.hex(bytes))", sourceLocation: sourceLocation)
            #expect(try second.encode() == wire, sourceLocation: sourceLocation)
        } catch {
            Issue.record("parsed but could not re-encode: \(error) for \(Presentation.hex(bytes))", sourceLocation: sourceLocation)
        }
        _ = first.description
        return .accepted
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var p = input
        let steps = Int.random(in: 1...4, using: &rng)
        for _ in 0..<steps {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1, 2:
                // Flip one bit.
                guard !p.isEmpty else { continue }
                let i = Int.random(in: 0..<p.count, using: &rng)
                p[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 3:
                // Overwrite a byte with a random or interesting value.
                guard !p.isEmpty else { continue }
                let i = Int.random(in: 0..<p.count, using: &rng)
                let interesting: [UInt8] = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xFF, 0x29]
                p[i] = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            case 4:
                // Truncate.
                p.removeLast(Int.random(in: 0...p.count, using: &rng))
            case 5:
                // Insert random bytes.
                let at = Int.random(in: 0...p.count, using: &rng)
                let count = Int.random(in: 1...8, using: &rng)
                p.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            case 6:
                // Delete a range.
                guard !p.isEmpty else { continue }
                let at = Int.random(in: 0..<p.count, using: &rng)
                p.removeSubrange(at..<min(p.count, at + Int.random(in: 1...16, using: &rng)))
            case 7:
                // Duplicate a slice somewhere else.
                guard p.count > 2 else { continue }
                let from = Int.random(in: 0..<(p.count - 1), using: &rng)
                let slice = Array(p[from..<min(p.count, from + Int.random(in: 1...32, using: &rng))])
                p.insert(contentsOf: slice, at: Int.random(in: 0...p.count, using: &rng))
            case 8:
                // Plant a compression pointer to a random earlier offset.
                guard p.count > 13 else { continue }
                let i = Int.random(in: 12..<(p.count - 1), using: &rng)
                let target = Int.random(in: 0...i + 2, using: &rng)
                p[i] = 0xC0 | UInt8((target >> 8) & 0x3F)
                p[i + 1] = UInt8(target & 0xFF)
            default:
                // Change a section count.
                guard p.count >= 12 else { continue }
                let field = 4 + 2 * Int.random(in: 0..<4, using: &rng)
                let delta = Int.random(in: -2...2, using: &rng)
                let old = Int(p[field]) << 8 | Int(p[field + 1])
                let new = UInt16(clamping: Bool.random(using: &rng) ? old + delta : Int.random(in: 0...0xFFFF, using: &rng))
                p[field] = UInt8(new >> 8)
                p[field + 1] = UInt8(new & 0xFF)
            }
        }
        return p
    }

    @Test("20,000 mutations of golden packets: errors or agreeing round trips, never a trap")
    func mutations() {
        var rng = SplitMix64(seed: 0xB01_0A4C)
        var accepted = 0
        var rejected: [DNSWireError.Code: Int] = [:]
        for _ in 0..<20_000 {
            let seed = Self.seeds.randomElement(using: &rng)!
            switch Self.check(Self.mutate(seed, &rng)) {
            case .accepted: accepted += 1
            case .rejected(let e): rejected[e.code, default: 0] += 1
            }
        }
        // The run exercises both sides: plenty of packets survive, and many different errors occur.
        #expect(accepted > 1_000)
        #expect(rejected.values.reduce(0, +) > 5_000)
        for code: DNSWireError.Code in [.truncated, .badPointer, .badLabelType, .trailingData, .badRData, .badCount] {
            #expect(rejected[code, default: 0] > 0, "no \(code) errors seen")
        }
    }

    @Test("every truncation of every golden packet is rejected cleanly")
    func everyTruncation() {
        for seed in Self.seeds where seed.count <= 600 {
            for len in 0..<seed.count {
                if case .accepted = Self.check(Array(seed.prefix(len))) {
                    // Only a header-only prefix with zero counts could parse, and golden packets have questions.
                    Issue.record("prefix of \(len) bytes parsed")
                }
            }
        }
    }

    @Test("every single-bit flip of a signed answer")
    func everyBitFlip() {
        let seed = hex(Golden.packet("aDNSSEC").responseHex)
        for i in 0..<seed.count {
            for bit in 0..<8 {
                var p = seed
                p[i] ^= 1 << UInt8(bit)
                _ = Self.check(p)
            }
        }
    }
}
