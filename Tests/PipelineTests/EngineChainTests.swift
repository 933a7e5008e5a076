import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Resolver
import Testing

@testable import Pipeline

/// The chain of a native UDP engine thread: `QueryChain.build` with `.handoff(replica)`, run
/// synchronously (`runSync`), and `EngineProcessor` around it.
struct EngineChainTests {
    typealias P = TestPackets

    static let name = "www.example.test"
    static let record = P.a(name, "192.0.2.1", ttl: 300)
    static let client = ClientAddress(v4: 0x7F00_0001, port: 53001)

    /// An engine thread's chain over a replica holding `name` (stored `age` seconds ago), and a
    /// loop (Harness, on the system's time) holding the same entry.
    final class Engine {
        let replica = ReplicaCache(config: CacheConfig())
        let stats = StatsBox()
        let chain: QueryChain
        let loop: Harness

        init(age: Int64? = 100, allow: [CIDR] = AccessList.defaultAllow) throws {
            chain = QueryChain.build(.init(acl: AccessList(allow: allow), resolution: .handoff(replica), stats: stats, maxUDPSize: 1232))
            loop = Harness(allow: allow, clock: ManualClock.system())
            if let age {
                let clock = ManualClock.system(offsetSeconds: -age)
                let source = ResponseCache(config: CacheConfig(), clock: clock)
                let key = CacheKey(Question(name: P.name(EngineChainTests.name), type: .a), dnssecOK: false)
                try #require(source.insert(key, response: P.answer(EngineChainTests.name, answers: [EngineChainTests.record])) != nil)
                let record = try #require(source.replicaRecord(key))
                replica.push(.store(record))
                replica.drain()
                loop.cache.insertReplica(record)
            }
        }

        func run(_ query: [UInt8], client: ClientAddress = EngineChainTests.client) -> (QueryChain.SyncResult, [UInt8]) {
            var ctx = QueryContext(packet: ByteBuffer(bytes: query), client: client, transport: .udp, listener: 0)
            var out = ByteBufferAllocator().buffer(capacity: 512)
            let result = chain.runSync(&ctx, into: &out)
            return (result, Array(out.readableBytesView))
        }

        /// Runs `query` on the engine and on the loop within one system second (the loop's clock
        /// set to it), so that both age the entry alike.
        func runBoth(_ query: [UInt8]) throws -> (QueryChain.SyncResult, [UInt8], [UInt8]?) {
            for _ in 0..<5 {
                let before = systemSeconds()
                if before > loop.clock.seconds { loop.clock.advance(seconds: before - loop.clock.seconds) }
                replica.drain()  // an engine thread reads the clock at the start of each batch
                let (result, bytes) = run(query)
                let fromLoop = try loop.ask(query)
                if systemSeconds() == before { return (result, bytes, fromLoop) }
            }
            Issue.record("the clock kept crossing second boundaries")
            return (.dropped, [], nil)
        }
    }

    static let stageOrder = [
        "Sanitize", "IdentifyTenant", "RateLimit", "PolicyQName", "LocalData", "Cache", "Resolve", "PolicyAnswer", "Finalize",
    ]

    @Test func engineChainHasTheForwardChainsStagesInItsOrder() throws {
        let e = try Engine(age: nil)
        #expect(e.chain.stageNames == e.loop.processor.chain.stageNames)
        #expect(e.chain.stageNames == Self.stageOrder)
        #expect(e.chain.stages[5] is CacheStage)
        #expect(e.chain.stages[6] is HandoffStage)
        #expect(e.loop.processor.chain.stages[6] is ResolveStage)
    }

    @Test func cacheMissIsHandedOff() throws {
        let e = try Engine(age: nil)
        let (result, bytes) = e.run(P.query(Self.name, id: 1))
        #expect(result == .handoff)
        #expect(bytes.isEmpty)
        // The loop counts hit or miss when it gets the query; the engine counts neither.
        #expect(e.stats.stats.cacheMisses == 0)
        #expect(e.stats.stats.cacheHits == 0)
        #expect(e.stats.stats.responses.allSatisfy { $0 == 0 })
    }

    @Test func otherQuestionsAboutACachedNameAreHandedOff() throws {
        let e = try Engine(age: 100)
        #expect(e.run(P.query(Self.name, .aaaa)).0 == .handoff)
        #expect(e.run(P.query(Self.name, edns: EDNS(dnssecOK: true))).0 == .handoff)
        #expect(e.run(P.query("other.example.test")).0 == .handoff)
    }

    @Test(arguments: [false, true])
    func replicaHitIsAnsweredWithTheClientsIDCaseAndAgedTTL(_ edns: Bool) throws {
        let e = try Engine(age: 100)
        let query = P.query("wWw.ExAmPlE.tEsT", id: 0xBEEF, edns: edns ? EDNS(udpPayloadSize: 4096) : nil)
        let (result, bytes, fromLoop) = try e.runBoth(query)
        #expect(result == .answered)
        let m = try Message(parsing: bytes)
        #expect(m.header.id == 0xBEEF)
        #expect(m.header.isResponse)
        #expect(m.header.recursionDesired)
        #expect(m.header.recursionAvailable)
        #expect(!m.header.authoritative)
        #expect(m.rcode == .noError)
        // The question exactly as the client wrote it (0x20).
        #expect(m.questions.map(\.name.wire) == [P.name("wWw.ExAmPlE.tEsT").wire])
        #expect(Array(bytes[12..<(12 + P.name(Self.name).wire.count)]) == Array(query[12..<(12 + P.name(Self.name).wire.count)]))
        #expect(m.answers.count == 1)
        #expect(m.answers.first?.rdata == Self.record.rdata)
        let ttl = try #require(m.answers.first?.ttl)
        #expect((198...200).contains(ttl), "TTL 300 aged by ~100 s: \(ttl)")
        #expect((m.edns != nil) == edns)
        #expect(m.edns?.udpPayloadSize == (edns ? 1232 : nil))
        // The same bytes the loop's own chain produces from the same entry.
        #expect(bytes == fromLoop)
        #expect(e.stats.stats.cacheHits == 1)
        #expect(e.stats.stats.cacheMisses == 0)
        #expect(e.stats.stats.responses[TransportKind.udp.rawValue * PipelineStats.rcodeSlots + 0] == 1)
    }

    @Test func garbageIsAnsweredFORMERR() throws {
        let e = try Engine(age: nil)
        let garbage = P.raw(id: 0x4242, flags: 0x0100, qd: 1, body: [0x05, 0x61, 0x62])  // label runs past the end
        let (result, bytes) = e.run(garbage)
        #expect(result == .answered)
        #expect(bytes.count >= 12)
        #expect(P.id(of: bytes) == 0x4242)
        #expect(P.flags(of: bytes) & 0x8000 != 0)
        #expect(P.headerRcode(of: bytes) == Rcode.formErr.rawValue)
        #expect(bytes == (try e.loop.ask(garbage)), "same answer as the loop's chain")
        #expect(e.stats.stats.responses[TransportKind.udp.rawValue * PipelineStats.rcodeSlots + 1] == 1)
    }

    @Test func unsupportedOpcodeAndClassAreAnsweredByTheEngine() throws {
        let e = try Engine(age: nil)
        let notify = e.run(P.query(Self.name, id: 5, opcode: .notify))
        #expect(notify.0 == .answered)
        #expect(P.headerRcode(of: notify.1) == Rcode.notImp.rawValue)
        let chaos = e.run(P.query("version.bind", .txt, id: 6, rrClass: .ch))
        #expect(chaos.0 == .answered)
        #expect(P.headerRcode(of: chaos.1) == Rcode.refused.rawValue)
    }

    @Test func clientOutsideTheACLIsRefusedByTheEngine() throws {
        let e = try Engine(age: 100)
        let (result, bytes) = e.run(P.query(Self.name, id: 7, edns: EDNS()), client: ClientAddress(v4: 0xCB00_7109, port: 1))
        #expect(result == .answered)
        let m = try Message(parsing: bytes)
        #expect(m.rcode == .refused)
        #expect(m.edns?.extendedError?.code == .prohibited)
        #expect(m.answers.isEmpty, "a cached answer must not leak past the ACL")
        #expect(e.stats.stats.cacheHits == 0)
    }

    @Test func localNamesAreAnsweredWithoutAHandoff() throws {
        let e = try Engine(age: nil)
        let (result, bytes) = e.run(P.query("localhost", id: 8))
        #expect(result == .answered)
        let m = try Message(parsing: bytes)
        #expect(m.header.id == 8)
        #expect(m.rcode == .noError)
    }

    @Test(arguments: [
        ("response", TestPackets.encode(TestPackets.answer(to: TestPackets.queryMessage("www.example.test")))),
        ("runt", [0x12, 0x34, 0x01, 0x00, 0x00]),
        ("empty", []),
        ("response garbage", TestPackets.raw(flags: 0x8100, body: [0xFF])),
    ])
    func responsesAndRuntsAreDropped(_ label: String, _ packet: [UInt8]) throws {
        let e = try Engine(age: 100)
        let (result, bytes) = e.run(packet)
        #expect(result == .dropped, "\(label)")
        #expect(bytes.isEmpty)
    }

    // MARK: EngineProcessor

    static func process(_ p: EngineProcessor, _ packet: [UInt8], client: ClientAddress = EngineChainTests.client) -> (
        DatagramDisposition, [UInt8]
    ) {
        var out = ByteBufferAllocator().buffer(capacity: 512)
        let d = packet.withUnsafeBytes { p.process($0, client: client, listener: 0, out: &out) }
        return (d, Array(out.readableBytesView))
    }

    @Test func engineProcessorReturnsTheDispositionAndCounts() throws {
        let e = try Engine(age: 100)
        let p = EngineProcessor(
            chain: e.chain, replica: e.replica, stats: e.stats, loopProcessor: NIOLoopBound(e.loop.processor, eventLoop: e.loop.loop))
        p.beginBatch()
        let hit = Self.process(p, P.query("WWW.example.test", id: 0x0101))
        #expect(hit.0 == .answer)
        #expect(P.id(of: hit.1) == 0x0101)
        #expect(try Message(parsing: hit.1).answers.first?.rdata == Self.record.rdata)

        let miss = Self.process(p, P.query("miss.example.test", id: 0x0202))
        #expect(miss.0 == .handoff)
        #expect(miss.1.isEmpty)

        let response = Self.process(p, P.encode(P.answer("www.example.test")))
        #expect(response.0 == .drop)

        let garbage = Self.process(p, P.raw(id: 0x0303, body: [0x3F]))
        #expect(garbage.0 == .answer)
        #expect(P.headerRcode(of: garbage.1) == Rcode.formErr.rawValue)

        // A second hit, with the input buffer reused.
        let again = Self.process(p, P.query("www.EXAMPLE.test", id: 0x0404))
        #expect(again.0 == .answer)
        #expect(P.id(of: again.1) == 0x0404)
        p.endBatch()

        #expect(e.stats.stats.cacheHits == 2)
        #expect(e.stats.stats.cacheMisses == 0)
        #expect(e.stats.stats.handoffs == 1)
        #expect(e.stats.stats.dropped == 1)
        let udp = TransportKind.udp.rawValue * PipelineStats.rcodeSlots
        #expect(e.stats.stats.responses[udp + 0] == 2)
        #expect(e.stats.stats.responses[udp + 1] == 1)
        // endBatch published the counters for the metrics endpoint.
        #expect(p.published.withLock { $0.cacheHits } == 2)
    }

    @Test func engineProcessorAppliesPushedEntriesAtTheStartOfABatch() throws {
        let e = try Engine(age: nil)
        let p = EngineProcessor(
            chain: e.chain, replica: e.replica, stats: e.stats, loopProcessor: NIOLoopBound(e.loop.processor, eventLoop: e.loop.loop))
        p.beginBatch()
        #expect(Self.process(p, P.query(Self.name)).0 == .handoff)
        p.endBatch()
        let clock = ManualClock.system(offsetSeconds: -10)
        let source = ResponseCache(config: CacheConfig(), clock: clock)
        let key = CacheKey(Question(name: P.name(Self.name), type: .a), dnssecOK: false)
        source.insert(key, response: P.answer(Self.name, answers: [Self.record]))
        e.replica.push(.store(try #require(source.replicaRecord(key))))
        #expect(Self.process(p, P.query(Self.name)).0 == .handoff, "not before the next batch")
        p.beginBatch()
        #expect(Self.process(p, P.query(Self.name)).0 == .answer)
        p.endBatch()
    }
}
