import Benchmark
import CairnIndex
import CairnTesting
import Dispatch

/// `PrimaryIndex` with `entryCount` random digests (default 1 000 000) in the default
/// configuration (256 sprigs per partition, 64 MiB arena stages, 4 096 lock stripes):
/// insert, lookup of present and of absent digests, update, remove, and a 2-thread insert.
///
/// Lookups, updates and removes visit the present digests in a shuffled order, not in insertion
/// order: entries sit in the arena in insertion order, so walking that order would stream
/// through memory and hide the cache misses a real lookup pays.
enum IndexBenchmarks {
    /// `MemoryLayout<IndexEntry>.stride` (internal to CairnIndex; CairnIndexTests' LayoutTests
    /// holds it at 64).
    static let entrySizeBytes = 64
    /// `MemoryLayout<SprigSlot>.stride` (internal; 16 by its layout comment).
    static let sprigSlotSizeBytes = 16
    /// `IndexHeader.regionSizeBytes` (internal).
    static let headerRegionSizeBytes = 4096
    /// Operations per timed iteration of the lookup and update benchmarks.
    static let batchCount = 10_000

    static let insertName = "index.insert"
    static let concurrentInsertName = "index.insert_2_threads"

    /// Digests and orders, generated once from the seed.
    struct Digests {
        /// In insertion order.
        let present: [Digest]
        /// `present`, shuffled: the order of lookups, updates and removes.
        let shuffled: [Digest]
        /// Digests never inserted.
        let absent: [Digest]
    }

    static func makeDigests(count: Int, seed: UInt64) -> Digests {
        var generator = SplitMix64(seed: seed ^ 0x1DE7)
        func next() -> Digest {
            Digest(word0: generator.next(), word1: generator.next(), word2: UInt32(truncatingIfNeeded: generator.next()))
        }
        let present = (0..<count).map { _ in next() }
        let absent = (0..<count).map { _ in next() }  // 160 random bits: no collision with `present` in practice
        var shuffled = present
        shuffled.shuffle(using: &generator)
        return Digests(present: present, shuffled: shuffled, absent: absent)
    }

    static func make(entryCount: Int, seed: UInt64, fullRounds: Int) -> [MicroBenchmark] {
        // The default configuration. Its entryCountMax (2^24) must stay well above entryCount:
        // stripe free-list caches hold handles too (up to 4 096 × 256), and an arena near its
        // limit takes the slow path that steals from other stripes' caches.
        var configuration = IndexConfiguration()
        configuration.entryCountMax = max(configuration.entryCountMax, 2 * entryCount)
        let digests = makeDigests(count: entryCount, seed: seed)
        // Inserts, removes and the 2-thread insert rebuild a whole index per iteration: few rounds.
        let fullSettings: [BenchmarkSetting] = [Iterations(fullRounds), WarmupIterations(1)]

        var index: PrimaryIndex?
        var residentBefore = 0
        var shared: PrimaryIndex?  // the full index the lookup and update benchmarks share
        var cursor = 0

        func sharedIndex() -> PrimaryIndex {
            if let shared { return shared }
            let built = makeIndex(configuration)
            insert(digests.present[...], into: built)
            shared = built
            return built
        }

        return [
            MicroBenchmark(
                insertName, operationsPerIteration: entryCount, settings: fullSettings,
                setUp: { _ in
                    index = makeIndex(configuration)
                    residentBefore = residentBytes()
                },
                tearDown: { benchmark in
                    guard let built = index else { return }
                    let residentAfter = residentBytes()
                    expectEntryCount(built, entryCount)
                    let arena = built.arenaStatistics
                    let mappedBytes = headerRegionSizeBytes
                        + Digest.partitionCount * configuration.sprigsPerPartition * sprigSlotSizeBytes
                        + arena.stageCount * configuration.stageEntryCount * entrySizeBytes
                    benchmark.note("bytes_per_entry_arena", Double(arena.handlesUsed * entrySizeBytes) / Double(entryCount))
                    benchmark.note("bytes_per_entry_mapped", Double(mappedBytes) / Double(entryCount))
                    benchmark.note("bytes_per_entry_rss", Double(residentAfter - residentBefore) / Double(entryCount))
                    index = nil
                }
            ) {
                insert(digests.present[...], into: index!)
            },
            MicroBenchmark(
                concurrentInsertName, operationsPerIteration: entryCount, settings: fullSettings,
                setUp: { _ in index = makeIndex(configuration) },
                tearDown: { _ in
                    if let built = index { expectEntryCount(built, entryCount) }
                    index = nil
                }
            ) {
                let target = index!
                let half = entryCount / 2
                // Two threads, disjoint halves: contention only where they meet on a stripe lock
                // or on the arena's allocator lock (a refill of 32 entries at a time).
                DispatchQueue.concurrentPerform(iterations: 2) { thread in
                    let range = thread == 0 ? 0..<half : half..<entryCount
                    insert(digests.present[range], into: target)
                }
            },
            MicroBenchmark(
                "index.lookup_hit", operationsPerIteration: batchCount,
                setUp: { _ in _ = sharedIndex() }
            ) {
                let target = sharedIndex()
                var found = 0
                for _ in 0..<batchCount {
                    if target.lookup(digests.shuffled[cursor]) != nil { found += 1 }
                    cursor = cursor + 1 == entryCount ? 0 : cursor + 1
                }
                if found != batchCount { fatalError("lookup_hit: \(batchCount - found) present digests not found") }
            },
            MicroBenchmark(
                "index.lookup_miss", operationsPerIteration: batchCount,
                setUp: { _ in _ = sharedIndex() }
            ) {
                let target = sharedIndex()
                var found = 0
                for _ in 0..<batchCount {
                    if target.lookup(digests.absent[cursor]) != nil { found += 1 }
                    cursor = cursor + 1 == entryCount ? 0 : cursor + 1
                }
                if found != 0 { fatalError("lookup_miss: \(found) absent digests found") }
            },
            MicroBenchmark(
                "index.update", operationsPerIteration: batchCount,
                setUp: { _ in _ = sharedIndex() }
            ) {
                let target = sharedIndex()
                for _ in 0..<batchCount {
                    do {
                        // The write path's replace: same digest, new location and generation.
                        try target.withRecord(digests.shuffled[cursor]) { record in
                            guard var current = record else { fatalError("update: present digest not found") }
                            current.location.offsetUnits = (current.location.offsetUnits &+ 32) & RecordLocation.offsetUnitsMax
                            current.generation &+= 1
                            record = current
                        }
                    } catch {
                        fatalError("update failed: \(error)")
                    }
                    cursor = cursor + 1 == entryCount ? 0 : cursor + 1
                }
            },
            MicroBenchmark(
                "index.remove", operationsPerIteration: entryCount, settings: fullSettings,
                setUp: { _ in
                    shared = nil  // last user of the shared index: give its memory back
                    let built = makeIndex(configuration)
                    insert(digests.present[...], into: built)
                    index = built
                },
                tearDown: { _ in
                    if let built = index { expectEntryCount(built, 0) }
                    index = nil
                }
            ) {
                let target = index!
                var missing = 0
                for digest in digests.shuffled where target.remove(digest) == nil { missing += 1 }
                if missing != 0 { fatalError("remove: \(missing) present digests not found") }
            },
        ]
    }

    /// Adds ops/s to the 2-thread insert and its speed-up over the 1-thread insert of the same run.
    static func addDerivedNotes(_ results: inout [MicroResult]) {
        addSpeedupNotes(&results, concurrent: concurrentInsertName, single: insertName)
    }

    // MARK: Helpers

    static func makeIndex(_ configuration: IndexConfiguration) -> PrimaryIndex {
        do throws(IndexError) {
            return try PrimaryIndex(configuration: configuration, backing: .anonymous)
        } catch {
            fatalError("cannot create the index: \(error)")
        }
    }

    /// Inserts every digest with a distinct location, through `withRecord` as the write path does.
    static func insert(_ digests: ArraySlice<Digest>, into index: PrimaryIndex) {
        for position in digests.indices {
            let digest = digests[position]
            let record = IndexRecord(
                digest: digest, generation: 1, lastUpdateTimeMs: 520_000_000_000,
                location: RecordLocation(deviceIndex: 0, offsetUnits: UInt64(position) * 32, sizeUnits: 32))
            do {
                try index.withRecord(digest) { current in
                    if current != nil { fatalError("insert: digest \(digest) already present") }
                    current = record
                }
            } catch {
                fatalError("insert failed: \(error)")
            }
        }
    }

    static func expectEntryCount(_ index: PrimaryIndex, _ expected: Int) {
        let found = index.entryCount
        if found != expected { fatalError("index holds \(found) entries, expected \(expected)") }
    }
}
