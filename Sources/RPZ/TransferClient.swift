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
        let (query, id, mac) = makeQuery(zone, type: .axfr)
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
            throw RPZError(.transfer, "AXFR of \(zone): cannot connect to \(address): \(error)")
        }
        let deadline = ContinuousClock.now + .nanoseconds(timeout.nanoseconds)
        let result: Result<(UInt32, [ResourceRecord]), RPZError> = await withTaskGroup(of: Result<(UInt32, [ResourceRecord]), RPZError>?.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline)
                if Task.isCancelled { return nil }
                try? await channel.channel.close()
                return .failure(RPZError(.transfer, "AXFR of \(zone) from \(address): timed out"))
            }
            group.addTask {
                do {
                    return .success(try await self.read(channel, zone: zone, query: query, id: id, mac: mac))
                } catch let e as RPZError {
                    return .failure(e)
                } catch {
                    return .failure(RPZError(.transfer, "AXFR of \(zone) from \(address): \(error)"))
                }
            }
            var first: Result<(UInt32, [ResourceRecord]), RPZError>? = nil
            while first == nil, let r = await group.next() { first = r }
            group.cancelAll()
            return first ?? .failure(RPZError(.transfer, "AXFR of \(zone) from \(address): no result"))
        }
        try? await channel.channel.close()
        switch result {
        case .success(let (serial, records)): return (serial, records)
        case .failure(let e): throw e
        }
    }

    func read(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, zone: Name, query: [UInt8], id: UInt16, mac: [UInt8]) async throws -> (UInt32, [ResourceRecord]) {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: query))
            var verifier = key.map { TSIGStreamVerifier(key: $0, requestMAC: mac) }
            var records: [ResourceRecord] = []
            var serial: UInt32? = nil
            for try await frame in inbound {
                let bytes = Array(frame.readableBytesView)
                guard bytes.count >= 12, bytes[0] == UInt8(id >> 8), bytes[1] == UInt8(id & 0xFF) else {
                    throw RPZError(.badResponse, "AXFR of \(zone) from \(address): answer with another ID")
                }
                if verifier != nil {
                    let v = verifier!.verify(bytes, now: now())
                    if case .failed(let e, _, _) = v { throw RPZError(.tsig, "AXFR of \(zone) from \(address): \(e)") }
                    if case .malformed(let why) = v { throw RPZError(.tsig, "AXFR of \(zone) from \(address): \(why)") }
                }
                let m: Message
                do {
                    m = try Message(parsing: bytes)
                } catch {
                    throw RPZError(.badResponse, "AXFR of \(zone) from \(address): \(error)")
                }
                guard m.rcode == .noError else { throw RPZError(.transfer, "AXFR of \(zone) from \(address): \(m.rcode)") }
                for rr in m.answers {
                    if serial == nil {
                        guard rr.name == zone, case .soa(let s) = rr.rdata else {
                            throw RPZError(.badResponse, "AXFR of \(zone) from \(address): the first record is not the zone's SOA")
                        }
                        serial = s.serial
                        records.append(rr)
                        continue
                    }
                    if rr.type == .soa && rr.name == zone {
                        if let verifier {
                            let v = verifier.finish()
                            if !v.isValid { throw RPZError(.tsig, "AXFR of \(zone) from \(address): \(v)") }
                        }
                        return (serial!, records)
                    }
                    guard rr.name.isSubdomain(of: zone) else {
                        throw RPZError(.badResponse, "AXFR of \(zone) from \(address): \(rr.name) is outside the zone")
                    }
                    records.append(rr)
                    if records.count > maxRecords {
                        throw RPZError(.badResponse, "AXFR of \(zone) from \(address): more than \(maxRecords) records")
                    }
                }
            }
            throw RPZError(.transfer, "AXFR of \(zone) from \(address): connection closed before the closing SOA (truncated transfer)")
        }
    }

    func makeQuery(_ zone: Name, type: RRType) -> ([UInt8], UInt16, [UInt8]) {
        let id = UInt16.random(in: 0...UInt16.max)
        let m = Message(header: Header(id: id, flags: 0), questions: [Question(name: zone, type: type)])
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
