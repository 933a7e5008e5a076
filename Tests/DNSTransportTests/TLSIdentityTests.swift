@testable import DNSTransport
import Foundation
import Testing

/// The DoT identity: unusable files are a clear error, never a crash.
@Suite struct TLSIdentityTests {
    @Test func unusableFilesAreTLSErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.pem").path
        try Data("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: junk))
        for (cert, key) in [(junk, junk), (dir.appendingPathComponent("missing.pem").path, junk)] {
            do {
                _ = try TLSIdentity(certificate: cert, privateKey: key)
                Issue.record("an unusable certificate was accepted")
            } catch {
                #expect(error.code == .tls)
            }
        }
    }

    /// RFC 6125 name matching for DoT upstreams (NIOSSL's own check also takes the IP address).
    @Test func upstreamCertificateNames() {
        #expect(UpstreamTLS.matches(pattern: "dns.example", name: "DNS.example."))
        #expect(UpstreamTLS.matches(pattern: "*.example.net", name: "dot.example.net"))
        #expect(!UpstreamTLS.matches(pattern: "*.example.net", name: "a.b.example.net"))
        #expect(!UpstreamTLS.matches(pattern: "*.example.net", name: "example.net"))
        #expect(!UpstreamTLS.matches(pattern: "*.net", name: "example.net"))
        #expect(!UpstreamTLS.matches(pattern: "d*.example.net", name: "dot.example.net"))
        #expect(!UpstreamTLS.matches(pattern: "example.net", name: "dns.example.net"))
        #expect(!UpstreamTLS.matches(pattern: "", name: ""))
    }

    @Test func upstreamSettingsAreChecked() {
        #expect(throws: TransportError.self) { try UpstreamTLS(serverName: "192.0.2.1", caFile: nil, spkiPins: []) }
        #expect(throws: TransportError.self) { try UpstreamTLS(serverName: nil, caFile: nil, spkiPins: [[1, 2, 3]]) }
        #expect(throws: TransportError.self) { try UpstreamTLS(serverName: nil, caFile: "/nonexistent.pem", spkiPins: []) }
        #expect((try? UpstreamTLS(serverName: "dns.example", caFile: nil, spkiPins: [[UInt8](repeating: 7, count: 32)])) != nil)
    }
}
