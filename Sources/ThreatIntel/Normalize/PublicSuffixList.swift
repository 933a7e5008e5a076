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
        nodes.reserveCapacity(16384)
        var isPrivate = false
        var count = 0
        let bytes = Array(text.utf8)
        var lineStart = 0
        let privateBegin = Array("===BEGIN PRIVATE DOMAINS===".utf8)
        let privateEnd = Array("===END PRIVATE DOMAINS===".utf8)
        func contains(_ line: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
            guard line.count >= needle.count else { return false }
            var i = line.startIndex
            while i + needle.count <= line.endIndex {
                if line[i] == needle[0] && line[i..<i + needle.count].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            // The rule is the first run of non-blank bytes.
            var a = lineStart
            while a < lineEnd && (bytes[a] == 0x20 || bytes[a] == 0x09 || bytes[a] == 0x0D) { a += 1 }
            var b = a
            while b < lineEnd && bytes[b] != 0x20 && bytes[b] != 0x09 && bytes[b] != 0x0D { b += 1 }
            guard a < b else { continue }
            if b - a >= 2 && bytes[a] == UInt8(ascii: "/") && bytes[a + 1] == UInt8(ascii: "/") {
                let line = bytes[a..<lineEnd]
                if contains(line, privateBegin) { isPrivate = true }
                if contains(line, privateEnd) { isPrivate = false }
                continue
            }
            var flag = Node.rule
            var privateFlag = Node.rulePrivate
            if bytes[a] == UInt8(ascii: "!") {
                flag = Node.exception
                privateFlag = Node.exceptionPrivate
                a += 1
            } else if b - a >= 2 && bytes[a] == UInt8(ascii: "*") && bytes[a + 1] == UInt8(ascii: ".") {
                flag = Node.wildcard
                privateFlag = Node.wildcardPrivate
                a += 2
            }
            guard a < b, let key = Self.canonical(bytes[a..<b]) else { continue }
            nodes[key, default: Node()].flags |= flag | (isPrivate ? privateFlag : 0)
            count += 1
            // Intermediate suffixes, so a lookup can stop early.
            let k = Array(key.utf8)
            for (i, c) in k.enumerated() where c == UInt8(ascii: ".") {
                let parent = String(decoding: k[(i + 1)...], as: UTF8.self)
                if nodes[parent] == nil { nodes[parent] = Node() }
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
    private static func canonical(_ rule: ArraySlice<UInt8>) -> String? {
        if rule.allSatisfy({ $0 < 0x80 }) {
            if rule.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return String(decoding: rule, as: UTF8.self).lowercased() }
            return String(decoding: rule, as: UTF8.self)
        }
        let text = String(decoding: rule, as: UTF8.self)
        // Single-label rules (IDN top-level domains) need a second label to pass validation.
        return IntelNormalizer.normalizeName(text + ".x").map { String($0.dropLast(2)) }
    }

    /// The public suffix of `name` and whether the deciding rule is in the PRIVATE section.
    /// An empty name yields an empty suffix.
    public func suffixInfo(of name: String) -> (suffix: String, isPrivate: Bool, isListed: Bool) {
        let n = Self.prepare(name)
        let u = Array(n.utf8)
        guard !u.isEmpty else { return ("", false, false) }
        // Start offsets of each label, right to left: starts[0] is the last label.
        var starts: [Int] = []
        starts.reserveCapacity(8)
        var i = u.count - 1
        while i >= 0 {
            if u[i] == UInt8(ascii: ".") { starts.append(i + 1) }
            i -= 1
        }
        starts.append(0)
        let labelCount = starts.count
        func suffix(_ labels: Int) -> String { String(decoding: u[starts[labels - 1]...], as: UTF8.self) }
        var best = 1  // the implicit "*" rule
        var bestPrivate = false
        var listed = false
        var k = 1
        while k <= labelCount {
            // Nothing is listed below an unknown suffix (a wildcard on it was applied at k - 1).
            guard let node = nodes[suffix(k)] else { break }
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
            if node.has(Node.wildcard) {
                listed = true
                if k < labelCount {
                    // "*.suffix" matches one more label, unless that name is an exception.
                    if let exception = nodes[suffix(k + 1)], exception.has(Node.exception) {
                        best = k
                        bestPrivate = exception.has(Node.exceptionPrivate)
                        break
                    }
                    best = k + 1
                    bestPrivate = node.has(Node.wildcardPrivate)
                }
            }
            k += 1
        }
        if best <= 0 { best = 1 }
        return (suffix(best), bestPrivate, listed)
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
        let u = Array(n.utf8)
        let psLength = ps.utf8.count
        guard psLength > 0, u.count > psLength + 1 else { return nil }
        var start = u.count - psLength - 1  // the dot before the suffix
        while start > 0 && u[start - 1] != UInt8(ascii: ".") { start -= 1 }
        return String(decoding: u[start...], as: UTF8.self)
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
        var n = name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A || $0 >= 0x80 }) ? name.lowercased() : name
        if n.utf8.last == UInt8(ascii: ".") { n.removeLast() }
        return n
    }
}
