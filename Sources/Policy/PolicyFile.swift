import DNSWire
import Foundation

/// The last snapshot on disk, so that a restart protects from the first query (before any list
/// is fetched again). Layout: magic, a JSON header (lists, classes, seed, prefix rules, local
/// data, array lengths), then the index arrays as raw little-endian bytes. Written to a
/// temporary file and renamed, so a crash never leaves half a snapshot.
public enum PolicyFile {
    static let magic = Array("BULWARK-POLICY-3\n".utf8)
    /// What every version's magic starts with (an older file is refused by name, then rebuilt).
    static let magicPrefix = Array("BULWARK-POLICY-".utf8)

    struct Header: Codable {
        var lists: [ListInfo]
        var classes: [RuleClass]
        var owners: [String]?
        var seed: UInt64
        var arena: Int
        var entries: Int
        var slots: Int
        var prefixes: [PrefixRecord]
        var localData: [Int: [UInt8]]
        var prefixLocalData: [Int: [UInt8]]
        var delta: [DeltaName]
        var ruleBreakEntry: [UInt32]
        var ruleBreakHigh: [UInt16]
        var classRunStart: [UInt32]
        var classRunValue: [UInt16]
        /// The classes are stored one per entry after the record starts (else as runs above).
        var classPerEntry: Bool
    }

    struct PrefixRecord: Codable {
        var prefix: String
        var classID: UInt16
        var ruleID: UInt32
    }

    struct DeltaName: Codable {
        var wire: [UInt8]
        var list: UInt16
        var match: NameMatch
        var kind: RuleEffectKind
        var ruleID: UInt32
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes `engine`'s rules (base and delta) to `path`.
    public static func write(_ engine: PolicyEngine, to path: String) throws {
        let s = engine.snapshot
        func records(_ r: [ResourceRecord]) -> [UInt8] {
            (try? Message(header: Header0.header, answers: r).encode()) ?? []
        }
        let header = Header(
            lists: s.lists, classes: s.classes, owners: s.owners, seed: s.names.seed, arena: s.names.arena.count, entries: s.names.count,
            slots: s.names.slots.count,
            prefixes: s.prefixes.entries.map { PrefixRecord(prefix: $0.prefix.description, classID: $0.classID, ruleID: $0.ruleID) },
            localData: s.localData.mapValues(records), prefixLocalData: s.prefixLocalData.mapValues(records),
            delta: engine.delta.nameRules.map { DeltaName(wire: $0.wire, list: $0.list, match: $0.match, kind: $0.kind, ruleID: $0.ruleID) },
            ruleBreakEntry: s.names.ruleID.breakEntry, ruleBreakHigh: s.names.ruleID.breakHigh,
            classRunStart: s.names.classID.runStart, classRunValue: s.names.classID.runValue, classPerEntry: s.names.classID.perEntry)
        let json = try JSONEncoder().encode(header)
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        // Written piece by piece from the arrays (no second copy of the index in memory), to a
        // temporary file renamed into place.
        let temp = "\(path).tmp-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temp, contents: nil) else {
            throw FormatError(description: "cannot create \(temp)")
        }
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: temp))
            defer { try? h.close() }
            func put(_ p: UnsafeRawBufferPointer) throws {
                guard let base = p.baseAddress, p.count > 0 else { return }
                try h.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: p.count, deallocator: .none))
            }
            try magic.withUnsafeBytes(put)
            try withUnsafeBytes(of: UInt64(json.count).littleEndian, put)
            try h.write(contentsOf: json)
            try s.names.arena.withUnsafeBytes(put)
            try s.names.recordStart.withUnsafeBytes(put)
            try s.names.classID.values.withUnsafeBytes(put)
            try s.names.ruleID.low.withUnsafeBytes(put)
            try s.names.slots.withUnsafeBytes(put)
            try h.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
        if rename(temp, path) != 0 {
            try? FileManager.default.removeItem(atPath: temp)
            throw FormatError(description: "cannot rename \(temp) to \(path)")
        }
    }

    /// Removes temporary files that a write cut short (the process killed before its rename)
    /// left next to `path`; returns how many.
    @discardableResult
    public static func removeLeftovers(of path: String) -> Int {
        let dir = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".tmp-"
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return 0 }
        var removed = 0
        for n in names where n.hasPrefix(prefix) {
            if (try? fm.removeItem(atPath: (dir as NSString).appendingPathComponent(n))) != nil { removed += 1 }
        }
        return removed
    }

    enum Header0 {
        static var header: DNSWire.Header {
            var h = DNSWire.Header()
            h.isResponse = true
            return h
        }
    }

    /// Reads a snapshot written by `write`; the delta's name rules come back as a delta.
    public static func read(from path: String, profiles: [Profile], config: PolicyConfig) throws -> PolicyEngine {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return try data.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws -> PolicyEngine in
            guard p.count > magic.count + 8, p.prefix(magic.count).elementsEqual(magic) else {
                if p.prefix(magicPrefix.count).elementsEqual(magicPrefix) {
                    throw FormatError(description: "\(path): a policy snapshot in another version's format")
                }
                throw FormatError(description: "\(path): not a Bulwark policy snapshot")
            }
            var at = magic.count
            let jsonLength = Int(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            at += 8
            guard jsonLength > 0, jsonLength <= p.count - at else { throw FormatError(description: "\(path): truncated header") }
            let header = try JSONDecoder().decode(Header.self, from: Data(p[at..<(at + jsonLength)]))
            at += jsonLength
            func take<T: FixedWidthInteger>(_ count: Int, _: T.Type) throws -> [T] {
                let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
                guard count >= 0, !overflow, bytes <= p.count - at else { throw FormatError(description: "\(path): truncated") }
                let out = [T](unsafeUninitializedCapacity: count) { b, n in
                    UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: p[at..<(at + bytes)]))
                    n = count
                }
                at += bytes
                return out.map { T(littleEndian: $0) }
            }
            guard (0...NameIndex.maxEntries).contains(header.entries) else { throw FormatError(description: "\(path): inconsistent snapshot") }
            let arena = try take(header.arena, UInt8.self)
            let starts = try take((header.entries + NameIndex.recordStride - 1) / NameIndex.recordStride, UInt32.self)
            let classIDs = ClassColumn(
                runStart: header.classRunStart, runValue: header.classRunValue,
                values: try take(header.classPerEntry ? header.entries : 0, UInt16.self), perEntry: header.classPerEntry, count: header.entries)
            let ruleIDs = RuleIDColumn(low: try take(header.entries, UInt16.self), breakEntry: header.ruleBreakEntry, breakHigh: header.ruleBreakHigh)
            let slots = try take(header.slots, UInt32.self)
            guard at == p.count, header.slots * 7 >= header.entries * 10, header.slots > header.entries,
                classIDs.isValid(count: header.entries, classes: header.classes.count),
                header.classes.allSatisfy({ Int($0.list) < header.lists.count && Int($0.owner) <= (header.owners?.count ?? 0) }), ruleIDs.isValid(count: header.entries),
                slots.allSatisfy({ $0 & 0xFF_FFFF <= UInt32(header.entries) })
            else { throw FormatError(description: "\(path): inconsistent snapshot") }
            guard
                let names = NameIndex(
                    arena: arena, recordStart: starts, count: header.entries, classID: classIDs, ruleID: ruleIDs, slots: slots, seed: header.seed)
            else { throw FormatError(description: "\(path): inconsistent snapshot") }
            var s = PolicySnapshot(names: names)
            s.lists = header.lists
            s.classes = header.classes
            s.owners = header.owners ?? []
            for r in header.prefixes {
                guard let c = CIDR(r.prefix), Int(r.classID) < header.classes.count else { continue }
                s.prefixes.insert(c, classID: r.classID, ruleID: r.ruleID)
            }
            func records(_ b: [UInt8]) -> [ResourceRecord]? { (try? Message(parsing: b))?.answers }
            s.localData = header.localData.compactMapValues(records)
            s.prefixLocalData = header.prefixLocalData.compactMapValues(records)
            var delta = PolicyDelta(seed: header.seed)
            delta.nameRules = header.delta.filter { Int($0.list) < header.lists.count }.map {
                .init(wire: $0.wire, list: $0.list, match: $0.match, kind: $0.kind, ruleID: $0.ruleID)
            }
            delta.rebuild(base: s.classes)
            return PolicyEngine(snapshot: s, delta: delta, profiles: profiles, config: config)
        }
    }
}

extension RuleEffectKind: CustomStringConvertible {
    public var description: String {
        switch self {
        case .block: "block"
        case .nodata: "nodata"
        case .drop: "drop"
        case .localData: "local-data"
        case .allow: "allow"
        }
    }
}
