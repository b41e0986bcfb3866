import Testing

@testable import CairnIndex

@Suite struct PrimaryIndexTests {
    struct Refusal: Error {}

    // MARK: Configuration

    @Test func invalidConfigurationsAreRefusedWithTheirField() {
        let cases: [(IndexConfiguration, String)] = [
            (IndexConfiguration(sprigsPerPartition: 0), "sprigsPerPartition"),
            (IndexConfiguration(sprigsPerPartition: 3), "sprigsPerPartition"),
            (IndexConfiguration(sprigsPerPartition: 8192), "sprigsPerPartition"),
            (IndexConfiguration(entryCountMax: 0), "entryCountMax"),
            (IndexConfiguration(entryCountMax: Int(UInt32.max) + 1), "entryCountMax"),
            (IndexConfiguration(stageEntryCount: 1000), "stageEntryCount"),
            (IndexConfiguration(stageEntryCount: 32), "stageEntryCount"),
            (IndexConfiguration(entryCountMax: Int(UInt32.max), stageEntryCount: 64), "stageEntryCount"),
            (IndexConfiguration(lockStripeCount: 0), "lockStripeCount"),
            (IndexConfiguration(lockStripeCount: 100), "lockStripeCount"),
        ]
        for (configuration, field) in cases {
            do {
                _ = try PrimaryIndex(configuration: configuration)
                Issue.record("accepted an invalid \(field)")
            } catch {
                guard case .configurationInvalid(let reported, _, _) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(reported == field)
                #expect(error.description.contains(field))
            }
        }
        #expect(throws: Never.self) { try IndexConfiguration().validate() }
        #expect(throws: Never.self) { _ = try PrimaryIndex(configuration: IndexConfiguration(sprigsPerPartition: 4096)) }
        #expect(throws: Never.self) { _ = try PrimaryIndex(configuration: IndexConfiguration(sprigsPerPartition: 1)) }
    }

    // MARK: Round trips

    /// Prefaulting maps the stages the next entries need and faults their pages in, ahead of
    /// the allocator; the entries handed out afterwards behave as any others, and nothing is
    /// prefaulted past the arena's end.
    @Test func prefaultRunsAheadOfTheAllocatorAndStopsAtTheArenaEnd() throws {
        let index = try makeTestIndex(entryCountMax: 4096, stageEntryCount: 1 << 10)
        #expect(index.arenaStatistics.stageCount == 0)
        #expect(index.prefault(window: 1500) == 1500)  // handles 1..<1501: stages 0 and 1
        #expect(index.arenaStatistics.stageCount == 2)
        #expect(index.arenaStatistics.handlesUsed == 0, "prefaulting hands out no entry")
        #expect(index.prefault(window: 1500) == 0, "already faulted in")
        var generator = SplitMix64(seed: 3)
        let digests = (0..<2000).map { _ in Digest.random(using: &generator) }
        for (value, digest) in digests.enumerated() {
            #expect(try index.insertOrReplace(sampleRecord(digest, value: UInt64(value))) == nil)
            if value % 500 == 0 { index.prefault(window: 1500) }
        }
        for (value, digest) in digests.enumerated() {
            #expect(index.lookup(digest) == sampleRecord(digest, value: UInt64(value)))
        }
        // Ahead to the end of the arena, never past it.
        while index.prefault(window: 1 << 20) > 0 {}
        #expect(index.arenaStatistics.stageCount == 5)  // handles 1...4096: handle 4096 opens stage 4
        try index.verifyInvariants()
    }

    /// `warmPaths` is a hint: on an empty index, on stages not yet mapped, between inserts and
    /// removals and with digests present or absent, it changes nothing and never traps.
    @Test func warmPathsChangesNothing() throws {
        let index = try makeTestIndex(entryCountMax: 4096, stageEntryCount: 1 << 10)
        var generator = SplitMix64(seed: 9)
        let digests = (0..<3000).map { _ in Digest.random(using: &generator) }
        func warm(_ slice: ArraySlice<Digest>) { Array(slice).withUnsafeBufferPointer { index.warmPaths($0) } }
        warm(digests[0..<32])
        for start in stride(from: 0, to: 2000, by: 16) {
            warm(digests[start..<start + 16])
            warm(digests[(start + 1000)..<(start + 1016)])
            for value in start..<start + 16 {
                #expect(try index.insertOrReplace(sampleRecord(digests[value], value: UInt64(value))) == nil)
            }
        }
        for start in stride(from: 0, to: 1008, by: 16) {
            warm(digests[start..<start + 16])
            for value in start..<start + 16 { #expect(index.remove(digests[value]) != nil) }
        }
        for (value, digest) in digests.enumerated() {
            #expect(index.lookup(digest) == (value >= 1008 && value < 2000 ? sampleRecord(digest, value: UInt64(value)) : nil))
        }
        #expect(index.entryCount == 992)
        try index.verifyInvariants()
    }

    @Test func insertLookupUpdateRemove() throws {
        let index = try makeTestIndex()
        var generator = SplitMix64(seed: 1)
        let digests = (0..<1000).map { _ in Digest.random(using: &generator) }
        for (value, digest) in digests.enumerated() {
            #expect(index.lookup(digest) == nil)
            #expect(try index.insertOrReplace(sampleRecord(digest, value: UInt64(value))) == nil)
        }
        #expect(index.entryCount == 1000)
        for (value, digest) in digests.enumerated() {
            #expect(index.lookup(digest) == sampleRecord(digest, value: UInt64(value)))
        }
        // Update every other one (tombstone on some).
        for (value, digest) in digests.enumerated() where value % 2 == 0 {
            let replaced = try index.insertOrReplace(sampleRecord(digest, value: UInt64(value) + 7, tombstone: value % 4 == 0))
            #expect(replaced == sampleRecord(digest, value: UInt64(value)))
        }
        #expect(index.entryCount == 1000)
        #expect(index.tombstoneCount == 250)
        for (value, digest) in digests.enumerated() where value % 3 == 0 {
            #expect(index.remove(digest)?.digest == digest)
            #expect(index.remove(digest) == nil)
        }
        for (value, digest) in digests.enumerated() {
            let expected: IndexRecord? =
                value % 3 == 0
                ? nil
                : value % 2 == 0
                    ? sampleRecord(digest, value: UInt64(value) + 7, tombstone: value % 4 == 0)
                    : sampleRecord(digest, value: UInt64(value))
            #expect(index.lookup(digest) == expected)
        }
        #expect(index.entryCount == 1000 - 334)
        #expect(index.tombstoneCount == (0..<1000).filter { $0 % 4 == 0 && $0 % 3 != 0 }.count)
        let shape = try index.checkInvariants()
        #expect(shape.entryCount == 666)
    }

    @Test func withRecordSemantics() throws {
        let index = try makeTestIndex()
        let digest = try #require(Digest(hex: "ec91192d4b7f8ce35d5d78d34bca65cbaaaac960"))
        // Absent and left absent: nothing happens.
        let sawNil = try index.withRecord(digest) { record in record == nil }
        #expect(sawNil)
        #expect(index.entryCount == 0)
        // Insert.
        try index.withRecord(digest) { record in record = sampleRecord(digest, value: 1) }
        #expect(index.lookup(digest) == sampleRecord(digest, value: 1))
        // Compare-and-replace: bump the generation only if it is what we expect.
        let replaced = try index.withRecord(digest) { record -> Bool in
            guard var current = record, current.generation == 1 else { return false }
            current.generation = 2
            record = current
            return true
        }
        #expect(replaced)
        #expect(index.lookup(digest)?.generation == 2)
        // A throwing body changes nothing.
        #expect(throws: Refusal.self) {
            try index.withRecord(digest) { record in
                record = nil
                throw Refusal()
            }
        }
        #expect(index.lookup(digest)?.generation == 2)
        // An out-of-range field is refused and changes nothing.
        do {
            try index.withRecord(digest) { record in record?.lastUpdateTimeMs = IndexRecord.lastUpdateTimeMsMax + 1 }
            Issue.record("accepted an out-of-range time")
        } catch let error as IndexError {
            #expect(error == .recordFieldOutOfRange(
                field: "lastUpdateTimeMs", value: IndexRecord.lastUpdateTimeMsMax + 1,
                maximum: IndexRecord.lastUpdateTimeMsMax))
        }
        let other = try #require(Digest(hex: "b7f4b83889e2da67de683e1df6919a1eacc446c8"))
        #expect(throws: IndexError.self) {
            try index.withRecord(other) { record in
                var fresh = sampleRecord(other, value: 5)
                fresh.location.sizeUnits = RecordLocation.sizeUnitsMax + 1
                record = fresh
            }
        }
        #expect(index.lookup(other) == nil)
        #expect(index.lookup(digest)?.generation == 2)
        // Delete through withRecord.
        try index.withRecord(digest) { record in record = nil }
        #expect(index.lookup(digest) == nil)
        #expect(index.entryCount == 0)
        _ = try index.checkInvariants()
    }

    @Test func withRecordTrapsWhenTheBodyChangesTheDigest() async {
        await #expect(processExitsWith: .failure) {
            let index = try makeTestIndex()
            var generator = SplitMix64(seed: 3)
            let digest = Digest.random(using: &generator)
            let other = Digest.random(using: &generator)
            try index.withRecord(digest) { record in record = sampleRecord(other, value: 1) }
        }
    }

    @Test func tombstoneCountsFollowFlagChanges() throws {
        let index = try makeTestIndex(sprigsPerPartition: 1)
        var generator = SplitMix64(seed: 4)
        let digest = Digest.random(partition: 17, using: &generator)
        try index.insertOrReplace(sampleRecord(digest, value: 2, tombstone: true))
        #expect(index.tombstoneCount == 1)
        #expect(index.tombstoneCount(partition: 17) == 1)
        #expect(index.entryCount(partition: 17) == 1)
        try index.insertOrReplace(sampleRecord(digest, value: 2))
        #expect(index.tombstoneCount == 0)
        try index.insertOrReplace(sampleRecord(digest, value: 2, tombstone: true))
        #expect(index.remove(digest)?.isTombstone == true)
        #expect(index.tombstoneCount(partition: 17) == 0)
        #expect(index.entryCount(partition: 17) == 0)
        _ = try index.checkInvariants()
    }

    @Test func perPartitionCounts() throws {
        let index = try makeTestIndex(sprigsPerPartition: 16)
        var generator = SplitMix64(seed: 5)
        var expected = [Int](repeating: 0, count: 4096)
        for _ in 0..<5000 {
            let partition = Int(generator.next() % 64)
            try index.insertOrReplace(sampleRecord(Digest.random(partition: partition, using: &generator), value: 1))
            expected[partition] += 1
        }
        for partition in 0..<4096 {
            #expect(index.entryCount(partition: partition) == expected[partition])
        }
        #expect(index.entryCount == 5000)
    }

    // MARK: Arena

    @Test func removedEntriesAreReused() throws {
        let index = try makeTestIndex(stageEntryCount: 64, lockStripeCount: 8)
        var generator = SplitMix64(seed: 6)
        let first = (0..<3000).map { _ in Digest.random(using: &generator) }
        for digest in first { try index.insertOrReplace(sampleRecord(digest, value: 1)) }
        let afterFill = index.arenaStatistics
        // Stripes take never-used handles 32 at a time, so a few beyond 3000 are handed out.
        #expect(afterFill.handlesUsed >= 3000 && afterFill.handlesUsed <= 3000 + 8 * EntryArena.refillCount)
        #expect(afterFill.stageCount == afterFill.handlesUsed / 64 + 1)
        for digest in first { index.remove(digest) }
        #expect(index.entryCount == 0)
        _ = try index.checkInvariants()
        for _ in 0..<3000 {
            try index.insertOrReplace(sampleRecord(Digest.random(using: &generator), value: 2))
        }
        let afterRefill = index.arenaStatistics
        #expect(afterRefill.handlesUsed == afterFill.handlesUsed, "no new handles while free ones exist")
        #expect(afterRefill.stageCount == afterFill.stageCount)
        let shape = try index.checkInvariants()
        #expect(shape.entryCount == 3000)
    }

    @Test func fullArenaThrowsAClearErrorAndRecovers() throws {
        let entryCountMax = 200
        let index = try makeTestIndex(entryCountMax: entryCountMax, stageEntryCount: 64, lockStripeCount: 64)
        var generator = SplitMix64(seed: 7)
        var present: [Digest] = []
        for _ in 0..<entryCountMax {
            let digest = Digest.random(using: &generator)
            try index.insertOrReplace(sampleRecord(digest, value: 1))
            present.append(digest)
        }
        let extra = Digest.random(using: &generator)
        do {
            try index.insertOrReplace(sampleRecord(extra, value: 1))
            Issue.record("inserted beyond entryCountMax")
        } catch let error as IndexError {
            #expect(error == .arenaFull(entryCountMax: entryCountMax))
            #expect(error.description.contains("full"))
        }
        #expect(index.lookup(extra) == nil)
        #expect(index.entryCount == entryCountMax)
        // Updates of present records still work when full.
        try index.insertOrReplace(sampleRecord(present[0], value: 9))
        #expect(index.lookup(present[0]) == sampleRecord(present[0], value: 9))
        _ = try index.checkInvariants()
        // Free half (their entries land in many different stripe caches), then insert digests that
        // mostly map to other stripes: they must find those entries.
        for digest in present.prefix(100) { index.remove(digest) }
        for _ in 0..<100 {
            try index.insertOrReplace(sampleRecord(Digest.random(using: &generator), value: 3))
        }
        #expect(index.entryCount == entryCountMax)
        #expect(throws: IndexError.arenaFull(entryCountMax: entryCountMax)) {
            try index.insertOrReplace(sampleRecord(Digest.random(using: &generator), value: 3))
        }
        let shape = try index.checkInvariants()
        #expect(shape.entryCount == entryCountMax)
    }

    @Test func changesAfterCleanShutdownTrap() async {
        await #expect(processExitsWith: .failure) {
            let index = try makeTestIndex()
            index.markCleanShutdown()
            var generator = SplitMix64(seed: 8)
            try index.insertOrReplace(sampleRecord(Digest.random(using: &generator), value: 1))
        }
    }
}
