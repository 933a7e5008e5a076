import Foundation
import Policy
import Storage

/// One value to ingest, with its provenance, before the guard and the lifecycle decide its
/// state.
public struct IntelCandidate: Sendable {
    public var value: IntelValue
    /// MISP attribute uuid, or "" for feed lines and API entries.
    public var ref: String
    public var originalType: String?
    public var originalValue: String?
    public var categories: [String]
    public var tags: [String] = []
    public var tlp: String?
    public var distribution: Int?
    public var toIDS = true
    public var deleted = false
    public var eventUUID: String?
    public var eventID: String?
    public var orgName: String?
    public var comment: String?
    public var firstSeen: Date?
    public var lastSeen: Date?
    public var sourceTimestamp: Int64?

    public init(value: IntelValue, ref: String = "", categories: [String]) {
        self.value = value
        self.ref = ref
        self.categories = categories
    }
}

/// The false-positive guard at ingest: warninglists, the configured allow-list, and the public
/// suffix rule (a public suffix such as `github.io` or `co.uk` is never blocked: that would
/// block every site below it).
public struct IngestGuard: Sendable {
    public var warninglists: WarninglistSet
    public var allow: Allowlist
    public var psl: PublicSuffixList?

    public init(warninglists: WarninglistSet, allow: Allowlist, psl: PublicSuffixList?) {
        self.warninglists = warninglists
        self.allow = allow
        self.psl = psl
    }

    /// Why `v` must not be enforced (every reason that applies), or nil.
    public func reason(_ v: IntelValue, mispType: String?) -> String? {
        var why: [String] = []
        if let r = allow.match(v, psl: psl) { why.append(r) }
        if let r = warninglists.match(v, mispType: mispType, psl: psl) { why.append(r) }
        if v.kind == .domain || v.kind == .hostname, let psl, psl.isPublicSuffix(v.value) {
            why.append("public suffix \(v.value): blocking it would block every name below it")
        }
        return why.isEmpty ? nil : why.joined(separator: "; ")
    }
}

/// What one ingest did.
public struct IngestResult: Sendable, Equatable {
    public var received = 0
    public var accepted = 0
    public var suppressed = 0
    public var withdrawn = 0
    public var expired = 0
    public var rejected: [String] = []
    public var addedRules = 0
    public var removedRules = 0
    public init() {}
}

extension IndicatorKind {
    init(_ k: IntelValueKind) {
        switch k {
        case .domain: self = .domain
        case .hostname: self = .hostname
        case .ip: self = .ip
        case .cidr: self = .cidr
        }
    }
}

/// Turns candidates into records (state and validity decided) and store changes into policy
/// rule changes.
struct IngestPlanner: Sendable {
    var settings: IntelSettings
    var guardrail: IngestGuard

    /// The record for a candidate: withdrawn when deleted or not actionable at the source,
    /// suppressed by the guard, expired when its validity already ran out, else active.
    func record(_ c: IntelCandidate, sourceID: Int64, now: Date, lifetime: TimeInterval? = nil) -> IndicatorRecord {
        let kind = IndicatorKind(c.value.kind)
        var categories = c.categories
        if categories.isEmpty { categories = ["custom"] }
        var r = IndicatorRecord(
            sourceID: sourceID, ref: c.ref, value: c.value.value, kind: kind, categories: categories, tags: c.tags, tlp: c.tlp,
            distribution: c.distribution, toIDS: c.toIDS, eventUUID: c.eventUUID, eventID: c.eventID,
            attributeUUID: c.ref.isEmpty ? nil : c.ref, originalType: c.originalType, originalValue: c.originalValue, orgName: c.orgName,
            comment: c.comment, firstSeen: c.firstSeen, lastSeen: c.lastSeen, sourceTimestamp: c.sourceTimestamp, createdAt: now, updatedAt: now)
        r.validUntil = validUntil(r, now: now, lifetime: lifetime)
        if c.deleted {
            r.state = .withdrawn
            r.stateReason = "deleted at the source"
        } else if !c.toIDS {
            r.state = .withdrawn
            r.stateReason = "to_ids is off at the source (not actionable)"
        } else if let why = guardrail.reason(c.value, mispType: c.originalType) {
            r.state = .suppressed
            r.stateReason = why
        } else if let v = r.validUntil, v <= now {
            r.state = .expired
            r.stateReason = "valid until \(IntelHub.iso(v)) (last seen + lifetime)"
        }
        return r
    }

    /// Last seen (or the source's edit time, or now) plus the source's lifetime, else the
    /// category's; with decay
    /// on, the earlier of that and the time the MISP decay score crosses its threshold.
    func validUntil(_ r: IndicatorRecord, now: Date, lifetime: TimeInterval? = nil) -> Date {
        var seen = r.lastSeen ?? r.sourceTimestamp.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? now
        if seen > now { seen = now }
        let category = IntelLists.category(r.categories)
        var until = seen.addingTimeInterval(lifetime ?? settings.lifetime(category: category.description))
        if settings.decay {
            let model: DecayModel = category == .phishing ? .phishing : .nidsSimple
            until = min(until, model.expiry(from: seen, base: model.defaultBase))
        }
        return until
    }

    /// Rule changes from store changes: a rule goes when an enforced indicator stops being
    /// enforced or changes value, kind or category; one comes when an indicator becomes
    /// enforced or changes.
    static func ruleChanges(_ changes: [IndicatorChange]) -> (adding: [IntelPolicyRule], removing: [IntelPolicyRule]) {
        var adding: [IntelPolicyRule] = []
        var removing: [IntelPolicyRule] = []
        for ch in changes {
            let now = IntelPolicyRule(ch.record)
            let was: IntelPolicyRule? =
                ch.wasActive
                ? IntelPolicyRule(
                    value: ch.previousValue ?? ch.record.value, kind: ch.previousKind ?? ch.record.kind,
                    category: IntelLists.category(ch.previousCategories ?? ch.record.categories), id: ch.record.id ?? 0) : nil
            let active = ch.record.isActive
            if let was, !active || was.value != now.value || was.kind != now.kind || was.category != now.category {
                removing.append(was)
            }
            if active && (was == nil || was!.value != now.value || was!.kind != now.kind || was!.category != now.category) {
                adding.append(now)
            }
        }
        return (adding, removing)
    }
}
