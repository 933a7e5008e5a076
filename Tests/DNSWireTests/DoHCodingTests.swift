import Testing

@testable import DNSWire

@Suite struct DoHCodingTests {
    @Test func parameterDecoding() {
        // RFC 8484 §4.1.1's example query for www.example.com/A.
        let example = "AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB"
        let bytes = DoHCoding.decodeParameter(example)
        #expect(bytes?.count == 33 && bytes?.prefix(4) == [0, 0, 1, 0])
        #expect(DoHCoding.encodeParameter(bytes ?? []) == example)
        #expect(DoHCoding.decodeParameter("_-_-") == [0xFF, 0xEF, 0xFE])
        // Plain base64's alphabet and padding are tolerated.
        #expect(DoHCoding.decodeParameter("/+/+") == [0xFF, 0xEF, 0xFE])
        #expect(DoHCoding.decodeParameter("AAE=") == [0, 1] && DoHCoding.decodeParameter("AAE") == [0, 1])
        #expect(DoHCoding.decodeParameter("") == [])
        // Not base64url: a stray character, 4n+1 characters, bits set past the last byte.
        for bad in ["a", "ab$c", "ab c", "abcde", "AAF", "AB==", "é"] {
            #expect(DoHCoding.decodeParameter(bad) == nil, "\(bad)")
        }
        #expect(DoHCoding.decodeParameter(String(repeating: "A", count: DoHCoding.maxParameter))?.count == DoHCoding.maxMessage)
        #expect(DoHCoding.decodeParameter(String(repeating: "A", count: DoHCoding.maxParameter + 3)) == nil)
    }

    @Test func encodingRoundTrips() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<64 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = DoHCoding.encodeParameter(bytes)
            #expect(text.utf8.count == (n * 4 + 2) / 3 && !text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(DoHCoding.decodeParameter(text) == bytes)
        }
    }

    @Test func mediaType() {
        for good in ["application/dns-message", "Application/DNS-Message", " application/dns-message ; charset=x", "\tapplication/dns-message;"] {
            #expect(DoHCoding.isMessageType(good), "\(good)")
        }
        for bad in ["application/dns-messages", "application/dns", "text/plain", "", ";application/dns-message", "application/dns\r-message"] {
            #expect(!DoHCoding.isMessageType(bad), "\(bad)")
        }
        // A control character must not pass for '-' or '/' by case folding.
        #expect(!DoHCoding.isMessageType("application\u{0F}dns\u{0D}message"))
        #expect(!DoHCoding.isMessageType(String?.none))
    }

    @Test func freshnessIsTheSmallestTTL() throws {
        let q = Question(name: try Name("a.example."), type: .a)
        var m = Message(header: Header(id: 1, flags: 0x8180), questions: [q])
        m.answers = [
            ResourceRecord(name: q.name, ttl: 300, rdata: .a(IPv4Address("192.0.2.1")!)),
            ResourceRecord(name: q.name, ttl: 120, rdata: .a(IPv4Address("192.0.2.2")!)),
        ]
        m.edns = EDNS()
        #expect(DoHCoding.freshness(try m.encode()) == 120)
        // A TTL with the top bit set counts as 0 (RFC 2181 §8).
        m.answers[0].ttl = 0x8000_0001
        #expect(DoHCoding.freshness(try m.encode()) == 0)
        // Negative: the SOA's TTL, capped by its MINIMUM.
        let soa = RData.soa(.init(mname: .root, rname: .root, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60))
        m.answers = []
        m.authorities = [ResourceRecord(name: try Name("example."), ttl: 3600, rdata: soa)]
        #expect(DoHCoding.freshness(try m.encode()) == 60)
        // In a positive answer the SOA's MINIMUM does not count.
        m.answers = [ResourceRecord(name: q.name, ttl: 300, rdata: .a(IPv4Address("192.0.2.1")!))]
        #expect(DoHCoding.freshness(try m.encode()) == 300)
        // Nothing with a TTL, or not a message.
        m.answers = []
        m.authorities = []
        #expect(DoHCoding.freshness(try m.encode()) == 0)
        #expect(DoHCoding.freshness([1, 2, 3]) == 0)
        // A record cut short ends the scan with what was read.
        m.answers = [ResourceRecord(name: q.name, ttl: 90, rdata: .a(IPv4Address("192.0.2.1")!))]
        m.edns = nil
        let wire = try m.encode()
        #expect(DoHCoding.freshness(Array(wire.dropLast(2))) == 0)
    }
}
