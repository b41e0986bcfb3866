import CairnConfig
import CairnEngine
import CairnIO
import CairnLua
import CairnServer
import CairnStorage
import Foundation
import Logging
import ServiceLifecycle

/// The running daemon: pid file, namespaces, server, and the graceful stop.
///
/// Startup order: config valid → pid file → service port bindable → namespaces opened (cold start with progress) →
/// server listening → "service ready". Stop (SIGTERM/SIGINT): stop accepting, finish in-flight
/// transactions, close every namespace (flush, headers clean) → "finished clean shutdown" →
/// pid file removed → exit 0.
final class Daemon: Sendable {
    let config: CairnConfiguration
    let coldStart: Bool
    let logger: Logger
    let sinks: LogSinks
    /// The config file's path, or "embedded default".
    let configSource: String

    init(config: CairnConfiguration, configSource: String, coldStart: Bool, logger: Logger, sinks: LogSinks) throws {
        self.config = config
        self.configSource = configSource
        self.coldStart = coldStart
        self.logger = logger
        self.sinks = sinks
    }

    func run() async throws {
        let hangup = LogReopener.install(sinks: sinks, logger: logger)
        defer { hangup.cancel() }
        logger.info("cairnd \(CairnVersion.string) starting: pid \(getpid()), config \(configSource)\(coldStart ? ", --cold-start" : "")")
        try DeviceAccess.check(config)
        try FileLimit.ensure(protoFDMax: config.service.protoFDCountMax, logger: logger)
        let pidFile = config.service.pidFile
        if let pidFile { try PidFile.claim(pidFile) }
        defer { if let pidFile { PidFile.remove(pidFile) } }
        do {
            try await runClaimed()
            if let pidFile { PidFile.writeExitRecord(pidFile, clean: true) }
        } catch {
            if let pidFile { PidFile.writeExitRecord(pidFile, clean: false, reason: "\(error)") }
            throw error
        }
    }

    /// Everything after the pid file is claimed.
    private func runClaimed() async throws {
        // Bind the service port first: a taken port fails here, before a namespace opens (a cold
        // start can be long); until the server takes over, the port answers info `status`
        // (`starting`) and `cold-start` (progress).
        let progress = StartupProgress(namespaces: config.namespaces.map(\.name))
        let endpoint = config.network.service
        let startupInfo = try StartupInfoListener(address: PortCheck.bindAddress(endpoint), port: endpoint.port,
                                                  progress: progress)
        defer { startupInfo?.close() }
        if let metrics = config.metrics {
            // The metrics port too fails the start before a namespace opens.
            do { try PortCheck.check(metrics) } catch let unavailable as PortCheck.Unavailable {
                throw MetricsPortUnavailable(underlying: unavailable)
            }
        }
        let node = try NodeIdentity.resolve(config)
        logger.info("node id \(String(node.nodeID, radix: 16, uppercase: true)) (from \(node.source))")
        let shmDirectory = config.service.shmDirectory
        try FileManager.default.createDirectory(atPath: shmDirectory, withIntermediateDirectories: true)
        if SharedMemoryLock.isTmpfs(shmDirectory) == false {
            logger.warning("shm-directory \(shmDirectory) is not a tmpfs: the index is written through to its filesystem; use /dev/shm or another tmpfs")
        }
        // Registered UDF modules: mod-lua's user-path (default: udf/lua in the work directory).
        let udfModules = try UDFModules(directory: config.effectiveModLuaUserPath)
        logger.info("UDF modules in \(udfModules.directory): \(udfModules.all().count) registered")
        var shmLocks: [SharedMemoryLock] = []  // held until the process exits
        defer { withExtendedLifetime(shmLocks) {} }
        var namespaces: [String: Namespace] = [:]
        do {
            for ns in config.namespaces {
                shmLocks.append(try SharedMemoryLock.claim(
                    directory: shmDirectory, name: SharedMemoryOptions.name(namespace: ns.name, nodeID: node.nodeID)))
                progress.update(ns.name, phase: "opening")
                let opened = try openNamespace(ns, nodeID: node.nodeID, progress: progress)
                namespaces[ns.name] = opened
                // Secondary-index definitions are kept in the work directory, per namespace (read
                // now, written on the first change: a start needs no writable directory).
                try opened.secondaryIndexes.persist(
                    to: (config.service.workDirectory as NSString).appendingPathComponent("sindex-\(ns.name).json"))
                progress.update(ns.name, phase: "ready")
            }
        } catch {
            for (name, ns) in namespaces {
                do { try ns.close() } catch { logger.error("{\(name)} close after a failed start: \(error)") }
            }
            throw error
        }
        startupInfo?.close()  // the server binds the port now
        var serverConfiguration = ServerConfiguration(
            host: endpoint.isAnyAddress ? "0.0.0.0" : endpoint.address, port: Int(endpoint.port), nodeID: node.nodeID,
            clusterName: config.service.clusterName, cairnVersion: CairnVersion.string,
            eventLoopCount: config.service.serviceThreads ?? ProcessInfo.processInfo.activeProcessorCount,
            connectionCountMax: config.service.protoFDCountMax,
            ioModel: config.service.networkIOModel == .epoll ? .epoll : .ioUring)
        serverConfiguration.enabledBenchmarks = NamespaceMapping.enabledBenchmarks(config.namespaces)
        if config.service.autoPin == .cpu {
            do {
                serverConfiguration.pinnedCPUs = try CPUAffinity.allowedCPUs()
            } catch {
                throw CairnServerError.invalidConfiguration(["auto-pin cpu: \(error); set `auto-pin none` in the service stanza"])
            }
        }
        let server = CairnServer(configuration: serverConfiguration, namespaces: namespaces, logger: logger, logControl: sinks,
                                 udf: LuaPool(modules: udfModules))
        let service = ServerService(server: server, namespaces: namespaces, metrics: config.metrics, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        logger.info("finished clean shutdown")
    }

    /// The machine's memory (0 when unknown).
    static func physicalMemoryBytes() -> UInt64 {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageBytes = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && pageBytes > 0 ? UInt64(pages) * UInt64(pageBytes) : 0
    }

    /// Why reading `storage`'s files through the page cache will mostly miss, when they hold more
    /// than the machine's memory: `read-page-cache` (a file's default) then pays a page-cache fill
    /// on top of most device reads, and `fill-page-cache` reads back blocks the cache cannot keep.
    static func pageCacheWarning(_ storage: StorageOptions, memoryBytes: UInt64) -> String? {
        let cachedFiles = storage.devices.filter { $0.readPageCache && $0.fileSizeBytes != nil }
        let fileBytes = cachedFiles.reduce(UInt64(0)) { $0 + ($1.fileSizeBytes ?? 0) }
        guard memoryBytes > 0, fileBytes > memoryBytes else { return nil }
        func gib(_ bytes: UInt64) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        let filled = storage.fillsPageCache ? " and reads back every written block (fill-page-cache)" : ""
        return "its files (\(gib(fileBytes))) are larger than this machine's memory (\(gib(memoryBytes))): it reads records "
            + "through the page cache (read-page-cache)\(filled), which pays when the records read fit in memory; "
            + "set 'read-page-cache false' in its storage-engine stanza to read O_DIRECT if they do not"
    }

    private func openNamespace(_ ns: NamespaceConfig, nodeID: UInt64, progress: StartupProgress) throws -> Namespace {
        let logger = self.logger
        let name = ns.name
        let shmDirectory = config.service.shmDirectory
        var options = try NamespaceMapping.options(
            for: ns, coldStart: coldStart, shmDirectory: shmDirectory, nodeID: nodeID
        ) { p in
            // Every second for info `cold-start`; every 5 s in the log.
            progress.update(name, phase: "cold start", progress: p)
            if ColdStartLogPacer.shared.due(name) { logger.info("\(StartupProgress.logLine(name, p))") }
        }
        options.storage.log = { [logger] line in logger.warning("{\(name)} \(line)") }  // stop-writes, defrag trouble
        let reads = !options.storage.devices.contains { $0.readPageCache }
            ? "record reads O_DIRECT (read-page-cache false)"
            : options.storage.fillsPageCache
            ? "record reads through the page cache (read-page-cache true), filled with each block that leaves the post-write cache (fill-page-cache true)"
            : "record reads through the page cache (read-page-cache true), not filled with written blocks (fill-page-cache false)"
        logger.info("{\(name)} opening \(options.storage.devices.count) device(s): \(options.storage.devices.map(\.path).joined(separator: ", ")); \(reads)")
        if let warning = Self.pageCacheWarning(options.storage, memoryBytes: Self.physicalMemoryBytes()) {
            logger.warning("{\(name)} \(warning)")
        }
        options.onStartDecision = { mode, reason in
            switch mode {
            case .warm: logger.info("{\(name)} warm restart: \(reason)")
            case .cold: logger.info("{\(name)} cold start begins: \(reason)")
            case .fresh: logger.info("{\(name)} fresh start: \(reason)")
            }
        }
        for device in options.storage.devices where device.fileSizeBytes != nil {
            let dir = (device.path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: shmDirectory, withIntermediateDirectories: true)
        let namespace = try Namespace.open(options)
        // Configured sets exist from the start (info `sets` lists them with their settings).
        for setName in options.setPolicies.keys.sorted() where namespace.setID(registering: setName) == nil {
            logger.warning("{\(name)} set \(setName): the set table is full")
        }
        namespace.setLimits.prime(namespace)  // stop-writes-count: the sets' record counts
        let report = namespace.startReport
        for line in report.notCleanDevices { logger.warning("{\(name)} \(line)") }
        if !report.priorShutdownClean { logger.warning("{\(name)} prior shutdown not clean: cold start") }
        let seconds = String(format: "%.3f", report.seconds)
        let stats = namespace.statistics
        switch report.mode {
        case .warm:
            logger.info("{\(name)} warm restart finished in \(seconds)s: objects=\(stats.objects) tombstones=\(stats.tombstones) record_data_reads=\(report.recordDataReads) record_data_bytes=\(report.recordDataBytesRead)")
        case .cold:
            logger.info("{\(name)} cold start finished in \(seconds)s (\(report.reason)): \(report.coldStart.map { "\($0)" } ?? "")")
        case .fresh:
            logger.info("{\(name)} fresh namespace created in \(seconds)s (\(report.reason))")
        }
        return namespace
    }
}

/// Runs the server until a graceful shutdown, then stops it and closes the namespaces.
struct ServerService: Service {
    let server: CairnServer
    let namespaces: [String: Namespace]
    /// The `metrics` stanza: where `/metrics` is served (nil: not served).
    let metrics: NetworkEndpoint?
    let logger: Logger

    func run() async throws {
        let port: Int
        do {
            port = try await server.start()
            if let metrics {
                do {
                    try await server.startMetrics(host: PortCheck.bindAddress(metrics), port: Int(metrics.port))
                } catch {
                    try? await server.stop()
                    throw error
                }
            }
        } catch {
            // The port is taken or not allowed: close the namespaces cleanly before failing, so
            // the failed start does not turn the next one into a cold start.
            closeNamespaces()
            throw error
        }
        logger.info("service ready: listening on port \(port)")
        try await gracefulShutdown()
        logger.info("stopping: no new connections, finishing in-flight transactions")
        try await server.stop()
        // A namespace that could not flush is not clean: say so and exit non-zero (its headers
        // stay not clean, so the next start is a cold start).
        let failed = closeNamespaces()
        if !failed.isEmpty { throw UncleanShutdown(failures: failed) }
    }

    /// Closes every namespace; returns the failures ("name: error"), already logged.
    @discardableResult
    private func closeNamespaces() -> [String] {
        var failed: [String] = []
        for (name, ns) in namespaces {
            do { try ns.close() } catch {
                logger.error("{\(name)} close failed: \(error)")
                failed.append("\(name): \(error)")
            }
        }
        return failed
    }
}

struct UncleanShutdown: Error, CustomStringConvertible {
    let failures: [String]
    var description: String {
        "shutdown not clean (the next start will be a cold start): " + failures.joined(separator: "; ")
    }
}

/// The `metrics` stanza's port cannot be bound (checked before any namespace opens).
struct MetricsPortUnavailable: Error, CustomStringConvertible {
    let underlying: PortCheck.Unavailable
    var description: String {
        "metrics port \(underlying.port) on \(underlying.address) cannot be bound: \(String(cString: strerror(underlying.errno))) "
            + "(errno \(underlying.errno)): set 'metrics { port … }' to a free port"
    }
}
