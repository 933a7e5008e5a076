import DNSTransport
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
}
