import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import CairnIndex

/// Micro benchmarks, off unless `CAIRN_INDEX_BENCH=1`. Run them optimised:
///
///     CAIRN_INDEX_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter IndexBenchmarks
///
/// They print numbers and ratios (no pass/fail thresholds: the machine is shared and noisy).
@Suite(.serialized, .enabled(if: getenv("CAIRN_INDEX_BENCH") != nil))
struct IndexBenchmarks {
    static let entryCount = 1 << 20

    static func digests(_ count: Int, seed: UInt64) -> [Digest] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Digest.random(using: &generator) }
    }

    static func nanosecondsPerOperation(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = monotonicNanoseconds()
        try body()
        return Double(monotonicNanoseconds() - start) / Double(count)
    }

    @Test func singleThreadOperations() throws {
        let digests = IndexBenchmarks.digests(IndexBenchmarks.entryCount, seed: 1)
        let index = try PrimaryIndex(configuration: IndexConfiguration(entryCountMax: 1 << 22))
        let insert = try IndexBenchmarks.nanosecondsPerOperation(digests.count) {
            for (value, digest) in digests.enumerated() {
                try index.withRecord(digest) { record in record = sampleRecord(digest, value: UInt64(value)) }
            }
        }
        var found = 0
        let lookup = IndexBenchmarks.nanosecondsPerOperation(digests.count) {
            for digest in digests where index.lookup(digest) != nil { found += 1 }
        }
        let update = try IndexBenchmarks.nanosecondsPerOperation(digests.count) {
            for digest in digests {
                try index.withRecord(digest) { record in record?.generation &+= 1 }
            }
        }
        var scanned = 0
        let scan = IndexBenchmarks.nanosecondsPerOperation(digests.count) {
            index.forEachRecord { _ in scanned += 1 }
        }
        let remove = IndexBenchmarks.nanosecondsPerOperation(digests.count) {
            for digest in digests { index.remove(digest) }
        }
        let sorted = digests.sorted()
        let sortedInsert = try IndexBenchmarks.nanosecondsPerOperation(sorted.count) {
            for digest in sorted { try index.insertOrReplace(sampleRecord(digest, value: 1)) }
        }
        #expect(found == digests.count && scanned == digests.count)
        print(
            """
            IndexBenchmarks single thread, \(digests.count) entries, 256 sprigs/partition (ns/op):
              insert \(insert)  lookup \(lookup)  update \(update)  scan \(scan)  remove \(remove)
              insert in sorted order (free-list reuse) \(sortedInsert)
            """)
    }

    /// Operations per second of `threadCount` threads doing 70 % lookups and 30 % updates;
    /// best of three runs (the machine is shared: the best run is the least disturbed).
    static func mixedOperationsPerSecond(
        _ index: PrimaryIndex, digests: [Digest], threadCount: Int, operationCount: Int
    ) -> Double {
        var best = 0.0
        for _ in 0..<3 {
            let start = monotonicNanoseconds()
            runOnThreads(threadCount) { thread in
                var generator = SplitMix64(seed: UInt64(thread) &* 0x9E37_79B9 &+ 17)
                for _ in 0..<(operationCount / threadCount) {
                    let digest = digests[Int(generator.next() % UInt64(digests.count))]
                    if generator.next() % 10 < 7 {
                        _ = index.lookup(digest)
                    } else {
                        do {
                            try index.withRecord(digest) { record in record?.generation &+= 1 }
                        } catch {
                            preconditionFailure("update failed: \(error)")
                        }
                    }
                }
            }
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            best = max(best, Double(operationCount) / seconds)
        }
        return best
    }

    /// Mixed lookups and updates from several threads for several stripe counts.
    @Test func stripeCountScaling() throws {
        let digests = IndexBenchmarks.digests(IndexBenchmarks.entryCount / 4, seed: 2)
        var lines: [String] = []
        var baseline: Double? = nil
        for stripeCount in [1, 16, 256, 4096, 65536] {
            let index = try PrimaryIndex(
                configuration: IndexConfiguration(entryCountMax: 1 << 20, lockStripeCount: stripeCount))
            for digest in digests { try index.insertOrReplace(sampleRecord(digest, value: 1)) }
            var line = "stripes \(stripeCount):"
            for threadCount in [1, 2, 4] {
                let rate = IndexBenchmarks.mixedOperationsPerSecond(
                    index, digests: digests, threadCount: threadCount, operationCount: 1_000_000)
                if baseline == nil { baseline = rate }
                let ratio = rate / (baseline ?? rate)
                line += "  \(threadCount)T \(Int(rate / 1000)) kop/s (x\((ratio * 100).rounded() / 100))"
            }
            lines.append(line)
        }
        print("IndexBenchmarks 70% lookup / 30% update, \(digests.count) entries, best of 3, ratio to 1 stripe 1 thread:")
        for line in lines { print("  " + line) }
    }
}
