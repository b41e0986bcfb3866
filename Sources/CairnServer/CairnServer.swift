import CairnEngine
import CairnIO
import CairnLua
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// CairnServer: the network server (info commands, transactions, batch and scan streaming).
public enum CairnServerModule {}

/// Why a server could not start.
public enum CairnServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration has problems (each described).
    case invalidConfiguration([String])
    /// `start()` was called on a server that was already started (servers are not restartable).
    case alreadyStarted
    /// Binding the listening socket failed.
    case bindFailed(host: String, port: Int, reason: String)
    /// `startMetrics` was called on a server that is not running.
    case notRunning

    /// `auto-pin cpu` could not pin `thread` (a service thread or an event loop).
    static func pinFailed(_ thread: String, _ error: CPUAffinity.AffinityError) -> CairnServerError {
        .invalidConfiguration(["auto-pin cpu: \(thread) \(error); set `auto-pin none` in the service stanza to leave "
                                + "the service threads to the scheduler"])
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let problems): "invalid server configuration: " + problems.joined(separator: "; ")
        case .alreadyStarted: "the server was already started"
        case .bindFailed(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .notRunning: "the server is not running"
        }
    }
}

/// The Aerospike-protocol server over a set of open namespaces (DESIGN.md "Threads").
///
/// ```
/// let server = CairnServer(configuration: ServerConfiguration(port: 3000), namespaces: ["test": ns], logger: logger)
/// let port = try await server.start()     // listening, `isReady` true
/// ...
/// try await server.stop()                 // stop accepting, finish in-flight requests, close
/// try ns.close()                          // the caller owns the namespaces
/// ```
///
/// SwiftNIO event loops accept connections and split frames; transactions, info answers and
/// batch/scan frames are produced on a thread pool (engine calls may block on device reads) and
/// written back on the connection's event loop. The server owns its event loop group and thread
/// pool, not the namespaces. One `start()` and one `stop()` per instance; every method is
/// thread-safe.
public final class CairnServer: Sendable {
    private let context: ServerContext
    private let state = Mutex<LifecycleState>(.idle)
    /// Set once the listening socket is bound, cleared when `stop()` begins. Acquire/release so a
    /// reader that sees `true` also sees the bound port.
    private let readyFlag = Atomic<Bool>(false)

    private enum LifecycleState {
        case idle
        case starting
        case running(Running)
        case stopping
        case stopped
    }

    private struct Running {
        var group: MultiThreadedEventLoopGroup
        var threadPool: NIOThreadPool
        /// The listening channel (epoll model), or nil with the io_uring service.
        var serverChannel: (any Channel)?
        var uring: UringService?
        /// The metrics endpoint's listener, once started.
        var metricsChannel: (any Channel)?
    }

    /// - Parameters:
    ///   - configuration: address, limits and identity (see ``ServerConfiguration``).
    ///   - namespaces: the open namespaces by name; the server uses them but does not close them.
    ///   - logger: where connection and request problems are logged.
    ///   - logControl: the log sinks the log info commands show and change (nil: none).
    ///   - udf: the registered Lua modules and the states that run record UDFs (nil: the UDF
    ///     info commands and `apply` are refused).
    public init(configuration: ServerConfiguration, namespaces: [String: Namespace], logger: Logger,
                logControl: (any LogControl)? = nil, udf: LuaPool? = nil) {
        context = ServerContext(configuration: configuration, namespaces: namespaces, logger: logger, logControl: logControl,
                                udf: udf)
    }

    /// Whether the server is listening and answering (between `start()` and `stop()`).
    public var isReady: Bool { readyFlag.load(ordering: .acquiring) }

    /// How long the last `stop()` took to drain and close the connections, measured on the
    /// thread that drained them (io_uring model) or across the drain (epoll model); `nil`
    /// before a stop. Unlike the time a caller sees `stop()` take, this excludes the wait for
    /// the caller's executor to resume it.
    public var lastDrainDuration: Duration? { drainDuration.withLock { $0 } }
    private let drainDuration = Mutex<Duration?>(nil)

    /// The bound port once started, else nil.
    public var port: Int? { isReady ? context.boundPort : nil }

    /// Client connections open now.
    public var connectionCount: Int { context.connections.count }

    /// Binds the listening socket and starts serving. Returns the bound port (the configured
    /// one, or the port picked when the configuration says 0).
    @discardableResult
    public func start() async throws -> Int {
        let configuration = context.configuration
        let problems = configuration.problems()
        guard problems.isEmpty else { throw CairnServerError.invalidConfiguration(problems) }
        try state.withLock { state in
            guard case .idle = state else { throw CairnServerError.alreadyStarted }
            state = .starting
        }
        let threadPool = NIOThreadPool(numberOfThreads: configuration.threadPoolSize)
        threadPool.start()
        if configuration.ioModel == .ioUring {
            // The NIO group serves only the metrics endpoint and the service threads' timers here;
            // one thread is enough.
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let service: UringService
            do {
                service = try UringService.start(context: context, threadPool: threadPool, timers: group.next())
            } catch {
                await shutDown(group: group, threadPool: threadPool)
                state.withLock { $0 = .stopped }
                throw error
            }
            return ready(port: service.port, Running(group: group, threadPool: threadPool, serverChannel: nil, uring: service, metricsChannel: nil))
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopCount)
        do {
            try await Self.pin(group, configuration)
        } catch {
            await shutDown(group: group, threadPool: threadPool)
            state.withLock { $0 = .stopped }
            throw error
        }
        let bindHost = configuration.host == "any" ? "::" : configuration.host
        let serverChannel: any Channel
        do {
            serverChannel = try await makeBootstrap(group: group, threadPool: threadPool)
                .bind(host: bindHost, port: configuration.port).get()
        } catch {
            await shutDown(group: group, threadPool: threadPool)
            state.withLock { $0 = .stopped }
            throw CairnServerError.bindFailed(host: configuration.host, port: configuration.port, reason: "\(error)")
        }
        let port = serverChannel.localAddress?.port ?? configuration.port
        return ready(port: port, Running(group: group, threadPool: threadPool, serverChannel: serverChannel, uring: nil, metricsChannel: nil))
    }

    /// `auto-pin cpu` for the epoll model: event loop i runs only on its CPU, as service thread
    /// i does under io_uring.
    private static func pin(_ group: MultiThreadedEventLoopGroup, _ configuration: ServerConfiguration) async throws {
        var index = 0
        for loop in group.makeIterator() {
            if let cpu = configuration.pinnedCPU(forServiceThread: index) {
                let result = try await loop.submit { () -> CPUAffinity.AffinityError? in
                    do throws(CPUAffinity.AffinityError) { try CPUAffinity.pinCurrentThread(to: cpu) } catch { return error }
                    return nil
                }.get()
                if let result { throw CairnServerError.pinFailed("event loop \(index)", result) }
            }
            index += 1
        }
    }

    private func ready(port: Int, _ running: Running) -> Int {
        let configuration = context.configuration
        context.setBoundPort(port)
        state.withLock { $0 = .running(running) }
        readyFlag.store(true, ordering: .releasing)
        context.logger.info(
            "service ready",
            metadata: [
                "host": "\(configuration.host)", "port": "\(port)", "node": "\(configuration.nodeName)",
                "namespaces": "\(context.namespaceNames.joined(separator: ","))",
                "network-io-model": "\(configuration.ioModel.rawValue)", "service-threads": "\(configuration.eventLoopCount)",
                "auto-pin": "\(configuration.pinnedCPUs.map { "cpu \($0.map(String.init).joined(separator: ","))" } ?? "none")",
            ])
        return port
    }

    /// Graceful stop: stops accepting, lets every connection answer the requests it has already
    /// received (a running scan or batch stops at its next frame boundary), closes the
    /// connections, then stops the threads. Connections still busy after
    /// ``ServerConfiguration/stopGracePeriodMs`` are closed. Calling it again, or before
    /// `start()`, does nothing.
    public func stop() async throws {
        let running: Running? = state.withLock { state in
            guard case .running(let running) = state else { return nil }
            state = .stopping
            return running
        }
        guard let running else { return }
        readyFlag.store(false, ordering: .releasing)
        if let metricsChannel = running.metricsChannel {
            try? await metricsChannel.close()
        }
        if let service = running.uring {
            let grace = context.configuration.stopGracePeriodMs
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Joins threads: off the caller's executor.
                Thread { [self] in
                    let started = ContinuousClock.now
                    service.stop(graceMs: grace)
                    let elapsed = started.duration(to: .now)
                    self.drainDuration.withLock { $0 = elapsed }
                    continuation.resume()
                }.start()
            }
            await stopBackgroundQueries()
            await shutDown(group: running.group, threadPool: running.threadPool)
            state.withLock { $0 = .stopped }
            context.logger.info("service stopped", metadata: ["drain_seconds": "\(Self.seconds(lastDrainDuration))"])
            return
        }
        guard let serverChannel = running.serverChannel else { return }
        do {
            try await serverChannel.close()
        } catch {
            context.logger.warning("closing the listening socket failed", metadata: ["error": "\(error)"])
        }
        let drainStarted = ContinuousClock.now
        let open = context.connections.beginDrain()
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(DrainConnectionEvent())
        }
        let registry = context.connections
        let forceClose = running.group.next().scheduleTask(in: .milliseconds(context.configuration.stopGracePeriodMs)) {
            for channel in registry.snapshot() {
                channel.close(promise: nil)
            }
        }
        for channel in open {
            do {
                try await channel.closeFuture.get()
            } catch {
                context.logger.debug("connection closed with an error", metadata: ["error": "\(error)"])
            }
        }
        forceClose.cancel()
        let drained = drainStarted.duration(to: .now)
        drainDuration.withLock { $0 = drained }
        await stopBackgroundQueries()
        await shutDown(group: running.group, threadPool: running.threadPool)
        state.withLock { $0 = .stopped }
        context.logger.info("service stopped", metadata: ["drain_seconds": "\(Self.seconds(drained))"])
    }

    /// Serves `GET /metrics` over HTTP on `host`:`port` (Prometheus exposition format), on the
    /// server's event loops, until `stop()`. Returns the bound port.
    @discardableResult
    public func startMetrics(host: String, port: Int) async throws -> Int {
        guard case .running(let running) = state.withLock({ $0 }) else { throw CairnServerError.notRunning }
        let exposition = MetricsExposition(context: context)
        let bindHost = host == "any" ? "::" : host
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: running.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(exposition: exposition))
                    }
                }
                .bind(host: bindHost, port: port).get()
        } catch {
            throw CairnServerError.bindFailed(host: host, port: port, reason: "\(error)")
        }
        let stillRunning = state.withLock { state -> Bool in
            guard case .running(var current) = state else { return false }
            current.metricsChannel = channel
            state = .running(current)
            return true
        }
        guard stillRunning else {
            try? await channel.close()
            throw CairnServerError.notRunning
        }
        let boundPort = channel.localAddress?.port ?? port
        context.logger.info("metrics endpoint ready", metadata: ["host": "\(host)", "port": "\(boundPort)", "path": "/metrics"])
        return boundPort
    }

    // MARK: - Helpers

    private func makeBootstrap(group: MultiThreadedEventLoopGroup, threadPool: NIOThreadPool) -> ServerBootstrap {
        let context = self.context
        let registry = context.connections
        let configuration = context.configuration
        let scratches = LoopScratches()
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(
            low: configuration.writeBufferBytesLow, high: configuration.writeBufferBytesHigh)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // TCP_NODELAY lives at IPPROTO_TCP level; at SOL_SOCKET level its number (1) is
            // SO_DEBUG, which needs CAP_NET_ADMIN.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard registry.admit(channel, countMax: configuration.connectionCountMax) else {
                    context.counters.connectionsRefused.add(1, ordering: .relaxed)
                    context.logger.warning(
                        "connection refused: limit reached or stopping",
                        metadata: ["limit": "\(configuration.connectionCountMax)"])
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                context.counters.connectionsOpened.add(1, ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                var logger = context.logger
                logger[metadataKey: "client"] = "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")"
                let processor = RequestProcessor(context: context, logger: logger)
                return channel.eventLoop.makeCompletedFuture {
                    let decoder = ByteToMessageHandler(ProtoFrameDecoder(frameSizeBytesMax: configuration.frameSizeBytesMax))
                    try channel.pipeline.syncOperations.addHandler(decoder)
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(processor: processor, threadPool: threadPool, logger: logger,
                                          loop: channel.eventLoop, scratches: scratches))
                }
            }
    }

    private static func seconds(_ duration: Duration?) -> String {
        guard let duration else { return "?" }
        let (whole, attoseconds) = duration.components
        return String(format: "%.3f", Double(whole) + Double(attoseconds) / 1e18)
    }

    /// Aborts the background queries still running and waits for their threads: they use the
    /// namespaces, which the caller closes after `stop()`.
    private func stopBackgroundQueries() async {
        let queries = context.backgroundQueries
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {  // joins threads: off the caller's executor
                queries.stop()
                continuation.resume()
            }.start()
        }
    }

    private func shutDown(group: MultiThreadedEventLoopGroup, threadPool: NIOThreadPool) async {
        do {
            try await threadPool.shutdownGracefully()
        } catch {
            context.logger.warning("thread pool shutdown failed", metadata: ["error": "\(error)"])
        }
        do {
            try await group.shutdownGracefully()
        } catch {
            context.logger.warning("event loop shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The open client connections, so `stop()` can drain them. Thread-safe (one mutex).
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var isDraining = false
        var externalCount = 0
    }

    private let state = Mutex(State())

    /// Registers a new connection; false when `countMax` are open or the server is stopping.
    func admit(_ channel: any Channel, countMax: Int) -> Bool {
        state.withLock { state in
            guard !state.isDraining, state.channels.count < countMax else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Refuses further connections and returns the open ones.
    func beginDrain() -> [any Channel] {
        state.withLock { state in
            state.isDraining = true
            return Array(state.channels.values)
        }
    }

    /// Registers a connection served outside SwiftNIO (the io_uring service); false when
    /// `countMax` are open or the server is stopping.
    func admitExternal(countMax: Int) -> Bool {
        state.withLock { state in
            guard !state.isDraining, state.channels.count + state.externalCount < countMax else { return false }
            state.externalCount += 1
            return true
        }
    }

    func removeExternal() {
        state.withLock { $0.externalCount -= 1 }
    }

    func snapshot() -> [any Channel] {
        state.withLock { Array($0.channels.values) }
    }

    var count: Int { state.withLock { $0.channels.count + $0.externalCount } }
}
