import AsyncHTTPClient
import DNSWire
import Foundation
import NIOCore
import Policy

/// `bulwark policy …`: explanations built locally from the configuration, or asked of a running
/// server, and single-rule changes sent to a running server.
public enum PolicyCLI {
    /// Builds the policy from the configured sources (files, and the last fetched copies of URL
    /// sources) and explains `query`.
    public static func checkLocally(_ query: String, profile: String?, settings: Settings, useSnapshot: Bool) throws -> Explanation {
        let p = settings.policy
        let loader = PolicyLoader(settings: p, dataDirectory: settings.dataDirectory)
        let engine: PolicyEngine
        if useSnapshot {
            engine = try PolicyFile.read(from: loader.snapshotPath, profiles: p.profiles, config: p.config)
        } else {
            var contents: [String: SourceContent] = [:]
            for spec in p.sources { if let c = loader.readLocal(spec) { contents[spec.name] = c } }
            engine = loader.build(contents: contents).0
        }
        var index = p.defaultProfile
        if let profile {
            guard let i = engine.profileIndex(named: profile) else {
                throw AppError(.config, "no profile named '\(profile)' (have: \(engine.profiles.map(\.name).joined(separator: ", ")))")
            }
            index = i
        }
        if let ip = IPAddress(query) { return engine.explain(address: ip, profile: index) }
        guard let name = try? Name(query) else { throw AppError(.config, "'\(query)' is not a domain name or address") }
        return engine.explain(name: name, profile: index)
    }

    /// Sends a request to a running server's policy interface; returns the status and body.
    public static func request(
        server: String, method: String, path: String, query: [String: String], headers: [(String, String)] = [], body: Data? = nil
    ) async throws -> (Int, String) {
        var comps = URLComponents()
        comps.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        let q = comps.percentEncodedQuery.map { "?\($0)" } ?? ""
        let base = server.contains("://") ? String(server.reversed().drop(while: { $0 == "/" }).reversed()) : "http://\(server)"
        var request = HTTPClientRequest(url: "\(base)\(path)\(q)")
        request.method = .init(rawValue: method)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            try await client.shutdown()
            return (Int(response.status.code), String(buffer: body))
        } catch {
            try? await client.shutdown()
            throw AppError(.startup, "cannot reach the server's policy interface at \(server): \(error)")
        }
    }
}
