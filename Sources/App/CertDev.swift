import Crypto
import DNSWire
import Foundation
import SwiftASN1
import X509

/// `bulwark cert dev`: a throwaway CA and a server certificate signed by it (P-256, PEM), for
/// trying DoT and DoH locally. Not for production: the CA key sits next to the certificates.
public enum CertDev {
    public struct Written: Sendable {
        public var caCertificate: String
        public var certificate: String
        public var privateKey: String
    }

    public static func write(to directory: String, names: [String], addresses: [String], days: Int = 90, now: Date = Date()) throws -> Written {
        guard !names.isEmpty || !addresses.isEmpty else { throw AppError(.config, "cert dev: give at least one --name or --ip") }
        var alt: [GeneralName] = []
        for n in names {
            guard (try? Name(n)) != nil, !n.isEmpty else { throw AppError(.config, "cert dev: '\(n)' is not a host name") }
            alt.append(.dnsName(n.hasSuffix(".") ? String(n.dropLast()) : n))
        }
        for a in addresses {
            guard let ip = IPAddress(a) else { throw AppError(.config, "cert dev: '\(a)' is not an IP address") }
            alt.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip.bytes))))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName {
                OrganizationName("Bulwark")
                CommonName("Bulwark development CA")
            }
            let start = now.addingTimeInterval(-3600)
            let end = now.addingTimeInterval(Double(days) * 86400)
            let ca = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey), notValidBefore: start,
                notValidAfter: end, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                }, issuerPrivateKey: .init(caKey))
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName {
                OrganizationName("Bulwark")
                CommonName(names.first ?? addresses[0])
            }
            let leaf = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey), notValidBefore: start,
                notValidAfter: end, issuer: caName, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(alt)
                }, issuerPrivateKey: .init(caKey))
            let out = Written(
                caCertificate: "\(directory)/ca.pem", certificate: "\(directory)/server.pem", privateKey: "\(directory)/server.key")
            try write(try ca.serializeAsPEM().pemString, to: out.caCertificate, mode: 0o644)
            // The chain: the server certificate, then the CA's.
            try write(try leaf.serializeAsPEM().pemString + "\n" + (try ca.serializeAsPEM().pemString), to: out.certificate, mode: 0o644)
            try write(key.pemRepresentation, to: out.privateKey, mode: 0o600)
            try write(caKey.pemRepresentation, to: "\(directory)/ca.key", mode: 0o600)
            return out
        } catch let e as AppError {
            throw e
        } catch {
            throw AppError(.startup, "cert dev: \(error)")
        }
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: mode]) else {
            throw AppError(.startup, "cannot write \(path)")
        }
    }
}
