import DNSTestSupport
import Foundation
import Testing

@testable import ThreatIntel

@Suite struct FreetextParserTests {
    func kinds(_ results: [(line: Int, result: Result<IntelValue, IntelRejection>)]) -> [IntelValueKind: Int] {
        var out: [IntelValueKind: Int] = [:]
        for r in results { if let v = r.result.value { out[v.kind, default: 0] += 1 } }
        return out
    }

    @Test func urlhausSample() throws {
        let text = try NormalizeFixtures.text("urlhaus-filter-domains-online.txt")
        let results = FreetextParser.parse(text)
        // 3,919 lines: 6 comments, 2,895 addresses, 1,018 names (588 with two labels).
        #expect(results.count == 3913)
        let failures = results.filter { $0.result.error != nil }
        #expect(failures.isEmpty, "\(failures.prefix(5).map { "\($0.line): \($0.result.error!.reason)" })")
        let k = kinds(results)
        #expect(k[.ip] == 2895)
        #expect(k[.domain] == 588)
        #expect(k[.hostname] == 430)
        #expect(results.first?.line == 7)
        #expect(results.first?.result.value == IntelValue(value: "0-24bpautomentes.hu", kind: .domain))
        #expect(results.last?.line == 3919)
        #expect(results.last?.result.value == IntelValue(value: "zz.690tx.com", kind: .hostname))
    }

    @Test func urlhausSampleWithPublicSuffixList() throws {
        let text = try NormalizeFixtures.text("urlhaus-filter-domains-online.txt")
        let psl = NormalizeFixtures.psl
        let results = FreetextParser.parse(text, psl: psl)
        let k = kinds(results)
        #expect(k[.ip] == 2895)
        let names = (k[.domain] ?? 0) + (k[.hostname] ?? 0)
        let rejected = results.filter { $0.result.error != nil }.count
        #expect(names + rejected == 1018)
        if NormalizeFixtures.systemPSL != nil {
            // acellr.co.uk and the like are registrable domains with three labels.
            #expect(rejected == 0)
            #expect(k[.domain]! > 588)
            let coUK = results.first { $0.result.value?.value == "acellr.co.uk" }
            #expect(coUK?.result.value?.kind == .domain)
            let files1drv = results.first { $0.result.value?.value == "zmidsg.am.files.1drv.com" }
            #expect(files1drv?.result.value?.kind == .hostname)
        }
    }

    @Test func classification() {
        let text = """
            # comment line
              # indented comment
            evil.com, 192.0.2.1;http://a.b.evil.org/x.php 198.51.100.0/24
            hxxp://bad[.]example[.]net/path  192.0.2.9:8080 [2001:db8::5]:443 2001:DB8::6
            user@mail.example.com   just-a-word   sub.evil.com:8443 '10.0.0.1'
            \r
            last.example.co.uk\r\n"quoted.example.com"
            """
        let results = FreetextParser.parse(text)
        let got = results.map { ($0.line, $0.result.value?.description ?? "x") }
        let expected: [(Int, String)] = [
            (3, "domain:evil.com"), (3, "ip:192.0.2.1"), (3, "hostname:a.b.evil.org"), (3, "cidr:198.51.100.0/24"),
            (4, "hostname:bad.example.net"), (4, "ip:192.0.2.9"), (4, "ip:2001:db8::5"), (4, "ip:2001:db8::6"),
            (5, "x"), (5, "x"), (5, "hostname:sub.evil.com"), (5, "ip:10.0.0.1"),
            (7, "hostname:last.example.co.uk"), (8, "hostname:quoted.example.com"),
        ]
        #expect(got.map(\.0) == expected.map(\.0))
        #expect(got.map(\.1) == expected.map(\.1))
        #expect(results[8].result.error?.reason.contains("e-mail") == true)
        #expect(results[9].result.error?.reason.contains("single label") == true)
        // With the PSL the label count no longer decides.
        let psl = NormalizeFixtures.embeddedPSL
        #expect(FreetextParser.classify("last.example.co.uk", psl: psl).value == IntelValue(value: "last.example.co.uk", kind: .hostname))
        #expect(FreetextParser.classify("example.co.uk", psl: psl).value == IntelValue(value: "example.co.uk", kind: .domain))
        #expect(FreetextParser.classify("example.co.uk").value == IntelValue(value: "example.co.uk", kind: .hostname))
        #expect(FreetextParser.classify("igfxtray.exe", psl: psl).error?.reason.contains("not a top-level domain") == true)
        #expect(FreetextParser.classify("igfxtray.exe").value == IntelValue(value: "igfxtray.exe", kind: .domain))
        #expect(FreetextParser.classify("github.io", psl: psl).error?.reason.contains("public suffix") == true)
        #expect(FreetextParser.classify("10.1.2.3/8").value?.note != nil)
    }

    @Test func hostileInput() {
        // Pseudo-random bytes (fixed seed), NULs, a 1 MB line, many separators.
        var rng = SplitMix64(seed: 42)
        var bytes = [UInt8](repeating: 0, count: 300_000)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let clock = ContinuousClock()
        var random: [(line: Int, result: Result<IntelValue, IntelRejection>)] = []
        let tr = clock.measure { random = FreetextParser.parse(data: Data(bytes)) }
        print("freetext: 300 kB of random bytes (\(random.count) tokens) in \(tr)")
        #expect(random.allSatisfy { $0.line >= 1 })

        let nul = FreetextParser.parse("evil.com\u{0}good.example.org\u{0}\u{0}\nx\u{0}")
        #expect(nul.compactMap { $0.result.value?.value } == ["evil.com", "good.example.org"])

        let huge = String(repeating: "a", count: 1_000_000)
        var results: [(line: Int, result: Result<IntelValue, IntelRejection>)] = []
        let t = clock.measure { results = FreetextParser.parse("ok.example.com\n" + huge + "\nnext.example.com") }
        #expect(results.count == 3)
        #expect(results[1].result.error?.reason.contains("too long") == true)
        #expect(results[2].line == 3)

        print("freetext: 1 MB line in \(t)")
        let dots = String(repeating: ".", count: 1_000_000)
        let td = clock.measure { #expect(FreetextParser.parse(dots).count == 1) }
        let commas = String(repeating: ",;", count: 500_000)
        let tc = clock.measure { #expect(FreetextParser.parse(commas).isEmpty) }
        let manyTokens = String(repeating: "a.example.com ", count: 50_000)
        let tm = clock.measure { #expect(FreetextParser.parse(manyTokens).count == 50_000) }
        print("freetext: 1 MB of dots \(td), 1 MB of separators \(tc), 50k tokens \(tm)")
        #expect(FreetextParser.parse("").isEmpty)
        #expect(FreetextParser.parse("\n\n\r\n").isEmpty)
    }
}


@Suite struct CSVFeedParserTests {
    @Test func columnsSetting() {
        #expect(CSVFeedParser.columns(fromSetting: "2, 3") == [2, 3])
        #expect(CSVFeedParser.columns(fromSetting: "") == [])
        #expect(CSVFeedParser.columns(fromSetting: "0,x,4") == [4])
    }

    @Test func selectedColumns() {
        let text = #"""
            # id,url,host,comment
            1,http://evil.example.com/a,192.0.2.1,"note, with comma"
            2,"http://quoted.example.net/""x""",198.51.100.7,plain
            3,,,
            """#
        let r = CSVFeedParser.parse(text, columns: [2, 3])
        #expect(r.map { $0.line } == [2, 2, 3, 3])
        #expect(
            r.compactMap { $0.result.value?.description } == [
                "hostname:evil.example.com", "ip:192.0.2.1", "hostname:quoted.example.net", "ip:198.51.100.7",
            ])
    }

    @Test func allColumnsAndDelimiter() {
        let text = "evil.com;192.0.2.1\n\n# skip;this\n\"a;b.example.org\";x\n"
        let r = CSVFeedParser.parse(text, delimiter: ";")
        #expect(r.map(\.line) == [1, 1, 4, 4])
        #expect(r[0].result.value == IntelValue(value: "evil.com", kind: .domain))
        #expect(r[1].result.value == IntelValue(value: "192.0.2.1", kind: .ip))
        #expect(r[2].result.error != nil)  // "a;b.example.org" is one cell, not a name
        #expect(r[3].result.error?.reason.contains("single label") == true)
    }

    @Test func quotedLineBreaksAndOutOfRangeColumns() {
        let text = "\"multi\nline\",evil.com\r\nnext.example.org,x\r\n\"# not a comment\",c2.example.com"
        let r = CSVFeedParser.parse(text, columns: [2, 9])
        #expect(r.map(\.line) == [1, 3, 4])
        #expect(r.compactMap { $0.result.value?.value } == ["evil.com", "c2.example.com"])
        #expect(CSVFeedParser.parse("a.example.com", columns: [1], delimiter: "\t").first?.result.value?.value == "a.example.com")
        #expect(CSVFeedParser.parse("\"unterminated,evil.com").count == 1)
    }
}
