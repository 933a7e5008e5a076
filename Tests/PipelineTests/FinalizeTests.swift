import DNSTestSupport
import DNSTransport
import DNSWire
import NIOCore
import Resolver
import Testing

@testable import Pipeline

/// Finalize: what the client gets from an answer — ID, case, flags, OPT/EDE, ageing, truncation.
struct FinalizeTests {
    typealias P = TestPackets

    static let name = "www.example.com"
    static let key = CacheKey(Question(name: P.name(name), type: .a), dnssecOK: false)

    /// An answer as the cache serves it (stored with ID 0, lowercase question).
    static func cached(_ response: Message, clock: ManualClock = ManualClock()) throws -> CachedAnswer {
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        return try #require(cache.insert(key, response: response))
    }

    static func finalize(
        _ query: [UInt8], _ answer: CachedAnswer, transport: TransportKind = .udp, maxUDPSize: Int = 1232,
        stats: StatsBox = StatsBox()
    ) throws -> [UInt8] {
        let stage = FinalizeStage(maxUDPSize: maxUDPSize, stats: stats)
        var ctx = QueryContext(raw: query, client: loopbackClient, transport: transport, listener: 0)
        ctx.response = answer
        let out = try #require(stage.finalize(&ctx))
        return Array(out.readableBytesView)
    }

    static func records(_ count: Int) -> [ResourceRecord] { P.manyA(name, count: count) }

    @Test func idAndQuestionSpellingComeFromTheQuery() throws {
        let answer = try Self.cached(P.answer(Self.name, answers: [P.a(Self.name, "192.0.2.1")]))
        let query = P.query("WwW.eXaMpLe.CoM", id: 0xABCD)
        let bytes = try Self.finalize(query, answer)
        let m = try Message(parsing: bytes)
        #expect(m.header.id == 0xABCD)
        #expect(m.questions.map(\.name.wire) == [P.name("WwW.eXaMpLe.CoM").wire])
        #expect(m.answers.map(\.rdata) == [.a(IPv4Address("192.0.2.1")!)])
        // The question bytes are the client's, byte for byte.
        #expect(Array(bytes[12..<(12 + 17 + 4)]) == Array(query[12..<(12 + 17 + 4)]))
    }

    @Test func flagsRAOnRDAndCDCopiedAAClearedForCachedData() throws {
        let answer = try Self.cached(
            P.answer(Self.name, answers: [P.a(Self.name, "192.0.2.1")], authoritative: true))
        let m = try Message(parsing: Self.finalize(P.query(Self.name, recursionDesired: true, checkingDisabled: true), answer))
        #expect(m.header.isResponse)
        #expect(m.header.recursionAvailable)
        #expect(m.header.recursionDesired)
        #expect(m.header.checkingDisabled)
        #expect(!m.header.authoritative)
        #expect(!m.header.truncated)
        let plain = try Message(parsing: Self.finalize(P.query(Self.name, recursionDesired: false), answer))
        #expect(!plain.header.recursionDesired)
        #expect(!plain.header.checkingDisabled)
        #expect(plain.header.recursionAvailable)
    }

    @Test func adIsPassedOnOnlyToClientsThatAskForDNSSEC() throws {
        var response = P.answer(Self.name, answers: [P.a(Self.name, "192.0.2.1")])
        response.header.authenticData = true
        let answer = try Self.cached(response)
        #expect(try !Message(parsing: Self.finalize(P.query(Self.name), answer)).header.authenticData)
        let doQuery = P.query(Self.name, edns: EDNS(udpPayloadSize: 1232, dnssecOK: true))
        #expect(try Message(parsing: Self.finalize(doQuery, answer)).header.authenticData)
        var adQuery = P.query(Self.name)
        adQuery[3] |= 0x20
        #expect(try Message(parsing: Self.finalize(adQuery, answer)).header.authenticData)
    }

    @Test func optIsAppendedOnlyWhenTheClientSentEDNS() throws {
        let answer = try Self.cached(P.answer(Self.name, answers: [P.a(Self.name, "192.0.2.1")]))
        let plain = try Message(parsing: Self.finalize(P.query(Self.name), answer))
        #expect(plain.edns == nil)
        let withEDNS = try Message(
            parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 4096, dnssecOK: true)), answer))
        let opt = try #require(withEDNS.edns)
        #expect(opt.udpPayloadSize == 1232)
        #expect(opt.dnssecOK)
        #expect(opt.version == 0)
        #expect(opt.options.isEmpty)
        #expect(withEDNS.answers.count == 1)
    }

    @Test func staleAnswerCarriesEDE3AndTheStaleTTL() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        cache.insert(Self.key, response: P.answer(Self.name, answers: [P.a(Self.name, "192.0.2.1", ttl: 60)]))
        clock.advance(seconds: 120)
        let stale = try #require(cache.stale(Self.key))
        let m = try Message(parsing: Self.finalize(P.query(Self.name, edns: EDNS()), stale))
        #expect(m.edns?.extendedError?.code == .staleAnswer)
        #expect(m.answers.map(\.ttl) == [CacheConfig().staleAnswerTTL])
        // Without EDNS the client gets the stale answer but no OPT.
        let plain = try Message(parsing: Self.finalize(P.query(Self.name), stale))
        #expect(plain.edns == nil)
        #expect(plain.answers.map(\.ttl) == [CacheConfig().staleAnswerTTL])
    }

    @Test func ttlsAreAgedOnTheWayOut() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        cache.insert(
            Self.key,
            response: P.answer(
                Self.name, answers: [P.a(Self.name, "192.0.2.1", ttl: 300)],
                authorities: [P.ns("example.com", "ns1.example.com", ttl: 1000)]))
        clock.advance(seconds: 25)
        guard case .hit(let answer, _) = cache.lookup(Self.key) else {
            Issue.record("expected a hit")
            return
        }
        let m = try Message(parsing: Self.finalize(P.query("WWW.example.com", edns: EDNS()), answer))
        #expect(m.answers.map(\.ttl) == [275])
        #expect(m.authorities.map(\.ttl) == [975])
    }

    // MARK: Truncation

    @Test func udpWithoutEDNSIsTruncatedTo512() throws {
        let answer = try Self.cached(P.answer(Self.name, answers: Self.records(40)))
        #expect(answer.wire.count > 512)
        let stats = StatsBox()
        let bytes = try Self.finalize(P.query("WWW.example.com", id: 4), answer, stats: stats)
        #expect(bytes.count <= 512)
        let m = try Message(parsing: bytes)
        #expect(m.header.truncated)
        #expect(m.answers.isEmpty)
        #expect(m.header.id == 4)
        #expect(m.questions.map(\.name.wire) == [P.name("WWW.example.com").wire])
        #expect(m.edns == nil)
        #expect(stats.stats.truncated == 1)
    }

    @Test func udpWithEDNSFitsWithinTheClientsSize() throws {
        let answer = try Self.cached(P.answer(Self.name, answers: Self.records(40)))
        let m = try Message(parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 1232)), answer))
        #expect(!m.header.truncated)
        #expect(m.answers.count == 40)
    }

    @Test(arguments: [(UInt16(600), 600), (UInt16(100), 512), (UInt16(4096), 1232), (UInt16(65535), 1232)])
    func udpIsTruncatedToTheClientsSizeButNeverAboveMaxUDPSize(_ offered: UInt16, _ limit: Int) throws {
        let answer = try Self.cached(P.answer(Self.name, answers: Self.records(100)))
        #expect(answer.wire.count > 1232)
        let bytes = try Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: offered)), answer)
        #expect(bytes.count <= limit)
        let m = try Message(parsing: bytes)
        #expect(m.header.truncated)
        #expect(m.answers.isEmpty)
        #expect(m.edns != nil)
    }

    @Test func answerBetweenTheClientsSizeAndItsLimitIsNotTruncated() throws {
        // 40 records: 673 bytes + OPT fits 700 but not 600.
        let answer = try Self.cached(P.answer(Self.name, answers: Self.records(40)))
        let fits = try Message(parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 700)), answer))
        #expect(!fits.header.truncated)
        #expect(fits.answers.count == 40)
        let over = try Message(parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 600)), answer))
        #expect(over.header.truncated)
    }

    @Test func truncatedAnswerKeepsItsEDE() throws {
        let clock = ManualClock()
        let cache = ResponseCache(config: CacheConfig(), clock: clock)
        cache.insert(Self.key, response: P.answer(Self.name, answers: Self.records(100)))
        clock.advance(seconds: 1000)
        let stale = try #require(cache.stale(Self.key))
        let m = try Message(parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 512)), stale))
        #expect(m.header.truncated)
        #expect(m.edns?.extendedError?.code == .staleAnswer)
    }

    @Test func additionalRecordsAreDroppedBeforeTruncating() throws {
        let answer = try Self.cached(
            P.answer(
                Self.name, answers: [P.a(Self.name, "192.0.2.1")],
                additionals: (0..<40).map { P.a("ns\($0).example.com", "192.0.2.53") }))
        #expect(answer.wire.count > 512)
        let m = try Message(parsing: Self.finalize(P.query(Self.name), answer))
        #expect(!m.header.truncated)
        #expect(m.answers.count == 1)
        #expect(m.additionals.count < 40)
    }

    @Test func tcpIsNeverTruncated() throws {
        let answer = try Self.cached(P.answer(Self.name, answers: Self.records(100)))
        let m = try Message(parsing: Self.finalize(P.query(Self.name), answer, transport: .tcp))
        #expect(!m.header.truncated)
        #expect(m.answers.count == 100)
        let withEDNS = try Message(
            parsing: Self.finalize(P.query(Self.name, edns: EDNS(udpPayloadSize: 512)), answer, transport: .tcp))
        #expect(!withEDNS.header.truncated)
        #expect(withEDNS.answers.count == 100)
    }

    @Test func responsesAreCountedByTransportAndRcode() throws {
        let stats = StatsBox()
        let answer = try Self.cached(P.answer(Self.name, rcode: .nxDomain, authorities: [P.soa("example.com")]))
        _ = try Self.finalize(P.query(Self.name), answer, transport: .tcp, stats: stats)
        #expect(stats.stats.responses[TransportKind.tcp.rawValue * PipelineStats.rcodeSlots + 3] == 1)
        #expect(stats.stats.responses.reduce(0, +) == 1)
    }
}
