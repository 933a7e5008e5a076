import DNSWire
import Foundation
import NIOHTTP1
import Policy

/// The policy's small HTTP interface on the metrics port (JSON), for the CLI and scripts until
/// the control plane's API (with keys) exists:
/// - `GET /v1/policy/check?name=N[&profile=P]` — the explanation;
/// - `GET /v1/policy/status` — generation, counts, sources;
/// - `POST /v1/policy/rules?name=N|prefix=CIDR[&list=L][&match=subtree|exact|below][&action=block|nodata|drop|allow]`
///   and `DELETE` with the same keys — one rule through the delta;
/// - `POST /v1/policy/reload` — reload every source.
/// Served only when the port is on loopback: explanations name the sources of TLP:AMBER/RED
/// lists, and there are no API keys before the control plane.
enum PolicyAdmin {
    static func json(_ value: some Encodable) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> (HTTPResponseStatus, String) {
        (status, json(["error": message]))
    }

    struct StatusBody: Encodable {
        var generation: UInt64
        var names: Int
        var prefixes: Int
        var deltaRules: Int
        var lastBuildSeconds: Double
        var sources: [Source]
        struct Source: Encodable {
            var name: String
            var origin: String
            var rules: Int
            var skipped: Int
            var usingLastGood: Bool
            var lastError: String?
            var failures: Int
            var issues: [String]
        }
    }

    static func handle(method: HTTPMethod, path: String, query: [String: String], policy: PolicyService, admin: Bool) async -> (
        HTTPResponseStatus, String
    ) {
        guard admin else { return error(.forbidden, "the policy interface is served on a loopback address only") }
        switch (method, path) {
        case (.GET, "/v1/policy/check"), (.HEAD, "/v1/policy/check"):
            guard let name = query["name"], !name.isEmpty else { return error(.badRequest, "name is required") }
            if let p = query["profile"], await policy.engine.profileIndex(named: p) == nil {
                return error(.badRequest, "no profile named '\(p)'")
            }
            guard let x = await policy.explain(name, profile: query["profile"]) else { return error(.badRequest, "'\(name)' is not a name or address") }
            return (.ok, json(x))
        case (.GET, "/v1/policy/status"), (.HEAD, "/v1/policy/status"):
            let s = policy.status.withLock { $0 }
            let body = StatusBody(
                generation: s.generation, names: s.names, prefixes: s.prefixes, deltaRules: s.deltaRules, lastBuildSeconds: s.lastBuildSeconds,
                sources: s.sources.map {
                    .init(
                        name: $0.name, origin: $0.origin, rules: $0.rules, skipped: $0.skipped, usingLastGood: $0.usingLastGood,
                        lastError: $0.lastError, failures: $0.failures, issues: $0.issues)
                })
            return (.ok, json(body))
        case (.POST, "/v1/policy/reload"):
            await policy.reload()
            return (.accepted, json(["status": "reload scheduled"]))
        case (.POST, "/v1/policy/rules"), (.DELETE, "/v1/policy/rules"):
            let add = method == .POST
            var action = RuleAction.block
            if let a = query["action"] {
                switch a {
                case "block": action = .block
                case "nodata": action = .nodata
                case "drop": action = .drop
                case "allow": action = .allow
                default: return error(.badRequest, "action: block, nodata, drop or allow")
                }
            }
            let list = query["list"] ?? (action == .allow ? PolicySettings.localAllow.name : PolicySettings.localBlock.name)
            let change: PolicyService.Change
            if let n = query["name"] {
                guard let name = try? Name(n), !name.isRoot else { return error(.badRequest, "'\(n)' is not a domain name") }
                var match = NameMatch.subtree
                if let m = query["match"] {
                    switch m {
                    case "subtree": match = .subtree
                    case "exact": match = .exact
                    case "below": match = .below
                    default: return error(.badRequest, "match: subtree, exact or below")
                    }
                }
                change = add ? .addName(name, list: list, match: match, action: action) : .removeName(name, list: list)
            } else if let p = query["prefix"] {
                guard let prefix = CIDR(p) else { return error(.badRequest, "'\(p)' is not an address prefix") }
                change = add ? .addPrefix(prefix, list: list, action: action) : .removePrefix(prefix, list: list)
            } else {
                return error(.badRequest, "name or prefix is required")
            }
            do {
                let generation = try await policy.apply(change)
                return (.ok, json(["generation": generation]))
            } catch let e as AppError {
                return error(.badRequest, e.reason)
            } catch {
                return Self.error(.internalServerError, "\(error)")
            }
        default:
            return error(.notFound, "no such policy resource")
        }
    }
}
