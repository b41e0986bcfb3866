import CairnConfig
import Foundation
import Glibc

/// Output of cairnctl: results on stdout, problems on stderr, unbuffered.
enum Console {
    static func say(_ text: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((text + terminator).utf8))
    }

    static func complain(_ text: String) {
        FileHandle.standardError.write(Data(("cairnctl: " + text + "\n").utf8))
    }
}

/// LSB exit codes (init-script actions and `status`).
enum LSB {
    static let success: Int32 = 0
    static let genericFailure: Int32 = 1
    static let invalidArguments: Int32 = 2
    static let insufficientPrivilege: Int32 = 4
    static let notInstalled: Int32 = 5
    static let notConfigured: Int32 = 6
    static let statusDeadWithPidFile: Int32 = 1
    static let statusNotRunning: Int32 = 3
    static let statusUnknown: Int32 = 4
}

/// A failure that ends cairnctl with a message and an exit code.
struct CtlFailure: Error {
    let message: String
    let code: Int32
}

/// The node one configuration describes: where its pid file, log and service port are.
struct Node {
    let config: CairnConfiguration
    /// The `--config-file` given, absolute; nil for the embedded default.
    let configPath: String?
    let pidFile: String
    let logFile: String
    /// True when `logFile` is `<default work-directory>/cairnd.log` only because the
    /// configuration names neither a file sink nor a work-directory.
    let logFileIsDefaultWorkDirectory: Bool
    /// Where cairnctl asks `status` (the service endpoint; `any` is asked on loopback).
    let probeHost: String
    let probePort: UInt16

    /// Loads the configuration as cairnd would: the file, or the embedded default resolved
    /// against the current directory.
    static func load(configFile: String?) throws(CtlFailure) -> Node {
        let cwd = FileManager.default.currentDirectoryPath
        let config: CairnConfiguration
        var absolute: String?
        if let configFile {
            let path = configFile.hasPrefix("/") ? configFile : cwd + "/" + configFile
            absolute = path
            do { config = try CairnConfiguration.load(path: path) } catch {
                throw CtlFailure(message: "\(error)", code: LSB.notConfigured)
            }
        } else {
            config = CairnConfiguration.embeddedDefault.resolvingPaths(relativeTo: cwd)
        }
        guard let pidFile = config.service.pidFile else {
            throw CtlFailure(
                message: "\(absolute ?? "embedded configuration"): the service stanza has no 'pidfile': cairnctl finds cairnd through it (add a line like 'pidfile /var/run/cairnd.pid')",
                code: LSB.notConfigured)
        }
        var logFile = config.service.workDirectory + "/cairnd.log"
        var logFileIsDefaultWorkDirectory = config.service.workDirectory == ConfigLimits.workDirectoryDefault
        for sink in config.logging.sinks {
            if case .file(let path) = sink.destination {
                logFile = path
                logFileIsDefaultWorkDirectory = false
                break
            }
        }
        let endpoint = config.network.service
        let host: String
        switch endpoint.address {
        case "any", "0.0.0.0": host = "127.0.0.1"
        case "::", "[::]": host = "::1"
        default: host = endpoint.address
        }
        return Node(config: config, configPath: absolute, pidFile: pidFile, logFile: logFile,
                    logFileIsDefaultWorkDirectory: logFileIsDefaultWorkDirectory, probeHost: host, probePort: endpoint.port)
    }

    func state() throws(CtlFailure) -> DaemonState {
        do { return try PidFileReader.state(of: pidFile) } catch {
            throw CtlFailure(message: "\(error)", code: LSB.statusUnknown)
        }
    }

    /// While cairnd starts, info `cold-start` on the service port: one line per namespace, e.g.
    /// `{test} cold start 42.0%: 1234 records found, 5000 records/s, eta 3 s`; nil when not answered.
    func startupProgress() -> String? {
        guard let connection = try? InfoConnection(host: probeHost, port: probePort, timeoutSeconds: 1) else { return nil }
        defer { connection.close() }
        guard let value = try? connection.value(of: "cold-start"), !value.isEmpty, !value.hasPrefix("ERROR") else { return nil }
        return value.split(separator: ";").map { entry -> String in
            var fields: [String: String] = [:]
            for item in entry.split(separator: ":") {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { fields[pair[0]] = pair[1] }
            }
            let name = fields["ns"] ?? "?"
            let phase = fields["phase"] ?? "?"
            guard let percent = fields["percent"] else { return "{\(name)} \(phase)" }
            return "{\(name)} \(phase) \(percent)%: \(fields["records"] ?? "0") records found, "
                + "\(fields["records_per_s"] ?? "0") records/s, eta \(fields["eta_s"] ?? "?") s"
        }.joined(separator: "; ")
    }

    /// Info `status` on the service port: "ok" once the node is ready; otherwise why not.
    func readiness(timeoutSeconds: Double = 2) -> (ready: Bool, detail: String) {
        do {
            let connection = try InfoConnection(host: probeHost, port: probePort, timeoutSeconds: timeoutSeconds)
            defer { connection.close() }
            let value = try connection.value(of: "status")
            return (value == "ok", "info status '\(value)' on \(probeHost):\(probePort)")
        } catch {
            return (false, "\(error)")
        }
    }
}
