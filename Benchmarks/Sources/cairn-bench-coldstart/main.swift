// cairn-bench-coldstart: fill a device with ~500-byte records through the engine, or time a
// cold start of it.
//
//   cairn-bench-coldstart fill --device PATH --records N [--threads T]
//   cairn-bench-coldstart scan --device PATH [--scan-threads N] [--scan-depth N]
//
// Each prints one `key=value` line; `scan` prints the cold-start report.
@_spi(EngineInternals) import CairnEngine
import CairnBenchSupport
import CairnIndex
import CairnStorage
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-coldstart: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, ["fill", "scan"].contains(mode) else { fail("usage: fill|scan --device PATH [--records N]") }
struct Arguments {
    var device = ""
    var records = 1_000_000
    var threads = 2
    var scanThreads = 0
    var scanDepth = 16
    var prefault = -1  // index entries faulted in ahead of the parsers (-1: the engine's default)
}

func parse(_ arguments: [String]) -> Arguments {
    var a = Arguments()
    var i = 1
    while i < arguments.count {
        let value = i + 1 < arguments.count ? arguments[i + 1] : ""
        switch arguments[i] {
        case "--device": a.device = value
        case "--records": a.records = Int(value) ?? 0
        case "--threads": a.threads = Int(value) ?? 2
        case "--scan-threads": a.scanThreads = Int(value) ?? 0
        case "--scan-depth": a.scanDepth = Int(value) ?? 16
        case "--prefault": a.prefault = Int(value) ?? -1
        default: fail("unknown argument \(arguments[i])")
        }
        i += 2
    }
    return a
}

let parsed = parse(arguments)
let device = parsed.device
let records = parsed.records
let threads = parsed.threads
guard !device.isEmpty, records > 0 else { fail("--device and a positive --records are required") }

var storage = StorageOptions(namespaceName: "bench", devices: [.init(path: device)], writeBlockSizeBytes: 1 << 20,
                             partitionTreeSprigs: 256, flushMaxMs: 1000, maxWriteCacheBytes: 256 << 20,
                             scanQueueDepth: parsed.scanDepth, scanThreadCount: parsed.scanThreads)
if parsed.prefault >= 0 { storage.scanPrefaultEntries = parsed.prefault }
let options = NamespaceOptions(storage: storage, indexEntryCountMax: max(1 << 20, records * 2), progressIntervalMs: 2000,
                               onColdStartProgress: { p in
    FileHandle.standardError.write(Data(String(format: "cold start %.1f%% records=%d records_per_s=%.0f mb_per_s=%.1f eta_s=%.1f\n",
                                               p.fraction * 100, p.records, p.recordsPerSecond, p.bytesPerSecond / 1e6, p.etaSeconds).utf8))
})

do {
    switch mode {
    case "fill":
        let ns = try Namespace.open(options)
        let start = Date()  // the puts and the close that flushes them
        fillBench(ns, records: records, threads: threads, payloadBytes: 400, fail: { fail($0) })
        try ns.close()
        let seconds = Date().timeIntervalSince(start)
        let stats = ns.statistics
        print("fill records=\(records) seconds=\(String(format: "%.2f", seconds)) puts_per_s=\(Int(Double(records) / seconds)) live_bytes=\(stats.liveBytes)")
    default:
        // The cold start's own CPU share: user + system time over wall time of the open (the
        // scan and the index pass), out of 100 % per core.
        func cpuSeconds() -> Double {
            var u = rusage()
            getrusage(RUSAGE_SELF.rawValue, &u)
            return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
                + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        }
        // The whole machine's busy time over the same window (every CPU of /proc/stat: user,
        // nice, system, irq, softirq, steal; not idle or iowait), out of 100 % per core: when
        // it is near the top while the cold start's own share is not, the rest went to other
        // work (a loop device's worker copying the blocks, the kernel), not to waiting.
        func machineTicks() -> (busy: Double, total: Double) {
            guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return (0, 0) }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard fields.count >= 8 else { return (0, 0) }
            let total = fields[0..<8].reduce(0, +)
            return (total - fields[3] - fields[4], total)
        }
        let cpu0 = cpuSeconds()
        let machine0 = machineTicks()
        let wall0 = Date()
        let ns = try Namespace.open(options)
        let wall = Date().timeIntervalSince(wall0)
        let cpu = cpuSeconds() - cpu0
        let machine1 = machineTicks()
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let machineBusy = machine1.total > machine0.total
            ? (machine1.busy - machine0.busy) / (machine1.total - machine0.total) * 100 * cores : 0
        guard let report = ns.startReport.coldStart else { fail("the device held no data: nothing to scan") }
        print("scan \(report) open_seconds=\(String(format: "%.3f", wall)) cpu_pct=\(String(format: "%.0f", cpu * 100 / wall))"
              + " machine_busy_pct=\(String(format: "%.0f", machineBusy))")
        try ns.close()
    }
} catch {
    fail("\(error)")
}
