// cairn-crash-writer: a child process for crash tests. Opens a namespace over the given files
// (commit-to-device unless --no-commit), writes and durably deletes keys from several threads,
// and prints one line per acknowledged operation on stdout (unbuffered), until killed. Thread t
// only writes keys k with k % threads == t, so per key the order of the lines is the order of
// the commits, and values (t << 40 | counter) only grow per key:
//
//   begin put <key> <value>   about to write <value> to <key> (may or may not land if killed)
//   put <key> <value>         the write of <value> to key <key> was acknowledged
//   begin del <key>           about to delete <key> durably
//   del <key>                 the durable delete of <key> was acknowledged
//
// Usage: cairn-crash-writer [--no-commit] [--threads N] [--keys N] [--file-mb N] [--nsup-period S] FILE...
// (--file-mb: file size, default 64; a small one keeps defrag, block reuse and, with
// --nsup-period, the tomb raider busy while the process is killed.)
@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation

struct Options {
    var commit = true
    var threads = 4
    var keys = 2000
    var files: [String] = []
    var fileMB = 64
    var nsupPeriod = 0
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    while let a = args.first {
        args.removeFirst()
        switch a {
        case "--no-commit": o.commit = false
        case "--threads": o.threads = Int(args.removeFirst()) ?? 4
        case "--keys": o.keys = Int(args.removeFirst()) ?? 2000
        case "--file-mb": o.fileMB = Int(args.removeFirst()) ?? 64
        case "--nsup-period": o.nsupPeriod = Int(args.removeFirst()) ?? 0
        default: o.files.append(a)
        }
    }
    return o
}

let options = parseOptions()
let keys = options.keys
let outputLock = NSLock()

/// One line straight to fd 1 (no stdio buffer), so every acknowledged operation is visible to
/// the parent before the next one starts.
func emit(_ line: String) {
    outputLock.lock()
    defer { outputLock.unlock() }
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func digest(_ key: Int) -> Digest { Digest(bytes: CrashWorkload.digestBytes(forKey: key))! }

var storage = StorageOptions(namespaceName: "test",
                             devices: options.files.map { .init(path: $0, fileSizeBytes: UInt64(options.fileMB) << 20) },
                             writeBlockSizeBytes: 128 << 10, partitionTreeSprigs: 16, flushMaxMs: 100, commitToDevice: options.commit)
storage.defragSleepUs = 0
var namespaceOptions = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 20)
namespaceOptions.nsupPeriodSeconds = options.nsupPeriod
let ns: Namespace
do { ns = try Namespace.open(namespaceOptions) } catch {
    FileHandle.standardError.write(Data("open failed: \(error)\n".utf8))
    exit(1)
}
emit("ready \(ns.startReport.mode.rawValue)")
for t in 0..<options.threads {
    Thread {
        var rng = SystemRandomNumberGenerator()
        var value = Int64(t) << 40
        while true {
            let key = Int.random(in: 0..<(keys / options.threads), using: &rng) * options.threads + t
            value += 1
            do {
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    emit("begin del \(key)")
                    try ns.delete(digest(key), options: WriteOptions(durableDelete: true))
                    emit("del \(key)")
                } else {
                    emit("begin put \(key) \(value)")
                    let bin = StoredBin(name: "v", particleType: .integer,
                                        bytes: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (56 - 8 * $0)) })
                    try ns.put(digest(key), bins: [bin, StoredBin(name: "pad", particleType: .blob, bytes: [UInt8](repeating: 7, count: Int(value % 300)))])
                    emit("put \(key) \(value)")
                }
            } catch let e as EngineError where e.result == .keyNotFound {
                continue
            } catch {
                emit("error \(error)")
            }
        }
    }.start()
}
while true { sleep(60) }
