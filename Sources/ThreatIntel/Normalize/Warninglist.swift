import Foundation

/// One MISP warninglist (https://github.com/MISP/misp-warninglists): a list of well-known
/// values that must not be treated as indicators.
///
/// Entries are normalised when the list is read: for `string` and `hostname` lists an entry
/// may be a name (with a trailing dot or in upper case), a URL (its host is taken), a
/// leading-dot suffix rule (`.google.com`, also `*.google.com`), an address or a range; for
/// `cidr` lists an address or a range. Entries that are none of these are counted in
/// `invalidCount` and dropped. `substring` and `regex` lists are read but never applied to
/// DNS values: a substring such as `google` would suppress far too much (`isApplied` is false
/// and `WarninglistSet.skipped` says why).
public struct Warninglist: Sendable {
    /// A short identifier: the directory of a `lists/<id>/list.json`, else the file name
    /// without `.json` and without a `misp-warninglist-` prefix.
    public var id: String
    /// The list's `name`.
    public var name: String
    /// The list's `description`.
    public var description: String
    /// The list's `version`, when it is a number.
    public var version: Int?
    /// `string`, `substring`, `hostname`, `cidr` or `regex` (lowercased).
    public var type: String
    /// The MISP attribute types the list applies to (lowercased), or nil for all types.
    public var matchingAttributes: [String]?
    /// Entries in the file.
    public var entryCount: Int
    /// Entries that were neither a name, a suffix rule, an address nor a range.
    public var invalidCount: Int
    /// Names protected exactly (and through their registrable domain).
    public var names: [String]
    /// Suffix rules (without the leading dot): the name and everything below it.
    public var suffixes: [String]
    /// Address ranges (`network/length`; single addresses as `/32` or `/128`).
    public var ranges: [String]
    var cidrs: [IntelCIDR]

    /// False for `substring`, `regex` and unknown types: such lists are never applied.
    public var isApplied: Bool { type == "string" || type == "hostname" || type == "cidr" }

    /// Parses a warninglist JSON document. Throws `IntelRejection` when it is not one.
    public init(id: String, json: Data) throws(IntelRejection) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw IntelRejection("warninglist \(id): not JSON (\(error.localizedDescription))")
        }
        guard let o = object as? [String: Any] else { throw IntelRejection("warninglist \(id): not a JSON object") }
        guard let type = (o["type"] as? String)?.lowercased() else { throw IntelRejection("warninglist \(id): no \"type\"") }
        var raw: [String] = []
        if let list = o["list"] as? [Any] {
            raw = list.compactMap { MISPJSON.string($0) }
        } else if let list = o["list"] as? [String: Any] {
            raw = list.keys.sorted()
        } else {
            throw IntelRejection("warninglist \(id): \"list\" is neither an array nor an object")
        }
        self.id = id
        self.name = (o["name"] as? String) ?? id
        self.description = (o["description"] as? String) ?? ""
        self.version = MISPJSON.int64(o["version"]).map { Int($0) }
        self.type = type
        if let m = o["matching_attributes"] as? [Any] {
            let types = m.compactMap { ($0 as? String)?.lowercased() }
            self.matchingAttributes = types.isEmpty ? nil : types
        } else {
            self.matchingAttributes = nil
        }
        self.entryCount = raw.count
        self.names = []
        self.suffixes = []
        self.ranges = []
        self.cidrs = []
        self.invalidCount = 0
        guard type == "string" || type == "hostname" || type == "cidr" else { return }
        for entry in raw {
            switch ProtectionEntry.parse(entry, addressesOnly: type == "cidr") {
            case .name(let n): names.append(n)
            case .suffix(let s): suffixes.append(s)
            case .range(let c):
                cidrs.append(c)
                ranges.append(c.text)
            case nil: invalidCount += 1
            }
        }
    }

    /// Reads a warninglist file (see `id` for how the identifier is derived).
    public static func load(url: URL) throws(IntelRejection) -> Warninglist {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw IntelRejection("warninglist \(url.path): cannot be read")
        }
        return try Warninglist(id: identifier(for: url), json: data)
    }

    /// The identifier for a file (see `id`).
    public static func identifier(for url: URL) -> String {
        if url.lastPathComponent == "list.json" {
            let dir = url.deletingLastPathComponent().lastPathComponent
            if !dir.isEmpty && dir != "/" { return dir }
        }
        var base = url.deletingPathExtension().lastPathComponent
        if base.hasPrefix("misp-warninglist-") { base.removeFirst("misp-warninglist-".count) }
        return base
    }
}

/// Many warninglists, indexed for matching indicators.
///
/// Semantics for a DNS blocker (MISP-RPZ.md §5): a name entry protects the exact name and —
/// when the entry is not itself a public suffix — the entry's registrable domain; it never
/// protects names below it (`github.io` in a list does not protect `evil.github.io`;
/// `www.example.com` protects `www.example.com` and `example.com` but not
/// `evil.example.com`). A leading-dot entry (`.google.com`) is an explicit suffix rule that
/// protects the name and everything below it. Without a public suffix list the registrable
/// domain is approximated as the last two labels.
///
/// Ranges: an `.ip` indicator is suppressed when it lies inside a listed range (or equals a
/// listed address); a `.cidr` indicator when it lies inside a listed range or contains one
/// (blocking a range that covers a protected address would block that address too).
///
/// A list with `matching_attributes` applies only to indicators whose MISP type is listed;
/// pass the type as `mispType` (nil applies every list, e.g. for freetext feeds).
///
/// Name lookups cost one hash probe per label of the indicator.
public struct WarninglistSet: Sendable {
    /// The lists, in the order given (applied and not).
    public private(set) var lists: [Warninglist]
    /// Lists (or files) that are not applied, each with the reason.
    public private(set) var skipped: [String]
    var index: ProtectionIndex

    /// Indexes `lists`; `substring`, `regex` and unknown types are listed in `skipped`.
    public init(_ lists: [Warninglist], skipped: [String] = []) {
        self.lists = lists
        self.skipped = skipped
        var index = ProtectionIndex()
        for (i, l) in lists.enumerated() {
            guard l.isApplied else {
                let why =
                    l.type == "substring" || l.type == "regex"
                    ? "type \(l.type) is not applied to DNS values (it would suppress far too much)"
                    : "unknown type \(l.type)"
                self.skipped.append("warninglist \"\(l.name)\" (\(l.id)): \(why)")
                continue
            }
            let source = Int32(i)
            for n in l.names { index.addName(n, source: source) }
            for s in l.suffixes { index.addSuffix(s, source: source) }
            for c in l.cidrs { index.addRange(c, source: source) }
        }
        self.index = index
    }

    /// Loads warninglists from files and directories: a directory is searched recursively
    /// for `list.json` files. Unreadable or malformed files are listed in `skipped`.
    public static func load(paths: [String]) -> WarninglistSet {
        var lists: [Warninglist] = []
        var skipped: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                skipped.append("warninglist \(path): no such file or directory")
                continue
            }
            var files: [URL] = []
            if isDir.boolValue {
                let root = URL(fileURLWithPath: path)
                if let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) {
                    for case let url as URL in e where url.lastPathComponent == "list.json" { files.append(url) }
                }
                files.sort { $0.path < $1.path }
                if files.isEmpty { skipped.append("warninglist \(path): no list.json below the directory") }
            } else {
                files = [URL(fileURLWithPath: path)]
            }
            for f in files {
                do {
                    lists.append(try Warninglist.load(url: f))
                } catch {
                    skipped.append(error.reason)
                }
            }
        }
        return WarninglistSet(lists, skipped: skipped)
    }

    /// Lists that are applied.
    public var appliedCount: Int { lists.filter(\.isApplied).count }

    /// Why `v` must be suppressed, e.g.
    /// `warninglist "Top 10K most-used sites from Tranco" (tranco10k): github.io`, or nil.
    public func match(_ v: IntelValue, mispType: String? = nil, psl: PublicSuffixList?) -> String? {
        let type = mispType?.lowercased()
        let hit = index.match(v, psl: psl) { source in
            guard let type, let attrs = lists[Int(source)].matchingAttributes else { return true }
            return attrs.contains(type)
        }
        guard let hit else { return nil }
        let l = lists[Int(hit.source)]
        return "warninglist \"\(l.name)\" (\(l.id)): \(hit.text)"
    }
}

/// Names never to block, from configuration, with the warninglist semantics: an entry
/// protects the exact name and its registrable domain (never the names below it); a
/// leading-dot entry (`.example.com`) protects the name and its whole subtree. Entries may
/// also be addresses or ranges.
public struct Allowlist: Sendable {
    /// The normalised entries (suffix rules keep their leading dot).
    public private(set) var entries: [String]
    /// Entries that could not be read, each with the reason.
    public private(set) var invalid: [String]
    var index: ProtectionIndex

    /// Builds the allow-list from configured entries.
    public init(_ entries: [String] = []) {
        var index = ProtectionIndex()
        var kept: [String] = []
        var invalid: [String] = []
        for e in entries {
            switch ProtectionEntry.parse(e, addressesOnly: false) {
            case .name(let n):
                index.addName(n, source: 0)
                kept.append(n)
            case .suffix(let s):
                index.addSuffix(s, source: 0)
                kept.append("." + s)
            case .range(let c):
                index.addRange(c, source: 0)
                kept.append(c.length == c.network.bitWidth ? c.network.text : c.text)
            case nil:
                invalid.append("allowlist entry \(IntelNormalizer.quoted(e)) is not a name, suffix rule, address or range")
            }
        }
        self.entries = kept
        self.invalid = invalid
        self.index = index
    }

    /// True when there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// Why `v` must not be blocked (`allowlist: example.com`), or nil.
    public func match(_ v: IntelValue, psl: PublicSuffixList?) -> String? {
        index.match(v, psl: psl) { _ in true }.map { "allowlist: \($0.text)" }
    }
}

/// One protective entry after normalisation.
enum ProtectionEntry {
    case name(String)
    case suffix(String)
    case range(IntelCIDR)

    static func parse(_ raw: String, addressesOnly: Bool) -> ProtectionEntry? {
        let t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { return nil }
        if let ip = IntelIP.parse(t) { return .range(IntelCIDR(network: ip, length: ip.bitWidth)) }
        if let (c, _) = IntelCIDR.parse(t) { return .range(c) }
        if addressesOnly { return nil }
        if t.hasPrefix(".") || t.hasPrefix("*.") {
            let rest = t.hasPrefix(".") ? String(t.dropFirst()) : String(t.dropFirst(2))
            return IntelNormalizer.normalizeName(rest).map { .suffix($0) }
        }
        if t.utf8.contains(UInt8(ascii: "/")) {
            guard case .success(let v) = IntelNormalizer.urlHost(t) else { return nil }
            if v.kind == .ip, let ip = IntelIP.parse(v.value) { return .range(IntelCIDR(network: ip, length: ip.bitWidth)) }
            return .name(v.value)
        }
        return IntelNormalizer.normalizeName(t).map { .name($0) }
    }
}

/// The shared index behind `WarninglistSet` and `Allowlist`.
struct ProtectionIndex: Sendable {
    struct Ref: Sendable {
        var source: Int32
        var entry: String
    }
    struct Hit {
        var source: Int32
        var text: String
    }
    /// Protected names.
    private var exact: [String: [Ref]] = [:]
    /// Proper parents (two labels or more) of protected names → the names below them.
    private var parents: [String: [Ref]] = [:]
    /// Suffix rules (without the dot).
    private var suffixes: [String: [Ref]] = [:]
    /// Ranges by (family, length), then network.
    private var ranges: [Int: [IntelIP: [Ref]]] = [:]
    /// The (family, length) keys present, for lookups.
    private var rangeKeys: [Int] = []
    private var allRanges: [(IntelCIDR, Ref)] = []

    mutating func addName(_ n: String, source: Int32) {
        let ref = Ref(source: source, entry: n)
        exact[n, default: []].append(ref)
        var rest = Substring(n)
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            guard rest.contains(".") else { break }
            parents[String(rest), default: []].append(ref)
        }
    }

    mutating func addSuffix(_ s: String, source: Int32) {
        suffixes[s, default: []].append(Ref(source: source, entry: "." + s))
    }

    mutating func addRange(_ c: IntelCIDR, source: Int32) {
        let key = (c.network.isV6 ? 1000 : 0) + c.length
        let ref = Ref(source: source, entry: c.length == c.network.bitWidth ? c.network.text : c.text)
        if ranges[key] == nil {
            rangeKeys.append(key)
            rangeKeys.sort()
        }
        ranges[key, default: [:]][c.network, default: []].append(ref)
        allRanges.append((c, ref))
    }

    func match(_ v: IntelValue, psl: PublicSuffixList?, applies: (Int32) -> Bool) -> Hit? {
        switch v.kind {
        case .domain, .hostname: return matchName(v.value, psl: psl, applies: applies)
        case .ip:
            guard let ip = IntelIP.parse(v.value) else { return nil }
            return matchRange(IntelCIDR(network: ip, length: ip.bitWidth), applies: applies)
        case .cidr:
            guard let (c, _) = IntelCIDR.parse(v.value) else { return nil }
            return matchRange(c, applies: applies)
        }
    }

    private func first(_ refs: [Ref]?, _ applies: (Int32) -> Bool) -> Ref? {
        refs?.first { applies($0.source) }
    }

    private func matchName(_ n: String, psl: PublicSuffixList?, applies: (Int32) -> Bool) -> Hit? {
        if let r = first(exact[n], applies) { return Hit(source: r.source, text: r.entry) }
        if !suffixes.isEmpty {
            var s = Substring(n)
            while true {
                if let r = first(suffixes[String(s)], applies) { return Hit(source: r.source, text: r.entry) }
                guard let dot = s.firstIndex(of: ".") else { break }
                s = s[s.index(after: dot)...]
            }
        }
        // A protected name below n whose registrable domain is n.
        guard let below = parents[n] else { return nil }
        if let psl {
            guard psl.registrableDomain(of: n) == n else { return nil }
            for r in below where applies(r.source) && psl.registrableDomain(of: r.entry) == n {
                return Hit(source: r.source, text: "\(r.entry) (registrable domain \(n))")
            }
            return nil
        }
        guard n.utf8.filter({ $0 == UInt8(ascii: ".") }).count == 1, let r = first(below, applies) else { return nil }
        return Hit(source: r.source, text: "\(r.entry) (registrable domain \(n))")
    }

    private func matchRange(_ c: IntelCIDR, applies: (Int32) -> Bool) -> Hit? {
        let family = c.network.isV6 ? 1000 : 0
        // Listed ranges containing c.
        for key in rangeKeys where key >= family && key - family <= c.length && key < family + 1000 {
            let len = key - family
            if let r = first(ranges[key]?[c.network.masked(len)], applies) { return Hit(source: r.source, text: r.entry) }
        }
        // Listed ranges inside c (only for a range indicator).
        if c.length < c.network.bitWidth {
            for (listed, r) in allRanges where applies(r.source) && c.contains(listed) {
                return Hit(source: r.source, text: r.entry)
            }
        }
        return nil
    }
}
