import DNSTransport
import DNSWire

/// Counters of one event loop's processor. Plain integers: only that loop writes them; the
/// metrics endpoint reads a copy taken on the loop.
public struct PipelineStats: Sendable {
    /// Index: transport × rcode (0…23; anything above counts as 23).
    public static let rcodeSlots = 24
    public var responses = [UInt64](repeating: 0, count: TransportKind.allCases.count * PipelineStats.rcodeSlots)
    public var dropped: UInt64 = 0
    public var cacheHits: UInt64 = 0
    public var cacheMisses: UInt64 = 0
    public var staleAnswers: UInt64 = 0
    public var truncated: UInt64 = 0
    public var tcpConnections: Int = 0
    public var tcpConnectionsRefused: UInt64 = 0
    /// Queries a native UDP engine thread passed to its event loop.
    public var handoffs: UInt64 = 0
    /// Policy: queries blocked by their name, by their answer (CNAME target or address), whose
    /// name an allow rule covered, and audit-only matches.
    public var blockedQName: UInt64 = 0
    public var blockedAnswer: UInt64 = 0
    public var allowed: UInt64 = 0
    public var audited: UInt64 = 0
    /// Blocks by the deciding rule's first category (index = `Category.rawValue`).
    public var blockedByCategory = [UInt64](repeating: 0, count: 32)
    public init() {}

    @inline(__always)
    public mutating func count(_ transport: TransportKind, _ rcode: Rcode) {
        let r = min(Int(rcode.rawValue), Self.rcodeSlots - 1)
        responses[transport.rawValue * Self.rcodeSlots + r] &+= 1
    }

    /// Overwrites every counter with `other`'s, reusing this value's storage.
    public mutating func copyCounters(from other: PipelineStats) {
        for i in responses.indices { responses[i] = other.responses[i] }
        dropped = other.dropped
        cacheHits = other.cacheHits
        cacheMisses = other.cacheMisses
        staleAnswers = other.staleAnswers
        truncated = other.truncated
        tcpConnections = other.tcpConnections
        tcpConnectionsRefused = other.tcpConnectionsRefused
        handoffs = other.handoffs
        blockedQName = other.blockedQName
        blockedAnswer = other.blockedAnswer
        allowed = other.allowed
        audited = other.audited
        for i in blockedByCategory.indices { blockedByCategory[i] = other.blockedByCategory[i] }
    }

    public static func + (a: PipelineStats, b: PipelineStats) -> PipelineStats {
        var s = a
        for i in s.responses.indices { s.responses[i] += b.responses[i] }
        s.dropped += b.dropped
        s.cacheHits += b.cacheHits
        s.cacheMisses += b.cacheMisses
        s.staleAnswers += b.staleAnswers
        s.truncated += b.truncated
        s.tcpConnections += b.tcpConnections
        s.tcpConnectionsRefused += b.tcpConnectionsRefused
        s.handoffs += b.handoffs
        s.blockedQName += b.blockedQName
        s.blockedAnswer += b.blockedAnswer
        s.allowed += b.allowed
        s.audited += b.audited
        for i in s.blockedByCategory.indices { s.blockedByCategory[i] += b.blockedByCategory[i] }
        return s
    }
}

/// Shared, loop-local mutable stats box that stages write into.
public final class StatsBox {
    /// One thread's counters; no re-entrant access, so no dynamic exclusivity checks.
    @exclusivity(unchecked) public var stats = PipelineStats()
    public init() {}
}
