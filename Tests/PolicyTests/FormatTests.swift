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
