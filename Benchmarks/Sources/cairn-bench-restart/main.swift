// cairn-bench-restart: fill a file through the engine with a shared-memory index, or time one
// start of it (warm when the last stop was clean and nothing forces cold).
//
//   cairn-bench-restart fill  --file PATH --size-mib N --shm DIR --records N [--threads T]
//   cairn-bench-restart start --file PATH --size-mib N --shm DIR [--cold-start]
//
// Each run is its own process, like a daemon restart. `start` prints one line:
//   start mode=<warm|cold> ms=<time to ready> records=<objects> record_data_reads=<n> reason=<why>
@_spi(EngineInternals) import CairnEngine
import CairnBenchSupport
import CairnIndex
import CairnStorage
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-restart: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, ["fill", "start"].contains(mode) else {
    fail("usage: fill|start --file PATH --size-mib N --shm DIR [--records N] [--threads T] [--cold-start]")
}
struct Arguments {
    var file = "", shm = "", sizeMiB = 0, records = 0, threads = 2, coldStart = false
}
func parse(_ arguments: [String]) -> Arguments {
    var a = Arguments()
    var i = 1
    while i < arguments.count {
        let value = i + 1 < arguments.count ? arguments[i + 1] : ""
        switch arguments[i] {
        case "--file": a.file = value
        case "--shm": a.shm = value
        case "--size-mib": a.sizeMiB = Int(value) ?? 0
        case "--records": a.records = Int(value) ?? 0
        case "--threads": a.threads = Int(value) ?? 2
        case "--cold-start": a.coldStart = true; i -= 1
        default: fail("unknown argument \(arguments[i])")
        }
        i += 2
    }
    return a
}
let parsed = parse(arguments)
let file = parsed.file, shm = parsed.shm, sizeMiB = parsed.sizeMiB, records = parsed.records
let threads = parsed.threads, coldStart = parsed.coldStart
guard !file.isEmpty, !shm.isEmpty, sizeMiB > 0 else { fail("--file, --shm and --size-mib are required") }
if mode == "fill" && records <= 0 { fail("fill needs a positive --records") }

let storage = StorageOptions(namespaceName: "bench", devices: [.init(path: file, fileSizeBytes: UInt64(sizeMiB) << 20)],
                             writeBlockSizeBytes: 1 << 20, partitionTreeSprigs: 256, flushMaxMs: 1000,
                             maxWriteCacheBytes: 256 << 20)
let options = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 26, coldStart: coldStart, progressIntervalMs: 5000,
                               sharedMemory: SharedMemoryOptions(directory: shm, name: "cairn-bench-restart"))

do {
    let ns = try Namespace.open(options)
    switch mode {
    case "fill":
        let start = Date()  // the puts and the close that flushes them
        fillBench(ns, records: records, threads: threads, payloadBytes: 100, fail: { fail($0) })
        try ns.close()
        let seconds = Date().timeIntervalSince(start)
        print("fill records=\(records) seconds=\(String(format: "%.2f", seconds)) puts_per_s=\(Int(Double(records) / seconds)) live_bytes=\(ns.statistics.liveBytes)")
    default:
        let report = ns.startReport
        let objects = ns.statistics.objects
        // Spot check: a few records read back.
        for n in stride(from: 0, to: max(objects, 1), by: max(1, objects / 100)) where try ns.get(benchDigest(n)) == nil {
            fail("record \(n) missing after a \(report.mode) start")
        }
        try ns.close()
        print("start mode=\(report.mode) ms=\(Int(report.seconds * 1000)) records=\(objects) record_data_reads=\(report.recordDataReads) reason=\(report.reason)")
    }
} catch {
    fail("\(error)")
}
