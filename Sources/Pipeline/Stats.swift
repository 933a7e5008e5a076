import DNSTransport
import DNSWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

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
    /// Queries refused because the client named an unknown tenant or is nobody's on a
    /// tenant-only listener.
    public var refusedTenant: UInt64 = 0
    /// Queries over their client's rate limit, and of those the UDP ones answered truncated.
    public var rateLimited: UInt64 = 0
    public var rateLimitSlipped: UInt64 = 0
    /// Blocks by the deciding rule's first category (index = `Category.rawValue`).
    public var blockedByCategory = [UInt64](repeating: 0, count: 32)
    /// Queries per policy node (public profile or tenant, by index), for per-tenant statistics.
    /// Grows when a node is first seen (the only allocation, once per node).
    public var tenantQueries: [UInt64] = []
    /// Nodes counted since the counters were last published (so that publishing copies those,
    /// not one counter per tenant after every batch); `touchedAll` when there were too many.
    public var touched: [Int32] = []
    public var touchedAll = false
    public init() {}

    @inline(__always)
    public mutating func countTenant(_ node: Int) {
        if node >= tenantQueries.count {
            guard node >= 0 else { return }
            tenantQueries.append(contentsOf: repeatElement(0, count: node + 1 - tenantQueries.count))
            touchedAll = true
        }
        tenantQueries[node] &+= 1
        if !touchedAll && touched.last != Int32(truncatingIfNeeded: node) {
            if touched.count < 64 { touched.append(Int32(truncatingIfNeeded: node)) } else { touchedAll = true }
        }
    }

    /// After publishing: nothing is touched.
    public mutating func clearTouched() {
        if !touched.isEmpty { touched.removeAll(keepingCapacity: true) }
        touchedAll = false
    }

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
        refusedTenant = other.refusedTenant
        rateLimited = other.rateLimited
        rateLimitSlipped = other.rateLimitSlipped
        for i in blockedByCategory.indices { blockedByCategory[i] = other.blockedByCategory[i] }
        if tenantQueries.count != other.tenantQueries.count {
            tenantQueries = other.tenantQueries
            tenantQueries.withUnsafeMutableBufferPointer { _ in }  // its own storage from here on
        } else if other.touchedAll {
            for i in tenantQueries.indices { tenantQueries[i] = other.tenantQueries[i] }
        } else {
            for t in other.touched { tenantQueries[Int(t)] = other.tenantQueries[Int(t)] }
        }
    }

    public static func + (a: PipelineStats, b: PipelineStats) -> PipelineStats {
        var s = a
        for i in s.responses.indices { s.responses[i] += b.responses[i] }
        s.dropped += b.dropped
        s.refusedTenant += b.refusedTenant
        s.rateLimited += b.rateLimited
        s.rateLimitSlipped += b.rateLimitSlipped
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
        if b.tenantQueries.count > s.tenantQueries.count {
            s.tenantQueries.append(contentsOf: repeatElement(0, count: b.tenantQueries.count - s.tenantQueries.count))
        }
        for i in b.tenantQueries.indices { s.tenantQueries[i] &+= b.tenantQueries[i] }
        return s
    }
}

/// Shared, loop-local mutable stats box that stages write into.
public final class StatsBox {
    /// One thread's counters; no re-entrant access, so no dynamic exclusivity checks.
    @exclusivity(unchecked) public var stats = PipelineStats()
    /// Blocks by rule since the last drain (for sightings), in a buffer allocated once: a block
    /// appends without allocating; when it is full, further blocks are only counted.
    @exclusivity(unchecked) public var hits: [HitRecord]
    @exclusivity(unchecked) public var hitsDropped: UInt64 = 0
    public static let hitCapacity = 16_384
    /// Queries of logging tenants since the last drain (bounded; beyond, only counted).
    @exclusivity(unchecked) public var queryLog: [QueryLogRecord] = []
    @exclusivity(unchecked) public var queryLogDropped: UInt64 = 0
    public static let queryLogCapacity = 65_536

    public init() {
        hits = []
        hits.reserveCapacity(Self.hitCapacity)
    }

    /// Keeps the query of `ctx` (a logging tenant's), answered with `rcode`.
    public func recordQuery(_ ctx: QueryContext, rcode: Rcode) {
        guard queryLog.count < Self.queryLogCapacity else {
            queryLogDropped &+= 1
            return
        }
        let name: [UInt8]
        let type: UInt16
        if ctx.scan.outcome == .query {
            name = ctx.packet.withUnsafeReadableBytes { Array($0[12..<ctx.scan.nameEnd]) }
            type = ctx.scan.qtype
        } else if let q = ctx.question {
            name = q.name.wire
            type = q.type.rawValue
        } else {
            name = [0]
            type = 0
        }
        let code = ctx.response?.extendedError?.code
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        queryLog.append(
            QueryLogRecord(
                time: Double(t.tv_sec) + Double(t.tv_nsec) / 1e9, tenant: UInt32(truncatingIfNeeded: ctx.tenant), name: name, type: type,
                rcode: UInt8(truncatingIfNeeded: rcode.rawValue), blocked: code == .blocked || code == .filtered, transport: ctx.transport,
                client: ctx.client))
    }

    /// The logged queries so far; the buffer is emptied.
    public func drainQueryLog() -> [QueryLogRecord] {
        let out = queryLog
        queryLog = []
        return out
    }

    @inline(__always)
    public func recordHit(ruleID: UInt32, list: UInt16, client: ClientAddress, tenant: Int = 0, layer: UInt8 = 0, entry: Int = -1) {
        if hits.count < Self.hitCapacity {
            hits.append(
                HitRecord(
                    ruleID: ruleID, list: list, client: HitRecord.clientKey(client), tenant: UInt32(truncatingIfNeeded: tenant), layer: layer,
                    entry: Int32(truncatingIfNeeded: entry)))
        } else {
            hitsDropped &+= 1
        }
    }

    /// The hits so far; the buffer is emptied (its capacity kept).
    public func drainHits() -> [HitRecord] {
        let out = Array(hits)
        hits.removeAll(keepingCapacity: true)
        return out
    }
}

/// One answered query of a tenant that logs its queries (opt-in). The client's address stays in
/// memory until the writer replaces it with a keyed hash.
public struct QueryLogRecord: Sendable {
    public var time: Double
    public var tenant: UInt32
    /// The query name in wire form, as asked.
    public var name: [UInt8]
    public var type: UInt16
    public var rcode: UInt8
    /// Answered by the policy (EDE 15 Blocked or 17 Filtered).
    public var blocked: Bool
    public var transport: TransportKind
    public var client: ClientAddress

    public init(
        time: Double, tenant: UInt32, name: [UInt8], type: UInt16, rcode: UInt8, blocked: Bool, transport: TransportKind, client: ClientAddress
    ) {
        self.time = time
        self.tenant = tenant
        self.name = name
        self.type = type
        self.rcode = rcode
        self.blocked = blocked
        self.transport = transport
        self.client = client
    }
}

/// One blocked query, for aggregated sightings: the deciding rule and a keyed hash of the
/// client's address (to count distinct clients; the address itself is never kept).
public struct HitRecord: Sendable, Hashable {
    public var ruleID: UInt32
    public var list: UInt16
    public var client: UInt64
    /// The policy node (public profile or tenant) the query was answered for.
    public var tenant: UInt32
    /// Where the deciding rule sits (`PolicyLayer` raw value and entry), to name it later.
    public var layer: UInt8
    public var entry: Int32

    public init(ruleID: UInt32, list: UInt16, client: UInt64, tenant: UInt32 = 0, layer: UInt8 = 0, entry: Int32 = -1) {
        self.ruleID = ruleID
        self.list = list
        self.client = client
        self.tenant = tenant
        self.layer = layer
        self.entry = entry
    }

    /// A per-process random key: the hashes mean nothing outside this process.
    static let key = UInt64.random(in: 1...UInt64.max)

    @inline(__always)
    static func clientKey(_ c: ClientAddress) -> UInt64 {
        var h = key ^ UInt64(c.family)
        h = (h ^ c.high) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ c.low) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 31)
    }
}
