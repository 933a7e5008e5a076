import Foundation
import Testing

@testable import ThreatIntel

@Suite struct RefangTests {
    @Test(arguments: [
        ("hxxp://evil[.]com/x", "http://evil.com/x"),
        ("hXXps://evil[.]com", "https://evil.com"),
        ("hxtp://a.b", "http://a.b"),
        ("htxp://a.b", "http://a.b"),
        ("meow://a.b", "http://a.b"),
        ("h[tt]p://a.b", "http://a.b"),
        ("hxxp[:]//evil(dot)com", "http://evil.com"),
        ("evil[DOT]com", "evil.com"),
        ("evil{.}com", "evil.com"),
        ("evil(.)com", "evil.com"),
        ("evil\\.com", "evil.com"),
        ("user[@]evil[.]com", "user@evil.com"),
        ("user[at]evil[.]com", "user@evil.com"),
        ("fxp://files[.]example[.]net", "ftp://files.example.net"),
        ("1.2.3[.]4", "1.2.3.4"),
        ("meowcats.com", "meowcats.com"),
        ("plain.example.com", "plain.example.com"),
        ("[", "["),
    ])
    func refang(_ input: String, _ expected: String) {
        #expect(Refang.refang(input) == expected)
    }
}

@Suite struct PunycodeTests {
    // RFC 3492 §7.1 sample strings (case annotations ignored: outputs are lowercase).
    @Test(arguments: [
        // (B) Chinese (simplified)
        ("\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}", "ihqwcrb4cv8a8dqg056pqjye"),
        // (C) Chinese (traditional)
        ("\u{4ED6}\u{5011}\u{7232}\u{4EC0}\u{9EBD}\u{4E0D}\u{8AAA}\u{4E2D}\u{6587}", "ihqwctvzc91f659drss3x8bo0yb"),
        // (L) 3<nen>B<gumi><kinpachi><sensei>
        ("3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}", "3B-ww4c5e180e575a65lsy2b"),
        // (M) <amuro><namie>-with-SUPER-MONKEYS
        ("\u{5B89}\u{5BA4}\u{5948}\u{7F8E}\u{6075}-with-SUPER-MONKEYS", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"),
        // (N) Hello-Another-Way-<sorezore><no><basho>
        ("Hello-Another-Way-\u{305D}\u{308C}\u{305E}\u{308C}\u{306E}\u{5834}\u{6240}", "Hello-Another-Way--fc4qua05auwb3674vfr0b"),
        // (P) Maji<de>Koi<suru>5<byou><mae>
        ("Maji\u{3067}Koi\u{3059}\u{308B}5\u{79D2}\u{524D}", "MajiKoi5-783gue6qz075azm5e"),
        // (R) <sono><supiido><de>
        ("\u{305D}\u{306E}\u{30B9}\u{30D4}\u{30FC}\u{30C9}\u{3067}", "d9juau41awczczp"),
        // (S) -> $1.00 <-
        ("-> $1.00 <-", "-> $1.00 <--"),
        ("bücher", "bcher-kva"),
        ("münchen", "mnchen-3ya"),
    ])
    func encodes(_ input: String, _ expected: String) {
        #expect(Punycode.encode(input) == expected)
    }
}

@Suite struct NormalizeNameTests {
    @Test(arguments: [
        (" WWW.Example.COM. ", "www.example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("münchen.de.", "xn--mnchen-3ya.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah"),
        ("ｅｘａｍｐｌｅ.com", "example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("evil[.]com", "evil.com"),
        ("igfxtray.exe", "igfxtray.exe"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ])
    func accepts(_ input: String, _ expected: String) {
        #expect(IntelNormalizer.normalizeName(input) == expected)
    }

    @Test(arguments: [
        ("localhost", "single label"),
        ("com", "single label"),
        ("*.example.com", "wildcard"),
        ("a..example.com", "empty label"),
        ("107.183.86", "numeric"),
        ("www.kcico.com.tw/data/x.exe", "invalid character '/'"),
        ("exa mple.com", "invalid character"),
        ("evil.com:8080", "invalid character ':'"),
        ("", "empty"),
        (".", "empty"),
        ("a\u{0}b.com", "invalid character"),
    ])
    func rejects(_ input: String, _ reasonPart: String) throws {
        #expect(IntelNormalizer.normalizeName(input) == nil)
        let reason = try #require(IntelNormalizer.normalizeNameResult(input).error).reason
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test func lengthLimits() {
        let l63 = String(repeating: "a", count: 63)
        #expect(IntelNormalizer.normalizeName("\(l63).com") == "\(l63).com")
        #expect(IntelNormalizer.normalizeNameResult("a\(l63).com").error?.reason.contains("63") == true)
        // 4 × 63 + 3 dots = 255 > 253
        let long = [l63, l63, l63, l63].joined(separator: ".")
        #expect(IntelNormalizer.normalizeNameResult(long).error?.reason.contains("253") == true)
        let ok = [l63, l63, l63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(ok.utf8.count == 253)
        #expect(IntelNormalizer.normalizeName(ok) == ok)
        #expect(IntelNormalizer.normalizeName(String(repeating: "a.", count: 100_000) + "com") == nil)
    }
}

@Suite struct AddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"),
        (" 10.0.0.255 ", "10.0.0.255"),
        ("0.0.0.0", "0.0.0.0"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
        ("::1.2.3.4", "::102:304"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80:0:0:0:1:0:0:0", "fe80::1:0:0:0"),
    ])
    func parsesIP(_ input: String, _ expected: String) {
        #expect(IntelNormalizer.parseIP(input) == expected)
    }

    @Test(arguments: [
        "107.183.86", "256.1.1.1", "010.0.0.1", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1.2.3.a", "",
        "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":::", "1:::2", ":1::", "1::2::3", "12345::", "g::1",
        "1.2.3.4::", "::1.2.3", "2001:db8::1/64",
    ])
    func rejectsIP(_ input: String) {
        #expect(IntelNormalizer.parseIP(input) == nil)
    }

    @Test func cidr() throws {
        #expect(IntelNormalizer.parseCIDR("10.1.2.3/8") == "10.0.0.0/8")
        #expect(IntelNormalizer.parseCIDR("192.0.2.0/24") == "192.0.2.0/24")
        #expect(IntelNormalizer.parseCIDR("0.0.0.0/0") == "0.0.0.0/0")
        #expect(IntelNormalizer.parseCIDR("2001:db8::1/32") == "2001:db8::/32")
        #expect(IntelNormalizer.parseCIDR("2001:db8:ffff::/33") == "2001:db8:8000::/33")
        for bad in ["10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0.0/08", "10.0.0.0/-1", "2001:db8::/129", "x/8"] {
            #expect(IntelNormalizer.parseCIDR(bad) == nil, "\(bad)")
        }
        let v = try #require(IntelNormalizer.addressValue("10.1.2.3/8").value)
        #expect(v == IntelValue(value: "10.0.0.0/8", kind: .cidr))
        #expect(v.note?.contains("host bits cleared") == true)
        #expect(IntelNormalizer.addressValue("192.0.2.0/24").value?.note == nil)
        #expect(IntelNormalizer.addressValue("192.0.2.7/32").value == IntelValue(value: "192.0.2.7", kind: .ip))
        #expect(IntelNormalizer.addressValue("2001:db8::7/128").value == IntelValue(value: "2001:db8::7", kind: .ip))
    }
}

@Suite struct URLHostTests {
    @Test(arguments: [
        ("http://www.whitewall.top:8080/wp/x.php?a=b", "www.whitewall.top"),
        ("hxxps://user:pw@Evil[.]COM:443/path?q#f", "evil.com"),
        ("example.com/path/file.exe", "example.com"),
        ("HTTP://Example.COM.", "example.com"),
        ("http://[2001:db8::1]:8080/", "2001:db8::1"),
        ("http://192.0.2.1/a", "192.0.2.1"),
        ("192.0.2.1:8080/a", "192.0.2.1"),
        ("http://bücher.de/", "xn--bcher-kva.de"),
        ("//cdn.example.net/x", "cdn.example.net"),
        ("https://evil.example.org?x=http://good.example.com/", "evil.example.org"),
        ("https://evil.example.org#frag", "evil.example.org"),
        ("http://a%2eexample.com/", "a.example.com"),
    ])
    func host(_ input: String, _ expected: String) {
        #expect(IntelNormalizer.hostFromURL(input) == expected)
    }

    @Test(arguments: ["http:///path", "http://", "http://[2001:db8::1/", "http://evil.com:80x/", "://x.com", "http://localhost/", "http://[192.0.2.1]/"])
    func noHost(_ input: String) {
        #expect(IntelNormalizer.hostFromURL(input) == nil)
    }

    @Test func hostKinds() {
        #expect(IntelNormalizer.urlHost("http://1.2.3.4/").value == IntelValue(value: "1.2.3.4", kind: .ip))
        #expect(IntelNormalizer.urlHost("http://a.b.example/").value == IntelValue(value: "a.b.example", kind: .hostname))
    }
}

@Suite struct MISPValuesTests {
    func values(_ type: String, _ value: String, psl: PublicSuffixList? = nil) -> [IntelValue]? {
        try? IntelNormalizer.values(mispType: type, value: value, psl: psl).get()
    }

    func reason(_ type: String, _ value: String, psl: PublicSuffixList? = nil) -> String? {
        IntelNormalizer.values(mispType: type, value: value, psl: psl).error?.reason
    }

    @Test func dnsTypes() {
        #expect(values("domain", "Evil.COM.") == [IntelValue(value: "evil.com", kind: .domain)])
        #expect(values("hostname", "a.evil.com") == [IntelValue(value: "a.evil.com", kind: .hostname)])
        #expect(
            values("domain|ip", "evil.com|192.0.2.1")
                == [IntelValue(value: "evil.com", kind: .domain), IntelValue(value: "192.0.2.1", kind: .ip)])
        #expect(values("domain|ip", "evil.com|not-an-ip") == [IntelValue(value: "evil.com", kind: .domain)])
        #expect(reason("domain|ip", "evil|bad") != nil)
        #expect(reason("domain|ip", "evil.com") != nil)
        #expect(values("ip-dst", "192.0.2.1") == [IntelValue(value: "192.0.2.1", kind: .ip)])
        #expect(values("ip-src", "2001:DB8::1") == [IntelValue(value: "2001:db8::1", kind: .ip)])
        #expect(values("ip-dst", "198.51.100.0/24") == [IntelValue(value: "198.51.100.0/24", kind: .cidr)])
        #expect(values("IP-DST", " 192.0.2.1 ") == [IntelValue(value: "192.0.2.1", kind: .ip)])
        #expect(values("ip-dst|port", "192.0.2.1|443") == [IntelValue(value: "192.0.2.1", kind: .ip)])
        #expect(values("ip-src|port", "2001:db8::1|443") == [IntelValue(value: "2001:db8::1", kind: .ip)])
        #expect(values("hostname|port", "c2.evil.com|8443") == [IntelValue(value: "c2.evil.com", kind: .hostname)])
        #expect(values("domain|port", "evil.com|53") == [IntelValue(value: "evil.com", kind: .domain)])
        #expect(values("url", "http://www.whitewall.top:8080/x/y") == [IntelValue(value: "www.whitewall.top", kind: .hostname)])
        #expect(values("url", "hxxp://192.0.2.1/x") == [IntelValue(value: "192.0.2.1", kind: .ip)])
        #expect(values("uri", "https://evil.example/x") == [IntelValue(value: "evil.example", kind: .hostname)])
        #expect(reason("uri", "/index.php?x=1")?.contains("no host") == true)
    }

    @Test func notDNS() {
        #expect(reason("sha1", "68064fc152e23d56e541714af52651cb4ba81aaf") == "type sha1 is not a DNS indicator")
        #expect(reason("link", "https://www.welivesecurity.com/2017/") == "type link is not a DNS indicator")
        #expect(reason("email-src", "a@evil.com") == "type email-src is not a DNS indicator")
    }

    @Test func messyRealValues() {
        #expect(reason("ip-dst", "107.183.86") != nil)
        #expect(reason("domain", "107.183.86")?.contains("numeric") == true)
        #expect(values("domain", "igfxtray.exe") == [IntelValue(value: "igfxtray.exe", kind: .domain)])
        #expect(reason("hostname", "www.kcico.com.tw/data/file.exe")?.contains("'/'") == true)
        #expect(values("url", "http://www.whitewall.top:8080/wp-admin/x.php") == [IntelValue(value: "www.whitewall.top", kind: .hostname)])
    }

    @Test func withPublicSuffixList() {
        let psl = NormalizeFixtures.psl
        #expect(reason("domain", "igfxtray.exe", psl: psl)?.contains(".exe is not a top-level domain") == true)
        #expect(reason("domain", "github.io", psl: psl)?.contains("public suffix") == true)
        #expect(reason("hostname", "co.uk", psl: psl)?.contains("public suffix") == true)
        #expect(values("hostname", "evil.github.io", psl: psl) == [IntelValue(value: "evil.github.io", kind: .hostname)])
        #expect(values("url", "http://www.whitewall.top/", psl: psl) == [IntelValue(value: "www.whitewall.top", kind: .hostname)])
    }
}
