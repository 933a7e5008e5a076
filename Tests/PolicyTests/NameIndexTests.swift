import DNSWire
import Foundation
import Testing

@testable import Policy

/// The name index's storage: records in entry order (names and aliases), a record start per 16
/// entries, class ids as runs; and what a snapshot file may and may not contain.
@Suite struct NameIndexTests {
    static func wire(_ text: String) -> [UInt8] { try! Name(text).lowercasedWire }

    @discardableResult
    static func insert(_ index: inout NameIndex, _ text: String, _ c: UInt16, _ r: UInt32 = 1) -> NameIndex.InsertResult {
        wire(text).withUnsafeBytes { index.insert($0, classID: c, ruleID: r) }
    }

    static func entries(_ index: NameIndex, _ text: String) -> [Int] {
        let w = wire(text)
        var out: [Int] = []
        w.withUnsafeBytes { p in
            index.forEach(hash: NameIndex.hash(p, start: 0, seed: index.seed)!, p, start: 0, end: p.count) { e in
                out.append(e)
                return true
            }
        }
        return out.sorted()
    }

    @Test func everyEntryIsFoundThroughItsRecordAndAliases() {
        var index = NameIndex(seed: 7)
        var expected: [(name: String, cls: UInt16)] = []
        var distinctBytes = 0
        var aliases = 0
        for i in 0..<1000 {
            let name = "h\(i).zone\(i % 13).test"
            #expect(Self.insert(&index, name, 0, UInt32(i)) == .added)
            expected.append((name, 0))
            distinctBytes += Self.wire(name).count
            if i % 3 == 0 {
                // The same name in a second list: an alias record, not a second copy.
                #expect(Self.insert(&index, name, 1, UInt32(i)) == .added)
                expected.append((name, 1))
                aliases += 1
            }
            #expect(Self.insert(&index, name, 0) == .duplicate)
        }
        #expect(index.count == expected.count)
        #expect(index.arena.count == distinctBytes + 5 * aliases)
        #expect(index.recordStart.count == (expected.count + 15) / 16)
        for (e, x) in expected.enumerated() {
            #expect(index.wire(of: e) == Self.wire(x.name))
            #expect(index.classID[e] == x.cls)
        }
        #expect(Self.entries(index, "h3.zone3.test") == [4, 5])
        #expect(Self.entries(index, "H998.Zone10.TEST").count == 1)
        #expect(Self.entries(index, "h999.zone11.test").count == 2)
        #expect(Self.entries(index, "h1000.zone12.test").isEmpty)
        var seen = 0
        index.forEachName { e, name in
            #expect(Array(name) == Self.wire(expected[e].name))
            seen += 1
        }
        #expect(seen == expected.count)
    }

    @Test func onlyTheNamesBytesGoIntoTheArena() {
        var index = NameIndex(seed: 5)
        let padded = Self.wire("x.test") + [1, 2, 3]  // a buffer longer than the name in it
        #expect(padded.withUnsafeBytes { index.insert($0, classID: 0, ruleID: 1) } == .added)
        Self.insert(&index, "y.test", 0)
        #expect(index.arena.count == 2 * 8)
        #expect(index.wire(of: 1) == Self.wire("y.test"))
        #expect(Self.entries(index, "x.test") == [0])
        #expect([UInt8]([3, 97, 98]).withUnsafeBytes { index.insert($0, classID: 0, ruleID: 1) } == .full)  // no root label
        #expect(index.count == 2)
    }

    @Test func truncateRemovesLaterRecordsRunsAndSlots() {
        var index = NameIndex(seed: 3)
        for i in 0..<37 { Self.insert(&index, "a\(i).test", UInt16(i / 10)) }
        let mark = (count: index.count, arena: index.arena.count)
        for i in 0..<50 { Self.insert(&index, "b\(i).test", 9) }
        Self.insert(&index, "a5.test", 9)  // an alias after the mark
        index.truncate(to: mark.count, arenaCount: mark.arena)
        #expect(index.count == 37)
        #expect(index.arena.count == mark.arena)
        #expect(index.recordStart.count == 3)
        #expect(index.classID.count == 37 && index.classID.runStart.count == 4)
        #expect(Self.entries(index, "b3.test").isEmpty)
        #expect(Self.entries(index, "a5.test") == [5])
        // It goes on from there as if the later entries had never been added.
        #expect(Self.insert(&index, "c.test", 4) == .added)
        #expect(index.wire(of: 37) == Self.wire("c.test"))
        #expect(Self.entries(index, "c.test") == [37])
        #expect(index.classID[37] == 4 && index.classID[36] == 3)
    }

    @Test func classesOfAListAreRunsAndAlternatingClassesOnePerEntry() {
        var lists = ClassColumn()
        for c in [UInt16(0), 1, 2] { for _ in 0..<1000 { lists.append(c) } }
        #expect(lists.perEntry == false && lists.runStart == [0, 1000, 2000] && lists.runValue == [0, 1, 2])
        #expect(lists[0] == 0 && lists[999] == 0 && lists[1000] == 1 && lists[2999] == 2)
        #expect(lists.memoryBytes < 100)

        // `name` and `*.name` rules in turn (an RPZ zone): runs would cost 6 bytes an entry.
        var rpz = ClassColumn()
        let pattern = (0..<1000).map { UInt16($0 % 2 == 0 ? 4 : 5) }
        for c in pattern { rpz.append(c) }
        #expect(rpz.perEntry && rpz.runStart.isEmpty && rpz.values == pattern)
        #expect((0..<1000).allSatisfy { rpz[$0] == pattern[$0] })
        #expect(rpz.isValid(count: 1000, classes: 6) && !rpz.isValid(count: 1000, classes: 5))

        rpz.truncate(to: 10)
        lists.truncate(to: 1500)
        #expect(rpz.count == 10 && rpz.values == Array(pattern.prefix(10)))
        #expect(lists.count == 1500 && lists.runStart == [0, 1000] && lists[1499] == 1)
        #expect(lists.isValid(count: 1500, classes: 2) && !lists.isValid(count: 1501, classes: 2))
    }

    @Test func recordsFromAFileMustFitTogether() {
        let a = Self.wire("a.test")  // 8 bytes
        let alias: [UInt8] = [0xFF, 0, 0, 0, 0]
        #expect(NameIndex.validRecords(a + alias, [0], 2))
        #expect(!NameIndex.validRecords(a + alias, [0], 1))  // bytes left over
        #expect(!NameIndex.validRecords(a + alias, [1], 2))  // wrong record start
        #expect(!NameIndex.validRecords(a + alias, [], 2))
        #expect(!NameIndex.validRecords(alias + a, [0], 2))  // an alias of itself
        #expect(!NameIndex.validRecords(a + [0xFF, 8, 0, 0, 0], [0], 2))  // an alias pointing at itself
        #expect(!NameIndex.validRecords(a + alias + [0xFF, 8, 0, 0, 0], [0], 3))  // an alias of an alias
        #expect(!NameIndex.validRecords(a + [0xFF, 0, 0], [0], 2))  // cut short
        #expect(!NameIndex.validRecords(Array(a.dropLast()), [0], 1))  // a name without its root
        #expect(!NameIndex.validRecords([64] + [UInt8](repeating: 97, count: 64) + [0], [0], 1))  // a label too long
        var names: [UInt8] = []
        var starts: [UInt32] = []
        for i in 0..<40 {
            if i % 16 == 0 { starts.append(UInt32(names.count)) }
            names += Self.wire("n\(i).test")
        }
        #expect(starts == [0, 150, 310])  // n0…n9 are 9 bytes, n10… 10
        #expect(NameIndex.validRecords(names, starts, 40))
        #expect(!NameIndex.validRecords(names, [starts[0], starts[1]], 40))
    }

    @Test func snapshotWithAliasesAndPerEntryClassesSurvivesAFile() throws {
        var b = RuleBook()
        b.list("zone", [.malware])
        for i in 0..<300 {
            b.name("z\(i).test", .exact, line: 2 * i + 1)
            b.name("z\(i).test", .below, line: 2 * i + 2)
        }
        b.list("feed", [.phishing])
        for i in 0..<300 where i % 2 == 0 { b.name("z\(i).test", line: i + 1) }
        let e = b.engine()
        #expect(e.snapshot.names.classID.perEntry)
        let path = NSTemporaryDirectory() + "bulwark-index-\(UInt32.random(in: 0...UInt32.max))/policy.snapshot"
        try PolicyFile.write(e, to: path)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let r = try PolicyFile.read(from: path, profiles: Profile.builtIn, config: PolicyConfig())
        #expect(r.snapshot.names.arena == e.snapshot.names.arena)
        #expect(r.snapshot.names.recordStart == e.snapshot.names.recordStart)
        #expect(r.snapshot.names.classID == e.snapshot.names.classID)
        for name in ["z0.test", "a.z0.test", "z1.test", "a.z299.test", "z300.test"] {
            #expect(r.verdict(name).kind == e.verdict(name).kind, "\(name)")
            #expect(r.verdict(name).match.map { r.ruleID(of: $0) } == e.verdict(name).match.map { e.ruleID(of: $0) })
        }
        #expect(r.kind("a.z2.test") == .blocked && r.kind("z301.test") == .none)
        var rules = 0
        var cursor = RuleCursor()
        r.forEachNameRule(from: &cursor, limit: .max) { _, _ in rules += 1 }
        #expect(rules == 750)

        // Counts in the header that do not fit the file are an error, however large.
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let jsonStart = PolicyFile.magic.count + 8
        let jsonLength = Int(good[PolicyFile.magic.count..<jsonStart].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let json = String(decoding: good[jsonStart..<(jsonStart + jsonLength)], as: UTF8.self)
        for (field, value) in [("entries", Int.max), ("entries", -1), ("arena", Int.max), ("slots", Int.max / 2), ("entries", 1 << 30)] {
            let edited = json.replacingOccurrences(of: #""\#(field)":\d+"#, with: "\"\(field)\":\(value)", options: .regularExpression)
            #expect(edited != json)
            var file = Data(PolicyFile.magic)
            withUnsafeBytes(of: UInt64(edited.utf8.count).littleEndian) { file.append(contentsOf: $0) }
            file.append(contentsOf: Array(edited.utf8))
            file.append(good[(jsonStart + jsonLength)...])
            try file.write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, "\(field) \(value)") { try PolicyFile.read(from: path, profiles: Profile.builtIn, config: PolicyConfig()) }
        }

        // A file in the previous format is refused by name (the sources are read instead).
        var bytes = good
        bytes.replaceSubrange(0..<PolicyFile.magic.count, with: Array("BULWARK-POLICY-2\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect {
            try PolicyFile.read(from: path, profiles: Profile.builtIn, config: PolicyConfig())
        } throws: { "\($0)".contains("another version's format") }
    }
}
