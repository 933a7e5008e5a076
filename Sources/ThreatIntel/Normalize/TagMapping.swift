import Foundation

/// Maps MISP tags to Bulwark category names (`malware`, `phishing`, `botnet-c2`, `scam`,
/// `cryptomining`, `newly-observed`, …) — see MISP-RPZ.md §1.7.
///
/// Tags are machine tags such as `rsit:fraud="phishing"`. Matching is case-insensitive and
/// tolerates missing quotes and blanks: every tag is first reduced to a canonical key
/// `namespace:predicate=value` (lowercase, quotes removed).
///
/// A mapping key matches a tag when it equals the canonical tag, or when the key ends with
/// `:` or `=` (or `*`, which is dropped) and the tag starts with it, or when the key has no
/// `:` and equals the tag's namespace. The longest matching key wins. Override keys are
/// tried first, so configuration always wins over the built-in table; an override whose
/// category is empty or `none` maps the tag to nothing. Galaxy tags (`misp-galaxy:`) never
/// give a category.
public struct TagMapping: Sendable {
    /// The built-in table: canonical key → category name.
    public static let defaultTable: [String: String] = [
        // rsit (Reference Security Incident Taxonomy)
        "rsit:malicious-code=": "malware",
        "rsit:malicious-code=infected-system": "malware",
        "rsit:malicious-code=c2-server": "botnet-c2",
        "rsit:malicious-code=malware-distribution": "malware",
        "rsit:malicious-code=malware-configuration": "malware",
        "rsit:fraud=phishing": "phishing",
        "rsit:fraud=masquerade": "scam",
        // ecsirt
        "ecsirt:malicious-code=": "malware",
        "ecsirt:malicious-code=malware": "malware",
        "ecsirt:malicious-code=botnet-drone": "botnet-c2",
        "ecsirt:malicious-code=ransomware": "malware",
        "ecsirt:malicious-code=c&c": "botnet-c2",
        "ecsirt:malicious-code=c2": "botnet-c2",
        "ecsirt:fraud=phishing": "phishing",
        "ecsirt:fraud=masquerade": "scam",
        // circl
        "circl:incident-classification=phishing": "phishing",
        "circl:incident-classification=malware": "malware",
        "circl:incident-classification=scam": "scam",
        "circl:incident-classification=fastflux": "botnet-c2",
        // threats-to-dns
        "threats-to-dns:dns-abuse-or-misuse=botnets-c2": "botnet-c2",
        "threats-to-dns:dns-abuse-or-misuse=fast-flux-domains": "botnet-c2",
        "threats-to-dns:dns-abuse-or-misuse=malicious-dgas": "newly-observed",
        "threats-to-dns:dns-abuse-or-misuse=covert-channels-malicious-dns-tunneling": "botnet-c2",
        "threats-to-dns:dns-abuse-or-misuse=phishing": "phishing",
        // domain-abuse
        "domain-abuse:domain-access-method=criminal-registration": "malware",
        "domain-abuse:domain-access-method=compromised-dns": "malware",
        "domain-abuse:domain-access-method=sinkhole": "botnet-c2",
        // whole namespaces
        "phishing": "phishing",
        "dga": "newly-observed",
        "malware_classification": "malware",
        // enisa
        "enisa:nefarious-activity-abuse=phishing-attacks": "phishing",
        "enisa:nefarious-activity-abuse=malicious-code-software-activity": "malware",
        "enisa:nefarious-activity-abuse=botnets": "botnet-c2",
        "enisa:nefarious-activity-abuse=spam": "scam",
        // cryptomining
        "cryptocurrency-threat=cryptojacking": "cryptomining",
        "cryptocurrency-threat:cryptojacking": "cryptomining",
    ]

    /// Values of the `threats-to-dns:dns-abuse-or-misuse` predicate are long phrases; these
    /// endings decide them (e.g. `…-botnets-c2`).
    static let threatsToDNSEndings: [(String, String)] = [
        ("botnets-c2", "botnet-c2"), ("fast-flux-domains", "botnet-c2"), ("malicious-dgas", "newly-observed"),
        ("dns-tunneling", "botnet-c2"), ("phishing", "phishing"),
    ]

    private let overrides: [(key: String, category: String)]
    private let defaults: [(key: String, category: String)]

    /// The built-in table with `overrides` (tag or tag prefix → category) applied on top.
    public init(overrides: [String: String] = [:]) {
        self.overrides = overrides.map { (Self.canonicalKey($0.key), $0.value.trimmingCharacters(in: .whitespaces).lowercased()) }
            .sorted { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }
        self.defaults = Self.defaultTable.map { ($0.key, $0.value) }
            .sorted { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }
    }

    /// The categories of `tags`, in tag order, without duplicates.
    public func categories(for tags: [String]) -> [String] {
        var out: [String] = []
        for tag in tags {
            guard let c = category(for: tag), !out.contains(c) else { continue }
            out.append(c)
        }
        return out
    }

    /// The category of one tag, or nil.
    public func category(for tag: String) -> String? {
        let t = Self.canonicalTag(tag)
        guard !t.isEmpty, !t.hasPrefix("misp-galaxy:") else { return nil }
        if let c = Self.lookup(t, in: overrides) { return c.isEmpty || c == "none" ? nil : c }
        if let c = Self.lookup(t, in: defaults) { return c }
        if t.hasPrefix("threats-to-dns:dns-abuse-or-misuse=") {
            for (ending, c) in Self.threatsToDNSEndings where t.hasSuffix(ending) { return c }
        }
        return nil
    }

    private static func lookup(_ t: String, in table: [(key: String, category: String)]) -> String? {
        let namespace = t.firstIndex(of: ":").map { String(t[..<$0]) } ?? t
        for (key, category) in table {
            if key == t { return category }
            if key.hasSuffix(":") || key.hasSuffix("=") {
                if t.hasPrefix(key) { return category }
            } else if !key.contains(":") && !key.contains("=") && key == namespace {
                return category
            }
        }
        return nil
    }

    /// `namespace:predicate=value`, lowercase, without quotes or blanks around the parts.
    public static func canonicalTag(_ tag: String) -> String {
        var t = tag.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        t.removeAll { $0 == "\"" }
        if let eq = t.firstIndex(of: "=") {
            let l = t[..<eq].trimmingCharacters(in: .whitespaces)
            let r = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            t = l + "=" + r
        }
        if let colon = t.firstIndex(of: ":") {
            let l = t[..<colon].trimmingCharacters(in: .whitespaces)
            let r = t[t.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            t = l + ":" + r
        }
        return t
    }

    /// A mapping key in canonical form (a trailing `*` is dropped).
    static func canonicalKey(_ key: String) -> String {
        var k = canonicalTag(key)
        while k.hasSuffix("*") { k.removeLast() }
        return k
    }
}

/// The Traffic Light Protocol level of a set of tags.
public enum TLPTag {
    /// Levels from least to most restrictive.
    public static let levels = ["clear", "green", "amber", "amber+strict", "red"]

    /// The most restrictive TLP level among `tags` (`tlp:white` counts as `clear`;
    /// `tlp:amber+strict` also as `amber-strict`/`amber_strict`), or nil when none is given.
    /// `tlp:ex:chr` and `tlp:unclear` are not levels and are ignored.
    public static func parse(_ tags: [String]) -> String? {
        var best = -1
        for tag in tags {
            var t = tag.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            t.removeAll { $0 == "\"" || $0 == " " }
            guard t.hasPrefix("tlp:") else { continue }
            var level = String(t.dropFirst(4))
            switch level {
            case "white": level = "clear"
            case "amber-strict", "amber_strict", "amberstrict": level = "amber+strict"
            default: break
            }
            if let i = levels.firstIndex(of: level), i > best { best = i }
        }
        return best >= 0 ? levels[best] : nil
    }
}
