import Synchronization
import Testing

@testable import CairnIndex

/// Thread-safety checks against a model. (ThreadSanitizer cannot check this module on Linux:
/// `Synchronization.Mutex`'s futex path is not instrumented, so TSan reports every access it
/// guards as a race — it does the same for a four-line Mutex counter.)
@Suite struct ConcurrencyTests {
    /// What one thread did, reported after it finished.
    struct ThreadLog: Sendable {
        /// Increments it applied to each counter digest.
        var increments: [Digest: UInt64] = [:]
        /// (digest, ticket, present afterwards) for every change of a churn digest; tickets are
        /// taken inside `withRecord`, i.e. under the sprig lock, so per digest they follow the
        /// order in which the changes were applied.
        var churn: [(digest: Digest, ticket: UInt64, present: Bool)] = []
        /// The final state of this thread's own digests (only it touches them).
        var own: [Digest: IndexRecord] = [:]
        var scanProblems: [String] = []
    }

    final class Shared: Sendable {
        let tickets = Atomic<UInt64>(0)
        let logs = Mutex<[ThreadLog]>([])
    }

    @Test func manyThreadsOnOverlappingDigestsMatchTheModel() throws {
        let seed = testSeed("manyThreadsOnOverlappingDigestsMatchTheModel")
        var setup = SplitMix64(seed: seed)
        // Few stripes and small stages: lock contention, stage growth and stripe-cache spills
        // all happen under concurrency.
        let index = try makeTestIndex(
            sprigsPerPartition: 2, stageEntryCount: 64, lockStripeCount: 8, prioritySeed: setup.next())
        // Counter and churn digests are packed into few partitions so sprigs are shared too.
        let counterDigests = (0..<64).map { _ in Digest.random(partition: Int(setup.next() % 4), using: &setup) }
        let churnDigests = (0..<256).map { _ in Digest.random(partition: Int(setup.next() % 4), using: &setup) }
        let threadCount = 6
        let operationCount = 20_000
        let shared = Shared()
        // Independent streams (a seed offset by a small multiple of SplitMix's increment would
        // replay the setup stream and collide with the shared digests).
        let threadSeeds = (0..<threadCount).map { _ in setup.next() }

        runOnThreads(threadCount) { thread in
            var generator = SplitMix64(seed: threadSeeds[thread])
            var log = ThreadLog()
            var ownPool: [Digest] = []
            do {
                for step in 0..<operationCount {
                    switch generator.next() % 10 {
                    case 0...2:
                        let digest = counterDigests[Int(generator.next() % UInt64(counterDigests.count))]
                        try index.withRecord(digest) { record in
                            if var current = record {
                                current.lastUpdateTimeMs += 1
                                record = current
                            } else {
                                var fresh = sampleRecord(digest, value: 0)
                                fresh.lastUpdateTimeMs = 1
                                record = fresh
                            }
                        }
                        log.increments[digest, default: 0] += 1
                    case 3...6:
                        let digest = churnDigests[Int(generator.next() % UInt64(churnDigests.count))]
                        let insert = generator.next() % 3 != 0
                        let ticket = try index.withRecord(digest) { record -> UInt64 in
                            let ticket = shared.tickets.wrappingAdd(1, ordering: .relaxed).newValue
                            record = insert ? sampleRecord(digest, value: ticket) : nil
                            return ticket
                        }
                        log.churn.append((digest, ticket, insert))
                    case 7...8:
                        // Own digests: plain insertOrReplace / remove / lookup, in the same partitions.
                        if ownPool.isEmpty || generator.next() % 2 == 0 {
                            let digest = Digest.random(partition: Int(generator.next() % 4), using: &generator)
                            let record = sampleRecord(digest, value: UInt64(step))
                            try index.insertOrReplace(record)
                            ownPool.append(digest)
                            log.own[digest] = record
                        } else {
                            let digest = ownPool[Int(generator.next() % UInt64(ownPool.count))]
                            if index.lookup(digest) != log.own[digest] {
                                log.scanProblems.append("own digest \(digest) changed by someone else")
                            }
                            if generator.next() % 2 == 0 {
                                index.remove(digest)
                                log.own[digest] = nil
                            }
                        }
                    default:
                        // Now and then a scan of one partition: must be strictly ascending.
                        guard generator.next() % 8 == 0 else { continue }
                        let partition = Int(generator.next() % 4)
                        var previous: Digest? = nil
                        index.forEach(partition: partition, batchCountMax: 8) { record in
                            if let previous, !(previous < record.digest) {
                                log.scanProblems.append("partition \(partition): \(record.digest) after \(previous)")
                            }
                            previous = record.digest
                            return true
                        }
                    }
                }
            } catch {
                log.scanProblems.append("thread \(thread): \(error)")
            }
            shared.logs.withLock { $0.append(log) }
        }

        let logs = shared.logs.withLock { $0 }
        #expect(logs.count == threadCount)
        #expect(logs.flatMap(\.scanProblems) == [], "seed \(seed)")
        // Counters: no lost update.
        var increments: [Digest: UInt64] = [:]
        for log in logs { increments.merge(log.increments, uniquingKeysWith: +) }
        for (digest, count) in increments {
            #expect(index.lookup(digest)?.lastUpdateTimeMs == count, "seed \(seed) counter \(digest)")
        }
        // Churn: the change with the highest ticket decides.
        var last: [Digest: (ticket: UInt64, present: Bool)] = [:]
        for entry in logs.flatMap(\.churn) where entry.ticket > (last[entry.digest]?.ticket ?? 0) {
            last[entry.digest] = (entry.ticket, entry.present)
        }
        for (digest, outcome) in last {
            let expected = outcome.present ? sampleRecord(digest, value: outcome.ticket) : nil
            #expect(index.lookup(digest) == expected, "seed \(seed) churn \(digest)")
        }
        // Own digests.
        var ownCount = 0
        for log in logs {
            for (digest, record) in log.own {
                #expect(index.lookup(digest) == record, "seed \(seed) own \(digest)")
            }
            ownCount += log.own.count
        }
        let expectedCount = increments.count + last.values.filter(\.present).count + ownCount
        #expect(index.entryCount == expectedCount, "seed \(seed)")
        let shape = try index.checkInvariants()
        #expect(shape.entryCount == expectedCount, "seed \(seed)")
    }

    /// Many threads filling an arena with a small limit: the limit is exact (no entry lost in a
    /// stripe cache) and every failure is `arenaFull`.
    @Test func concurrentFillStopsExactlyAtTheLimit() throws {
        let seed = testSeed("concurrentFillStopsExactlyAtTheLimit")
        let entryCountMax = 5000
        let index = try makeTestIndex(
            entryCountMax: entryCountMax, stageEntryCount: 256, lockStripeCount: 256, prioritySeed: seed)
        let inserted = Atomic<Int>(0)
        let otherErrors = Atomic<Int>(0)
        var setup = SplitMix64(seed: seed)
        let threadSeeds = (0..<4).map { _ in setup.next() }
        runOnThreads(4) { thread in
            var generator = SplitMix64(seed: threadSeeds[thread])
            var failures = 0
            while failures < 50 {
                do {
                    try index.insertOrReplace(sampleRecord(Digest.random(using: &generator), value: 1))
                    inserted.add(1, ordering: .relaxed)
                } catch IndexError.arenaFull {
                    failures += 1
                } catch {
                    otherErrors.add(1, ordering: .relaxed)
                    return
                }
            }
        }
        #expect(otherErrors.load(ordering: .relaxed) == 0)
        #expect(inserted.load(ordering: .relaxed) == entryCountMax, "seed \(seed)")
        #expect(index.entryCount == entryCountMax)
        _ = try index.checkInvariants()
    }
}
