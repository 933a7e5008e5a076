import DNSTestSupport
import DNSTransport
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `NativeUDPEngine` on a real two-loop group, bound to 127.0.0.1 and driven by plain BSD
/// sockets from many source ports: answers, drops, handoffs to the loops, and the kernel's
/// steering of each query name to one thread (`bw_attach_qname_steering` / `QueryShard`).
@Suite(.timeLimit(.minutes(1)))
struct NativeUDPEngineTests {
    typealias P = TestPackets

    // MARK: Probes

    /// What one engine thread or one event loop saw. Written on that thread, read by the test.
    final class SeenLog: Sendable {
        struct Entry: Sendable {
            var name: String
            var client: ClientAddress
            var thread: pthread_t
            var transport: TransportKind?
        }
        let entries = Mutex<[Entry]>([])
        /// Datagrams that were not a DNS query with a question.
        let unparsable = Atomic<Int>(0)

        func record(_ name: String, client: ClientAddress, transport: TransportKind? = nil) {
            let e = Entry(name: name, client: client, thread: pthread_self(), transport: transport)
            entries.withLock { $0.append(e) }
        }

        var all: [Entry] { entries.withLock { $0 } }
        func count(of name: String) -> Int { all.filter { $0.name == name }.count }
        func ports(of name: String) -> Set<UInt16> { Set(all.filter { $0.name == name }.map(\.client.port)) }
        var threads: Set<pthread_t> { Set(all.map(\.thread)) }
    }

    /// The lowercased presentation name of the first question, or nil.
    static func questionName(_ bytes: [UInt8]) -> String? {
        guard let m = try? Message(parsing: bytes), let q = m.questions.first else { return nil }
        return q.name.description.lowercased()
    }

    /// An engine thread's processor: echoes queries with QR set, drops `drop.*`, hands `handoff*`
    /// to the loop.
    final class EngineProbe: DatagramProcessor, Sendable {
        let log = SeenLog()
        let batches = Atomic<Int>(0)
        let idles = Atomic<Int>(0)

        func beginBatch() { batches.add(1, ordering: .relaxed) }
        func endBatch() {}
        func idle() { idles.add(1, ordering: .relaxed) }

        func process(_ packet: UnsafeRawBufferPointer, client: ClientAddress, listener: Int, out: inout ByteBuffer)
            -> DatagramDisposition
        {
            let bytes = Array(packet)
            guard let name = NativeUDPEngineTests.questionName(bytes) else {
                log.unparsable.add(1, ordering: .relaxed)
                return .drop
            }
            log.record(name, client: client)
            if name.hasPrefix("drop.") { return .drop }
            if name.hasPrefix("handoff") { return .handoff }
            out.writeBytes(bytes)
            out.setInteger(UInt8(bytes[2] | 0x80), at: out.readerIndex + 2)
            return .answer
        }
    }

    /// A loop's `QueryProcessor` for handed-off queries: echoes with QR and AA set (AA tells the
    /// answer came from the loop), now or after a delay (`handoff-later.*`: 5 ms, `handoff-slow.*`:
    /// 150 ms).
    final class LoopProbe: QueryProcessor {
        let loop: any EventLoop
        let log: SeenLog

        init(loop: any EventLoop, log: SeenLog) {
            self.loop = loop
            self.log = log
        }

        func process(_ query: ByteBuffer, client: ClientAddress, transport: TransportKind, listener: Int) -> QueryReply {
            loop.preconditionInEventLoop()
            var bytes = Array(query.readableBytesView)
            guard let name = NativeUDPEngineTests.questionName(bytes) else { return .drop }
            log.record(name, client: client, transport: transport)
            bytes[2] |= 0x84
            let reply = bytes
            if name.hasPrefix("handoff-later.") || name.hasPrefix("handoff-slow.") {
                let delay: TimeAmount = name.hasPrefix("handoff-slow.") ? .milliseconds(150) : .milliseconds(5)
                return .later(loop.scheduleTask(in: delay) { Optional(ByteBuffer(bytes: reply)) }.futureResult)
            }
            return .now(ByteBuffer(bytes: reply))
        }

        func tcpConnection(opened: Bool) -> Bool { true }
    }

    /// Collects what the engine logs at warning level and above (e.g. "cannot steer").
    struct CapturingLogHandler: LogHandler {
        let messages: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            messages.append("\(event.level): \(event.message) \(event.metadata ?? [:])")
        }
    }

    struct Fixture: Sendable {
        let port: UInt16
        let engine: NativeUDPEngine
        let threads: [EngineProbe]
        let loops: [SeenLog]
        let logged: LogLines
        let stopped = StopFlag()

        /// Stops the engine's threads once (a second `stopReading()` would join them again).
        func stopReading() {
            if !stopped.value.exchange(true, ordering: .relaxed) { engine.stopReading() }
        }

        /// The thread (and loop) that owns the name of `query`, as the kernel should choose it.
        func owner(_ query: [UInt8]) -> Int { QueryShard.owner(of: ByteBuffer(bytes: query), loops: 2) }
    }

    /// Starts an engine with two threads on a free loopback port, runs `body`, then stops it
    /// (checking that stopping is prompt) and shuts the group down.
    static func withEngine(_ body: (Fixture) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        var byLoop: [ObjectIdentifier: NIOLoopBound<any QueryProcessor>] = [:]
        var loopLogs: [SeenLog] = []
        for loop in loops {
            let log = SeenLog()
            loopLogs.append(log)
            byLoop[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound<any QueryProcessor>(LoopProbe(loop: loop, log: log), eventLoop: loop)
            }.get()
        }
        let registry = ProcessorRegistry(byLoop: byLoop)
        let logged = LogLines()
        let logger = Logger(label: "native-udp-test") { _ in CapturingLogHandler(messages: logged) }

        var started: Fixture? = nil
        var lastError: (any Error)? = nil
        // The port was free a moment ago; another process may take it in between: retry.
        for _ in 0..<5 where started == nil {
            do {
                let port = try freeLoopbackUDPPort()
                var probes: [EngineProbe] = []
                var indices: [Int] = []
                let engine = try NativeUDPEngine(
                    addresses: [(try SocketAddress(ipAddress: "127.0.0.1", port: Int(port)), 0)], group: group,
                    registry: registry, logger: logger
                ) { i, _ in
                    indices.append(i)
                    let p = EngineProbe()
                    probes.append(p)
                    return p
                }
                #expect(indices == [0, 1])
                started = Fixture(port: port, engine: engine, threads: probes, loops: loopLogs, logged: logged)
            } catch {
                lastError = error
            }
        }
        guard let f = started else {
            try? await group.shutdownGracefully()
            throw lastError ?? LoopbackSocketError("cannot start the engine")
        }
        var failure: (any Error)? = nil
        do {
            try await body(f)
        } catch {
            failure = error
        }
        let (_, stopTime) = await elapsedSeconds { f.stopReading() }
        #expect(stopTime < 0.5, "stopReading must wake the threads blocked in recvmmsg")
        f.engine.close()
        #expect(f.logged.all == [], "the engine logged warnings or errors")
        try await group.shutdownGracefully()
        if let failure { throw failure }
    }

    static func clients(_ n: Int, timeoutMilliseconds: Int = 1000) throws -> [UDPClientSocket] {
        let c = try (0..<n).map { _ in try UDPClientSocket(receiveTimeoutMilliseconds: timeoutMilliseconds) }
        #expect(Set(c.map(\.port)).count == n)
        return c
    }

    // MARK: Tests

    @Test func answersArriveFromTheServerPortWithTheQueryID() async throws {
        try await Self.withEngine { f in
            let clients = try Self.clients(5)
            for (k, c) in clients.enumerated() {
                let query = P.query("answer\(k).example.test", id: UInt16(0x4000 + k))
                let reply = try #require(try c.exchange(query, port: f.port))
                #expect(reply.fromPort == f.port)
                #expect(P.id(of: reply.bytes) == UInt16(0x4000 + k))
                #expect(P.flags(of: reply.bytes) & 0x8000 != 0)
                #expect(P.flags(of: reply.bytes) & 0x0400 == 0, "answered by the engine thread, not the loop")
                #expect(Array(reply.bytes[4...]) == Array(query[4...]))
                // The engine thread saw the client's real address.
                let owner = f.owner(query)
                let seen = try #require(f.threads[owner].log.all.first { $0.name == "answer\(k).example.test." })
                #expect(seen.client == ClientAddress(v4: 0x7F00_0001, port: c.port))
                #expect(seen.client.description == "127.0.0.1:\(c.port)")
            }
        }
    }

    /// An idle thread is woken (once a second) to take pending work such as a new policy, so it
    /// never keeps the old one alive for want of traffic; a busy one is not.
    @Test func idleThreadsWakeWithoutTraffic() async throws {
        try await Self.withEngine { f in
            let deadline = ContinuousClock.now + .seconds(10)
            while f.threads.contains(where: { $0.idles.load(ordering: .relaxed) == 0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(f.threads.allSatisfy { $0.idles.load(ordering: .relaxed) > 0 })
            #expect(f.logged.all.isEmpty, "a timeout is not a receive error: \(f.logged.all)")
        }
    }

    @Test func everyQueryForANameReachesTheThreadThatOwnsIt() async throws {
        try await Self.withEngine { f in
            let clients = try Self.clients(20)
            let names = [
                "www.example.test", "mail.example.test", "a.test", "b.test", "c.test", "d.test", "ns1.example.org",
                "bulwark.example", "x.y.z.test", "_dmarc.example.com",
            ]
            var owners: Set<Int> = []
            for (k, name) in names.enumerated() {
                let query = P.query(name, id: UInt16(k))
                let owner = f.owner(query)
                owners.insert(owner)
                for c in clients { try c.send(query, to: f.port) }
                for c in clients {
                    let reply = try #require(c.receive(), "no answer for \(name) to port \(c.port)")
                    #expect(reply.fromPort == f.port)
                    #expect(P.id(of: reply.bytes) == UInt16(k))
                }
                let key = name + "."
                #expect(f.threads[owner].log.count(of: key) == 20, "\(name) should reach thread \(owner) only")
                #expect(f.threads[1 - owner].log.count(of: key) == 0, "\(name) reached thread \(1 - owner)")
                #expect(f.threads[owner].log.ports(of: key) == Set(clients.map(\.port)))
            }
            #expect(owners == [0, 1], "the names should cover both threads")
            // One OS thread per processor, and two different ones.
            #expect(f.threads[0].log.threads.count == 1)
            #expect(f.threads[1].log.threads.count == 1)
            #expect(f.threads[0].log.threads != f.threads[1].log.threads)
            #expect(f.threads[0].batches.load(ordering: .relaxed) > 0)
            #expect(f.threads[1].batches.load(ordering: .relaxed) > 0)
        }
    }

    @Test func asciiCaseDoesNotChangeTheThread() async throws {
        try await Self.withEngine { f in
            let clients = try Self.clients(20)
            let spellings = ["www.example.test", "WWW.Example.TEST", "wWw.eXaMpLe.TeSt", "WWW.EXAMPLE.TEST"]
            let owners = Set(spellings.map { f.owner(P.query($0)) })
            #expect(owners.count == 1, "QueryShard must fold ASCII case")
            let owner = try #require(owners.first)
            for (k, spelling) in spellings.enumerated() {
                for (j, c) in clients.enumerated() {
                    let reply = try #require(try c.exchange(P.query(spelling, id: UInt16(k * 100 + j)), port: f.port))
                    #expect(P.id(of: reply.bytes) == UInt16(k * 100 + j))
                }
            }
            #expect(f.threads[owner].log.count(of: "www.example.test.") == 20 * spellings.count)
            #expect(f.threads[1 - owner].log.count(of: "www.example.test.") == 0)
        }
    }

    @Test func droppedQueriesGetNoAnswer() async throws {
        try await Self.withEngine { f in
            let clients = try Self.clients(4, timeoutMilliseconds: 200)
            for (k, c) in clients.enumerated() {
                let query = P.query("drop.n\(k).example.test", id: UInt16(k))
                try c.send(query, to: f.port)
                #expect(c.receive() == nil, "a dropped query was answered")
                #expect(f.threads[f.owner(query)].log.count(of: "drop.n\(k).example.test.") == 1)
                // The socket works: the next query is answered, and nothing was queued before it.
                let reply = try #require(try c.exchange(P.query("after.example.test", id: 0x7777), port: f.port))
                #expect(P.id(of: reply.bytes) == 0x7777)
            }
        }
    }

    @Test(arguments: ["handoff-now", "handoff-later"])
    func handedOffQueriesAreAnsweredByTheLoopOnTheSameSocket(_ prefix: String) async throws {
        try await Self.withEngine { f in
            let clients = try Self.clients(20)
            for name in ["\(prefix).one.test", "\(prefix).two.test", "\(prefix).three.test", "\(prefix).four.test"] {
                let query = P.query(name, id: 0x5A5A)
                let owner = f.owner(query)
                for c in clients { try c.send(query, to: f.port) }
                for c in clients {
                    let reply = try #require(c.receive(), "no handoff answer for \(name)")
                    #expect(reply.fromPort == f.port, "the loop's answer must leave from the server port")
                    #expect(P.id(of: reply.bytes) == 0x5A5A)
                    #expect(P.flags(of: reply.bytes) & 0x8400 == 0x8400, "answered by the loop")
                }
                let key = name + "."
                // Thread `owner` handed them to loop `owner`, with the client's address.
                #expect(f.threads[owner].log.count(of: key) == 20)
                #expect(f.loops[owner].count(of: key) == 20)
                #expect(f.loops[1 - owner].count(of: key) == 0)
                #expect(f.loops[owner].ports(of: key) == Set(clients.map(\.port)))
                #expect(f.loops[owner].all.filter { $0.name == key }.allSatisfy { $0.transport == .udp && $0.client.family == 4 })
            }
            #expect(f.loops[0].threads.isDisjoint(with: f.threads[0].log.threads), "handoffs run on the loop, not the engine thread")
        }
    }

    @Test func stopReadingIsPromptAndLaterAnswersStillGoOut() async throws {
        try await Self.withEngine { f in
            let c = try UDPClientSocket(receiveTimeoutMilliseconds: 1000)
            // An answer the loop sends 150 ms from now, after reading has stopped.
            let query = P.query("handoff-slow.example.test", id: 0x3131)
            try c.send(query, to: f.port)
            let deadline = NIODeadline.now() + .seconds(1)
            while f.loops[f.owner(query)].count(of: "handoff-slow.example.test.") == 0 && NIODeadline.now() < deadline {
                usleep(1000)
            }
            let (_, stopTime) = await elapsedSeconds { f.stopReading() }
            #expect(stopTime < 0.5)
            let reply = try #require(c.receive(), "the answer of a handed-off query was lost when reading stopped")
            #expect(P.id(of: reply.bytes) == 0x3131)
            #expect(reply.fromPort == f.port)
            // Nothing reads any more.
            c.setReceiveTimeout(milliseconds: 200)
            try c.send(P.query("late.example.test"), to: f.port)
            #expect(c.receive() == nil)
            #expect(f.threads[0].log.count(of: "late.example.test.") + f.threads[1].log.count(of: "late.example.test.") == 0)
        }
    }

    /// After `stopReading()` each thread's recvmmsg returns the shutdown as a zero-length
    /// "datagram" (namelen 0, the slot's stale address), which `serve` hands to the processor.
    @Test func stoppingFeedsTheProcessorOnlyWhatClientsSent() async throws {
        var probes: [EngineProbe] = []
        try await Self.withEngine { f in
            probes = f.threads
            let c = try UDPClientSocket()
            for k in 0..<4 {
                let reply = try c.exchange(P.query("sent\(k).example.test", id: UInt16(k)), port: f.port)
                #expect(reply != nil)
            }
        }
        // withEngine stopped (and joined) the threads.
        let seen = probes.map { $0.log.all.count }.reduce(0, +)
        let phantoms = probes.map { $0.log.unparsable.load(ordering: .relaxed) }.reduce(0, +)
        #expect(seen == 4)
        #expect(phantoms == 0, "BUG: stopReading fed \(phantoms) empty datagram(s) to the processors")
    }

    /// `stopReading()` joins the threads without forgetting them: a second call joins them again,
    /// which is undefined behaviour (it crashed this suite once, in pthread_clockjoin_ex).
    /// Disabled because the crash would end the test process.
    @Test
    func stopReadingTwiceIsHarmless() async throws {
        try await Self.withEngine { f in
            f.engine.stopReading()
            f.engine.stopReading()
        }
    }

    @Test func closeReleasesThePort() async throws {
        var port: UInt16 = 0
        try await Self.withEngine { f in port = f.port }
        // The engine's sockets are closed: the port can be bound again without SO_REUSEPORT.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc == 0, "port \(port) still bound after close(): \(String(cString: strerror(errno)))")
    }
}

/// Messages shared between a log handler's copies and the test.
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
