import Benchmark
import CairnEngine
import CairnIO
import CairnStorage
import CairnTesting
import Dispatch
import Foundation

/// The engine's write and memory-read paths with no network in front of them: what a put and a
/// get served from memory cost a service thread after the wire. Over the wire the loopback TCP
/// path and the client's wake-ups (7–8 µs per transaction on the 2-vCPU VM, `hack/bench-compare
/// --old floor`) swamp a change of a few hundred nanoseconds in the engine; here it shows.
///
/// A file-backed namespace (a 1 GiB sparse file in a temporary directory, 1 MiB write blocks,
/// `flush-max-ms` 1000, the post-write cache on) holds `keyCount` records of one 1 KiB blob bin.
/// - `engine.put_1KiB`: `Namespace.startOperate` replacing the record's bin (a new copy: index
///   update, encode and CRC into the write buffer, the old copy's bytes released), one thread,
///   with a thread-kept `RecordScratch` as a service thread has.
/// - `engine.put_1KiB_2_threads`: the same on two threads at once, on disjoint records: what the
///   two service threads share (the device's writer and its lock, the block's live-byte counter,
///   the namespace's and the device's objects) is what it measures beyond the 1-thread figure.
/// - `engine.get_memory_1KiB`: `Namespace.startGet` of a record whose block is in memory.
enum EngineBenchmarks {
    static let putName = "engine.put_1KiB"
    static let concurrentPutName = "engine.put_1KiB_2_threads"
    static let getName = "engine.get_memory_1KiB"
    /// Records written and read; their 20 MiB of copies stay in the write buffers and the
    /// post-write cache.
    static let keyCount = 20_000
    /// Operations per timed iteration.
    static let batchCount = 10_000

    /// The namespace the benchmarks share, opened by the first one that runs and closed at exit.
    final class Fixture: @unchecked Sendable {
        let directory: TemporaryDirectory
        let namespace: Namespace
        let digests: [Digest]
        let bin: StoredBin
        /// One per thread that writes or reads (index 0 and 1), as each service thread keeps its own.
        let scratches = [RecordScratch(), RecordScratch()]
        var cursor = 0

        init(seed: UInt64) {
            do {
                directory = try TemporaryDirectory()
                var storage = StorageOptions(
                    namespaceName: "bench", devices: [.init(path: directory.file("engine.dat"), fileSizeBytes: 1 << 30)],
                    writeBlockSizeBytes: 1 << 20, flushMaxMs: 1000)
                storage.postWriteCacheBytes = 256 << 20  // the server's default (Aerospike's)
                namespace = try Namespace.open(NamespaceOptions(storage: storage))
            } catch {
                fatalError("cannot open the benchmark namespace: \(error)")
            }
            var generator = SplitMix64(seed: seed ^ 0xE4_61_4E)
            digests = (0..<EngineBenchmarks.keyCount).map { _ in
                Digest(word0: generator.next(), word1: generator.next(), word2: UInt32(truncatingIfNeeded: generator.next()))
            }
            bin = StoredBin(name: "b", particleType: .blob, bytes: (0..<1024).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            for index in digests.indices { put(index, scratch: scratches[0]) }
        }

        deinit { try? namespace.close() }

        /// Replaces record `index`'s bin; traps unless the engine finished it at once (it never
        /// waits without commit-to-device).
        @inline(__always)
        func put(_ index: Int, scratch: RecordScratch) {
            let start = namespace.startOperate(
                digests[index], operations: [.write(bin)], options: WriteOptions(exists: .replace), scratch: scratch)
            guard case .finished(.success) = start else { fatalError("engine put \(index) did not finish at once: \(start)") }
        }

        @inline(__always)
        func get(_ index: Int, scratch: RecordScratch) {
            guard case .finished(.success(.some)) = namespace.startGet(digests[index], scratch: scratch) else {
                fatalError("engine get \(index) was not served from memory")
            }
        }
    }

    static func make(seed: UInt64) -> [MicroBenchmark] {
        var fixture: Fixture?
        func shared() -> Fixture {
            if let fixture { return fixture }
            let made = Fixture(seed: seed)
            fixture = made
            return made
        }
        func advance(_ f: Fixture) -> Int {
            let first = f.cursor
            f.cursor = (f.cursor + batchCount) % keyCount
            return first
        }
        return [
            MicroBenchmark(putName, operationsPerIteration: batchCount, setUp: { _ in _ = shared() }) {
                let f = shared()
                let first = advance(f)
                for i in 0..<batchCount { f.put((first + i) % keyCount, scratch: f.scratches[0]) }
            },
            MicroBenchmark(concurrentPutName, operationsPerIteration: batchCount, setUp: { _ in _ = shared() }) {
                let f = shared()
                let first = advance(f)
                let half = batchCount / 2
                DispatchQueue.concurrentPerform(iterations: 2) { thread in
                    let scratch = f.scratches[thread]
                    for i in (thread * half)..<((thread + 1) * half) { f.put((first + i) % keyCount, scratch: scratch) }
                }
            },
            MicroBenchmark(getName, operationsPerIteration: batchCount, setUp: { _ in _ = shared() }) {
                let f = shared()
                let first = advance(f)
                for i in 0..<batchCount { f.get((first + i) % keyCount, scratch: f.scratches[0]) }
            },
        ]
    }

    /// Adds ops/s to the 2-thread put and its speed-up over the 1-thread put of the same run.
    static func addDerivedNotes(_ results: inout [MicroResult]) {
        addSpeedupNotes(&results, concurrent: concurrentPutName, single: putName)
    }
}
