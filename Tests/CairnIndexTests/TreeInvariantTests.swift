import Testing

@testable import CairnIndex

@Suite struct TreeInvariantTests {
    /// Random inserts, updates and removes against a dictionary model, checking every invariant
    /// along the way. Few partitions and sprigs so trees get deep.
    @Test(arguments: [1, 2, 64])
    func randomOperationSequencesKeepInvariants(sprigsPerPartition: Int) throws {
        let seed = testSeed("randomOperationSequencesKeepInvariants")
        var generator = SplitMix64(seed: seed)
        let index = try makeTestIndex(
            sprigsPerPartition: sprigsPerPartition, stageEntryCount: 64, lockStripeCount: 16,
            prioritySeed: generator.next())
        var model: [Digest: IndexRecord] = [:]
        var pool: [Digest] = []
        for step in 0..<20_000 {
            let choice = generator.next() % 10
            if choice < 5 || pool.isEmpty {
                let digest = Digest.random(partition: Int(generator.next() % 3), using: &generator)
                pool.append(digest)
                let record = sampleRecord(digest, value: generator.next(), tombstone: generator.next() % 5 == 0)
                #expect(try index.insertOrReplace(record) == nil)
                model[digest] = record
            } else {
                let digest = pool[Int(generator.next() % UInt64(pool.count))]
                if choice < 7 {
                    let record = sampleRecord(digest, value: generator.next(), tombstone: generator.next() % 5 == 0)
                    #expect(try index.insertOrReplace(record) == model[digest], "seed \(seed) step \(step)")
                    model[digest] = record
                } else {
                    #expect(index.remove(digest) == model[digest], "seed \(seed) step \(step)")
                    model[digest] = nil
                }
            }
            if step % 2500 == 0 {
                let shape = try index.checkInvariants()
                #expect(shape.entryCount == model.count, "seed \(seed) step \(step)")
            }
        }
        let shape = try index.checkInvariants()
        #expect(shape.entryCount == model.count)
        #expect(shape.tombstoneCount == model.values.filter(\.isTombstone).count)
        #expect(index.entryCount == model.count)
        for (digest, record) in model {
            #expect(index.lookup(digest) == record)
        }
        // Remove everything: the trees empty and every entry is back on a free list.
        for digest in model.keys { index.remove(digest) }
        let empty = try index.checkInvariants()
        #expect(empty.entryCount == 0 && empty.heightMax == 0)
    }

    /// Ascending and descending insertion into a single sprig must not make a list.
    @Test func sortedInsertionDoesNotDegrade() throws {
        let seed = testSeed("sortedInsertionDoesNotDegrade")
        var generator = SplitMix64(seed: seed)
        let count = 30_000
        // All in partition 0, sprig 0 of 1: one tree.
        let digests = (0..<count).map { _ in Digest.random(partition: 0, using: &generator) }.sorted()
        for order in [digests, digests.reversed()] {
            let index = try makeTestIndex(sprigsPerPartition: 1, prioritySeed: generator.next())
            for (value, digest) in order.enumerated() {
                try index.insertOrReplace(sampleRecord(digest, value: UInt64(value)))
            }
            let shape = try index.checkInvariants()
            let averageDepth = Double(shape.depthSum) / Double(shape.entryCount)
            // A treap's expected average depth is ~2 ln n (≈ 20.6 here) and its height ~4.3 ln n
            // (≈ 44); a degenerate tree would be 15 000 and 30 000.
            print("sortedInsertionDoesNotDegrade: n \(count) height \(shape.heightMax) average depth \(averageDepth)")
            #expect(shape.heightMax < 80, "seed \(seed)")
            #expect(averageDepth < 30, "seed \(seed)")
            // Removing in sorted order keeps it valid too.
            for digest in order.prefix(count / 2) { index.remove(digest) }
            let half = try index.checkInvariants()
            #expect(half.entryCount == count / 2)
            #expect(half.heightMax < 80)
        }
    }

    @Test func checkerCatchesACorruptedTree() throws {
        let index = try makeTestIndex(sprigsPerPartition: 1)
        var generator = SplitMix64(seed: 11)
        for value in 0..<100 {
            try index.insertOrReplace(sampleRecord(Digest.random(partition: 5, using: &generator), value: UInt64(value)))
        }
        _ = try index.checkInvariants()
        // Swap the children of the root: breaks the search order.
        let rootLink = index.sprigTable.rootLink(5)
        let root = index.arena.entry(rootLink.pointee)
        swap(&root.pointee.leftHandle, &root.pointee.rightHandle)
        #expect(throws: IndexInvariantViolation.self) { try index.checkInvariants() }
        swap(&root.pointee.leftHandle, &root.pointee.rightHandle)
        // A counter out of step.
        index.sprigTable.slot(5).pointee.entryCount += 1
        #expect(throws: IndexInvariantViolation.self) { try index.checkInvariants() }
        index.sprigTable.slot(5).pointee.entryCount -= 1
        _ = try index.checkInvariants()
    }
}
