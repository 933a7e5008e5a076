import DNSTestSupport
import Foundation
import Testing

@testable import ThreatIntel

@Suite struct MISPJSONTests {
    @Test func realEvent() throws {
        let data = try NormalizeFixtures.data("pymisp_existing_event.json")
        let e = try MISPJSON.event(from: data)
        #expect(e.uuid == "5a3c2fcd-8328-42bb-a95e-4f4402de0b81")
        #expect(e.id == "9747")
        #expect(e.info == "OSINT - Sednit update: How Fancy Bear Spent the Year")
        #expect(e.timestamp == 1_513_948_642)
        #expect(e.published == false)
        #expect(e.publishTimestamp == 0)
        #expect(e.distribution == 3)
        #expect(e.date == "2017-12-21")
        #expect(e.threatLevelID == 3)
        #expect(e.analysis == 0)
        #expect(e.orgName == "CIRCL")
        #expect(e.orgUUID == "55f6ea5e-2c60-40e5-964f-47a8950d210f")
        #expect(e.tags.count == 18)
        #expect(e.tags.first == "tlp:white")
        #expect(e.tags.contains(#"misp-galaxy:threat-actor="Sofacy""#))
        // 9 event attributes + 113 in objects.
        #expect(e.attributes.count == 122)
        #expect(e.attributes.filter(\.toIDS).count == 83)
        #expect(e.attributes.filter { $0.type == "domain" }.count == 19)
        #expect(e.attributes.filter { $0.type == "ip-dst" }.count == 12)
        #expect(Set(e.attributes.map(\.uuid)).count == 122)

        let link = e.attributes[0]
        #expect(link.type == "link")
        #expect(link.toIDS == false)
        #expect(link.tags == [#"osint:source-type="blog-post""#, #"osint:certainty="93""#])
        #expect(link.timestamp == 1_513_893_921)
        #expect(link.distribution == 5)
        #expect(link.objectID == nil)
        #expect(link.eventUUID == e.uuid)
        #expect(link.eventID == "9747")
        #expect(link.eventInfo == e.info)
        #expect(link.orgName == "CIRCL")

        let domain = e.attributes[2]
        #expect(domain.value == "movieultimate.com")
        #expect(domain.category == "Network activity")
        #expect(domain.comment == "Xagent Samples")
        #expect(domain.toIDS)
        #expect(!domain.deleted)

        let inObject = try #require(e.attributes.first { $0.value == "87.236.211.182" })
        #expect(inObject.type == "ip-dst")
        #expect(inObject.objectID == "1592")
        #expect(inObject.eventUUID == e.uuid)
        #expect(inObject.tags.isEmpty)
        #expect(inObject.firstSeen == nil)

        // The same event wrapped as the REST API and feeds send it.
        let obj = try JSONSerialization.jsonObject(with: data)
        for wrapped in [["Event": obj], ["response": ["Event": obj]], ["response": [["Event": obj]]]] as [Any] {
            let again = try MISPJSON.event(from: JSONSerialization.data(withJSONObject: wrapped))
            #expect(again == e)
        }

        // Every DNS value in the event normalises.
        let values = e.attributes.filter(\.toIDS).compactMap { try? IntelNormalizer.values(mispType: $0.type, value: $0.value).get() }
        #expect(values.flatMap { $0 }.count == 31)
    }

    @Test func feedEventWithoutIDs() throws {
        let json = """
            {"Event":{"uuid":"e-1","info":"feed event","timestamp":1700000000,"publish_timestamp":"1700000100","published":true,
             "Orgc":{"name":"Feed Org","uuid":"o-1"},"Tag":[{"name":"tlp:green","colour":"#00ff00"}],
             "Attribute":[{"uuid":"a-1","type":"domain","value":"evil.example","category":"Network activity","to_ids":"1",
                           "deleted":0,"timestamp":1700000000,"first_seen":"2021-01-01T00:00:00.000000+00:00",
                           "last_seen":"2021-01-02T01:02:03.5Z","Tag":[{"name":"rsit:fraud=\\"phishing\\""}]}],
             "Object":[{"uuid":"obj-1","name":"domain-ip","Attribute":[{"uuid":"a-2","type":"ip-dst","value":"192.0.2.1",
                           "to_ids":true,"timestamp":"1700000001","last_seen":"2021-01-02T03:04:05+02:00"}]}]}}
            """
        let e = try MISPJSON.event(from: Data(json.utf8))
        #expect(e.id == nil)
        #expect(e.published)
        #expect(e.publishTimestamp == 1_700_000_100)
        #expect(e.tags == ["tlp:green"])
        #expect(e.attributes.count == 2)
        let a = e.attributes[0]
        #expect(a.toIDS)
        #expect(a.deleted == false)
        #expect(a.eventID == nil)
        #expect(a.orgName == "Feed Org")
        #expect(a.tags == [#"rsit:fraud="phishing""#])
        #expect(a.firstSeen == Date(timeIntervalSince1970: 1_609_459_200))
        #expect(a.lastSeen == Date(timeIntervalSince1970: 1_609_549_323.5))
        let b = e.attributes[1]
        #expect(b.objectID == "obj-1")
        #expect(b.timestamp == 1_700_000_001)
        #expect(b.lastSeen == Date(timeIntervalSince1970: 1_609_549_445))
    }

    @Test func restSearch() throws {
        let json = """
            {"response":{"Attribute":[
              {"id":"11","event_id":"7","object_id":"0","category":"Network activity","type":"hostname","value":"c2.evil.example",
               "uuid":"u-1","comment":"","distribution":"1","to_ids":true,"deleted":false,"timestamp":"1700000000",
               "first_seen":null,"last_seen":"2023-11-14T22:13:20.000000+00:00",
               "Event":{"id":"7","info":"Campaign","org_id":"1","orgc_id":"2","uuid":"ev-7"},
               "Tag":[{"id":"1","name":"tlp:amber","inherited":1},{"id":"2","name":"ecsirt:malicious-code=\\"c&c\\"","inherited":0}]},
              {"id":12,"event_id":7,"object_id":"33","type":"url","value":"hxxp://evil[.]example/x","uuid":"u-2",
               "to_ids":"0","deleted":"1","timestamp":1700000001,"distribution":5}
            ]}}
            """
        let rows = try MISPJSON.attributes(fromRestSearch: Data(json.utf8))
        #expect(rows.count == 2)
        #expect(rows[0].eventID == "7")
        #expect(rows[0].eventUUID == "ev-7")
        #expect(rows[0].eventInfo == "Campaign")
        #expect(rows[0].tags == [#"ecsirt:malicious-code="c&c""#])
        #expect(rows[0].inheritedTags == ["tlp:amber"])
        #expect(rows[0].allTags == [#"ecsirt:malicious-code="c&c""#, "tlp:amber"])
        #expect(rows[0].distribution == 1)
        #expect(rows[0].comment == nil)
        #expect(rows[0].firstSeen == nil)
        #expect(rows[0].lastSeen == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(rows[0].objectID == nil)
        #expect(rows[1].eventID == "7")
        #expect(rows[1].objectID == "33")
        #expect(rows[1].toIDS == false)
        #expect(rows[1].deleted == true)
        #expect(rows[1].timestamp == 1_700_000_001)
        #expect(rows[1].eventUUID == nil)
        #expect(try MISPJSON.attributes(fromRestSearch: Data(#"{"response":[]}"#.utf8)).isEmpty)
        #expect(try MISPJSON.attributes(fromRestSearch: Data(#"{"response":{"Attribute":[]}}"#.utf8)).isEmpty)
        #expect(try MISPJSON.attributes(fromRestSearch: Data(#"{"Attribute":[]}"#.utf8)).isEmpty)
    }

    @Test func manifest() throws {
        let json = """
            {"b-2":{"Orgc":{"name":"CIRCL","uuid":"o-1"},"Tag":[{"name":"tlp:white","colour":"#fff"}],"info":"Two",
                    "date":"2024-01-02","analysis":"2","threat_level_id":"1","timestamp":"1704153600"},
             "a-1":{"Orgc":{"name":"CIRCL","uuid":"o-1"},"Tag":[],"info":"One","date":"2024-01-01","timestamp":1704067200}}
            """
        let m = try MISPJSON.manifest(from: Data(json.utf8))
        #expect(m.map(\.uuid) == ["a-1", "b-2"])
        #expect(m[0].timestamp == 1_704_067_200)
        #expect(m[1].timestamp == 1_704_153_600)
        #expect(m[1].tags == ["tlp:white"])
        #expect(m[1].orgName == "CIRCL")
        #expect(m[1].threatLevelID == 1)
        #expect(m[1].analysis == 2)
        #expect(m[1].info == "Two")
        #expect(try MISPJSON.manifest(from: Data("{}".utf8)).isEmpty)
    }

    @Test func brokenInput() throws {
        let real = try NormalizeFixtures.data("pymisp_existing_event.json")
        var rng = SplitMix64(seed: 7)
        // Truncations at many points: an error, never a crash.
        for cut in [0, 1, 10, 100, real.count / 3, real.count / 2, real.count - 2] {
            #expect(throws: IntelRejection.self) { try MISPJSON.event(from: real.prefix(cut)) }
        }
        // Random byte flips: either decodes or throws an IntelRejection.
        for _ in 0..<50 {
            var bytes = [UInt8](real)
            for _ in 0..<20 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            do { _ = try MISPJSON.event(from: Data(bytes)) } catch {}
        }
        let bad: [(String, String)] = [
            (#"[]"#, "not a JSON object"),
            (#""x""#, "not a JSON object"),
            (#"{"Event":{"info":"no uuid"}}"#, "uuid"),
            (#"{"Event":{"uuid":"e","Attribute":"x"}}"#, "\"Attribute\" is not an array"),
            (#"{"Event":{"uuid":"e","Attribute":[5]}}"#, "Attribute[0] is not an object"),
            (#"{"Event":{"uuid":"e","Attribute":[{"uuid":"a","type":"domain"}]}}"#, "no \"value\""),
            (#"{"Event":{"uuid":"e","Attribute":[{"uuid":"a","type":"domain","value":true}]}}"#, "no \"value\""),
            (#"{"Event":{"uuid":"e","Attribute":[{"uuid":"a","type":"domain","value":"x.com","Tag":"t"}]}}"#, "Tag is not an array"),
            (#"{"Event":{"uuid":"e","Object":[{"Attribute":{}}]}}"#, "Object[0].Attribute is not an array"),
        ]
        for (json, reason) in bad {
            #expect(throws: IntelRejection.self) { try MISPJSON.event(from: Data(json.utf8)) }
            do {
                _ = try MISPJSON.event(from: Data(json.utf8))
            } catch {
                #expect(error.reason.contains(reason), "\(json): \(error.reason)")
            }
        }
        for json in [#"{"response":{"Attribute":"x"}}"#, #"{"response":[1]}"#, #"{"response":{"x":1}}"#, "{", "", #"{"response":{"Attribute":[{"type":"domain"}]}}"#] {
            #expect(throws: IntelRejection.self) { try MISPJSON.attributes(fromRestSearch: Data(json.utf8)) }
        }
        for json in [#"[]"#, #"{"a":1}"#, #"{"a":{"Tag":"x"}}"#, "nul"] {
            #expect(throws: IntelRejection.self) { try MISPJSON.manifest(from: Data(json.utf8)) }
        }
    }

    @Test func lenientScalars() {
        #expect(MISPJSON.int64("1513948642") == 1_513_948_642)
        #expect(MISPJSON.int64(NSNumber(value: 12)) == 12)
        #expect(MISPJSON.int64("1.5e3") == 1500)
        #expect(MISPJSON.int64("x") == nil)
        #expect(MISPJSON.int64("1e300") == nil)
        #expect(MISPJSON.bool("1") == true)
        #expect(MISPJSON.bool("0") == false)
        #expect(MISPJSON.bool("maybe") == nil)
        #expect(MISPJSON.string(NSNumber(value: 9747)) == "9747")
        #expect(MISPJSON.date("2021-01-01") == Date(timeIntervalSince1970: 1_609_459_200))
        #expect(MISPJSON.date("1999-12-31T23:59:59-01:00") == Date(timeIntervalSince1970: 946_688_399))
        #expect(MISPJSON.date("1609459200") == Date(timeIntervalSince1970: 1_609_459_200))
        #expect(MISPJSON.date("2021-13-01") == nil)
        #expect(MISPJSON.date("2021-01-01T00:00:00junk") == nil)
        #expect(MISPJSON.date(NSNull()) == nil)
        // JSON booleans are not numbers for string fields.
        let o = try? JSONSerialization.jsonObject(with: Data(#"{"t":true,"n":1}"#.utf8)) as? [String: Any]
        #expect(MISPJSON.string(o?["t"]) == nil)
        #expect(MISPJSON.string(o?["n"]) == "1")
        #expect(MISPJSON.bool(o?["t"]) == true)
    }
}
