import DNSTransport
import DNSWire
import Foundation
import NIOCore
import NIOPosix

/// Fetches a zone from a primary: the SOA serial over UDP, the whole zone by AXFR over TCP
/// (RFC 5936), optionally signed with TSIG (every answer message checked, chained). For
/// following someone else's RPZ primary, and for writing a zone to a file (Knot Resolver reads
/// RPZ from files only).
public struct TransferClient: Sendable {
    public var address: SocketAddress
    public var key: TSIGKey?
    public var timeout: TimeAmount = .seconds(30)
    /// Refuse zones larger than this many records (a hostile primary cannot exhaust memory).
    public var maxRecords = 50_000_000

    public init(address: SocketAddress, key: TSIGKey? = nil) {
        self.address = address
        self.key = key
    }

    /// The primary's SOA serial for `zone`.
    public func serial(of zone: Name, group: any EventLoopGroup) async throws(RPZError) -> UInt32 {
        let (query, id, mac) = makeQuery(zone, type: .soa)
        let answer: [UInt8]
        do {
            answer = try await UpstreamExchange.udp(query, to: address, on: group.next(), timeout: .seconds(5)) { reply in
                reply.count >= 12 && reply[0] == UInt8(id >> 8) && reply[1] == UInt8(id & 0xFF) && reply[2] & 0x80 != 0
            }.get()
        } catch {
            throw RPZError(.transfer, "SOA of \(zone) from \(address): \(error)")
        }
        if let key {
            let v = TSIG.verifyResponse(answer, key: key, requestMAC: mac, now: now())
            if !v.isValid { throw RPZError(.tsig, "SOA of \(zone) from \(address): \(v)") }
        }
        guard let m = try? Message(parsing: answer) else { throw RPZError(.badResponse, "SOA of \(zone) from \(address): malformed answer") }
        guard m.rcode == .noError else { throw RPZError(.transfer, "SOA of \(zone) from \(address): \(m.rcode)") }
        guard let soa = m.answers.first(where: { $0.type == .soa && $0.name == zone }), case .soa(let s) = soa.rdata else {
            throw RPZError(.badResponse, "SOA of \(zone) from \(address): no SOA in the answer")
        }
        return s.serial
    }

    /// The whole zone by AXFR: its records, SOA first, without the closing SOA.
    public func axfr(_ zone: Name, group: any EventLoopGroup) async throws(RPZError) -> (serial: UInt32, records: [ResourceRecord]) {
        var reader = AXFRReader(zone: zone, maxRecords: maxRecords)
        try await exchange(zone, type: .axfr, authority: [], group: group) { rr throws(RPZError) in try reader.add(rr) }
        return (reader.serial!, reader.records)
    }

    /// What an IXFR brought.
    public enum IXFRResult: Sendable {
        /// The primary's serial is ours (or behind: nothing to take).
        case current(UInt32)
        /// The primary sent the whole zone (its history does not reach our serial).
        case full(serial: UInt32, records: [ResourceRecord])
        /// The net change from our serial: records to delete and to add (TTL ignored when
        /// matching), and the new SOA.
        case incremental(soa: ResourceRecord, deleted: [ResourceRecord], added: [ResourceRecord])
    }

    /// The changes since `serial` by IXFR (RFC 1995) over TCP; the primary may answer with the
    /// whole zone instead.
    public func ixfr(_ zone: Name, from serial: UInt32, group: any EventLoopGroup) async throws(RPZError) -> IXFRResult {
        let ours = ResourceRecord(
            name: zone, ttl: 0, rdata: .soa(.init(mname: .root, rname: .root, serial: serial, refresh: 0, retry: 0, expire: 0, minimum: 0)))
        var reader = IXFRReader(zone: zone, known: serial, maxRecords: maxRecords)
        try await exchange(zone, type: .ixfr, authority: [ours], group: group) { rr throws(RPZError) in try reader.add(rr) }
        return try reader.result()
    }

    /// One transfer over TCP: sends the query, checks every message (ID, TSIG chain, rcode) and
    /// hands each answer record to `consume` until it says the transfer is complete.
    func exchange(
        _ zone: Name, type: RRType, authority: [ResourceRecord], group: any EventLoopGroup,
        consume: @escaping (ResourceRecord) throws(RPZError) -> Bool
    ) async throws(RPZError) {
        let what = "\(type) of \(zone) from \(address)"
        let (query, id, mac) = makeQuery(zone, type: type, authority: authority)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        try ops.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                        try ops.addHandler(MessageToByteHandler(LengthPrefixedFrameEncoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RPZError(.transfer, "\(what): cannot connect: \(error)")
        }
        let deadline = ContinuousClock.now + .nanoseconds(timeout.nanoseconds)
        let consumer = UnsafeTransfer(consume)
        let failure: RPZError? = await withTaskGroup(of: RPZError??.self) { tasks in
            tasks.addTask {
                try? await Task.sleep(until: deadline)
                if Task.isCancelled { return nil }
                try? await channel.channel.close()
                return .some(RPZError(.transfer, "\(what): timed out"))
            }
            tasks.addTask {
                do {
                    try await self.read(channel, what: what, query: query, id: id, mac: mac, consume: consumer.value)
                    return .some(nil)
                } catch let e as RPZError {
                    return .some(e)
                } catch {
                    return .some(RPZError(.transfer, "\(what): \(error)"))
                }
            }
            var outcome: RPZError?? = nil
            while outcome == nil, let r = await tasks.next() { outcome = r }
            tasks.cancelAll()
            return outcome ?? RPZError(.transfer, "\(what): no result")
        }
        try? await channel.channel.close()
        if let failure { throw failure }
    }

    func read(
        _ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, what: String, query: [UInt8], id: UInt16, mac: [UInt8],
        consume: (ResourceRecord) throws(RPZError) -> Bool
    ) async throws {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: query))
            var verifier = key.map { TSIGStreamVerifier(key: $0, requestMAC: mac) }
            for try await frame in inbound {
                let bytes = Array(frame.readableBytesView)
                guard bytes.count >= 12, bytes[0] == UInt8(id >> 8), bytes[1] == UInt8(id & 0xFF) else {
                    throw RPZError(.badResponse, "\(what): answer with another ID")
                }
                if verifier != nil {
                    let v = verifier!.verify(bytes, now: now())
                    if case .failed(let e, _, _) = v { throw RPZError(.tsig, "\(what): \(e)") }
                    if case .malformed(let why) = v { throw RPZError(.tsig, "\(what): \(why)") }
                }
                let m: Message
                do {
                    m = try Message(parsing: bytes)
                } catch {
                    throw RPZError(.badResponse, "\(what): \(error)")
                }
                guard m.rcode == .noError else { throw RPZError(.transfer, "\(what): \(m.rcode)") }
                for (i, rr) in m.answers.enumerated() where try consume(rr) {
                    guard i == m.answers.count - 1 else { throw RPZError(.badResponse, "\(what): records after the closing SOA") }
                    if let verifier {
                        let v = verifier.finish()
                        if !v.isValid { throw RPZError(.tsig, "\(what): \(v)") }
                    }
                    return
                }
            }
            throw RPZError(.transfer, "\(what): connection closed before the closing SOA (truncated transfer)")
        }
    }

    func makeQuery(_ zone: Name, type: RRType, authority: [ResourceRecord] = []) -> ([UInt8], UInt16, [UInt8]) {
        let id = UInt16.random(in: 0...UInt16.max)
        let m = Message(header: Header(id: id, flags: 0), questions: [Question(name: zone, type: type)], authorities: authority)
        var bytes = (try? m.encode()) ?? []
        var mac: [UInt8] = []
        if let key { (bytes, mac) = TSIG.sign(bytes, key: key, time: now()) }
        return (bytes, id, mac)
    }

    func now() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }

    /// A zone as zone-file text (`$ORIGIN`-free, absolute names), for the RPZ list parser or a file.
    public static func zoneText(_ records: [ResourceRecord]) -> String {
        var out = ""
        out.reserveCapacity(records.count * 48)
        for rr in records {
            out += rr.description
            out += "\n"
        }
        return out
    }
}

extension TSIGVerification {
    var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

/// Lets a non-Sendable closure cross into the task that runs the transfer; it is called only
/// there, one record at a time, while the caller waits.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// An AXFR answer: the zone's SOA, its records, the SOA again.
struct AXFRReader {
    let zone: Name
    let maxRecords: Int
    var serial: UInt32? = nil
    var records: [ResourceRecord] = []

    init(zone: Name, maxRecords: Int) {
        self.zone = zone
        self.maxRecords = maxRecords
    }

    /// True at the closing SOA.
    mutating func add(_ rr: ResourceRecord) throws(RPZError) -> Bool {
        if serial == nil {
            guard rr.name == zone, case .soa(let s) = rr.rdata else {
                throw RPZError(.badResponse, "the first record of the transfer of \(zone) is not its SOA")
            }
            serial = s.serial
            records.append(rr)
            return false
        }
        if rr.type == .soa && rr.name == zone { return true }
        guard rr.name.isSubdomain(of: zone) else { throw RPZError(.badResponse, "\(rr.name) is outside the zone \(zone)") }
        records.append(rr)
        guard records.count <= maxRecords else { throw RPZError(.badResponse, "more than \(maxRecords) records in \(zone)") }
        return false
    }
}

/// An IXFR answer (RFC 1995 §4): the new SOA, then for each change the old SOA, its
/// deletions, the next SOA, its additions; the new SOA again. Or one SOA (nothing new), or
/// an AXFR-style answer (the whole zone).
struct IXFRReader {
    struct Key: Hashable {
        var name: Name
        var type: RRType
        var rdata: RData
        init(_ rr: ResourceRecord) {
            name = rr.name
            type = rr.type
            rdata = rr.rdata
        }
    }
    enum State { case start, afterFirst, deleting, adding, done }
    let zone: Name
    let known: UInt32
    let maxRecords: Int
    var state = State.start
    var newSOA: ResourceRecord? = nil
    var newSerial: UInt32 = 0
    var current: UInt32 = 0
    var full: AXFRReader
    var isFull = false
    var deleted: [Key: ResourceRecord] = [:]
    var added: [Key: ResourceRecord] = [:]
    var count = 0

    init(zone: Name, known: UInt32, maxRecords: Int) {
        self.zone = zone
        self.known = known
        self.maxRecords = maxRecords
        full = AXFRReader(zone: zone, maxRecords: maxRecords)
    }

    mutating func add(_ rr: ResourceRecord) throws(RPZError) -> Bool {
        count += 1
        guard count <= maxRecords else { throw RPZError(.badResponse, "more than \(maxRecords) records in the IXFR of \(zone)") }
        let soaSerial: UInt32? = rr.name == zone ? { if case .soa(let s) = rr.rdata { s.serial } else { nil } }() : nil
        if isFull { return try full.add(rr) }
        switch state {
        case .start:
            guard let s = soaSerial else { throw RPZError(.badResponse, "the IXFR of \(zone) does not start with its SOA") }
            newSOA = rr
            newSerial = s
            _ = try full.add(rr)
            if s == known || !Serial.greater(s, than: known) {
                state = .done
                return true
            }
            state = .afterFirst
            return false
        case .afterFirst:
            // The old SOA starts an incremental answer; anything else is a whole zone.
            if let s = soaSerial, s == known {
                current = s
                state = .deleting
                return false
            }
            isFull = true
            return try full.add(rr)
        case .deleting:
            if let s = soaSerial {
                current = s
                state = .adding
                return false
            }
            guard rr.name.isSubdomain(of: zone) else { throw RPZError(.badResponse, "\(rr.name) is outside the zone \(zone)") }
            let k = Key(rr)
            if added.removeValue(forKey: k) == nil { deleted[k] = rr }
            return false
        case .adding:
            if let s = soaSerial {
                if current == newSerial && s == newSerial {
                    state = .done
                    return true
                }
                guard s == current else { throw RPZError(.badResponse, "the IXFR of \(zone) breaks its serial chain at \(s)") }
                state = .deleting
                return false
            }
            guard rr.name.isSubdomain(of: zone) else { throw RPZError(.badResponse, "\(rr.name) is outside the zone \(zone)") }
            let k = Key(rr)
            if deleted.removeValue(forKey: k) == nil { added[k] = rr }
            return false
        case .done:
            throw RPZError(.badResponse, "records after the end of the IXFR of \(zone)")
        }
    }

    func result() throws(RPZError) -> TransferClient.IXFRResult {
        if isFull { return .full(serial: full.serial!, records: full.records) }
        guard let newSOA else { throw RPZError(.badResponse, "empty IXFR of \(zone)") }
        if newSerial == known || !Serial.greater(newSerial, than: known) { return .current(newSerial) }
        return .incremental(soa: newSOA, deleted: Array(deleted.values), added: Array(added.values))
    }
}

extension TransferClient {
    /// Applies an incremental transfer to zone text written by `zoneText`: the SOA line
    /// replaced, deleted records' lines dropped (matched without their TTL), added ones appended.
    public static func apply(to text: String, soa: ResourceRecord, deleted: [ResourceRecord], added: [ResourceRecord]) -> String {
        func key(_ line: Substring) -> String {
            let f = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            guard f.count == 5 else { return String(line) }
            return "\(f[0].lowercased())\t\(f[2])\t\(f[3])\t\(f[4])"
        }
        let gone = Set(deleted.map { key(Substring($0.description)) })
        var out = soa.description + "\n"
        out.reserveCapacity(text.utf8.count + added.count * 64)
        var first = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if first {
                // The old SOA.
                first = false
                continue
            }
            if gone.isEmpty || !gone.contains(key(line)) {
                out += line
                out += "\n"
            }
        }
        for rr in added {
            out += rr.description
            out += "\n"
        }
        return out
    }
}
