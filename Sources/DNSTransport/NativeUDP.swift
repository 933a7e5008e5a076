import CBulwarkNet
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What the engine does with a datagram after the processor looked at it.
public enum DatagramDisposition {
    /// The answer is in the output buffer.
    case answer
    /// Say nothing.
    case drop
    /// Needs the event loop (upstream I/O): the engine hands the query to the loop's processor.
    case handoff
}

/// The UDP hot path of one engine thread: it answers what it can synchronously (cache hits,
/// errors, local data) and hands the rest to the event loop. Used from its thread only.
public protocol DatagramProcessor: AnyObject {
    /// Called once per received batch, before its datagrams.
    func beginBatch()
    func process(_ packet: UnsafeRawBufferPointer, client: ClientAddress, listener: Int, out: inout ByteBuffer) -> DatagramDisposition
    /// Called after each batch is sent.
    func endBatch()
    /// Called when the thread has had no datagram for a second: take what is pending (a new
    /// policy) so that nothing old is kept alive by an idle thread.
    func idle()
}

/// Settings of the native UDP engine.
public struct NativeUDPTuning: Sendable {
    /// Datagrams per recvmmsg/sendmmsg.
    public var batch: Int32 = 64
    /// Largest datagram accepted (longer ones are cut and answered FORMERR by the parser).
    public var maxDatagram: Int32 = 4096
    public var receiveBufferBytes: Int32 = 4 << 20
    public var sendBufferBytes: Int32 = 4 << 20
    public init() {}
}

/// Bulwark's native UDP data plane: per event loop, one thread with its own SO_REUSEPORT socket
/// that reads and writes in batches (recvmmsg with MSG_WAITFORONE, sendmmsg), without epoll and
/// without per-datagram allocations. Queries it cannot answer synchronously go to the event loop
/// of the same index, whose answer is sent on the same socket.
///
/// With more than one thread, a classic BPF program on the SO_REUSEPORT group sends every query
/// for a name to the same thread (`QueryShard`), so the per-thread caches partition the names.
///
/// Measured on the 2-core machine against a trivial responder: the NIO datagram channel's floor is
/// about 2 µs of CPU per query above this one (per-datagram envelopes, boxing, address text).
public final class NativeUDPEngine: Sendable {
    final class Worker: @unchecked Sendable {
        // Confined to the worker thread once started (except `stopping` and the descriptors).
        let processor: any DatagramProcessor
        /// One socket per listen address, with the listener index it belongs to.
        let sockets: [(fd: Int32, listener: Int)]
        let loop: any EventLoop
        let registry: ProcessorRegistry
        let tuning: NativeUDPTuning
        let logger: Logger
        let stopping = Atomic<Bool>(false)
        var thread: pthread_t? = nil

        init(
            processor: any DatagramProcessor, sockets: [(fd: Int32, listener: Int)], loop: any EventLoop,
            registry: ProcessorRegistry, tuning: NativeUDPTuning, logger: Logger
        ) {
            self.processor = processor
            self.sockets = sockets
            self.loop = loop
            self.registry = registry
            self.tuning = tuning
            self.logger = logger
        }

        func run() {
            guard let batch = bw_batch_new(tuning.batch, tuning.maxDatagram, tuning.maxDatagram) else {
                logger.critical("native udp: cannot allocate batch buffers")
                return
            }
            defer { bw_batch_free(batch) }
            var out = ByteBufferAllocator().buffer(capacity: Int(tuning.maxDatagram))
            var pfds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            while !stopping.load(ordering: .relaxed) {
                if sockets.count == 1 {
                    // One socket: block in recvmmsg itself (no poll, two syscalls per batch).
                    serve(sockets[0], batch: batch, out: &out, wait: true)
                } else {
                    let r = poll(&pfds, nfds_t(pfds.count), 1000)
                    if r == 0 { processor.idle() }
                    if r <= 0 { continue }
                    for (k, p) in pfds.enumerated() where p.revents != 0 {
                        serve(sockets[k], batch: batch, out: &out, wait: false)
                    }
                }
            }
        }

        func serve(_ socket: (fd: Int32, listener: Int), batch: OpaquePointer, out: inout ByteBuffer, wait: Bool) {
            let n = wait ? bw_recv(socket.fd, batch) : bw_recv_nowait(socket.fd, batch)
            if n < 0 {
                if !stopping.load(ordering: .relaxed) {
                    logger.error("native udp: receive failed", metadata: ["errno": "\(-n)"])
                }
                return
            }
            if n == 0 {
                // A second without datagrams (SO_RCVTIMEO), or a signal.
                if wait { processor.idle() }
                return
            }
            let capacity = Int(bw_out_capacity(batch))
            processor.beginBatch()
            for i in 0..<n {
                var len: Int32 = 0
                let data = bw_in_data(batch, i, &len)!
                var alen: socklen_t = 0
                let sa = bw_in_addr(batch, i, &alen)!
                guard alen > 0 else { continue }  // not a datagram (end of stream after shutdown)
                let client = ClientAddress(sa)
                let packet = UnsafeRawBufferPointer(start: data, count: Int(len))
                out.clear()
                switch processor.process(packet, client: client, listener: socket.listener, out: &out) {
                case .answer:
                    let size = out.readableBytes
                    guard size <= capacity else { continue }
                    out.withUnsafeReadableBytes { src in
                        UnsafeMutableRawPointer(bw_out_buf(batch, i)!).copyMemory(from: src.baseAddress!, byteCount: size)
                    }
                    bw_out_queue(batch, i, Int32(size), i)
                case .drop:
                    break
                case .handoff:
                    handoff(
                        ByteBuffer(bytes: packet), sockaddr: Array(UnsafeRawBufferPointer(start: sa, count: Int(alen))),
                        socket: socket)
                }
            }
            _ = bw_send(socket.fd, batch)
            processor.endBatch()
        }

        /// Runs the query through the event loop's processor and sends its answer on our socket.
        func handoff(_ packet: ByteBuffer, sockaddr: [UInt8], socket: (fd: Int32, listener: Int)) {
            let registry = self.registry
            let loop = self.loop
            loop.execute {
                let client = sockaddr.withUnsafeBytes { ClientAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr_t.self)) }
                let send: @Sendable (ByteBuffer) -> Void = { reply in
                    reply.withUnsafeReadableBytes { r in
                        sockaddr.withUnsafeBytes { a in
                            _ = bw_sendto(
                                socket.fd, r.baseAddress, r.count, a.baseAddress!.assumingMemoryBound(to: sockaddr_t.self),
                                socklen_t(a.count))
                        }
                    }
                }
                switch registry.processor(for: loop).processHandedOff(packet, client: client, listener: socket.listener) {
                case .now(let reply): send(reply)
                case .later(let future): future.whenSuccess { reply in if let reply { send(reply) } }
                case .drop: break
                }
            }
        }
    }

    let workers: [Worker]
    let stopped = Atomic<Bool>(false)
    let closed = Atomic<Bool>(false)

    /// Opens, for every event loop, one socket per listen address (SO_REUSEPORT) and starts one
    /// thread per loop serving them. `makeProcessor(i, loop)` builds the processor of loop `i`'s
    /// thread.
    public init(
        addresses: [(address: SocketAddress, listener: Int)], group: any EventLoopGroup, registry: ProcessorRegistry,
        tuning: NativeUDPTuning = NativeUDPTuning(), logger: Logger,
        makeProcessor: (Int, any EventLoop) -> any DatagramProcessor
    ) throws {
        var workers: [Worker] = []
        var opened: [Int32] = []
        for (i, loop) in group.makeIterator().enumerated() {
            var sockets: [(fd: Int32, listener: Int)] = []
            for (address, listener) in addresses {
                let fd: Int32 = address.withSockAddr { sa, len in
                    bw_udp_open(sa, socklen_t(len), tuning.receiveBufferBytes, tuning.sendBufferBytes)
                }
                guard fd >= 0 else {
                    for f in opened { bw_close(f) }
                    throw TransportError(.bind, "UDP \(address): \(String(cString: strerror(-fd)))")
                }
                opened.append(fd)
                sockets.append((fd, listener))
            }
            workers.append(
                Worker(
                    processor: makeProcessor(i, loop), sockets: sockets, loop: loop, registry: registry, tuning: tuning,
                    logger: logger))
        }
        // Steer each query name to one thread, so that its cache entry lives in one place
        // (consistent TTLs, one upstream query per name, the memory bound shared, not copied).
        let loops = workers.count
        if loops > 1 {
            for k in addresses.indices {
                let rc = bw_attach_qname_steering(workers[0].sockets[k].fd, UInt32(loops))
                if rc != 0 {
                    logger.warning(
                        "native udp: cannot steer queries by name; each thread caches on its own",
                        metadata: ["errno": "\(-rc)"])
                }
            }
        }
        self.workers = workers
        for w in workers {
            let box = Unmanaged.passRetained(w)
            var tid = pthread_t()
            let rc = pthread_create(
                &tid, nil,
                { arg in
                    let worker = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
                    worker.run()
                    return nil
                }, box.toOpaque())
            if rc != 0 {
                box.release()
                logger.critical("native udp: cannot start thread", metadata: ["rc": "\(rc)"])
            } else {
                w.thread = tid
            }
        }
    }

    /// Stops reading: wakes and joins the threads. Sockets stay open so that answers still on
    /// their way from the event loops can be sent; `close()` closes them.
    public func stopReading() {
        // Once: joining a thread twice is undefined behaviour.
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for w in workers {
            w.stopping.store(true, ordering: .relaxed)
            for s in w.sockets { bw_shutdown(s.fd) }
        }
        for w in workers {
            if let t = w.thread { pthread_join(t, nil) }
        }
    }

    public func close() {
        // Once: a descriptor closed twice may by then belong to someone else.
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for w in workers { for s in w.sockets { bw_close(s.fd) } }
    }
}

typealias sockaddr_t = sockaddr

/// Which event loop owns a query name: the same choice the kernel makes for native UDP sockets
/// (see `bw_attach_qname_steering`), for queries that arrive over TCP.
public enum QueryShard {
    public static func owner(of packet: ByteBuffer, loops: Int) -> Int {
        guard loops > 1 else { return 0 }
        let h = packet.withUnsafeReadableBytes { p in
            bw_qname_steering_hash(p.baseAddress?.assumingMemoryBound(to: UInt8.self), p.count)
        }
        return Int(h % UInt32(loops))
    }
}

/// Whether the host can use an address at all (e.g. no IPv6 in some containers).
public enum AddressProbe {
    /// True unless binding a UDP socket to `address` with port 0 fails with EADDRNOTAVAIL or
    /// EAFNOSUPPORT (other failures, like permissions, are for the real bind to report).
    public static func isAvailable(_ address: SocketAddress) -> Bool {
        var probe = address
        probe.port = 0
        let fd: Int32 = probe.withSockAddr { sa, len in bw_udp_open(sa, socklen_t(len), 0, 0) }
        if fd >= 0 {
            bw_close(fd)
            return true
        }
        return -fd != EADDRNOTAVAIL && -fd != EAFNOSUPPORT
    }
}
