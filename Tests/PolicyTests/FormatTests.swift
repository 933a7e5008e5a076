import DNSTestSupport
import DNSWire
import Foundation
import Testing

@testable import Policy

/// Collects what a parser delivers; names are kept as presentation text (`example.com.`).
private struct Collector: RuleSink {
    struct NameRule: Equatable, CustomStringConvertible {
        var name: String
        var match: NameMatch
        var action: RuleAction
        var line: Int
        init(_ name: String, _ match: NameMatch, _ action: RuleAction, line: Int) {
            self.name = name
            self.match = match
            self.action = action
            self.line = line
        }
        var description: String { "\(line): \(name) \(match) \(action)" }
    }

    struct AddressRule: Equatable, CustomStringConvertible {
        var prefix: String
        var action: RuleAction
        var line: Int
        init(_ prefix: String, _ action: RuleAction, line: Int) {
            self.prefix = prefix
            self.action = action
            self.line = line
        }
        var description: String { "\(line): \(prefix) \(action)" }
    }

    struct Issue: CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "\(line): \(message)" }
    }

    var names: [NameRule] = []
    var addresses: [AddressRule] = []
    var issues: [Issue] = []
    /// Names that were not valid, lowercased wire form.
    var malformed = 0

    mutating func name(_ wire: UnsafeRawBufferPointer, match: NameMatch, action: RuleAction, line: Int) {
        let bytes = Array(wire)
        guard let name = try? Name(wire: bytes), name.lowercasedWire == bytes else {
            malformed += 1
            return
        }
        names.append(NameRule(name.description, match, action, line: line))
    }

    mutating func address(_ prefix: CIDR, action: RuleAction, line: Int) {
        addresses.append(AddressRule(prefix.description, action, line: line))
    }

    mutating func issue(line: Int, _ message: String) {
        issues.append(Issue(line: line, message: message))
    }

    var issueLines: [Int] { issues.map(\.line) }

    func issue(at line: Int) -> String? { issues.first { $0.line == line }?.message }
}

private func parse(_ text: String, _ format: ListFormat) -> Collector {
    parse(bytes: Array(text.utf8), format)
}

private func parse(bytes: [UInt8], _ format: ListFormat) -> Collector {
    var c = Collector()
    bytes.withUnsafeBytes { ListParser.parse($0, format: format, into: &c) }
    return c
}

/// Tests/PolicyTests/FormatTests.swift → Tests/Data/<file>.
private func testData(_ file: String) throws -> [UInt8] {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(2)
    let path = parts.joined(separator: "/") + "/Data/" + file
    return Array(try #require(FileManager.default.contents(atPath: path), "cannot read \(path)"))
}


private typealias R = Collector.NameRule
private typealias A = Collector.AddressRule

@Suite struct DomainListTests {
    @Test func namesCommentsAndWildcards() {
        let c = parse(
            """
            example.com
            *.ads.example.net
            Foo.Example.ORG.
            # a comment
            ! another comment

              spaced.example\t# trailing comment
            tail.example# no blank before the comment
            _dmarc.example.com
            xn--bcher-kva.example
            """, .domains)
        #expect(
            c.names == [
                R("example.com.", .subtree, .block, line: 1), R("ads.example.net.", .below, .block, line: 2),
                R("foo.example.org.", .subtree, .block, line: 3), R("spaced.example.", .subtree, .block, line: 7),
                R("tail.example.", .subtree, .block, line: 8), R("_dmarc.example.com.", .subtree, .block, line: 9),
                R("xn--bcher-kva.example.", .subtree, .block, line: 10),
            ])
        #expect(c.issues.isEmpty, "\(c.issues)")
        #expect(c.malformed == 0)
    }

    @Test func badNamesAreSkippedWithOneIssueEach() {
        let c = parse(
            """
            a..b.example
            bücher.de
            1.2.3.4
            ::1
            example.com extra
            bad/char.com
            *
            *.
            .
            .leading.example
            host.123
            mid.*.example
            ok.example
            """, .domains)
        #expect(c.names == [R("ok.example.", .subtree, .block, line: 13)])
        #expect(c.issueLines == Array(1...12))
        #expect(c.issue(at: 1)?.hasPrefix("empty label") == true)
        #expect(c.issue(at: 2)?.hasPrefix("not an ASCII name; use punycode") == true)
        #expect(c.issue(at: 3)?.hasPrefix("IP address, not a name") == true)
        #expect(c.issue(at: 4)?.hasPrefix("IP address, not a name") == true)
        #expect(c.issue(at: 5)?.hasPrefix("more than one field") == true)
        #expect(c.issue(at: 6) == "bad character '/' in name: 'bad/char.com'")
        #expect(c.issue(at: 7)?.hasPrefix("'*' is allowed only") == true)
        #expect(c.issue(at: 8)?.hasPrefix("'*' is allowed only") == true)
        #expect(c.issue(at: 9)?.hasPrefix("the root") == true)
        #expect(c.issue(at: 10)?.hasPrefix("empty label") == true)
        #expect(c.issue(at: 11)?.hasPrefix("all-numeric top-level label") == true)
        #expect(c.issue(at: 12)?.hasPrefix("'*' is allowed only") == true)
    }

    @Test func labelAndNameLengthLimits() {
        let l63 = String(repeating: "a", count: 63)
        let l64 = String(repeating: "b", count: 64)
        // 4 × 63-byte labels = 256 bytes of wire form: too long; 3 × 63 + 61 = 254 + root = 255: fits.
        let fits = [l63, l63, l63, String(repeating: "c", count: 61)].joined(separator: ".")
        let tooLong = [l63, l63, l63, l63].joined(separator: ".")
        let c = parse("\(l63).example\n\(l64).example\n\(fits)\n\(fits).\n\(tooLong)\n", .domains)
        #expect(c.names.map(\.line) == [1, 3, 4])
        #expect(c.names[1].name == fits + ".")
        #expect(c.issue(at: 2)?.hasPrefix("label longer than 63 bytes") == true)
        #expect(c.issue(at: 5)?.hasPrefix("name longer than 255 bytes") == true)
        #expect(c.issues.count == 2)
    }

    @Test func byteOrderMarkAndCRLF() {
        let c = parse(bytes: [0xEF, 0xBB, 0xBF] + Array("a.example\r\nb.example\r\n\r\nc.example".utf8), .domains)
        #expect(c.names.map(\.name) == ["a.example.", "b.example.", "c.example."])
        #expect(c.names.map(\.line) == [1, 2, 4])
        #expect(c.issues.isEmpty)
    }

    /// The URLhaus domain feed: a `#` header, 2,895 bare IPv4 addresses and 1,018 host names
    /// (counted with `grep -v '^#' | grep -vcE '^[0-9.]+$'`).
    @Test func urlhausFeed() throws {
        let c = parse(bytes: try testData("urlhaus-filter-domains-online.txt"), .domains)
        #expect(c.names.count == 1018)
        #expect(c.issues.count == 2895)
        #expect(c.issues.allSatisfy { $0.message.hasPrefix("IP address, not a name") })
        #expect(c.issues.first?.line == 8)
        #expect(c.issues.last?.line == 2913)
        #expect(c.names.first == R("0-24bpautomentes.hu.", .subtree, .block, line: 7))
        #expect(c.names.last == R("zz.690tx.com.", .subtree, .block, line: 3919))
        #expect(c.names.contains(R("aydgroup.github.io.", .subtree, .block, line: 2990)))
        #expect(c.names.allSatisfy { $0.match == .subtree && $0.action == .block })
        #expect(c.malformed == 0)
    }
}

@Suite struct HostsTests {
    @Test func hostsFile() {
        let c = parse(
            """
            127.0.0.1 localhost
            ::1 localhost ip6-localhost ip6-loopback
            0.0.0.0 0.0.0.0
            0.0.0.0 ads.example.com Tracker.Example.NET # two names
            # a comment
            255.255.255.255 broadcasthost
            fe80::1%lo0 localhost
            1.2.3.4\tcustom.example
            example.com
            0.0.0.0 bad!name.com good.example
            0.0.0.0
            ff02::2 ip6-allrouters
            127.0.0.1 localhost.localdomain LOCAL
            0.0.0.0 1.2.3.4
            """, .hosts)
        #expect(
            c.names == [
                R("ads.example.com.", .subtree, .block, line: 4), R("tracker.example.net.", .subtree, .block, line: 4),
                R("custom.example.", .subtree, .block, line: 8), R("good.example.", .subtree, .block, line: 10),
            ])
        #expect(c.issueLines == [9, 10, 11, 14])
        #expect(c.issue(at: 9)?.hasPrefix("expected an IP address first") == true)
        #expect(c.issue(at: 10) == "bad character '!' in name: 'bad!name.com'")
        #expect(c.issue(at: 11) == "no name after the address")
        #expect(c.issue(at: 14)?.hasPrefix("IP address, not a name") == true)
    }
}

@Suite struct AdblockTests {
    @Test func domainRulesAndWhatIsNotOne() {
        let c = parse(
            """
            [Adblock Plus 2.0]
            ! Title: test
            ||ads.example.com^
            @@||good.example.com^
            ||tracker.example^$important
            ||x.example^$third-party
            example.com##.banner
            ||a.example/x
            /banner\\d+/
            -ad-banner-
            plain.example.org
            ||*.sub.example^
            ||b.example^$important,all
            @@||c.example^$document
            ||d.example
            ||1.2.3.4^
            #@#.ad
            # a comment
            ||e.example^|
            ||bücher.de^
            ads
            example.net^
            ||f.example^$script,important
            |https://g.example/
            [$path=/page]example.org##.ad
            """, .adblock)
        #expect(
            c.names == [
                R("ads.example.com.", .subtree, .block, line: 3), R("good.example.com.", .subtree, .allow, line: 4),
                R("tracker.example.", .subtree, .block, line: 5), R("plain.example.org.", .subtree, .block, line: 11),
                R("sub.example.", .below, .block, line: 12), R("b.example.", .subtree, .block, line: 13),
                R("c.example.", .subtree, .allow, line: 14), R("d.example.", .subtree, .block, line: 15),
                R("e.example.", .subtree, .block, line: 19),
            ])
        #expect(c.issueLines == [6, 7, 8, 9, 10, 16, 17, 20, 21, 22, 23, 24, 25])
        for line in [6, 7, 8, 9, 10, 17, 21, 22, 23, 24, 25] {
            #expect(c.issue(at: line)?.hasPrefix("not a domain rule") == true, "line \(line): \(c.issue(at: line) ?? "-")")
        }
        #expect(c.issue(at: 6) == "not a domain rule (option 'third-party'): '||x.example^$third-party'")
        #expect(c.issue(at: 23)?.contains("'script'") == true)
        #expect(c.issue(at: 16)?.hasPrefix("IP address, not a name") == true)
        #expect(c.issue(at: 20)?.hasPrefix("not an ASCII name; use punycode") == true)
    }
}

@Suite struct RPZTests {
    static let zone = """
        $TTL 300
        $ORIGIN rpz.local.
        @ IN SOA localhost. root.localhost. ( 2024010101 ; serial
                1h 15m 30d 2h )
          IN NS localhost.
        bad.example CNAME .
        *.bad.example CNAME .
        nodata.example 60 IN CNAME *.
        pass.example IN 60 CNAME rpz-passthru.
        drop.example CNAME rpz-drop.
        tcp.example CNAME rpz-tcp-only.
        garden.example CNAME walled.garden.net.
        local.example A 192.0.2.1
                      A 192.0.2.2
        local.example 120 AAAA 2001:db8::1
        txt.example TXT "hello world" "x"
        Abs.Example.rpz.local. CNAME .
        other.zone. CNAME .
        legacy.example CNAME legacy.example.
        *.wild.example CNAME *.garden.net.
        after.example CNAME .
        """

    @Test func qnameTriggersAndActions() throws {
        let c = parse(Self.zone, .rpz)
        let localData = try #require(c.names.first { $0.name == "local.example." })
        guard case .localData(let records) = localData.action else {
            Issue.record("local.example is \(localData.action)")
            return
        }
        let owner = try Name("local.example.")
        #expect(
            records == [
                ResourceRecord(name: owner, ttl: 300, rdata: .a(IPv4Address("192.0.2.1")!)),
                ResourceRecord(name: owner, ttl: 300, rdata: .a(IPv4Address("192.0.2.2")!)),
                ResourceRecord(name: owner, ttl: 120, rdata: .aaaa(IPv6Address("2001:db8::1")!)),
            ])
        let garden = ResourceRecord(name: try Name("garden.example."), ttl: 300, rdata: .cname(try Name("walled.garden.net.")))
        let txt = ResourceRecord(name: try Name("txt.example."), ttl: 300, rdata: .txt([Array("hello world".utf8), [0x78]]))
        let wild = ResourceRecord(name: try Name("*.wild.example."), ttl: 300, rdata: .cname(try Name("*.garden.net.")))
        #expect(
            c.names == [
                R("bad.example.", .exact, .block, line: 6), R("bad.example.", .below, .block, line: 7),
                R("nodata.example.", .exact, .nodata, line: 8), R("pass.example.", .exact, .allow, line: 9),
                R("drop.example.", .exact, .drop, line: 10), R("garden.example.", .exact, .localData([garden]), line: 12),
                localData, R("txt.example.", .exact, .localData([txt]), line: 16),
                R("abs.example.", .exact, .block, line: 17), R("legacy.example.", .exact, .allow, line: 19),
                R("wild.example.", .below, .localData([wild]), line: 20), R("after.example.", .exact, .block, line: 21),
            ])
        #expect(localData.line == 13)
        #expect(c.issueLines == [11, 18])
        #expect(c.issue(at: 11) == "unsupported action rpz-tcp-only")
        #expect(c.issue(at: 18)?.hasPrefix("owner other.zone. is outside the zone rpz.local.") == true)
        #expect(c.malformed == 0)
    }

    @Test func addressTriggers() throws {
        let owner = try Name("32.1.2.0.192.rpz-ip.")
        let c = parse(
            """
            $ORIGIN rpz.local.
            @ SOA localhost. root.localhost. 1 1h 15m 30d 2h
            @ NS localhost.
            32.1.2.0.192.rpz-ip CNAME .
            24.0.2.0.192.rpz-ip CNAME rpz-passthru.
            128.1.zz.db8.2001.rpz-ip CNAME .
            48.zz.2.2001.rpz-ip CNAME *.
            32.10.zz.db8.2001.rpz-ip CNAME .
            33.1.2.0.192.rpz-ip CNAME .
            24.1.2.0.192.rpz-ip CNAME .
            0.0.0.0.0.rpz-ip CNAME .
            24.0.2.0.256.rpz-ip CNAME .
            64.zz.1.zz.2001.rpz-ip CNAME .
            128.1.2.3.4.5.6.7.8.rpz-ip CNAME .
            129.1.zz.2001.rpz-ip CNAME .
            *.24.0.2.0.192.rpz-ip CNAME .
            ns.example.rpz-nsdname CNAME .
            32.1.0.0.127.rpz-nsip CNAME .
            24.0.0.0.10.rpz-client-ip CNAME .
            32.1.2.0.192.rpz-ip 60 A 10.0.0.1
            16.0.0.10.172.rpz-ip CNAME .
            """, .rpz)
        #expect(
            c.addresses == [
                A("192.0.2.1/32", .block, line: 4), A("192.0.2.0/24", .allow, line: 5), A("2001:db8::1/128", .block, line: 6),
                A("2001:2::/48", .nodata, line: 7), A("8:7:6:5:4:3:2:1/128", .block, line: 14),
                A("192.0.2.1/32", .localData([ResourceRecord(name: owner, ttl: 60, rdata: .a(IPv4Address("10.0.0.1")!))]), line: 20),
                A("172.10.0.0/16", .block, line: 21),
            ])
        #expect(c.names.isEmpty)
        // 2001:db8::10/32 (line 8) has host bits set: reported, not rounded down.
        #expect(c.issueLines == [8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19])
        #expect(c.issue(at: 8)?.contains("bits set beyond /32") == true)
        #expect(c.issue(at: 9)?.contains("prefix length 33 is not in 1...32") == true)
        #expect(c.issue(at: 10)?.contains("bits set beyond /24") == true)
        #expect(c.issue(at: 13)?.contains("more than one zz") == true)
        #expect(c.issue(at: 15)?.contains("prefix length 129 is not in 1...128") == true)
        #expect(c.issue(at: 16)?.contains("wildcard") == true)
        #expect(c.issue(at: 17)?.hasPrefix("unsupported trigger rpz-nsdname") == true)
        #expect(c.issue(at: 18)?.hasPrefix("unsupported trigger rpz-nsip") == true)
        #expect(c.issue(at: 19)?.hasPrefix("unsupported trigger rpz-client-ip") == true)
    }

    /// named-compilezone writes absolute owners and changes $ORIGIN; the SOA owner is the apex.
    @Test func compiledZoneLayout() {
        let c = parse(
            """
            $ORIGIN .
            $TTL 300\t; 5 minutes
            rpz.local\t\tIN SOA\tns.rpz.local. admin.rpz.local. (
            \t\t\t\t1 3600 600 86400 300 )
            \t\t\tNS\tlocalhost.
            $ORIGIN rpz.local.
            bad.example\t\tCNAME\t.
            $ORIGIN bad.example.rpz.local.
            *\t\t\tCNAME\t.
            $ORIGIN rpz.local.
            Mixed.Example\t\tcname\tRPZ-PASSTHRU.
            """, .rpz)
        #expect(
            c.names == [
                R("bad.example.", .exact, .block, line: 7), R("bad.example.", .below, .block, line: 9),
                R("mixed.example.", .exact, .allow, line: 11),
            ])
        #expect(c.issues.isEmpty, "\(c.issues)")
    }

    /// MISP's own RPZ export header; no $ORIGIN, so the apex is the root and owners are triggers.
    @Test func mispExportAndNoOrigin() {
        let c = parse(
            """
            $TTL 1w;
            @ SOA localhost. root.localhost (2024120100 2h 30m 30d 1h)
              NS localhost.

            evil.example CNAME .
            *.evil.example CNAME .
            phish.example. CNAME *.
            """, .rpz)
        #expect(
            c.names == [
                R("evil.example.", .exact, .block, line: 5), R("evil.example.", .below, .block, line: 6),
                R("phish.example.", .exact, .nodata, line: 7),
            ])
        #expect(c.issues.isEmpty, "\(c.issues)")
    }

    /// Byte order mark, CRLF, parentheses across lines, quotes, escapes, units and relative
    /// `$ORIGIN`s: the entries the byte-level path hands to DNSWire's zone-file reader.
    @Test func slowPathForms() throws {
        let text =
            "\u{FEFF}$ORIGIN rpz.local.\r\n$TTL 60\r\n"
            + "multi.example TXT ( \"part one\" ; a comment\r\n            \"part two\" )\r\n"
            + "esc\\.dot.example CNAME .\r\n"
            + "quoted.example CNAME \".\"\r\n"
            + "$ORIGIN example.rpz.local.\r\n"
            + "rel CNAME rpz-drop.\r\n"
            + "Upper.Example.rpz.local. 1H IN CNAME *.\r\n"
            + "mx IN 2h MX 10 mail.example.com.\r\n"
            + "  MX 20 @\r\n"
        let c = parse(text, .rpz)
        let txt = ResourceRecord(name: try Name("multi.example."), ttl: 60, rdata: .txt([Array("part one".utf8), Array("part two".utf8)]))
        let owner = try Name("mx.example.")
        let mx = [
            ResourceRecord(name: owner, ttl: 7200, rdata: .mx(preference: 10, exchange: try Name("mail.example.com."))),
            ResourceRecord(name: owner, ttl: 60, rdata: .mx(preference: 20, exchange: try Name("example.rpz.local."))),
        ]
        #expect(
            c.names == [
                R("multi.example.", .exact, .localData([txt]), line: 3), R("quoted.example.", .exact, .block, line: 6),
                R("rel.example.", .exact, .drop, line: 8), R("upper.example.", .exact, .nodata, line: 9),
                R("mx.example.", .exact, .localData(mx), line: 10),
            ])
        #expect(c.issues.map(\.description) == ["5: bad character '.' in name: 'esc\\.dot.example.'"])
    }

    @Test func badEntriesAreReportedAndReadingGoesOn() {
        let long = String(repeating: "x", count: 70000)
        let c = parse(
            """
            \tCNAME .
            $ORIGIN rpz.local.
            $INCLUDE other.zone
            $GENERATE 1-10 host$ CNAME .
            one.example CNAME .
            two.example 1x CNAME .
            three.example CH CNAME .
            four.example
            * CNAME .
            @ CNAME .
            five.example CNAME rpz-passthru. extra
            six.example TXT "unclosed
            seven.example ) CNAME .
            \(long)
            eight.example A 999.1.1.1
            1.2.3.4 CNAME .
            bad_chär.example CNAME .
            nine.example CNAME .
            ten.example A 192.0.2.1
            """, .rpz)
        #expect(c.names == [R("one.example.", .exact, .block, line: 5), R("nine.example.", .exact, .block, line: 18)])
        #expect(c.issueLines == [1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19])
        #expect(c.issue(at: 1)?.hasPrefix("owner: the line starts with a blank") == true)
        #expect(c.issue(at: 3)?.hasPrefix("$INCLUDE is not supported") == true)
        #expect(c.issue(at: 6)?.hasPrefix("TTL:") == true)
        #expect(c.issue(at: 7)?.hasPrefix("class 'CH'") == true)
        #expect(c.issue(at: 8) == "type: missing")
        #expect(c.issue(at: 9) == "a wildcard at the zone apex would match every name")
        #expect(c.issue(at: 10) == "a record at the zone apex is not a policy rule")
        #expect(c.issue(at: 12)?.hasPrefix("quoted string not closed") == true)
        #expect(c.issue(at: 13) == "')' without a matching '('")
        #expect(c.issue(at: 14) == "line too long")
        #expect(c.issue(at: 16)?.hasPrefix("IP address, not a name") == true)
        #expect(c.issue(at: 17)?.hasPrefix("not an ASCII name; use punycode") == true)
        // No $TTL and no earlier TTL: local data needs one.
        #expect(c.issue(at: 19)?.hasPrefix("TTL: none given") == true)
    }

    @Test func unclosedParenthesisIsBounded() {
        // An open '(' swallows lines only up to 64 KiB, then reading starts again.
        var text = "a.example CNAME . (\n"
        for _ in 0..<5000 { text += "; a comment line, inside the parentheses\n" }
        text += "b.example CNAME .\n( never closed\n"
        let c = parse(text, .rpz)
        #expect(c.names.map(\.name) == ["b.example."])
        #expect(c.issues.map(\.message) == ["'(' not closed within 64 KiB", "'(' not closed before the end of the file"])
        #expect(c.issues.map(\.line) == [1, 5003])
        #expect(c.names.map(\.line) == [5002])
    }
}

@Suite struct WarninglistTests {
    @Test func hostnameListIsExactUnlessALeadingDot() {
        let c = parse(
            """
            {"name": "test", "version": 1, "type": "hostname", "matching_attributes": ["hostname"],
             "list": ["github.io", ".google.com", "https://user@Evil.Example.com:8443/path?x", "a.example|b.example",
                      "*.wild.example", "192.0.2.1", "2001:db8::/32", "not a name", "bücher.de", 42, "trailing.example.", ""]}
            """, .warninglist)
        #expect(
            c.names == [
                R("github.io.", .exact, .allow, line: 1), R("google.com.", .subtree, .allow, line: 2),
                R("evil.example.com.", .exact, .allow, line: 3), R("a.example.", .exact, .allow, line: 4),
                R("b.example.", .exact, .allow, line: 4), R("wild.example.", .below, .allow, line: 5),
                R("trailing.example.", .exact, .allow, line: 11),
            ])
        #expect(c.addresses == [A("192.0.2.1/32", .allow, line: 6), A("2001:db8::/32", .allow, line: 7)])
        #expect(c.issueLines == [8, 9, 10, 12])
        #expect(c.issue(at: 8) == "bad character ' ' in name: 'not a name'")
        #expect(c.issue(at: 9)?.hasPrefix("not an ASCII name; use punycode") == true)
        #expect(c.issue(at: 10) == "entry is not a string")
        #expect(c.issue(at: 12) == "empty value")
    }

    @Test func objectListsAreReadInSortedOrder() {
        let c = parse(#"{"type": "string", "list": {"b.example": "second", "a.example": "first"}}"#, .warninglist)
        #expect(c.names == [R("a.example.", .exact, .allow, line: 1), R("b.example.", .exact, .allow, line: 2)])
        #expect(c.issues.isEmpty)
    }

    @Test func cidrList() {
        let c = parse(
            #"{"type": "cidr", "list": ["10.0.0.0/8", "192.0.2.1", "2001:db8::1", "10.1.2.3/8", "0.0.0.0/0", "junk", "198.51.100.0/24|203.0.113.0/24"]}"#,
            .warninglist)
        #expect(
            c.addresses == [
                A("10.0.0.0/8", .allow, line: 1), A("192.0.2.1/32", .allow, line: 2), A("2001:db8::1/128", .allow, line: 3),
                A("10.0.0.0/8", .allow, line: 4), A("198.51.100.0/24", .allow, line: 7), A("203.0.113.0/24", .allow, line: 7),
            ])
        #expect(c.names.isEmpty)
        #expect(c.issueLines == [5, 6])
        #expect(c.issue(at: 5)?.hasPrefix("a /0 prefix") == true)
        #expect(c.issue(at: 6) == "not an IP address or prefix: 'junk'")
    }

    @Test func typesDNSCannotUseAndBrokenJSON() {
        for type in ["substring", "regex"] {
            let c = parse(#"{"type": "\#(type)", "list": ["example.com", "x"]}"#, .warninglist)
            #expect(c.names.isEmpty && c.addresses.isEmpty)
            #expect(c.issues.map(\.message) == ["warninglist type \(type) cannot be used by DNS"])
            #expect(c.issueLines == [0])
        }
        for bad in ["{", "", "[1, 2]", #"{"type": "hostname"}"#, #"{"list": []}"#, #"{"type": "nope", "list": []}"#] {
            let c = parse(bad, .warninglist)
            #expect(c.issues.count == 1, "\(bad): \(c.issues)")
            #expect(c.issueLines == [0])
            #expect(c.names.isEmpty)
        }
        #expect(parse("{", .warninglist).issues.first?.message.hasPrefix("invalid JSON: ") == true)
        let deep = String(repeating: "[", count: 100_000)
        #expect(parse(deep, .warninglist).issues.first?.message.hasPrefix("invalid JSON: ") == true)
    }

    /// Tranco top 10k: 9,998 host names, every one an exact allow (github.io must not shield
    /// its subdomains).
    @Test func tranco10k() throws {
        let c = parse(bytes: try testData("misp-warninglist-tranco10k.json"), .warninglist)
        #expect(c.names.count == 9998)
        #expect(c.issues.isEmpty, "\(c.issues.prefix(5))")
        #expect(c.names.allSatisfy { $0.match == .exact && $0.action == .allow })
        #expect(c.names.first == R("037hdmovie.com.", .exact, .allow, line: 1))
        #expect(c.names.contains(R("github.io.", .exact, .allow, line: 3419)))
        #expect(c.names.contains(R("google.com.", .exact, .allow, line: 3557)))
        #expect(c.names.last == R("zyxel.com.", .exact, .allow, line: 9998))
        #expect(c.malformed == 0)
    }
}

@Suite struct HostileInputTests {
    static let textFormats: [ListFormat] = [.domains, .hosts, .adblock, .rpz]

    /// A valid line for `format`, and what it gives.
    static func validLine(_ format: ListFormat) -> String {
        switch format {
        case .domains: "after.example"
        case .hosts: "0.0.0.0 after.example"
        case .adblock: "||after.example^"
        case .rpz: "after.example CNAME ."
        case .warninglist: ""
        }
    }

    @Test(arguments: ListFormat.allCases)
    func randomBytesNeverTrap(_ format: ListFormat) {
        var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(format.rawValue.utf8.count))
        for round in 0..<40 {
            let count = Int.random(in: 0...20_000, using: &rng)
            // Half the rounds draw from bytes that make lines and fields, so parsers go deep.
            let alphabet = Array("a.b-c_*|^$@#!;()\"\\ \t\r\n0123456789:/[]{},zz".utf8)
            let bytes: [UInt8] = (0..<count).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
            }
            let c = parse(bytes: bytes, format)
            #expect(c.malformed == 0)
            #expect(c.issues.allSatisfy { $0.line >= 0 && $0.line <= bytes.count + 1 })
        }
    }

    @Test(arguments: textFormats)
    func validLinesAroundGarbageStillParse(_ format: ListFormat) {
        var rng = SplitMix64(seed: 42)
        // Starts with a control byte (no format reads it as a comment or directive); no newline,
        // and no '(' or '"' that would carry an RPZ entry into the next line.
        let junk = [1] + (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }.filter { $0 != 0x0A && $0 != 0x28 && $0 != 0x22 }
        var bytes = Array((Self.validLine(format).replacingFirst("after", "before") + "\n").utf8)
        bytes += junk + [0x0A]
        bytes += Array((Self.validLine(format) + "\n").utf8)
        let c = parse(bytes: bytes, format)
        let expected: NameMatch = format == .rpz ? .exact : .subtree
        #expect(c.names.first == R("before.example.", expected, .block, line: 1))
        #expect(c.names.last == R("after.example.", expected, .block, line: 3))
        #expect(c.issueLines.contains(2))
    }

    @Test(arguments: textFormats)
    func tenMegabyteLine(_ format: ListFormat) {
        var bytes = Array((Self.validLine(format).replacingFirst("after", "before") + "\n").utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20)
        // First without a newline at the end of the file, then with a line after it.
        let c1 = parse(bytes: bytes, format)
        #expect(c1.names.map(\.name) == ["before.example."])
        #expect(c1.issues.map(\.description) == ["2: line too long"])
        bytes += Array(("\n" + Self.validLine(format)).utf8)
        let c2 = parse(bytes: bytes, format)
        #expect(c2.names.map(\.name) == ["before.example.", "after.example."])
        #expect(c2.names.map(\.line) == [1, 3])
        #expect(c2.issues.map(\.description) == ["2: line too long"])
    }

    @Test(arguments: textFormats)
    func nulBytesAndInvalidUTF8(_ format: ListFormat) {
        let lines: [[UInt8]] = [
            Array(Self.validLine(format).replacingFirst("after.example", "a.ex").utf8) + [0],
            [0, 0, 0],
            Array(Self.validLine(format).replacingFirst("after", "b\u{0}c").utf8),
            Array(Self.validLine(format).replacingFirst("after", "\u{FFFD}").utf8).map { $0 == 0xBF ? 0xFF : $0 },
            Array(Self.validLine(format).utf8),
        ]
        let bytes = Array(lines.joined(separator: [0x0A]))
        let c = parse(bytes: bytes, format)
        #expect(c.names.map(\.name) == ["after.example."])
        #expect(c.names.map(\.line) == [5])
        #expect(c.issueLines == [1, 2, 3, 4])
        #expect(c.issue(at: 4)?.contains("not an ASCII name; use punycode") == true)
    }

    @Test func deeplyNestedParentheses() {
        let c = parse(String(repeating: "(", count: 200_000) + "\nx.example CNAME .\n", .rpz)
        #expect(c.names.map(\.name) == ["x.example."])
        #expect(c.issues.map(\.description) == ["1: line too long"])
        let d = parse(
            String(repeating: "(", count: 1000) + " a CNAME . " + String(repeating: ")", count: 999) + "\nx.example CNAME .\n", .rpz)
        #expect(d.issues.map(\.message) == ["'(' not closed before the end of the file"])
    }
}

extension String {
    fileprivate func replacingFirst(_ what: String, _ with: String) -> String {
        guard let r = firstRange(of: what) else { return self }
        var s = self
        s.replaceSubrange(r, with: with)
        return s
    }
}
