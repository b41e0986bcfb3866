import Foundation
import Testing

@testable import CairnConfig

/// SplitMix64: a small seeded generator, so a failing random case can be replayed exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random configurations that `parse` could return: every value within its range.
struct RandomConfigurations {
    var random: SplitMix64
    private var pathCounter = 0

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    mutating func configuration() -> CairnConfiguration {
        let namespaceCount = Int.random(in: 1...4, using: &random)
        var namespaces: [NamespaceConfig] = []
        for index in 0..<namespaceCount {
            namespaces.append(namespace(named: "ns\(index)"))
        }
        return CairnConfiguration(service: service(), logging: logging(), network: network(), namespaces: namespaces)
    }

    private mutating func chance() -> Bool {
        Bool.random(using: &random)
    }

    private mutating func powerOfTwo(in range: ClosedRange<Int>) -> Int {
        let low = range.lowerBound.trailingZeroBitCount
        let high = range.upperBound.trailingZeroBitCount
        return 1 << Int.random(in: low...high, using: &random)
    }

    private mutating func path() -> String {
        pathCounter += 1
        return chance() ? "/data/cairn/f\(pathCounter).dat" : "var/f\(pathCounter).dat"
    }

    private mutating func service() -> ServiceConfig {
        ServiceConfig(
            workDirectory: chance() ? "/opt/cairn" : "./var",
            pidFile: chance() ? "/run/cairnd.pid" : nil,
            clusterName: chance() ? "cluster-\(Int.random(in: 0...99, using: &random))" : nil,
            nodeID: chance() ? UInt64.random(in: 1...UInt64.max, using: &random) : nil,
            protoFDCountMax: Int.random(in: ConfigLimits.protoFDCountMaxRange, using: &random),
            shmDirectory: chance() ? "/dev/shm" : "/dev/shm/cairn",
            serviceThreads: chance() ? Int.random(in: ConfigLimits.serviceThreadsRange, using: &random) : nil,
            networkIOModel: chance() ? .ioUring : .epoll,
            autoPin: chance() ? .none : .cpu
        )
    }

    private mutating func logging() -> LoggingConfig {
        var sinks: [LogSink] = []
        if chance() {
            sinks.append(
                LogSink(destination: .console, level: LogLevel.allCases.randomElement(using: &random) ?? .info))
        }
        for index in 0..<Int.random(in: 0...3, using: &random) {
            let level = LogLevel.allCases.randomElement(using: &random) ?? .info
            sinks.append(LogSink(destination: .file("/var/log/cairn/\(index).log"), level: level))
        }
        return LoggingConfig(sinks: sinks)
    }

    private mutating func network() -> NetworkConfig {
        let servicePort = UInt16.random(in: 1...30_000, using: &random)
        let addresses = ["any", "127.0.0.1", "::1", "10.1.2.3"]
        let service = NetworkEndpoint(address: addresses.randomElement(using: &random) ?? "any", port: servicePort)
        // `network info` is refused by the parser (nothing would listen on it).
        return NetworkConfig(service: service, info: nil)
    }

    private mutating func backing() -> StorageBacking {
        let count = Int.random(in: 1...4, using: &random)
        var paths: [String] = []
        for _ in 0..<count {
            paths.append(path())
        }
        if chance() {
            return .devices(paths)
        }
        return .files(paths, sizeBytes: Int.random(in: ConfigLimits.fileSizeBytesRange, using: &random))
    }

    private mutating func storage() -> StorageConfig {
        if chance() {
            return .device(
                DeviceStorageConfig(
                    backing: backing(),
                    writeBlockSizeBytes: powerOfTwo(in: ConfigLimits.writeBlockSizeBytesRange),
                    flushMaxMs: Int.random(in: ConfigLimits.flushMaxMsRange, using: &random),
                    commitToDevice: chance(),
                    defragLWMPct: Int.random(in: ConfigLimits.defragLWMPctRange, using: &random),
                    defragSleepUs: Int.random(in: ConfigLimits.defragSleepUsRange, using: &random),
                    writeCacheBytesMax: Int.random(in: ConfigLimits.writeCacheBytesMaxRange, using: &random),
                    postWriteCacheBytes: Int.random(in: ConfigLimits.postWriteCacheBytesRange, using: &random),
                    stopWritesAvailPct: Int.random(in: ConfigLimits.stopWritesAvailPctRange, using: &random)
                )
            )
        }
        if chance() {
            return .memory(MemoryStorageConfig(persistence: backing()))
        }
        return .memory(
            MemoryStorageConfig(dataSizeBytes: Int.random(in: ConfigLimits.dataSizeBytesRange, using: &random)))
    }

    private mutating func namespace(named name: String) -> NamespaceConfig {
        var sets: [SetConfig] = []
        for index in 0..<Int.random(in: 0...3, using: &random) {
            sets.append(
                SetConfig(
                    name: "set\(index)",
                    defaultTTLSeconds: chance()
                        ? Int.random(in: ConfigLimits.defaultTTLSecondsRange, using: &random) : nil,
                    stopWritesCount: chance() ? Int.random(in: 0...Int.max, using: &random) : 0
                )
            )
        }
        return NamespaceConfig(
            name: name,
            defaultTTLSeconds: Int.random(in: ConfigLimits.defaultTTLSecondsRange, using: &random),
            nsupPeriodSeconds: Int.random(in: ConfigLimits.nsupPeriodSecondsRange, using: &random),
            partitionTreeSprigCount: powerOfTwo(in: ConfigLimits.partitionTreeSprigCountRange),
            forceDurableDeletes: chance(),
            storage: storage(),
            sets: sets,
            readTouchTTLPercent: Int.random(in: ConfigLimits.readTouchTTLPercentRange, using: &random)
        )
    }
}

@Suite struct RoundTripTests {
    @Test func realisticConfigRoundTrips() throws {
        let rendered = realisticConfigValue.rendered()
        let parsed = try CairnConfiguration.parse(text: rendered, fileName: "rendered.conf")
        #expect(parsed == realisticConfigValue, "rendered text:\n\(rendered)")
    }

    @Test func renderedTextIsStable() throws {
        let once = realisticConfigValue.rendered()
        let twice = try CairnConfiguration.parse(text: once, fileName: "rendered.conf").rendered()
        #expect(once == twice)
    }

    @Test func renderedTextReadsLikeAerospikeConfig() {
        let rendered = realisticConfigValue.rendered()
        #expect(rendered.contains("\nnamespace users {\n    replication-factor 1\n    default-ttl 30d\n"))
        #expect(rendered.contains("        device /dev/nvme0n1\n        device /dev/nvme1n1\n"))
        #expect(rendered.contains("        write-block-size 128K\n"))
        #expect(rendered.contains("    nsup-period 10m\n"))
        #expect(rendered.contains("    file /var/log/cairn/cairn.log {\n        context any info\n    }\n"))
        #expect(rendered.contains("        file /var/lib/cairn/events-0.dat\n"))
        #expect(rendered.contains("        filesize 16G\n"))
        #expect(rendered.contains("    node-id a1b2c3\n"))
    }

    /// Random valid configurations survive render -> parse unchanged.
    /// Replay one run with `CAIRN_CONFIG_SEED=<seed> swift test --filter RoundTripTests`.
    @Test func randomConfigurationsRoundTrip() throws {
        let seedText = ProcessInfo.processInfo.environment["CAIRN_CONFIG_SEED"]
        let seed = seedText.flatMap { UInt64($0) } ?? 0xC0FF_EE00_2026
        var generator = RandomConfigurations(seed: seed)
        let iterationCount = 300
        for iteration in 0..<iterationCount {
            let configuration = generator.configuration()
            let rendered = configuration.rendered()
            let parsed: CairnConfiguration
            do {
                parsed = try CairnConfiguration.parse(text: rendered, fileName: "random.conf")
            } catch {
                Issue.record(
                    "seed \(seed) iteration \(iteration): \(error)\n\(rendered)\nreplay: CAIRN_CONFIG_SEED=\(seed)")
                return
            }
            #expect(parsed == configuration, "seed \(seed) iteration \(iteration); replay: CAIRN_CONFIG_SEED=\(seed)")
            if parsed != configuration {
                return
            }
        }
    }

    @Test func renderRefusesWordsThatWouldNotReadBack() async {
        await #expect(processExitsWith: .failure) {
            var configuration = CairnConfiguration.embeddedDefault
            configuration.service.pidFile = "/run/with space.pid"
            _ = configuration.rendered()
        }
    }
}

@Suite struct EmbeddedDefaultTests {
    @Test func textParsesToTheTypedValue() throws {
        let parsed = try CairnConfiguration.parse(text: CairnConfiguration.embeddedDefaultText, fileName: "embedded")
        #expect(parsed == CairnConfiguration.embeddedDefault)
    }

    @Test func typedValueRoundTrips() throws {
        let rendered = CairnConfiguration.embeddedDefault.rendered()
        #expect(
            try CairnConfiguration.parse(text: rendered, fileName: "embedded") == CairnConfiguration.embeddedDefault)
    }

    @Test func defaultIsALaptopSetup() throws {
        let value = CairnConfiguration.embeddedDefault
        #expect(value.network.service == NetworkEndpoint(address: "127.0.0.1", port: 3000))
        #expect(value.network.info == nil)
        #expect(value.service.pidFile == "./var/run/cairnd.pid")
        #expect(value.service.workDirectory == "./var")
        #expect(value.service.shmDirectory == "/dev/shm")
        #expect(value.logging.sinks == [LogSink(destination: .console, level: .info)])
        let namespace = try #require(value.namespace(named: "test"))
        #expect(value.namespaces.count == 1)
        #expect(namespace.storage.backing == .files(["./var/data/test.dat"], sizeBytes: 4 << 30))
    }

    @Test func pathsResolveAgainstTheStartDirectory() throws {
        let resolved = CairnConfiguration.embeddedDefault.resolvingPaths(relativeTo: "/home/ada/cairn")
        #expect(resolved.service.workDirectory == "/home/ada/cairn/var")
        #expect(resolved.service.pidFile == "/home/ada/cairn/var/run/cairnd.pid")
        #expect(resolved.service.shmDirectory == "/dev/shm")
        #expect(resolved.namespaces.first?.storage.backing?.paths == ["/home/ada/cairn/var/data/test.dat"])
        #expect(resolved.resolvingPaths(relativeTo: "/elsewhere") == resolved)
    }
}

@Suite struct DocumentationTests {
    /// docs/configuration.md shows the embedded default; it must not drift from the code.
    @Test func referenceShowsTheEmbeddedDefaultVerbatim() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let root = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let reference = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let text = CairnConfiguration.embeddedDefaultText
        let body = try #require(text.range(of: "service {")).lowerBound
        let stanzas = text[body...].trimmingCharacters(in: .newlines)
        #expect(reference.contains("```\n" + stanzas + "\n```"))
    }
}
