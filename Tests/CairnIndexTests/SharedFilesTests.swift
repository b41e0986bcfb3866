import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import CairnIndex

/// Shared-file regions and warm-restart attach. Files go to /dev/shm when it exists (as in
/// production), else /tmp; each test uses its own random name and removes its files.
@Suite struct SharedFilesTests {
    static var directory: String {
        access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    }

    static func uniqueName(_ label: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return "cairn-index-test-\(label)-\(getpid())-\(generator.next() as UInt64 % 1_000_000_000)"
    }

    // MARK: MemoryRegion

    @Test func fileRegionCreateAttachRoundTrip() throws {
        let path = "\(SharedFilesTests.directory)/\(SharedFilesTests.uniqueName("region"))"
        defer { #expect(throws: Never.self) { try MemoryRegion.remove(path: path) } }
        do {
            let region = try MemoryRegion.create(path: path, sizeBytes: 10_000)
            #expect(region.sizeBytes == 10_000)
            let words = region.bind(to: UInt64.self, atByteOffset: 8, count: 100)
            #expect(words[99] == 0, "new files are zero")
            for index in 0..<100 { words[index] = UInt64(index) * 0x0101_0101 }
        }
        // Creating again must refuse: never overwrite an index someone may still attach.
        #expect(throws: IndexError.openFailed(path: path, errno: EEXIST)) {
            _ = try MemoryRegion.create(path: path, sizeBytes: 10_000)
        }
        let attached = try MemoryRegion.attach(path: path, sizeBytes: 10_000)
        let words = attached.bind(to: UInt64.self, atByteOffset: 8, count: 100)
        #expect((0..<100).allSatisfy { words[$0] == UInt64($0) * 0x0101_0101 })
        // Wrong expected size and absent files are clear errors.
        do {
            _ = try MemoryRegion.attach(path: path, sizeBytes: 100_000)
            Issue.record("attached with the wrong size")
        } catch {
            guard case .fileSizeMismatch = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
        #expect(throws: IndexError.openFailed(path: path + ".absent", errno: ENOENT)) {
            _ = try MemoryRegion.attach(path: path + ".absent", sizeBytes: 10)
        }
        #expect(try MemoryRegion.remove(path: path + ".absent") == false)
    }

    @Test func anonymousRegionIsZeroAndBoundsChecked() async throws {
        let region = try MemoryRegion.anonymous(sizeBytes: 1 << 20)
        let bytes = region.bind(to: UInt8.self, atByteOffset: 0, count: 1 << 20)
        #expect(bytes[0] == 0 && bytes[(1 << 20) - 1] == 0)
        await #expect(processExitsWith: .failure) {
            let region = try MemoryRegion.anonymous(sizeBytes: 4096)
            _ = region.bind(to: UInt64.self, atByteOffset: 4096 - 8, count: 2)
        }
        await #expect(processExitsWith: .failure) {
            let region = try MemoryRegion.anonymous(sizeBytes: 4096)
            _ = region.bind(to: UInt64.self, atByteOffset: 4, count: 1)
        }
    }

    // MARK: Warm restart

    /// A cold start's prefault maps stages ahead of the allocator; a clean shutdown after it
    /// (with no entry at all, or with entries short of the last prefaulted stage) still attaches
    /// warm, and the attached index hands out entries from the stages already mapped.
    /// (Found by `cairn-sim`: such a restart was refused as corrupt and went cold.)
    @Test(arguments: [0, 1500])
    func prefaultedStagesAttachWarm(entries: Int) throws {
        var generator = SplitMix64(seed: UInt64(entries) + 11)
        let directory = SharedFilesTests.directory
        let name = SharedFilesTests.uniqueName("prefault")
        defer { #expect(throws: Never.self) { try PrimaryIndex.removeSharedFiles(directory: directory, name: name) } }
        let configuration = IndexConfiguration(
            sprigsPerPartition: 16, entryCountMax: 8192, stageEntryCount: 1024, lockStripeCount: 32)
        var model: [Digest: IndexRecord] = [:]
        do {
            let index = try PrimaryIndex(configuration: configuration, backing: .sharedFiles(directory: directory, name: name))
            #expect(index.prefault(window: 4000) == 4000)  // handles 1..<4001: stages 0 ... 3
            for value in 0..<entries {
                let digest = Digest.random(using: &generator)
                let record = sampleRecord(digest, value: UInt64(value))
                try index.insertOrReplace(record)
                model[digest] = record
            }
            #expect(index.arenaStatistics.stageCount == 4)
            index.markCleanShutdown()
        }
        let index = try PrimaryIndex.attach(configuration: configuration, directory: directory, name: name)
        #expect(index.arenaStatistics.stageCount == 4)
        #expect(index.entryCount == entries)
        for (digest, record) in model { #expect(index.lookup(digest) == record) }
        for value in 0..<3000 {
            let digest = Digest.random(using: &generator)
            let record = sampleRecord(digest, value: UInt64(value))
            try index.insertOrReplace(record)
            model[digest] = record
        }
        for (digest, record) in model { #expect(index.lookup(digest) == record) }
        try index.verifyInvariants()
    }

    @Test func indexSurvivesCleanShutdownAndAttach() throws {
        let seed = testSeed("indexSurvivesCleanShutdownAndAttach")
        var generator = SplitMix64(seed: seed)
        let directory = SharedFilesTests.directory
        let name = SharedFilesTests.uniqueName("warm")
        defer { #expect(throws: Never.self) { try PrimaryIndex.removeSharedFiles(directory: directory, name: name) } }
        let configuration = IndexConfiguration(
            sprigsPerPartition: 16, entryCountMax: 50_000, stageEntryCount: 1024, lockStripeCount: 32)
        var model: [Digest: IndexRecord] = [:]
        let instanceID: UInt64
        do {
            let index = try PrimaryIndex(configuration: configuration, backing: .sharedFiles(directory: directory, name: name))
            instanceID = index.instanceID
            for value in 0..<20_000 {
                let digest = Digest.random(using: &generator)
                let record = sampleRecord(digest, value: UInt64(value), tombstone: value % 10 == 0)
                try index.insertOrReplace(record)
                model[digest] = record
            }
            for digest in model.keys.prefix(5000) {
                index.remove(digest)
                model[digest] = nil
            }
            _ = try index.checkInvariants()
            index.markCleanShutdown()
        }
        #expect(PrimaryIndex.sharedFilesExist(directory: directory, name: name))
        // A differently shaped configuration is refused, and leaves the files attachable.
        var otherSprigs = configuration
        otherSprigs.sprigsPerPartition = 32
        #expect(throws: IndexError.self) {
            _ = try PrimaryIndex.attach(configuration: otherSprigs, directory: directory, name: name)
        }
        var tooSmall = configuration
        tooSmall.entryCountMax = 1000
        #expect(throws: IndexError.self) {
            _ = try PrimaryIndex.attach(configuration: tooSmall, directory: directory, name: name)
        }
        // Attach with more stripes (not persisted) and a larger limit.
        var attachConfiguration = configuration
        attachConfiguration.lockStripeCount = 128
        attachConfiguration.entryCountMax = 60_000
        do {
            let index = try PrimaryIndex.attach(configuration: attachConfiguration, directory: directory, name: name)
            #expect(index.instanceID == instanceID)
            #expect(index.entryCount == model.count)
            #expect(index.tombstoneCount == model.values.filter(\.isTombstone).count)
            let shape = try index.checkInvariants()
            #expect(shape.entryCount == model.count)
            for (digest, record) in model { #expect(index.lookup(digest) == record) }
            // Still fully usable: freed entries are reused, new ones appended.
            let handlesBefore = index.arenaStatistics.handlesUsed
            for value in 0..<3000 {
                let digest = Digest.random(using: &generator)
                let record = sampleRecord(digest, value: UInt64(value))
                try index.insertOrReplace(record)
                model[digest] = record
            }
            #expect(index.arenaStatistics.handlesUsed == handlesBefore, "free entries reused after attach")
            _ = try index.checkInvariants()
            // Dropped without markCleanShutdown: like a crash.
        }
        do {
            _ = try PrimaryIndex.attach(configuration: attachConfiguration, directory: directory, name: name)
            Issue.record("attached an index that was not shut down cleanly")
        } catch {
            #expect(error == .sharedIndexNotClean(path: "\(directory)/\(name).header"))
            #expect(error.description.contains("cold start"))
        }
        // Creating over existing files is refused until they are removed.
        #expect(throws: IndexError.self) {
            _ = try PrimaryIndex(configuration: configuration, backing: .sharedFiles(directory: directory, name: name))
        }
        let removed = try PrimaryIndex.removeSharedFiles(directory: directory, name: name)
        #expect(removed >= 3)
        #expect(!PrimaryIndex.sharedFilesExist(directory: directory, name: name))
    }

    @Test func badSharedFileNamesAreRefused() {
        for name in ["", "../etc", "a/b", ".hidden", String(repeating: "x", count: 65), "sp ace"] {
            #expect(throws: IndexError.self, "\(name)") {
                _ = try PrimaryIndex(
                    configuration: IndexConfiguration(), backing: .sharedFiles(directory: "/tmp", name: name))
            }
            #expect(throws: IndexError.self, "\(name)") {
                _ = try PrimaryIndex.attach(configuration: IndexConfiguration(), directory: "/tmp", name: name)
            }
        }
        #expect(throws: IndexError.self) {
            _ = try PrimaryIndex(configuration: IndexConfiguration(), backing: .sharedFiles(directory: "", name: "x"))
        }
    }

    @Test func attachOfAbsentOrForeignFilesIsAClearError() throws {
        let directory = SharedFilesTests.directory
        let name = SharedFilesTests.uniqueName("foreign")
        defer { #expect(throws: Never.self) { try PrimaryIndex.removeSharedFiles(directory: directory, name: name) } }
        #expect(throws: IndexError.self) {
            _ = try PrimaryIndex.attach(configuration: IndexConfiguration(), directory: directory, name: name)
        }
        // A header file full of zeros is not a Cairn index.
        _ = try MemoryRegion.create(path: "\(directory)/\(name).header", sizeBytes: IndexHeader.regionSizeBytes)
        do {
            _ = try PrimaryIndex.attach(configuration: IndexConfiguration(), directory: directory, name: name)
            Issue.record("attached a foreign header")
        } catch {
            guard case .sharedIndexCorrupt = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }
}
