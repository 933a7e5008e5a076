import DNSWire

/// RPZ zone files (draft-vixie-dnsop-dns-rpz, read as BIND and Unbound read them).
///
/// - The zone apex is the owner of the first SOA; before any SOA it is the first `$ORIGIN`, and
///   without either it is the root (owners are then the triggers themselves). A trigger is an
///   owner with the apex removed: `name` is `.exact`, `*.name` is `.below`.
/// - `N.d.c.b.a.rpz-ip` and `N.g8.g7.zz.g1.rpz-ip` triggers are answer-address prefixes;
///   `rpz-nsdname`, `rpz-nsip` and `rpz-client-ip` triggers are skipped with an issue.
/// - `CNAME .` blocks, `CNAME *.` answers NODATA, `CNAME rpz-passthru.` (or, the old way, a CNAME
///   to the trigger itself) allows, `CNAME rpz-drop.` drops; `CNAME rpz-tcp-only.` is skipped
///   with an issue. Any other record is local data: consecutive records of one owner make one
///   rule, and their owner is the trigger as written (`*.name` for a wildcard).
/// - SOA and NS at the apex are skipped without an issue.
///
/// The common one-line forms are read at byte level; everything else (quotes, escapes, typed
/// RDATA) goes through DNSWire's zone-file reader one entry at a time.
struct RPZFormat {
    let text: ListText
    /// The owner, trigger and CNAME target of the record being read, in scratch memory.
    let owner: UnsafeMutablePointer<UInt8>
    let trigger: UnsafeMutablePointer<UInt8>
    let target: UnsafeMutablePointer<UInt8>

    /// Reads name fields against the current `$ORIGIN`.
    var names: ZoneNames
    /// The owner of the first SOA, else the first `$ORIGIN`, else the root.
    var apex: Slot
    var apexFromSOA = false
    var originSeen = false
    /// The owner of the last record, for lines that start with a blank; empty before any.
    var previousOwner: Slot
    /// Whether `previousOwner` holds only host-name labels (so a trigger made from it needs no
    /// second look).
    var previousOwnerIsHostName = true
    var defaultTTL: UInt32? = nil
    var lastTTL: UInt32? = nil

    /// The entry being read: its fields, and whether parentheses keep it open past this line.
    var tokens: [Token] = []
    var depth = 0
    var open = false
    var entryStart = 0
    var entryLine = 0
    var ownerOmitted = false

    /// Local data of one owner, delivered when a record of another owner (or the end) comes.
    var pending: LocalData? = nil

    struct Token {
        var start: Int
        var end: Int
        var quoted = false
        var escaped = false
        var embeddedQuote = false
        var plain: Bool { !quoted && !escaped && !embeddedQuote }
    }

    struct LocalData {
        var owner: [UInt8]
        var trigger: StoredTrigger
        var records: [ResourceRecord]
        var line: Int
    }

    /// What a trigger covers: a name (the part of the trigger buffer from `offset`) or a prefix.
    enum Trigger {
        case name(offset: Int, NameMatch)
        case address(CIDR)
    }

    enum StoredTrigger {
        case name([UInt8], NameMatch)
        case address(CIDR)
    }

    /// What a record says once its owner is known.
    enum Content {
        /// A CNAME whose target is in `target`, with the record's TTL if it has one.
        case cname(length: Int, ttl: UInt32?)
        case record(ResourceRecord)
    }

    /// A name in a fixed place of scratch memory: lowercased wire form, `length` bytes.
    struct Slot {
        let base: UnsafeMutablePointer<UInt8>
        var length: Int

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: length) }
        var name: Name { Name(uncheckedWire: Array(UnsafeBufferPointer(start: base, count: length))) }

        mutating func set(_ from: UnsafePointer<UInt8>, _ count: Int) {
            base.update(from: from, count: count)
            length = count
        }

        func equals(_ other: UnsafePointer<UInt8>, _ count: Int) -> Bool {
            count == length && memcmpEqual(base, other, count)
        }
    }

    static let maxEntryLength = 64 * 1024
    static let scratchSize = 6 * NameText.bufferSize

    /// `scratch` holds `scratchSize` bytes.
    init(_ text: ListText, scratch: UnsafeMutablePointer<UInt8>) {
        self.text = text
        let size = NameText.bufferSize
        owner = scratch
        trigger = scratch + size
        target = scratch + 2 * size
        names = ZoneNames(text: text, origin: Slot(base: scratch + 3 * size, length: 1))
        apex = Slot(base: scratch + 4 * size, length: 1)
        previousOwner = Slot(base: scratch + 5 * size, length: 0)
        names.origin.base[0] = 0
        apex.base[0] = 0
    }

    mutating func run<S: RuleSink>(into sink: inout S) {
        var lines = LineReader(text)
        while let line = lines.next() {
            if line.isTooLong {
                sink.issue(line: line.number, open ? "line too long (the entry from line \(entryLine) is dropped)" : "line too long")
                resetEntry()
                continue
            }
            lex(line, into: &sink)
        }
        if open { sink.issue(line: entryLine, "'(' not closed before the end of the file") }
        flush(into: &sink)
    }

    // MARK: - Lexing

    mutating func resetEntry() {
        tokens.removeAll(keepingCapacity: true)
        depth = 0
        open = false
    }

    /// Splits a line into fields as ZoneLexer does (blanks, `;` comments, quotes, escapes,
    /// parentheses) and handles the entry once it is complete.
    mutating func lex<S: RuleSink>(_ line: TextLine, into sink: inout S) {
        if !open {
            tokens.removeAll(keepingCapacity: true)
            entryStart = line.start
            entryLine = line.number
            ownerOmitted = line.start < line.end && ByteClass.isBlank(text[line.start])
        }
        let e = line.end
        var i = line.start
        while i < e {
            let c = text[i]
            if ByteClass.isBlank(c) {
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: ";"):
                i = e
            case UInt8(ascii: "("):
                depth += 1
                i += 1
            case UInt8(ascii: ")"):
                guard depth > 0 else { return fail(line, "')' without a matching '('", into: &sink) }
                depth -= 1
                i += 1
            case UInt8(ascii: "\""):
                guard let close = closingQuote(from: i + 1, to: e) else {
                    return fail(line, "quoted string not closed before the end of the line", into: &sink)
                }
                tokens.append(Token(start: i + 1, end: close.at, quoted: true, escaped: close.escaped))
                i = close.at + 1
            default:
                var token = Token(start: i, end: i)
                var j = i
                scan: while j < e {
                    let b = text[j]
                    guard Self.endsPlainRun(b) else {
                        j += 1
                        continue
                    }
                    switch b {
                    case UInt8(ascii: "\\"):
                        guard j + 1 < e else { return fail(line, "backslash at the end of a line", into: &sink) }
                        token.escaped = true
                        j += 2
                    case UInt8(ascii: "\""):
                        // RFC 9460 `key="value"`: the quote closes the field.
                        guard j > i, text[j - 1] == UInt8(ascii: "="),
                            let close = closingQuote(from: j + 1, to: e)
                        else { return fail(line, "'\"' inside an unquoted field", into: &sink) }
                        token.embeddedQuote = true
                        j = close.at + 1
                        break scan
                    default:
                        // A blank, `;`, `(` or `)` ends the field.
                        break scan
                    }
                }
                token.end = j
                tokens.append(token)
                i = j
            }
        }
        if depth > 0 {
            open = true
            if line.end - entryStart > Self.maxEntryLength {
                sink.issue(line: entryLine, "'(' not closed within 64 KiB")
                resetEntry()
            }
            return
        }
        open = false
        if !tokens.isEmpty { entry(endingAt: line.end, into: &sink) }
    }

    /// Blanks, `;`, `(`, `)`, `"` and `\\`: the bytes that end a run of plain field bytes.
    @inline(__always)
    static func endsPlainRun(_ c: UInt8) -> Bool {
        // Bits 0x09, 0x0B, 0x0C, 0x0D, 0x20, 0x22, 0x28, 0x29, 0x3B.
        c < 64 ? (0x0800_0305_0000_3A00 as UInt64) >> UInt64(c) & 1 != 0 : c == UInt8(ascii: "\\")
    }

    func closingQuote(from: Int, to: Int) -> (at: Int, escaped: Bool)? {
        var j = from
        var escaped = false
        while j < to {
            switch text[j] {
            case UInt8(ascii: "\""): return (j, escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                j += 2
            default: j += 1
            }
        }
        return nil
    }

    mutating func fail<S: RuleSink>(_ line: TextLine, _ reason: String, into sink: inout S) {
        sink.issue(line: line.number, reason)
        resetEntry()
    }

    // MARK: - Entries

    mutating func entry<S: RuleSink>(endingAt end: Int, into sink: inout S) {
        let first = tokens[0]
        if !ownerOmitted && !first.quoted && text[first.start] == UInt8(ascii: "$") {
            directive(into: &sink)
        } else {
            record(endingAt: end, into: &sink)
        }
    }

    mutating func directive<S: RuleSink>(into sink: inout S) {
        let word = tokens[0]
        if text.equalsLowercased(word.start, word.end, "$origin") {
            guard tokens.count == 2 else { return sink.issue(line: entryLine, "$ORIGIN takes one name") }
            switch names.zoneName(tokens[1], into: target) {
            case .ok(let (length, _)):
                names.origin.set(target, length)
                names.originIsHostName = NameText.check(names.origin.bytes, wildcard: false) == nil
                if !originSeen && !apexFromSOA { apex.set(target, length) }
                originSeen = true
            case .bad(let reason):
                sink.issue(line: entryLine, "$ORIGIN: \(reason)")
            }
        } else if text.equalsLowercased(word.start, word.end, "$ttl") {
            guard tokens.count == 2, tokens[1].plain, let v = ttl(tokens[1]) else {
                return sink.issue(line: entryLine, "$TTL takes one TTL in 0...4294967295 seconds (units s m h d w allowed)")
            }
            defaultTTL = v
        } else if text.equalsLowercased(word.start, word.end, "$include") {
            sink.issue(line: entryLine, "$INCLUDE is not supported: a list is read from one file")
        } else {
            sink.issue(line: entryLine, "unsupported directive \(text.show(word.start, word.end))")
        }
    }

    enum Parsed<T> {
        case ok(T)
        case bad(String)
    }

    /// A TTL or `$TTL` value: seconds, or BIND units (`1h30m`, `1w`), at most 4294967295.
    func ttl(_ t: Token) -> UInt32? {
        zoneFileTTL(UnsafeBufferPointer(start: text.base + t.start, count: t.end - t.start))
    }

    func isClass(_ t: Token) -> Bool {
        if text.equalsLowercased(t.start, t.end, "ch") || text.equalsLowercased(t.start, t.end, "hs")
            || text.equalsLowercased(t.start, t.end, "none") || text.equalsLowercased(t.start, t.end, "any")
        {
            return true
        }
        guard t.end - t.start > 5, t.end - t.start <= 10, text.equalsLowercased(t.start, t.start + 5, "class") else { return false }
        for i in (t.start + 5)..<t.end where !ByteClass.isDigit(text[i]) { return false }
        return true
    }

    func ownerIsApex(_ length: Int) -> Bool { apex.equals(owner, length) }

    mutating func record<S: RuleSink>(endingAt end: Int, into sink: inout S) {
        let line = entryLine
        let ownerLength: Int
        if ownerOmitted {
            guard previousOwner.length > 0 else {
                return sink.issue(line: line, "owner: the line starts with a blank but no record came before")
            }
            owner.update(from: previousOwner.base, count: previousOwner.length)
            ownerLength = previousOwner.length
        } else {
            switch names.zoneName(tokens[0], into: owner) {
            case .ok(let (length, hostName)):
                ownerLength = length
                previousOwnerIsHostName = hostName
            case .bad(let reason):
                return sink.issue(line: line, "owner: \(reason)")
            }
            previousOwner.set(owner, ownerLength)
        }
        let ownerIsHostName = previousOwnerIsHostName
        // [TTL] [class] type, in either order.
        var index = ownerOmitted ? 0 : 1
        var explicitTTL: UInt32? = nil
        var typeIndex: Int? = nil
        while index < tokens.count, tokens[index].plain {
            let t = tokens[index]
            if ByteClass.isDigit(text[t.start]) {
                guard explicitTTL == nil, let v = ttl(t) else {
                    return sink.issue(line: line, "TTL: \(text.show(t.start, t.end)) is not a TTL in 0...4294967295 seconds")
                }
                explicitTTL = v
            } else if text.equalsLowercased(t.start, t.end, "in") {
                // The only class a policy zone has.
            } else if isClass(t) {
                return sink.issue(line: line, "class \(text.show(t.start, t.end)): only IN is supported")
            } else {
                typeIndex = index
                break
            }
            index += 1
        }
        if let explicitTTL { lastTTL = explicitTTL }
        guard let typeIndex else {
            if index < tokens.count { return slowRecord(endingAt: end, ownerLength: ownerLength, into: &sink) }
            return sink.issue(line: line, "type: missing")
        }
        let type = tokens[typeIndex]
        if text.equalsLowercased(type.start, type.end, "soa") {
            return soa(ownerLength: ownerLength, into: &sink)
        }
        if text.equalsLowercased(type.start, type.end, "ns") && ownerIsApex(ownerLength) { return }
        if text.equalsLowercased(type.start, type.end, "cname") && tokens.count == typeIndex + 2 && tokens[typeIndex + 1].plain {
            switch names.zoneName(tokens[typeIndex + 1], into: target) {
            case .ok(let (length, _)):
                return policy(ownerLength: ownerLength, checked: ownerIsHostName, .cname(length: length, ttl: explicitTTL), into: &sink)
            case .bad(let reason):
                return sink.issue(line: line, "CNAME target: \(reason)")
            }
        }
        slowRecord(endingAt: end, ownerLength: ownerLength, into: &sink)
    }

    /// Reads the entry with DNSWire's zone-file reader; an entry without an owner field gets the
    /// previous owner in presentation form.
    mutating func slowRecord<S: RuleSink>(endingAt end: Int, ownerLength: Int, into sink: inout S) {
        var input: [UInt8] = []
        if ownerOmitted {
            input = Array(Name(uncheckedWire: Array(UnsafeBufferPointer(start: owner, count: ownerLength))).description.utf8)
        }
        input.append(contentsOf: UnsafeBufferPointer(start: text.base + entryStart, count: end - entryStart))
        var reader = ZoneFileReader(bytes: input, origin: names.origin.name, defaultTTL: defaultTTL ?? lastTTL)
        let record: ResourceRecord
        switch reader.next() {
        case .success(let r)?: record = r.record
        case .failure(let e)?: return sink.issue(line: entryLine, e.error.reason)
        case nil: return sink.issue(line: entryLine, "no record")
        }
        guard record.rrClass == .in else { return sink.issue(line: entryLine, "class \(record.rrClass): only IN is supported") }
        switch record.rdata {
        case .soa:
            soa(ownerLength: ownerLength, into: &sink)
        case .ns where ownerIsApex(ownerLength):
            return
        case .cname(let name):
            let wire = name.lowercasedWire
            target.update(from: wire, count: wire.count)
            policy(ownerLength: ownerLength, checked: false, .cname(length: wire.count, ttl: record.ttl), into: &sink)
        default:
            policy(ownerLength: ownerLength, checked: false, .record(record), into: &sink)
        }
    }

    mutating func soa<S: RuleSink>(ownerLength: Int, into sink: inout S) {
        guard apexFromSOA else {
            apex.set(owner, ownerLength)
            apexFromSOA = true
            return
        }
        if !ownerIsApex(ownerLength) { sink.issue(line: entryLine, "SOA below the zone apex ignored") }
    }

    // MARK: - Policy

    /// Turns a record at `owner` into a rule (or a part of the local data being gathered).
    /// `checked`: the owner is known to hold only host-name labels.
    mutating func policy<S: RuleSink>(ownerLength: Int, checked: Bool, _ content: Content, into sink: inout S) {
        let line = entryLine
        let ownerWire = UnsafeRawBufferPointer(start: owner, count: ownerLength)
        guard let triggerLength = stripApex(ownerLength) else {
            return sink.issue(line: line, "owner \(Name(uncheckedWire: Array(ownerWire))) is outside the zone \(apex.name)")
        }
        let triggerWire = UnsafeRawBufferPointer(start: trigger, count: triggerLength)
        guard triggerLength > 1 else { return sink.issue(line: line, "a record at the zone apex is not a policy rule") }
        let kind: Trigger
        switch Self.classify(triggerWire, checked: checked) {
        case .ok(let t): kind = t
        case .bad(let reason): return sink.issue(line: line, reason)
        }
        let records: [ResourceRecord]
        switch content {
        case .cname(let length, let ttl):
            let targetWire = UnsafeRawBufferPointer(start: target, count: length)
            switch Self.special(targetWire) {
            case .action(let action)?:
                flush(into: &sink)
                return deliver(kind, length: triggerLength, action, line: line, into: &sink)
            case .tcpOnly?:
                return sink.issue(line: line, "unsupported action rpz-tcp-only")
            case nil:
                break
            }
            if length == triggerLength && memcmpEqual(target, trigger, length) {
                // The old PASSTHRU: a CNAME to the trigger itself.
                flush(into: &sink)
                return deliver(kind, length: triggerLength, .allow, line: line, into: &sink)
            }
            guard let ttl = ttl ?? defaultTTL ?? lastTTL else {
                return sink.issue(line: line, "TTL: none given and no default ($TTL or an earlier record's TTL)")
            }
            records = [
                ResourceRecord(
                    name: Name(uncheckedWire: Array(triggerWire)), ttl: ttl, rdata: .cname(Name(uncheckedWire: Array(targetWire))))
            ]
        case .record(var r):
            r.name = Name(uncheckedWire: Array(triggerWire))
            records = [r]
        }
        if var p = pending, p.owner.elementsEqual(ownerWire) {
            pending = nil
            p.records += records
            pending = p
            return
        }
        flush(into: &sink)
        let stored: StoredTrigger
        switch kind {
        case .name(let offset, let match): stored = .name(Array(triggerWire[offset...]), match)
        case .address(let cidr): stored = .address(cidr)
        }
        pending = LocalData(owner: Array(ownerWire), trigger: stored, records: records, line: line)
    }

    enum Special {
        case action(RuleAction)
        case tcpOnly
    }

    /// The action a CNAME target stands for, or nil for a target that is local data.
    static func special(_ target: UnsafeRawBufferPointer) -> Special? {
        if target.count == 1 { return .action(.block) }
        if ByteClass.equals(target, "\u{1}*\0") { return .action(.nodata) }
        if ByteClass.equals(target, "\u{C}rpz-passthru\0") { return .action(.allow) }
        if ByteClass.equals(target, "\u{8}rpz-drop\0") { return .action(.drop) }
        if ByteClass.equals(target, "\u{C}rpz-tcp-only\0") { return .tcpOnly }
        return nil
    }

    /// Delivers a rule whose trigger is in the trigger buffer, `length` bytes.
    func deliver<S: RuleSink>(_ trigger: Trigger, length: Int, _ action: RuleAction, line: Int, into sink: inout S) {
        switch trigger {
        case .name(let offset, let match):
            sink.name(
                UnsafeRawBufferPointer(start: self.trigger + offset, count: length - offset), match: match, action: action, line: line)
        case .address(let cidr):
            sink.address(cidr, action: action, line: line)
        }
    }

    mutating func flush<S: RuleSink>(into sink: inout S) {
        guard let p = pending else { return }
        pending = nil
        switch p.trigger {
        case .name(let wire, let match):
            wire.withUnsafeBytes { sink.name($0, match: match, action: .localData(p.records), line: p.line) }
        case .address(let cidr):
            sink.address(cidr, action: .localData(p.records), line: p.line)
        }
    }

    /// Writes the owner without the apex to `trigger` and returns its length, or nil when the
    /// owner is not at or below the apex.
    func stripApex(_ ownerLength: Int) -> Int? {
        var i = 0
        while ownerLength - i > apex.length {
            i += Int(owner[i]) + 1
        }
        guard apex.equals(owner + i, ownerLength - i) else { return nil }
        trigger.update(from: owner, count: i)
        trigger[i] = 0
        return i + 1
    }

    /// What a trigger (an owner without the apex) covers.
    static func classify(_ wire: UnsafeRawBufferPointer, checked: Bool) -> Parsed<Trigger> {
        let wildcard = wire[0] == 1 && wire[1] == ByteClass.star
        if let last = NameText.lastLabel(wire), wire[last.lowerBound] == UInt8(ascii: "r") {
            let label = UnsafeRawBufferPointer(rebasing: wire[last])
            if ByteClass.equals(label, "rpz-ip") {
                guard !wildcard else { return .bad("a wildcard rpz-ip trigger is not a prefix: \(show(wire))") }
                return addressTrigger(wire).map { .address($0) }
            }
            for other: StaticString in ["rpz-nsdname", "rpz-nsip", "rpz-client-ip"] where ByteClass.equals(label, other) {
                return .bad("unsupported trigger \(other): \(show(wire))")
            }
        }
        if !checked, let p = NameText.check(wire, wildcard: true) { return .bad(p.message(show(wire))) }
        let offset = wildcard ? 2 : 0
        let name = UnsafeRawBufferPointer(rebasing: wire[offset...])
        guard name.count > 1 else { return .bad("a wildcard at the zone apex would match every name") }
        if let p = NameText.numericProblem(name) { return .bad(p.message(show(wire))) }
        return .ok(.name(offset: offset, wildcard ? .below : .exact))
    }

    static func show(_ wire: UnsafeRawBufferPointer) -> String {
        "'" + Name(uncheckedWire: Array(wire)).description + "'"
    }

    /// `<prefix>.<reversed octets>.rpz-ip` or `<prefix>.<reversed 16-bit groups, zz for the
    /// zeros>.rpz-ip` as a prefix; the prefix length must fit the family and no host bit may be set.
    static func addressTrigger(_ wire: UnsafeRawBufferPointer) -> Parsed<CIDR> {
        var labels: [UnsafeRawBufferPointer] = []
        var i = 0
        while i < wire.count, wire[i] != 0 {
            let len = Int(wire[i])
            labels.append(UnsafeRawBufferPointer(rebasing: wire[(i + 1)..<(i + 1 + len)]))
            i += 1 + len
        }
        labels.removeLast()
        let bad: (String) -> Parsed<CIDR> = { .bad("rpz-ip trigger \(show(wire)): \($0)") }
        guard labels.count >= 2, labels.count <= 9, let prefix = decimal(labels[0], max: 999) else {
            return bad("expected <prefix length>.<reversed address>.rpz-ip")
        }
        let parts = labels[1...].reversed()
        let address: IPAddress
        if parts.count == 4, parts.allSatisfy({ decimal($0, max: 255) != nil }) {
            guard (1...32).contains(prefix) else { return bad("prefix length \(prefix) is not in 1...32") }
            address = .v4(IPv4Address(parts.reduce(UInt32(0)) { $0 << 8 | UInt32(decimal($1, max: 255)!) }))
        } else {
            var head: [UInt16] = []
            var tail: [UInt16] = []
            var zeros = false
            for part in parts {
                if ByteClass.equals(part, "zz") {
                    guard !zeros else { return bad("more than one zz") }
                    zeros = true
                } else if let g = hexGroup(part) {
                    if zeros { tail.append(g) } else { head.append(g) }
                } else {
                    return bad("\(ByteClass.show(part)) is neither an IPv4 octet nor an IPv6 group")
                }
            }
            guard zeros ? head.count + tail.count < 8 : head.count == 8 else { return bad("not an IPv4 or IPv6 address") }
            guard (1...128).contains(prefix) else { return bad("prefix length \(prefix) is not in 1...128") }
            let groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
            address = .v6(IPv6Address(bytes: groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }))
        }
        let cidr = CIDR(address: address, prefixLength: prefix)
        guard cidr.hostBitsAreZero else { return bad("address bits set beyond /\(prefix)") }
        return .ok(cidr)
    }

    /// 1 to 3 decimal digits without a leading zero, at most `max`.
    static func decimal(_ label: UnsafeRawBufferPointer, max: Int) -> Int? {
        guard (1...3).contains(label.count), label.allSatisfy(ByteClass.isDigit), label.count == 1 || label[0] != 0x30 else {
            return nil
        }
        let v = label.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return v <= max ? v : nil
    }

    static func hexGroup(_ label: UnsafeRawBufferPointer) -> UInt16? {
        guard (1...4).contains(label.count) else { return nil }
        var v: UInt16 = 0
        for c in label {
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }
}

/// Name fields of a zone file, read at byte level against the current `$ORIGIN`. Kept apart
/// from `RPZFormat` so the hot path copies only this small value, never the parser.
struct ZoneNames {
    let text: ListText
    /// The current `$ORIGIN`, in scratch memory; the root until one is given.
    var origin: RPZFormat.Slot
    /// Whether `origin` holds only host-name labels.
    var originIsHostName = true

    /// The lowercased wire form of a name field, written to `out`: `@` is the origin, a
    /// relative name is completed with it; escapes and quotes go through DNSWire's `Name`.
    /// With the length comes whether the name is known to hold only host-name labels (`*` at
    /// most as a whole first label); false means "not known".
    func zoneName(_ t: RPZFormat.Token, into out: UnsafeMutablePointer<UInt8>) -> RPZFormat.Parsed<(length: Int, isHostName: Bool)> {
        if t.plain {
            if t.end - t.start == 1 && text[t.start] == UInt8(ascii: "@") {
                out.update(from: origin.base, count: origin.length)
                return .ok((origin.length, originIsHostName))
            }
            var hostName = false
            switch NameText.encodeZoneName(text.base + t.start, t.end - t.start, origin: origin.bytes, into: out, isHostName: &hostName) {
            case .name(let length, let absolute):
                return .ok((length, hostName && (absolute || originIsHostName)))
            case .problem(let p):
                return .bad(p.message(text.show(t.start, t.end)))
            }
        }
        do {
            let wire = try Name(text.string(t.start, t.end), origin: origin.name).lowercasedWire
            out.update(from: wire, count: wire.count)
            return .ok((wire.count, false))
        } catch {
            return .bad(error.reason.isEmpty ? "\(error.code): \(text.show(t.start, t.end))" : error.reason)
        }
    }
}

extension RPZFormat.Parsed {
    func map<U>(_ f: (T) -> U) -> RPZFormat.Parsed<U> {
        switch self {
        case .ok(let v): .ok(f(v))
        case .bad(let reason): .bad(reason)
        }
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    for i in 0..<n where a[i] != b[i] { return false }
    return true
}
