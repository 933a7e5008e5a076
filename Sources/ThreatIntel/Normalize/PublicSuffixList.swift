import Foundation

/// The Public Suffix List (https://publicsuffix.org/list/), parsed from its `.dat` text.
///
/// Both sections are kept: ICANN suffixes (`com`, `co.uk`) and PRIVATE ones that companies
/// registered for their customers' sites (`github.io`, `blogspot.com`); `isPrivate` tells them
/// apart. Rules follow the list's algorithm: normal rules, wildcards (`*.ck`), exceptions
/// (`!www.ck`, which win), and the implicit `*` when nothing matches (so an unlisted
/// top-level domain is its own public suffix; `hasListedTopLevelDomain` detects that).
///
/// Internationalised rules are stored in A-label form, so look up names as
/// `IntelNormalizer.normalizeName` produces them. Lookups walk the labels right to left with
/// one hash probe per label.
public final class PublicSuffixList: Sendable {
    /// What is known about one suffix text. Rules are stored by the text without `*.` / `!`.
    struct Node: Sendable {
        var flags: UInt8 = 0
        static let rule: UInt8 = 1
        static let wildcard: UInt8 = 2
        static let exception: UInt8 = 4
        static let rulePrivate: UInt8 = 8
        static let wildcardPrivate: UInt8 = 16
        static let exceptionPrivate: UInt8 = 32
        func has(_ f: UInt8) -> Bool { flags & f != 0 }
    }

    /// Every rule text and every suffix of one (intermediate nodes have no flags), so a walk
    /// can stop at the first unknown suffix.
    private let nodes: [String: Node]
    /// How many rules were read.
    public let ruleCount: Int

    /// Parses the `.dat` text. Comment lines (`//`), blank lines and anything after the first
    /// whitespace on a line are ignored; `===BEGIN PRIVATE DOMAINS===` switches sections.
    public init(text: String) {
        var nodes: [String: Node] = [:]
        var isPrivate = false
        var count = 0
        text.enumerateLines { line, _ in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("//") {
                if trimmed.contains("===BEGIN PRIVATE DOMAINS===") { isPrivate = true }
                if trimmed.contains("===END PRIVATE DOMAINS===") { isPrivate = false }
                return
            }
            guard var rule = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init), !rule.isEmpty else { return }
            var flag = Node.rule
            if rule.hasPrefix("!") {
                flag = Node.exception
                rule.removeFirst()
            } else if rule.hasPrefix("*.") {
                flag = Node.wildcard
                rule.removeFirst(2)
            }
            guard let key = Self.canonical(rule) else { return }
            let privateFlag: UInt8 =
                switch flag {
                case Node.rule: Node.rulePrivate
                case Node.wildcard: Node.wildcardPrivate
                default: Node.exceptionPrivate
                }
            nodes[key, default: Node()].flags |= flag | (isPrivate ? privateFlag : 0)
            count += 1
            // Intermediate suffixes, so a lookup can stop early.
            var rest = Substring(key)
            while let dot = rest.firstIndex(of: ".") {
                rest = rest[rest.index(after: dot)...]
                let k = String(rest)
                if nodes[k] == nil { nodes[k] = Node() }
            }
        }
        self.nodes = nodes
        self.ruleCount = count
    }

    /// Reads a `.dat` file; nil when it cannot be read or holds no rules.
    public static func load(path: String) -> PublicSuffixList? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let psl = PublicSuffixList(text: String(decoding: data, as: UTF8.self))
        return psl.ruleCount > 0 ? psl : nil
    }

    /// A rule's lowercase A-label form, or nil for junk.
    private static func canonical(_ rule: String) -> String? {
        if rule.utf8.allSatisfy({ $0 < 0x80 }) { return rule.lowercased() }
        return IntelNormalizer.normalizeName(rule + ".x").map { String($0.dropLast(2)) }
            ?? IntelNormalizer.normalizeName(rule)
    }

    /// The public suffix of `name` and whether the deciding rule is in the PRIVATE section.
    /// An empty name yields an empty suffix.
    public func suffixInfo(of name: String) -> (suffix: String, isPrivate: Bool, isListed: Bool) {
        let n = Self.prepare(name)
        guard !n.isEmpty else { return ("", false, false) }
        // Start offsets of each label, left to right.
        var starts: [String.Index] = [n.startIndex]
        var i = n.startIndex
        while let dot = n[i...].firstIndex(of: ".") {
            i = n.index(after: dot)
            starts.append(i)
        }
        let labelCount = starts.count
        var best = 1  // the implicit "*" rule
        var bestPrivate = false
        var listed = false
        var k = 1
        while k <= labelCount {
            let suffix = String(n[starts[labelCount - k]...])
            guard let node = nodes[suffix] else {
                // Nothing is known below an unknown suffix, except a wildcard on the parent
                // (checked below at k) — which the previous iteration's node carries.
                break
            }
            if node.has(Node.exception) {
                best = k - 1
                bestPrivate = node.has(Node.exceptionPrivate)
                listed = true
                break
            }
            if node.has(Node.rule) {
                best = k
                bestPrivate = node.has(Node.rulePrivate)
                listed = true
            }
            if node.has(Node.wildcard) && k < labelCount {
                // "*.suffix" matches one more label, unless that label's suffix is an exception.
                let longer = String(n[starts[labelCount - k - 1]...])
                if let exception = nodes[longer], exception.has(Node.exception) {
                    best = k
                    bestPrivate = exception.has(Node.exceptionPrivate)
                    listed = true
                    break
                }
                best = k + 1
                bestPrivate = node.has(Node.wildcardPrivate)
                listed = true
            } else if node.has(Node.wildcard) {
                listed = true
            }
            k += 1
        }
        if best <= 0 { best = 1 }
        return (String(n[starts[labelCount - best]...]), bestPrivate, listed)
    }

    /// The public suffix of `name` (lowercased, trailing dot ignored). For an unlisted
    /// top-level domain this is the last label (the implicit `*` rule).
    public func publicSuffix(of name: String) -> String {
        suffixInfo(of: name).suffix
    }

    /// The registrable domain (the public suffix plus one label), or nil when the name is
    /// itself a public suffix (or empty).
    public func registrableDomain(of name: String) -> String? {
        let n = Self.prepare(name)
        let ps = suffixInfo(of: n).suffix
        guard !ps.isEmpty, n.count > ps.count else { return nil }
        let head = n.dropLast(ps.count + 1)
        let label = head.lastIndex(of: ".").map { head[head.index(after: $0)...] } ?? head
        return label + "." + ps
    }

    /// True when `name` is exactly a public suffix (`com`, `co.uk`, `github.io`, `a.b.ck`).
    public func isPublicSuffix(_ name: String) -> Bool {
        let n = Self.prepare(name)
        return !n.isEmpty && suffixInfo(of: n).suffix == n
    }

    /// True when the suffix deciding `name` comes from the PRIVATE section.
    public func isPrivateSuffix(_ name: String) -> Bool {
        suffixInfo(of: name).isPrivate
    }

    /// True when the name's top-level label is in the list (`com`, `top`), false for
    /// `igfxtray.exe` or `printer.local`.
    public func hasListedTopLevelDomain(_ name: String) -> Bool {
        let n = Self.prepare(name)
        let tld = n.lastIndex(of: ".").map { String(n[n.index(after: $0)...]) } ?? n
        return !tld.isEmpty && nodes[tld] != nil
    }

    private static func prepare(_ name: String) -> String {
        var n = name.lowercased()
        if n.hasSuffix(".") { n.removeLast() }
        return n
    }
}
