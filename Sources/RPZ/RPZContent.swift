import DNSWire
import Policy

/// The records one zone lost and gained between two engines.
public struct ZoneDiff: Sendable, Hashable {
    public var deleted: [ResourceRecord] = []
    public var added: [ResourceRecord] = []
    public var isEmpty: Bool { deleted.isEmpty && added.isEmpty }
    public var count: Int { deleted.count + added.count }
}

/// Zone contents are never stored: they are a function of the engine. A change's diff is found
/// by re-evaluating only the names it can have touched; a new base snapshot (a list reloaded)
/// means every name of both engines.
enum ZoneDiffer {
    static func diff(old: PolicyEngine, new: PolicyEngine, zones: [RPZZoneConfig]) -> [ZoneDiff] {
        let oldViews = zones.map { ZoneView(config: $0, engine: old) }
        let newViews = zones.map { ZoneView(config: $0, engine: new) }
        var diffs = [ZoneDiff](repeating: ZoneDiff(), count: zones.count)
        // Reused for every name: no allocation per name in a walk over millions.
        var oldRules: [PolicyMatch] = []
        var newRules: [PolicyMatch] = []

        func compare(_ wire: UnsafeRawBufferPointer, _ oldRules: [PolicyMatch], _ newRules: [PolicyMatch]) {
            for z in zones.indices {
                let a = oldViews[z].state(oldRules)
                let b = newViews[z].state(newRules)
                guard a != b else { continue }
                // Per owner: `name` and `*.name` change independently.
                var gone = OwnerState()
                var came = OwnerState()
                if a.atName != b.atName {
                    gone.atName = a.atName
                    came.atName = b.atName
                }
                if a.below != b.below {
                    gone.below = a.below
                    came.below = b.below
                }
                diffs[z].deleted += oldViews[z].records(wire, gone)
                diffs[z].added += newViews[z].records(wire, came)
            }
        }

        if old.sharesBase(with: new) {
            // Only the delta differs: the names whose delta rules or base removals changed.
            var touched = Set<[UInt8]>()
            for r in Set(old.delta.nameRules).symmetricDifference(Set(new.delta.nameRules)) { touched.insert(r.wire) }
            for e in old.delta.removedNames.symmetricDifference(new.delta.removedNames) {
                touched.insert(old.snapshot.names.wire(of: e))
            }
            for wire in touched.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                wire.withUnsafeBytes { w in
                    old.nameRules(exactly: w, into: &oldRules)
                    new.nameRules(exactly: w, into: &newRules)
                    compare(w, oldRules, newRules)
                }
            }
            if old.delta.prefixRules != new.delta.prefixRules || old.delta.removedPrefixes != new.delta.removedPrefixes {
                diffPrefixes(oldViews, newViews, &diffs)
            }
        } else {
            // Every name of the new engine (once, at its first rule), then the names only the
            // old one had.
            new.forEachNameRule { wire, m in
                new.nameRules(exactly: wire, into: &newRules)
                guard newRules.first == m else { return }
                old.nameRules(exactly: wire, into: &oldRules)
                compare(wire, oldRules, newRules)
            }
            old.forEachNameRule { wire, m in
                old.nameRules(exactly: wire, into: &oldRules)
                guard oldRules.first == m else { return }
                new.nameRules(exactly: wire, into: &newRules)
                guard newRules.isEmpty else { return }
                compare(wire, oldRules, [])
            }
            diffPrefixes(oldViews, newViews, &diffs)
        }
        return diffs
    }

    static func diffPrefixes(_ oldViews: [ZoneView], _ newViews: [ZoneView], _ diffs: inout [ZoneDiff]) {
        for z in oldViews.indices {
            let a = oldViews[z].prefixStates()
            let b = newViews[z].prefixStates()
            guard a != b else { continue }
            for (p, action) in a.sorted(by: { $0.key.description < $1.key.description }) where b[p] != action {
                diffs[z].deleted += oldViews[z].records(p, action)
            }
            for (p, action) in b.sorted(by: { $0.key.description < $1.key.description }) where a[p] != action {
                diffs[z].added += newViews[z].records(p, action)
            }
        }
    }
}

/// Walks a zone's policy records in steps (a transfer sends each step as it goes): names, then
/// address rules. The SOA and NS records are the caller's.
struct ZoneWalker {
    let view: ZoneView
    var cursor = RuleCursor()
    var prefixes: [(CIDR, RPZAction)]? = nil
    var prefixIndex = 0

    init(view: ZoneView) { self.view = view }

    var isDone: Bool { cursor.isDone && prefixes != nil && prefixIndex >= prefixes!.count }

    /// The next records: about `limit` rules' worth; empty when the walk is done.
    mutating func next(limit: Int = 512) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        let view = self.view
        var rules: [PolicyMatch] = []
        while out.isEmpty && !cursor.isDone {
            view.engine.forEachNameRule(from: &cursor, limit: limit) { wire, m in
                guard view.carries(m) else { return }
                view.engine.nameRules(exactly: wire, into: &rules)
                // The name's records go out once, at its first rule this zone carries.
                guard rules.first(where: view.carries) == m else { return }
                out += view.records(wire, view.state(rules))
            }
        }
        if !out.isEmpty { return out }
        if prefixes == nil {
            prefixes = view.prefixStates().sorted { $0.key.description < $1.key.description }.map { ($0.key, $0.value) }
        }
        while prefixIndex < prefixes!.count && out.count < limit {
            let (p, a) = prefixes![prefixIndex]
            out += view.records(p, a)
            prefixIndex += 1
        }
        return out
    }

    /// Every record (tests, the AXFR-to-file command's checks).
    mutating func all() -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        while true {
            let step = next()
            if step.isEmpty { return out }
            out += step
        }
    }
}
