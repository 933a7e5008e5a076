// The user-space cost of a cache hit on a native UDP engine thread, without the kernel:
// `EngineProcessor.process` (input copy, the whole query chain, Finalize into the output
// buffer) over a warm replica cache, in batches like the engine's. The kernel's share of a
// query (recvmmsg/sendmmsg, ~80 % of the CPU) is what bench/run.sh measures beside Unbound;
// this measures the rest precisely enough (±1-2 %) to compare two builds of the hot path.
//
// With `--policy N`, the engine's policy holds N generated names (one malware list, as
// bench/policy.sh loads) and `--blocked-pct` of the queries ask for listed names, like
// bench/policy.py's query file: 100 000 lines, the blocked ones drawn from a sample of the list,
// the others the cached names. PolicyQName then runs against the big index on every query.
//
//   swift run -c release bulwark-hotpath [--names 1000] [--queries 2000000] [--rounds 7] [--batch 16]
//                                        [--policy 1000000 --blocked-pct 10]

import DNSTestSupport
import DNSTransport
import DNSWire
import Foundation
import NIOCore
import NIOEmbedded
import Pipeline
import Policy
import Resolver

struct Options {
    var names = 1000
    var queries = 2_000_000
    var rounds = 7
    var batch = 16
    var policy = 0
    var blockedPct = 10

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let value = i + 1 < args.count ? Int(args[i + 1]) : nil
            guard let value, value >= 0, value > 0 || args[i] == "--policy" || args[i] == "--blocked-pct" else {
                FileHandle.standardError.write(
                    Data("usage: bulwark-hotpath [--names N] [--queries N] [--rounds N] [--batch N] [--policy N] [--blocked-pct P]\n".utf8))
                exit(2)
            }
            switch args[i] {
            case "--names": names = value
            case "--queries": queries = value
            case "--rounds": rounds = value
            case "--batch": batch = value
            case "--policy": policy = value
            case "--blocked-pct": blockedPct = min(value, 100)
            default:
                FileHandle.standardError.write(Data("unknown option \(args[i])\n".utf8))
                exit(2)
            }
            i += 2
        }
    }
}

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
typealias P = TestPackets

// The loop side (its processor is only needed for hand-offs, which a warm cache never makes).
let loop = EmbeddedEventLoop()
let acl = AccessList(allow: AccessList.defaultAllow)
let loopCache = ResponseCache(config: CacheConfig())
let resolver = CachingResolver(
    cache: loopCache, forwarder: Forwarder(upstreams: [], config: ForwarderConfig(), loop: loop, clock: SystemClock()), loop: loop)
let loopStats = StatsBox()
let loopProcessor = DNSProcessor(
    chain: QueryChain.build(.init(acl: acl, resolver: resolver, stats: loopStats, maxUDPSize: 1232)), resolver: resolver,
    stats: loopStats, loop: loop, maxTCPConnections: 10)

/// `count` distinct names like bench/policy.py's (6-14 random characters under a common
/// suffix), in wire form.
func generatedNames(_ count: Int) -> [[UInt8]] {
    let suffixes = ["com", "net", "org", "de", "fr", "co.uk", "info", "xyz", "top", "io", "ru", "nl", "eu", "online", "site", "shop"]
        .map { P.name($0).wire }
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    var rng = SplitMix64(seed: 1)
    var seen = Set<[UInt8]>(minimumCapacity: count)
    var names: [[UInt8]] = []
    names.reserveCapacity(count)
    while names.count < count {
        let r = rng.next()
        let n = 6 + Int(r % 9)
        var wire: [UInt8] = [UInt8(n)]
        for _ in 0..<n { wire.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        wire += suffixes[Int((r >> 8) % UInt64(suffixes.count))]
        if seen.insert(wire).inserted { names.append(wire) }
    }
    return names
}

/// The policy: `--policy` generated names in one malware list (an empty policy without it).
let listed = generatedNames(options.policy)
var builder = SnapshotBuilder(expectedNames: listed.count)
builder.begin(ListInfo(name: "gen", categories: CategorySet(.malware), source: "bench"))
for (line, wire) in listed.enumerated() {
    wire.withUnsafeBytes { builder.name($0, match: .subtree, action: .block, line: line + 1) }
}
let policy = PolicyBox(engine: PolicyEngine(snapshot: builder.finish()))

// The engine thread: its replica cache holds every name, as after bench.py's warm-up.
let replica = ReplicaCache(config: CacheConfig())
let stats = StatsBox()
let engine = EngineProcessor(
    chain: QueryChain.build(.init(acl: acl, resolution: .handoff(replica), stats: stats, maxUDPSize: 1232, policy: policy)),
    replica: replica, stats: stats, loopProcessor: NIOLoopBound(loopProcessor, eventLoop: loop))
var queries: [[UInt8]] = []
for i in 0..<options.names {
    let name = "h\(i).test.bulwark."
    let key = CacheKey(Question(name: P.name(name), type: .a), dnssecOK: false)
    let address = "10.\(i >> 16 & 0xFF).\(i >> 8 & 0xFF).\(i & 0xFF)"
    loopCache.insert(key, response: P.answer(name, answers: [P.a(name, address, ttl: 86400)]))
    replica.push(.store(loopCache.replicaRecord(key)!))
    // As dnsperf sends them: no EDNS, RD set, a fresh ID.
    queries.append(P.query(name, id: UInt16(truncatingIfNeeded: i)))
}
replica.drain()
var isBlocked = [Bool](repeating: false, count: queries.count)
if options.policy > 0 {
    // bench/policy.py's query file: 100 000 lines, `--blocked-pct` of them listed names (a
    // sample of the list, each asked once), the rest the cached names, shuffled.
    let lines = 100_000
    let blocked = lines * options.blockedPct / 100
    var rng = SplitMix64(seed: 2)
    var mixed = (0..<(lines - blocked)).map { (queries[$0 % queries.count], false) }
    for _ in 0..<blocked {
        let wire = listed[Int(rng.next() % UInt64(listed.count))]
        mixed.append((P.query(try! Name(wire: wire).description, id: UInt16(truncatingIfNeeded: rng.next())), true))
    }
    mixed.shuffle(using: &rng)
    queries = mixed.map(\.0)
    isBlocked = mixed.map(\.1)
}

/// The measured loop, in a function of its own: top-level code is main-actor isolated, and its
/// globals cost an executor check on every access.
func measure(_ engine: EngineProcessor, _ queries: [[UInt8]], _ options: Options) -> (perQuery: [Double], answered: Int, bytes: Int) {
    let client = ClientAddress(v4: 0x7F00_0001, port: 40000)
    var out = ByteBufferAllocator().buffer(capacity: 4096)
    var perQuery: [Double] = []
    var answered = 0
    var bytes = 0
    for round in 0...options.rounds {
        let start = nanoseconds()
        var q = 0
        while q < options.queries {
            engine.beginBatch()
            for _ in 0..<options.batch {
                out.clear()
                let disposition = queries[q % queries.count].withUnsafeBytes {
                    engine.process($0, client: client, listener: 0, out: &out)
                }
                if case .answer = disposition {
                    answered += 1
                    bytes &+= out.readableBytes
                }
                q += 1
            }
            engine.endBatch()
        }
        let ns = Double(nanoseconds() - start) / Double(q)
        // Round 0 warms up (page faults, branch predictors) and is not counted.
        if round > 0 { perQuery.append(ns) }
        print("round \(round): \(String(format: "%.1f", ns)) ns/query\(round == 0 ? " (warm-up)" : "")")
    }
    return (perQuery, answered, bytes)
}

let (perQuery, answered, bytes) = measure(engine, queries, options)
let total = options.queries * (options.rounds + 1)
guard answered == total else {
    print("only \(answered) of \(total) queries were answered from the cache: the measurement is void")
    exit(1)
}
let sorted = perQuery.sorted()
print(
    "names \(options.names), batch \(options.batch): median \(String(format: "%.1f", sorted[sorted.count / 2])) ns/query, "
        + "min \(String(format: "%.1f", sorted[0])), max \(String(format: "%.1f", sorted[sorted.count - 1])) "
        + "(\(bytes / total) bytes per answer)")
if options.policy > 0 {
    // Every listed name asked was blocked by PolicyQName, none of the others.
    let blocked = stats.stats.blockedQName
    let perRound = (0..<total / (options.rounds + 1)).reduce(0) { n, q in n + (isBlocked[q % queries.count] ? 1 : 0) }
    let expected = perRound * (options.rounds + 1)
    print("policy \(options.policy) names: \(blocked) of \(total) queries blocked (\(String(format: "%.1f", 100.0 * Double(blocked) / Double(total))) %)")
    guard blocked == expected else {
        print("expected \(expected) blocked queries: the measurement is void")
        exit(1)
    }
}
