import ControlPlane
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Storage
import Testing
import ThreatIntel

/// Records what the hub hands to the policy.
actor RecordingSink: IntelPolicySink {
    var added: [IntelPolicyRule] = []
    var removed: [IntelPolicyRule] = []
    func apply(adding: [IntelPolicyRule], removing: [IntelPolicyRule]) async {
        added += adding
        removed += removing
    }
    func rebuildAll() async {}
    var activeValues: Set<String> {
        var s = Set<String>()
        for a in added { s.insert(a.value) }
        for r in removed where !added.contains(where: { $0.value == r.value && $0.id != r.id }) { s.remove(r.value) }
        return s
    }
}

let adminKey = String(repeating: "a", count: 40)
let readerKey = String(repeating: "r", count: 40)

func makeRouter() async throws -> (Router<ControlContext>, IntelHub, RecordingSink) {
    var settings = IntelSettings(databasePath: "")
    settings.keys = [
        KeySpec(name: "admin", org: "CERT-A", role: .admin, hash: APIKeys.hash(adminKey), prefix: "aaaa"),
        KeySpec(name: "reader", org: "CERT-B", role: .reader, hash: APIKeys.hash(readerKey), prefix: "rrrr"),
    ]
    settings.publicSuffixList = nil
    let store = try SQLiteStore.inMemory()
    let hub = try IntelHub(settings: settings, store: store, logger: Logger(label: "test"))
    try await hub.prepare()
    let sink = RecordingSink()
    await hub.attach(sink)
    return (ControlRouter(hub: hub, logger: Logger(label: "test")).build(), hub, sink)
}

func json(_ b: ByteBuffer) -> Any? { try? JSONSerialization.jsonObject(with: Data(buffer: b)) }

func body(_ o: Any) -> ByteBuffer { ByteBuffer(data: try! JSONSerialization.data(withJSONObject: o)) }

@Suite struct ControlRouterTests {
    @Test func keysAreRequiredAndErrorsAreMISPShaped() async throws {
        let (router, _, _) = try await makeRouter()
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/servers/getVersion", method: .get) { r in
                #expect(r.status == .unauthorized)
                let o = json(r.body) as? [String: Any]
                #expect(o?["name"] is String && o?["message"] is String)
            }
            try await client.execute(uri: "/servers/getVersion", method: .get, headers: [.authorization: String(repeating: "z", count: 40)]) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/servers/getVersion", method: .get, headers: [.authorization: adminKey]) { r in
                #expect(r.status == .ok)
                #expect((json(r.body) as? [String: Any])?["version"] as? String == "2.5.1")
            }
            // Bearer works for the REST API too.
            try await client.execute(uri: "/api/v1/sources", method: .get, headers: [.authorization: "Bearer \(adminKey)"]) { r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test func pushedEventIsEnforcedAndReadBack() async throws {
        let (router, hub, sink) = try await makeRouter()
        let app = Application(router: router)
        let eventObject: [String: Any] = [
            "info": "test", "uuid": "5a9e0000-0000-4000-8000-000000000001", "distribution": "1", "Tag": [["name": "tlp:green"]],
            "Attribute": [
                ["type": "domain", "value": "Evil.Example.", "to_ids": true, "Tag": [["name": "rsit:fraud=\"phishing\""]]],
                ["type": "url", "value": "hxxp://login[.]bad.example:8080/x", "to_ids": true],
                ["type": "ip-dst", "value": "192.0.2.10", "to_ids": true],
                ["type": "hostname", "value": "quiet.example", "to_ids": false],
                ["type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true],
            ],
        ]
        let event = body(eventObject)
        try await app.test(.router) { client in
            // A reader may not push.
            try await client.execute(uri: "/events/add", method: .post, headers: [.authorization: readerKey], body: event) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/events/add", method: .post, headers: [.authorization: adminKey], body: event) { r in
                #expect(r.status == .ok)
                let e = (json(r.body) as? [String: Any])?["Event"] as? [String: Any]
                #expect(e?["id"] as? String != nil)
                #expect((e?["Attribute"] as? [[String: Any]])?.allSatisfy { $0["id"] is String && $0["uuid"] is String } == true)
            }
            // A second add of the same uuid: 404 with the event's URL, as MISP answers.
            try await client.execute(uri: "/events/add", method: .post, headers: [.authorization: adminKey], body: event) { r in
                #expect(r.status == .notFound)
                #expect(r.headers[.location]?.hasPrefix("/events/view/") == true)
            }
            try await client.execute(uri: "/events/view/5a9e0000-0000-4000-8000-000000000001", method: .head, headers: [.authorization: adminKey]) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/events/view/5a9e0000-0000-4000-8000-00000000dead", method: .head, headers: [.authorization: adminKey]) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(
                uri: "/attributes/restSearch", method: .post, headers: [.authorization: adminKey], body: body(["value": "evil.example"])
            ) { r in
                let rows = ((json(r.body) as? [String: Any])?["response"] as? [String: Any])?["Attribute"] as? [[String: Any]]
                #expect(rows?.count == 1)
                #expect(rows?.first?["type"] as? String == "domain")
            }
            try await client.execute(uri: "/api/v1/explain?name=www.evil.example", method: .get, headers: [.authorization: adminKey]) { r in
                let o = json(r.body) as? [String: Any]
                #expect(o?["blocked"] as? Bool == true)
                let ind = (o?["indicators"] as? [[String: Any]])?.first
                #expect(ind?["categories"] as? [String] == ["phishing"])
                #expect(ind?["tlp"] as? String == "green")
                #expect(ind?["matches"] as? String == "parent domain")
                // Absent optionals are written as null.
                #expect(ind?["first_seen"] is NSNull)
            }
        }
        let active = await sink.activeValues
        #expect(active == ["evil.example", "login.bad.example", "192.0.2.10"])
        let quiet = try await hub.explain("quiet.example")
        #expect(quiet.indicators.first?.state == "withdrawn" && quiet.blocked == false)
    }

    @Test func malformedPayloadsGetClearErrors() async throws {
        let (router, _, _) = try await makeRouter()
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/events/add", method: .post, headers: [.authorization: adminKey], body: ByteBuffer(string: "{\"Event\": [1, 2")
            ) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(
                uri: "/api/v1/indicators", method: .post, headers: [.authorization: adminKey], body: body(["value": "not a name!", "category": "phishing"])
            ) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(
                uri: "/api/v1/indicators", method: .post, headers: [.authorization: adminKey], body: body(["value": "x.example", "category": "nonsense"])
            ) { r in
                #expect(r.status == .badRequest)
            }
            // Numbers out of range (a timestamp of 1e300) are taken as absent, not a crash.
            try await client.execute(
                uri: "/events/add", method: .post, headers: [.authorization: adminKey],
                body: ByteBuffer(string: #"{"info":"x","timestamp":1e300,"published":"yes","Attribute":[{"type":"domain","value":"huge.example","timestamp":1e300}]}"#)
            ) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/indicators/12345", method: .delete, headers: [.authorization: adminKey]) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/explain", method: .get, headers: [.authorization: adminKey]) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func openAPIDocumentNamesEveryRESTRoute() async throws {
        let (router, _, _) = try await makeRouter()
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.yaml", method: .get) { r in
                #expect(r.status == .ok)
                let text = String(buffer: r.body)
                for path in [
                    "/api/v1/explain:", "/api/v1/indicators:", "/api/v1/indicators/{id}:", "/api/v1/indicators/{id}/false-positive:",
                    "/api/v1/sources:", "/api/v1/sources/{name}/run:", "/events/add:", "/events/edit/{id}:", "/events/view/{id}:",
                    "/events/index:", "/events/filterEventIdsForPush:", "/attributes/restSearch:", "/sightings/add:", "/servers/getVersion:",
                    "/users/view/me:", "/attributes/describeTypes.json:",
                ] {
                    #expect(text.contains("\n  \(path)\n"), "\(path) missing from openapi.yaml")
                }
            }
        }
    }
}
