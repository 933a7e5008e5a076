import DNSTestSupport
import Testing

@testable import Resolver

@Suite struct SlotTableTests {
    /// Random sets, replacements and removals, checked against a Dictionary after every step.
    /// Hashes come from a small range so that runs, wrap-around at the table's end and the
    /// back-shifting of removals all happen often.
    @Test(arguments: [UInt64(16), 1 << 12, UInt64.max])
    func agreesWithADictionary(_ range: UInt64) {
        var rng = SplitMix64(seed: 1_234 &+ range)
        var table = SlotTable()
        var reference: [UInt64: Int] = [:]
        for step in 0..<20_000 {
            let h = UInt64.random(in: 0...(range == .max ? .max : range), using: &rng) &* (range == 16 ? 1 << 60 : 1)
            if Int.random(in: 0..<3, using: &rng) == 0 {
                table.remove(h)
                reference[h] = nil
            } else {
                table.set(h, step)
                reference[h] = step
            }
            #expect(table[h] == reference[h])
            if step % 997 == 0 {
                #expect(table.count == reference.count)
                for (k, v) in reference { #expect(table[k] == v) }
            }
        }
        for (k, v) in reference { #expect(table[k] == v) }
        #expect(table.count == reference.count)
        for k in reference.keys { table.remove(k) }
        #expect(table.count == 0)
        #expect(table[reference.keys.first ?? 0] == nil)
    }
}
