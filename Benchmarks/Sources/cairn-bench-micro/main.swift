// cairn-bench-micro: micro benchmarks of the storage hot paths (record format, block scan,
// primary index) and of the engine's put and memory get, timed by google/swift-benchmark's runner.
//
//   cairn-bench-micro [--filter REGEX] [--entries N] [--seed S] [--min-time SECONDS]
//                     [--warmup N] [--rounds N] [--format table|kv] [--allow-debug-build]
//
// Every figure is a median over the measured iterations, per operation (`ns_per_op`); the notes
// column adds MB/s, bytes per index entry and ratios to a baseline of the same run. Inputs come
// from a seeded generator: the same seed gives the same records, block and digests.
import Benchmark
import CairnIO
import Foundation

struct Options {
    var filter: String?
    var entryCount = 1_000_000
    var seed: UInt64 = 0x5EED_CA12
    var minTimeSeconds = 1.0
    var warmupIterations = 50
    var fullRounds = 5
    var format = "table"
    var allowDebugBuild = false
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-micro: \(message)\n".utf8))
    exit(2)
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ name: String) -> String {
        guard let text = arguments.next() else { fail("\(name) needs a value") }
        return text
    }
    func number<T: LosslessStringConvertible>(_ name: String) -> T {
        let text = value(name)
        guard let parsed = T(text.replacingOccurrences(of: "_", with: "")) else { fail("\(name): not a number: \(text)") }
        return parsed
    }
    while let argument = arguments.next() {
        switch argument {
        case "--filter": options.filter = value(argument)
        case "--entries": options.entryCount = number(argument)
        case "--seed": options.seed = number(argument)
        case "--min-time": options.minTimeSeconds = number(argument)
        case "--warmup": options.warmupIterations = number(argument)
        case "--rounds": options.fullRounds = number(argument)
        case "--format": options.format = value(argument)
        case "--allow-debug-build": options.allowDebugBuild = true
        case "-h", "--help":
            print("usage: cairn-bench-micro [--filter REGEX] [--entries N] [--seed S] [--min-time SECONDS] [--warmup N] [--rounds N] [--format table|kv]")
            exit(0)
        default: fail("unknown argument \(argument) (see --help)")
        }
    }
    guard options.entryCount >= 2, options.minTimeSeconds > 0, options.warmupIterations >= 0, options.fullRounds >= 1,
        ["table", "kv"].contains(options.format)
    else {
        fail("invalid option value (see --help)")
    }
    return options
}

// MARK: - Output

func formatNumber(_ value: Double) -> String {
    switch abs(value) {
    case 0: "0"
    case ..<10: String(format: "%.2f", value)
    case ..<1000: String(format: "%.1f", value)
    default: String(format: "%.0f", value)
    }
}

func printTable(_ results: [MicroResult]) {
    let header = ["benchmark", "ns_per_op", "ns_per_op_min", "spread_iqr_pct", "iterations", "ops_per_iteration", "notes"]
    let rows = results.map { result in
        [
            result.name, formatNumber(result.nsPerOp), formatNumber(result.nsPerOpMin),
            String(format: "%.1f", result.spreadPercent), String(result.iterationCount),
            String(result.operationsPerIteration),
            result.notes.map { "\($0.0)=\(formatNumber($0.1))" }.joined(separator: " "),
        ]
    }
    var widths = header.map(\.count)
    for row in rows {
        for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            let pad = String(repeating: " ", count: widths[column] - cell.count)
            // Name and notes left-aligned, numbers right-aligned.
            return column == 0 || column == cells.count - 1 ? cell + pad : pad + cell
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    print(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
    for row in rows { print(line(row)) }
}

func printKeyValues(_ results: [MicroResult]) {
    for result in results {
        var fields = [
            "benchmark=\(result.name)", "ns_per_op=\(String(format: "%.3f", result.nsPerOp))",
            "ns_per_op_min=\(String(format: "%.3f", result.nsPerOpMin))",
            "spread_iqr_pct=\(String(format: "%.2f", result.spreadPercent))",
            "iterations=\(result.iterationCount)", "ops_per_iteration=\(result.operationsPerIteration)",
        ]
        fields += result.notes.map { "\($0.0)=\(String(format: "%.3f", $0.1))" }
        print(fields.joined(separator: " "))
    }
}

// MARK: - Main

func runBenchmarks() {
    let options = parseOptions()
    #if DEBUG
    if !options.allowDebugBuild {
        fail("a debug build measures nothing useful: build with -c release (or pass --allow-debug-build)")
    }
    #endif
    let banner = "cairn-bench-micro: seed=\(options.seed) entries=\(options.entryCount)"
        + " crc32c_hardware=\(CRC32C.isHardwareAccelerated) (replay with --seed \(options.seed))\n"
    FileHandle.standardError.write(Data(banner.utf8))

    let suite = BenchmarkSuite(name: "")
    var benchmarks: [MicroBenchmark] = []
    benchmarks += RecordBenchmarks.make(seed: options.seed)
    benchmarks += BlockScanBenchmarks.make(seed: options.seed)
    benchmarks += IndexBenchmarks.make(entryCount: options.entryCount, seed: options.seed, fullRounds: options.fullRounds)
    benchmarks += EngineBenchmarks.make(seed: options.seed)
    for benchmark in benchmarks { suite.register(benchmark: benchmark) }

    // Options go in as custom defaults, under each benchmark's own settings (the index
    // benchmarks that rebuild a whole index per iteration fix their iteration count).
    var defaults: [BenchmarkSetting] = [
        MinTime(seconds: options.minTimeSeconds), WarmupIterations(options.warmupIterations), Format(.none),
    ]
    if let filter = options.filter { defaults.append(Filter(filter)) }
    var runner = BenchmarkRunner(suites: [suite], settings: [], customDefaults: defaults)
    do {
        try runner.run()
    } catch {
        fail("benchmark run failed: \(error)")
    }

    let byName = Dictionary(uniqueKeysWithValues: benchmarks.map { ($0.name, $0) })
    var results = runner.results.compactMap { result -> MicroResult? in
        guard let benchmark = byName[result.benchmarkName] else { return nil }
        return MicroResult(benchmark: benchmark, measurementsNs: result.measurements)
    }
    BlockScanBenchmarks.addDerivedNotes(&results)
    IndexBenchmarks.addDerivedNotes(&results)
    EngineBenchmarks.addDerivedNotes(&results)
    if options.format == "kv" { printKeyValues(results) } else { printTable(results) }
}

runBenchmarks()
