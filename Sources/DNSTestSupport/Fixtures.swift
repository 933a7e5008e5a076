import NIOCore
import NIOPosix

/// Runs `body` with the one event loop of a fresh single-threaded group, shut down afterwards
/// (also when `body` throws).
@discardableResult
public func withEventLoop<R>(_ body: (any EventLoop) async throws -> R) async throws -> R {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let result = try await body(group.next())
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

/// Runs `body` with a started fake upstream, stopped afterwards (also when `body` throws).
@discardableResult
public func withFakeUpstream<R>(
    _ script: @escaping FakeUpstream.Script, _ body: (FakeUpstream) async throws -> R
) async throws -> R {
    let fake = try await FakeUpstream.start(script)
    do {
        let result = try await body(fake)
        await fake.stop()
        return result
    } catch {
        await fake.stop()
        throw error
    }
}

/// Measures how long `body` takes, in seconds (wall clock; for "fails fast" checks).
public func elapsedSeconds<R>(_ body: () async throws -> R) async rethrows -> (R, Double) {
    let start = NIODeadline.now()
    let result = try await body()
    let ns = (NIODeadline.now() - start).nanoseconds
    return (result, Double(ns) / 1e9)
}
