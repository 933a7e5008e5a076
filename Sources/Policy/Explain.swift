import DNSWire

/// Why a name or address gets the answer it gets: the verdict for a profile and every rule that
/// matched, with its list, categories, source and line. The same value backs
/// `bulwark policy check` and (later) the API.
public struct Explanation: Sendable, Codable, Equatable {
    public struct Rule: Sendable, Codable, Equatable {
        /// The trigger as written: `name.`, `*.name.` or a prefix.
        public var rule: String
        public var match: String
        public var list: String
        public var categories: [String]
        public var source: String?
        public var tlp: String
        /// `origin:line` (file or URL, and the rule's line or id).
        public var location: String
        public var line: UInt32
        /// What the rule asks for: block, nodata, drop, local-data, allow.
        public var action: String
        /// What it does for this profile: block, allow, audit, or ignored (and why).
        public var effect: String
        public var layer: String
    }

    public var query: String
    public var profile: String
    /// blocked, allowed, audited or not-listed.
    public var verdict: String
    /// For a block: what the client gets (nxdomain, nodata, sinkhole, refused, drop, local-data).
    public var answer: String?
    public var extendedError: String?
    public var deciding: Rule?
    /// For a tenant: its path from the root, and the level whose policy decided.
    public var tenantPath: [String]?
    public var decidedBy: String?
    public var rules: [Rule]

    /// Plain text for the terminal.
    public var text: String {
        var s = "\(query) (profile \(tenantPath?.joined(separator: " > ") ?? profile)): \(verdict)"
        if let decidedBy { s += " by \(decidedBy)" }
        if let answer { s += " → \(answer)" }
        if let extendedError { s += "\n  EDE: \(extendedError)" }
        if rules.isEmpty { s += "\n  no rule matches" }
        for r in rules {
            let cats = r.categories.isEmpty ? "" : " [\(r.categories.joined(separator: ","))]"
            s += "\n  \(r.effect == "ignored" ? "  " : r == deciding ? "=>" : " *") \(r.rule) \(r.action)\(cats) list=\(r.list)"
            s += " \(r.location) (\(r.effect))"
        }
        return s
    }
}

extension PolicyEngine {
    /// Explains the verdict for `name` under profile `profile`.
    public func explain(name: Name, profile: Int) -> Explanation {
        let wire = name.lowercasedWire
        var matches: [PolicyMatch] = []
        let verdict = wire.withUnsafeBytes { p -> PolicyVerdict in
            NameIndex.withSuffixHashes(p, start: 0, seed: snapshot.names.seed) { depth, s, h, _ in
                for (index, layer) in [(snapshot.names, PolicyLayer.names), (delta.names, .deltaNames)] {
                    index.forEach(hash: h, p, start: s, end: p.count) { e in
                        let c = index.classID[e]
                        let m = classes[Int(c)].match
                        if depth == 0 ? m.matchesSelf : m.matchesBelow {
                            matches.append(PolicyMatch(layer: layer, entry: e, classID: c, depth: depth))
                        }
                        return true
                    }
                }
                return true
            }
            return check(name: p, start: 0, end: p.count, profile: profile)
        }
        return explanation(query: name.description, verdict: verdict, matches: matches, profile: profile)
    }

    /// Explains the verdict for an answer address.
    public func explain(address: IPAddress, profile: Int) -> Explanation {
        let bytes = address.bytes
        var matches: [PolicyMatch] = []
        for (table, layer) in [(snapshot.prefixes, PolicyLayer.prefixes), (delta.prefixes, .deltaPrefixes)] {
            for (i, e) in table.entries.enumerated() where e.prefix.contains(address) {
                matches.append(PolicyMatch(layer: layer, entry: i, classID: e.classID, depth: 0))
            }
        }
        let verdict = bytes.withUnsafeBytes { check(address: $0, at: 0, length: bytes.count, profile: profile) }
        return explanation(query: address.description, verdict: verdict, matches: matches, profile: profile)
    }

    func explanation(query: String, verdict: PolicyVerdict, matches: [PolicyMatch], profile: Int) -> Explanation {
        let p = profiles.indices.contains(profile) ? profiles[profile] : Profile(name: "?", categories: [])
        func levelName(_ level: Int) -> String {
            profiles.indices.contains(profile) ? profiles[tree.ancestor(of: profile, atLevel: level)].name : "?"
        }
        func rule(_ m: PolicyMatch) -> Explanation.Rule {
            let cls = ruleClass(of: m)
            let list = self.list(of: m)
            let removed =
                (m.layer == .names && delta.removedNames.contains(m.entry))
                || (m.layer == .prefixes && delta.removedPrefixes.contains(m.entry))
            var effect: String
            let eff = self.effect(ofClass: Int(m.classID), profile: profile)
            switch eff.kind {
            case .allow:
                let levels = (0..<PolicyTree.maxDepth).filter { eff.allowLevels & (1 << UInt64($0)) != 0 }
                effect = "allow (by \(levels.map { levelName($0) }.joined(separator: ", ")))"
            case .block, .audit:
                effect = eff.kind == .block ? "block" : "audit"
                if !tree.flat {
                    effect += " (by \(levelName(Int(eff.origin)))"
                    if eff.locked != PolicyEffect.unlocked { effect += "; not overridable below \(levelName(Int(eff.locked)))" }
                    effect += ")"
                }
            case .none:
                if tree.categories[profile].isEmpty && tree.flat {
                    effect = "ignored: profile filters nothing"
                } else if tree.owner(ofClass: Int(m.classID)) >= 0 {
                    let o = tree.owner(ofClass: Int(m.classID))
                    let name = o < profiles.count ? profiles[o].name : (list.owner ?? "?")
                    effect = "ignored: \(cls.owner != 0 ? "an entry" : "a list") of tenant \(name), not an ancestor"
                } else if !p.selects(list) {
                    effect = "ignored: list not in profile"
                } else {
                    effect = "ignored: categories not in profile"
                }
            }
            if removed { effect = "ignored: removed" }
            let action: String
            switch cls.kind {
            case .block: action = "block"
            case .nodata: action = "nodata"
            case .drop: action = "drop"
            case .localData: action = "local-data"
            case .allow: action = "allow"
            }
            let line = ruleID(of: m)
            return Explanation.Rule(
                rule: trigger(of: m), match: "\(cls.match)", list: list.name, categories: list.categories.categories.map(\.description),
                source: list.source, tlp: list.tlp.rawValue, location: "\(list.origin.isEmpty ? list.name : list.origin):\(line)", line: line,
                action: action, effect: effect, layer: "\(m.layer)")
        }
        var e = Explanation(query: query, profile: p.name, verdict: "not-listed", rules: matches.map(rule))
        if profiles.indices.contains(profile) {
            var chain: [String] = []
            var n = profile
            while true {
                chain.append(profiles[n].name)
                let up = Int(tree.parent[n])
                if up < 0 { break }
                n = up
            }
            if chain.count > 1 { e.tenantPath = chain.reversed() }
        }
        if let m = verdict.match {
            e.deciding = rule(m)
            if !tree.flat, verdict.kind != .none { e.decidedBy = levelName(Int(verdict.level)) }
            switch verdict.kind {
            case .allowed: e.verdict = "allowed"
            case .audited: e.verdict = "audited"
            case .blocked:
                e.verdict = "blocked"
                switch ruleClass(of: m).kind {
                case .nodata: e.answer = "nodata"
                case .drop: e.answer = "drop"
                case .localData: e.answer = "local-data"
                default: e.answer = p.action.rawValue
                }
                let ede = extendedError(for: m, profile: profile)
                e.extendedError = "\(ede.code.rawValue) \(ede.code == .filtered ? "Filtered" : "Blocked"): \(ede.extraText)"
            case .none: break
            }
        }
        return e
    }
}
