/// What a rule protects against. Threat categories are answered with EDE 15 (Blocked), content
/// categories with EDE 17 (Filtered). Up to 32 categories fit a `CategorySet`; new ones are added
/// at the end so stored snapshots keep their meaning.
public enum Category: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case malware = 0
    case phishing
    case botnetC2
    case scam
    case cryptomining
    case newlyObserved
    case adult
    case adsTracking
    case gambling
    case custom

    /// The name used in configuration, explanations and EDE text.
    public var description: String {
        switch self {
        case .malware: "malware"
        case .phishing: "phishing"
        case .botnetC2: "botnet-c2"
        case .scam: "scam"
        case .cryptomining: "cryptomining"
        case .newlyObserved: "newly-observed"
        case .adult: "adult"
        case .adsTracking: "ads-tracking"
        case .gambling: "gambling"
        case .custom: "custom"
        }
    }

    /// Parses a configuration name (also a few common aliases).
    public init?(name: String) {
        let n = name.lowercased()
        switch n {
        case "scam/fraud", "fraud": self = .scam
        case "botnet", "c2", "botnet-cc", "c&c": self = .botnetC2
        case "dga", "newly-registered", "nod": self = .newlyObserved
        case "ads", "tracking", "ads/tracking": self = .adsTracking
        default:
            guard let c = Category.allCases.first(where: { $0.description == n }) else { return nil }
            self = c
        }
    }

    /// Content categories are filtered by choice (EDE 17); the rest are threats (EDE 15).
    public var isContent: Bool { CategorySet.content.contains(CategorySet(self)) }
}

/// A set of categories as a bit mask (bit n = `Category(rawValue: n)`).
public struct CategorySet: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ c: Category) { rawValue = 1 << UInt32(c.rawValue) }
    public init(_ list: [Category]) {
        rawValue = 0
        for c in list { insert(CategorySet(c)) }
    }

    public static let threats = CategorySet([.malware, .phishing, .botnetC2, .scam, .cryptomining, .newlyObserved, .custom])
    public static let adult = CategorySet(.adult)
    public static let ads = CategorySet(.adsTracking)
    public static let all = CategorySet(Category.allCases)

    public var categories: [Category] { Category.allCases.filter { contains(CategorySet($0)) } }
    /// The first (lowest) category in the set.
    public var first: Category? { rawValue == 0 ? nil : Category(rawValue: UInt8(rawValue.trailingZeroBitCount)) }
    /// Adult, ads and gambling: the categories filtered by choice.
    public static let content = CategorySet([.adult, .adsTracking, .gambling])
    /// Every category here is a content category (a mask test: read on every block).
    public var isContentOnly: Bool { !isEmpty && isSubset(of: .content) }
    public var description: String { categories.map(\.description).joined(separator: ",") }
}
