/// Zone-file records (RFC 1035 §5.1): one record from one logical line, and a reader for whole
/// files that keeps going past bad lines.

extension ResourceRecord {
    /// Parses one logical zone-file line, `owner [TTL] [CLASS] TYPE RDATA` (TTL and class in either
    /// order). `@` is `origin`; relative names are completed with `origin`. A line that starts
    /// with a blank has no owner field and takes `previousOwner`. The TTL may use units (`1h30m`);
    /// without one, `defaultTTL` is used. Comments after `;` (outside quotes) are ignored, and
    /// parentheses may join several lines of `line` into one.
    public init(
        presentation line: String, origin: Name? = nil, defaultTTL: UInt32? = nil, previousOwner: Name? = nil
    ) throws(DNSWireError) {
        let entry = try ZoneLexer.singleEntry(line, what: "the record")
        guard !entry.tokens.isEmpty else { throw ZoneText.error("empty line: no record") }
        if !entry.ownerOmitted, let first = entry.tokens.first, !first.quoted, first.text.first == UInt8(ascii: "$") {
            throw ZoneText.error("\(ZoneText.show(first.text)) is a directive, not a record: use ZoneFileReader")
        }
        var owner: Name? = nil
        self = try Self.parse(entry, origin: origin, defaultTTL: defaultTTL, previousOwner: previousOwner, owner: &owner).record
    }

    /// Parses an entry; `owner` is set as soon as the owner is known, even when the rest fails,
    /// so the next owner-less line still gets it.
    static func parse(
        _ entry: ZoneEntry, origin: Name?, defaultTTL: UInt32?, previousOwner: Name?, owner: inout Name?
    ) throws(DNSWireError) -> (record: ResourceRecord, explicitTTL: Bool) {
        var tokens = entry.tokens[...]
        let name: Name
        if entry.ownerOmitted {
            guard let previousOwner else { throw ZoneText.error("owner: line starts with a blank but there is no previous owner") }
            name = previousOwner
        } else {
            guard let t = tokens.popFirst() else { throw ZoneText.error("owner: missing") }
            name = try ZoneText.name(t, origin: origin, field: "owner")
        }
        owner = name
        var ttl: UInt32? = nil
        var rrClass: RRClass? = nil
        var type: RRType? = nil
        while type == nil, let t = tokens.popFirst() {
            if t.quoted || t.embeddedQuote {
                throw ZoneText.error("type: \(ZoneText.show(t.text)) in quotes where TTL, class or type belongs")
            }
            if rrClass == nil, let c = ZoneText.rrClass(t.text) {
                rrClass = c
            } else if ttl == nil, let first = t.text.first, ZoneText.isDigit(first) {
                guard let v = ZoneText.ttl(t.text) else {
                    throw ZoneText.error("TTL: \(ZoneText.show(t.text)) is not a TTL in 0...4294967295 seconds (units s m h d w allowed)")
                }
                ttl = v
            } else if let ty = ZoneText.rrType(t.text) {
                type = ty
            } else {
                throw ZoneText.error("type: \(ZoneText.show(t.text)) is not a type, class or TTL")
            }
        }
        guard let type else { throw ZoneText.error("type: missing") }
        guard type != .opt, !type.isMetaType else { throw ZoneText.error("type: \(type) cannot appear in a zone file") }
        guard let recordTTL = ttl ?? defaultTTL else {
            throw ZoneText.error("TTL: none given and no default ($TTL or an earlier record's TTL)")
        }
        let rdata = try RData.parse(tokens, type: type, origin: origin)
        return (ResourceRecord(name: name, rrClass: rrClass ?? .in, ttl: recordTTL, rdata: rdata), ttl != nil)
    }
}

/// A record read from a zone file, with the line it starts on (from 1).
public struct ZoneFileRecord: Hashable, Sendable {
    public var record: ResourceRecord
    public var line: Int
    public init(record: ResourceRecord, line: Int) {
        self.record = record
        self.line = line
    }
}

/// A bad entry in a zone file: where it is and what is wrong. `line` is the line the entry
/// starts on, or for a lexical error (such as an unclosed quote) the line where it was found.
public struct ZoneFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var fileName: String
    public var line: Int
    public var error: DNSWireError
    public init(fileName: String, line: Int, error: DNSWireError) {
        self.fileName = fileName
        self.line = line
        self.error = error
    }
    /// `file:line: reason`, like a compiler.
    public var description: String { "\(fileName):\(line): \(error.reason)" }
}

/// Reads a zone file entry by entry: `$ORIGIN`, `$TTL`, parentheses across lines, comments,
/// quoted strings and owner-less lines are handled. Each step yields either a record or the
/// error of one bad entry with its line, and reading goes on with the next entry, so a caller
/// can skip bad lines and report `file:line`:
///
///     for entry in ZoneFileReader(text, fileName: "rpz.zone", origin: zone) {
///         switch entry {
///         case .success(let r): add(r.record)
///         case .failure(let e): log("\(e)")  // rpz.zone:12: A address: '1.2.3' is not an IPv4 address
///         }
///     }
///
/// `$INCLUDE` (and `$GENERATE`) are rejected: nothing here reads other files. Without `$TTL`,
/// a record with no TTL takes the TTL of the record before it (RFC 1035 §5.1).
public struct ZoneFileReader: Sequence, IteratorProtocol, Sendable {
    public typealias Element = Result<ZoneFileRecord, ZoneFileError>

    public let fileName: String
    /// The current origin: the initial one, then the latest `$ORIGIN`.
    public private(set) var origin: Name?
    /// The current `$TTL`, if any.
    public private(set) var defaultTTL: UInt32?
    /// The TTL of the last record read, used when there is no `$TTL`.
    public private(set) var lastTTL: UInt32?
    /// The owner of the last entry, for lines that start with a blank.
    public private(set) var previousOwner: Name?
    var lexer: ZoneLexer

    /// Reads `text`; `origin` and `defaultTTL` act as an initial `$ORIGIN` and `$TTL`.
    public init(_ text: String, fileName: String = "<zone>", origin: Name? = nil, defaultTTL: UInt32? = nil) {
        self.init(bytes: Array(text.utf8), fileName: fileName, origin: origin, defaultTTL: defaultTTL)
    }

    /// Reads raw bytes: names and strings keep bytes that are not UTF-8 as they are. A UTF-8
    /// byte order mark at the start is skipped.
    public init(bytes: [UInt8], fileName: String = "<zone>", origin: Name? = nil, defaultTTL: UInt32? = nil) {
        self.lexer = ZoneLexer(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { lexer.pos = 3 }
        self.fileName = fileName
        self.origin = origin
        self.defaultTTL = defaultTTL
    }

    /// The next record or error; nil at the end of the file.
    public mutating func next() -> Element? {
        while let lexed = lexer.next() {
            let entry: ZoneEntry
            switch lexed {
            case .failure(let f):
                return .failure(ZoneFileError(fileName: fileName, line: f.line, error: f.error))
            case .success(let e):
                entry = e
            }
            let file = fileName
            let fail = { (error: DNSWireError) in ZoneFileError(fileName: file, line: entry.line, error: error) }
            if !entry.ownerOmitted, let first = entry.tokens.first, !first.quoted, first.text.first == UInt8(ascii: "$") {
                do {
                    try directive(entry)
                } catch {
                    return .failure(fail(error))
                }
                continue
            }
            var owner: Name? = nil
            do {
                let (record, explicit) = try ResourceRecord.parse(
                    entry, origin: origin, defaultTTL: defaultTTL ?? lastTTL, previousOwner: previousOwner, owner: &owner)
                if explicit { lastTTL = record.ttl }
                previousOwner = record.name
                return .success(ZoneFileRecord(record: record, line: entry.line))
            } catch {
                if let owner { previousOwner = owner }
                return .failure(fail(error))
            }
        }
        return nil
    }

    mutating func directive(_ entry: ZoneEntry) throws(DNSWireError) {
        let tokens = entry.tokens
        let word = String(decoding: tokens[0].text, as: UTF8.self).uppercased()
        switch word {
        case "$ORIGIN":
            guard tokens.count == 2 else { throw ZoneText.error("$ORIGIN takes one name") }
            origin = try ZoneText.name(tokens[1], origin: origin, field: "$ORIGIN")
        case "$TTL":
            guard tokens.count == 2 else { throw ZoneText.error("$TTL takes one TTL") }
            guard let v = ZoneText.ttl(tokens[1].text) else {
                throw ZoneText.error("$TTL: \(ZoneText.show(tokens[1].text)) is not a TTL in 0...4294967295 seconds")
            }
            defaultTTL = v
        case "$INCLUDE":
            throw ZoneText.error("$INCLUDE is not supported: a zone is read from one file only")
        case "$GENERATE":
            throw ZoneText.error("$GENERATE is not supported")
        default:
            throw ZoneText.error("unknown directive \(ZoneText.show(tokens[0].text))")
        }
    }

    /// Reads everything: the good records in order and the errors of the bad entries.
    public static func read(
        _ text: String, fileName: String = "<zone>", origin: Name? = nil, defaultTTL: UInt32? = nil
    ) -> (records: [ZoneFileRecord], errors: [ZoneFileError]) {
        var records: [ZoneFileRecord] = []
        var errors: [ZoneFileError] = []
        for entry in ZoneFileReader(text, fileName: fileName, origin: origin, defaultTTL: defaultTTL) {
            switch entry {
            case .success(let r): records.append(r)
            case .failure(let e): errors.append(e)
            }
        }
        return (records, errors)
    }
}
