import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Pipeline
import Policy
import Resolver
import ServiceLifecycle

/// Snapshot of one event loop's counters, taken on that loop.
public struct LoopSnapshot: Sendable {
    public var pipeline: PipelineStats
    public var upstream: UpstreamStats
    public var upstreams: [UpstreamState]
    public var cacheEntries: Int
    public var cacheBytes: Int
    public var cacheEvictions: UInt64
    public var prefetches: UInt64
    public var coalesced: UInt64
    public var upstreamInFlight: Int
}

/// The DNS data plane: one processor (chain, cache, forwarder) per event loop, UDP and TCP
/// listeners on every listen address. Drains on graceful shutdown.
public final class DNSServer: Service, Sendable {
    public let settings: Settings
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let processors: [NIOLoopBound<DNSProcessor>]
    let registry: ProcessorRegistry
    /// Native UDP engine processors, one per loop (handed to the engine's threads at start).
    let engineProcessors: EngineProcessors
    /// Open connections per client, shared by TCP, DoT and DoH (the query-rate limiter lives in
    /// every chain's RateLimit stage).
    public let connectionLimiter: ClientConnectionLimiter?

    final class EngineProcessors: @unchecked Sendable {
        let all: [EngineProcessor]
        init(_ all: [EngineProcessor]) { self.all = all }
    }

    public init(settings: Settings, policy: PolicyEngine? = nil, logger: Logger) async throws {
        let policy = policy ?? PolicyEngine(snapshot: .empty, profiles: settings.policy.profiles, config: settings.policy.config)
        let listenerProfiles = settings.listenerProfiles
        let defaultProfile = settings.policy.defaultProfile
        let tenantOnly = settings.tenantOnlyListeners
        @Sendable func box() -> PolicyBox {
            PolicyBox(engine: policy, listenerProfiles: listenerProfiles, defaultProfile: defaultProfile, tenantOnly: tenantOnly, logger: logger)
        }
        self.settings = settings
        let rateLimiter = settings.rateLimit.map(ClientRateLimiter.init)
        let exempt = AccessList(allow: settings.connectionExempt)
        self.connectionLimiter =
            settings.connectionsPerClient > 0
            ? ClientConnectionLimiter(limit: settings.connectionsPerClient, exempt: { settings.connectionExempt.isEmpty ? false : exempt.allows($0) }) : nil
        @Sendable func limited(_ parts: QueryChain.Parts) -> QueryChain.Parts {
            var p = parts
            p.rateLimiter = rateLimiter
            p.slip = settings.slip
            return p
        }
        self.logger = logger
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        self.group = group
        var processors: [NIOLoopBound<DNSProcessor>] = []
        var byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>] = [:]
        var engines: [EngineProcessor] = []
        for loop in group.makeIterator() {
            let replica = settings.udpEngine == .native ? ReplicaCache(config: Self.perLoopCache(settings)) : nil
            let bound = try await loop.submit {
                let stats = StatsBox()
                let cache = ResponseCache(config: Self.perLoopCache(settings))
                let forwarder = Forwarder(servers: settings.upstreams, config: settings.forwarder, loop: loop, logger: logger)
                let resolver = CachingResolver(cache: cache, forwarder: forwarder, loop: loop)
                if let replica { resolver.replicate = { replica.push($0) } }
                let chain = QueryChain.build(
                    limited(
                        .init(
                            acl: AccessList(allow: settings.allow), resolver: resolver, stats: stats, maxUDPSize: settings.maxUDPSize, policy: box(),
                            designatedResolvers: settings.designatedResolvers)))
                let p = DNSProcessor(
                    chain: chain, resolver: resolver, stats: stats, loop: loop,
                    maxTCPConnections: max(1, settings.maxTCPConnections / settings.threads))
                return NIOLoopBound(p, eventLoop: loop)
            }.get()
            processors.append(bound)
            if let replica {
                let stats = StatsBox()
                let chain = QueryChain.build(
                    limited(
                        .init(
                            acl: AccessList(allow: settings.allow), resolution: .handoff(replica), stats: stats, maxUDPSize: settings.maxUDPSize,
                            policy: box(), designatedResolvers: settings.designatedResolvers)))
                engines.append(EngineProcessor(chain: chain, replica: replica, stats: stats, loopProcessor: bound))
            }
            let erased = try await loop.submit { NIOLoopBound<any QueryProcessor>(bound.value, eventLoop: loop) }.get()
            byLoop[ObjectIdentifier(loop)] = erased
        }
        // TCP queries follow the same name → loop partition as native UDP.
        if settings.udpEngine == .native && processors.count > 1 {
            for (i, p) in processors.enumerated() {
                let all = processors
                try await p.eventLoop.submit { p.value.shard = (i, all) }.get()
            }
        }
        self.processors = processors
        self.registry = ProcessorRegistry(byLoop: byLoop)
        self.engineProcessors = EngineProcessors(engines)
    }

    /// Hands a new policy engine to every event loop and native UDP thread; each swaps its
    /// reference between queries (no query waits, none sees half a policy).
    public func publish(_ engine: PolicyEngine) {
        for p in processors {
            p.eventLoop.execute { p.value.chain.policy.engine = engine }
        }
        for e in engineProcessors.all { e.policyMailbox.publish(engine) }
    }

    /// Each loop has its own cache (no locks); the memory bound is split between them.
    static func perLoopCache(_ s: Settings) -> CacheConfig {
        var c = s.cache
        c.maxBytes = max(1 << 16, c.maxBytes / s.threads)
        return c
    }

    public func run() async throws {
        var udp: [any Channel] = []
        var tcp: [any Channel] = []
        var engine: NativeUDPEngine? = nil
        var tls: TLSIdentity? = nil
        let connections = try await TCPConnections(group: group)
        do {
            if settings.udpEngine == .native {
                let engines = engineProcessors
                engine = try NativeUDPEngine(
                    addresses: settings.listen.enumerated().map { ($1, $0) }, group: group, registry: registry, logger: logger,
                    makeProcessor: { i, _ in engines.all[i] })
            }
            for (i, address) in settings.listen.enumerated() {
                if settings.udpEngine == .nio {
                    udp += try await UDPListener.bind(
                        address: address, listener: i, group: group, registry: registry, logger: logger)
                }
                tcp.append(
                    try await TCPListener.bind(
                        address: address, listener: i, group: group, registry: registry, limits: settings.tcp,
                        connections: connections, perClient: connectionLimiter, logger: logger))
                logger.info("listening", metadata: ["address": "\(address)", "transports": "udp,tcp"])
            }
            if let dot = settings.dot {
                let identity: TLSIdentity
                do {
                    identity = try TLSIdentity(certificate: dot.certificate, privateKey: dot.privateKey)
                } catch {
                    throw AppError(.startup, "dot: \(error)")
                }
                tls = identity
                // DoT listeners come after the plain ones: their listener numbers (profiles) follow.
                for (k, address) in dot.listen.enumerated() {
                    tcp.append(
                        try await TCPListener.bind(
                            address: address, listener: settings.listen.count + k, group: group, registry: registry, limits: settings.tcp,
                            connections: connections, tls: identity, tenantDomain: dot.tenantDomain, perClient: connectionLimiter, logger: logger))
                    logger.info("listening", metadata: ["address": "\(address)", "transports": "dot"])
                }
            }
        } catch {
            engine?.stopReading()
            engine?.close()
            for c in udp + tcp { try? await c.close() }
            try? await group.shutdownGracefully()
            throw AppError(.startup, "\(error)")
        }
        logger.info(
            "serving",
            metadata: [
                "upstreams": "\(settings.upstreams.map { "\($0)" }.joined(separator: ","))",
                "threads": "\(settings.threads)",
                "udp-engine": "\(settings.udpEngine)",
            ])

        // Wait for SIGTERM/SIGINT (graceful shutdown of the service group); meanwhile a renewed
        // DoT certificate is taken up by new connections (open ones keep theirs).
        if let tls {
            let logger = self.logger
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(2))
                    do {
                        if try tls.reloadIfChanged() { logger.info("dot certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"]) }
                    } catch {
                        logger.error("dot certificate not reloaded; the previous one stays in use", metadata: ["error": "\(error)"])
                    }
                }
            }
        } else {
            try? await gracefulShutdown()
        }

        // Drain: stop accepting, let in-flight queries finish, then close.
        logger.info("draining")
        for c in tcp { try? await c.close() }
        await connections.quiesce()
        for c in udp { try? await c.setOption(.autoRead, value: false).get() }
        engine?.stopReading()
        let deadline = NIODeadline.now() + settings.drainTimeout
        while NIODeadline.now() < deadline {
            let busy = (try? await snapshots().reduce(0) { $0 + $1.upstreamInFlight + $1.pipeline.tcpConnections }) ?? 0
            if busy == 0 { break }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        for c in udp { try? await c.close() }
        engine?.close()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Answers one query that came in another way (DNS over HTTPS): on an event loop's chain,
    /// as TCP and DoT queries are; nil when the chain drops it.
    public func answer(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int, identity: String? = nil) async -> ByteBuffer? {
        let loop = group.next()
        let registry = self.registry
        guard
            let reply = try? await loop.submit({
                registry.processor(for: loop).process(query, client: client, transport: transport, listener: listener, identity: identity)
            }).get()
        else { return nil }
        switch reply {
        case .now(let b): return b
        case .later(let f): return (try? await f.get()) ?? nil
        case .drop: return nil
        }
    }

    /// Counters of every loop, each read on its own loop.
    /// Every thread's blocks by rule since the last call.
    public func drainHits() async -> [HitRecord] {
        var out: [HitRecord] = []
        for p in processors {
            if let h = try? await p.eventLoop.submit({ p.value.stats.drainHits() }).get() { out += h }
        }
        for e in engineProcessors.all {
            out += e.publishedHits.withLock { h in
                let x = h
                h.removeAll()
                return x
            }
        }
        return out
    }

    /// Every thread's logged queries (tenants with `log-queries`) since the last call.
    public func drainQueryLog() async -> [QueryLogRecord] {
        var out: [QueryLogRecord] = []
        for p in processors {
            if let q = try? await p.eventLoop.submit({ p.value.stats.drainQueryLog() }).get() { out += q }
        }
        for e in engineProcessors.all {
            out += e.publishedQueries.withLock { q in
                let x = q
                q.removeAll()
                return x
            }
        }
        return out
    }

    public func snapshots() async throws -> [LoopSnapshot] {
        var out: [LoopSnapshot] = []
        for p in processors {
            let snap = try await p.eventLoop.submit {
                let proc = p.value
                let r = proc.resolver
                return LoopSnapshot(
                    pipeline: proc.stats.stats, upstream: r.forwarder.stats, upstreams: r.forwarder.upstreamsNow,
                    cacheEntries: r.cache.count, cacheBytes: r.cache.bytes, cacheEvictions: r.cache.evictions,
                    prefetches: r.prefetches, coalesced: r.coalesced, upstreamInFlight: r.forwarder.inFlightCount)
            }.get()
            out.append(snap)
        }
        // Engine threads publish their counters after every batch; add them to their loop's.
        for (i, e) in engineProcessors.all.enumerated() where i < out.count {
            out[i].pipeline = out[i].pipeline + e.published.withLock { $0 }
        }
        return out
    }
}
