import DNSWire
import Foundation
import NIOCore
import NIOPosix
import RPZ

/// `bulwark rpz fetch`: AXFR from a primary into a zone file, once or following the serial.
public enum RPZFetch {
    public static func run(address: SocketAddress, zone: Name, key: TSIGKey?, output: String, interval: Double) async throws {
        let client = TransferClient(address: address, key: key)
        let group = MultiThreadedEventLoopGroup.singleton
        var written: UInt32? = nil
        while true {
            do {
                let current = written == nil ? nil : try await client.serial(of: zone, group: group)
                if written == nil || current != written {
                    let (serial, records) = try await client.axfr(zone, group: group)
                    try write(TransferClient.zoneText(records), to: output)
                    written = serial
                    FileHandle.standardOutput.write(Data("\(zone) serial \(serial): \(records.count) records written to \(output)\n".utf8))
                }
            } catch {
                // Following: keep the file in force and try again; once: fail.
                guard interval > 0 else { throw AppError(.startup, "\(error)") }
                FileHandle.standardError.write(Data("bulwark rpz fetch: \(error)\n".utf8))
            }
            guard interval > 0 else { return }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    /// A zone file, replaced whole (a temporary file renamed into place: readers such as Knot
    /// Resolver's watcher see the old file or the new one).
    static func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AppError(.startup, "cannot write \(path): \(error)")
        }
    }
}
