import CLiburing
import CairnEngine
import CairnIO
import CairnStorage
import CairnWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The thread-per-core network service on io_uring (``ServerConfiguration/IOModel/ioUring``).
///
/// One thread per service thread, each owning one ring. A thread accepts connections from the
/// shared listening socket, receives their bytes, splits frames, runs each single-record
/// transaction to completion (or to its device I/O) and queues the reply; all the sends and
/// receives prepared while handling a batch of completions go to the kernel in one
/// `io_uring_enter`, which also waits for the next completions. So a transaction costs no
/// syscall of its own, and a thread is preempted by the clients it wakes at most once per batch
/// instead of once per reply.
///
/// Work that finishes on another thread (a device read, a durability completion, a batch or
/// scan frame from the thread pool) comes back through the loop's inbox, whose eventfd the
/// ring watches: a `Resume` for this loop is "append to the inbox, write the eventfd once".
///
/// Requests of one connection are answered strictly in order, one at a time, as on the NIO
/// path; batch, scan and blocking info requests run on the thread pool.
final class UringService: Sendable {
    private let loops: [UringLoop]
    private let listenSocket: Int32
    let port: Int

    private init(loops: [UringLoop], listenSocket: Int32, port: Int) {
        self.loops = loops
        self.listenSocket = listenSocket
        self.port = port
    }

    /// Binds the listening socket and starts `configuration.eventLoopCount` service threads.
    static func start(context: ServerContext, threadPool: NIOThreadPool, timers: any EventLoop) throws -> UringService {
        let configuration = context.configuration
        let (fd, port) = try bindListener(host: configuration.host, port: configuration.port)
        var loops: [UringLoop] = []
        let balancer = ConnectionBalancer()
        for index in 0..<configuration.eventLoopCount {
            let loop = UringLoop(index: index, listenSocket: fd, context: context, threadPool: threadPool, timers: timers,
                                 balancer: balancer)
            balancer.register(loop)
            do {
                try loop.start()
            } catch {
                for started in loops { started.requestStop(graceMs: 0) }
                for started in loops { started.join() }
                close(fd)
                throw error
            }
            loops.append(loop)
        }
        return UringService(loops: loops, listenSocket: fd, port: port)
    }

    /// Stops accepting, lets each connection finish what it received (streams stop at a frame
    /// boundary), closes connections still busy after `graceMs`, and joins the threads.
    func stop(graceMs: Int64) {
        for loop in loops { loop.requestStop(graceMs: graceMs) }
        // Connections already in the listen backlog were accepted by the client's kernel and may
        // have sent requests: the loops take them in before the socket is shut down (which would
        // reset them), and answer them like the others.
        let deadline = ContinuousClock.now + .seconds(2)
        while !loops.allSatisfy(\.hasTakenBacklog) && ContinuousClock.now < deadline { usleep(1000) }
        // Wakes the accepts in flight (they complete with an error) and refuses new connections.
        shutdown(listenSocket, Int32(SHUT_RDWR))
        for loop in loops { loop.join() }
        close(listenSocket)
    }

    /// socket + SO_REUSEADDR + bind + listen; `any` binds `::` for IPv4 and IPv6.
    private static func bindListener(host: String, port: Int) throws -> (Int32, Int) {
        let bindHost = host == "any" ? "::" : host
        let isV6 = bindHost.contains(":")
        // Non-blocking, so a stopping loop can take the backlog with accept4 until EAGAIN
        // (io_uring's accept waits by itself either way).
        let fd = socket(isV6 ? AF_INET6 : AF_INET,
                        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw CairnServerError.bindFailed(host: host, port: port, reason: "socket: \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if isV6 {
            var zero: Int32 = 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
        }
        // The address in a sockaddr_storage, then one bind for either family.
        var address = sockaddr_storage()
        let parsed = withUnsafeMutablePointer(to: &address) { storage -> Bool in
            if isV6 {
                return storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    v6.pointee.sin6_family = sa_family_t(AF_INET6)
                    v6.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                    return inet_pton(AF_INET6, bindHost, &v6.pointee.sin6_addr) == 1
                }
            }
            return storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                v4.pointee.sin_family = sa_family_t(AF_INET)
                v4.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                return inet_pton(AF_INET, bindHost, &v4.pointee.sin_addr) == 1
            }
        }
        guard parsed else {
            close(fd)
            throw CairnServerError.bindFailed(host: host, port: port, reason: "not an IPv\(isV6 ? 6 : 4) address")
        }
        let addressLength = socklen_t(isV6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, addressLength) } }
        guard rc == 0, listen(fd, 512) == 0 else {
            let reason = errnoText()
            close(fd)
            throw CairnServerError.bindFailed(host: host, port: port, reason: reason)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let boundPort: UInt16 = withUnsafePointer(to: &bound) { pointer in
            isV6 ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port }
                 : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }
        }
        return (fd, Int(UInt16(bigEndian: boundPort)))
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// Spreads connections evenly over the service threads.
///
/// Every loop has an accept armed on the shared listening socket, and the kernel wakes them in
/// an order of its own: measured with 8 client connections, one thread got about four times
/// the other's work, so one core capped the server while the other idled. The loop whose
/// accept completes asks for the loop with the fewest connections and hands the socket over
/// through that loop's inbox: one hand-off per connection, none per transaction.
final class ConnectionBalancer: Sendable {
    private let loops = Mutex<[UringLoop]>([])

    func register(_ loop: UringLoop) {
        loops.withLock { $0.append(loop) }
    }

    /// The loop that should own the next connection accepted by `caller`: the one with the
    /// fewest connections, `caller` on a tie or while any loop is stopping. Its connection
    /// count is already raised.
    func place(acceptedBy caller: UringLoop) -> UringLoop {
        loops.withLock { loops in
            var chosen = caller
            var fewest = caller.connectionGauge.load(ordering: .relaxed)
            if !loops.contains(where: \.isStopping) {
                for loop in loops where loop !== caller {
                    let count = loop.connectionGauge.load(ordering: .relaxed)
                    if count < fewest {
                        chosen = loop
                        fewest = count
                    }
                }
            }
            chosen.connectionGauge.add(1, ordering: .relaxed)
            return chosen
        }
    }
}

/// One service thread: its ring, its connections and its inbox.
///
/// Everything but the inbox, the stop request and the thread handle is confined to the loop's
/// own thread (checked with `assertOnLoop` in debug builds); that is why the type may be
/// `@unchecked Sendable`: closures that capture it on other threads only call `enqueue`.
final class UringLoop: @unchecked Sendable {
    /// What a completion is for (the top byte of its user data; the low 32 bits are a slot).
    private enum Tag: UInt64 {
        case accept = 1, inbox = 2, receive = 3, send = 4, deviceRead = 5
    }

    /// Free space a receive is given at least (the area grows for a bigger frame).
    static let receiveBytesMin = 8 * 1024
    /// A new connection's input area; its output areas start at ``outputBytesInitial`` and go
    /// back to it after a big reply, so an idle connection holds about 24 KiB, not a frame's worth.
    static let inputBytesInitial = 16 * 1024
    static let outputBytesInitial = 4 * 1024
    static let ringEntries = 4096
    /// The registered file table's size at most (it costs 8 bytes and a bit per entry).
    static let fixedFileCountMax = 65_536
    /// Without DEFER_TASKRUN: completions (socket data, device reads finished by io_uring's
    /// workers) are run whenever the thread enters the kernel, not only when it waits. Measured
    /// side by side (hack/bench, 16 connections, 1 KiB, alternating, two runs each): RU,50
    /// 54k tps, read p99 1.8-2.0 ms, against 33-47k tps and p99 2.9-3.3 ms with DEFER_TASKRUN,
    /// at the same CPU per transaction.
    static let ringFlags: Ring.SetupFlags = [.cooperativeTaskRun, .singleIssuer]
    /// Received bytes held for requests not yet started, above which a connection is not read
    /// (unless a frame is still incomplete).
    static let inputBytesHeldMax = 256 * 1024

    let index: Int
    private let listenSocket: Int32
    private let context: ServerContext
    /// `context.counters`, unretained (the context keeps it).
    private let countersRef: Unretained<ServerCounters>
    private let threadPool: NIOThreadPool
    /// Keeps this loop's timers (stream throttles, refusal lingers, the stop deadline's ticks).
    private let timers: any EventLoop
    private let logger: Logger
    private let frameDecoder: FrameDecoder

    // Cross-thread state.
    private let inbox = Mutex<[InboxWork]>([])
    /// The inbox's work being run (the loop's thread only), its memory kept for the next swap.
    @exclusivity(unchecked)
    private var drainedInbox: [InboxWork] = []

    /// Work in the inbox: a closure, or a durability callback with its outcome. An enum, not
    /// bare closures: an array of closures stores them at the generic abstraction, and
    /// appending one allocated a reabstraction thunk every time.
    private enum InboxWork {
        case run(@Sendable () -> Void)
        case durable(DeviceWriter.DurableCallback, StorageError?)

        func callAsFunction() {
            switch self {
            case .run(let work): work()
            case .durable(let callback, let error): callback(error)
            }
        }
    }
    private let inboxSignalled = Atomic<Bool>(false)
    private let eventFD: Int32
    private let stopRequest = Atomic<Int64>(-1)  // grace in ms once stopping, else -1
    private let backlogTaken = Atomic<Bool>(false)
    private let finished = ConditionLock(false)
    private let balancer: ConnectionBalancer
    /// Connections this loop owns or has been handed (``ConnectionBalancer``).
    let connectionGauge = Atomic<Int>(0)

    // Loop-confined state.
    @exclusivity(unchecked)
    private var ring: Ring?
    /// Entries in the ring's registered file table; a connection whose slot is below this uses
    /// its entry (slot = entry), the others their descriptor. 0 when the kernel refused a table.
    private var fixedFileCount = 0
    @exclusivity(unchecked)
    private var connections: [UringConnection?] = []
    @exclusivity(unchecked)
    private var freeSlots: [Int] = []
    private var openCount = 0
    private var isAccepting = false
    private var acceptInFlight = false
    private var isDraining = false
    private var forceCloseAt: ContinuousClock.Instant?
    private var drainStartedAt: ContinuousClock.Instant?
    /// How long after a stop begins idle connections stay open, so requests already sent are
    /// received (their completions are only reaped when the loop next waits).
    static let drainIdleCloseMs = 20
    private var eventValue = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var threadID: UInt = 0
    /// Encodes single-record replies (keeps its capacity across replies).
    @exclusivity(unchecked)
    private var replyWriter = WireWriter(capacityBytes: 4096)
    /// Connections whose input should be looked at again before the next wait.
    @exclusivity(unchecked)
    private var ready: [UringConnection] = []
    /// The digests ``warmIndexPaths()`` hands the index (its capacity is the index's batch limit).
    @exclusivity(unchecked)
    private var warmDigests = [Digest](repeating: Digest(word0: 0, word1: 0, word2: 0), count: 32)
    @exclusivity(unchecked)
    private var lastWarmNamespace: (name: [UInt8], namespace: Namespace)?

    init(index: Int, listenSocket: Int32, context: ServerContext, threadPool: NIOThreadPool, timers: any EventLoop,
         balancer: ConnectionBalancer) {
        self.balancer = balancer
        self.timers = timers
        self.index = index
        self.listenSocket = listenSocket
        self.context = context
        countersRef = Unretained(context.counters)
        self.threadPool = threadPool
        self.logger = context.logger
        self.frameDecoder = FrameDecoder(bodySizeBytesMax: context.configuration.frameSizeBytesMax)
        self.eventFD = cairn_eventfd_create()
        continuationsRef = Unretained(continuations)
    }

    deinit {
        if eventFD >= 0 { close(eventFD) }
        eventValue.deallocate()
    }

    // MARK: - lifecycle (any thread)

    func start() throws {
        guard eventFD >= 0 else {
            throw CairnServerError.invalidConfiguration(["eventfd: \(String(cString: strerror(-eventFD)))"])
        }
        let setup = ConditionLock<Result<Void, SetupError>?>(nil)
        finished.withLock { $0 = false }
        let name = "cairn-svc-\(index)"
        let cpu = context.configuration.pinnedCPU(forServiceThread: index)
        let thread = Thread { [self] in
            // Named for ps/top/perf (Foundation's name does not reach the kernel's comm).
            cairn_set_thread_name(name)
            do throws(SetupError) {
                // Pinned before the ring is made, so its memory is allocated from this CPU.
                if let cpu {
                    do throws(CPUAffinity.AffinityError) { try CPUAffinity.pinCurrentThread(to: cpu) } catch {
                        throw .pin(error)
                    }
                }
                do throws(CairnIO.IOError) { ring = try Ring(entries: Self.ringEntries, flags: Self.ringFlags) } catch {
                    throw .ring(error)
                }
                setup.withLock { $0 = .success(()) }
                setup.broadcast()
            } catch {
                setup.withLock { $0 = .failure(error) }
                setup.broadcast()
                finished.withLock { $0 = true }
                finished.broadcast()
                return
            }
            run()
            connections.removeAll()
            ring = nil
            finished.withLock { $0 = true }
            finished.broadcast()
        }
        thread.name = name
        thread.start()
        let outcome = setup.wait(until: { $0 != nil }) { $0! }
        switch outcome {
        case .success: break
        case .failure(.ring(let error)):
            throw CairnServerError.invalidConfiguration([
                "network-io-model io_uring: cannot set up a ring for service thread \(index): \(error); "
                    + "set `network-io-model epoll` in the service stanza to serve sockets with epoll"])
        case .failure(.pin(let error)):
            throw CairnServerError.pinFailed("service thread \(index)", error)
        }
    }

    /// Why a service thread could not start.
    private enum SetupError: Error {
        case pin(CPUAffinity.AffinityError)
        case ring(CairnIO.IOError)
    }

    /// Whether this loop has accepted what was in the listen backlog when the stop came.
    var hasTakenBacklog: Bool { backlogTaken.load(ordering: .acquiring) }

    /// Whether a stop was requested (from any thread).
    var isStopping: Bool { stopRequest.load(ordering: .acquiring) >= 0 }

    func requestStop(graceMs: Int64) {
        stopRequest.store(max(graceMs, 0), ordering: .releasing)
        wake()
    }

    func join() {
        finished.wait(until: { $0 }) { _ in }
    }

    /// Runs `work` on this loop's thread, soon (from any thread).
    func enqueue(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(.run(work)) }
        wake()
    }

    /// Runs a durability callback with its outcome on this loop's thread, soon (from any thread).
    func enqueueDurable(_ callback: @escaping DeviceWriter.DurableCallback, _ error: StorageError?) {
        inbox.withLock { $0.append(.durable(callback, error)) }
        wake()
    }

    private func wake() {
        if !inboxSignalled.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = write(eventFD, &one, 8)
        }
    }

    /// The engine's continuation onto this loop, with device reads on this loop's ring, and the
    /// one batch rows and scan records continue with (both set once the ring exists, on the
    /// loop's thread).
    ///
    /// Boxed, and handed to each transaction through the unretained reference: passed by value
    /// out of a stored property, each struct was copied per request, a retain and a release of
    /// each of its five references (`hack/bench-allocs --arc`).
    private final class Continuations: Sendable {
        let resume: Resume
        let streamResume: Resume
        init(resume: Resume, streamResume: Resume) {
            self.resume = resume
            self.streamResume = streamResume
        }
    }
    /// Keeps ``continuationsRef``'s object.
    private var continuations = Continuations(resume: .inline, streamResume: .inline)
    @exclusivity(unchecked)
    private var continuationsRef: Unretained<Continuations>
    @exclusivity(unchecked)
    private var deviceReads: RingReads?

    // MARK: - the loop (its own thread)

    private func run() {
        threadID = ThreadIdentity.current
        let ring = self.ring!
        registerFiles(ring)
        let reads = RingReads(ring: ring, userDataTag: Tag.deviceRead.rawValue) { [self] work in enqueue(work) }
        if let refusal = reads.registrationError {
            // Served all the same, each read pinning its own pages (RLIMIT_MEMLOCK, usually).
            logger.info("service thread reads records into unregistered buffers: the kernel refused to register \(RingReads.registeredSlotCountDefault * RingReads.registeredSlotBytes / 1024) KiB for them",
                        metadata: ["thread": "\(index)", "error": "\(refusal)"])
        }
        deviceReads = reads
        // Memory this thread decodes records and builds writes in, reused from one transaction
        // to the next (each checks that it is used on this thread).
        let records = RecordScratch()
        // A record that memory does not hold is tried in the page cache at once, inside the
        // engine's first step: a hit needs no continuation at all.
        records.pageCacheReads = reads
        let operations = OperationScratch()
        let resume = Resume(deviceReads: reads, records: records, operations: operations,
                            deliverDurable: DeviceWriter.DurableDelivery { [self] callback, error in enqueueDurable(callback, error) }) { [self] work in
            enqueue(work)
        }
        // Batch rows and scan records wait on the pool; their reads go on this ring and their
        // continuations run where the read completes (this thread), with no reader thread.
        let streamResume = Resume(deviceReads: reads, records: records, operations: operations) { $0() }
        continuations = Continuations(resume: resume, streamResume: streamResume)
        continuationsRef = Unretained(continuations)
        let cqes = UnsafeMutableBufferPointer<cairn_cqe>.allocate(capacity: 1024)
        defer { cqes.deallocate() }
        isAccepting = true
        armAccept()
        armInbox()
        while true {
            do {
                try ring.submit(waitCount: 1)
            } catch {
                logger.critical("io_uring wait failed on a service thread", metadata: ["error": "\(error)"])
                return
            }
            while true {
                let count = ring.reap(into: cqes)
                if count == 0 { break }
                for i in 0..<count { handle(cqes[i]) }
            }
            processReady()
            if checkStop() { break }
        }
    }

    /// Sockets in a registered file table and the ring's own descriptor registered: each
    /// receive and send then skips a file lookup and its reference count, and each wait the
    /// ring's. Kernels without them (before 5.18) serve with plain descriptors, as before.
    private func registerFiles(_ ring: Ring) {
        let count = min(max(context.configuration.connectionCountMax, 1), Self.fixedFileCountMax)
        do {
            try ring.registerSparseFiles(count: count)
            fixedFileCount = count
        } catch {
            logger.info("service thread serves sockets by descriptor: no registered file table",
                        metadata: ["thread": "\(index)", "error": "\(error)"])
        }
        do {
            try ring.registerRingDescriptor()
        } catch {
            logger.info("service thread enters its ring by descriptor", metadata: ["thread": "\(index)", "error": "\(error)"])
        }
    }

    private func handle(_ cqe: cairn_cqe) {
        let slot = Int(cqe.user_data & 0xFFFF_FFFF)
        switch Tag(rawValue: cqe.user_data >> 56) {
        case .accept:
            acceptInFlight = false
            accepted(result: cqe.res)
        case .inbox:
            drainInbox()
            armInbox()
        case .receive:
            guard let connection = connections[slot] else { preconditionFailure("receive for empty slot \(slot)") }
            received(connection, result: cqe.res, flags: cqe.flags)
        case .send:
            guard let connection = connections[slot] else { preconditionFailure("send for empty slot \(slot)") }
            sent(connection, result: cqe.res)
        case .deviceRead:
            deviceReads!.complete(userData: cqe.user_data, result: cqe.res)
        case nil:
            preconditionFailure("completion with unknown user data \(cqe.user_data)")
        }
    }

    private func userData(_ tag: Tag, _ slot: Int) -> UInt64 { tag.rawValue << 56 | UInt64(slot) }

    private func prepare(_ body: (Ring) -> Bool) {
        let ring = self.ring!
        if body(ring) { return }
        // Submission queue full: hand what is prepared to the kernel and try again.
        do { try ring.submit() } catch {
            logger.critical("io_uring submit failed on a service thread", metadata: ["error": "\(error)"])
        }
        precondition(body(ring), "submission queue full right after a submit")
    }

    // MARK: accept

    private func armAccept() {
        guard isAccepting, !acceptInFlight else { return }
        acceptInFlight = true
        let data = userData(.accept, 0)
        prepare { $0.prepareAccept(fd: listenSocket, userData: data) }
    }

    private func accepted(result: Int32) {
        guard result >= 0 else {
            if result == -EINVAL || result == -EBADF || stopRequest.load(ordering: .acquiring) >= 0 {
                isAccepting = false  // the listening socket was shut down: the server is stopping
                return
            }
            if result != -EAGAIN && result != -EINTR && result != -ECONNABORTED {
                logger.warning("accept failed", metadata: ["errno": "\(-result)"])
            }
            armAccept()
            return
        }
        armAccept()
        let owner = balancer.place(acceptedBy: self)
        if owner === self {
            admit(socket: result)
        } else {
            let fd = result
            owner.enqueue { owner.admit(socket: fd) }
        }
    }

    /// Takes a new connection (refused when the connection limit is reached). Its place in
    /// ``connectionGauge`` is already counted.
    private func admit(socket fd: Int32) {
        guard context.connections.admitExternal(countMax: context.configuration.connectionCountMax) else {
            connectionGauge.subtract(1, ordering: .relaxed)
            context.counters.connectionsRefused.add(1, ordering: .relaxed)
            logger.warning("connection refused: limit reached or stopping",
                           metadata: ["limit": "\(context.configuration.connectionCountMax)"])
            close(fd)
            return
        }
        context.counters.connectionsOpened.add(1, ordering: .relaxed)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let slot = freeSlots.popLast() ?? {
            connections.append(nil)
            return connections.count - 1
        }()
        var connectionLogger = logger
        connectionLogger[metadataKey: "client"] = "\(Self.peerAddress(fd))"
        let processor = RequestProcessor(context: context, logger: connectionLogger)
        let connection = UringConnection(loop: self, fd: fd, slot: slot, processor: processor,
                                         inputBytes: Self.inputBytesInitial, outputBytes: Self.outputBytesInitial)
        if slot < fixedFileCount {
            do {
                try ring!.registerFile(fd, at: slot)
                connection.fixedIndex = Int32(slot)
            } catch {
                logger.warning("connection served by descriptor: registering it failed", metadata: ["error": "\(error)"])
            }
        }
        connections[slot] = connection
        openCount += 1
        armReceive(connection)
    }

    // MARK: receive

    /// The peer's address as `host:port` (`[v6]:port`), or `unknown`.
    static func peerAddress(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return "unknown" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let found = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard found == 0 else { return "unknown" }
        let h = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let p = String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int32(storage.ss_family) == AF_INET6 ? "[\(h)]:\(p)" : "\(h):\(p)"
    }

    private func armReceive(_ connection: UringConnection) {
        guard !connection.receiveInFlight, !connection.inputClosed, !connection.isClosing else { return }
        // Back-pressure: a client that pipelines without reading gets no more reads until its
        // queued requests and replies shrink.
        if connection.output.countBytes + connection.sending.countBytes >= context.configuration.writeBufferBytesHigh {
            return
        }
        if connection.neededBytes == 0 && connection.input.countBytes >= Self.inputBytesHeldMax { return }
        // After a big frame, give the memory back before the next receive.
        if connection.input.capacityBytes > 4 * Self.inputBytesInitial { connection.input.trim(to: Self.inputBytesInitial) }
        connection.input.reserve(max(Self.receiveBytesMin, connection.neededBytes))
        connection.input.isLent = true
        connection.receiveInFlight = true
        let (fd, fixed) = connection.ioTarget
        let address = connection.input.writableTail
        let length = UInt32(min(connection.input.freeBytes, Int(Int32.max)))
        let data = userData(.receive, connection.slot)
        let pollFirst = connection.socketDrained
        connection.receiveLengthBytes = length
        prepare {
            $0.unsafePrepareReceive(fd: fd, fixedFile: fixed, address: address, lengthBytes: length, pollFirst: pollFirst,
                                    userData: data)
        }
    }

    private func received(_ connection: UringConnection, result: Int32, flags: UInt32) {
        connection.receiveInFlight = false
        connection.input.isLent = false
        if connection.isClosing {
            // Data that raced the shutdown (beginClose found this receive in flight and left the
            // slot to its completion): nothing more is read, and the slot is freed now. Before,
            // such a connection stayed in its slot until the server stopped.
            finishClose(connection)
            return
        }
        connection.socketDrained = result > 0 && UInt32(result) < connection.receiveLengthBytes && !Ring.socketHadMore(flags)
        if result <= 0 {
            // EOF or an error: nothing more will be read. What was received is still answered
            // unless the peer reset the connection.
            connection.inputClosed = true
            if result < 0 {
                beginClose(connection)
            } else if connection.isIdle {
                closeWhenIdle(connection)
            } else {
                markReady(connection)
            }
            return
        }
        connection.input.didFill(Int(result))
        if connection.lingering {
            connection.input.consume(connection.input.countBytes)
            armReceive(connection)
            return
        }
        // Run with the others received in this batch (processReady), after their index paths
        // were warmed together.
        markReady(connection)
    }

    // MARK: requests

    private func markReady(_ connection: UringConnection) {
        if !connection.isQueuedReady {
            connection.isQueuedReady = true
            ready.append(connection)
        }
    }

    private func processReady() {
        if ready.count > 1 { warmIndexPaths() }
        while let connection = ready.popLast() {
            connection.isQueuedReady = false
            if connection.isClosing { continue }
            processInput(connection)
            if (connection.inputClosed || connection.closeWhenFlushed) && connection.isIdle {
                closeWhenIdle(connection)
            } else {
                armReceive(connection)
            }
        }
    }

    /// Loads the index paths of the next request of each ready connection before any of them
    /// runs: each lookup's cache misses (sprig slot, stripe lock, root entry) then overlap with
    /// the others' instead of stalling one request after another. Requests of the namespace most
    /// of them name are warmed together; the rest are left to their own lookups.
    private func warmIndexPaths() {
        warmDigests.withUnsafeMutableBufferPointer { digests in
            var count = 0
            var namespace: Namespace?
            for connection in ready where !connection.isBusy && !connection.isClosing && count < digests.count {
                let input = connection.input.readable
                guard input.count >= ProtoHeader.sizeBytes,
                      let header = ProtoHeader.peek(input), header.typeRaw == ProtoType.message.rawValue,
                      Int(header.bodySizeBytes) <= input.count - ProtoHeader.sizeBytes else { continue }
                let body = UnsafeRawBufferPointer(
                    rebasing: input[ProtoHeader.sizeBytes..<(ProtoHeader.sizeBytes + Int(header.bodySizeBytes))])
                guard let (name, digest) = MessagePeek.namespaceAndDigest(body),
                      let named = warmNamespace(name) else { continue }
                if namespace == nil { namespace = named }
                guard named === namespace else { continue }
                digests[count] = digest
                count += 1
            }
            if count > 1, let namespace {
                namespace.warmIndexPaths(UnsafeBufferPointer(rebasing: digests[0..<count]))
            }
        }
    }

    /// The namespace named by `name`'s bytes, remembered from the last lookup (a client names
    /// one namespace in nearly every request).
    private func warmNamespace(_ name: UnsafeRawBufferPointer) -> Namespace? {
        if let last = lastWarmNamespace, last.name.count == name.count,
           last.name.withUnsafeBytes({ $0.count == 0 || memcmp($0.baseAddress!, name.baseAddress!, $0.count) == 0 }) {
            return last.namespace
        }
        guard let text = UTF8Text.decode(name), let namespace = context.namespaces[text] else { return nil }
        lastWarmNamespace = (Array(name), namespace)
        return namespace
    }

    /// Starts the connection's next requests until one is in progress or no whole frame is left.
    private func processInput(_ connection: UringConnection) {
        guard !connection.inProcessLoop else { return }
        connection.inProcessLoop = true
        defer { connection.inProcessLoop = false }
        while !connection.isBusy && !connection.isClosing && !connection.refusedFrame && !connection.lingering
                && !connection.closeWhenFlushed {
            if connection.output.countBytes >= context.configuration.writeBufferBytesHigh { return }
            let result = frameDecoder.decode(connection.input.readable)
            switch result {
            case .needMore(let bytes):
                connection.neededBytes = bytes
                if connection.inputClosed { closeWhenIdle(connection) }
                return
            case .error(let error):
                connection.refusedFrame = true
                let typeRaw = ProtoHeader.peek(connection.input.readable)?.typeRaw
                connection.input.consume(connection.input.countBytes)
                connection.processor.noteRefusedFrame(error)
                if case .bodyTooLarge = error,
                   typeRaw == ProtoType.message.rawValue || typeRaw == ProtoType.compressedMessage.rawValue {
                    connection.isBusy = true
                    deliver(connection.processor.answerTooLarge(), to: connection)
                } else {
                    // Replies already queued still go out first.
                    closeWhenIdle(connection)
                }
                return
            case .frame(let type, let bodyRange):
                connection.neededBytes = 0
                // The connection's body buffer is reused once the previous request let go of it.
                connection.body.clear()
                connection.body.writeBytes(UnsafeRawBufferPointer(rebasing: connection.input.readable[bodyRange]))
                let body = connection.body
                connection.input.consume(bodyRange.upperBound)
                connection.isBusy = true
                start(type: type, body: body, connection: connection)
            }
        }
    }

    private func start(type: ProtoType, body: ByteBuffer, connection: UringConnection) {
        let plan = continuationsRef.with { continuations in
            connection.processor.plan(type: type, body: body, streamResume: continuations.streamResume,
                                      messageStorage: &connection.messageStorage)
        }
        switch plan {
        case .reply(let chunk):
            deliver(chunk, to: connection)
        case .pool(let work):
            runOnPool(connection, work)
        case .stream(let stream):
            produce(stream, for: connection)
        case .record(let command):
            runToCompletion(command, body: body, connection: connection)
        case .refuse(let error):
            connection.refusedFrame = true
            connection.processor.noteRefusedFrame(error)
            connection.isBusy = false
            closeWhenIdle(connection)
        }
    }

    private func runToCompletion(_ command: RecordCommand, body: ByteBuffer, connection: UringConnection) {
        // While `execute` runs, a completion is inline; after it returned, it was resumed by I/O.
        connection.isExecuting = true
        continuationsRef.with { connection.processor.execute(command, body: body, resume: $0.resume, receiver: connection) }
        connection.isExecuting = false
    }

    /// A single-record command's outcome for `connection` (``UringConnection/receive(_:)``),
    /// from whichever thread finished it.
    fileprivate func recordFinished(_ outcome: RecordOutcome, for connection: UringConnection) {
        guard ThreadIdentity.current == threadID else {
            context.counters.transactionsOffThread.add(1, ordering: .relaxed)
            enqueue { [self] in deliverRecord(outcome, to: connection) }
            return
        }
        // Through the unretained reference: a retain of the counters, which every service thread
        // shares, would move their cache line once more per transaction.
        countersRef.with { counters in
            if connection.isExecuting {
                counters.transactionsInline.add(1, ordering: .relaxed)
            } else {
                counters.transactionsResumed.add(1, ordering: .relaxed)
            }
        }
        deliverRecord(outcome, to: connection)
    }

    /// Encodes a single-record reply straight into the connection's output (no intermediate
    /// buffer: the loop's writer keeps its capacity).
    private func deliverRecord(_ outcome: RecordOutcome, to connection: UringConnection) {
        replyWriter.removeAll()
        replyWriter.appendRecordReplyFrame(outcome)
        guard replyWriter.bytes.withUnsafeBytes({ queue($0, to: connection) }) else { return }
        connection.isBusy = false
        markReady(connection)
    }

    /// Appends reply bytes to the connection's output and starts a send if none is in flight;
    /// false (and nothing queued) when the connection is closing: its request is over.
    private func queue(_ bytes: UnsafeRawBufferPointer, to connection: UringConnection) -> Bool {
        assertOnLoop()
        guard !connection.isClosing else {
            connection.isBusy = false
            finishClose(connection)
            return false
        }
        connection.output.append(bytes)
        armSend(connection)
        return true
    }

    private func runOnPool(_ connection: UringConnection, _ work: @escaping @Sendable () -> ReplyChunk) {
        context.counters.threadPoolJobs.add(1, ordering: .relaxed)
        threadPool.submit { [self] state in
            guard case .active = state else {
                enqueue { [self] in beginClose(connection) }
                return
            }
            let chunk = work()
            enqueue { [self] in deliver(chunk, to: connection) }
        }
    }

    // MARK: replies

    /// Queues a chunk whole, then continues its stream or frees the connection for its next request.
    private func deliver(_ chunk: ReplyChunk, to connection: UringConnection) {
        guard chunk.bytes.withUnsafeReadableBytes({ queue($0, to: connection) }) else { return }
        if chunk.closesConnection {
            connection.lingering = true
            connection.isBusy = false
            connection.closeAfterSend = true
            if !connection.sendInFlight && connection.output.isEmpty { lingerThenClose(connection) }
            return
        }
        if let next = chunk.next {
            if isDraining {
                // The stream ends at this frame boundary: nothing runs for it any more, so the
                // connection is no longer busy (else it would wait for the grace period to close).
                connection.isBusy = false
                beginClose(connection)
                return
            }
            connection.pendingStream = (next, chunk.delayMs)
            continueStreamIfWritten(connection)
            return
        }
        connection.isBusy = false
        markReady(connection)
    }

    private func continueStreamIfWritten(_ connection: UringConnection) {
        guard let (stream, delayMs) = connection.pendingStream else { return }
        // The next frame is made only once this one is written (a slow client never makes the
        // server buffer more than a frame).
        guard connection.output.isEmpty && !connection.sendInFlight else { return }
        connection.pendingStream = nil
        if delayMs > 0 {
            after(ms: delayMs) { [self] in
                if connection.isClosing { connection.isBusy = false; finishClose(connection); return }
                produce(stream, for: connection)
            }
        } else {
            produce(stream, for: connection)
        }
    }

    /// Makes a stream's next chunk: on this thread when the stream needs no waiting thread (a
    /// batch: its rows' device reads go on this ring and their completions continue it here),
    /// else on the thread pool.
    private func produce(_ stream: any ReplyStream, for connection: UringConnection) {
        guard stream.runsWithoutWaiting else {
            runOnPool(connection) { stream.nextChunk() }
            return
        }
        let hop: StreamHop = { [self] work in
            if ThreadIdentity.current == threadID { work() } else { enqueue(work) }
        }
        stream.nextChunk(hop: hop) { [self] chunk in
            hop { [self] in deliver(chunk, to: connection) }
        }
    }

    private func armSend(_ connection: UringConnection) {
        guard !connection.sendInFlight, !connection.output.isEmpty, !connection.isClosing else { return }
        // Swap: what was accumulated goes out; new replies accumulate in the other area.
        swap(&connection.output, &connection.sending)
        connection.sending.isLent = true
        connection.sendInFlight = true
        let (fd, fixed) = connection.ioTarget
        let readable = connection.sending.readable
        let data = userData(.send, connection.slot)
        prepare {
            $0.unsafePrepareSend(fd: fd, fixedFile: fixed, address: readable.baseAddress!, lengthBytes: UInt32(readable.count),
                                 userData: data)
        }
    }

    private func sent(_ connection: UringConnection, result: Int32) {
        connection.sendInFlight = false
        connection.sending.isLent = false
        if result <= 0 {
            connection.sending.consume(connection.sending.countBytes)
            beginClose(connection)
            return
        }
        connection.sending.consume(Int(result))
        if connection.isClosing {
            finishClose(connection)
            return
        }
        if !connection.sending.isEmpty {
            // A short send: the rest goes first, before anything accumulated since.
            let rest = connection.sending.readable
            connection.sendInFlight = true
            connection.sending.isLent = true
            let (fd, fixed) = connection.ioTarget
            let data = userData(.send, connection.slot)
            prepare {
                $0.unsafePrepareSend(fd: fd, fixedFile: fixed, address: rest.baseAddress!, lengthBytes: UInt32(rest.count),
                                     userData: data)
            }
            return
        }
        connection.sending.trim(to: Self.outputBytesInitial)
        if !connection.output.isEmpty {
            armSend(connection)
            return
        }
        if connection.closeAfterSend {
            lingerThenClose(connection)
            return
        }
        if connection.closeWhenFlushed && connection.isIdle {
            beginClose(connection)
            return
        }
        continueStreamIfWritten(connection)
        markReady(connection)
    }

    // MARK: close

    private func lingerThenClose(_ connection: UringConnection) {
        shutdown(connection.fd, Int32(SHUT_WR))
        armReceive(connection)
        after(ms: ConnectionHandler.refusalLingerMs) { [self] in beginClose(connection) }
    }

    /// Closes the connection once it has no request in progress and its replies are written.
    private func closeWhenIdle(_ connection: UringConnection) {
        if connection.isIdle && connection.output.isEmpty && !connection.sendInFlight {
            beginClose(connection)
        } else {
            connection.closeWhenFlushed = true
        }
    }

    /// Stops all I/O on the connection; the slot is freed once nothing is in flight.
    private func beginClose(_ connection: UringConnection) {
        if connection.pendingStream != nil {
            // A stream waiting for its frame to be written: nothing runs for it elsewhere.
            connection.pendingStream = nil
            connection.isBusy = false
        }
        if !connection.isClosing {
            connection.isClosing = true
            // Ends a receive or send in flight: each completes with 0 or an error.
            shutdown(connection.fd, Int32(SHUT_RDWR))
        }
        finishClose(connection)
    }

    private func finishClose(_ connection: UringConnection) {
        guard connection.isClosing, !connection.receiveInFlight, !connection.sendInFlight, !connection.isBusy,
              connections[connection.slot] === connection else { return }
        if connection.fixedIndex >= 0 {
            // The table holds its own reference to the socket: without this the close below
            // would not release it.
            do {
                try ring!.registerFile(nil, at: Int(connection.fixedIndex))
            } catch {
                logger.critical("cannot empty a registered file entry; the socket stays open until the server stops",
                                metadata: ["slot": "\(connection.fixedIndex)", "error": "\(error)"])
            }
            connection.fixedIndex = -1
        }
        close(connection.fd)
        connections[connection.slot] = nil
        freeSlots.append(connection.slot)
        openCount -= 1
        connectionGauge.subtract(1, ordering: .relaxed)
        context.connections.removeExternal()
    }

    // MARK: inbox and stop

    private func armInbox() {
        let address = UnsafeMutableRawPointer(eventValue)
        let fd = eventFD
        let data = userData(.inbox, 0)
        prepare { $0.unsafePrepareStreamRead(fd: fd, address: address, lengthBytes: 8, userData: data) }
    }

    private func drainInbox() {
        // Reset before taking the work: an enqueue after this point writes the eventfd again.
        inboxSignalled.store(false, ordering: .releasing)
        // Two arrays take turns: the inbox keeps the memory of the one drained last time, so
        // neither an enqueue nor a drain allocates once both have grown.
        inbox.withLock { pending in swap(&pending, &drainedInbox) }
        for item in drainedInbox { item() }
        drainedInbox.removeAll(keepingCapacity: true)
    }

    /// Handles a stop request; true when the loop is done.
    private func checkStop() -> Bool {
        let grace = stopRequest.load(ordering: .acquiring)
        guard grace >= 0 else { return false }
        let now = ContinuousClock.now
        if !isDraining {
            isDraining = true
            // Connections the kernel completed before the stop: serve and drain them too.
            while true {
                let fd = cairn_accept_now(listenSocket)
                if fd < 0 { break }
                connectionGauge.add(1, ordering: .relaxed)
                admit(socket: fd)
            }
            backlogTaken.store(true, ordering: .releasing)
            drainStartedAt = now
            forceCloseAt = now + .milliseconds(grace)
            for case let connection? in connections {
                if connection.pendingStream != nil {
                    // A stream paused on a slow client stops at this frame boundary.
                    beginClose(connection)
                } else {
                    markReady(connection)
                }
            }
            processReady()
        }
        if let started = drainStartedAt, now >= started + .milliseconds(Self.drainIdleCloseMs) {
            // Requests that were on their way when the stop came have been received by now;
            // connections with nothing left to answer close.
            for case let connection? in connections where !connection.isClosing {
                closeWhenIdle(connection)
            }
        }
        if let deadline = forceCloseAt, now >= deadline {
            for case let connection? in connections { beginClose(connection) }
            // A transaction still waiting for the device cannot be cancelled; its reply is
            // dropped when it arrives.
            for case let connection? in connections where connection.isBusy && !connection.receiveInFlight && !connection.sendInFlight {
                connection.isBusy = false
                finishClose(connection)
            }
        }
        if openCount == 0 && !acceptInFlight && (deviceReads?.inFlightCount ?? 0) == 0 { return true }
        // Come back soon to check the deadline even if nothing completes.
        wakeLater()
        return false
    }

    private var wakePending = false

    private func wakeLater() {
        guard !wakePending else { return }
        wakePending = true
        after(ms: 20) { [self] in wakePending = false }
    }

    /// Runs `work` on this loop after `ms` milliseconds: the server's NIO event loop keeps the
    /// timer and hands the work to the inbox (no thread sleeps meanwhile).
    private func after(ms: Int64, _ work: @escaping @Sendable () -> Void) {
        timers.scheduleTask(in: .milliseconds(ms)) { [self] in enqueue(work) }
    }

    @inline(__always)
    private func assertOnLoop() {
        assert(ThreadIdentity.current == threadID, "service loop \(index) touched off its thread")
    }
}

/// One client connection of a ``UringLoop``.
///
/// Confined to that loop's thread: closures that capture it run there (the engine's completion
/// on the loop, or through the loop's inbox), which is why it may be `@unchecked Sendable`.
final class UringConnection: RecordOutcomeReceiver, @unchecked Sendable {
    /// The loop that owns this connection. Strong: a device read can finish after the
    /// connection was closed at a stop, and its reply must find the loop to be dropped; the
    /// loop lets go of its connections when they close.
    let loop: UringLoop
    let fd: Int32
    let slot: Int
    let processor: RequestProcessor
    @exclusivity(unchecked)
    var input: SocketBytes
    /// Replies accumulated while `sending` is with the kernel.
    @exclusivity(unchecked)
    var output: SocketBytes
    /// The bytes of the send in flight.
    @exclusivity(unchecked)
    var sending: SocketBytes
    var receiveInFlight = false
    /// The length asked of the receive in flight.
    var receiveLengthBytes: UInt32 = 0
    /// The last receive left the socket empty (a short read, and the kernel saw nothing more):
    /// the next one waits for data before it tries, instead of failing once and then waiting.
    var socketDrained = false
    var sendInFlight = false
    /// A request is in progress (engine, pool or stream).
    var isBusy = false
    var inputClosed = false
    var isClosing = false
    var refusedFrame = false
    var lingering = false
    var closeAfterSend = false
    /// Close once idle and every queued reply is written.
    var closeWhenFlushed = false
    var inProcessLoop = false
    var isQueuedReady = false
    /// A transaction's `execute` is on the stack (its completion is inline, not resumed).
    var isExecuting = false
    /// The current request's body; its storage is reused when no earlier request holds it.
    @exclusivity(unchecked)
    var body = ByteBuffer()
    /// The field and op arrays of the current request's message, reused by the next request
    /// once nothing holds them (``Message/decode(body:limits:reusing:)``).
    @exclusivity(unchecked)
    var messageStorage = Message.Storage()
    /// Bytes the decoder needs before the next frame is whole.
    var neededBytes = 0
    @exclusivity(unchecked)
    var pendingStream: ((any ReplyStream), Int64)?

    /// The connection's entry in the loop's registered file table, -1 when it has none.
    var fixedIndex: Int32 = -1
    /// What a receive or send names: the registered entry, or else the descriptor.
    var ioTarget: (Int32, Bool) { fixedIndex >= 0 ? (fixedIndex, true) : (fd, false) }

    init(loop: UringLoop, fd: Int32, slot: Int, processor: RequestProcessor, inputBytes: Int, outputBytes: Int) {
        self.loop = loop
        self.fd = fd
        self.slot = slot
        self.processor = processor
        input = SocketBytes(capacityBytes: inputBytes)
        body = ByteBufferAllocator().buffer(capacity: 4096)
        output = SocketBytes(capacityBytes: outputBytes)
        sending = SocketBytes(capacityBytes: outputBytes)
    }

    var isIdle: Bool { !isBusy && pendingStream == nil }

    /// The outcome of this connection's single-record command: the reply is its own object, so
    /// a transaction allocates no completion.
    func receive(_ outcome: RecordOutcome) {
        loop.recordFinished(outcome, for: self)
    }
}
