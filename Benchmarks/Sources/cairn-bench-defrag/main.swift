// cairn-bench-defrag: the steady-state overwrite workload of issue 6 on one device. Loads
// --keys records, then overwrites random keys --writes times from --threads threads with
// defrag running (defrag-lwm-pct --lwm, defrag-sleep --defrag-sleep µs), and reports for the
// part after the first full pass over the device (steady state):
//   writes_per_s          client write throughput
//   write_amp_device      device bytes written ÷ client record bytes (flush padding included)
//   write_amp_defrag      (client + defrag record bytes) ÷ client record bytes
//   live_fraction         live bytes ÷ device data bytes (how full the device is kept)
//   min_available_pct     the lowest free + never-written share seen
//   out_of_space / overloaded   refused writes (8 / 18)
// then closes without a clean shutdown and cold starts to check every key holds its newest value.
//
//   cairn-bench-defrag --device PATH [--keys 10000] [--value-bytes 1000] [--writes 1000000]
//                      [--threads 2] [--lwm 50] [--defrag-sleep 0] [--block-kib 128]
@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import Foundation
import Synchronization

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-defrag: \(message)\n".utf8))
    exit(2)
}

struct Arguments {
    var device = ""
    var keys = 10_000
    var valueBytes = 1000
    var writes = 1_000_000
    var threads = 2
    var lwm = 50
    var defragSleep = 0
    var blockKiB = 128
}

func parseArguments() -> Arguments {
var a = Arguments()
let argv = Array(CommandLine.arguments.dropFirst())
var i = 0
while i < argv.count {
    let value = i + 1 < argv.count ? argv[i + 1] : ""
    func int() -> Int { guard let v = Int(value) else { fail("\(argv[i]) needs a number, got '\(value)'") }; return v }
    switch argv[i] {
    case "--device": a.device = value
    case "--keys": a.keys = int()
    case "--value-bytes": a.valueBytes = int()
    case "--writes": a.writes = int()
    case "--threads": a.threads = int()
    case "--lwm": a.lwm = int()
    case "--defrag-sleep": a.defragSleep = int()
    case "--block-kib": a.blockKiB = int()
    default: fail("unknown argument \(argv[i])")
    }
    i += 2
}
guard !a.device.isEmpty, a.keys > 0, a.writes > 0, a.threads > 0 else { fail("--device is required; counts must be positive") }
return a
}
let a = parseArguments()

func digest(_ k: Int) -> Digest {
    var x = UInt64(k) &* 0x9E37_79B9_7F4A_7C15 &+ 1
    var bytes = [UInt8]()
    for _ in 0..<3 {
        x ^= x >> 31; x = x &* 0xBF58_476D_1CE4_E5B9; x ^= x >> 29
        withUnsafeBytes(of: x) { bytes.append(contentsOf: $0) }
    }
    return Digest(bytes: bytes.prefix(20))!
}

func bins(_ k: Int, _ version: Int) -> [StoredBin] {
    let v = UInt64(version)
    return [StoredBin(name: "v", particleType: .integer, bytes: (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }),
            StoredBin(name: "p", particleType: .blob, bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: k), count: a.valueBytes))]
}

func makeOptions() -> NamespaceOptions {
    var storage = StorageOptions(namespaceName: "bench", devices: [.init(path: a.device)], writeBlockSizeBytes: a.blockKiB << 10,
                                 partitionTreeSprigs: 64, flushMaxMs: 1000, maxWriteCacheBytes: 64 << 20)
    storage.defragLWMPct = a.lwm
    storage.defragSleepUs = a.defragSleep
    storage.stopWritesAvailPct = 5
    var options = NamespaceOptions(storage: storage, indexEntryCountMax: max(1 << 20, a.keys * 2))
    options.nsupPeriodSeconds = 0
    return options
}
let options = makeOptions()
let refused8 = Atomic<Int>(0)
let refused18 = Atomic<Int>(0)
let minAvailable = Atomic<Int>(100)

/// The run itself; returns each key's newest version and the figures line. The namespace is
/// gone when it returns (its devices closed), so the cold start can open them again.
func firstLife() -> ([Int], String) {
let ns: Namespace
do { ns = try Namespace.open(options) } catch { fail("open: \(error)") }

// Versions per key: the newest acknowledged one (writers own disjoint keys: k % threads).
let versions = Mutex([Int](repeating: 0, count: a.keys))
for k in 0..<a.keys {
    do { try ns.put(digest(k), bins: bins(k, 1)) } catch { fail("load: \(error)") }
}
versions.withLock { for k in 0..<a.keys { $0[k] = 1 } }
let deviceDataBytes = ns.storage.devices.reduce(0) { $0 + UInt64($1.blockCount - 1) * UInt64(options.storage.writeBlockSizeBytes) }


func runWrites(_ count: Int) -> Double {
    let start = Date()
    let group = DispatchGroup()
    for t in 0..<a.threads {
        group.enter()
        Thread {
            var rng = SystemRandomNumberGenerator()
            var local = [Int: Int]()
            var n = 0
            while n < count / a.threads {
                let k = Int.random(in: 0..<(a.keys / a.threads), using: &rng) * a.threads + t
                let version = (local[k] ?? versions.withLock { $0[k] }) + 1
                switch Result(catching: { () throws(EngineError) in
                    // Replace: a pure write (update would read the old record first).
                    try ns.put(digest(k), bins: bins(k, version), options: WriteOptions(exists: .replace))
                }) {
                case .success:
                    local[k] = version
                    n += 1
                case .failure(let error):
                    if error.result == .outOfSpace { refused8.add(1, ordering: .relaxed); usleep(1000) }
                    else if error.result == .deviceOverload { refused18.add(1, ordering: .relaxed); usleep(100) }
                    else { fail("write: \(error)") }
                }
                if n % 4096 == 0 && t == 0 && ProcessInfo.processInfo.environment["CAIRN_BENCH_TRACE"] != nil {
                    FileHandle.standardError.write(Data("\(ns.spaceStatistics)\n".utf8))
                }
                if n % 4096 == 0 {
                    let avail = ns.spaceStatistics.deviceAvailablePct
                    var cur = minAvailable.load(ordering: .relaxed)
                    while avail < cur {
                        let (ok, orig) = minAvailable.compareExchange(expected: cur, desired: avail, ordering: .relaxed)
                        if ok { break }
                        cur = orig
                    }
                }
            }
            versions.withLock { for (k, v) in local { $0[k] = v } }
            group.leave()
        }.start()
    }
    group.wait()
    return Date().timeIntervalSince(start)
}

// Warm-up: write the device's size once so blocks cycle (reuse and defrag reach steady state).
let recordBytes = UInt64(a.valueBytes + 100)
let warmup = Int(min(UInt64(a.writes / 2), deviceDataBytes / recordBytes))
_ = runWrites(warmup)
let before = ns.spaceStatistics
let measured = a.writes - warmup
let seconds = runWrites(measured)
let after = ns.spaceStatistics
let client = Double(after.clientBytesAppended - before.clientBytesAppended)
let deviceWritten = Double(after.deviceBytesWritten - before.deviceBytesWritten)
let defrag = Double(after.defragBytesAppended - before.defragBytesAppended)
let live = ns.statistics.liveBytes
print(String(format: "steady state: %d writes in %.2f s; defragged %d blocks, reused %d",
             measured, seconds, after.blocksDefragged - before.blocksDefragged, after.blocksReused - before.blocksReused))

do { try ns.closeWithoutCleanShutdown() } catch { fail("close: \(error)") }
let line = String(format: "writes_per_s=%.0f write_amp_device=%.3f write_amp_defrag=%.3f live_fraction=%.3f min_available_pct=%d out_of_space=%d overloaded=%d",
             Double(measured) / seconds, deviceWritten / client, (client + defrag) / client, Double(live) / Double(deviceDataBytes),
             minAvailable.load(ordering: .relaxed), refused8.load(ordering: .relaxed), refused18.load(ordering: .relaxed))
return (versions.withLock { $0 }, line)
}

let (expected, line) = firstLife()
// The writer threads of the first life may still hold their last reference for a moment (the
// device is opened exclusively): retry a busy device briefly.
var reopenedOrNil: Namespace?
for attempt in 0..<50 where reopenedOrNil == nil {
    do { reopenedOrNil = try Namespace.open(options) } catch {
        if attempt == 49 || !"\(error)".contains("errno 16") { fail("reopen: \(error)") }
        usleep(100_000)
    }
}
let reopened = reopenedOrNil!
var wrong = 0
for k in 0..<a.keys {
    let got = (try? reopened.get(digest(k)))??.bins.first { $0.name == "v" }
    let v = got.map { Int($0.bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) } ?? -1
    if v != expected[k] { wrong += 1 }
}
try? reopened.close()
print("\(line) cold_start_wrong=\(wrong)")
if wrong > 0 { exit(1) }
