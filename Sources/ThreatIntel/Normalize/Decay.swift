import Foundation

/// MISP's polynomial decaying model (`DecayingModelsFormulas/Polynomial.php`, MISP-RPZ.md
/// §1.8): `score = base · (1 − (t / lifetime)^(1 / decaySpeed))`, floored at 0, where `t`
/// counts from the last sighting, else `last_seen`, else the attribute's timestamp. An
/// indicator is decayed when its score is below the threshold.
public struct DecayModel: Sendable, Hashable {
    /// A label for reports.
    public var name: String
    /// Days until the score reaches 0.
    public var lifetimeDays: Double
    /// How fast the score falls early on (higher: faster at first).
    public var decaySpeed: Double
    /// Scores below this are decayed.
    public var threshold: Double
    /// The base score when tags give none.
    public var defaultBase: Double

    /// Creates a model.
    public init(name: String = "custom", lifetimeDays: Double, decaySpeed: Double, threshold: Double, defaultBase: Double) {
        self.name = name
        self.lifetimeDays = lifetimeDays
        self.decaySpeed = decaySpeed
        self.threshold = threshold
        self.defaultBase = defaultBase
    }

    /// MISP's "NIDS Simple Decaying Model": 120 days, speed 2, threshold 30, base 80.
    public static let nidsSimple = DecayModel(name: "NIDS Simple Decaying Model", lifetimeDays: 120, decaySpeed: 2, threshold: 30, defaultBase: 80)

    /// MISP's "Phishing model": 3 days, speed 2.3, threshold 30. Its base normally comes from
    /// tags; 80 (as for NIDS Simple) is assumed when none do.
    public static let phishing = DecayModel(name: "Phishing model", lifetimeDays: 3, decaySpeed: 2.3, threshold: 30, defaultBase: 80)

    private var lifetime: TimeInterval { lifetimeDays * 86400 }

    /// The score after `elapsed` seconds: `base` at 0 (and before), 0 at and after the
    /// lifetime.
    public func score(base: Double, elapsed: TimeInterval) -> Double {
        guard elapsed > 0 else { return base }
        guard lifetime > 0, decaySpeed > 0, elapsed < lifetime else { return 0 }
        return max(0, base * (1 - pow(elapsed / lifetime, 1 / decaySpeed)))
    }

    /// True when the score after `elapsed` seconds is below the threshold.
    public func isDecayed(base: Double, elapsed: TimeInterval) -> Bool {
        score(base: base, elapsed: elapsed) < threshold
    }

    /// When the score falls to the threshold, counting from `from`:
    /// `t = lifetime · (1 − threshold / base)^decaySpeed`. `from` itself when the base is at or
    /// below the threshold; `Date.distantFuture` when the threshold is 0 or less (the score
    /// never goes below it).
    public func expiry(from: Date, base: Double) -> Date {
        guard threshold > 0 else { return .distantFuture }
        guard base > threshold, lifetime > 0, decaySpeed > 0 else { return from }
        let t = lifetime * pow(1 - threshold / base, decaySpeed)
        return from.addingTimeInterval(t)
    }
}
