import DNSTestSupport
import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Resolver
import Testing

@testable import Pipeline

/// TCP sharding: with `shard` set (as `DNSServer` does with the native UDP engine), a TCP query is
/// answered by the loop that owns its name (`QueryShard`), so one cache entry serves the name on
/// every loop and transport.
@Suite(.timeLimit(.minutes(1)))
struct TCPShardTests {
    typealias P = TestPackets

    static func record(_ name: String) -> ResourceRecord { P.a(name, "192.0.2.77", ttl: 300) }

    /// Two loops, each with its own processor (cache, forwarder to `upstream`), wired as DNSServer
    /// wires them: `shard = (i, all)` on every loop.
    struct Loops: Sendable {
        let group: MultiThreadedEventLoopGroup
        let loops: [any EventLoop]
        let processors: [NIOLoopBound<DNSProcessor>]

        static func start(upstream: SocketAddress, sharded: Bool) async throws -> Loops {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let loops = Array(group.makeIterator())
            var processors: [NIOLoopBound<DNSProcessor>] = []
            for loop in loops {
                let bound = try await loop.submit {
                    let stats = StatsBox()
                    var config = ForwarderConfig()
                    config.attemptTimeout = .milliseconds(300)
                    let forwarder = Forwarder(upstreams: [upstream], config: config, loop: loop)
                    let resolver = CachingResolver(cache: ResponseCache(config: CacheConfig()), forwarder: forwarder, loop: loop)
                    let chain = QueryChain.build(
                        .init(acl: AccessList(allow: AccessList.defaultAllow), resolver: resolver, stats: stats, maxUDPSize: 1232))
                    return NIOLoopBound(
                        DNSProcessor(chain: chain, resolver: resolver, stats: stats, loop: loop, maxTCPConnections: 10),
                        eventLoop: loop)
                }.get()
                processors.append(bound)
            }
            if sharded {
                for (i, p) in processors.enumerated() {
                    let all = processors
                    try await p.eventLoop.submit { p.value.shard = (i, all) }.get()
                }
            }
            return Loops(group: group, loops: loops, processors: processors)
        }

        /// Runs `body` with started loops, shut down afterwards (also when `body` throws).
        static func with(upstream: SocketAddress, sharded: Bool = true, _ body: (Loops) async throws -> Void) async throws {
            let l = try await start(upstream: upstream, sharded: sharded)
            do {
                try await body(l)
            } catch {
                try? await l.group.shutdownGracefully()
                throw error
            }
            try await l.group.shutdownGracefully()
        }

        enum Reply: Equatable, Sendable {
            case now([UInt8]?)
            case later([UInt8]?)
            case drop

            var bytes: [UInt8]? {
                switch self {
                case .now(let b), .later(let b): b
                case .drop: nil
                }
            }
        }

        /// Hands `query` to loop `i`'s processor, as a listener on that loop would.
        func ask(_ query: [UInt8], on i: Int, over transport: TransportKind = .tcp) async throws -> Reply {
            let p = processors[i]
            let loop = loops[i]
            let client = ClientAddress(v4: 0x7F00_0001, port: 5353)
            return try await loop.flatSubmit { () -> EventLoopFuture<Reply> in
                switch p.value.process(ByteBuffer(bytes: query), client: client, transport: transport, listener: 0) {
                case .now(let b):
                    return loop.makeSucceededFuture(.now(Array(b.readableBytesView)))
                case .drop:
                    return loop.makeSucceededFuture(.drop)
                case .later(let f):
                    return f.map { b in
                        // The answer comes back on the asking loop.
                        loop.preconditionInEventLoop()
                        return .later(b.map { Array($0.readableBytesView) })
                    }
                }
            }.get()
        }

        struct Snapshot: Sendable {
            var stats: PipelineStats
            var entries: Int
        }

        func snapshot(_ i: Int) async throws -> Snapshot {
            let p = processors[i]
            return try await loops[i].submit { Snapshot(stats: p.value.stats.stats, entries: p.value.resolver.cache.count) }.get()
        }
    }

    /// A name owned by loop `owner` (of two).
    static func name(ownedBy owner: Int, prefix: String = "n") -> String {
        for i in 0..<1000 {
            let n = "\(prefix)\(i).shard.test"
            if QueryShard.owner(of: ByteBuffer(bytes: P.query(n)), loops: 2) == owner { return n }
        }
        fatalError("no name for loop \(owner)")
    }

    static func message(_ bytes: [UInt8]?) throws -> Message {
        try Message(parsing: try #require(bytes))
    }

    static let tcpNoError = TransportKind.tcp.rawValue * PipelineStats.rcodeSlots

    @Test(arguments: [0, 1])
    func tcpQueryIsAnsweredByTheOwnerAndCachedThereOnly(_ owner: Int) async throws {
        let other = 1 - owner
        let name = Self.name(ownedBy: owner)
        let answer = Self.record(name)
        try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [answer])) }) { fake in
            try await Loops.with(upstream: fake.address) { l in
                // From the other loop: handed to the owner, answered later.
                let first = try await l.ask(P.query(name, id: 0x1111), on: other)
                guard case .later(let bytes) = first else {
                    Issue.record("expected .later, got \(first)")
                    return
                }
                let m = try Self.message(bytes)
                #expect(m.header.id == 0x1111)
                #expect(m.answers == [answer])
                #expect(fake.totalQueries == 1)

                var o = try await l.snapshot(owner)
                var x = try await l.snapshot(other)
                #expect(o.stats.cacheMisses == 1, "counted on the owner")
                #expect(o.entries == 1)
                #expect(x.stats.cacheMisses == 0)
                #expect(x.stats.cacheHits == 0)
                #expect(x.entries == 0, "the asking loop caches nothing")
                #expect(o.stats.responses[Self.tcpNoError] == 1)
                #expect(x.stats.responses[Self.tcpNoError] == 0)

                // Again from the other loop: a hit on the owner, no upstream query.
                let upper = name.uppercased()
                let second = try await l.ask(P.query(upper, id: 0x2222), on: other)
                guard case .later(let again) = second else {
                    Issue.record("expected .later, got \(second)")
                    return
                }
                let m2 = try Self.message(again)
                #expect(m2.header.id == 0x2222)
                #expect(m2.questions.map(\.name.wire) == [P.name(upper).wire])
                #expect(m2.answers.map(\.rdata) == [answer.rdata])
                o = try await l.snapshot(owner)
                x = try await l.snapshot(other)
                #expect(o.stats.cacheHits == 1)
                #expect(x.stats.cacheHits == 0)
                #expect(fake.totalQueries == 1)

                // On the owner itself: answered at once from its cache.
                let local = try await l.ask(P.query(name, id: 0x3333), on: owner)
                guard case .now(let now) = local else {
                    Issue.record("expected .now, got \(local)")
                    return
                }
                #expect(try Self.message(now).header.id == 0x3333)
                o = try await l.snapshot(owner)
                #expect(o.stats.cacheHits == 2)
                #expect(fake.totalQueries == 1)
            }
        }
    }

    @Test func udpQueriesAreNotReSharded() async throws {
        // UDP reaches the owner already (kernel steering); a processor answers UDP where it gets it.
        let name = Self.name(ownedBy: 1)
        let answer = Self.record(name)
        try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [answer])) }) { fake in
            try await Loops.with(upstream: fake.address) { l in
                let reply = try await l.ask(P.query(name), on: 0, over: .udp)
                guard case .later(let bytes) = reply else {
                    Issue.record("expected .later (upstream), got \(reply)")
                    return
                }
                #expect(try Self.message(bytes).answers.count == 1)
                #expect(try await l.snapshot(0).entries == 1)
                #expect(try await l.snapshot(1).entries == 0)
            }
        }
    }

    @Test func tcpQueriesWithoutANameAreAnsweredByLoopZero() async throws {
        // Garbage has no name to hash (h = 0): it is answered FORMERR, whoever got it.
        try await withFakeUpstream({ q in .answer(P.answer(to: q)) }) { fake in
            try await Loops.with(upstream: fake.address) { l in
                for asking in [0, 1] {
                    let reply = try await l.ask(P.raw(id: 0x0BAD, body: [0x3F, 0x61]), on: asking)
                    let b = try #require(reply.bytes)
                    #expect(P.id(of: b) == 0x0BAD)
                    #expect(P.headerRcode(of: b) == Rcode.formErr.rawValue)
                }
                #expect(fake.totalQueries == 0)
            }
        }
    }

    /// The TCP listener closes the connection on `.drop` (RFC 7766 §6.2.3). A sharded query that
    /// the owner drops (here a response, QR=1) comes back as `.later(nil)` instead, so whether
    /// the connection is closed depends on which loop accepted it.
    @Test func droppedTCPQueriesAreDropsOnEveryLoop() async throws {
        let names = [Self.name(ownedBy: 0, prefix: "resp"), Self.name(ownedBy: 1, prefix: "resp")]
        try await withFakeUpstream({ q in .answer(P.answer(to: q)) }) { fake in
            try await Loops.with(upstream: fake.address) { l in
                for name in names {
                    let response = P.encode(P.answer(to: P.queryMessage(name, id: 0x0E0E)))
                    for asking in [0, 1] {
                        let reply = try await l.ask(response, on: asking)
                        #expect(reply == .drop, "BUG: a response for \(name) asked on loop \(asking): \(reply)")
                    }
                }
                // Runts have no name (owner 0): the same on loop 1.
                let runt: [UInt8] = [0x12, 0x34, 0x01]
                #expect(try await l.ask(runt, on: 0) == .drop)
                #expect(try await l.ask(runt, on: 1) == .drop, "BUG: a runt asked on loop 1")
                #expect(fake.totalQueries == 0)
            }
        }
    }

    @Test func withoutShardingEachLoopAsksOnItsOwn() async throws {
        // The contrast that shows what `shard` is for.
        let name = Self.name(ownedBy: 1)
        let answer = Self.record(name)
        try await withFakeUpstream({ q in .answer(P.answer(to: q, answers: [answer])) }) { fake in
            try await Loops.with(upstream: fake.address, sharded: false) { l in
                _ = try await l.ask(P.query(name), on: 0)
                _ = try await l.ask(P.query(name), on: 1)
                #expect(fake.totalQueries == 2)
                #expect(try await l.snapshot(0).entries == 1)
                #expect(try await l.snapshot(1).entries == 1)
            }
        }
    }

    @Test func realTCPConnectionsOnBothLoopsShareTheOwnersEntry() async throws {
        let names = [Self.name(ownedBy: 0, prefix: "tcp"), Self.name(ownedBy: 1, prefix: "tcp")]
        let script: FakeUpstream.Script = { q in
            .answer(P.answer(to: q, answers: q.questions.map { TCPShardTests.record("\($0.name)") }))
        }
        try await withFakeUpstream(script) { fake in
            try await Loops.with(upstream: fake.address) { l in
                var byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>] = [:]
                for (loop, p) in zip(l.loops, l.processors) {
                    byLoop[ObjectIdentifier(loop)] = try await loop.submit {
                        NIOLoopBound<any QueryProcessor>(p.value, eventLoop: loop)
                    }.get()
                }
                let logger = Logger(label: "tcp-shard-test") { _ in SwiftLogNoOpLogHandler() }
                let listener = try await TCPListener.bind(
                    address: try SocketAddress(ipAddress: "127.0.0.1", port: 0), listener: 0, group: l.group,
                    registry: ProcessorRegistry(byLoop: byLoop), logger: logger)
                let port = UInt16(try #require(listener.localAddress?.port))

                // Connections are spread over the loops: open them until each loop has one.
                var connections: [TCPClientSocket] = []
                var perLoop = [0, 0]
                for _ in 0..<8 where perLoop.contains(0) {
                    let c = try TCPClientSocket(port: port)
                    // A first exchange makes sure the connection is accepted and counted.
                    _ = try c.exchange(P.query("localhost", id: 1))
                    connections.append(c)
                    let zero = try await l.snapshot(0).stats.tcpConnections
                    let one = try await l.snapshot(1).stats.tcpConnections
                    perLoop = [zero, one]
                }
                #expect(!perLoop.contains(0), "connections on both loops: \(perLoop)")

                for (owner, name) in names.enumerated() {
                    let ownerBefore = try await l.snapshot(owner).stats
                    let otherBefore = try await l.snapshot(1 - owner).stats
                    for (k, c) in connections.enumerated() {
                        let id = UInt16(100 + k)
                        let reply = try #require(try c.exchange(P.query(name, id: id)))
                        let m = try Message(parsing: reply)
                        #expect(m.header.id == id)
                        #expect(m.answers.count == 1)
                    }
                    // One upstream query, one miss and the rest hits, all on the owner.
                    let asked = fake.received.filter { $0.message.questions.first?.name == P.name(name) }.count
                    #expect(asked == 1)
                    let o = try await l.snapshot(owner).stats
                    let x = try await l.snapshot(1 - owner).stats
                    let ownerMisses: UInt64 = o.cacheMisses - ownerBefore.cacheMisses
                    let ownerHits: UInt64 = o.cacheHits - ownerBefore.cacheHits
                    let expectedHits = UInt64(connections.count) - 1
                    #expect(ownerMisses == 1)
                    #expect(ownerHits == expectedHits)
                    #expect(x.cacheMisses == otherBefore.cacheMisses)
                    #expect(x.cacheHits == otherBefore.cacheHits)
                }
                let entries0 = try await l.snapshot(0).entries
                let entries1 = try await l.snapshot(1).entries
                #expect(entries0 == 1)
                #expect(entries1 == 1)
                connections.removeAll()
                try await listener.close()
            }
        }
    }
}
