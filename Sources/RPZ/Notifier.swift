import DNSTransport
import DNSWire
import Foundation
import Logging
import NIOCore

/// Sends NOTIFY (RFC 1996) to a zone's secondaries on every change, over UDP, retrying with
/// growing pauses until a matching answer arrives. A newer serial replaces the retries of an
/// older one.
public actor Notifier {
    let publisher: RPZPublisher
    let keyring: TSIGKeyring
    let group: any EventLoopGroup
    let logger: Logger
    /// Pauses between attempts (the last repeats until `maxAttempts`).
    public var backoff: [Double] = [1, 2, 4, 8, 15, 30, 60]
    public var maxAttempts = 10
    public var timeout: TimeAmount = .seconds(2)
    var tasks: [String: Task<Void, Never>] = [:]

    public init(publisher: RPZPublisher, keyring: TSIGKeyring, group: any EventLoopGroup, logger: Logger = Logger(label: "bulwark.rpz")) {
        self.publisher = publisher
        self.keyring = keyring
        self.group = group
        self.logger = logger
    }

    /// Subscribes to the publisher's changes.
    public func start() async {
        await publisher.onChange { [weak self] zone, serial in
            guard let self else { return }
            Task { await self.changed(zone: zone, serial: serial) }
        }
    }

    public func stop() {
        for t in tasks.values { t.cancel() }
        tasks = [:]
    }

    public func changed(zone z: Int, serial: UInt32) {
        let config = publisher.zones[z]
        for target in config.notify {
            let id = "\(config.apex) \(target)"
            tasks[id]?.cancel()
            tasks[id] = Task { await self.deliver(zone: z, apex: config.apex, serial: serial, to: target) }
        }
    }

    func deliver(zone z: Int, apex: Name, serial: UInt32, to target: NotifyTarget) async {
        let key = target.key.flatMap { keyring.key(named: $0) }
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: target.host.description, port: target.port)
        } catch {
            await publisher.recordNotify(z, target: "\(target)", serial: serial, acknowledged: false, attempts: 0, error: "\(error)")
            return
        }
        var attempt = 0
        while attempt < maxAttempts && !Task.isCancelled {
            attempt += 1
            let result = await Self.send(apex: apex, serial: serial, to: address, key: key, on: group.next(), timeout: timeout)
            switch result {
            case .success(let rcode):
                let ok = rcode == .noError
                await publisher.recordNotify(
                    z, target: "\(target)", serial: serial, acknowledged: ok, attempts: attempt, error: ok ? nil : "answered \(rcode)")
                if !ok { logger.warning("rpz NOTIFY refused", metadata: ["zone": "\(apex)", "target": "\(target)", "rcode": "\(rcode)"]) }
                // An answer, even a refusal, ends the retries: asking again changes nothing.
                return
            case .failure(let error):
                await publisher.recordNotify(z, target: "\(target)", serial: serial, acknowledged: false, attempts: attempt, error: "\(error)")
                logger.debug("rpz NOTIFY unanswered", metadata: ["zone": "\(apex)", "target": "\(target)", "attempt": "\(attempt)"])
            }
            let pause = backoff[min(attempt - 1, backoff.count - 1)]
            try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
        }
        if !Task.isCancelled {
            logger.warning("rpz NOTIFY never acknowledged", metadata: ["zone": "\(apex)", "target": "\(target)", "attempts": "\(attempt)"])
        }
    }

    /// One NOTIFY exchange; the answer's rcode, or why there was none.
    static func send(
        apex: Name, serial: UInt32, to address: SocketAddress, key: TSIGKey?, on loop: any EventLoop, timeout: TimeAmount
    ) async -> Result<Rcode, RPZError> {
        let id = UInt16.random(in: 0...UInt16.max)
        var header = Header(id: id, flags: 0)
        header.opcode = .notify
        header.authoritative = true
        let question = Question(name: apex, type: .soa)
        let m = Message(header: header, questions: [question])
        guard var bytes = try? m.encode() else { return .failure(RPZError(.config, "cannot encode NOTIFY for \(apex)")) }
        var mac: [UInt8] = []
        if let key {
            let now = UInt64(Date().timeIntervalSince1970)
            (bytes, mac) = TSIG.sign(bytes, key: key, time: now)
        }
        let requestMAC = mac
        do {
            let answer = try await UpstreamExchange.udp(bytes, to: address, on: loop, timeout: timeout) { reply in
                guard reply.count >= 12, reply[0] == UInt8(id >> 8), reply[1] == UInt8(id & 0xFF), reply[2] & 0x80 != 0,
                    (reply[2] >> 3) & 0x0F == Opcode.notify.rawValue
                else { return false }
                guard let parsed = try? Message(parsing: reply) else { return false }
                // RFC 1996 §4.7: the answer names the zone (some secondaries leave the question out).
                return parsed.questions.isEmpty || parsed.question?.name == apex
            }.get()
            if let key, !requestMAC.isEmpty, answer[3] & 0x0F == 0 {
                let now = UInt64(Date().timeIntervalSince1970)
                if case .failed(let e, _, _) = TSIG.verifyResponse(answer, key: key, requestMAC: requestMAC, now: now) {
                    return .failure(RPZError(.tsig, "NOTIFY answer from \(address): \(e)"))
                }
            }
            return .success(Rcode(UInt16(answer[3] & 0x0F)))
        } catch {
            return .failure(RPZError(.transfer, "NOTIFY to \(address): \(error)"))
        }
    }
}
