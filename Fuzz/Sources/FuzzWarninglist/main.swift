// MISP warninglists (JSON) both ways Bulwark reads them: as a policy list (`ListParser` with
// `.warninglist`: allow rules) and as the threat-intel filter (`Warninglist(id:json:)`, which
// drops indicators that are on a warninglist). Never traps; every rule satisfies
// `CheckingSink`'s checks (a rule's line is its 1-based index in `list`).
import DNSWire
import Foundation
import FuzzIntel
import FuzzListSupport
import FuzzPolicy
import FuzzSupport

let probes = [
    IntelValue(value: "example.com", kind: .domain), IntelValue(value: "www.example.com", kind: .hostname),
    IntelValue(value: "192.0.2.1", kind: .ip), IntelValue(value: "2001:db8::/32", kind: .cidr),
]

fuzzMain { data in
    // Lines are list indices here, and a list has at most one entry per two bytes.
    parseChecked(data, .warninglist, maxLine: data.count / 2 + 1)
    let json = Data(data)
    if let list = try? Warninglist(id: "fuzz", json: json) {
        require(list.entryCount >= 0, "negative entry count")
        let set = WarninglistSet([list])
        for v in probes { _ = set.match(v, mispType: nil, psl: nil) }
    }
}
