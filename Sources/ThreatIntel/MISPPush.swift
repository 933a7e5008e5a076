import Foundation
import Storage

/// The MISP-compatible push API's logic (the HTTP side is in ControlPlane): what PyMISP and a
/// MISP server's sync send, answered in MISP's own JSON shapes (MISP-RPZ.md §2).
public struct MISPReply: Sendable {
    public var status: Int
    public var body: Data
    public var location: String?

    init(_ status: Int, _ object: Any, location: String? = nil) {
        self.status = status
        self.body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        self.location = location
    }

    /// MISP's error shape `{"name","message","url"}`.
    static func error(_ status: Int, _ message: String, url: String) -> MISPReply {
        MISPReply(status, ["name": message, "message": message, "url": url])
    }
}

extension IntelHub {
    /// The version Bulwark claims: MISP's sync compares major.minor with its own, and PyMISP
    /// needs dotted integers.
    public static let mispVersion = "2.5.1"

    public nonisolated func mispVersion(caller: IntelCaller) -> MISPReply {
        MISPReply(
            200,
            [
                "version": Self.mispVersion, "pymisp_recommended_version": Self.mispVersion, "perm_sync": caller.mayChangeSharedIntel,
                "perm_sighting": caller.mayChangeSharedIntel, "perm_galaxy_editor": false, "perm_analyst_data": false,
                "uuid": "b1a7c0de-0000-4000-8000-000000000001", "request_encoding": [String](), "filter_sightings": true,
            ])
    }

    public nonisolated func mispMe(caller: IntelCaller) -> MISPReply {
        let write = caller.mayChangeSharedIntel
        return MISPReply(
            200,
            [
                "User": ["id": "1", "email": "\(caller.keyName)@bulwark.invalid", "org_id": String(caller.org.id ?? 0), "role_id": "1"],
                "Role": [
                    "id": "1", "name": caller.role.rawValue, "perm_add": write, "perm_modify": write, "perm_modify_org": write,
                    "perm_publish": write, "perm_sync": write, "perm_admin": caller.role == .admin, "perm_site_admin": caller.role == .admin,
                    "perm_sighting": write, "perm_auth": false, "perm_tagger": write, "perm_tag_editor": false,
                ],
                "Organisation": ["id": String(caller.org.id ?? 0), "name": caller.org.name, "uuid": caller.org.uuid],
                "UserSetting": [Any](),
            ])
    }

    /// The JSON object of an event from any of the shapes MISP accepts: bare, `{"Event":…}` or
    /// `{"response":…}`.
    static func eventObject(_ body: Data) throws(IntelError) -> [String: Any] {
        guard let root = try? JSONSerialization.jsonObject(with: body) else { throw IntelError(.invalid, "the body is not JSON") }
        var o = root
        if let r = o as? [String: Any], let inner = r["response"] { o = inner }
        if let a = o as? [Any], a.count == 1 { o = a[0] }
        guard var dict = o as? [String: Any] else { throw IntelError(.invalid, "the body is not a MISP event object") }
        if let e = dict["Event"] as? [String: Any] { dict = e }
        return dict
    }

    /// `events/add` (edit nil) and `events/edit/{id|uuid}`: stores the event, assigns ids, and
    /// ingests its attributes (indicators are enforced when the reply is sent). Attributes are
    /// withdrawn by `deleted: true` or `to_ids: false`, as MISP sync and PyMISP send them.
    public func pushEvent(body: Data, editing: String?, caller: IntelCaller) async throws(IntelError) -> MISPReply {
        guard caller.mayChangeSharedIntel else { throw IntelError(.forbidden, "\(caller.readOnlyReason) cannot add events") }
        var event = try Self.eventObject(body)
        let path = editing.map { "/events/edit/\($0)" } ?? "/events/add"
        if event["uuid"] as? String == nil || (event["uuid"] as? String)?.isEmpty == true { event["uuid"] = UUID().uuidString.lowercased() }
        let uuid = (event["uuid"] as! String).lowercased()
        event["uuid"] = uuid
        let now = Int64(Date().timeIntervalSince1970)
        var timestamp = MISPJSON.int64(event["timestamp"]) ?? now
        let existing: EventRecord?
        do {
            if let editing {
                if let id = Int64(editing) {
                    existing = try await store.events.get(id: id)
                } else {
                    existing = try await store.events.get(uuid: editing.lowercased())
                }
            } else {
                existing = try await store.events.get(uuid: uuid)
            }
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        if editing == nil, let existing {
            return MISPReply.error(404, "Event already exists, if you would like to edit it, use the url in the location header.", url: path)
                .with(location: "/events/view/\(existing.id ?? 0)")
        }
        if editing != nil {
            guard let existing else { return MISPReply.error(404, "Invalid event", url: path) }
            if existing.uuid != uuid { return MISPReply.error(403, "The event uuid does not match the event being edited", url: path) }
            // An edit that carries a timestamp not newer than the copy here is refused, as MISP
            // does (its sync treats that as benign). PyMISP leaves the timestamp out of an
            // edited event: then it is stamped now.
            if MISPJSON.int64(event["timestamp"]) != nil && timestamp <= existing.timestamp {
                return MISPReply(
                    403, ["saved": false, "name": "Event could not be saved: Event in the request not newer than the local copy.", "errors": ["Event": ["Event in the request not newer than the local copy."]]])
            }
        }
        if let existing, MISPJSON.int64(event["timestamp"]) == nil { timestamp = max(now, existing.timestamp + 1) }
        event["timestamp"] = String(timestamp)
        // Organisation: the creator named in the event (a MISP sync pushes other
        // organisations' events), else the caller's.
        let orgc = (event["Orgc"] as? [String: Any])?["name"] as? String
        let orgName = orgc ?? caller.org.name
        let org: Organisation
        let source: SourceRecord
        do {
            org = try await store.organisations.ensure(name: orgName, uuid: (event["Orgc"] as? [String: Any])?["uuid"] as? String)
            source = try await store.sources.ensure(name: "push:\(caller.org.name)", type: "push", url: nil, orgID: caller.org.id)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        event["Orgc"] = ["id": String(org.id ?? 0), "name": org.name, "uuid": org.uuid]
        event["Org"] = ["id": String(caller.org.id ?? 0), "name": caller.org.name, "uuid": caller.org.uuid]
        if event["info"] == nil { event["info"] = "" }
        let distribution = Int(MISPJSON.int64(event["distribution"]) ?? 1)
        let published = MISPJSON.bool(event["published"]) ?? false
        // Save once to get the event id, then number the attributes under it.
        var record = EventRecord(
            id: existing?.id, uuid: uuid, orgID: org.id ?? 0, info: event["info"] as? String ?? "", timestamp: timestamp, published: published,
            publishTimestamp: published ? now : (existing?.publishTimestamp ?? 0), distribution: distribution, json: Data("{}".utf8))
        do {
            record = try await store.events.save(record)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let eventID = record.id ?? 0
        event["id"] = String(eventID)
        event["org_id"] = String(caller.org.id ?? 0)
        event["orgc_id"] = String(org.id ?? 0)
        event["published"] = published
        event["publish_timestamp"] = String(record.publishTimestamp)
        event["distribution"] = String(distribution)
        var counter: Int64 = 0
        func number(_ attrs: [Any]?, objectID: String) -> [[String: Any]] {
            (attrs ?? []).compactMap { $0 as? [String: Any] }.map { a in
                var a = a
                counter += 1
                a["id"] = String(eventID * 1_000_000 + counter)
                a["event_id"] = String(eventID)
                a["object_id"] = objectID
                if (a["uuid"] as? String)?.isEmpty ?? true { a["uuid"] = UUID().uuidString.lowercased() }
                a["uuid"] = (a["uuid"] as! String).lowercased()
                if a["timestamp"] == nil { a["timestamp"] = String(timestamp) }
                if a["to_ids"] == nil { a["to_ids"] = true }
                if a["deleted"] == nil { a["deleted"] = false }
                if a["distribution"] == nil { a["distribution"] = "5" }
                if a["category"] == nil { a["category"] = "Network activity" }
                return a
            }
        }
        // An edit is an upsert, as in MISP: attributes it leaves out stay, an attribute whose
        // timestamp is not newer than the copy here stays as it is, one without a timestamp is
        // new now.
        var previous: [String: [String: Any]] = [:]
        var previousOrder: [String] = []
        var previousObjects: [Any] = []
        if let existing, let old = ((try? JSONSerialization.jsonObject(with: existing.json)) as? [String: Any])?["Event"] as? [String: Any] {
            for a in (old["Attribute"] as? [Any] ?? []).compactMap({ $0 as? [String: Any] }) {
                guard let u = a["uuid"] as? String else { continue }
                previous[u] = a
                previousOrder.append(u)
            }
            previousObjects = old["Object"] as? [Any] ?? []
        }
        var merged: [Any] = []
        var incoming: [String: [String: Any]] = [:]
        var incomingOrder: [String] = []
        for a in (event["Attribute"] as? [Any] ?? []).compactMap({ $0 as? [String: Any] }) {
            var a = a
            if (a["uuid"] as? String)?.isEmpty ?? true { a["uuid"] = UUID().uuidString.lowercased() }
            let u = (a["uuid"] as! String).lowercased()
            a["uuid"] = u
            if let old = previous[u], let ot = MISPJSON.int64(old["timestamp"]), let nt = MISPJSON.int64(a["timestamp"]), nt <= ot { continue }
            // PyMISP leaves the timestamp out of an edited attribute.
            if a["timestamp"] == nil { a["timestamp"] = String(max(now, MISPJSON.int64(previous[u]?["timestamp"]).map { $0 + 1 } ?? now)) }
            incoming[u] = a
            incomingOrder.append(u)
        }
        for u in previousOrder { merged.append(incoming.removeValue(forKey: u) ?? previous[u]!) }
        for u in incomingOrder where incoming[u] != nil { merged.append(incoming[u]!) }
        event["Attribute"] = number(merged, objectID: "0")
        if event["Object"] == nil && !previousObjects.isEmpty { event["Object"] = previousObjects }
        if let objects = event["Object"] as? [Any] {
            var out: [[String: Any]] = []
            for (i, o) in objects.enumerated() {
                guard var obj = o as? [String: Any] else { continue }
                let oid = String(eventID * 1000 + Int64(i) + 1)
                obj["id"] = oid
                obj["event_id"] = String(eventID)
                obj["Attribute"] = number(obj["Attribute"] as? [Any], objectID: oid)
                out.append(obj)
            }
            event["Object"] = out
        }
        let stored: Data
        do {
            stored = try JSONSerialization.data(withJSONObject: ["Event": event], options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw IntelError(.invalid, "the event cannot be stored: \(error)")
        }
        let parsed: MISPEvent
        do {
            parsed = try MISPJSON.event(from: stored)
        } catch {
            throw IntelError(.invalid, "the event is not a valid MISP event: \(error)")
        }
        record.json = stored
        do {
            record = try await store.events.save(record)
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        // Event tags apply to every attribute.
        let attrs = parsed.attributes.map { a -> MISPAttribute in
            var a = a
            a.inheritedTags = parsed.tags
            a.eventUUID = uuid
            a.eventID = String(eventID)
            a.orgName = org.name
            if a.distribution == nil || a.distribution == 5 { a.distribution = distribution }
            return a
        }
        let result = try await ingestAttributes(attrs, spec: nil, source: source, org: org.name, actor: caller.actor)
        do {
            try await store.audit.append(
                AuditRecord(
                    actor: caller.actor, orgID: caller.org.id, action: existing == nil ? "event.add" : "event.edit", target: uuid,
                    detail: "\(attrs.count) attributes: \(result.accepted) enforced, \(result.suppressed) suppressed, \(result.withdrawn) withdrawn, \(result.rejected.count) not DNS indicators"))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        return MISPReply(200, ["Event": event])
    }

    /// `events/view/{id|uuid}`.
    public func mispEvent(_ idOrUUID: String) async throws(IntelError) -> EventRecord? {
        do {
            if let id = Int64(idOrUUID) { return try await store.events.get(id: id) }
            return try await store.events.get(uuid: idOrUUID.lowercased())
        } catch {
            throw IntelError(.storage, "\(error)")
        }
    }

    /// `events/index`: event metadata, newest first (`minimal` gives MISP's short form).
    public func mispEventIndex(body: Data) async throws(IntelError) -> MISPReply {
        let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let limit = Int(MISPJSON.int64(o["limit"]) ?? 1000)
        let page = Int(MISPJSON.int64(o["page"]) ?? 1)
        let since = MISPJSON.int64(o["timestamp"])
        let minimal = MISPJSON.bool(o["minimal"]) ?? false
        let rows: [EventRecord]
        do {
            rows = try await store.events.list(orgID: nil, since: since, limit: max(1, min(limit, 10_000)), page: max(1, page))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let publishedFilter = MISPJSON.bool(o["published"])
        var out: [[String: Any]] = []
        for r in rows where publishedFilter == nil || publishedFilter == r.published {
            if minimal {
                out.append([
                    "id": String(r.id ?? 0), "uuid": r.uuid, "timestamp": String(r.timestamp), "sighting_timestamp": "0", "published": r.published,
                    "orgc_uuid": "",
                ])
            } else {
                var e = ((try? JSONSerialization.jsonObject(with: r.json)) as? [String: Any])?["Event"] as? [String: Any] ?? [:]
                e.removeValue(forKey: "Attribute")
                e.removeValue(forKey: "Object")
                e["attribute_count"] = "0"
                out.append(e)
            }
        }
        return MISPReply(200, out)
    }

    /// `events/filterEventIdsForPush`: the uuids of the offered events that are new here or
    /// newer than the copy here.
    public func mispFilterForPush(body: Data) async throws(IntelError) -> MISPReply {
        guard let list = (try? JSONSerialization.jsonObject(with: body)) as? [Any] else {
            throw IntelError(.invalid, "expected [{\"Event\":{\"uuid\",\"timestamp\"}}]")
        }
        var offered: [(String, Int64)] = []
        for item in list {
            guard let e = ((item as? [String: Any])?["Event"] as? [String: Any]) ?? (item as? [String: Any]), let u = e["uuid"] as? String else { continue }
            offered.append((u.lowercased(), MISPJSON.int64(e["timestamp"]) ?? 0))
        }
        let known: [String: Int64]
        do {
            known = try await store.events.timestamps(uuids: offered.map(\.0))
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        return MISPReply(200, offered.filter { o in known[o.0].map { $0 < o.1 } ?? true }.map(\.0))
    }

    /// `attributes/restSearch` over the indicators here, in MISP's attribute shape. Filters:
    /// `value` (`%` wildcard at either end), `type`, `uuid`, `eventid`, `limit`, `page`.
    public func mispRestSearch(body: Data, caller: IntelCaller) async throws(IntelError) -> MISPReply {
        let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        if let f = o["returnFormat"] as? String, f != "json" {
            return MISPReply.error(400, "returnFormat \(f) is not supported here (json only)", url: "/attributes/restSearch")
        }
        func strings(_ v: Any?) -> [String] {
            if let s = v as? String { return [s] }
            if let a = v as? [Any] { return a.compactMap { $0 as? String } }
            return []
        }
        let values = strings(o["value"])
        let types = Set(strings(o["type"]))
        let limit = Int(MISPJSON.int64(o["limit"]) ?? 1000)
        let page = Int(MISPJSON.int64(o["page"]) ?? 1)
        let uuids = Set(strings(o["uuid"]).map { $0.lowercased() })
        var rows: [IndicatorRecord] = []
        do {
            if values.isEmpty {
                var after: Int64? = nil
                while rows.count < 200_000 {
                    let batch = try await store.indicators.list(IndicatorQuery(afterID: after, limit: 5000))
                    if batch.isEmpty { break }
                    rows += batch
                    after = batch.last?.id
                }
            } else {
                var exact: [String] = []
                for v in values {
                    let t = v.trimmingCharacters(in: CharacterSet(charactersIn: "%")).lowercased()
                    if t == v.lowercased() {
                        exact.append(t)
                    } else {
                        var after: Int64? = nil
                        while rows.count < 200_000 {
                            let batch = try await store.indicators.list(IndicatorQuery(afterID: after, limit: 5000))
                            if batch.isEmpty { break }
                            rows += batch.filter { $0.value.contains(t) || ($0.originalValue?.lowercased().contains(t) ?? false) }
                            after = batch.last?.id
                        }
                    }
                }
                if !exact.isEmpty { rows += try await store.indicators.find(values: exact) }
            }
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        var seen = Set<Int64>()
        let filtered = rows.filter { r in
            guard let id = r.id, seen.insert(id).inserted, visible(r, to: caller) else { return false }
            if !types.isEmpty && !types.contains(r.originalType ?? r.kind.rawValue) { return false }
            if !uuids.isEmpty && !uuids.contains(r.attributeUUID ?? "") { return false }
            return true
        }
        let start = max(0, (max(1, page) - 1) * max(1, limit))
        let pageRows = filtered.dropFirst(start).prefix(max(1, limit))
        let attrs: [[String: Any]] = pageRows.map { r in
            [
                "id": String(r.id ?? 0), "event_id": r.eventID ?? "0", "object_id": "0", "object_relation": NSNull(), "category": "Network activity",
                "type": r.originalType ?? (r.kind == .ip || r.kind == .cidr ? "ip-dst" : r.kind.rawValue), "value": r.originalValue ?? r.value,
                "to_ids": r.toIDS, "uuid": r.attributeUUID ?? "", "timestamp": String(r.sourceTimestamp ?? Int64(r.updatedAt.timeIntervalSince1970)),
                "distribution": String(r.distribution ?? 5), "sharing_group_id": "0", "comment": r.comment ?? "", "deleted": r.state == .withdrawn,
                "disable_correlation": false, "first_seen": NSNull(), "last_seen": NSNull(),
                "Event": ["id": r.eventID ?? "0", "uuid": r.eventUUID ?? "", "info": r.comment ?? "Bulwark indicator", "org_id": "0", "orgc_id": "0"],
                "Tag": r.tags.enumerated().map { i, t in ["id": String(i + 1), "name": t, "colour": "#ffffff", "is_galaxy": false, "local": false] },
            ]
        }
        var reply = MISPReply(200, ["response": ["Attribute": attrs]])
        reply.location = nil
        return reply
    }

    /// `sightings/add[/{id|uuid}]`: type 0 re-sights an indicator (its validity starts again),
    /// type 1 reports a false positive (suppressed here), type 2 expires it.
    public func mispAddSighting(body: Data, attribute: String?, caller: IntelCaller) async throws(IntelError) -> MISPReply {
        guard caller.mayChangeSharedIntel else { throw IntelError(.forbidden, "\(caller.readOnlyReason) cannot add sightings") }
        let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let type = Int(MISPJSON.int64(o["type"]) ?? 0)
        guard (0...2).contains(type) else { return MISPReply(200, ["message": "Could not add the Sighting. Reason: invalid type"]) }
        let source = o["source"] as? String
        var values: [String] = []
        if let v = o["value"] as? String { values.append(v) }
        if let vs = o["values"] as? [Any] { values += vs.compactMap { $0 as? String } }
        var rows: [IndicatorRecord] = []
        do {
            let ref = attribute ?? (o["uuid"] as? String) ?? (o["id"] as? String)
            if let ref {
                if let id = Int64(ref), let r = try await store.indicators.get(id: id) {
                    rows.append(r)
                } else {
                    for s in try await store.sources.all() { rows += try await store.indicators.find(sourceID: s.id ?? 0, refs: [ref.lowercased()]) }
                }
            }
            if !values.isEmpty {
                let normalized = values.map { IntelNormalizer.parseIP($0) ?? IntelNormalizer.normalizeName($0) ?? $0.lowercased() }
                rows += try await store.indicators.find(values: normalized)
            }
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        rows = rows.filter { visible($0, to: caller) }
        guard !rows.isEmpty else { return MISPReply(200, ["message": "Could not add the Sighting. Reason: No valid attributes found that match the criteria."]) }
        let now = Date()
        var first: SightingRecord?
        do {
            for r in rows {
                let s = try await store.sightings.add(
                    SightingRecord(indicatorID: r.id, value: r.value, type: type, source: source ?? caller.org.name, orgID: caller.org.id, reportedAt: now))
                if first == nil { first = s }
            }
        } catch {
            throw IntelError(.storage, "\(error)")
        }
        let ids = rows.compactMap(\.id)
        switch type {
        case 0:
            // Seen again: the validity restarts (expired ones come back).
            var again = rows
            for i in again.indices {
                again[i].lastSeen = now
                again[i].validUntil = planner.validUntil(again[i], now: now)
                if again[i].state == .expired {
                    again[i].state = .active
                    again[i].stateReason = nil
                }
            }
            do {
                let changes = try await store.indicators.upsert(again)
                var r = IngestResult()
                try await enforce(changes, result: &r)
            } catch let e as IntelError {
                throw e
            } catch {
                throw IntelError(.storage, "\(error)")
            }
        case 1:
            _ = try await setState(ids: ids, to: .suppressed, reason: "\(Self.falsePositivePrefix)\(caller.org.name)", actor: caller.actor)
        default:
            _ = try await setState(ids: ids, to: .expired, reason: "expiration sighting from \(caller.org.name)", actor: caller.actor)
        }
        let r = rows[0]
        return MISPReply(
            200,
            [
                "Sighting": [
                    "id": String(first?.id ?? 0), "attribute_id": String(r.id ?? 0), "event_id": r.eventID ?? "0", "org_id": String(caller.org.id ?? 0),
                    "date_sighting": String(Int(now.timeIntervalSince1970)), "uuid": first?.uuid ?? "", "source": source ?? "", "type": String(type),
                ]
            ])
    }
}

extension MISPReply {
    func with(location: String) -> MISPReply {
        var r = self
        r.location = location
        return r
    }
}
