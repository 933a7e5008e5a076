import Synchronization

/// Open connections (TCP, DoT, DoH) per client (`ClientAddress.limitKey`: an IPv4 address or
/// an IPv6 /64), so that one client cannot take the whole `tcp.max-connections`. Consulted once
/// per connection, never per query; the table holds only clients with connections open.
public final class ClientConnectionLimiter: Sendable {
    public let limit: Int
    let exempt: @Sendable (ClientAddress) -> Bool
    let open = Mutex<[UInt64: Int]>([:])
    let refusedCount = Atomic<UInt64>(0)

    public init(limit: Int, exempt: @escaping @Sendable (ClientAddress) -> Bool = { _ in false }) {
        precondition(limit > 0)
        self.limit = limit
        self.exempt = exempt
    }

    /// Connections refused so far.
    public var refused: UInt64 { refusedCount.load(ordering: .relaxed) }

    /// Counts a new connection of `client`; false (and nothing counted) when it has `limit` open.
    /// A true must be matched by one `closed`.
    public func opened(_ client: ClientAddress) -> Bool {
        guard let key = client.limitKey, !exempt(client) else { return true }
        let ok = open.withLock { table -> Bool in
            let n = table[key, default: 0]
            guard n < limit else { return false }
            table[key] = n + 1
            return true
        }
        if !ok { refusedCount.add(1, ordering: .relaxed) }
        return ok
    }

    public func closed(_ client: ClientAddress) {
        guard let key = client.limitKey, !exempt(client) else { return }
        open.withLock { table in
            guard let n = table[key] else { return }
            table[key] = n > 1 ? n - 1 : nil
        }
    }
}
