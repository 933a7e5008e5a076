import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A MISP REST client (the calls Bulwark needs): raw key in `Authorization`, JSON in and out,
/// MISP's error bodies turned into `IntelError.source` with the status, retries with backoff
/// for 5xx and transport errors.
public struct MISPClient: Sendable {
    public let baseURL: String
    let key: String
    let http: HTTPClient
    /// Attempts per request (1 = no retry) and the first backoff; each retry doubles it.
    public var attempts = 3
    public var backoff: Duration = .milliseconds(500)
    public var timeout: TimeAmount = .seconds(60)
    /// Largest response accepted.
    public var maxBytes = 256 << 20

    public init(baseURL: String, key: String, http: HTTPClient) {
        var b = baseURL
        while b.hasSuffix("/") { b.removeLast() }
        self.baseURL = b
        self.key = key
        self.http = http
    }

    /// Sends a request; returns the body of a 2xx answer and its headers.
    public func request(_ method: HTTPMethod, _ path: String, json: Any? = nil) async throws(IntelError) -> (body: Data, headers: HTTPHeaders) {
        var body: Data?
        if let json {
            do {
                body = try JSONSerialization.data(withJSONObject: json)
            } catch {
                throw IntelError(.invalid, "cannot encode the request to \(path): \(error)")
            }
        }
        var lastError = IntelError(.source, "\(baseURL)\(path): no attempt made")
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 {
                try? await Task.sleep(for: backoff * (1 << (attempt - 1)))
                if Task.isCancelled { break }
            }
            var req = HTTPClientRequest(url: baseURL + path)
            req.method = method
            req.headers.add(name: "Authorization", value: key)
            req.headers.add(name: "Accept", value: "application/json")
            req.headers.add(name: "Content-Type", value: "application/json")
            req.headers.add(name: "User-Agent", value: "Bulwark")
            if let body { req.body = .bytes(ByteBuffer(bytes: body)) }
            do {
                let resp = try await http.execute(req, timeout: timeout)
                let buf = try await resp.body.collect(upTo: maxBytes)
                let data = Data(buffer: buf)
                if (200..<300).contains(resp.status.code) { return (data, resp.headers) }
                let message = Self.errorMessage(data)
                lastError = IntelError(.source, "\(baseURL)\(path): HTTP \(resp.status.code)\(message.map { ": \($0)" } ?? "")")
                // 4xx will not get better by asking again.
                if resp.status.code < 500 { throw lastError }
            } catch let e as IntelError {
                throw e
            } catch {
                lastError = IntelError(.source, "\(baseURL)\(path): \(error)")
            }
        }
        throw lastError
    }

    /// MISP's `{"name","message","url"}` error text, if the body has it.
    static func errorMessage(_ data: Data) -> String? {
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (o["message"] as? String) ?? (o["name"] as? String)
    }

    /// One page of `attributes/restSearch`; the rows and `X-Result-Count` when given.
    public func searchAttributes(_ body: [String: Any]) async throws(IntelError) -> (attributes: [MISPAttribute], total: Int?) {
        let (data, headers) = try await request(.POST, "/attributes/restSearch", json: body)
        do {
            let rows = try MISPJSON.attributes(fromRestSearch: data)
            return (rows, headers.first(name: "X-Result-Count").flatMap { Int($0) })
        } catch {
            throw IntelError(.source, "\(baseURL)/attributes/restSearch: malformed answer: \(error)")
        }
    }

    /// The creator organisation's name of an event (`events/view`): restSearch rows carry only
    /// organisation ids.
    public func eventOrganisation(_ eventID: String) async throws(IntelError) -> String? {
        let (data, _) = try await request(.GET, "/events/view/\(eventID)")
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let e = o["Event"] as? [String: Any] else { return nil }
        return ((e["Orgc"] as? [String: Any])?["name"] as? String) ?? ((e["Org"] as? [String: Any])?["name"] as? String)
    }

    /// Reports sightings (`POST /sightings/add`).
    public func addSighting(value: String, type: Int, source: String, timestamp: Date) async throws(IntelError) {
        let body: [String: Any] = [
            "value": value, "type": String(type), "source": source, "timestamp": String(Int(timestamp.timeIntervalSince1970)),
        ]
        try await postSighting("/sightings/add", body)
    }

    /// Reports a sighting of one attribute (`POST /sightings/add/{uuid}`).
    public func addSighting(attribute uuid: String, type: Int, source: String, timestamp: Date) async throws(IntelError) {
        let body: [String: Any] = ["type": String(type), "source": source, "timestamp": String(Int(timestamp.timeIntervalSince1970))]
        try await postSighting("/sightings/add/\(uuid)", body)
    }

    func postSighting(_ path: String, _ body: [String: Any]) async throws(IntelError) {
        let (data, _) = try await request(.POST, path, json: body)
        // MISP answers 200 with {"message": "Could not add …"} when it refuses.
        if let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], o["Sighting"] == nil, let m = o["message"] as? String {
            throw IntelError(.source, "\(baseURL)\(path): \(m)")
        }
    }
}
