import Foundation

/// One MISP attribute, as read from an event, a feed or `attributes/restSearch`.
///
/// MISP sends ids, timestamps and booleans as strings or numbers depending on the endpoint;
/// they are read leniently. `distribution` is kept raw (5 means "inherit from the event").
public struct MISPAttribute: Sendable, Hashable {
    /// The attribute's uuid (the key for upserts).
    public var uuid: String
    /// The MISP type, e.g. `domain`, `ip-dst`, `url`.
    public var type: String
    /// The raw value.
    public var value: String
    /// The MISP category, e.g. `Network activity` ("" when absent).
    public var category: String
    /// Whether the attribute is actionable (`to_ids`).
    public var toIDS: Bool
    /// Whether it is soft-deleted.
    public var deleted: Bool
    /// When it was last edited (epoch seconds; 0 when absent).
    public var timestamp: Int64
    /// The attribute's own tags.
    public var tags: [String]
    /// Tags inherited from the event (restSearch `includeEventTags`, `"inherited": 1`).
    public var inheritedTags: [String]
    /// The event's uuid, when known.
    public var eventUUID: String?
    /// The event's id on the MISP server, when known (feeds carry no ids).
    public var eventID: String?
    /// The event's `info` text, when known.
    public var eventInfo: String?
    /// The creating organisation's name, when known.
    public var orgName: String?
    /// 0 org, 1 community, 2 connected, 3 all, 4 sharing group, 5 inherit.
    public var distribution: Int?
    /// `first_seen`, when set.
    public var firstSeen: Date?
    /// `last_seen`, when set.
    public var lastSeen: Date?
    /// The attribute's comment, when not empty.
    public var comment: String?
    /// The object it belongs to (`object_id`, else the object's id or uuid), nil when none.
    public var objectID: String?

    /// Creates an attribute; everything but uuid, type and value has a default.
    public init(
        uuid: String, type: String, value: String, category: String = "", toIDS: Bool = false, deleted: Bool = false,
        timestamp: Int64 = 0, tags: [String] = [], inheritedTags: [String] = [], eventUUID: String? = nil,
        eventID: String? = nil, eventInfo: String? = nil, orgName: String? = nil, distribution: Int? = nil,
        firstSeen: Date? = nil, lastSeen: Date? = nil, comment: String? = nil, objectID: String? = nil
    ) {
        self.uuid = uuid
        self.type = type
        self.value = value
        self.category = category
        self.toIDS = toIDS
        self.deleted = deleted
        self.timestamp = timestamp
        self.tags = tags
        self.inheritedTags = inheritedTags
        self.eventUUID = eventUUID
        self.eventID = eventID
        self.eventInfo = eventInfo
        self.orgName = orgName
        self.distribution = distribution
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.comment = comment
        self.objectID = objectID
    }

    /// The attribute's own tags followed by the inherited ones (unique, in order).
    public var allTags: [String] {
        var seen = Set<String>()
        return (tags + inheritedTags).filter { seen.insert($0).inserted }
    }
}

/// One MISP event: its metadata and all its attributes, those inside objects included
/// (flattened, with `objectID` set). Each attribute carries the event's uuid, id, info and
/// organisation; the event's tags are in `tags` (not copied into the attributes).
public struct MISPEvent: Sendable, Hashable {
    /// The uuid.
    public var uuid: String
    /// The id on the MISP server (feeds carry none).
    public var id: String?
    /// The `info` text (the event title).
    public var info: String
    /// When the event was last edited (epoch seconds).
    public var timestamp: Int64
    /// Whether the event is published.
    public var published: Bool
    /// When the event was last published (epoch seconds), when given.
    public var publishTimestamp: Int64?
    /// 0 org, 1 community, 2 connected, 3 all, 4 sharing group (feeds usually omit it).
    public var distribution: Int?
    /// `date` (YYYY-MM-DD), when present.
    public var date: String?
    /// 1 high, 2 medium, 3 low, 4 undefined.
    public var threatLevelID: Int?
    /// 0 initial, 1 ongoing, 2 complete.
    public var analysis: Int?
    /// The creator organisation (`Orgc.name`).
    public var orgName: String?
    /// The creator organisation's uuid (`Orgc.uuid`).
    public var orgUUID: String?
    /// The event's tag names.
    public var tags: [String]
    /// All attributes, those inside objects included.
    public var attributes: [MISPAttribute]

    /// Creates an event.
    public init(
        uuid: String, id: String? = nil, info: String = "", timestamp: Int64 = 0, published: Bool = false,
        publishTimestamp: Int64? = nil, distribution: Int? = nil, date: String? = nil, threatLevelID: Int? = nil,
        analysis: Int? = nil, orgName: String? = nil, orgUUID: String? = nil, tags: [String] = [],
        attributes: [MISPAttribute] = []
    ) {
        self.uuid = uuid
        self.id = id
        self.info = info
        self.timestamp = timestamp
        self.published = published
        self.publishTimestamp = publishTimestamp
        self.distribution = distribution
        self.date = date
        self.threatLevelID = threatLevelID
        self.analysis = analysis
        self.orgName = orgName
        self.orgUUID = orgUUID
        self.tags = tags
        self.attributes = attributes
    }
}

/// One entry of a MISP feed's `manifest.json`.
public struct MISPManifestEntry: Sendable, Hashable {
    /// The event uuid (the manifest's key); the event is at `<feed>/<uuid>.json`.
    public var uuid: String
    /// The `info` text (the event title).
    public var info: String
    /// `date` (YYYY-MM-DD), when present.
    public var date: String?
    /// When the event was last edited; re-fetch when newer than the stored copy.
    public var timestamp: Int64
    /// The creator organisation (`Orgc.name`).
    public var orgName: String?
    /// The creator organisation's uuid (`Orgc.uuid`).
    public var orgUUID: String?
    /// The event's tag names.
    public var tags: [String]
    /// 1 high, 2 medium, 3 low, 4 undefined.
    public var threatLevelID: Int?
    /// 0 initial, 1 ongoing, 2 complete.
    public var analysis: Int?

    /// Creates an entry.
    public init(
        uuid: String, info: String = "", date: String? = nil, timestamp: Int64 = 0, orgName: String? = nil,
        orgUUID: String? = nil, tags: [String] = [], threatLevelID: Int? = nil, analysis: Int? = nil
    ) {
        self.uuid = uuid
        self.info = info
        self.date = date
        self.timestamp = timestamp
        self.orgName = orgName
        self.orgUUID = orgUUID
        self.tags = tags
        self.threatLevelID = threatLevelID
        self.analysis = analysis
    }
}

/// Lenient decoding of MISP JSON documents. Errors are `IntelRejection`s naming what was
/// malformed; decoding never traps on hostile input.
public enum MISPJSON {
    /// The attributes of an `attributes/restSearch` answer: `{"response":{"Attribute":[…]}}`
    /// (also `{"Attribute":[…]}`, and MISP's empty `{"response":[]}`). Each row's `Event`
    /// (`id`, `uuid`, `info`, `Orgc`) fills the event fields; `Tag[]` entries with
    /// `"inherited": 1` go to `inheritedTags`.
    public static func attributes(fromRestSearch data: Data) throws(IntelRejection) -> [MISPAttribute] {
        let root = try object(data, "restSearch answer")
        var container: Any? = root
        if let d = root as? [String: Any], let r = d["response"] { container = r }
        if let list = container as? [Any] {
            guard list.isEmpty else { throw IntelRejection("restSearch answer: \"response\" is a non-empty array, not {\"Attribute\": […]}") }
            return []
        }
        guard let d = container as? [String: Any] else { throw IntelRejection("restSearch answer: not a JSON object") }
        guard let rows = d["Attribute"] else {
            if d.isEmpty { return [] }
            throw IntelRejection("restSearch answer: no \"Attribute\" list")
        }
        guard let list = rows as? [Any] else { throw IntelRejection("restSearch answer: \"Attribute\" is not an array") }
        var out: [MISPAttribute] = []
        out.reserveCapacity(list.count)
        for (i, row) in list.enumerated() {
            guard let a = row as? [String: Any] else { throw IntelRejection("restSearch answer: Attribute[\(i)] is not an object") }
            var attr = try attribute(a, path: "Attribute[\(i)]")
            if let e = a["Event"] as? [String: Any] {
                attr.eventID = string(e["id"]) ?? attr.eventID
                attr.eventUUID = string(e["uuid"]) ?? attr.eventUUID
                attr.eventInfo = string(e["info"]) ?? attr.eventInfo
                if let orgc = e["Orgc"] as? [String: Any] { attr.orgName = string(orgc["name"]) }
            }
            out.append(attr)
        }
        return out
    }

    /// A MISP event: `{"Event":{…}}`, `{"response":{"Event":{…}}}`, `{"response":[{"Event":{…}}]}`
    /// (first event) or the bare event object.
    public static func event(from data: Data) throws(IntelRejection) -> MISPEvent {
        let root = try object(data, "event")
        var e: Any = root
        if let d = e as? [String: Any], let r = d["response"] { e = (r as? [Any])?.first ?? r }
        if let d = e as? [String: Any], let inner = d["Event"] { e = inner }
        guard let ev = e as? [String: Any] else { throw IntelRejection("event: not a JSON object") }
        return try event(ev)
    }

    /// The entries of a feed's `manifest.json` (`{uuid: {info, Orgc, Tag[], date, timestamp…}}`),
    /// sorted by uuid.
    public static func manifest(from data: Data) throws(IntelRejection) -> [MISPManifestEntry] {
        guard let root = try object(data, "manifest") as? [String: Any] else {
            throw IntelRejection("manifest: not a JSON object keyed by event uuid")
        }
        var out: [MISPManifestEntry] = []
        for (uuid, value) in root {
            guard let m = value as? [String: Any] else { throw IntelRejection("manifest: entry \(uuid) is not an object") }
            let orgc = m["Orgc"] as? [String: Any]
            out.append(
                MISPManifestEntry(
                    uuid: uuid, info: string(m["info"]) ?? "", date: string(m["date"]), timestamp: int64(m["timestamp"]) ?? 0,
                    orgName: string(orgc?["name"]), orgUUID: string(orgc?["uuid"]), tags: try tags(m["Tag"], path: "manifest \(uuid).Tag").own,
                    threatLevelID: int64(m["threat_level_id"]).map { Int($0) }, analysis: int64(m["analysis"]).map { Int($0) }))
        }
        return out.sorted { $0.uuid < $1.uuid }
    }

    // MARK: Pieces

    static func object(_ data: Data, _ what: String) throws(IntelRejection) -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw IntelRejection("\(what): malformed JSON (\(data.count) bytes): \(error.localizedDescription)")
        }
    }

    static func event(_ ev: [String: Any]) throws(IntelRejection) -> MISPEvent {
        guard let uuid = string(ev["uuid"]), !uuid.isEmpty else { throw IntelRejection("event: no \"uuid\"") }
        let orgc = ev["Orgc"] as? [String: Any]
        var event = MISPEvent(
            uuid: uuid, id: string(ev["id"]), info: string(ev["info"]) ?? "", timestamp: int64(ev["timestamp"]) ?? 0,
            published: bool(ev["published"]) ?? false, publishTimestamp: int64(ev["publish_timestamp"]),
            distribution: int64(ev["distribution"]).map { Int($0) }, date: string(ev["date"]),
            threatLevelID: int64(ev["threat_level_id"]).map { Int($0) }, analysis: int64(ev["analysis"]).map { Int($0) },
            orgName: string(orgc?["name"]), orgUUID: string(orgc?["uuid"]),
            tags: try tags(ev["Tag"], path: "event \(uuid).Tag").own)
        func fill(_ a: inout MISPAttribute) {
            a.eventUUID = a.eventUUID ?? uuid
            a.eventID = a.eventID ?? event.id
            a.eventInfo = a.eventInfo ?? event.info
            a.orgName = a.orgName ?? event.orgName
        }
        if let list = ev["Attribute"] {
            guard let rows = list as? [Any] else { throw IntelRejection("event \(uuid): \"Attribute\" is not an array") }
            for (i, row) in rows.enumerated() {
                guard let a = row as? [String: Any] else { throw IntelRejection("event \(uuid): Attribute[\(i)] is not an object") }
                var attr = try attribute(a, path: "event \(uuid): Attribute[\(i)]")
                fill(&attr)
                event.attributes.append(attr)
            }
        }
        if let list = ev["Object"] {
            guard let objects = list as? [Any] else { throw IntelRejection("event \(uuid): \"Object\" is not an array") }
            for (j, o) in objects.enumerated() {
                guard let obj = o as? [String: Any] else { throw IntelRejection("event \(uuid): Object[\(j)] is not an object") }
                guard let list = obj["Attribute"] else { continue }
                guard let rows = list as? [Any] else { throw IntelRejection("event \(uuid): Object[\(j)].Attribute is not an array") }
                let objectID = string(obj["id"]) ?? string(obj["uuid"])
                for (i, row) in rows.enumerated() {
                    guard let a = row as? [String: Any] else {
                        throw IntelRejection("event \(uuid): Object[\(j)].Attribute[\(i)] is not an object")
                    }
                    var attr = try attribute(a, path: "event \(uuid): Object[\(j)].Attribute[\(i)]")
                    if attr.objectID == nil { attr.objectID = objectID }
                    fill(&attr)
                    event.attributes.append(attr)
                }
            }
        }
        return event
    }

    static func attribute(_ a: [String: Any], path: String) throws(IntelRejection) -> MISPAttribute {
        guard let uuid = string(a["uuid"]), !uuid.isEmpty else { throw IntelRejection("\(path): no \"uuid\"") }
        guard let type = string(a["type"]), !type.isEmpty else { throw IntelRejection("\(path): no \"type\"") }
        guard let value = string(a["value"]) else { throw IntelRejection("\(path): no \"value\"") }
        let t = try tags(a["Tag"], path: "\(path).Tag")
        let objectID = string(a["object_id"]).flatMap { $0 == "0" || $0.isEmpty ? nil : $0 }
        let comment = string(a["comment"]).flatMap { $0.isEmpty ? nil : $0 }
        return MISPAttribute(
            uuid: uuid, type: type, value: value, category: string(a["category"]) ?? "", toIDS: bool(a["to_ids"]) ?? false,
            deleted: bool(a["deleted"]) ?? false, timestamp: int64(a["timestamp"]) ?? 0, tags: t.own, inheritedTags: t.inherited,
            eventUUID: nil, eventID: string(a["event_id"]), eventInfo: nil, orgName: nil,
            distribution: int64(a["distribution"]).map { Int($0) }, firstSeen: date(a["first_seen"]),
            lastSeen: date(a["last_seen"]), comment: comment, objectID: objectID)
    }

    /// Tag names from `[{"name":…, "inherited":…}]` (or plain strings), split into own and
    /// inherited.
    static func tags(_ v: Any?, path: String) throws(IntelRejection) -> (own: [String], inherited: [String]) {
        guard let v, !(v is NSNull) else { return ([], []) }
        guard let list = v as? [Any] else { throw IntelRejection("\(path) is not an array") }
        var own: [String] = []
        var inherited: [String] = []
        for t in list {
            if let s = t as? String {
                own.append(s)
            } else if let d = t as? [String: Any], let name = string(d["name"]) {
                if bool(d["inherited"]) == true { inherited.append(name) } else { own.append(name) }
            }
        }
        return (own, inherited)
    }

    // MARK: Lenient scalars

    /// A string from a string or a number (nil for null, booleans, containers).
    public static func string(_ v: Any?) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber where !isBool(n):
            if let i = Int64(exactly: n.doubleValue) { return String(i) }
            return n.stringValue
        default: return nil
        }
    }

    /// An integer from a number or a numeric string.
    public static func int64(_ v: Any?) -> Int64? {
        switch v {
        case let s as String:
            let t = s.trimmingCharacters(in: .whitespaces)
            if let i = Int64(t) { return i }
            if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return Int64(d) }
            return nil
        case let n as NSNumber where !isBool(n):
            let d = n.doubleValue
            guard d.isFinite, abs(d) < 9.2e18 else { return nil }
            return n.int64Value
        default: return nil
        }
    }

    /// A boolean from `true`/`false`, 0/1, or "0"/"1"/"true"/"false".
    public static func bool(_ v: Any?) -> Bool? {
        switch v {
        case let b as Bool: return b
        case let n as NSNumber: return n.doubleValue != 0
        case let s as String:
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no", "": return false
            default: return nil
            }
        default: return nil
        }
    }

    private static func isBool(_ n: NSNumber) -> Bool {
        // JSON booleans decode as NSNumber with the C type "c" (char); JSON numbers never do.
        String(cString: n.objCType) == "c"
    }

    /// A date from ISO 8601 text (`2021-01-01T00:00:00.000000+00:00`, `Z`, fractional seconds
    /// of any length, or a date alone) or epoch seconds.
    public static func date(_ v: Any?) -> Date? {
        if let s = v as? String {
            let t = s.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { return nil }
            if let i = Int64(t) { return Date(timeIntervalSince1970: TimeInterval(i)) }
            return iso8601(t)
        }
        if let i = int64(v) { return Date(timeIntervalSince1970: TimeInterval(i)) }
        return nil
    }

    /// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.f…]]][Z|±HH[:]MM]`.
    static func iso8601(_ s: String) -> Date? {
        let b = Array(s.utf8)
        var i = 0
        func num(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += n
            return v
        }
        func eat(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let y = num(4), eat("-"), let mo = num(2), eat("-"), let d = num(2), (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var h = 0
        var mi = 0
        var sec = 0.0
        var offset = 0
        if i < b.count {
            guard eat("T") || eat(" ") || eat("t"), let hh = num(2), eat(":"), let mm = num(2), hh < 24, mm < 60 else { return nil }
            h = hh
            mi = mm
            if eat(":") {
                guard let ss = num(2), ss <= 60 else { return nil }
                sec = Double(ss)
                if eat(".") || eat(",") {
                    var scale = 0.1
                    var any = false
                    while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                        sec += Double(b[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
            if i < b.count {
                if eat("Z") || eat("z") {
                } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = num(2) else { return nil }
                    _ = eat(":")
                    let om = num(2) ?? 0
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
            guard i == b.count else { return nil }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (mo + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = Double(days * 86400 + h * 3600 + mi * 60 - offset) + sec
        return Date(timeIntervalSince1970: seconds)
    }
}
