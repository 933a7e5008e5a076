import DNSWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Policy
import RPZ
import ServiceLifecycle

/// Bulwark as an RPZ primary: every engine the policy publishes becomes zone changes (serial,
/// journal), served over AXFR/IXFR with NOTIFY to the secondaries, and written to zone files
/// where asked.
public final class RPZService: Service, Sendable {
    public let publisher: RPZPublisher
    let settings: RPZSettings
    let engines: AsyncStream<PolicyEngine>
    let feed: AsyncStream<PolicyEngine>.Continuation
    let logger: Logger
    let initialBase: BaseIdentity
    /// NOTIFY for zones followed from another primary (policy sources `axfr://`).
    let followed: (@Sendable (Name, IPAddress) async -> Bool)?

    public init(
        settings: RPZSettings, initial: PolicyEngine, dataDirectory: String, logger: Logger,
        followed: (@Sendable (Name, IPAddress) async -> Bool)? = nil
    ) {
        self.settings = settings
        self.logger = logger
        self.followed = followed
        initialBase = initial.baseIdentity
        publisher = RPZPublisher(zones: settings.zones, engine: initial, statePath: "\(dataDirectory)/rpz-serials.json", logger: logger)
        (engines, feed) = AsyncStream.makeStream(of: PolicyEngine.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Hands a new engine over (from the policy's publish callback; never blocks).
    public func publish(_ engine: PolicyEngine) { feed.yield(engine) }

    public func run() async throws {
        let keyring = TSIGKeyring(settings.keys)
        let group = MultiThreadedEventLoopGroup.singleton
        let notifier = Notifier(publisher: publisher, keyring: keyring, group: group, logger: logger)
        await notifier.start()
        let files = settings.files
        let publisher = self.publisher
        let logger = self.logger
        // One writer, in order: a file never goes back to an older serial.
        let (changedZones, changed) = AsyncStream.makeStream(of: Int.self)
        if !files.isEmpty {
            await publisher.onChange { z, _ in changed.yield(z) }
            for z in settings.zones.indices { changed.yield(z) }
        }
        let server = RPZServer(responder: RPZResponder(publisher: publisher, keyring: keyring, notifyHandler: followed, logger: logger), logger: logger)
        let engines = self.engines
        guard let listen = settings.listen else { return }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                var base = self.initialBase
                for await e in engines {
                    await publisher.publish(e)
                    // A new base means a diff over every name: give its garbage back (it ran on
                    // another thread than the policy build, after that build's trim).
                    if e.baseIdentity != base { PolicyService.releaseFreedMemory() }
                    base = e.baseIdentity
                }
            }
            tasks.addTask {
                try await server.run(address: listen, group: group)
            }
            tasks.addTask {
                for await z in changedZones { await RPZService.writeFile(publisher, zone: z, files: files, logger: logger) }
            }
            tasks.addTask {
                try? await gracefulShutdown()
            }
            _ = try await tasks.next()
            tasks.cancelAll()
        }
        feed.finish()
        changed.finish()
        await notifier.stop()
    }

    /// Writes a zone's file (write, then rename: readers see the old file or the new one).
    static func writeFile(_ publisher: RPZPublisher, zone z: Int, files: [Name: String], logger: Logger) async {
        let snap = await publisher.snapshot(z)
        guard let path = files[snap.apex] else { return }
        do {
            try RPZFetch.write(TransferClient.zoneText(snap.records()), to: path)
        } catch {
            logger.error("cannot write the RPZ zone file", metadata: ["zone": "\(snap.apex)", "path": "\(path)", "error": "\(error)"])
            return
        }
        logger.debug("rpz zone file written", metadata: ["zone": "\(snap.apex)", "path": "\(path)", "serial": "\(snap.serial)"])
    }
}
