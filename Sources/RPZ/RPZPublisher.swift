import DNSWire
import Foundation
import Logging
import Policy

/// One change of a zone, as IXFR sends it.
public struct JournalEntry: Sendable, Hashable {
    public var from: UInt32
    public var to: UInt32
    public var diff: ZoneDiff
}

/// A zone as of one serial: what a transfer sends. Immutable; walked outside the publisher.
public struct ZoneSnapshot: Sendable {
    let view: ZoneView
    public let serial: UInt32
    public var config: RPZZoneConfig { view.config }
    public var apex: Name { view.config.apex }

    public var soa: ResourceRecord {
        let c = view.config
        return ResourceRecord(
            name: c.apex, ttl: c.minimum,
            rdata: .soa(.init(mname: c.mname, rname: c.rname, serial: serial, refresh: c.refresh, retry: c.retry, expire: c.expire, minimum: c.minimum)))
    }
    public var ns: ResourceRecord { ResourceRecord(name: view.config.apex, ttl: view.config.minimum, rdata: .ns(.localhost)) }

    /// Every record of the zone, SOA first (not repeated at the end).
    public func records() -> [ResourceRecord] {
        var w = ZoneWalker(view: view)
        return [soa, ns] + w.all()
    }
}

/// What a secondary last did with a zone (by source address, and key when signed).
public struct SecondaryStatus: Sendable, Hashable, Codable {
    public var address: String
    public var key: String?
    /// The serial it last transferred (nil: it only asked the SOA so far).
    public var serial: UInt32?
    public var transferredAt: Date?
    /// "axfr", "ixfr", "ixfr-axfr" (IXFR answered in full) or "ixfr-current".
    public var kind: String?
    public var lastSeen: Date
    /// True when `serial` is the zone's current serial.
    public var current: Bool
}

public struct NotifyStatus: Sendable, Hashable, Codable {
    public var target: String
    public var serial: UInt32
    public var acknowledged: Bool
    public var attempts: Int
    public var lastAttempt: Date?
    public var error: String?
}

public struct ZoneStatus: Sendable, Hashable, Codable {
    public var zone: String
    public var serial: UInt32
    public var journalChanges: Int
    public var oldestJournalSerial: UInt32?
    public var secondaries: [SecondaryStatus]
    public var notify: [NotifyStatus]
    /// "applied on N of M": the secondaries (and NOTIFY targets) holding the current serial.
    public var upToDate: Int
    public var known: Int
}

/// The published zones: serials, journals and who fetched what. Policy engines come in through
/// `publish`; the diff runs off the actor, one at a time, the newest pending engine next.
public actor RPZPublisher {
    public nonisolated let zones: [RPZZoneConfig]
    struct ZoneState {
        var serial: UInt32
        var journal: [JournalEntry] = []
        var journalRecords = 0
        var secondaries: [String: SecondaryStatus] = [:]
        var notify: [String: NotifyStatus] = [:]
    }
    var states: [ZoneState]
    var engine: PolicyEngine
    var pending: PolicyEngine?
    var running = false
    let statePath: String?
    let logger: Logger
    /// Journal bounds per zone: a diff bigger than the record budget empties it (IXFR then
    /// answers with the whole zone).
    public let journalMaxChanges: Int
    public let journalMaxRecords: Int
    var changeHandlers: [@Sendable (Int, UInt32) -> Void] = []
    var idleWaiters: [CheckedContinuation<Void, Never>] = []

    public init(
        zones: [RPZZoneConfig], engine: PolicyEngine, statePath: String? = nil, now: Date = Date(),
        journalMaxChanges: Int = 1000, journalMaxRecords: Int = 500_000, logger: Logger = Logger(label: "bulwark.rpz")
    ) {
        self.zones = zones
        self.engine = engine
        self.statePath = statePath
        self.logger = logger
        self.journalMaxChanges = journalMaxChanges
        self.journalMaxRecords = journalMaxRecords
        // Serials start at the clock (seconds), and never below the last one published before a
        // restart: secondaries see the serial grow (RFC 1982) across restarts.
        let stored = statePath.flatMap(Self.loadSerials) ?? [:]
        let clock = UInt32(truncatingIfNeeded: Int(now.timeIntervalSince1970))
        let initial = zones.map { z in
            var serial = clock
            if let s = stored[z.apex.description], Serial.greater(s &+ 1, than: serial) { serial = s &+ 1 }
            return ZoneState(serial: serial)
        }
        states = initial
        if let statePath { Self.saveSerials(Dictionary(uniqueKeysWithValues: zones.indices.map { (zones[$0].apex.description, initial[$0].serial) }), to: statePath) }
    }

    /// Called with (zone index, new serial) after each change (the NOTIFY sender).
    public func onChange(_ handler: @escaping @Sendable (Int, UInt32) -> Void) { changeHandlers.append(handler) }

    /// A new policy: diffs it against the last one and advances the serial of every zone it
    /// changes. Returns when this engine (or a newer one) is published.
    public func publish(_ new: PolicyEngine) async {
        pending = new
        if running {
            await withCheckedContinuation { idleWaiters.append($0) }
            return
        }
        running = true
        while let next = pending {
            pending = nil
            let old = engine
            let zones = self.zones
            let diffs = await Task.detached(priority: .utility) { ZoneDiffer.diff(old: old, new: next, zones: zones) }.value
            apply(next, diffs)
        }
        running = false
        let waiters = idleWaiters
        idleWaiters = []
        for w in waiters { w.resume() }
    }

    func apply(_ next: PolicyEngine, _ diffs: [ZoneDiff]) {
        engine = next
        var changed: [(Int, UInt32)] = []
        for (z, d) in diffs.enumerated() where !d.isEmpty {
            var s = states[z]
            let from = s.serial
            let clock = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
            s.serial = Serial.greater(clock, than: from &+ 1) ? clock : from &+ 1
            if d.count > journalMaxRecords {
                s.journal = []
                s.journalRecords = 0
            } else {
                s.journal.append(JournalEntry(from: from, to: s.serial, diff: d))
                s.journalRecords += d.count
                while s.journal.count > journalMaxChanges || s.journalRecords > journalMaxRecords {
                    s.journalRecords -= s.journal.removeFirst().diff.count
                }
            }
            let serial = s.serial
            for k in Array(s.secondaries.keys) { s.secondaries[k]!.current = s.secondaries[k]!.serial == serial }
            states[z] = s
            changed.append((z, s.serial))
            logger.info(
                "rpz zone changed",
                metadata: ["zone": "\(zones[z].apex)", "serial": "\(s.serial)", "deleted": "\(d.deleted.count)", "added": "\(d.added.count)"])
        }
        guard !changed.isEmpty else { return }
        if let statePath { Self.saveSerials(Dictionary(uniqueKeysWithValues: zones.indices.map { (zones[$0].apex.description, states[$0].serial) }), to: statePath) }
        for (z, serial) in changed { for h in changeHandlers { h(z, serial) } }
    }

    // MARK: reads for the server

    public func zoneIndex(_ apex: Name) -> Int? {
        let a = apex.lowercased()
        return zones.firstIndex { $0.apex == a }
    }

    public func snapshot(_ z: Int) -> ZoneSnapshot {
        ZoneSnapshot(view: ZoneView(config: zones[z], engine: engine), serial: states[z].serial)
    }

    public func serial(_ z: Int) -> UInt32 { states[z].serial }

    /// The changes from `serial` to the current one, oldest first; nil when the journal does
    /// not reach back that far (then only a full transfer will do). Empty when current.
    public func changes(_ z: Int, from serial: UInt32) -> (changes: [JournalEntry], snapshot: ZoneSnapshot)? {
        let snap = snapshot(z)
        if serial == snap.serial { return ([], snap) }
        let journal = states[z].journal
        guard let start = journal.firstIndex(where: { $0.from == serial }) else { return nil }
        return (Array(journal[start...]), snap)
    }

    /// Notes a transfer or SOA check by a secondary.
    public func record(_ z: Int, client: String, key: String?, serial: UInt32?, kind: String, now: Date = Date()) {
        let id = key.map { "\(client) key \($0)" } ?? client
        var s = states[z].secondaries[id] ?? SecondaryStatus(address: client, key: key, lastSeen: now, current: false)
        s.lastSeen = now
        if let serial {
            s.serial = serial
            s.transferredAt = now
            s.kind = kind
        }
        s.current = s.serial == states[z].serial
        states[z].secondaries[id] = s
    }

    public func recordNotify(_ z: Int, target: String, serial: UInt32, acknowledged: Bool, attempts: Int, error: String?, now: Date = Date()) {
        states[z].notify[target] = NotifyStatus(
            target: target, serial: serial, acknowledged: acknowledged, attempts: attempts, lastAttempt: now, error: error)
    }

    public func status() -> [ZoneStatus] {
        zones.indices.map { z in
            let s = states[z]
            let secondaries = s.secondaries.values.sorted { ($0.address, $0.key ?? "") < ($1.address, $1.key ?? "") }
            return ZoneStatus(
                zone: zones[z].apex.description, serial: s.serial, journalChanges: s.journal.count,
                oldestJournalSerial: s.journal.first?.from, secondaries: secondaries,
                notify: s.notify.values.sorted { $0.target < $1.target },
                upToDate: secondaries.filter(\.current).count, known: secondaries.count)
        }
    }

    /// Waits until no diff is running or pending (tests).
    public func idle() async {
        if !running { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    // MARK: serials on disk

    static func loadSerials(_ path: String) -> [String: UInt32]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode([String: UInt32].self, from: data)
    }

    static func saveSerials(_ serials: [String: UInt32], to path: String) {
        guard let data = try? JSONEncoder().encode(serials) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Serial number arithmetic (RFC 1982).
public enum Serial {
    /// True when `a` is after `b`.
    public static func greater(_ a: UInt32, than b: UInt32) -> Bool {
        a != b && (a &- b) < 0x8000_0000
    }
}
