@_spi(EngineInternals) import CairnEngine
import CairnIO
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization
import Testing

/// Space management (issue 6): block reuse, defrag, stop-writes and overload, post-write cache,
/// expiry supervisor and tomb raider, all against real files (one test on a loop device).
@Suite struct SpaceManagementTests {
    /// A value of `size` bytes that encodes `round` (so the newest version is recognisable).
    func value(_ key: Int, round: Int, size: Int = 100) -> [StoredBin] {
        [intBin("r", Int64(round)), blobBin("p", [UInt8](repeating: UInt8(truncatingIfNeeded: key &+ round), count: size))]
    }

    func roundOf(_ record: EngineRecord?) -> Int64? {
        guard let b = record?.bins.first(where: { $0.name == "r" }) else { return nil }
        return Int64(bitPattern: b.bytes.reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Overwrites `keys` keys `rounds` times; returns the lowest available share seen and how
    /// many writes were refused with OUT_OF_SPACE and then accepted on a later try.
    ///
    /// A refusal is backpressure, not a failure: the background defrag thread frees space as
    /// fast as it gets the CPU, and on a machine whose cores are busy elsewhere this loop can
    /// outrun it. A refused write waits a millisecond and tries again, for at most 10 s per
    /// write; a write that is still refused then fails the test.
    func overwrite(_ ns: Namespace, keys: Int, rounds: Range<Int>) throws -> (lowest: Int, refusals: Int) {
        var lowest = 100, refusals = 0
        for round in rounds {
            for k in 0..<keys {
                var waitedUs = 0
                while let refusal = putRefusal(ns, k, round: round) {
                    guard refusal.result == .outOfSpace, waitedUs < 10_000_000 else { throw refusal }
                    refusals += 1
                    lowest = min(lowest, ns.spaceStatistics.deviceAvailablePct)
                    usleep(1_000)
                    waitedUs += 1_000
                }
            }
            lowest = min(lowest, ns.spaceStatistics.deviceAvailablePct)
        }
        return (lowest, refusals)
    }

    /// Writes round `round` of key `k`; the error that refused it, or nil.
    func putRefusal(_ ns: Namespace, _ k: Int, round: Int) -> EngineError? {
        do {
            try ns.put(testDigest(k), bins: value(k, round: round))
            return nil
        } catch {
            return error
        }
    }

    func checkNewest(_ ns: Namespace, keys: Int, round: Int) throws {
        var wrong = 0
        for k in 0..<keys where roundOf(try ns.get(testDigest(k))) != Int64(round) { wrong += 1 }
        #expect(wrong == 0, "\(wrong) keys do not hold round \(round)")
    }

    /// 10,000 keys overwritten many times on a device a few times their size: never full,
    /// the free space stays bounded away from zero, and a cold start finds the newest versions.
    @Test func overwritingTheSameKeysNeverFillsTheDevice() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("o.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.storage.defragSleepUs = 0
        // 120,000 writes of ~180-byte records (1.8 MB live) on 8 MiB; the benchmark does a million.
        let keys = 10_000, rounds = 12
        do {
            let ns = try Namespace.open(options)
            let (lowest, refusals) = try overwrite(ns, keys: keys, rounds: 0..<rounds)
            let s = ns.spaceStatistics
            print("overwrite: lowest available \(lowest)%, \(refusals) writes refused and retried, \(s)")
            #expect(s.blocksReused > 0)
            #expect(s.blocksDefragged > 0)
            #expect(!s.stopWrites)
            // Used space is bounded: live data plus what defrag has not reclaimed yet.
            #expect(ns.statistics.liveBytes < 4 << 20)
            try checkNewest(ns, keys: keys, round: rounds - 1)
            try ns.closeWithoutCleanShutdown()
            // With the CPU to itself defrag keeps well ahead of this writer. Starved of it (a
            // loaded CI host), the device may reach stop-writes; then every refused write must
            // have gone through once defrag caught up (above), and the space it freed must
            // have left the device out of stop-writes.
            #expect(refusals > 0 || lowest > 5, "the device came close to full: \(lowest)% available")
        }
        let ns = try Namespace.open(options)
        let report = try #require(ns.startReport.coldStart)
        print("overwrite cold start: \(report)")
        #expect(report.indexedRecords == keys)
        try checkNewest(ns, keys: keys, round: rounds - 1)
        try ns.close()
    }

    /// Fill until OUT_OF_SPACE; reads still work; delete half; after defrag writes succeed again
    /// and nothing readable was lost.
    @Test func fullDeviceRefusesWritesThenRecoversAfterDeletes() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("f.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.storage.defragSleepUs = 0
        options.backgroundDefrag = false  // defrag runs when the test says so
        let ns = try Namespace.open(options)
        var written = 0
        var refusal: EngineError?
        while refusal == nil && written < 100_000 {
            do {
                try ns.put(testDigest(written), bins: value(written, round: 1, size: 1000))
                written += 1
            } catch {
                refusal = error
            }
        }
        let error = try #require(refusal)
        #expect(error.result == .outOfSpace, "\(error)")
        #expect(ns.spaceStatistics.stopWrites)
        print("full after \(written) records: \(ns.spaceStatistics)")
        for k in 0..<written { #expect(roundOf(try ns.get(testDigest(k))) == 1) }
        // Deletes still work while writes are refused: plain ones and durable ones.
        for k in stride(from: 0, to: written, by: 2) {
            try ns.delete(testDigest(k), options: WriteOptions(durableDelete: k % 4 == 0))
        }
        #expect(throws: EngineError.self) { try ns.put(testDigest(written), bins: value(written, round: 1, size: 1000)) }
        // Defrag, then wait for the emptied blocks to become free (flush-max-ms) — a bounded retry.
        var accepted = false
        for _ in 0..<200 where !accepted {
            ns.defragmentOnce()
            do {
                try ns.put(testDigest(written), bins: value(written, round: 1, size: 1000))
                accepted = true
            } catch {
                #expect(error.result == .outOfSpace, "\(error)")
                usleep(20_000)
            }
        }
        #expect(accepted, "writes never resumed: \(ns.spaceStatistics)")
        #expect(ns.spaceStatistics.blocksDefragged > 0)
        for k in 0..<written {
            let got = roundOf(try ns.get(testDigest(k)))
            #expect(got == (k % 2 == 0 ? nil : 1), "key \(k)")
        }
        try ns.close()
    }

    /// More writes than the device takes: DEVICE_OVERLOAD (18), and the write buffers stay bounded.
    @Test func floodGetsDeviceOverloadAndBoundedMemory() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("fl.dat")], fileSizeBytes: 256 << 20, blockSize: 128 << 10,
                                       commitToDevice: true)
        options.storage.maxWriteCacheBytes = 256 << 10
        options.storage.writeQueueDepth = 1
        let ns = try Namespace.open(options)
        let overloads = Atomic<Int>(0)
        let others = Mutex<[String]>([])
        let group = DispatchGroup()
        for t in 0..<8 {
            group.enter()
            Thread {
                for i in 0..<300 {
                    let k = t * 1000 + i
                    let outcome = Result { () throws(EngineError) in
                        // Not acknowledged until durable, so 8 writers queue up behind the device.
                        try ns.put(testDigest(k), bins: [blobBin("b", [UInt8](repeating: 1, count: 60_000))])
                    }
                    if case .failure(let e) = outcome {
                        if e.result == .deviceOverload { overloads.add(1, ordering: .relaxed) } else {
                            others.withLock { $0.append("\(e)") }
                        }
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let buffers = ns.storage.devices[0].writer.buffersAllocated
        print("flood: \(overloads.load(ordering: .relaxed)) overloads, buffers \(buffers)")
        #expect(others.withLock { $0 }.isEmpty, "\(others.withLock { $0.prefix(3) })")
        #expect(overloads.load(ordering: .relaxed) > 0)
        #expect(buffers.count <= buffers.capacity)
        try ns.close()
    }

    /// Writes `count` filler records, then overwrites them until the tombstone/expired entry of
    /// `digest` is gone from the index (defrag + reuse destroy its older copies); returns passes.
    func churnUntilGone(_ ns: Namespace, digest: Digest, fillers: Range<Int>) throws -> Int {
        for pass in 1...60 {
            for k in fillers { try ns.put(testDigest(k), bins: value(k, round: 100 + pass, size: 600)) }
            ns.defragmentOnce()
            usleep(60_000)  // flush-max-ms: lets emptied blocks become free
            ns.superviseOnce()
            if ns.index.lookup(digest) == nil { return pass }
        }
        return 0
    }

    @Test func durableDeleteTombstoneIsDroppedOnlyWhenSafeAndStaysDeleted() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("t.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.backgroundDefrag = false
        let victim = testDigest(999_999)
        do {
            let ns = try Namespace.open(options)
            try ns.put(victim, bins: [stringBin("v", "old")])
            for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600)) }
            try ns.delete(victim, options: WriteOptions(durableDelete: true))
            for k in 300..<600 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600)) }
            usleep(100_000)
            // The old copy is still on the device: the tombstone must stay.
            let first = ns.superviseOnce()
            #expect(first.tombstonesDropped == 0 && first.kept == 1, "\(first)")
            #expect(ns.index.lookup(victim)?.isTombstone == true)
            let passes = try churnUntilGone(ns, digest: victim, fillers: 0..<600)
            print("tombstone dropped after \(passes) churn passes: \(ns.spaceStatistics)")
            #expect(passes > 0, "tombstone never dropped")
            #expect(ns.spaceStatistics.tombstonesDropped == 1)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(try ns.get(victim) == nil, "the durably deleted record came back")
        // A copy of the tombstone itself may still be on the device (defrag moved it, its old
        // block was not reused yet): then it is back as a tombstone, never as the record.
        #expect(ns.index.lookup(victim)?.isTombstone ?? true)
        try ns.close()
    }

    /// A durable delete, a put over it, then a plain delete: the put's copy keeps the barrier
    /// (on the device and in the index, through a cold start), so the plain delete writes a
    /// tombstone, and the version the durable delete hid never comes back, even once the first
    /// tombstone's block is reused (simulator seed 5326).
    @Test func aCopyWrittenOverADurableDeleteKeepsItsBarrier() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        var options = namespaceOptions([dir.file("b.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.backgroundDefrag = false
        options.sharedMemory = SharedMemoryOptions(directory: shm.path, name: "cairn-test-barrier")
        let victim = testDigest(777_777)
        do {
            let ns = try Namespace.open(options)
            #expect(!ns.storage.barrierRecordsAllowed)
            // The old copy shares its block with records that never change: it stays on the device.
            try ns.put(victim, bins: [stringBin("v", "old")])
            for k in 0..<200 { try ns.put(testDigest(k, salt: 3), bins: value(k, round: 1, size: 600)) }
            try ns.delete(victim, options: WriteOptions(durableDelete: true))
            for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600)) }
            try ns.put(victim, bins: [stringBin("v", "new")])
            #expect(ns.index.lookup(victim)?.flags.contains(.barrier) == true)
            #expect(ns.storage.barrierRecordsAllowed)
            #expect(ns.storage.devices.allSatisfy { $0.header.barrierRecords })
            try ns.put(victim, bins: [stringBin("v", "newer")])
            #expect(ns.index.lookup(victim)?.flags.contains(.barrier) == true, "a later write dropped the barrier")
            try ns.close()
        }
        do {
            let ns = try Namespace.open(options)  // warm: the index entry keeps its barrier bit
            #expect(ns.startReport.mode == .warm, "\(ns.startReport.reason)")
            #expect(ns.index.lookup(victim)?.flags.contains(.barrier) == true)
            #expect(ns.storage.barrierRecordsAllowed)
            try ns.closeWithoutCleanShutdown()
        }
        do {
            let ns = try Namespace.open(options)  // cold: the barrier comes back from the record
            #expect(ns.startReport.mode == .cold, "\(ns.startReport.reason)")
            #expect(ns.index.lookup(victim)?.flags.contains(.barrier) == true)
            #expect(try ns.get(victim)?.bins == [stringBin("v", "newer")])
            #expect(ns.storage.barrierRecordsAllowed)
            // The first tombstone no longer counts: churn until its block is reused.
            for pass in 1...12 {
                for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 10 + pass, size: 600)) }
                ns.defragmentOnce()
                usleep(60_000)
            }
            #expect(ns.spaceStatistics.blocksReused > 0)
            try ns.delete(victim)  // plain
            #expect(ns.index.lookup(victim)?.isTombstone == true, "the plain delete wrote no tombstone")
            for pass in 1...6 {
                for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 30 + pass, size: 600)) }
                ns.defragmentOnce()
                usleep(60_000)
                ns.superviseOnce()
            }
            // The old copy is still on the device, so the tomb raider keeps the tombstone.
            #expect(ns.index.lookup(victim)?.isTombstone == true)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(try ns.get(victim) == nil, "the version the durable delete hid came back")
        try ns.close()
    }

    @Test func expiredRecordIsRemovedOnlyWhenSafeAndStaysGone() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = namespaceOptions([dir.file("e.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10, clock: clock)
        options.backgroundDefrag = false
        let victim = testDigest(888_888)
        do {
            let ns = try Namespace.open(options)
            try ns.put(victim, bins: [stringBin("v", "forever")])  // older copy: never expires
            for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600), options: WriteOptions(ttl: .never)) }
            try ns.put(victim, bins: [stringBin("v", "short")], options: WriteOptions(ttl: .seconds(10)))
            for k in 300..<600 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600), options: WriteOptions(ttl: .never)) }
            clock.advance(seconds: 60)
            usleep(100_000)
            #expect(try ns.get(victim) == nil)
            let first = ns.superviseOnce()
            #expect(first.expiredRemoved == 0 && first.kept == 1, "\(first)")
            let passes = try churnUntilGone(ns, digest: victim, fillers: 0..<600)
            #expect(passes > 0, "expired record never removed")
            #expect(ns.spaceStatistics.expiredRemoved == 1)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(try ns.get(victim) == nil, "the older, unexpired copy came back")
        try ns.close()
    }

    @Test func truncatedSetStaysTruncatedAfterBlockReuse() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("s.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.backgroundDefrag = false
        do {
            let ns = try Namespace.open(options)
            for k in 0..<200 { try ns.put(testDigest(k, salt: 7), setName: "gone", bins: value(k, round: 1, size: 600)) }
            for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 600)) }
            try ns.truncate(setName: "gone")
            for k in 0..<200 { #expect(try ns.get(testDigest(k, salt: 7)) == nil) }
            for pass in 1...10 {
                for k in 0..<300 { try ns.put(testDigest(k), bins: value(k, round: 100 + pass, size: 600)) }
                ns.defragmentOnce()
                usleep(60_000)
            }
            #expect(ns.spaceStatistics.blocksReused > 0)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        for k in 0..<200 { #expect(try ns.get(testDigest(k, salt: 7)) == nil, "truncated key \(k) came back") }
        for k in 0..<300 { #expect(roundOf(try ns.get(testDigest(k))) == 110) }
        try ns.close()
    }

    /// Reads of a just-written block come from the post-write cache.
    @Test func postWriteCacheServesRecentBlocks() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20, blockSize: 128 << 10)
        options.storage.postWriteCacheBytes = 1 << 20
        let ns = try Namespace.open(options)
        for k in 0..<2000 { try ns.put(testDigest(k), bins: value(k, round: 1, size: 300)) }
        // Wait (bounded) until the first blocks are written whole.
        waitUntil { ns.storage.devices[0].writer.statistics.fullWrites >= 3 }
        #expect(ns.storage.devices[0].writer.statistics.fullWrites >= 3)
        let before = ns.spaceStatistics.postWriteCacheHits
        for k in 0..<100 { #expect(roundOf(try ns.get(testDigest(k))) == 1) }
        #expect(ns.spaceStatistics.postWriteCacheHits > before)
        try ns.close()
    }

    /// A crash (SIGKILL) while defrag, block reuse and the tomb raider run on small files never
    /// loses an acknowledged write nor brings back an acknowledged durable delete.
    @Test(arguments: [1, 2, 3, 4])
    func crashDuringDefragLosesNothing(round: Int) throws {
        try crashWriterTwoLives(round: round, arguments: ["--threads", "4", "--keys", "400", "--file-mb", "4", "--nsup-period", "1"],
                                fileSizeBytes: 4 << 20, linesPerLife: 3000 + round * 1500)
    }

    /// The overwrite workload on a loop device: blocks are reused, defrag runs, and a cold start
    /// finds the newest versions.
    @Test func overwriteOnALoopDevice() throws {
        let dir = try TemporaryDirectory()
        guard let loop = LoopDevice.forTest(backingFile: dir.file("l.img"), sizeBytes: 16 << 20) else {
            try Test.cancel("loop device unavailable")
        }
        defer { #expect(throws: Never.self) { try loop.detach() } }
        var storage = StorageOptions(namespaceName: "test", devices: [.init(path: loop.path)], writeBlockSizeBytes: 128 << 10,
                                     partitionTreeSprigs: 16, flushMaxMs: 50)
        storage.defragSleepUs = 0
        let options = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 20)
        do {
            let ns = try Namespace.open(options)
            let (lowest, refusals) = try overwrite(ns, keys: 5000, rounds: 0..<20)
            print("loop overwrite: lowest available \(lowest)%, \(refusals) writes refused and retried, \(ns.spaceStatistics)")
            #expect(refusals > 0 || lowest > 5, "the device came close to full: \(lowest)% available")
            #expect(ns.spaceStatistics.blocksReused > 0)
            try ns.close()
        }
        let ns = try Namespace.open(options)
        try checkNewest(ns, keys: 5000, round: 19)
        try ns.close()
    }
}

/// The block-reuse rule at the storage level: an emptied block is not reused while the record
/// that replaced its contents is only in memory; once that is durable it is, with a higher sequence.
@Suite struct BlockReuseRuleTests {
    static let blockSize = 128 << 10

    /// One 8 MiB file of 128 KiB blocks; flush-max-ms so long that only seals and commits write.
    static func openStorage(_ dir: TemporaryDirectory, commitToDevice: Bool = false) throws -> NamespaceStorage {
        let options = StorageOptions(namespaceName: "test", devices: [.init(path: dir.file("r.dat"), fileSizeBytes: 8 << 20)],
                                     writeBlockSizeBytes: blockSize, partitionTreeSprigs: 16, flushMaxMs: 600_000,
                                     commitToDevice: commitToDevice)
        let storage = try NamespaceStorage.open(options)
        storage.start()
        return storage
    }

    /// Waits (up to 5 s) until the writer freed `count` blocks: without commit-to-device an
    /// emptied block is free only once the flusher's sync after its replacements' writes is done.
    static func waitFreed(_ writer: DeviceWriter, _ count: Int) {
        waitUntil { writer.statistics.blocksFreed >= count }
    }

    /// Fills block b1 with records 0..<n (returned) and goes on into the next block: the first
    /// record there (key n, returned as the next free key) stays live.
    static func fillOneBlock(_ storage: NamespaceStorage) throws -> (records: [RecordLocation], nextKey: Int) {
        var first: [RecordLocation] = []
        var key = 0
        while true {
            let l = try storage.append(record(key, 1), deviceIndex: 0)
            if let b1 = first.first?.blockIndex(writeBlockSizeBytes: blockSize), l.blockIndex(writeBlockSizeBytes: blockSize) != b1 {
                return (first, key)
            }
            first.append(l)
            key += 1
        }
    }

    /// Key `key` at `version`: about 1 KiB, so a block holds about 120.
    static func record(_ key: Int, _ version: Int) -> StoredRecord {
        StoredRecord(digest: testDigest(key), lastUpdateMs: UInt64(version), generation: UInt16(version),
                     bins: [blobBin("p", [UInt8](repeating: UInt8(version), count: 1000))])
    }

    @Test func emptiedBlockWaitsForItsReplacementsToBeDurable() throws {
        let dir = try TemporaryDirectory()
        let blockSize = Self.blockSize
        let storage = try Self.openStorage(dir)
        let writer = storage.devices[0].writer
        let record = Self.record
        var (first, key) = try Self.fillOneBlock(storage)
        let b1 = first[0].blockIndex(writeBlockSizeBytes: blockSize)
        waitUntil { !writer.isBuffered(b1) }
        #expect(!writer.isBuffered(b1), "block \(b1) was never written whole")
        // Replace every record of b1 (the replacements stay in memory: flush-max-ms is long).
        var replacements: [RecordLocation] = []
        for (k, old) in first.enumerated() {
            replacements.append(try storage.append(record(k, 2), deviceIndex: 0))
            storage.release(old)
        }
        let b2 = replacements.last!.blockIndex(writeBlockSizeBytes: blockSize)
        #expect(storage.devices[0].usage.liveBytes(block: b1) == 0)
        #expect(writer.statistics.blocksFreed == 0, "block freed while its replacements were only in memory")
        #expect(writer.pendingFreeCount == 1)
        // Write the replacements: b1 is free after the sync that follows (they may still be
        // in the device's volatile cache until then).
        try storage.waitDurable(replacements.last!)
        Self.waitFreed(writer, 1)
        #expect(writer.statistics.blocksFreed == 1)
        #expect(writer.statistics.syncs >= 1, "block freed without a sync after its replacements' writes")
        // The next block opened is b1, with a sequence above b2's.
        var reused: RecordLocation?
        while reused == nil {
            key += 1
            let l = try storage.append(record(key, 1), deviceIndex: 0)
            if l.blockIndex(writeBlockSizeBytes: blockSize) != b2 { reused = l }
        }
        #expect(reused!.blockIndex(writeBlockSizeBytes: blockSize) == b1)
        #expect(writer.statistics.blocksReused == 1)
        try storage.waitDurable(reused!)
        let buffer = AlignedBuffer(countBytes: blockSize, alignmentBytes: storage.devices[0].device.alignmentBytes)
        let seq1 = try #require(try storage.readStoredBlock(deviceIndex: 0, block: b1, into: buffer)).sequence
        let seq2 = try #require(try storage.readStoredBlock(deviceIndex: 0, block: b2, into: buffer)).sequence
        #expect(seq1 > seq2)
        try storage.close(clean: true)
    }

    /// With commit-to-device every write is durable when it completes (RWF_DSYNC): an emptied
    /// block is free as soon as its replacements are written, with no sync of its own.
    @Test func emptiedBlockNeedsNoSyncUnderCommitToDevice() throws {
        let dir = try TemporaryDirectory()
        let storage = try Self.openStorage(dir, commitToDevice: true)
        let writer = storage.devices[0].writer
        let (first, _) = try Self.fillOneBlock(storage)
        let b1 = first[0].blockIndex(writeBlockSizeBytes: Self.blockSize)
        waitUntil { !writer.isBuffered(b1) }
        var last: RecordLocation?
        for (k, old) in first.enumerated() {
            last = try storage.append(Self.record(k, 2), deviceIndex: 0)
            storage.release(old)
        }
        try storage.waitDurable(try #require(last))
        Self.waitFreed(writer, 1)
        #expect(writer.statistics.blocksFreed == 1)
        #expect(writer.statistics.syncs == 0)
        try storage.close(clean: true)
    }

    /// A block that empties while buffered, fills again before it is sealed, and empties again
    /// after its full write goes to the free list once, at the mark of its last emptying. (Two
    /// free-list entries let two buffers hold one block: the second's reads found zeros or other
    /// records, and the first's full write dropped the second from memory. The Aerospike C
    /// client's query_geospatial suite found it: 1000 puts, 1000 deletes, 1000 puts again.)
    @Test func blockEmptiedWhileBufferedThenRefilledIsFreedOnceAtItsLastEmptying() throws {
        let dir = try TemporaryDirectory()
        let blockSize = Self.blockSize
        let storage = try Self.openStorage(dir)
        let writer = storage.devices[0].writer
        let record = Self.record
        // Block b: its first record is released at once (b empties while buffered) ...
        let early = try storage.append(record(0, 1), deviceIndex: 0)
        let b = early.blockIndex(writeBlockSizeBytes: blockSize)
        storage.release(early)
        #expect(storage.devices[0].usage.liveBytes(block: b) == 0)
        // ... then fills up again; the first record of the next block seals it.
        var refill: [RecordLocation] = []
        var key = 1
        while true {
            let l = try storage.append(record(key, 1), deviceIndex: 0)
            key += 1
            if l.blockIndex(writeBlockSizeBytes: blockSize) != b { break }
            refill.append(l)
        }
        waitUntil { !writer.isBuffered(b) }
        #expect(!writer.isBuffered(b), "block \(b) was never written whole")
        #expect(storage.devices[0].usage.liveBytes(block: b) > 0)
        // Its records are replaced (in memory only): b empties for good.
        var replacements: [RecordLocation] = []
        for (i, old) in refill.enumerated() {
            replacements.append(try storage.append(record(i + 1, 2), deviceIndex: 0))
            storage.release(old)
        }
        #expect(writer.statistics.blocksFreed == 0, "block freed while its replacements were only in memory")
        #expect(writer.pendingFreeCount == 1, "one pending entry for block \(b)")
        try storage.waitDurable(replacements.last!)
        Self.waitFreed(writer, 1)
        #expect(writer.statistics.blocksFreed == 1)
        #expect(writer.freeBlockList.filter { $0 == b }.count == 1, "block \(b) on the free list \(writer.freeBlockList)")
        try storage.close(clean: true)
    }
}

/// The nsup thread reaches its namespace through a NamespaceLink, not a weak reference: a
/// namespace that ran nsup cycles is freed once its owner lets go (closed or not), and the
/// thread neither keeps it alive nor touches it after.
@Suite struct NamespaceLinkTests {
    @Test func aNamespaceWithNsupCyclesIsFreedWhenReleased() throws {
        for close in [true, false] {
            let dir = try TemporaryDirectory()
            var options = namespaceOptions([dir.file("link.dat")], fileSizeBytes: 8 << 20)
            options.nsupPeriodSeconds = 1
            var ns: Namespace? = try Namespace.open(options)
            try ns!.put(testDigest(1), bins: [intBin("v", 1)])
            Thread.sleep(forTimeInterval: 1.3)  // at least one cycle has run on the nsup thread
            weak let released = ns
            if close { try ns!.close() }
            ns = nil
            #expect(released == nil, "closed: \(close)")
        }
    }
}
