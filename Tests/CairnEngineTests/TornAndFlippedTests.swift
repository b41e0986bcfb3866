@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// Damage a crash or a failing disk leaves behind, made by hand on a closed device: the last
/// block torn at random offsets, single bits flipped in records, in a block header and in either
/// header copy. Every case must end in a clean cold start that skips exactly the damaged records
/// (reporting them) and returns every other record intact, never a wrong one.
@Suite(.serialized) struct TornAndFlippedTests {
    static let recordCount = 1_000
    static let blockSize = 128 << 10

    /// What a test image holds: each record's location and the block size.
    struct Image {
        var locations: [Int: RecordLocation]
    }

    static func bins(_ i: Int) -> [StoredBin] {
        [intBin("i", Int64(i)), stringBin("s", String(repeating: "r\(i % 10)", count: 40 + i % 60))]
    }

    /// Fills `path`, then stops without a clean shutdown (what `kill -9` leaves, with every write
    /// flushed). The namespace was opened and cleanly closed once before, so both header copies
    /// hold a valid header.
    static func makeImage(_ options: NamespaceOptions) throws -> Image {
        try Namespace.open(options).close()
        let ns = try Namespace.open(options)
        for i in 0..<recordCount { try ns.put(testDigest(i), bins: bins(i)) }
        var locations: [Int: RecordLocation] = [:]
        for i in 0..<recordCount { locations[i] = try #require(ns.index.lookup(testDigest(i))?.location) }
        try ns.closeWithoutCleanShutdown()
        return Image(locations: locations)
    }

    /// Opens (a cold start), checks every record: `missing` must be absent, all others intact.
    static func expectColdStart(_ options: NamespaceOptions, missing: Set<Int>,
                                _ check: (ColdStartReport) -> Void = { _ in }) throws {
        let ns = try Namespace.open(options)
        defer { #expect(throws: Never.self) { try ns.close() } }
        let report = try #require(ns.startReport.coldStart)
        check(report)
        var wrong: [Int] = []
        for i in 0..<recordCount {
            let got = try ns.get(testDigest(i))
            if missing.contains(i) {
                if got != nil { wrong.append(i) }
            } else if got?.bins != bins(i) {
                wrong.append(i)
            }
        }
        #expect(wrong.isEmpty, "records wrong or missing after the cold start: \(wrong.prefix(20))")
        #expect(report.indexedRecords == recordCount - missing.count)
    }

    static func copyFile(_ from: String, _ to: String) throws {
        _ = try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    static func flipBit(_ path: String, at offset: UInt64, bit: Int) throws {
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        var byte: UInt8 = 0
        try #require(pread(fd, &byte, 1, off_t(offset)) == 1)
        byte ^= 1 << UInt8(bit)
        try #require(pwrite(fd, &byte, 1, off_t(offset)) == 1)
        fsync(fd)
    }

    static func writeBytes(_ path: String, at offset: UInt64, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes.count, off_t(offset)) }
        try #require(n == bytes.count)
        fsync(fd)
    }

    @Test(arguments: [false, true])
    func tornLastBlockLosesExactlyTheRecordsFromTheTearOn(garbage: Bool) throws {
        let dir = try TemporaryDirectory()
        let pristine = dir.file("pristine.dat"), work = dir.file("work.dat")
        let image = try Self.makeImage(namespaceOptions([pristine], fileSizeBytes: 16 << 20, blockSize: Self.blockSize))
        let block = UInt64(Self.blockSize)
        let lastBlock = image.locations.values.map { $0.offsetBytes / block }.max()!
        let inLast = image.locations.filter { $0.value.offsetBytes / block == lastBlock }
        let usedEnd = inLast.values.map { $0.offsetBytes + UInt64($0.sizeBytes) }.max()!
        let blockStart = lastBlock * block + 48
        #expect(inLast.count > 10)
        var rng = SplitMix64(seed: garbage ? 7 : 3)
        for round in 0..<8 {
            try Self.copyFile(pristine, work)
            let tearAt = blockStart + rng.next() % (usedEnd - blockStart)
            let length = Int(usedEnd - tearAt)
            let tail = garbage ? (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) } : [UInt8](repeating: 0, count: length)
            try Self.writeBytes(work, at: tearAt, tail)
            let missing = Set(inLast.filter { $0.value.offsetBytes + UInt64($0.value.sizeBytes) > tearAt }.keys)
            let splitsOne = inLast.values.contains { $0.offsetBytes < tearAt && tearAt < $0.offsetBytes + UInt64($0.sizeBytes) }
            try Self.expectColdStart(namespaceOptions([work], fileSizeBytes: 16 << 20, blockSize: Self.blockSize),
                                     missing: missing) { report in
                print("torn (\(garbage ? "garbage" : "zeros")) round \(round) at +\(tearAt - lastBlock * block): "
                    + "\(missing.count) records lost, unparsable=\(report.unparsable)")
                if garbage {
                    #expect(report.unparsable >= 1, "the torn region must be reported")
                } else {
                    // Zeros after the tear read as the end of the block; a record cut in two is damage.
                    #expect(report.unparsable == (splitsOne ? 1 : 0))
                }
            }
        }
    }

    @Test func aFlippedBitInARecordLosesThatRecordOnly() throws {
        let dir = try TemporaryDirectory()
        let pristine = dir.file("pristine.dat"), work = dir.file("work.dat")
        let image = try Self.makeImage(namespaceOptions([pristine], fileSizeBytes: 16 << 20, blockSize: Self.blockSize))
        var rng = SplitMix64(seed: 11)
        for _ in 0..<10 {
            try Self.copyFile(pristine, work)
            let victim = Int(rng.next() % UInt64(Self.recordCount))
            let location = image.locations[victim]!
            let at = location.offsetBytes + rng.next() % UInt64(location.sizeBytes)
            try Self.flipBit(work, at: at, bit: Int(rng.next() % 8))
            try Self.expectColdStart(namespaceOptions([work], fileSizeBytes: 16 << 20, blockSize: Self.blockSize),
                                     missing: [victim]) { report in
                #expect(report.unparsable == 1, "the damaged record must be reported: \(report)")
            }
        }
    }

    @Test func aFlippedBitInABlockHeaderLosesThatBlockOnly() throws {
        let dir = try TemporaryDirectory()
        let pristine = dir.file("pristine.dat"), work = dir.file("work.dat")
        let image = try Self.makeImage(namespaceOptions([pristine], fileSizeBytes: 16 << 20, blockSize: Self.blockSize))
        let block = UInt64(Self.blockSize)
        let firstBlock = image.locations.values.map { $0.offsetBytes / block }.min()!
        var rng = SplitMix64(seed: 5)
        for _ in 0..<4 {
            try Self.copyFile(pristine, work)
            try Self.flipBit(work, at: firstBlock * block + rng.next() % 48, bit: Int(rng.next() % 8))
            let missing = Set(image.locations.filter { $0.value.offsetBytes / block == firstBlock }.keys)
            try Self.expectColdStart(namespaceOptions([work], fileSizeBytes: 16 << 20, blockSize: Self.blockSize),
                                     missing: missing) { report in
                #expect(report.badBlocks == 1, "the damaged block must be reported: \(report)")
            }
        }
    }

    @Test func aFlippedBitInEitherHeaderCopyLosesNothingAndBothIsRefused() throws {
        let dir = try TemporaryDirectory()
        let pristine = dir.file("pristine.dat"), work = dir.file("work.dat")
        let options = namespaceOptions([work], fileSizeBytes: 16 << 20, blockSize: Self.blockSize)
        _ = try Self.makeImage(namespaceOptions([pristine], fileSizeBytes: 16 << 20, blockSize: Self.blockSize))
        var rng = SplitMix64(seed: 13)
        func copySize(_ slot: Int) throws -> UInt64 {
            let data = try #require(FileHandle(forReadingAtPath: pristine))
            defer { try? data.close() }
            try data.seek(toOffset: UInt64(slot * DeviceHeaderFormat.copySlotSizeBytes + 12))
            let bytes = try #require(try data.read(upToCount: 4))
            return UInt64(bytes[0]) | UInt64(bytes[1]) << 8 | UInt64(bytes[2]) << 16 | UInt64(bytes[3]) << 24
        }
        for slot in 0..<2 {
            let size = try copySize(slot)
            try #require(size >= 20, "the pristine image has no header copy in slot \(slot)")
            for _ in 0..<4 {
                try Self.copyFile(pristine, work)
                try Self.flipBit(work, at: UInt64(slot * DeviceHeaderFormat.copySlotSizeBytes) + rng.next() % size,
                                 bit: Int(rng.next() % 8))
                try Self.expectColdStart(options, missing: [])
            }
        }
        // Both copies damaged: refused with the path named, and the device left as it was.
        try Self.copyFile(pristine, work)
        try Self.flipBit(work, at: 20, bit: 3)
        try Self.flipBit(work, at: UInt64(DeviceHeaderFormat.copySlotSizeBytes) + 20, bit: 5)
        let before = try Data(contentsOf: URL(fileURLWithPath: work))
        #expect { _ = try Namespace.open(options) } throws: { error in "\(error)".contains(work) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: work)) == before)
    }

    @Test func flippedBitsOnALoopDeviceAreSkippedAndReported() throws {
        let dir = try TemporaryDirectory()
        guard let loop = LoopDevice.forTest(backingFile: dir.file("flip.img"), sizeBytes: 32 << 20) else {
            try Test.cancel("loop device unavailable")
        }
        defer { #expect(throws: Never.self) { try loop.detach() } }
        let storage = StorageOptions(namespaceName: "test", devices: [.init(path: loop.path)],
                                     writeBlockSizeBytes: Self.blockSize, partitionTreeSprigs: 16, flushMaxMs: 50)
        let options = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 20)
        let image = try Self.makeImage(options)
        let victims = [17, 400, 777]
        for v in victims {
            let l = image.locations[v]!
            try Self.flipBit(loop.path, at: l.offsetBytes + UInt64(l.sizeBytes / 2), bit: 2)
        }
        try Self.expectColdStart(options, missing: Set(victims)) { report in
            #expect(report.unparsable == victims.count)
        }
    }
}
