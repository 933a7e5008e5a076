import DNSWire
import NIOCore

/// Cache in front of the forwarder, for one event loop: identical in-flight questions share one
/// upstream query, popular entries are refreshed before they expire, and when the upstreams fail
/// an expired entry is served stale (RFC 8767).
public final class CachingResolver {
    public let cache: ResponseCache
    public let forwarder: Forwarder
    public let loop: any EventLoop
    var inFlight: [CacheKey: EventLoopFuture<CachedAnswer>] = [:]
    public private(set) var coalesced: UInt64 = 0
    public private(set) var prefetches: UInt64 = 0
    public private(set) var staleServed: UInt64 = 0
    /// Told of every entry stored and every stale hold, so replicas (the native UDP engine's
    /// caches) can follow. Called on this loop.
    public var replicate: ((ReplicaEvent) -> Void)?

    public enum ReplicaEvent: Sendable {
        case store(ResponseCache.ReplicaRecord)
        case holdStale(CacheKey, until: UInt64)
        /// A refresh the replica asked for failed: it may ask again.
        case prefetchFailed(CacheKey)
    }

    public init(cache: ResponseCache, forwarder: Forwarder, loop: any EventLoop) {
        self.cache = cache
        self.forwarder = forwarder
        self.loop = loop
    }

    /// Looks in the cache; starts a prefetch when a popular entry is near expiry.
    public func cached(_ key: CacheKey, question: Question, checkingDisabled: Bool) -> CachedAnswer? {
        cache.answer(
            key, question: question, refresh: { prefetch($0, $1, checkingDisabled: checkingDisabled) },
            staleHeld: { staleServed += 1 })
    }

    /// The hot path: the cache lookup of a scanned query, without allocating on a hit. `slot`:
    /// the cache's `slot(_:packet:)` for this query (nil: not cached).
    public func cached(_ scan: QueryScan, packet: UnsafeRawBufferPointer, slot: Int?, checkingDisabled: Bool) -> CachedAnswer? {
        cache.answer(
            scan, packet: packet, slot: slot, refresh: { prefetch($0, $1, checkingDisabled: checkingDisabled) },
            staleHeld: { staleServed += 1 })
    }

    /// Refreshes a popular entry before it expires.
    func prefetch(_ key: CacheKey, _ question: Question, checkingDisabled: Bool) {
        prefetches += 1
        let me = NIOLoopBound(self, eventLoop: loop)
        resolve(key, question: question, checkingDisabled: checkingDisabled).whenFailure { _ in
            me.value.cache.prefetchFailed(key)
        }
    }

    /// Resolves upstream (sharing an identical in-flight query), caches the answer, and falls
    /// back to a stale entry when the upstreams fail.
    public func resolve(_ key: CacheKey, question: Question, checkingDisabled: Bool) -> EventLoopFuture<CachedAnswer> {
        if let pending = inFlight[key] {
            coalesced += 1
            return pending
        }
        let me = NIOLoopBound(self, eventLoop: loop)
        let future = forwarder.resolve(question, dnssecOK: key.dnssecOK, checkingDisabled: checkingDisabled, subnet: key.subnet)
            .flatMapResult { message -> Result<CachedAnswer, any Error> in
                let this = me.value
                if let stored = this.cache.insert(key, response: message) {
                    if let replicate = this.replicate, let record = this.cache.replicaRecord(key) {
                        replicate(.store(record))
                    }
                    return .success(stored)
                }
                // Not cacheable (e.g. NXDOMAIN without SOA): pass it on as it came.
                var m = message
                m.header.id = 0
                m.edns = nil
                do {
                    return .success(CachedAnswer(wire: try m.encode(), rcode: message.rcode))
                } catch {
                    return .failure(error)
                }
            }
            .flatMapError { error -> EventLoopFuture<CachedAnswer> in
                let this = me.value
                if let stale = this.cache.stale(key) {
                    this.staleServed += 1
                    this.replicate?(.holdStale(key, until: this.cache.lastStaleHold))
                    return this.loop.makeSucceededFuture(stale)
                }
                return this.loop.makeFailedFuture(error)
            }
        inFlight[key] = future
        future.whenComplete { _ in me.value.inFlight[key] = nil }
        return future
    }
}
