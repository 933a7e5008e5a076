import App
import NIOCore
import Testing

@Suite("Configuration: parse, validate, normalise")
struct ConfigTests {
    let resolvConf = "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 2001:db8::53%eth0\noptions edns0\n"

    func settings(_ raw: RawConfig, resolv: String? = nil) throws -> Settings {
        try Settings.make(raw, coreCount: 2, readFile: { _ in resolv ?? resolvConf })
    }

    @Test func defaultsListenOnLoopbackAndForwardToResolvConf() throws {
        let s = try settings(RawConfig())
        #expect(s.listen.map { "\($0.ipAddress!):\($0.port!)" } == ["127.0.0.1:53", "::1:53"])
        #expect(s.upstreams.map { "\($0.address.ipAddress!):\($0.address.port!)" } == ["192.0.2.53:53", "2001:db8::53:53"])
        #expect(s.threads == 2)
        #expect(s.metrics?.port == 8053)
        #expect(s.maxUDPSize == 1232)
    }

    @Test func neverForwardsToItself() throws {
        let s = try settings(RawConfig(), resolv: "nameserver 127.0.0.1\nnameserver 192.0.2.1\n")
        #expect(s.upstreams.map { $0.address.ipAddress! } == ["192.0.2.1"])
        #expect(s.skippedSelf == ["127.0.0.1"])
        #expect(throws: AppError.self) { try settings(RawConfig(), resolv: "nameserver 127.0.0.1\n") }
        var raw = RawConfig()
        raw.listen = ["0.0.0.0:53"]
        #expect(throws: AppError.self) { try settings(raw, resolv: "nameserver 127.0.0.53\n") }
        raw.listen = ["127.0.0.1:5300"]
        raw.upstreams = ["127.0.0.1:5300"]
        #expect(throws: AppError.self) { try settings(raw) }
    }

    @Test func dnsOverTLSUpstreams() throws {
        let a = try Settings.parseUpstream("tls://192.0.2.1#dns.example")
        #expect(a.address.port == 853 && a.tls?.serverName == "dns.example" && a.tls?.caFile == nil)
        #expect(a.description == "tls://192.0.2.1:853#dns.example")
        let b = try Settings.parseUpstream("tls://[2001:db8::1]:8853?name=dns.example")
        #expect(b.address.ipAddress == "2001:db8::1" && b.address.port == 8853 && b.tls?.serverName == "dns.example")
        #expect(try Settings.parseUpstream("tls://2001:db8::1").address.port == 853)
        // Without a name, the address is what the certificate must carry.
        #expect(try Settings.parseUpstream("TLS://192.0.2.1:853").tls?.serverName == nil)
        let pin = "sha256/" + String(repeating: "A", count: 43) + "="
        #expect(try Settings.parseUpstream("tls://192.0.2.1?pin=\(pin)&pin=\(String(repeating: "B", count: 43))=").tls?.spkiPins.count == 2)
        #expect(try Settings.parseUpstream("192.0.2.1").tls == nil)
        for bad in [
            "tls://192.0.2.1?pin=abc", "tls://192.0.2.1?colour=red", "tls://192.0.2.1?name", "tls://localhost",
            "tls://192.0.2.1?ca=/nonexistent/ca.pem", "tls://192.0.2.1#192.0.2.1", "tls://192.0.2.1:99999",
        ] {
            #expect(throws: AppError.self, "\(bad)") { try Settings.parseUpstream(bad) }
        }
        // A DoT upstream on one of our own plain listen addresses is not forwarding to ourselves.
        var raw = RawConfig()
        raw.listen = ["127.0.0.1:5300"]
        raw.upstreams = ["tls://127.0.0.1:5300", "192.0.2.1"]
        #expect(try settings(raw).upstreams.map(\.description) == ["tls://127.0.0.1:5300", "192.0.2.1:53"])
    }

    @Test func addressesWithPortsAndIPv6Brackets() throws {
        #expect(try Settings.parseAddress("127.0.0.1:5353", what: "t").port == 5353)
        #expect(try Settings.parseAddress("[::1]:5353", what: "t").ipAddress == "::1")
        #expect(try Settings.parseAddress("::1", what: "t").port == 53)
        #expect(try Settings.parseAddress("192.0.2.1", what: "t").port == 53)
        for bad in ["localhost:53", "[::1", "[::1]x", "1.2.3.4:99999", "1.2.3.4:", "300.1.1.1"] {
            #expect(throws: AppError.self, "\(bad)") { try Settings.parseAddress(bad, what: "t") }
        }
    }

    @Test func yamlFileEnvironmentAndFlagsLayer() throws {
        let yaml = """
            listen: ["127.0.0.1:5300", "[::1]:5300"]
            upstreams:
              - 192.0.2.1:53
            threads: 1
            log:
              format: json
            cache:
              max-bytes: 1048576
              min-ttl: 5
              serve-stale: false
            acl:
              allow: [10.0.0.0/8]
            """
        let file = try RawConfig.parseYAML(yaml)
        let env = try RawConfig.fromEnvironment(["BULWARK_THREADS": "2", "BULWARK_UPSTREAM": "192.0.2.2:53, 192.0.2.3:53"])
        var flags = RawConfig()
        flags.threads = 3
        let s = try settings(file.overlaid(with: env).overlaid(with: flags))
        #expect(s.threads == 3)
        #expect(s.upstreams.map { $0.address.ipAddress! } == ["192.0.2.2", "192.0.2.3"])
        #expect(s.listen.count == 2)
        #expect(s.logFormat == .json)
        #expect(s.cache.maxBytes == 1_048_576)
        #expect(s.cache.minTTL == 5)
        #expect(s.cache.serveStale == false)
        #expect(s.allow.map(\.description) == ["10.0.0.0/8"])
    }

    @Test func badConfigurationIsAClearError() throws {
        #expect(throws: AppError.self) { try RawConfig.parseYAML("listen: [") }
        #expect(throws: AppError.self) { try RawConfig.parseYAML("cache:\n  max-byts: 5\n") }
        #expect(throws: AppError.self) { try RawConfig.parseYAML("threads: many\n") }
        #expect(throws: AppError.self) { try RawConfig.fromEnvironment(["BULWARK_CACHE_SERVE_STALE": "perhaps"]) }
        var raw = RawConfig()
        raw.allow = ["10.0.0.0/33"]
        #expect(throws: AppError.self) { try settings(raw) }
        raw = RawConfig()
        raw.cacheMinTTL = 100
        raw.cacheMaxTTL = 10
        #expect(throws: AppError.self) { try settings(raw) }
        raw = RawConfig()
        raw.logLevel = "loud"
        #expect(throws: AppError.self) { try settings(raw) }
        raw = RawConfig()
        raw.udpMaxSize = 100
        #expect(throws: AppError.self) { try settings(raw) }
        do {
            _ = try RawConfig.parseYAML("cache:\n  max-byts: 5\n")
        } catch let e as AppError {
            #expect(e.reason.contains("cache.max-byts"))
        }
    }

    @Test func exampleConfigFileParsesAndValidates() throws {
        // Tests/AppTests/ConfigTests.swift → repository root.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/config/bulwark.example.yaml"
        let text = try #require(Bulwark.readFile(path), "cannot read \(path)")
        let raw = try RawConfig.parseYAML(text)
        #expect(raw.listen == ["127.0.0.1:53", "[::1]:53"])
        #expect(raw.udpEngine == "native")
        let s = try settings(raw)
        #expect(s.udpEngine == .native)
        #expect(s.cache.maxBytes == 64 << 20)
        #expect(s.allow.count == 9)
        // Every key of the reference appears in the example file.
        for key in RawConfig.reference.map(\.path) where key != "metrics.listen" {
            let leaf = String(key.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "\(key) missing from the example config")
        }
    }

    @Test func everyKeyHasAnEnvironmentVariable() {
        let ref = RawConfig.reference
        #expect(ref.count >= 20)
        #expect(Set(ref.map(\.env)).count == ref.count)
        #expect(ref.allSatisfy { $0.env.hasPrefix("BULWARK_") })
    }
}
