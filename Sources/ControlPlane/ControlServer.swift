import Crypto
import Foundation
import Hummingbird
import Policy
import Logging
import NIOCore
import NIOFoundationCompat
import Storage
import ThreatIntel

/// The request context: the peer address (loopback-only endpoints) and the caller once
/// authenticated.
public struct ControlContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Is the peer on this machine?
    public var isLoopback: Bool {
        guard let ip = remoteAddress?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}

/// An endpoint the composition root adds (metrics, the policy interface): plain values in and
/// out, so that this module needs nothing of the App.
public struct HostedEndpoint: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var body: Data
        public var loopback: Bool
    }
    public struct Reply: Sendable {
        public var status: Int
        public var contentType: String
        public var body: Data
        public init(status: Int, contentType: String, body: Data) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }
    public var methods: [HTTPRequest.Method]
    public var path: String
    public var handler: @Sendable (Request) async -> Reply

    public init(methods: [HTTPRequest.Method], path: String, handler: @escaping @Sendable (Request) async -> Reply) {
        self.methods = methods
        self.path = path
        self.handler = handler
    }
}

/// API keys: 40 characters of `[a-zA-Z0-9]` like MISP's; only the SHA-256 is stored.
public enum APIKeys {
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static func isWellFormed(_ key: String) -> Bool {
        key.count == 40 && key.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }

    /// A new random key.
    public static func generate() -> String {
        let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var g = SystemRandomNumberGenerator()
        return String((0..<40).map { _ in chars[Int(g.next(upperBound: UInt64(chars.count)))] })
    }
}

/// Builds the control plane's router: the REST API under `/api/v1`, the MISP-compatible API at
/// the root (so PyMISP and MISP sync work against the base URL), and the hosted endpoints.
public struct ControlRouter: Sendable {
    public let hub: IntelHub
    public let hosted: [HostedEndpoint]
    public let logger: Logger
    /// Largest request body (an event with many attributes).
    public var maxBody = 64 << 20
    /// The policy in force (tenants, explanations); nil when the router runs without one.
    public let policy: (@Sendable () async -> PolicyEngine)?
    /// A tenant's keys see a blocked name in its statistics only when at least this many
    /// distinct clients asked for it in one interval.
    public var statsMinClients = 10
    /// Changes tenants made through the API (nil: the tree is read only).
    public var tenantAdmin: (any TenantAdministration)?
    /// Served over TLS (adds `Strict-Transport-Security`).
    public var tls = false

    public init(hub: IntelHub, hosted: [HostedEndpoint] = [], policy: (@Sendable () async -> PolicyEngine)? = nil, logger: Logger) {
        self.hub = hub
        self.hosted = hosted
        self.policy = policy
        self.logger = logger
    }

    public func build() -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        router.add(middleware: SecurityHeadersMiddleware(tls: tls))
        router.add(middleware: MethodNotAllowedMiddleware())
        router.add(middleware: ErrorMiddleware(logger: logger))
        for h in hosted {
            for m in h.methods {
                router.on(RouterPath(h.path), method: m) { request, context in
                    var request = request
                    let body = try await request.collectBody(upTo: maxBody)
                    var query: [String: String] = [:]
                    for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
                    let reply = await h.handler(
                        .init(method: request.method.rawValue, path: request.uri.path, query: query, body: Data(buffer: body), loopback: context.isLoopback))
                    return Response(
                        status: .init(code: reply.status), headers: [.contentType: reply.contentType],
                        body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(data: reply.body)))
                }
            }
        }
        addMISP(router)
        addREST(router)
        addTenants(router)
        addKeys(router)
        return router
    }

    // MARK: helpers

    func caller(_ request: Request) async throws -> IntelCaller {
        var raw = request.headers[.init("X-MISP-AUTH")!] ?? request.headers[.authorization]
        if var r = raw {
            if r.hasPrefix("Bearer ") { r.removeFirst(7) }
            // MISP takes several comma-separated keys; the first well-formed one counts.
            raw = r.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.first { APIKeys.isWellFormed($0) } ?? r
        }
        guard let key = raw, !key.isEmpty else { throw ControlError(.unauthorized, "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.") }
        guard APIKeys.isWellFormed(key) else { throw ControlError(.forbidden, "Authentication failed: malformed API key") }
        let store = hub.store
        guard let rec = try await store.keys.find(hash: APIKeys.hash(key)), !rec.revoked else {
            throw ControlError(.forbidden, "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.")
        }
        guard let org = try await store.organisations.get(id: rec.orgID) else { throw ControlError(.forbidden, "the key's organisation is gone") }
        // Last use, at most once a minute per key (not a database write per request).
        if rec.lastUsed.map({ Date().timeIntervalSince($0) > 60 }) ?? true { try? await store.keys.touch(id: rec.id ?? 0, at: Date()) }
        return IntelCaller(keyName: rec.name, org: org, role: rec.role, tenant: rec.tenant)
    }

    static func json(_ status: HTTPResponse.Status, _ data: Data, location: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Encodes `value` with every absent optional written as `null` (API clients and the
    /// OpenAPI schema see each field, set or not).
    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = (try? e.encode(value)) ?? Data("{}".utf8)
        if let object = try? JSONSerialization.jsonObject(with: data),
            let filled = try? JSONSerialization.data(withJSONObject: withNulls(object, value), options: [.sortedKeys, .withoutEscapingSlashes])
        {
            data = filled
        }
        return json(status, data)
    }

    /// `object` (the JSON of `value`) with `null` for each nil optional property of `value`,
    /// recursively through arrays and nested structs.
    static func withNulls(_ object: Any, _ value: Any) -> Any {
        let m = Mirror(reflecting: value)
        if m.displayStyle == .optional {
            guard let inner = m.children.first?.value else { return object }
            return withNulls(object, inner)
        }
        if var dict = object as? [String: Any], m.displayStyle == .struct {
            for child in m.children {
                guard let label = child.label else { continue }
                let cm = Mirror(reflecting: child.value)
                if cm.displayStyle == .optional && cm.children.isEmpty {
                    if dict[label] == nil { dict[label] = NSNull() }
                } else if let sub = dict[label] {
                    dict[label] = withNulls(sub, child.value)
                }
            }
            return dict
        }
        if let array = object as? [Any], m.displayStyle == .collection {
            let values = m.children.map(\.value)
            guard values.count == array.count else { return object }
            return zip(array, values).map { withNulls($0, $1) }
        }
        return object
    }

    static func reply(_ r: MISPReply) -> Response {
        json(.init(code: r.status), r.body, location: r.location)
    }

    func body(_ request: Request) async throws -> Data {
        var r = request
        return Data(buffer: try await r.collectBody(upTo: maxBody))
    }

    /// The body of a MISP call: JSON when there is one (400 otherwise), and there must be one
    /// when `required`.
    func jsonBody(_ request: Request, required: Bool = false) async throws -> Data {
        let d = try await body(request)
        if d.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            if required { throw ControlError(.badRequest, "a JSON body is required") }
            return d
        }
        guard (try? JSONSerialization.jsonObject(with: d, options: [.fragmentsAllowed])) != nil else {
            throw ControlError(.badRequest, "the body is not JSON")
        }
        return d
    }

    /// The kinds of JSON value, as `JSONSerialization` gives them.
    enum JSONKind { case string, integer, number, bool, array, object, null }

    static func kind(_ v: Any) -> JSONKind {
        switch v {
        case is String: return .string
        case is [Any]: return .array
        case is [String: Any]: return .object
        case let n as NSNumber:
            // Foundation gives true/false as a boolean NSNumber (and 1 also passes `is Bool`).
            if String(describing: type(of: n)).contains("Boolean") { return .bool }
            let d = n.doubleValue
            return d.rounded() == d && abs(d) < 9e15 ? .integer : .number
        default: return .null
        }
    }

    /// 400 unless every field of `fields` that `object` has is of one of its kinds (MISP's
    /// calls are read leniently, as MISP does, but not with values of the wrong kind).
    static func check(_ object: [String: Any], _ fields: [String: Set<JSONKind>], _ what: String) throws {
        for (name, kinds) in fields {
            guard let v = object[name] else { continue }
            let k = kind(v)
            if k == .array, kinds.contains(.array), let items = v as? [Any], !items.allSatisfy({ kind($0) == .string }) {
                throw ControlError(.badRequest, "\(what): \(name) must be a list of strings")
            }
            guard kinds.contains(k) else { throw ControlError(.badRequest, "\(what): \(name) has the wrong type") }
        }
    }

    /// `limit` of a listing: 1 to 10,000 (default 100); anything else is a 400.
    static func limit(_ request: Request) throws -> Int {
        let values = request.uri.queryParameters.getAll("limit")
        guard let text = values.first else { return 100 }
        guard values.count == 1, let n = Int(String(text)), (1...10_000).contains(n) else {
            throw ControlError(.badRequest, "limit: one integer, 1 to 10000")
        }
        return n
    }
}

/// The one error type of the ControlPlane module: an HTTP status and a message, rendered as
/// MISP's `{"name","message","url"}` (PyMISP reads it) plus `error`.
public struct ControlError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var reason: String
    public var file: String
    public var line: Int

    public init(_ status: HTTPResponse.Status, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.status = status
        self.reason = reason
        self.file = file
        self.line = line
    }

    public init(_ e: IntelError) {
        switch e.code {
        case .invalid: self.init(.badRequest, e.reason)
        case .notFound: self.init(.notFound, e.reason)
        case .forbidden: self.init(.forbidden, e.reason)
        case .source: self.init(.badGateway, e.reason)
        case .config: self.init(.badRequest, e.reason)
        default: self.init(.internalServerError, e.reason)
        }
    }

    public var description: String { reason }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let o: [String: String] = ["name": reason, "message": reason, "error": reason, "url": request.uri.path]
        let d = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: d)))
    }
}

/// Turns every error into a JSON answer: IntelError and StorageError by their code, anything
/// else a logged 500; bodies too large are 413.
/// Headers on every control-plane response, errors included: the API serves JSON and text to
/// programs, never pages to frame, sniff or cache (`Strict-Transport-Security` when on TLS).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = ControlContext
    let tls: Bool

    static let always: [(HTTPFields.Element.Name, String)] = [
        (.init("X-Content-Type-Options")!, "nosniff"),
        (.init("X-Frame-Options")!, "DENY"),
        (.init("Content-Security-Policy")!, "default-src 'none'; frame-ancestors 'none'"),
        (.init("Referrer-Policy")!, "no-referrer"),
        (.init("Cross-Origin-Resource-Policy")!, "same-origin"),
        (.cacheControl, "no-store"),
    ]

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as any HTTPResponseError {
            response = try e.response(from: request, context: context)
        }
        for (name, value) in Self.always where response.headers[name] == nil { response.headers[name] = value }
        if tls { response.headers[.init("Strict-Transport-Security")!] = "max-age=31536000" }
        return response
    }
}

struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ControlContext
    let logger: Logger

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as ControlError {
            throw e
        } catch let e as IntelError {
            throw ControlError(e)
        } catch let e as StorageError {
            logger.error("control plane storage error", metadata: ["error": "\(e)", "path": "\(request.uri.path)"])
            throw ControlError(.internalServerError, "storage: \(e.reason)")
        } catch let e as HTTPResponseError {
            throw ControlError(e.status, "\(e)")
        } catch {
            logger.error("control plane error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw ControlError(.internalServerError, "internal error")
        }
    }
}
