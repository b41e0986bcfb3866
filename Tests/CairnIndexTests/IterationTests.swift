import Testing

@testable import CairnIndex

@Suite struct IterationTests {
    /// Fills an index with random digests in a few partitions and keeps a sorted model per partition.
    static func populated(
        sprigsPerPartition: Int, partitions: [Int], countPerPartition: Int, generator: inout SplitMix64
    ) throws -> (PrimaryIndex, [Int: [Digest]]) {
        let index = try makeTestIndex(sprigsPerPartition: sprigsPerPartition, prioritySeed: generator.next())
        var model: [Int: [Digest]] = [:]
        for partition in partitions {
            var digests: [Digest] = []
            for value in 0..<countPerPartition {
                let digest = Digest.random(partition: partition, using: &generator)
                try index.insertOrReplace(sampleRecord(digest, value: UInt64(value)))
                digests.append(digest)
            }
            model[partition] = digests.sorted()
        }
        return (index, model)
    }

    @Test(arguments: [1, 4, 256, 4096])
    func partitionIsWalkedInDigestOrder(sprigsPerPartition: Int) throws {
        let seed = testSeed("partitionIsWalkedInDigestOrder")
        var generator = SplitMix64(seed: seed)
        let (index, model) = try IterationTests.populated(
            sprigsPerPartition: sprigsPerPartition, partitions: [0, 1, 4095, 1234], countPerPartition: 700,
            generator: &generator)
        for (partition, expected) in model {
            for batchCountMax in [1, 3, 64, 1000] {
                var seen: [Digest] = []
                let completed = index.forEach(partition: partition, batchCountMax: batchCountMax) { record in
                    seen.append(record.digest)
                    return true
                }
                #expect(completed)
                #expect(seen == expected, "seed \(seed) partition \(partition) batch \(batchCountMax)")
            }
        }
        var empty = 0
        index.forEach(partition: 77) { _ in
            empty += 1
            return true
        }
        #expect(empty == 0)
    }

    @Test func resumptionIsStrictlyAfterTheGivenDigest() throws {
        let seed = testSeed("resumptionIsStrictlyAfterTheGivenDigest")
        var generator = SplitMix64(seed: seed)
        for sprigsPerPartition in [1, 16, 256] {
            let partition = Int(generator.next() % 4096)
            let (index, model) = try IterationTests.populated(
                sprigsPerPartition: sprigsPerPartition, partitions: [partition], countPerPartition: 500,
                generator: &generator)
            let expected = model[partition] ?? []
            for trial in 0..<60 {
                // Resume after a present digest, or after an absent one between neighbours.
                let after =
                    trial % 2 == 0
                    ? expected[Int(generator.next() % UInt64(expected.count))]
                    : Digest.random(partition: partition, using: &generator)
                let batchCountMax = Int(generator.next() % 7) + 1
                var seen: [Digest] = []
                index.forEach(partition: partition, after: after, batchCountMax: batchCountMax) { record in
                    seen.append(record.digest)
                    return true
                }
                #expect(seen == expected.filter { after < $0 }, "seed \(seed) trial \(trial)")
            }
        }
    }

    @Test func stoppingAndResumingVisitsEverythingOnce() throws {
        let seed = testSeed("stoppingAndResumingVisitsEverythingOnce")
        var generator = SplitMix64(seed: seed)
        let (index, model) = try IterationTests.populated(
            sprigsPerPartition: 64, partitions: [42], countPerPartition: 2000, generator: &generator)
        // A streaming scan that stops every few records and resumes after the last one it sent.
        var seen: [Digest] = []
        var cursor: Digest? = nil
        var rounds = 0
        while true {
            rounds += 1
            let quota = Int(generator.next() % 50) + 1
            var taken = 0
            let completed = index.forEach(partition: 42, after: cursor, batchCountMax: 16) { record in
                seen.append(record.digest)
                cursor = record.digest
                taken += 1
                return taken < quota
            }
            if completed { break }
        }
        #expect(seen == model[42], "seed \(seed)")
        #expect(rounds > 10)
    }

    @Test func iterationWhileRecordsChangeStaysOrdered() throws {
        let seed = testSeed("iterationWhileRecordsChangeStaysOrdered")
        var generator = SplitMix64(seed: seed)
        let (index, model) = try IterationTests.populated(
            sprigsPerPartition: 8, partitions: [9], countPerPartition: 1000, generator: &generator)
        let original = model[9] ?? []
        var removed = Set<Digest>()
        var seen: [Digest] = []
        // The body changes the index (allowed: no lock is held while it runs).
        index.forEach(partition: 9, batchCountMax: 10) { record in
            seen.append(record.digest)
            if let victim = original.randomElement(using: &generator), victim > record.digest {
                if index.remove(victim) != nil { removed.insert(victim) }
            }
            return true
        }
        #expect(seen == seen.sorted(), "seed \(seed)")
        #expect(Set(seen).count == seen.count)
        // A record removed after its batch was copied out may still be visited; every record never
        // removed must be.
        #expect(seen.filter { !removed.contains($0) } == original.filter { !removed.contains($0) }, "seed \(seed)")
        #expect(Set(seen).isSubset(of: Set(original)))
        _ = try index.checkInvariants()
    }

    @Test func forEachRecordCoversEveryPartitionAndSplitsInRanges() throws {
        let seed = testSeed("forEachRecordCoversEveryPartitionAndSplitsInRanges")
        var generator = SplitMix64(seed: seed)
        let index = try makeTestIndex(sprigsPerPartition: 2)
        var all = Set<Digest>()
        for value in 0..<20_000 {
            let digest = Digest.random(using: &generator)
            try index.insertOrReplace(sampleRecord(digest, value: UInt64(value)))
            all.insert(digest)
        }
        var seen: [Digest] = []
        index.forEachRecord { seen.append($0.digest) }
        #expect(Set(seen) == all)
        #expect(seen.count == all.count)
        // Order: by partition, then by digest.
        let keys = seen.map { ($0.partitionID, $0) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) })

        let ranges = PrimaryIndex.partitionRanges(count: 3)
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 4096)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        var union = 0
        for range in ranges { index.forEachRecord(partitions: range) { _ in union += 1 } }
        #expect(union == all.count)
    }

    @Test func extremeDigestsSortFirstAndLast() throws {
        let index = try makeTestIndex(sprigsPerPartition: 4096)
        let low = try #require(Digest(hex: "00f0" + String(repeating: "00", count: 18)))  // partition 0, sprig 0xF00
        let high = try #require(Digest(hex: "ff0f" + String(repeating: "ff", count: 18)))  // partition 4095, sprig 0x0FF
        let lowest = try #require(Digest(hex: String(repeating: "00", count: 20)))
        let highest = try #require(Digest(hex: String(repeating: "ff", count: 20)))
        for digest in [low, high, lowest, highest] { try index.insertOrReplace(sampleRecord(digest, value: 1)) }
        #expect(lowest.partitionID == 0 && highest.partitionID == 4095)
        var partition0: [Digest] = []
        index.forEach(partition: 0) { record in
            partition0.append(record.digest)
            return true
        }
        #expect(partition0 == [lowest, low])
        var partition4095: [Digest] = []
        index.forEach(partition: 4095, after: high) { record in
            partition4095.append(record.digest)
            return true
        }
        #expect(partition4095 == [highest])
        #expect(index.entryCount(partition: 4095) == 2)
        _ = try index.checkInvariants()
    }

    @Test func resumingWithADigestOfAnotherPartitionTraps() async {
        await #expect(processExitsWith: .failure) {
            let index = try makeTestIndex()
            var generator = SplitMix64(seed: 12)
            index.forEach(partition: 1, after: Digest.random(partition: 2, using: &generator)) { _ in true }
        }
    }
}
