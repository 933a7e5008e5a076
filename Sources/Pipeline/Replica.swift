import DNSTransport
import DNSWire
import NIOCore
import Policy
import Resolver
import Synchronization

/// Where the Cache stage looks: the event loop's `CachingResolver`, or the native UDP engine's
/// replica of it.
public protocol AnswerCache: AnyObject {
    /// The cache itself: for probes (`slot(_:packet:)`) and stamps.
    var cache: ResponseCache { get }
    /// `slot`: what `cache.slot(_:packet:)` found for this query (nil: not cached).
    func cached(_ scan: QueryScan, packet: UnsafeRawBufferPointer, slot: Int?, checkingDisabled: Bool) -> CachedAnswer?
    func cached(_ key: CacheKey, question: Question, checkingDisabled: Bool) -> CachedAnswer?
}

extension CachingResolver: AnswerCache {}

extension AnswerCache {
    /// The lookup of a scanned query, probing the cache itself.
    public func cached(_ scan: QueryScan, packet: UnsafeRawBufferPointer, checkingDisabled: Bool) -> CachedAnswer? {
        cached(scan, packet: packet, slot: cache.slot(scan, packet: packet), checkingDisabled: checkingDisabled)
    }
}

/// The cache of a native UDP engine thread: a copy of its event loop's cache, fed through an
/// inbox that the thread drains at the start of each batch (one atomic load when empty). Only the
/// engine thread reads or writes the cache itself; misses and prefetches go to the loop.
public final class ReplicaCache: AnswerCache, @unchecked Sendable {
    public let cache: ResponseCache
    let clock = BatchClock()
    let inbox = Mutex<[CachingResolver.ReplicaEvent]>([])
    let pending = Atomic<Bool>(false)
    /// Popular entries near expiry, to be refreshed by the loop after this batch.
    @exclusivity(unchecked) var prefetchRequests: [(CacheKey, Question, Bool)] = []

    public init(config: CacheConfig) {
        cache = ResponseCache(config: config, clock: clock)
    }

    /// Any thread (the event loop): queue an update for the engine thread.
    public func push(_ event: CachingResolver.ReplicaEvent) {
        inbox.withLock { $0.append(event) }
        pending.store(true, ordering: .releasing)
    }

    /// Engine thread, at the start of a batch: read the clock, apply queued updates.
    public func drain() {
        clock.tick()
        guard pending.load(ordering: .acquiring) else { return }
        pending.store(false, ordering: .relaxed)
        let events = inbox.withLock { box -> [CachingResolver.ReplicaEvent] in
            let e = box
            box.removeAll(keepingCapacity: true)
            return e
        }
        for e in events {
            switch e {
            case .store(let record): cache.insertReplica(record)
            case .holdStale(let key, let until): cache.holdStale(key, until: until)
            case .prefetchFailed(let key): cache.prefetchFailed(key)
            }
        }
    }

    public var entries: Int { cache.count }
    public var bytes: Int { cache.bytes }

    public func cached(_ scan: QueryScan, packet: UnsafeRawBufferPointer, slot: Int?, checkingDisabled: Bool) -> CachedAnswer? {
        cache.answer(
            scan, packet: packet, slot: slot, refresh: { prefetchRequests.append(($0, $1, checkingDisabled)) }, staleHeld: {})
    }

    public func cached(_ key: CacheKey, question: Question, checkingDisabled: Bool) -> CachedAnswer? {
        cache.answer(key, question: question, refresh: { prefetchRequests.append(($0, $1, checkingDisabled)) }, staleHeld: {})
    }
}

/// Resolve on a native UDP engine thread: the thread does no I/O but its own socket's, so the
/// query goes to the event loop, whose full chain answers it on the same socket.
public final class HandoffStage: QueryStage {
    public let name = "Resolve"
    public init() {}
    public func process(_ ctx: inout QueryContext) -> StageOutcome {
        ctx.response == nil ? .handoff : .next
    }
}

/// The processor of a native UDP engine thread: the same chain (built by `QueryChain.build`), with
/// the replica cache and the handoff in place of the resolver.
public final class EngineProcessor: DatagramProcessor {
    public let chain: QueryChain
    public let replica: ReplicaCache
    public let stats: StatsBox
    let loopProcessor: NIOLoopBound<DNSProcessor>
    @exclusivity(unchecked) var input = ByteBufferAllocator().buffer(capacity: 4096)
    /// Counters for the metrics endpoint, copied from `stats` after every batch.
    public let published = Mutex<PipelineStats>(PipelineStats())
    /// Blocks by rule, moved here after a batch that had any (for sightings).
    public let publishedHits = Mutex<[HitRecord]>([])
    public let publishedQueries = Mutex<[QueryLogRecord]>([])

    /// New policy engines for this thread, taken at the start of a batch.
    public let policyMailbox = PolicyMailbox()
    var policy: PolicyBox { chain.policy }

    public init(chain: QueryChain, replica: ReplicaCache, stats: StatsBox, loopProcessor: NIOLoopBound<DNSProcessor>) {
        self.chain = chain
        self.replica = replica
        self.stats = stats
        self.loopProcessor = loopProcessor
    }

    public func beginBatch() {
        replica.drain()
        if let engine = policyMailbox.take() { policy.engine = engine }
    }

    public func process(_ packet: UnsafeRawBufferPointer, client: ClientAddress, listener: Int, out: inout ByteBuffer) -> DatagramDisposition {
        input.clear()
        input.writeBytes(packet)
        var ctx = QueryContext(packet: input, client: client, transport: .udp, listener: listener)
        switch chain.runSync(&ctx, into: &out) {
        case .answered: return .answer
        case .dropped:
            stats.stats.dropped += 1
            return .drop
        case .handoff:
            stats.stats.handoffs += 1
            return .handoff
        }
    }

    public func idle() { beginBatch() }

    public func endBatch() {
        if !replica.prefetchRequests.isEmpty {
            let requests = replica.prefetchRequests
            replica.prefetchRequests.removeAll(keepingCapacity: true)
            let bound = loopProcessor
            let replica = self.replica
            bound.eventLoop.execute {
                let resolver = bound.value.resolver
                for (key, question, cd) in requests {
                    resolver.resolve(key, question: question, checkingDisabled: cd).whenFailure { _ in
                        replica.push(.prefetchFailed(key))
                    }
                }
            }
        }
        // Publish the counters after every batch (one uncontended lock per batch, not per
        // query), copying element by element so that neither side's array is shared (no
        // copy-on-write allocation on the next count).
        do {
            let s = stats.stats
            published.withLock { p in p.copyCounters(from: s) }
        }
        // After the copy is gone, so that clearing does not copy the shared buffer.
        stats.stats.clearTouched()
        if !stats.hits.isEmpty {
            let box = stats
            publishedHits.withLock { h in
                // Bounded like the thread's own buffer.
                if h.count < StatsBox.hitCapacity * 4 { h.append(contentsOf: box.hits) }
            }
            box.hits.removeAll(keepingCapacity: true)
        }
        if !stats.queryLog.isEmpty {
            let logged = stats.drainQueryLog()
            publishedQueries.withLock { q in
                if q.count < StatsBox.queryLogCapacity * 4 { q.append(contentsOf: logged) }
            }
        }
    }
}
