import Foundation
import Hummingbird
import Policy
import Storage
import ThreatIntel

extension ControlRouter {
    /// The MISP-compatible subset (MISP-RPZ.md §2): what PyMISP's constructor, `add_event`,
    /// `search`, `add_sighting` and a MISP server's push call.
    func addMISP(_ router: Router<ControlContext>) {
        let hub = self.hub
        router.get("/servers/getVersion") { req, _ in Self.reply(hub.mispVersion(caller: try await caller(req))) }
        router.get("/servers/getVersion.json") { req, _ in Self.reply(hub.mispVersion(caller: try await caller(req))) }
        router.get("/users/view/me") { req, _ in Self.reply(hub.mispMe(caller: try await caller(req))) }
        router.get("/users/view/me.json") { req, _ in Self.reply(hub.mispMe(caller: try await caller(req))) }
        router.get("/attributes/describeTypes.json") { req, _ in
            _ = try await caller(req)
            return Self.json(.ok, Data(MISPDescribeTypes.json.utf8))
        }
        let add: @Sendable (Request, ControlContext) async throws -> Response = { req, _ in
            let c = try await writer(req)
            return Self.reply(try await hub.pushEvent(body: try await body(req), editing: nil, caller: c))
        }
        router.post("/events/add", use: add)
        router.post("/events/add/**", use: add)
        let edit: @Sendable (Request, ControlContext) async throws -> Response = { req, ctx in
            let c = try await writer(req)
            let id = try ctx.parameters.require("id")
            return Self.reply(try await hub.pushEvent(body: try await body(req), editing: id, caller: c))
        }
        router.post("/events/edit/:id", use: edit)
        router.post("/events/edit/:id/**", use: edit)
        router.put("/events/edit/:id", use: edit)
        let view: @Sendable (Request, ControlContext) async throws -> Response = { req, ctx in
            _ = try await caller(req)
            let id = try ctx.parameters.require("id")
            guard let e = try await hub.mispEvent(id) else {
                if req.method == .head { return Response(status: .notFound) }
                throw ControlError(.notFound, "Invalid event")
            }
            if req.method == .head { return Response(status: .ok) }
            return Self.json(.ok, e.json)
        }
        for path in ["/events/view/:id", "/events/view/:id/**", "/events/:id"] {
            router.get(RouterPath(path), use: view)
            router.head(RouterPath(path), use: view)
        }
        let index: @Sendable (Request, ControlContext) async throws -> Response = { req, _ in
            _ = try await caller(req)
            let b = try await jsonBody(req)
            if !b.isEmpty {
                guard let filters = (try? JSONSerialization.jsonObject(with: b)) as? [String: Any] else {
                    throw ControlError(.badRequest, "the body must be a JSON object of filters")
                }
                try Self.check(filters, Dictionary(uniqueKeysWithValues: ["minimal", "published", "timestamp", "limit", "page"].map { ($0, [.integer, .string, .bool]) }), "filters")
            }
            return Self.reply(try await hub.mispEventIndex(body: b))
        }
        router.post("/events/index", use: index)
        router.get("/events/index", use: index)
        router.post("/events/filterEventIdsForPush") { req, _ in
            _ = try await writer(req)
            let b = try await jsonBody(req, required: true)
            // [{"Event": {"uuid": "…", "timestamp": "…" or a number}}, …]
            guard let items = (try? JSONSerialization.jsonObject(with: b)) as? [Any] else { throw ControlError(.badRequest, "the body must be a list of events") }
            for item in items {
                guard let e = (item as? [String: Any])?["Event"] as? [String: Any] else {
                    throw ControlError(.badRequest, "the body must be a list of {\"Event\": {uuid, timestamp}}")
                }
                try Self.check(e, ["uuid": [.string], "timestamp": [.string, .integer]], "Event")
            }
            return Self.reply(try await hub.mispFilterForPush(body: b))
        }
        router.post("/attributes/restSearch") { req, _ in
            let c = try await caller(req)
            let b = try await jsonBody(req)
            guard b.isEmpty || (try? JSONSerialization.jsonObject(with: b)) is [String: Any] else {
                throw ControlError(.badRequest, "the body must be a JSON object of search filters")
            }
            return Self.reply(try await hub.mispRestSearch(body: b, caller: c))
        }
        router.post("/sightings/add") { req, _ in
            let c = try await writer(req)
            let b = try await jsonBody(req, required: true)
            guard let s = (try? JSONSerialization.jsonObject(with: b)) as? [String: Any] else { throw ControlError(.badRequest, "the body must be a JSON object") }
            try Self.check(s, ["value": [.string], "values": [.array], "uuid": [.string], "type": [.string, .integer], "source": [.string]], "sighting")
            return Self.reply(try await hub.mispAddSighting(body: b, attribute: nil, caller: c))
        }
        router.post("/sightings/add/:id") { req, ctx in
            let c = try await writer(req)
            return Self.reply(try await hub.mispAddSighting(body: try await jsonBody(req), attribute: try ctx.parameters.require("id"), caller: c))
        }
    }

    /// The REST API (`/api/v1`), described in `openapi.yaml`.
    func addREST(_ router: Router<ControlContext>) {
        let hub = self.hub
        let api = router.group("/api/v1")
        api.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPISpec.text)))
        }
        api.get("/explain") { req, _ in
            let c = try await caller(req)
            guard let name = req.uri.queryParameters.get("name"), !name.isEmpty else { throw ControlError(.badRequest, "name is required") }
            return Self.json(.ok, try await hub.explain(name, caller: c))
        }
        api.get("/indicators") { req, _ in
            let c = try await caller(req)
            let q = req.uri.queryParameters
            var query = IndicatorQuery(limit: 100)
            if let v = q.get("value") { query.value = IntelNormalizer.parseIP(v) ?? IntelNormalizer.normalizeName(v) ?? v.lowercased() }
            if let s = q.get("state") {
                guard let st = IndicatorState(rawValue: s) else { throw ControlError(.badRequest, "state: active, suppressed, expired or withdrawn") }
                query.state = st
            }
            if let e = q.get("event_uuid") { query.eventUUID = e.lowercased() }
            if let a = q.get("after") {
                guard let id = Int64(a) else { throw ControlError(.badRequest, "after: an indicator id") }
                query.afterID = id
            }
            query.limit = try Self.limit(req)
            if let s = q.get("source") {
                guard let src = try await hub.store.sources.get(name: s) else { throw ControlError(.notFound, "no source named '\(s)'") }
                query.sourceID = src.id
            }
            return Self.json(.ok, try await hub.indicators(query, caller: c))
        }
        api.post("/indicators") { req, _ in
            let c = try await writer(req)
            let b = try await body(req)
            struct NewIndicator: Decodable {
                var value: String
                var category: String?
                var comment: String?
                var valid_days: Double?
            }
            let n: NewIndicator
            do {
                n = try JSONDecoder().decode(NewIndicator.self, from: b)
            } catch {
                throw ControlError(.badRequest, "expected {\"value\": …, \"category\": …, \"comment\": …}: \(error)")
            }
            if let d = n.valid_days, !(d > 0 && d <= 3650) { throw ControlError(.badRequest, "valid_days: more than 0, at most 3650") }
            return Self.json(.created, try await hub.addManual(value: n.value, category: n.category ?? "custom", comment: n.comment, validDays: n.valid_days, caller: c))
        }
        api.get("/indicators/:id") { req, ctx in
            let c = try await caller(req)
            guard let id = Int64(try ctx.parameters.require("id")) else { throw ControlError(.notFound, "no such indicator (ids are integers)") }
            return Self.json(.ok, try await hub.indicator(id: id, caller: c))
        }
        api.delete("/indicators/:id") { req, ctx in
            let c = try await writer(req)
            guard let id = Int64(try ctx.parameters.require("id")) else { throw ControlError(.notFound, "no such indicator (ids are integers)") }
            return Self.json(.ok, try await hub.withdraw(id: id, caller: c))
        }
        api.post("/indicators/:id/false-positive") { req, ctx in
            let c = try await writer(req)
            guard let id = Int64(try ctx.parameters.require("id")) else { throw ControlError(.notFound, "no such indicator (ids are integers)") }
            let b = try await body(req)
            let comment = ((try? JSONSerialization.jsonObject(with: b)) as? [String: Any])?["comment"] as? String
            return Self.json(.ok, try await hub.falsePositive(id: id, comment: comment, caller: c))
        }
        api.get("/sources") { req, _ in
            _ = try await caller(req)
            return Self.json(.ok, try await hub.sourceViews())
        }
        api.post("/sources/:name/run") { req, ctx in
            let c = try await caller(req)
            guard c.role == .admin, c.tenant == nil else { throw ControlError(.forbidden, "only an admin key of the whole service can start a source run") }
            try await hub.requestRun(try ctx.parameters.require("name"))
            return Self.json(.accepted, ["status": "run requested"])
        }
    }
}

/// The committed OpenAPI document, served at `/api/v1/openapi.yaml`.
enum OpenAPISpec {
    static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let d = try? Data(contentsOf: url) else { return "" }
        return String(decoding: d, as: UTF8.self)
    }()

    /// The document's paths (a `{parameter}` segment matches any one segment) and their
    /// methods, read from its `paths:` section (two-space keys, four-space methods).
    static let routes: [(segments: [Substring?], methods: Set<String>)] = {
        var out: [(segments: [Substring?], methods: Set<String>)] = []
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if let first = line.first, first != " " && first != "#" { break }  // the next top-level key
            if line.hasPrefix("  /") && line.hasSuffix(":") {
                let path = line.dropFirst(2).dropLast()
                out.append((path.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 }, []))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), !out.isEmpty {
                let m = line.dropFirst(4).dropLast()
                if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(m) { out[out.count - 1].methods.insert(String(m)) }
            }
        }
        return out
    }()

    /// The methods the document has for `path`, nil when it has no such path.
    static func methods(of path: String) -> Set<String>? {
        let parts = path.split(separator: "/")
        var found: Set<String>? = nil
        for r in routes where r.segments.count == parts.count {
            if zip(r.segments, parts).allSatisfy({ $0 == nil || $0 == $1 }) { found = (found ?? []).union(r.methods) }
        }
        return found
    }
}

/// 405 Method Not Allowed (with `Allow`) for a method the document does not have on a path it
/// has; the router alone would say 404.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = ControlContext

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as ControlError where e.status == .notFound {
            let method = request.method.rawValue.lowercased()
            guard var allowed = OpenAPISpec.methods(of: request.uri.path), !allowed.isEmpty else { throw e }
            if allowed.contains("get") { allowed.insert("head") }
            guard !allowed.contains(method) else { throw e }
            var response = try ControlError(.methodNotAllowed, "\(request.method.rawValue) is not allowed here").response(from: request, context: context)
            response.headers[.allow] = allowed.map { $0.uppercased() }.sorted().joined(separator: ", ")
            return response
        }
    }
}

/// `attributes/describeTypes.json`: the network types Bulwark takes (PyMISP falls back to its
/// bundled copy for the rest).
enum MISPDescribeTypes {
    static let types = [
        "domain", "hostname", "domain|ip", "ip-src", "ip-dst", "url", "uri", "link", "ip-src|port", "ip-dst|port", "hostname|port",
    ]
    static let json: String = {
        var defaults: [String: Any] = [:]
        for t in types { defaults[t] = ["default_category": "Network activity", "to_ids": 1] }
        let o: [String: Any] = [
            "result": [
                "sane_defaults": defaults, "types": types, "categories": ["Network activity", "Payload delivery", "External analysis"],
                "category_type_mappings": ["Network activity": types, "Payload delivery": types, "External analysis": types],
            ]
        ]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(), as: UTF8.self)
    }()
}

extension ControlRouter {
    /// The caller of a request that changes the shared threat intel: refused (403) before its
    /// body is looked at when the key is a reader's or bound to one tenant.
    func writer(_ request: Request) async throws -> IntelCaller {
        let c = try await caller(request)
        guard c.mayChangeSharedIntel else { throw ControlError(.forbidden, "\(c.readOnlyReason) cannot change the shared threat intel") }
        return c
    }
}
