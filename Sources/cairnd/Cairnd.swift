import ArgumentParser
import CairnConfig
import CairnEngine
import CairnServer
import Foundation
import Logging
import ServiceLifecycle

/// The Cairn daemon. Operated like Aerospike's `asd` (DESIGN.md "Operations").
@main
struct Cairnd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairnd",
        abstract: "Cairn: a persistent key-value database that speaks Aerospike's client protocol.",
        version: CairnVersion.string
    )

    @Option(name: .customLong("config-file"), help: "Path of the aerospike.conf-style configuration file (default: the embedded configuration).")
    var configFile: String?

    @Flag(help: "Stay in the foreground (the only mode; cairnctl detaches the daemon).")
    var foreground = false

    @Flag(name: .customLong("cold-start"), help: "Force a cold start: rebuild the index by scanning the devices.")
    var coldStart = false

    func run() async throws {
        let config: CairnConfiguration
        do {
            if let configFile {
                config = try CairnConfiguration.load(path: configFile)
            } else {
                config = CairnConfiguration.embeddedDefault.resolvingPaths(relativeTo: FileManager.default.currentDirectoryPath)
            }
        } catch {
            Self.complain("\(error)")
            throw ExitCode.failure
        }
        let logger: Logger
        let sinks: LogSinks
        do {
            (logger, sinks) = try Daemon.bootstrapLogging(config.logging)
        } catch {
            Self.complain("\(error)")
            throw ExitCode.failure
        }
        do {
            let daemon = try Daemon(config: config, configSource: configFile ?? "embedded default", coldStart: coldStart, logger: logger, sinks: sinks)
            try await daemon.run()
        } catch {
            logger.critical("startup failed: \(error)")
            if !sinks.hasConsole { Self.complain("\(error)") }
            throw ExitCode.failure
        }
    }

    /// A line on stderr, for failures before (or besides) the log sinks.
    static func complain(_ text: String) {
        FileHandle.standardError.write(Data("cairnd: \(text)\n".utf8))
    }
}

enum CairnVersion {
    static let string = "0.1.0"
}
