import CairnConfig
import CairnEngine
import CairnServer
import Foundation
import Logging
import ServiceLifecycle

/// The running daemon: pid file, namespaces, server, and the graceful stop.
///
/// Startup order: config valid → pid file → namespaces opened (cold start with progress) →
/// server listening → "service ready". Stop (SIGTERM/SIGINT): stop accepting, finish in-flight
/// transactions, close every namespace (flush, headers clean) → "finished clean shutdown" →
/// pid file removed → exit 0.
final class Daemon: Sendable {
    let config: CairnConfiguration
    let coldStart: Bool
    let logger: Logger

    init(config: CairnConfiguration, coldStart: Bool, logger: Logger) throws {
        self.config = config
        self.coldStart = coldStart
        self.logger = logger
    }

    func run() async throws {
        let pidFile = config.service.pidFile
        if let pidFile { try PidFile.claim(pidFile) }
        defer { if let pidFile { PidFile.remove(pidFile) } }
        var namespaces: [String: Namespace] = [:]
        do {
            for ns in config.namespaces {
                namespaces[ns.name] = try openNamespace(ns)
            }
        } catch {
            for (name, ns) in namespaces {
                do { try ns.close() } catch { logger.error("{\(name)} close after a failed start: \(error)") }
            }
            throw error
        }
        let endpoint = config.network.service
        let server = CairnServer(
            configuration: ServerConfiguration(host: endpoint.isAnyAddress ? "0.0.0.0" : endpoint.address,
                                               port: Int(endpoint.port), nodeID: config.service.nodeID ?? 0xBB9_A1B2_C3D4_E5F6,
                                               clusterName: config.service.clusterName, cairnVersion: CairnVersion.string),
            namespaces: namespaces, logger: logger)
        let service = ServerService(server: server, namespaces: namespaces, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        logger.info("finished clean shutdown")
    }

    private func openNamespace(_ ns: NamespaceConfig) throws -> Namespace {
        let logger = self.logger
        let name = ns.name
        var options = try NamespaceMapping.options(for: ns, coldStart: coldStart) { p in
            logger.info("{\(name)} cold start: \(String(format: "%.1f", p.fraction * 100))% records \(p.records) \(Int(p.recordsPerSecond)) records/s \(String(format: "%.1f", p.bytesPerSecond / 1e6)) MB/s eta \(Int(p.etaSeconds))s")
        }
        options.storage.log = { [logger] line in logger.warning("{\(name)} \(line)") }  // stop-writes, defrag trouble
        for device in options.storage.devices where device.fileSizeBytes != nil {
            let dir = (device.path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let namespace = try Namespace.open(options)
        let report = namespace.startReport
        for line in report.notCleanDevices { logger.warning("{\(name)} \(line)") }
        if !report.priorShutdownClean { logger.warning("{\(name)} prior shutdown not clean: cold start") }
        if let cold = report.coldStart {
            logger.info("{\(name)} cold start finished in \(String(format: "%.3f", report.seconds))s: \(cold)")
        } else {
            logger.info("{\(name)} fresh namespace created")
        }
        return namespace
    }
}

/// Runs the server until a graceful shutdown, then stops it and closes the namespaces.
struct ServerService: Service {
    let server: CairnServer
    let namespaces: [String: Namespace]
    let logger: Logger

    func run() async throws {
        let port = try await server.start()
        logger.info("service ready: listening on port \(port)")
        try await gracefulShutdown()
        logger.info("stopping: no new connections, finishing in-flight transactions")
        try await server.stop()
        for (name, ns) in namespaces {
            do { try ns.close() } catch { logger.error("{\(name)} close failed: \(error)") }
        }
    }
}
