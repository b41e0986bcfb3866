@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// Writes raw records straight through storage (bypassing the engine's LUT rules), each group
/// into a block of its own, so tests control which copy sits in which block.
func writeRawBlocks(_ options: NamespaceOptions, groups: [[StoredRecord]], truncate: [(String?, UInt64)] = []) throws {
    let storage = try NamespaceStorage.open(options.storage)
    storage.start()
    let filler = StoredBin(name: "pad", particleType: .blob, bytes: [UInt8](repeating: 0xAB, count: 4000))
    var fillerKey = 1_000_000
    for group in groups {
        var block: UInt32?
        for record in group {
            let location = try storage.append(record, deviceIndex: 0)
            block = location.blockIndex(writeBlockSizeBytes: options.storage.writeBlockSizeBytes)
        }
        // Fill the rest of the block so the next group lands in a later block.
        while true {
            fillerKey += 1
            let r = StoredRecord(digest: testDigest(fillerKey), lastUpdateMs: 1, generation: 1, bins: [filler])
            let l = try storage.append(r, deviceIndex: 0)
            if l.blockIndex(writeBlockSizeBytes: options.storage.writeBlockSizeBytes) != block { break }
        }
    }
    for (set, lut) in truncate { try storage.truncate(setName: set, lutMs: lut) }
    try storage.close(clean: true)
}

@Suite struct ResolutionTests {
    let clock = TestClock()

    func record(_ key: Int, lut: UInt64, gen: UInt16, value: Int64, voidTime: UInt32 = 0, set: String? = nil,
                tombstone: Bool = false) -> StoredRecord {
        if tombstone {
            return .tombstone(digest: testDigest(key), lastUpdateMs: lut, generation: gen, setName: set)
        }
        return StoredRecord(digest: testDigest(key), lastUpdateMs: lut, generation: gen, voidTime: voidTime,
                            setName: set, bins: [intBin("v", value)])
    }

    func coldStart(_ groups: [[StoredRecord]], truncate: [(String?, UInt64)] = []) throws -> (Namespace, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let options = namespaceOptions([dir.file("r.dat")], fileSizeBytes: 16 << 20, blockSize: 128 << 10, clock: clock)
        try writeRawBlocks(options, groups: groups, truncate: truncate)
        return (try Namespace.open(options), dir)
    }

    func value(_ ns: Namespace, _ key: Int) throws -> Int64? {
        try ns.get(testDigest(key)).map { Int64(bitPattern: $0.bins[0].bytes.reduce(0) { $0 << 8 | UInt64($1) }) }
    }

    @Test(arguments: [false, true])
    func higherLUTWinsInEitherBlockOrder(newerFirst: Bool) throws {
        let now = clock.now()
        let older = record(1, lut: now - 5000, gen: 9, value: 1)
        let newer = record(1, lut: now - 1000, gen: 2, value: 2)
        let (ns, dir) = try coldStart(newerFirst ? [[newer], [older]] : [[older], [newer]])
        _ = dir
        #expect(try value(ns, 1) == 2)
        #expect(try ns.get(testDigest(1))?.generation == 2)
        try ns.close()
    }

    @Test(arguments: [false, true])
    func sameLUTHigherGenerationWinsInEitherBlockOrder(newerFirst: Bool) throws {
        let lut = clock.now() - 1000
        let older = record(2, lut: lut, gen: 4, value: 4)
        let newer = record(2, lut: lut, gen: 5, value: 5)
        let (ns, dir) = try coldStart(newerFirst ? [[newer], [older]] : [[older], [newer]])
        _ = dir
        #expect(try value(ns, 2) == 5)
        try ns.close()
    }

    @Test func sameLUTAndGenerationHigherBlockSequenceWins() throws {
        let lut = clock.now() - 1000
        let (ns, dir) = try coldStart([[record(3, lut: lut, gen: 1, value: 1)], [record(3, lut: lut, gen: 1, value: 2)]])
        _ = dir
        #expect(try value(ns, 3) == 2)
        try ns.close()
    }

    /// The newest copy expired: it must not let the older, unexpired copy come back.
    @Test(arguments: [false, true])
    func expiredNewestCopyHidesOlderUnexpiredCopy(newerFirst: Bool) throws {
        let now = clock.now()
        let pastVoidTime = UInt32(now / 1000) - 60
        let older = record(4, lut: now - 9000, gen: 1, value: 1)
        let newerExpired = record(4, lut: now - 2000, gen: 2, value: 2, voidTime: pastVoidTime)
        let (ns, dir) = try coldStart(newerFirst ? [[newerExpired], [older]] : [[older], [newerExpired]])
        _ = dir
        #expect(try ns.get(testDigest(4)) == nil)
        #expect(ns.startReport.coldStart?.expired == 1)
        try ns.close()
    }

    @Test(arguments: [false, true])
    func tombstoneHidesOlderRecord(tombstoneFirst: Bool) throws {
        let now = clock.now()
        let live = record(5, lut: now - 9000, gen: 1, value: 1)
        let tomb = record(5, lut: now - 1000, gen: 2, value: 0, tombstone: true)
        let (ns, dir) = try coldStart(tombstoneFirst ? [[tomb], [live]] : [[live], [tomb]])
        _ = dir
        #expect(try ns.get(testDigest(5)) == nil)
        #expect(ns.statistics.tombstones == 1)
        try ns.close()
    }

    @Test func truncatedSetAndNamespaceStayTruncated() throws {
        let now = clock.now()
        let groups = [[
            record(10, lut: now - 9000, gen: 1, value: 1, set: "gone"),
            record(11, lut: now - 100, gen: 1, value: 2, set: "gone"),  // after the set's truncation
            record(12, lut: now - 9000, gen: 1, value: 3, set: "kept"),
            record(13, lut: now - 9000, gen: 1, value: 4),
        ]]
        let (ns, dir) = try coldStart(groups, truncate: [("gone", now - 5000)])
        _ = dir
        #expect(try ns.get(testDigest(10)) == nil)
        #expect(try value(ns, 11) == 2)
        #expect(try value(ns, 12) == 3)
        #expect(try value(ns, 13) == 4)
        #expect(ns.startReport.coldStart?.truncated == 1)
        // A namespace truncation through the engine, then another cold start.
        try ns.truncate(setName: nil, lutMs: now - 50)
        #expect(try ns.get(testDigest(11)) == nil)
        try ns.put(testDigest(14), bins: [intBin("v", 5)])
        try ns.close()
        let again = try Namespace.open(ns.options)
        for k in [10, 11, 12, 13] { #expect(try again.get(testDigest(k)) == nil, "key \(k) came back after truncation") }
        #expect(try value(again, 14) == 5)
        try again.close()
    }
}
