import ArgumentParser
import Foundation

/// Operates a local cairnd like Aerospike's `asd` init scripts and `asinfo` (docs/operations.md).
@main
struct Cairnctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairnctl",
        abstract: "Start, stop and query a Cairn daemon (cairnd).",
        discussion: """
            Exit codes follow LSB: status answers 0 running, 1 dead but pid file exists, 3 not \
            running, 4 unknown; the other verbs answer 0 on success, 1 on failure, 5 when cairnd \
            is not found, 6 when the configuration is invalid.
            """,
        version: CairnctlVersion.string,
        subcommands: [Start.self, Coldstart.self, Status.self, Stop.self, Restart.self, Info.self]
    )
}

enum CairnctlVersion { static let string = "0.1.0" }

struct ConfigOption: ParsableArguments {
    @Option(name: .customLong("config-file"),
            help: "The configuration file cairnd runs with (default: the embedded configuration, as cairnd).")
    var configFile: String?

    func node() throws -> Node {
        do { return try Node.load(configFile: configFile) } catch { throw fail(error) }
    }
}

struct StartOptions: ParsableArguments {
    @Option(help: "Seconds to wait for the node to become ready (0: no limit; cold starts of large devices take long).")
    var timeout: Int = 900

    @Option(help: "The cairnd executable (default: $CAIRND, else cairnd next to cairnctl).")
    var cairnd: String?

    func cairndPath() -> String {
        if let cairnd { return cairnd }
        if let env = ProcessInfo.processInfo.environment["CAIRND"], !env.isEmpty { return env }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (own as NSString).deletingLastPathComponent + "/cairnd"
    }
}

struct StopOptions: ParsableArguments {
    @Option(name: .customLong("stop-timeout"),
            help: "Seconds to wait for the clean shutdown before giving up and leaving cairnd running (0: no limit).")
    var stopTimeout: Int = 900
}

/// Turns a `CtlFailure` into a message on stderr and its exit code.
func fail(_ failure: CtlFailure) -> ExitCode {
    Console.complain(failure.message)
    return ExitCode(failure.code)
}

extension Cairnctl {
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start cairnd detached and wait until it is ready.")
        @OptionGroup var config: ConfigOption
        @OptionGroup var options: StartOptions

        @Flag(name: .customLong("cold-start"), help: "Start with --cold-start (what coldstart does; for the systemd unit).")
        var coldStart = false

        func run() throws {
            let node = try config.node()
            do { try Verbs.start(node, coldStart: coldStart, cairnd: options.cairndPath(), timeoutSeconds: options.timeout) } catch {
                throw fail(error)
            }
        }
    }

    struct Coldstart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start cairnd with --cold-start (rebuild the index from the devices).")
        @OptionGroup var config: ConfigOption
        @OptionGroup var options: StartOptions

        func run() throws {
            let node = try config.node()
            do { try Verbs.start(node, coldStart: true, cairnd: options.cairndPath(), timeoutSeconds: options.timeout) } catch {
                throw fail(error)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tell whether cairnd runs and is ready (LSB codes 0, 1, 3, 4).")
        @OptionGroup var config: ConfigOption

        func run() throws {
            let node: Node
            do { node = try Node.load(configFile: config.configFile) } catch {
                Console.complain(error.message)
                throw ExitCode(LSB.statusUnknown)
            }
            let code: Int32
            do { code = try Verbs.status(node) } catch { throw fail(error) }
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop cairnd with SIGTERM and wait for its clean shutdown (never SIGKILL).")
        @OptionGroup var config: ConfigOption
        @OptionGroup var stop: StopOptions

        func run() throws {
            let node = try config.node()
            do { try Verbs.stop(node, timeoutSeconds: stop.stopTimeout) } catch { throw fail(error) }
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "stop, then start.")
        @OptionGroup var config: ConfigOption
        @OptionGroup var stop: StopOptions
        @OptionGroup var options: StartOptions

        func run() throws {
            let node = try config.node()
            do {
                try Verbs.stop(node, timeoutSeconds: stop.stopTimeout)
                try Verbs.start(node, coldStart: false, cairnd: options.cairndPath(), timeoutSeconds: options.timeout)
            } catch { throw fail(error) }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one info command and print its value, as asinfo -v does.",
            helpNames: [.long])

        @Option(name: [.customShort("v"), .customLong("value")], help: "The info command, e.g. status, namespaces, namespace/test.")
        var command: String

        @Option(name: [.customShort("h"), .long], help: "Host (default: the configured service address, loopback for 'any').")
        var host: String?

        @Option(name: [.customShort("p"), .long], help: "Port (default: the configured service port).")
        var port: UInt16?

        @Option(help: "Seconds to wait for the connection and the answer.")
        var timeout: Double = 5

        @OptionGroup var config: ConfigOption

        func run() throws {
            var host = self.host
            var port = self.port
            if host == nil || port == nil {
                let node = try config.node()
                host = host ?? node.probeHost
                port = port ?? node.probePort
            }
            guard let host, let port else { throw ExitCode(LSB.invalidArguments) }
            do {
                let connection = try InfoConnection(host: host, port: port, timeoutSeconds: timeout)
                defer { connection.close() }
                let value = try connection.value(of: command)
                Console.say(value)
                if value.hasPrefix("ERROR") { throw ExitCode(LSB.genericFailure) }
            } catch let error as InfoConnection.Failure {
                Console.complain("\(error)")
                throw ExitCode(LSB.genericFailure)
            }
        }
    }
}
