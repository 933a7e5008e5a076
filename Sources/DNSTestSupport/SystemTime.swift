import Resolver

extension ManualClock {
    /// A manual clock that starts at the system's monotonic clock (`SystemClock`, whole seconds)
    /// plus `offsetSeconds`. Caches that cannot take a clock (`ResponseCache(config:)`, the
    /// native UDP engine's replica) age entries by `SystemClock`; entries stamped with this clock
    /// age against them as if stored `-offsetSeconds` seconds ago.
    public static func system(offsetSeconds: Int64 = 0) -> ManualClock {
        let now = Int64(SystemClock().nanoseconds() / 1_000_000_000)
        return ManualClock(seconds: UInt64(max(0, now + offsetSeconds)))
    }
}

/// The system's monotonic clock in whole seconds, as `ResponseCache` sees it with `SystemClock`.
public func systemSeconds() -> UInt64 { SystemClock().nanoseconds() / 1_000_000_000 }
