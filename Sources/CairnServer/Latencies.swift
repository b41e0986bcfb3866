import CairnIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A transaction latency histogram with Aerospike's buckets: bucket 0 counts latencies below
/// 1 ms, bucket b (1…) counts [2^(b-1), 2^b) ms, and the last bucket everything from 2^16 ms up.
///
/// Recording is two relaxed atomic adds, the bucket and the sum of latencies (no lock, no
/// allocation); reading sums are taken
/// without stopping writers, so a snapshot is consistent to within the transactions that finish
/// while it is read.
final class LatencyHistogram: Sendable {
    /// 18 buckets: <1 ms, then 16 powers of two up to 2^16 ms, then the rest.
    static let bucketCount = 18
    private let counts: InlineArray<18, Atomic<UInt64>>
    /// The sum of the recorded latencies, in nanoseconds (for the metrics endpoint's `_sum`).
    private let sumNanoseconds = Atomic<UInt64>(0)
    /// The transactions that did not succeed (touched only for those).
    let failures = OutcomeCounts()

    init() {
        counts = InlineArray { _ in Atomic<UInt64>(0) }
    }

    var totalNanoseconds: UInt64 { sumNanoseconds.load(ordering: .relaxed) }

    /// The bucket of a latency of `nanoseconds`.
    @inline(__always)
    static func bucket(nanoseconds: UInt64) -> Int {
        let milliseconds = nanoseconds / 1_000_000
        if milliseconds == 0 { return 0 }
        return min(64 - milliseconds.leadingZeroBitCount, bucketCount - 1)
    }

    @inline(__always)
    func record(nanoseconds: UInt64) {
        counts[Self.bucket(nanoseconds: nanoseconds)].add(1, ordering: .relaxed)
        sumNanoseconds.add(nanoseconds, ordering: .relaxed)
    }

    /// Records the time from `startNanoseconds` (CairnIO's `MonotonicClock.nowNs()`) to now.
    @inline(__always)
    func record(since startNanoseconds: UInt64) {
        let now = MonotonicClock.nowNs()
        record(nanoseconds: now >= startNanoseconds ? now - startNanoseconds : 0)
    }

    /// The bucket counts, cumulative since start.
    func snapshot() -> [UInt64] {
        (0..<Self.bucketCount).map { counts[$0].load(ordering: .relaxed) }
    }
}

/// Counts of transactions that did not succeed, by kind of failure, and optionally of all of
/// them (for deletes, which have no histogram of their own). Relaxed atomics, touched only when
/// there is something to count.
final class OutcomeCounts: Sendable {
    let total = Atomic<UInt64>(0)
    let notFound = Atomic<UInt64>(0)
    let filteredOut = Atomic<UInt64>(0)
    let errors = Atomic<UInt64>(0)

    /// Counts a transaction's result code (success costs nothing unless `countingTotal`).
    @inline(__always)
    func note(resultCodeRaw code: UInt8, countingTotal: Bool = false) {
        if countingTotal { total.add(1, ordering: .relaxed) }
        switch code {
        case 0: return
        case 2: notFound.add(1, ordering: .relaxed)  // KEY_NOT_FOUND
        case 27: filteredOut.add(1, ordering: .relaxed)  // FILTERED_OUT
        default: errors.add(1, ordering: .relaxed)
        }
    }

    func load(_ counter: borrowing Atomic<UInt64>) -> UInt64 { counter.load(ordering: .relaxed) }
}

/// The latency slice reported for one histogram: operations per second over the slice and, for
/// each threshold 2^k ms (k = 0…16), the percentage of those operations that took longer.
struct LatencySlice: Equatable {
    /// Thresholds of the `latencies:` columns: 1, 2, 4 … 65536 ms (Aerospike's 17 columns).
    static let thresholdExponents = 0...16
    /// The older `latency:` command's columns: >1 ms, >8 ms, >64 ms.
    static let legacyThresholdExponents = [0, 3, 6]

    var operations: UInt64
    var seconds: Double
    /// Per-bucket counts of the slice (the difference of two snapshots).
    var counts: [UInt64]

    init(from older: [UInt64], to newer: [UInt64], seconds: Double) {
        counts = zip(newer, older).map { $0 >= $1 ? $0 - $1 : 0 }
        operations = counts.reduce(0, +)
        self.seconds = seconds
    }

    var opsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

    /// The percentage of the slice's operations above 2^exponent ms: those not in buckets
    /// 0…exponent (as Aerospike computes its "overs").
    func percentOver(exponent: Int) -> Double {
        guard operations > 0 else { return 0 }
        let atOrBelow = counts.prefix(exponent + 1).reduce(0, +)
        return Double(operations - atOrBelow) * 100 / Double(operations)
    }

    /// `msec,<ops/sec>,<%>1ms>,<%>2ms>,…,<%>65536ms>`: one `latencies:` value.
    var latenciesValue: String {
        var text = "msec," + Self.format(opsPerSecond, decimals: 1)
        for exponent in Self.thresholdExponents {
            text += "," + Self.format(percentOver(exponent: exponent), decimals: 2)
        }
        return text
    }

    /// `<ops/sec>,<%>1ms>,<%>8ms>,<%>64ms>`: the data row of the older `latency:` command.
    var legacyRow: String {
        var text = Self.format(opsPerSecond, decimals: 1)
        for exponent in Self.legacyThresholdExponents {
            text += "," + Self.format(percentOver(exponent: exponent), decimals: 2)
        }
        return text
    }

    /// `value` with a fixed number of decimals (as C's `%.1f` / `%.2f`), without Foundation.
    static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (max(0, value) * scale).rounded()
        guard scaled < 1e18 else { return "\(value)" }
        let units = UInt64(scaled)
        let factor = UInt64(scale)
        let whole = units / factor
        var fraction = String(units % factor)
        while fraction.count < decimals { fraction = "0" + fraction }
        return decimals == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }
}

/// The sub-phase histograms that `enable-benchmarks-<group>` turns on for one namespace, named
/// as Aerospike names them (`{ns}-read-start` …). Off by default; while off, a transaction pays
/// one relaxed load to learn it.
///
/// Cairn times the phases it has: `start` (request decoded, key digested, namespace found),
/// `local`/`master` (the engine's work, device I/O included, to the outcome) and `response`
/// (encoding the reply and handing it to the connection). The phases of a cluster (`restart`,
/// `dup-res`, `repl-ping`, `repl-write`) never happen on one node: their histograms are listed
/// and stay empty. UDF phases time record UDFs (apply) as the write phases time writes.
final class BenchmarkGroup: Sendable {
    /// `read`, `write`, `udf`: the configuration's names (``ServerConfiguration/BenchmarkGroupName``).
    typealias Name = ServerConfiguration.BenchmarkGroupName

    let name: Name
    private let isOn = Atomic<Bool>(false)
    /// Per phase, in `name.phases` order.
    let histograms: [LatencyHistogram]
    let start: LatencyHistogram
    /// `local` of reads, `master` of writes.
    let local: LatencyHistogram
    let response: LatencyHistogram

    init(_ name: Name) {
        self.name = name
        let histograms = name.phases.map { _ in LatencyHistogram() }
        self.histograms = histograms
        start = histograms[0]
        local = histograms[name == .read ? 4 : 3]  // read-local, write-master
        response = histograms[5]
    }

    /// One relaxed load.
    @inline(__always)
    var isEnabled: Bool { isOn.load(ordering: .relaxed) }

    func setEnabled(_ on: Bool) { isOn.store(on, ordering: .relaxed) }
}

extension ServerConfiguration.BenchmarkGroupName {
    /// The phases Aerospike lists, in its order.
    var phases: [String] {
        switch self {
        case .read: ["start", "restart", "dup-res", "repl-ping", "local", "response"]
        case .write, .udf: ["start", "restart", "dup-res", "master", "repl-write", "response"]
        }
    }
}

/// Every transaction latency histogram of a server: per namespace read, write, udf and query,
/// and the node-wide batch-index; and the slices the `latencies:` and `latency:` info commands
/// report.
///
/// Slices: as Aerospike reports the latest 10-second slice, the book keeps a snapshot; a query
/// at least ``sliceSeconds`` after it closes the slice from that snapshot to now and starts the
/// next. Until the first slice closes, a query reports from the start to now.
final class LatencyBook: Sendable {
    static let sliceSeconds: Double = 10

    enum Kind: String, CaseIterable, Sendable {
        case read, write, udf, query
    }

    /// A histogram's name as `latencies:hist=` takes it: `{ns}-read`, or `batch-index`.
    struct Entry: Sendable {
        var name: String
        var histogram: LatencyHistogram
        /// For a sub-phase histogram: its group (listed only while the group is enabled) and the
        /// group's name in `latencies:hist=` (`{ns}-benchmarks-read`).
        var group: BenchmarkGroup? = nil
        var groupName: String? = nil
    }

    let namespaceNames: [String]
    /// The UTF-8 bytes of each name, to find a request's namespace without making a String.
    private let namespaceNameBytes: [[UInt8]]
    /// Per namespace (in `namespaceNames` order), per kind (in `Kind.allCases` order).
    private let perNamespace: [[LatencyHistogram]]
    /// Per namespace: deletes (timed in the write histogram, counted here too, as Aerospike's
    /// client_delete_* statistics).
    private let deletes: [OutcomeCounts]
    /// Per namespace: batch rows by kind (read, write, delete).
    private let batchSub: [[OutcomeCounts]]
    /// Per namespace: primary-index queries (scans); `total` counts those that completed (a
    /// query refused at its start is not counted, as Aerospike counts only started queries).
    private let piQueries: [OutcomeCounts]
    /// Per namespace: secondary-index queries, counted as `piQueries` are.
    private let siQueries: [OutcomeCounts]
    /// Per namespace: aggregation queries (stream UDFs) without and with an index; `total` counts
    /// those that ran, `errors` those whose stream failed.
    private let piAggregations: [OutcomeCounts]
    private let siAggregations: [OutcomeCounts]
    /// Per namespace, per ``BenchmarkGroup/Name`` (in `allCases` order).
    private let benchmarkGroups: [[BenchmarkGroup]]
    /// The single-record meters, made once: per namespace, per kind (index `namespace *
    /// Kind.allCases.count + kind`). A meter holds its objects unretained, so handing one to a
    /// transaction copies three pointers (no nested array, no retain of a shared histogram).
    private let meters: [TransactionMeter]
    /// `deletes`, unretained, for a delete's meter.
    private let deleteRefs: [Unretained<OutcomeCounts>]
    let batchIndex = LatencyHistogram()
    /// Every histogram in the order `latencies:` lists them.
    let entries: [Entry]

    private struct Snapshot {
        var nanoseconds: UInt64
        var wallSeconds: Int
        var counts: [[UInt64]]
    }

    private struct State {
        var base: Snapshot
        /// The latest closed slice: its start and end snapshots.
        var closed: (from: Snapshot, to: Snapshot)?
    }

    private let state: Mutex<State>

    init(namespaceNames: [String]) {
        self.namespaceNames = namespaceNames
        namespaceNameBytes = namespaceNames.map { Array($0.utf8) }
        let perNamespace = namespaceNames.map { _ in Kind.allCases.map { _ in LatencyHistogram() } }
        self.perNamespace = perNamespace
        deletes = namespaceNames.map { _ in OutcomeCounts() }
        batchSub = namespaceNames.map { _ in (0..<3).map { _ in OutcomeCounts() } }
        piQueries = namespaceNames.map { _ in OutcomeCounts() }
        siQueries = namespaceNames.map { _ in OutcomeCounts() }
        piAggregations = namespaceNames.map { _ in OutcomeCounts() }
        siAggregations = namespaceNames.map { _ in OutcomeCounts() }
        let benchmarkGroups = namespaceNames.map { _ in BenchmarkGroup.Name.allCases.map { BenchmarkGroup($0) } }
        self.benchmarkGroups = benchmarkGroups
        meters = namespaceNames.indices.flatMap { index in
            Kind.allCases.enumerated().map { kindIndex, kind in
                let group: BenchmarkGroup.Name = kind == .read ? .read : kind == .udf ? .udf : .write
                return TransactionMeter(
                    histogram: Unretained(perNamespace[index][kindIndex]), deletes: nil,
                    benchmarks: Unretained(benchmarkGroups[index][BenchmarkGroup.Name.allCases.firstIndex(of: group)!]))
            }
        }
        deleteRefs = deletes.map { Unretained($0) }
        var entries = [Entry(name: "batch-index", histogram: batchIndex)]
        for (index, name) in namespaceNames.enumerated() {
            for (kindIndex, kind) in Kind.allCases.enumerated() {
                entries.append(Entry(name: "{\(name)}-\(kind.rawValue)", histogram: perNamespace[index][kindIndex]))
            }
            for group in benchmarkGroups[index] {
                for (phase, histogram) in zip(group.name.phases, group.histograms) {
                    entries.append(Entry(name: "{\(name)}-\(group.name.rawValue)-\(phase)", histogram: histogram,
                                         group: group, groupName: "{\(name)}-benchmarks-\(group.name.rawValue)"))
                }
            }
        }
        self.entries = entries
        let start = Snapshot(
            nanoseconds: MonotonicClock.nowNs(), wallSeconds: Self.wallSeconds(),
            counts: entries.map { _ in [UInt64](repeating: 0, count: LatencyHistogram.bucketCount) })
        state = Mutex(State(base: start, closed: nil))
    }

    /// The histogram of `kind` for the namespace named by `nameBytes` (a request's NAMESPACE
    /// field), or nil for an unknown namespace.
    func histogram(_ kind: Kind, namespaceBytes nameBytes: UnsafeRawBufferPointer) -> LatencyHistogram? {
        namespaceIndex(nameBytes).map { perNamespace[$0][Kind.allCases.firstIndex(of: kind)!] }
    }

    func histogram(_ kind: Kind, namespace: String) -> LatencyHistogram? {
        guard let index = namespaceNames.firstIndex(of: namespace) else { return nil }
        return perNamespace[index][Kind.allCases.firstIndex(of: kind)!]
    }

    /// A single-record transaction's meter: its histogram, and the delete counts for a delete.
    func meter(_ kind: Kind, isDelete: Bool, namespaceBytes nameBytes: UnsafeRawBufferPointer) -> TransactionMeter? {
        guard let index = namespaceIndex(nameBytes) else { return nil }
        var meter = meters[index * Kind.allCases.count + Kind.allCases.firstIndex(of: kind)!]
        if isDelete { meter.deletes = deleteRefs[index] }
        return meter
    }

    /// The `enable-benchmarks-<name>` group of `namespace`.
    func benchmarks(_ name: BenchmarkGroup.Name, namespace: String) -> BenchmarkGroup? {
        guard let index = namespaceNames.firstIndex(of: namespace) else { return nil }
        return benchmarkGroups[index][BenchmarkGroup.Name.allCases.firstIndex(of: name)!]
    }

    /// Counts one batch row's outcome in its namespace's `batch_sub_*` statistics (reads,
    /// writes, deletes). Relaxed atomic adds; nothing for an unknown namespace.
    func noteBatchSub(_ command: RecordCommand, body raw: UnsafeRawBufferPointer, resultCodeRaw code: UInt8) {
        guard let field = command.field(.namespace), field.dataRange.upperBound <= raw.count,
              let index = namespaceIndex(UnsafeRawBufferPointer(rebasing: raw[field.dataRange]))
        else { return }
        let info2 = command.header.info2
        let kind = info2.contains(.delete) ? 2 : info2.contains(.write) ? 1 : 0
        batchSub[index][kind].note(resultCodeRaw: code, countingTotal: true)
    }

    /// Counts an aggregation query of `namespace` that ran (`failed`: its stream failed).
    func noteAggregation(namespace: String, indexed: Bool, failed: Bool) {
        guard let index = namespaceNames.firstIndex(of: namespace) else { return }
        let counts = indexed ? siAggregations[index] : piAggregations[index]
        if failed { counts.errors.add(1, ordering: .relaxed) } else { counts.total.add(1, ordering: .relaxed) }
    }

    /// Counts a scan (primary-index query) of `namespace` that sent its last frame.
    func notePIQueryComplete(namespace: String) {
        guard let index = namespaceNames.firstIndex(of: namespace) else { return }
        piQueries[index].total.add(1, ordering: .relaxed)
    }


    /// Counts a secondary-index query of `namespace` that sent its last frame.
    func noteSIQueryComplete(namespace: String) {
        guard let index = namespaceNames.firstIndex(of: namespace) else { return }
        siQueries[index].total.add(1, ordering: .relaxed)
    }

    /// Aerospike's `si_query_*` statistics, in CE 8.1's order: every secondary-index query is a
    /// long basic query (or an aggregation, or a background job; ``queryStatistics``).
    func siQueryStatistics(namespace name: String, opsBackground: (UInt64, UInt64, UInt64) = (0, 0, 0),
                           udfBackground: (UInt64, UInt64, UInt64) = (0, 0, 0)) -> [(String, UInt64)] {
        guard let index = namespaceNames.firstIndex(of: name) else { return [] }
        return Self.queryStatistics(prefix: "si", basic: siQueries[index], aggregations: siAggregations[index],
                                    opsBackground: opsBackground, udfBackground: udfBackground)
    }

    /// Aerospike's `pi_query_*` statistics: Cairn's scans are long basic queries (no
    /// `short-query` flag; ``queryStatistics``).
    func piQueryStatistics(namespace name: String, opsBackground: (UInt64, UInt64, UInt64) = (0, 0, 0),
                           udfBackground: (UInt64, UInt64, UInt64) = (0, 0, 0)) -> [(String, UInt64)] {
        guard let index = namespaceNames.firstIndex(of: name) else { return [] }
        return Self.queryStatistics(prefix: "pi", basic: piQueries[index], aggregations: piAggregations[index],
                                    opsBackground: opsBackground, udfBackground: udfBackground)
    }

    /// The `<prefix>_query_*` counters, in CE 8.1's order (the primary-index ones list the long
    /// basic queries first, the secondary-index ones the short). A query refused before it
    /// starts is not counted, as in Aerospike; a started scan or query ends with its last frame
    /// (one whose client goes away is not counted: Aerospike counts it as an error), so the
    /// basic `_error` and `_abort` counters and the short ones stay 0. Aggregations are counted
    /// by ``noteAggregation``, background jobs by ``BackgroundQueries`` (complete, abort, error).
    private static func queryStatistics(prefix: String, basic: OutcomeCounts, aggregations: OutcomeCounts,
                                        opsBackground: (UInt64, UInt64, UInt64),
                                        udfBackground: (UInt64, UInt64, UInt64)) -> [(String, UInt64)] {
        let long: [(String, UInt64)] = [("long_basic_complete", basic.load(basic.total)), ("long_basic_error", 0),
                                        ("long_basic_abort", 0)]
        let short: [(String, UInt64)] = [("short_basic_complete", 0), ("short_basic_error", 0), ("short_basic_timeout", 0)]
        let rest: [(String, UInt64)] = [
            ("aggr_complete", aggregations.load(aggregations.total)), ("aggr_error", aggregations.load(aggregations.errors)),
            ("aggr_abort", 0),
            ("udf_bg_complete", udfBackground.0), ("udf_bg_error", udfBackground.2), ("udf_bg_abort", udfBackground.1),
            ("ops_bg_complete", opsBackground.0), ("ops_bg_error", opsBackground.2), ("ops_bg_abort", opsBackground.1),
        ]
        return ((prefix == "pi" ? long + short : short + long) + rest).map { ("\(prefix)_query_\($0.0)", $0.1) }
    }

    /// A namespace's batch rows by kind and result, as Aerospike's `batch_sub_*` statistics.
    func batchSubOutcomes(namespace name: String) -> [(String, UInt64)] {
        guard let index = namespaceNames.firstIndex(of: name) else { return [] }
        var items: [(String, UInt64)] = []
        for (kind, counts) in zip(["read", "write", "delete"], batchSub[index]) {
            let total = counts.load(counts.total), notFound = counts.load(counts.notFound)
            let filtered = counts.load(counts.filteredOut), errors = counts.load(counts.errors)
            let failed = notFound + filtered + errors
            items.append(("batch_sub_\(kind)_success", total > failed ? total - failed : 0))
            // A write's KEY_NOT_FOUND (update-only) is an error, as for single-record writes.
            if kind == "write" {
                items.append(("batch_sub_write_error", errors + notFound))
            } else {
                items.append(("batch_sub_\(kind)_not_found", notFound))
                items.append(("batch_sub_\(kind)_error", errors))
            }
            items.append(("batch_sub_\(kind)_filtered_out", filtered))
            items.append(("batch_sub_\(kind)_timeout", 0))
        }
        return items
    }

    func deleteCounts(namespace: String) -> OutcomeCounts? {
        namespaceNames.firstIndex(of: namespace).map { deletes[$0] }
    }

    /// A namespace's single-record transactions by kind (read, write, delete) and result
    /// (success, not_found, filtered_out, error), as Aerospike's `client_*` statistics count
    /// them: from the histograms (every transaction is timed) and the failure counts. Deletes are
    /// timed in the write histogram and counted apart; a write's KEY_NOT_FOUND (update-only) is
    /// an error. Nil for an unknown namespace.
    func clientOutcomes(namespace name: String) -> [(kind: String, result: String, count: UInt64)]? {
        guard let read = histogram(.read, namespace: name), let write = histogram(.write, namespace: name),
              let deletes = deleteCounts(namespace: name) else { return nil }
        func total(_ histogram: LatencyHistogram) -> UInt64 { histogram.snapshot().reduce(0, +) }
        // Counters are read one by one while transactions run: never let a difference go below 0.
        func minus(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : 0 }
        let r = read.failures, w = write.failures, d = deletes
        let readNotFound = r.load(r.notFound), readFiltered = r.load(r.filteredOut), readErrors = r.load(r.errors)
        let deleteTotal = d.load(d.total)
        let deleteNotFound = d.load(d.notFound), deleteFiltered = d.load(d.filteredOut), deleteErrors = d.load(d.errors)
        let writeTotal = minus(total(write), deleteTotal)
        let writeFiltered = minus(w.load(w.filteredOut), deleteFiltered)
        let writeErrors = minus(w.load(w.errors) + w.load(w.notFound), deleteErrors + deleteNotFound)
        return [
            ("read", "success", minus(total(read), readNotFound + readFiltered + readErrors)),
            ("read", "not_found", readNotFound),
            ("read", "filtered_out", readFiltered),
            ("read", "error", readErrors),
            ("write", "success", minus(writeTotal, writeFiltered + writeErrors)),
            ("write", "filtered_out", writeFiltered),
            ("write", "error", writeErrors),
            ("delete", "success", minus(deleteTotal, deleteNotFound + deleteFiltered + deleteErrors)),
            ("delete", "not_found", deleteNotFound),
            ("delete", "filtered_out", deleteFiltered),
            ("delete", "error", deleteErrors),
        ] + udfOutcomes(namespace: name)
    }

    /// Aerospike's `client_udf_complete`, `_error` and `_filtered_out`: record UDFs (`apply`)
    /// by result (a UDF's FAILURE, 100, is an error).
    private func udfOutcomes(namespace name: String) -> [(kind: String, result: String, count: UInt64)] {
        guard let udf = histogram(.udf, namespace: name) else { return [] }
        let f = udf.failures
        let filtered = f.load(f.filteredOut), errors = f.load(f.errors) + f.load(f.notFound)
        let total = udf.snapshot().reduce(0, +)
        return [
            ("udf", "complete", total > filtered + errors ? total - filtered - errors : 0),
            ("udf", "error", errors),
            ("udf", "filtered_out", filtered),
        ]
    }

    /// The position in `namespaceNames` of the namespace named by the UTF-8 `nameBytes` (a
    /// request's NAMESPACE field); the server context finds its namespaces by it too.
    func namespaceIndex(_ nameBytes: UnsafeRawBufferPointer) -> Int? {
        // By index, in place: binding each candidate array would retain it.
        for index in namespaceNameBytes.indices where namespaceNameBytes[index].count == nameBytes.count {
            if namespaceNameBytes[index].withUnsafeBytes({ $0.elementsEqual(nameBytes) }) { return index }
        }
        return nil
    }

    /// The slice to report now, per entry, and the wall-clock second its start was taken.
    func currentSlices() -> (startWallSeconds: Int, endWallSeconds: Int, slices: [LatencySlice]) {
        let now = Snapshot(
            nanoseconds: MonotonicClock.nowNs(), wallSeconds: Self.wallSeconds(),
            counts: entries.map { $0.histogram.snapshot() })
        let (from, to) = state.withLock { state -> (Snapshot, Snapshot) in
            let age = Double(now.nanoseconds &- state.base.nanoseconds) / 1e9
            if age >= Self.sliceSeconds {
                state.closed = (state.base, now)
                state.base = now
            }
            return state.closed ?? (state.base, now)
        }
        let seconds = Double(to.nanoseconds &- from.nanoseconds) / 1e9
        let slices = zip(from.counts, to.counts).map { LatencySlice(from: $0, to: $1, seconds: seconds) }
        return (from.wallSeconds, to.wallSeconds, slices)
    }

    /// Cumulative counts since start, per entry but the sub-phase ones (for the metrics
    /// endpoint, whose `type` label sums would otherwise count a transaction twice).
    func cumulative() -> [(entry: Entry, counts: [UInt64])] {
        entries.filter { $0.group == nil }.map { ($0, $0.histogram.snapshot()) }
    }

    /// Whether `entry` answers `latencies:` / `latency:` with `filter` (nil: the main
    /// histograms). A sub-phase histogram answers only while its group is enabled, and only when
    /// asked for by its own name or its group's (`hist={ns}-benchmarks-read`, as asadm's
    /// `show latencies -v` asks): as with Aerospike, a bare `latencies:` leaves them out (asadm
    /// asks for both and would show them twice).
    private static func selects(_ entry: Entry, filter: String?) -> Bool {
        guard let group = entry.group else { return filter == nil || filter == entry.name }
        guard group.isEnabled, let filter else { return false }
        return filter == entry.name || filter == entry.groupName
    }

    private static func wallSeconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec
    }

    // MARK: - Info answers

    /// `latencies:[hist=<name>]`: `<name>:msec,<ops/sec>,<pct>…` per histogram, `;`-separated;
    /// a histogram that has never recorded a transaction answers `<name>:` (as Aerospike does for
    /// a histogram with no data). An unknown `hist` answers `error-no-data-yet-or-back-too-small`
    /// (asadm drops answers starting with `error`).
    func latenciesValue(histogram filter: String?) -> String {
        let (_, _, slices) = currentSlices()
        var parts: [String] = []
        for (entry, slice) in zip(entries, slices) {
            guard Self.selects(entry, filter: filter) else { continue }
            let everRecorded = entry.histogram.snapshot().contains { $0 != 0 }
            parts.append(entry.name + ":" + (everRecorded ? slice.latenciesValue : ""))
        }
        if parts.isEmpty { return "error-no-data-yet-or-back-too-small" }
        return parts.joined(separator: ";")
    }

    /// The older `latency:[hist=<name>]`: per histogram a header
    /// `<name>:<HH:MM:SS>-GMT,ops/sec,>1ms,>8ms,>64ms;` and one row `<HH:MM:SS>,<ops>,<pct>…;`.
    func legacyLatencyValue(histogram filter: String?) -> String {
        let (start, end, slices) = currentSlices()
        var text = ""
        for (entry, slice) in zip(entries, slices) {
            guard Self.selects(entry, filter: filter) else { continue }
            text += "\(entry.name):\(Self.clockText(start))-GMT,ops/sec,>1ms,>8ms,>64ms;"
            text += "\(Self.clockText(end)),\(slice.legacyRow);"
        }
        return text.isEmpty ? "error-no-data-yet-or-back-too-small" : text
    }

    /// `HH:MM:SS` of a Unix time, UTC.
    static func clockText(_ unixSeconds: Int) -> String {
        let daySeconds = ((unixSeconds % 86_400) + 86_400) % 86_400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(daySeconds / 3600)):\(two(daySeconds / 60 % 60)):\(two(daySeconds % 60))"
    }
}

/// What one single-record transaction records when it completes: its latency (two relaxed
/// adds), a failure count when it failed, and for a delete the delete counts; with its
/// namespace's `enable-benchmarks-read` / `-write` on, its phases too.
struct TransactionMeter: Sendable {
    /// Unretained, as the rest: the book holds these for the server's life, and every service
    /// thread meters into the same ones, so a retain per transaction would move their cache
    /// lines between the cores.
    let histogram: Unretained<LatencyHistogram>
    var deletes: Unretained<OutcomeCounts>?
    /// The read or write sub-phase group (recorded only while enabled).
    let benchmarks: Unretained<BenchmarkGroup>

    /// The sub-phase group if it is enabled now (one relaxed load; a retain only when it is).
    @inline(__always)
    var enabledBenchmarks: BenchmarkGroup? {
        benchmarks.with { $0.isEnabled ? $0 : nil }
    }

    @inline(__always)
    func finish(since startNanoseconds: UInt64, resultCodeRaw code: UInt8) {
        histogram.with { histogram in
            histogram.record(since: startNanoseconds)
            if code != 0 { histogram.failures.note(resultCodeRaw: code) }
        }
        deletes?.with { $0.note(resultCodeRaw: code, countingTotal: true) }
    }
}
