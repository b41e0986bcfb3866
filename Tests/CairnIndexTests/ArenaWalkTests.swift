import Testing

@testable import CairnIndex

@Suite struct ArenaWalkTests {
    /// The arena-order walk sees exactly the records of the ordered walk (removed entries, which
    /// sit on free lists, are skipped), whatever the number of parts.
    @Test func arenaOrderWalkSeesEveryLiveRecordOnce() throws {
        let seed = testSeed("arenaOrderWalkSeesEveryLiveRecordOnce")
        var generator = SplitMix64(seed: seed)
        let (index, model) = try IterationTests.populated(
            sprigsPerPartition: 16, partitions: [0, 7, 100, 4095], countPerPartition: 900, generator: &generator)
        var removed: [Digest] = []
        for (_, digests) in model {
            for digest in digests.enumerated().filter({ $0.offset % 5 == 0 }).map(\.element) {
                _ = index.remove(digest)
                removed.append(digest)
            }
        }
        var expected: [Digest] = []
        index.forEachRecord { expected.append($0.digest) }
        #expect(expected.count == model.values.reduce(0) { $0 + $1.count } - removed.count)
        for parts in [1, 2, 3, 8] {
            var seen: [Digest] = []
            for part in 0..<parts { index.forEachRecordInArenaOrder(part: part, of: parts) { seen.append($0.digest) } }
            #expect(seen.sorted() == expected.sorted(), "seed \(seed) parts \(parts)")
        }
    }
}
