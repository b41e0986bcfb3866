import Benchmark
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One micro benchmark, run by google/swift-benchmark's `BenchmarkRunner`.
///
/// swift-benchmark times each call of `run` as one measurement (setUp and tearDown are outside
/// the timer), does the warm-up iterations, and picks the iteration count from `--min-time`
/// unless `Iterations` is set. It reports time per *iteration* only, so each benchmark here says
/// how many operations one iteration performs (`operationsPerIteration`, a batch of 1 000 for
/// the cheap ones so the clock read is noise), and `Report` turns the median iteration into
/// ns per operation and adds the figures swift-benchmark has no column for (MB/s, bytes per
/// entry, ratios to a baseline of the same run).
///
/// Owner: the main thread; not shared.
final class MicroBenchmark: AnyBenchmark {
    let name: String
    let settings: [BenchmarkSetting]
    /// Operations one call of `body` performs.
    let operationsPerIteration: Int
    /// Figures measured on the way (bytes per entry, …), as `name_with_unit` → value.
    var notes: [(String, Double)] = []
    private let setUpBody: (MicroBenchmark) -> Void
    private let body: () -> Void
    private let tearDownBody: (MicroBenchmark) -> Void

    init(
        _ name: String,
        operationsPerIteration: Int,
        settings: [BenchmarkSetting] = [],
        setUp: @escaping (MicroBenchmark) -> Void = { _ in },
        tearDown: @escaping (MicroBenchmark) -> Void = { _ in },
        body: @escaping () -> Void
    ) {
        precondition(operationsPerIteration > 0)
        self.name = name
        self.settings = settings
        self.operationsPerIteration = operationsPerIteration
        setUpBody = setUp
        tearDownBody = tearDown
        self.body = body
    }

    func setUp() { setUpBody(self) }
    func run(_ state: inout BenchmarkState) throws { body() }
    func tearDown() { tearDownBody(self) }

    /// Sets the note `name` (the last value measured wins).
    func note(_ name: String, _ value: Double) {
        if let index = notes.firstIndex(where: { $0.0 == name }) {
            notes[index].1 = value
        } else {
            notes.append((name, value))
        }
    }
}

/// Keeps a value alive so the optimiser cannot drop the work that made it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

// MARK: - Results

/// One benchmark's figures.
/// Adds ops/s to the 2-thread benchmark `concurrent` and its speed-up over the 1-thread
/// benchmark `single` of the same run.
func addSpeedupNotes(_ results: inout [MicroResult], concurrent concurrentName: String, single singleName: String) {
    guard let concurrent = results.firstIndex(where: { $0.name == concurrentName }) else { return }
    let nsPerOp = results[concurrent].nsPerOp
    results[concurrent].notes.append(("ops_per_s", 1e9 / nsPerOp))
    if let single = results.first(where: { $0.name == singleName }) {
        results[concurrent].notes.append(("speedup_vs_1_thread", single.nsPerOp / nsPerOp))
    }
}

struct MicroResult {
    let name: String
    /// Median over the measured iterations, divided by the operations per iteration.
    let nsPerOp: Double
    /// Fastest iteration, per operation.
    let nsPerOpMin: Double
    /// Interquartile range of the iterations as a percentage of the median.
    let spreadPercent: Double
    /// Measured iterations (warm-up excluded).
    let iterationCount: Int
    let operationsPerIteration: Int
    var notes: [(String, Double)]
}

extension MicroResult {
    init(benchmark: MicroBenchmark, measurementsNs: [Double]) {
        precondition(!measurementsNs.isEmpty, "\(benchmark.name) measured nothing")
        let sorted = measurementsNs.sorted()
        let median = percentile(sorted, 50)
        let perOp = Double(benchmark.operationsPerIteration)
        self.init(
            name: benchmark.name,
            nsPerOp: median / perOp,
            nsPerOpMin: sorted[0] / perOp,
            spreadPercent: median > 0 ? (percentile(sorted, 75) - percentile(sorted, 25)) / median * 100 : 0,
            iterationCount: sorted.count,
            operationsPerIteration: benchmark.operationsPerIteration,
            notes: benchmark.notes
        )
    }
}

/// Linear-interpolated percentile `p` (0 … 100) of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    precondition(!sorted.isEmpty)
    let position = Double(sorted.count - 1) * p / 100
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

// MARK: - Memory

/// Resident set size of this process in bytes, from `/proc/self/statm` (field 2, in pages).
/// 0 where the file cannot be read (not Linux).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let residentPages = Int(fields[1]) else { return 0 }
    return residentPages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
