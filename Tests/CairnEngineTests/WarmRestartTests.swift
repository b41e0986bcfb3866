@_spi(EngineInternals) import CairnEngine
import CairnIO
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// A temporary shared-memory directory (/dev/shm/cairn-test-…), removed with the object.
func sharedMemoryDirectory() throws -> TemporaryDirectory {
    try TemporaryDirectory(prefix: "cairn-test", base: "/dev/shm")
}

func warmOptions(_ paths: [String], shm: TemporaryDirectory, sprigs: Int = 16, memory: MemoryStorageMode = .none,
                 coldStart: Bool = false, fileSizeBytes: UInt64 = 256 << 20) -> NamespaceOptions {
    var o = namespaceOptions(paths, fileSizeBytes: fileSizeBytes, blockSize: 1 << 20)
    o.storage.partitionTreeSprigs = sprigs
    o.sharedMemory = SharedMemoryOptions(directory: shm.path, name: "cairn-test-node1")
    o.memory = memory
    o.coldStart = coldStart
    return o
}

@Suite(.serialized) struct WarmRestartTests {
    static let count = 100_000

    @Test func cleanStopThenWarmReadsNoRecordDataAndKeepsEverything() throws {
        let seed = SplitMix64.seedFromEnvironment()
        print("warm restart seed=\(seed) (replay: CAIRN_TEST_SEED=\(seed))")
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([dir.file("a.dat"), dir.file("b.dat")], shm: shm)
        var model: (live: [Int: ExpectedRecord], durablyDeleted: Set<Int>, plainlyDeleted: Set<Int>)
        var setID: UInt16?
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .fresh)
            model = try loadMixedWorkload(ns, count: Self.count, seed: seed)
            setID = ns.sets.existingID(for: "s3")
            try ns.close()
        }
        #expect(FileManager.default.fileExists(atPath: shm.file("cairn-test-node1.state")))
        do {
            let ns = try Namespace.open(options)
            let report = ns.startReport
            print("warm start: \(report.seconds)s reason: \(report.reason)")
            #expect(report.mode == .warm)
            #expect(report.coldStart == nil)
            #expect(report.recordDataReads == 0)
            #expect(report.recordDataBytesRead == 0)
            // Marked not clean again before serving: the state file is gone.
            #expect(!FileManager.default.fileExists(atPath: shm.file("cairn-test-node1.state")))
            #expect(ns.sets.existingID(for: "s3") == setID)
            // Plain deletes stay deleted after a warm restart (the index is the one that ran).
            #expect(ns.statistics.objects == model.live.count)
            try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
            for i in model.plainlyDeleted { #expect(try ns.get(testDigest(i)) == nil) }
            // Writes after the warm start: updates, new records, durable deletes; they reuse freed blocks.
            for i in stride(from: 3, to: Self.count, by: 4) where model.live[i] != nil {
                let bins = [intBin("n", Int64(i) * 7), stringBin("w", "after-warm-\(i)")]
                let r = try ns.put(testDigest(i), bins: bins, options: WriteOptions(exists: .replace))
                model.live[i] = ExpectedRecord(bins: bins, generation: r.generation, voidTime: r.voidTime)
            }
            for i in Self.count..<(Self.count + 20_000) {
                let bins = [intBin("n", Int64(i))]
                let r = try ns.put(testDigest(i), setName: "after", bins: bins)
                model.live[i] = ExpectedRecord(bins: bins, generation: r.generation, voidTime: r.voidTime)
            }
            for i in stride(from: 6, to: Self.count, by: 23) where model.live[i] != nil {
                try ns.delete(testDigest(i), options: WriteOptions(durableDelete: true))
                model.live[i] = nil
                model.durablyDeleted.insert(i)
            }
            try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
            // A crash after the warm start.
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        #expect(ns.startReport.reason.contains("prior shutdown not clean"), "\(ns.startReport.reason)")
        #expect(ns.startReport.recordDataReads > 0)
        try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
        try ns.close()
        // Cold start into a shared index, clean stop: warm again.
        let again = try Namespace.open(options)
        #expect(again.startReport.mode == .warm)
        try verify(again, live: model.live, durablyDeleted: model.durablyDeleted)
        try again.close()
    }

    /// Loads a few thousand records and stops cleanly; returns the model.
    func loadSmall(_ options: NamespaceOptions, count: Int = 5000) throws -> [Int: ExpectedRecord] {
        let ns = try Namespace.open(options)
        var live: [Int: ExpectedRecord] = [:]
        for i in 0..<count {
            let bins = [intBin("n", Int64(i)), stringBin("s", "value-\(i)")]
            let r = try ns.put(testDigest(i), setName: i % 2 == 0 ? "even" : nil, bins: bins)
            live[i] = ExpectedRecord(bins: bins, generation: r.generation, voidTime: r.voidTime)
        }
        try ns.close()
        return live
    }

    @Test func coldStartFlagSprigChangeAndMissingSegmentsForceCold() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([dir.file("a.dat")], shm: shm)
        let live = try loadSmall(options)

        var forced = options
        forced.coldStart = true
        do {
            let ns = try Namespace.open(forced)
            #expect(ns.startReport.mode == .cold)
            #expect(ns.startReport.reason == "cold start requested (--cold-start)")
            try verify(ns, live: live, durablyDeleted: [])
            try ns.close()
        }

        var sprigs = options
        sprigs.storage.partitionTreeSprigs = 32
        do {
            let ns = try Namespace.open(sprigs)
            #expect(ns.startReport.mode == .cold)
            #expect(ns.startReport.reason == "partition-tree-sprigs 16 doesn't match config 32")
            try verify(ns, live: live, durablyDeleted: [])
            try ns.close()
        }
        do {
            let ns = try Namespace.open(sprigs)
            #expect(ns.startReport.mode == .warm, "\(ns.startReport.reason)")
            try ns.close()
        }

        // A reboot: the segments are gone.
        for name in try FileManager.default.contentsOfDirectory(atPath: shm.path) {
            try FileManager.default.removeItem(atPath: shm.file(name))
        }
        let ns = try Namespace.open(sprigs)
        #expect(ns.startReport.mode == .cold)
        #expect(ns.startReport.reason.hasPrefix("shared memory not found"), "\(ns.startReport.reason)")
        try verify(ns, live: live, durablyDeleted: [])
        try ns.close()
    }

    @Test func damagedStateFileForcesColdWithItsPath() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([dir.file("a.dat")], shm: shm)
        let live = try loadSmall(options, count: 500)
        let statePath = shm.file("cairn-test-node1.state")
        var bytes = try #require(FileManager.default.contents(atPath: statePath))
        bytes[20] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: statePath))
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        #expect(ns.startReport.reason.contains("shared memory state damaged"), "\(ns.startReport.reason)")
        #expect(ns.startReport.reason.contains(statePath))
        try verify(ns, live: live, durablyDeleted: [])
        try ns.close()
    }

    @Test func warmStateRoundTripsAndRefusesTruncation() throws {
        let state = WarmState(sprigsPerPartition: 256, identity: SharedIndexIdentity(instanceId: 42, cleanStopSequence: 7),
                              namespaceInstanceId: 99, nextPristineBlocks: [3, 900], mirrored: true,
                              setNames: ["a", "bé", "set-3"], binNames: ["x", "y-é", "z"], removedCopyLutMs: 1_234_567)
        let bytes = state.encoded()
        #expect(try WarmState.decode(bytes, path: "p") == state)
        /// `bytes` without its last `drop` bytes, stamped `version`, with a new CRC.
        func older(_ bytes: [UInt8], dropping drop: Int, version: UInt8) -> [UInt8] {
            var v = Array(bytes.dropLast(drop))
            v[8] = version
            v.append(contentsOf: withUnsafeBytes(of: CRC32C.checksum(v).littleEndian, Array.init))
            return v
        }
        // Version 2, written before the removed-copy LUT: read as 0.
        var v2State = state
        v2State.removedCopyLutMs = 0
        #expect(try WarmState.decode(older(bytes, dropping: 12, version: 2), path: "p") == v2State)
        // Version 1, written before the bin-name table: read with none (its entries know no names).
        var v1State = v2State
        v1State.binNames = []
        // The empty bin-name table, the removed-copy LUT and the CRC.
        #expect(try WarmState.decode(older(v1State.encoded(), dropping: 16, version: 1), path: "p") == v1State)
        // A version this build does not know is refused, naming those it knows and the version's offset.
        do {
            _ = try WarmState.decode(older(bytes, dropping: 4, version: 4), path: "p")
            Issue.record("version 4 was read")
        } catch {
            #expect("\(error)" == "p: unsupported version 4 (this build reads 1 to 3) at offset 8", "\(error)")
        }
        // A name twice is refused, naming the file and the offset.
        var twice = state
        twice.binNames = ["x", "x"]
        #expect(throws: (any Error).self) { try WarmState.decode(twice.encoded(), path: "p") }
        do {
            _ = try WarmState.decode(twice.encoded(), path: "/dev/shm/p.state")
        } catch {
            #expect("\(error)".contains("/dev/shm/p.state: bin name 'x' twice at offset"), "\(error)")
        }
        #expect(throws: (any Error).self) { try WarmState.decode(Array(bytes.dropLast()), path: "p") }
        #expect(throws: (any Error).self) { try WarmState.decode([], path: "p") }
    }

    @Test func theFullestWarmStateIsWrittenAndReadBack() throws {
        // Every set name at its longest (63 bytes) and every bin name the table holds at 15.
        func names(_ count: Int, bytes: Int) -> [String] {
            (0..<count).map { i in String(repeating: "n", count: bytes - 5) + String(format: "%05d", i) }
        }
        let state = WarmState(sprigsPerPartition: 256, identity: SharedIndexIdentity(instanceId: 1, cleanStopSequence: 2),
                              namespaceInstanceId: 3, nextPristineBlocks: [4], mirrored: false,
                              setNames: names(NameRegistry.setCountMax, bytes: 63),
                              binNames: names(NameRegistry.binNameCountMax, bytes: 15))
        let dir = try TemporaryDirectory()
        try state.write(to: dir.file("full.state"))
        #expect(try WarmState.read(path: dir.file("full.state")) == state)
    }

    @Test func persistedMemoryNamespaceIsWarmAfterStopAndColdAfterKill() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([dir.file("p.dat")], shm: shm, memory: .persisted, fileSizeBytes: 64 << 20)
        let live = try loadSmall(options, count: 20_000)
        #expect(FileManager.default.fileExists(atPath: shm.file("cairn-test-node1.mirror-0")))
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .warm, "\(ns.startReport.reason)")
            #expect(ns.startReport.recordDataReads == 0)
            let before = ns.storage.deviceReads.count
            try verify(ns, live: live, durablyDeleted: [])
            // Every read came from memory.
            #expect(ns.storage.deviceReads.count == before)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        #expect(ns.startReport.reason.contains("prior shutdown not clean"))
        let before = ns.storage.deviceReads.count
        try verify(ns, live: live, durablyDeleted: [])
        #expect(ns.storage.deviceReads.count == before, "cold start refilled the memory copy")
        try ns.close()
    }

    @Test func unpersistedMemoryNamespaceKeepsDataOnlyAcrossCleanRestarts() throws {
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([], shm: shm, memory: .unpersisted(dataSizeBytes: 64 << 20))
        let live = try loadSmall(options, count: 20_000)
        #expect(FileManager.default.fileExists(atPath: shm.file("cairn-test-node1.data")))
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .warm, "\(ns.startReport.reason)")
            #expect(ns.startReport.recordDataReads == 0)
            try verify(ns, live: live, durablyDeleted: [])
            try ns.closeWithoutCleanShutdown()
        }
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .fresh)
            #expect(ns.startReport.reason.hasPrefix("memory namespace without persistence starts empty"),
                    "\(ns.startReport.reason)")
            #expect(ns.statistics.objects == 0)
            try ns.put(testDigest(1), bins: [intBin("n", 1)])
            try ns.close()
        }
        var forced = options
        forced.coldStart = true
        let ns = try Namespace.open(forced)
        #expect(ns.startReport.mode == .fresh)
        #expect(ns.statistics.objects == 0)
        try ns.close()
    }
}
