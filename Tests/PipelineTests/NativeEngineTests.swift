import DNSTestSupport
import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Resolver
import Testing

@testable import Pipeline

/// The native UDP data plane wired as `DNSServer` wires it (two loops; per loop a DNSProcessor
/// whose resolver replicates into the engine thread's ReplicaCache, an EngineProcessor on the
/// thread, TCP sharded by name), on loopback with a fake upstream: one cache entry and one
/// upstream query per name, whichever source port, thread or transport a query comes from.
@Suite(.timeLimit(.minutes(1)))
struct NativeEngineTests {
    typealias P = TestPackets

    final class Server {
        let port: UInt16
        let engine: NativeUDPEngine
        let tcp: any Channel
        let processors: [NIOLoopBound<DNSProcessor>]
        let engines: [EngineProcessor]
        let replicas: [ReplicaCache]

        init(
            port: UInt16, engine: NativeUDPEngine, tcp: any Channel, processors: [NIOLoopBound<DNSProcessor>], engines: [EngineProcessor],
            replicas: [ReplicaCache]
        ) {
            self.port = port
            self.engine = engine
            self.tcp = tcp
            self.processors = processors
            self.engines = engines
            self.replicas = replicas
        }

        var stopped = false

        /// Stops the engine's threads (once: joining a thread twice is undefined).
        func stopReading() {
            guard !stopped else { return }
            stopped = true
            engine.stopReading()
        }

        func owner(_ query: [UInt8]) -> Int { QueryShard.owner(of: ByteBuffer(bytes: query), loops: 2) }

        func loopStats(_ i: Int) async throws -> PipelineStats {
            let p = processors[i]
            return try await p.eventLoop.submit { p.value.stats.stats }.get()
        }
    }

    static func withServer(upstream: SocketAddress, _ body: (Server) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let logger = Logger(label: "native-engine-test") { _ in SwiftLogNoOpLogHandler() }
        var processors: [NIOLoopBound<DNSProcessor>] = []
        var engines: [EngineProcessor] = []
        var replicas: [ReplicaCache] = []
        var byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>] = [:]
        for loop in group.makeIterator() {
            let replica = ReplicaCache(config: CacheConfig())
            let bound = try await loop.submit {
                let stats = StatsBox()
                var config = ForwarderConfig()
                config.attemptTimeout = .milliseconds(300)
                let forwarder = Forwarder(upstreams: [upstream], config: config, loop: loop)
                let resolver = CachingResolver(cache: ResponseCache(config: CacheConfig()), forwarder: forwarder, loop: loop)
                resolver.replicate = { replica.push($0) }
                let chain = QueryChain.build(
                    .init(acl: AccessList(allow: AccessList.defaultAllow), resolver: resolver, stats: stats, maxUDPSize: 1232))
                return NIOLoopBound(
                    DNSProcessor(chain: chain, resolver: resolver, stats: stats, loop: loop, maxTCPConnections: 10), eventLoop: loop)
            }.get()
            processors.append(bound)
            replicas.append(replica)
            let stats = StatsBox()
            let chain = QueryChain.build(
                .init(acl: AccessList(allow: AccessList.defaultAllow), resolution: .handoff(replica), stats: stats, maxUDPSize: 1232))
            engines.append(EngineProcessor(chain: chain, replica: replica, stats: stats, loopProcessor: bound))
            byLoop[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound<any QueryProcessor>(bound.value, eventLoop: loop) }
                .get()
        }
        for (i, p) in processors.enumerated() {
            let all = processors
            try await p.eventLoop.submit { p.value.shard = (i, all) }.get()
        }
        let registry = ProcessorRegistry(byLoop: byLoop)

        var server: Server? = nil
        var lastError: (any Error)? = nil
        for _ in 0..<5 where server == nil {
            var engine: NativeUDPEngine? = nil
            do {
                let port = try freeLoopbackUDPPort()
                let address = try SocketAddress(ipAddress: "127.0.0.1", port: Int(port))
                let all = engines
                engine = try NativeUDPEngine(addresses: [(address, 0)], group: group, registry: registry, logger: logger) { i, _ in all[i] }
                let tcp = try await TCPListener.bind(address: address, listener: 0, group: group, registry: registry, logger: logger)
                server = Server(port: port, engine: engine!, tcp: tcp, processors: processors, engines: engines, replicas: replicas)
            } catch {
                engine?.stopReading()
                engine?.close()
                lastError = error
            }
        }
        guard let s = server else {
            try? await group.shutdownGracefully()
            throw lastError ?? LoopbackSocketError("cannot start the server")
        }
        var failure: (any Error)? = nil
        do {
            try await body(s)
        } catch {
            failure = error
        }
        s.stopReading()
        s.engine.close()
        try? await s.tcp.close()
        try await group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// Two names of each loop.
    static let names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"].map { "\($0).native.test" }

    static func answering(_ q: Message) -> FakeUpstream.Reply {
        let name = q.questions.first.map { "\($0.name)" } ?? "."
        return .answer(P.answer(to: q, answers: [P.a(name, "192.0.2.53", ttl: 300)]))
    }

    static func upstreamQueries(_ fake: FakeUpstream, for name: String) -> Int {
        fake.received.filter { $0.message.questions.first?.name == P.name(name) }.count
    }

    @Test func oneUpstreamQueryPerNameWhateverTheSourcePortOrTransport() async throws {
        try await withFakeUpstream(Self.answering) { fake in
            try await Self.withServer(upstream: fake.address) { s in
                let clients = try (0..<20).map { _ in try UDPClientSocket() }
                var handoffs = [0, 0]
                var owned = [0, 0]
                for name in Self.names {
                    let owner = s.owner(P.query(name))
                    owned[owner] += 1
                    handoffs[owner] += 1
                    for (k, c) in clients.enumerated() {
                        // Mixed case: the cache key folds it, the answer echoes it.
                        let spelling = k % 2 == 0 ? name : name.uppercased()
                        let id = UInt16(k + 1)
                        let reply = try #require(try c.exchange(P.query(spelling, id: id, edns: EDNS()), port: s.port), "\(name) #\(k)")
                        #expect(reply.fromPort == s.port)
                        let m = try Message(parsing: reply.bytes)
                        #expect(m.header.id == id)
                        #expect(m.rcode == .noError)
                        #expect(m.questions.map(\.name.wire) == [P.name(spelling).wire])
                        #expect(m.answers.map(\.rdata) == [P.a(name, "192.0.2.53").rdata])
                        #expect(m.answers.allSatisfy { $0.ttl <= 300 && $0.ttl >= 298 })
                    }
                    #expect(Self.upstreamQueries(fake, for: name) == 1, "\(name): one upstream query for 20 clients")

                    // Over TCP, whichever loop accepts the connection: the owner's entry answers.
                    let tcp = try TCPClientSocket(port: s.port)
                    let answer = try #require(try tcp.exchange(P.query(name, id: 0x7CD)))
                    #expect(try Message(parsing: answer).answers.count == 1)
                    #expect(Self.upstreamQueries(fake, for: name) == 1, "\(name): TCP reused the UDP entry")
                }
                #expect(owned[0] > 0 && owned[1] > 0, "the names should cover both loops: \(owned)")

                // Per loop: one miss per owned name (the handed-off first query), the TCP ones hits.
                for i in 0..<2 {
                    let stats = try await s.loopStats(i)
                    #expect(stats.cacheMisses == UInt64(owned[i]))
                    #expect(stats.cacheHits == UInt64(owned[i]))
                }
                // Per engine thread (read after the threads are joined): the other 19 queries of
                // each owned name were answered from the replica.
                s.stopReading()
                for i in 0..<2 {
                    let st = s.engines[i].stats.stats
                    #expect(st.handoffs == UInt64(handoffs[i]))
                    #expect(st.cacheHits == UInt64(19 * owned[i]))
                    #expect(st.dropped == 0, "BUG: stopReading is processed as an empty datagram and counted as dropped")
                    #expect(s.replicas[i].entries == owned[i], "replica \(i) holds exactly its loop's names")
                }
            }
        }
    }

    @Test func prefetchOnTheEngineThreadRefreshesTheReplicaThroughTheLoop() async throws {
        try await withFakeUpstream(Self.answering) { fake in
            try await Self.withServer(upstream: fake.address) { s in
                let name = "prefetch.native.test"
                let query = P.query(name, id: 1)
                let owner = s.owner(query)
                // The replica (only) holds an entry with 20 of 300 s left, as if stored by the loop.
                let clock = ManualClock.system(offsetSeconds: -280)
                let source = ResponseCache(config: CacheConfig(), clock: clock)
                let key = CacheKey(Question(name: P.name(name), type: .a), dnssecOK: false)
                source.insert(key, response: P.answer(name, answers: [P.a(name, "192.0.2.1", ttl: 300)]))
                s.replicas[owner].push(.store(try #require(source.replicaRecord(key))))

                let c = try UDPClientSocket()
                // Two hits make it popular: answered from the replica with the old address.
                for id in [UInt16(1), 2] {
                    let reply = try #require(try c.exchange(P.query(name, id: id), port: s.port))
                    let m = try Message(parsing: reply.bytes)
                    #expect(m.answers.map(\.rdata) == [P.a(name, "192.0.2.1").rdata])
                    #expect(m.answers.allSatisfy { $0.ttl <= 20 })
                }
                // The second hit asked the loop to refresh it: upstream once, then the replica has the new entry.
                var refreshed: Message? = nil
                let deadline = NIODeadline.now() + .seconds(1)
                var id: UInt16 = 10
                while refreshed == nil && NIODeadline.now() < deadline {
                    id += 1
                    let reply = try #require(try c.exchange(P.query(name, id: id), port: s.port))
                    let m = try Message(parsing: reply.bytes)
                    #expect(m.header.id == id)
                    if m.answers.map(\.rdata) == [P.a(name, "192.0.2.53").rdata] { refreshed = m } else { usleep(5000) }
                }
                let m = try #require(refreshed, "the prefetched answer never reached the replica")
                #expect(m.answers.allSatisfy { $0.ttl >= 298 })
                #expect(Self.upstreamQueries(fake, for: name) == 1)
                s.stopReading()
                #expect(s.engines[owner].stats.stats.handoffs == 0, "every query was answered on the engine thread")
            }
        }
    }
}
