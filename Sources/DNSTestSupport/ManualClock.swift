import NIOConcurrencyHelpers
import Resolver

/// A `ResolverClock` that only moves when a test moves it. Thread-safe, so a fake upstream's
/// script (on its own event loop) may advance it too, e.g. to give an upstream a measured RTT.
public final class ManualClock: ResolverClock {
    private let now: NIOLockedValueBox<UInt64>

    /// Starts at `seconds` (default 1000 s, so nothing looks like "time zero").
    public init(seconds: UInt64 = 1000) {
        now = NIOLockedValueBox(seconds * 1_000_000_000)
    }

    public func nanoseconds() -> UInt64 { now.withLockedValue { $0 } }

    /// Whole seconds, as the cache sees them.
    public var seconds: UInt64 { nanoseconds() / 1_000_000_000 }

    public func advance(seconds: UInt64) { advance(nanoseconds: seconds * 1_000_000_000) }
    public func advance(milliseconds: UInt64) { advance(nanoseconds: milliseconds * 1_000_000) }
    public func advance(nanoseconds: UInt64) { now.withLockedValue { $0 += nanoseconds } }
}
