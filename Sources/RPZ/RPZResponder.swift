import DNSWire
import Foundation
import Logging
import Policy

/// Answers the requests an RPZ primary gets: SOA, AXFR (RFC 5936), IXFR (RFC 1995) and NOTIFY
/// (RFC 1996, for zones Bulwark follows as a secondary), each checked against the zone's ACL and
/// TSIG (RFC 8945). Transport-free: the listeners hand it bytes and a way to send messages.
public struct RPZResponder: Sendable {
    public let publisher: RPZPublisher
    public let keyring: TSIGKeyring
    /// A NOTIFY for a zone we do not publish: (zone, sender) → true when we follow that zone from
    /// that sender (a refresh is then due).
    public let notifyHandler: (@Sendable (Name, IPAddress) async -> Bool)?
    let logger: Logger
    /// Records per transfer message (each well under 64 KiB even at the longest names).
    public var recordsPerMessage = 150

    public init(
        publisher: RPZPublisher, keyring: TSIGKeyring = TSIGKeyring([]),
        notifyHandler: (@Sendable (Name, IPAddress) async -> Bool)? = nil, logger: Logger = Logger(label: "bulwark.rpz")
    ) {
        self.publisher = publisher
        self.keyring = keyring
        self.notifyHandler = notifyHandler
        self.logger = logger
    }

    public enum Transport: Sendable { case udp, tcp }

    /// Answers `request` from `client`; `send` is called once per message (several for a
    /// transfer, none when the request is dropped). `maxUDP` bounds UDP answers.
    public func respond(
        to request: [UInt8], from client: IPAddress, over transport: Transport, now: Date = Date(),
        send: ([UInt8]) async throws -> Void
    ) async throws {
        // Too short to answer, or itself a response: nothing is sent (no reflection).
        guard request.count >= 12, request[2] & 0x80 == 0 else { return }
        let time = UInt64(max(0, now.timeIntervalSince1970))
        let message: Message
        do {
            message = try Message(parsing: request)
        } catch {
            try await send(Self.bare(request, rcode: .formErr))
            return
        }
        var signer: Signer? = nil
        switch TSIG.verifyRequest(request, keyring: keyring, now: time) {
        case .unsigned: break
        case .valid(let key, let mac): signer = Signer(key: key, requestMAC: mac, time: time)
        case .failed(let error, let keyName, let mac):
            logger.notice(
                "rpz request with a bad TSIG",
                metadata: ["client": "\(client)", "key": "\(keyName?.description ?? "-")", "error": "\(error)"])
            let key = keyName.flatMap { keyring.key(named: $0) }
            if let reply = TSIG.errorResponse(to: request, error: error, key: key, requestMAC: mac, now: time) { try await send(reply) }
            return
        case .malformed(let why):
            logger.debug("rpz request with a malformed TSIG", metadata: ["client": "\(client)", "error": "\(why)"])
            try await send(Self.bare(request, rcode: .formErr))
            return
        }
        func reply(_ m: Message) async throws {
            guard var bytes = try? m.encode() else { return }
            if signer != nil { bytes = signer!.sign(bytes) }
            try await send(bytes)
        }
        var header = Header(id: message.header.id, flags: 0)
        header.isResponse = true
        header.opcode = message.header.opcode
        header.recursionDesired = message.header.recursionDesired
        var response = Message(header: header, questions: message.questions)
        if message.edns != nil { response.edns = EDNS() }
        func fail(_ rcode: Rcode) async throws {
            var r = response
            r.rcode = rcode
            try await reply(r)
        }
        guard message.header.opcode == .query || message.header.opcode == .notify else { return try await fail(.notImp) }
        guard message.questions.count == 1, let q = message.question, q.rrClass == .in || q.rrClass == .any else {
            return try await fail(.formErr)
        }
        if message.header.opcode == .notify {
            guard q.type == .soa, let handler = notifyHandler, await handler(q.name, client) else {
                logger.info("rpz NOTIFY refused", metadata: ["zone": "\(q.name)", "client": "\(client)"])
                return try await fail(.notAuth)
            }
            response.header.authoritative = true
            return try await reply(response)
        }
        guard let z = await publisher.zoneIndex(q.name) else {
            // Not one of our apexes: below one, only the apex itself is served; else not ours.
            return try await fail(.refused)
        }
        let config = publisher.zones[z]
        guard config.allowsTransfer(from: client) else {
            logger.notice("rpz request refused by ACL", metadata: ["zone": "\(q.name)", "client": "\(client)", "type": "\(q.type)"])
            return try await fail(.refused)
        }
        let keyName = signer?.key.name.description
        response.header.authoritative = true
        switch q.type {
        case .soa, .ns:
            let snap = await publisher.snapshot(z)
            response.answers = [q.type == .soa ? snap.soa : snap.ns]
            await publisher.record(z, client: "\(client)", key: keyName, serial: nil, kind: "soa")
            try await reply(response)
        case .axfr, .ixfr:
            if !config.requireKeys.isEmpty {
                guard let k = signer?.key.name, config.requireKeys.contains(where: { $0 == k }) else {
                    logger.notice("rpz transfer without a required key", metadata: ["zone": "\(q.name)", "client": "\(client)"])
                    return try await fail(.refused)
                }
            }
            if q.type == .axfr {
                guard transport == .tcp else { return try await fail(.formErr) }
                let snap = await publisher.snapshot(z)
                try await transfer(response, snap, signer: &signer, send: send)
                await publisher.record(z, client: "\(client)", key: keyName, serial: snap.serial, kind: "axfr")
                logger.info("rpz AXFR", metadata: ["zone": "\(q.name)", "client": "\(client)", "serial": "\(snap.serial)"])
                return
            }
            guard let clientSOA = message.authorities.first, case .soa(let soa) = clientSOA.rdata else {
                return try await fail(.formErr)
            }
            let current = await publisher.serial(z)
            if soa.serial == current || Serial.greater(soa.serial, than: current) {
                if soa.serial != current {
                    logger.warning(
                        "rpz IXFR from a serial ahead of ours; answered with our SOA",
                        metadata: ["zone": "\(q.name)", "client": "\(client)", "theirs": "\(soa.serial)", "ours": "\(current)"])
                }
                let snap = await publisher.snapshot(z)
                response.answers = [snap.soa]
                await publisher.record(z, client: "\(client)", key: keyName, serial: soa.serial, kind: "ixfr-current")
                return try await reply(response)
            }
            guard let (changes, snap) = await publisher.changes(z, from: soa.serial) else {
                // History gone: the whole zone (over UDP, the SOA tells it to come over TCP).
                let snap = await publisher.snapshot(z)
                if transport == .udp {
                    response.answers = [snap.soa]
                    return try await reply(response)
                }
                try await transfer(response, snap, signer: &signer, send: send)
                await publisher.record(z, client: "\(client)", key: keyName, serial: snap.serial, kind: "ixfr-axfr")
                logger.info("rpz IXFR answered in full", metadata: ["zone": "\(q.name)", "client": "\(client)", "from": "\(soa.serial)"])
                return
            }
            var records: [ResourceRecord] = [snap.soa]
            for c in changes {
                records.append(Self.soa(snap, serial: c.from))
                records += c.diff.deleted
                records.append(Self.soa(snap, serial: c.to))
                records += c.diff.added
            }
            records.append(snap.soa)
            if transport == .udp {
                var r = response
                r.answers = records
                let limit = Int(message.edns.map { max(512, $0.udpPayloadSize) } ?? 512) - (signer == nil ? 0 : 120)
                if let bytes = try? r.encode(maxSize: limit), bytes[2] & 0x02 == 0, bytes.count <= limit {
                    try await reply(r)
                } else {
                    response.answers = [snap.soa]
                    try await reply(response)
                }
            } else {
                try await stream(response, records[...], signer: &signer, send: send)
            }
            await publisher.record(z, client: "\(client)", key: keyName, serial: snap.serial, kind: "ixfr")
            logger.info(
                "rpz IXFR", metadata: ["zone": "\(q.name)", "client": "\(client)", "from": "\(soa.serial)", "to": "\(snap.serial)"])
        default:
            // Only the apex SOA/NS and transfers are served; the policy records are for transfer.
            try await fail(.refused)
        }
    }

    /// A whole zone: SOA, NS, the policy records, SOA; in messages of `recordsPerMessage`.
    func transfer(_ template: Message, _ snap: ZoneSnapshot, signer: inout Signer?, send: ([UInt8]) async throws -> Void) async throws {
        var walker = ZoneWalker(view: snap.view)
        var batch: [ResourceRecord] = [snap.soa, snap.ns]
        var first = true
        while true {
            let step = walker.next(limit: recordsPerMessage)
            batch += step
            let done = step.isEmpty
            if done { batch.append(snap.soa) }
            while batch.count >= recordsPerMessage || (done && !batch.isEmpty) {
                let n = min(recordsPerMessage, batch.count)
                try await message(template, Array(batch[0..<n]), first: first, signer: &signer, send: send)
                batch.removeFirst(n)
                first = false
            }
            if done { return }
        }
    }

    /// Prepared records in messages of `recordsPerMessage`.
    func stream(_ template: Message, _ records: ArraySlice<ResourceRecord>, signer: inout Signer?, send: ([UInt8]) async throws -> Void) async throws {
        var rest = records
        var first = true
        while !rest.isEmpty {
            let n = min(recordsPerMessage, rest.count)
            try await message(template, Array(rest.prefix(n)), first: first, signer: &signer, send: send)
            rest = rest.dropFirst(n)
            first = false
        }
    }

    func message(_ template: Message, _ records: [ResourceRecord], first: Bool, signer: inout Signer?, send: ([UInt8]) async throws -> Void) async throws {
        var m = template
        m.answers = records
        // RFC 5936 §2.2: later messages may leave the question out; EDNS only on the first.
        if !first {
            m.questions = []
            m.edns = nil
        }
        // Room for the TSIG record; records too big together (long local data) go in halves.
        var bytes = try m.encode(maxSize: 65535 - 512)
        if bytes[2] & 0x02 != 0 {
            guard records.count > 1 else { throw RPZError(.config, "a record of \(records[0].name) does not fit in a message") }
            let half = records.count / 2
            try await message(template, Array(records[..<half]), first: first, signer: &signer, send: send)
            try await message(template, Array(records[half...]), first: false, signer: &signer, send: send)
            return
        }
        if signer != nil { bytes = signer!.sign(bytes) }
        try await send(bytes)
    }

    static func soa(_ snap: ZoneSnapshot, serial: UInt32) -> ResourceRecord {
        var r = snap.soa
        if case .soa(var s) = r.rdata {
            s.serial = serial
            r.rdata = .soa(s)
        }
        return r
    }

    /// A header-only answer to a request we could not parse (its ID and opcode kept).
    static func bare(_ request: [UInt8], rcode: Rcode) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        out[0] = request[0]
        out[1] = request[1]
        out[2] = 0x80 | (request[2] & 0x78)
        out[3] = UInt8(rcode.rawValue & 0x0F)
        return out
    }
}

/// Signs the messages of one response: the first with the request's MAC, the rest chained.
struct Signer {
    let key: TSIGKey
    var previous: [UInt8]
    var first = true
    let time: UInt64

    init(key: TSIGKey, requestMAC: [UInt8], time: UInt64) {
        self.key = key
        self.previous = requestMAC
        self.time = time
    }

    mutating func sign(_ message: [UInt8]) -> [UInt8] {
        let (bytes, mac) = TSIG.signResponse(message, key: key, requestMAC: previous, timersOnly: !first, time: time)
        previous = mac
        first = false
        return bytes
    }
}
