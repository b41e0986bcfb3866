import ArgumentParser
import CairnConfig
import CairnServer

/// The Cairn daemon. Operated like Aerospike's `asd` (DESIGN.md "Operations").
@main
struct Cairnd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairnd",
        abstract: "Cairn: a persistent key-value database that speaks Aerospike's client protocol.",
        version: CairnVersion.string
    )

    @Option(name: .customLong("config-file"), help: "Path of the aerospike.conf-style configuration file.")
    var configFile: String?

    @Flag(help: "Stay in the foreground (the only mode; cairnctl detaches the daemon).")
    var foreground = false

    @Flag(name: .customLong("cold-start"), help: "Force a cold start: rebuild the index by scanning the devices.")
    var coldStart = false

    func run() throws {
        throw ValidationError("the server is not built yet in this version; only --version and --help work")
    }
}

enum CairnVersion {
    static let string = "0.1.0"
}
