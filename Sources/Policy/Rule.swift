import DNSWire

/// Which names a name rule covers.
public enum NameMatch: UInt8, Sendable, Hashable {
    /// Only the name itself (RPZ `name`, warninglist entries).
    case exact = 0
    /// The name and every name below it (domain lists, hosts files, `||name^`).
    case subtree = 1
    /// Only names below it (RPZ `*.name`).
    case below = 2

    public var matchesSelf: Bool { self != .below }
    public var matchesBelow: Bool { self != .exact }
}

/// What a rule asks for when it matches.
public enum RuleAction: Sendable, Hashable {
    /// Block with the profile's action (NXDOMAIN unless the profile says otherwise). RPZ `CNAME .`.
    case block
    /// Block with NODATA (RPZ `CNAME *.`).
    case nodata
    /// Send nothing (RPZ `CNAME rpz-drop.`).
    case drop
    /// Never block this (allow lists, `@@||name^`, RPZ `CNAME rpz-passthru.`, warninglists).
    case allow
    /// Answer with these records (RPZ local data, including a CNAME rewrite). Owner names are
    /// the query name when answered.
    case localData([ResourceRecord])

    public var isAllow: Bool { self == .allow }
}

/// Where parsers deliver rules, one at a time, so that a 10-million-line list is never held as
/// millions of values. `wire` is the lowercased name in wire form (root label included), valid
/// only during the call.
public protocol RuleSink {
    mutating func name(_ wire: UnsafeRawBufferPointer, match: NameMatch, action: RuleAction, line: Int)
    mutating func address(_ prefix: CIDR, action: RuleAction, line: Int)
    /// A line that was skipped: it is counted and reported with its line number.
    mutating func issue(line: Int, _ message: String)
}

/// The list formats Bulwark reads.
public enum ListFormat: String, Sendable, CaseIterable {
    /// RPZ zone file (QNAME and rpz-ip triggers).
    case rpz
    /// `/etc/hosts` style: `0.0.0.0 name [name...]`.
    case hosts
    /// One domain per line.
    case domains
    /// Adblock-style domain rules: `||name^`, `@@||name^`.
    case adblock
    /// A MISP warninglist (JSON); its entries are allow rules.
    case warninglist
}
