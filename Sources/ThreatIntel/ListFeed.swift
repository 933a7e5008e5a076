import DNSWire
import Foundation
import Policy

/// The policy's list formats (RPZ, hosts, domain lists, adblock) as threat-intel feeds: the
/// same byte-level parsers, their rules turned into indicators. Allow rules (`@@||x^`, RPZ
/// passthru) have no place in a feed of threats and are reported, not taken.
struct IntelListCollector: RuleSink {
    var results: [(line: Int, result: Result<IntelValue, IntelRejection>)] = []

    mutating func name(_ wire: UnsafeRawBufferPointer, match: NameMatch, action: RuleAction, line: Int) {
        if case .allow = action {
            results.append((line, .failure(IntelRejection("an allow rule: not an indicator"))))
            return
        }
        let text = Name(uncheckedWire: Array(wire)).description
        guard let n = IntelNormalizer.normalizeName(text) else {
            results.append((line, .failure(IntelRejection("'\(text)' is not a name Bulwark can block"))))
            return
        }
        // A name rule covers the subtree (hosts and domain lists, `||x^`, RPZ `*.x`); an RPZ
        // owner without its wildcard is that name only.
        results.append((line, .success(IntelValue(value: n, kind: match == .exact ? .hostname : .domain))))
    }

    mutating func address(_ prefix: CIDR, action: RuleAction, line: Int) {
        if case .allow = action {
            results.append((line, .failure(IntelRejection("an allow rule: not an indicator"))))
            return
        }
        let full: Int
        if case .v4 = prefix.address { full = 32 } else { full = 128 }
        results.append(
            (line, .success(prefix.prefixLength == full ? IntelValue(value: prefix.address.description, kind: .ip) : IntelValue(value: prefix.description, kind: .cidr))))
    }

    mutating func issue(line: Int, _ message: String) {
        results.append((line, .failure(IntelRejection(message))))
    }

    static func parse(_ data: Data, format: ListFormat) -> [(line: Int, result: Result<IntelValue, IntelRejection>)] {
        var sink = IntelListCollector()
        data.withUnsafeBytes { ListParser.parse($0, format: format, into: &sink) }
        return sink.results
    }
}
