import Foundation

/// What kind of DNS-blockable value an indicator is.
///
/// - `domain`: a name whose whole subtree is meant (MISP `domain`, exported by MISP's RPZ
///   exporter as the apex plus `*.`).
/// - `hostname`: exactly one name (MISP `hostname`, and the host of a `url`).
/// - `ip`: one address (an `rpz-ip` trigger of full length).
/// - `cidr`: an address range.
public enum IntelValueKind: String, Sendable, Hashable, CaseIterable {
    case domain
    case hostname
    case ip
    case cidr
}

/// One normalised DNS indicator value.
///
/// `value` is normalised: names are lowercase ASCII with IDNA A-labels (`xn--…`) and no
/// trailing dot; addresses are canonical text (IPv4 dotted quad, IPv6 per RFC 5952); ranges
/// are `network/length` with the host bits zero.
///
/// `note` records what normalisation changed when that matters to an operator (for example
/// "host bits cleared: 10.1.2.3/8"). It is not part of the value's identity: equality and
/// hashing use `value` and `kind` only.
public struct IntelValue: Sendable, Hashable, CustomStringConvertible {
    /// The normalised text.
    public var value: String
    /// What the text is.
    public var kind: IntelValueKind
    /// What normalisation changed, if anything worth reporting (not part of equality).
    public var note: String?

    /// Wraps an already-normalised value. Use `IntelNormalizer` to build one from raw input.
    public init(value: String, kind: IntelValueKind, note: String? = nil) {
        self.value = value
        self.kind = kind
        self.note = note
    }

    /// `kind:value`, e.g. `hostname:www.example.com`.
    public var description: String { "\(kind.rawValue):\(value)" }

    /// True for `.domain` and `.hostname`.
    public var isName: Bool { kind == .domain || kind == .hostname }

    /// Equal when value and kind are (the note is ignored).
    public static func == (a: IntelValue, b: IntelValue) -> Bool {
        a.value == b.value && a.kind == b.kind
    }

    /// Hashes value and kind (the note is ignored).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(value)
        hasher.combine(kind)
    }
}

/// Why a raw value was not turned into an `IntelValue` (or why a document could not be read).
public struct IntelRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A human-readable reason, naming the offending value or field.
    public var reason: String

    /// Creates a rejection with a reason.
    public init(_ reason: String) { self.reason = reason }

    /// Creates a rejection with a reason.
    public init(reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}
