@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnModel
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// An update that sets every bin its record has commits from the index's metadata alone: the
/// index keeps the record's bin names (``BinNameIDs``), so the old copy is read only when it
/// has something the write does not replace.
@Suite struct UpdateWithoutReadTests {
    private func skipped(_ ns: Namespace) -> UInt64 { ns.statistics.updatesWithoutRead }

    private func bins(_ ns: Namespace, _ digest: Digest) throws -> [String: StoredBin] {
        let record = try #require(try ns.get(digest))
        return Dictionary(uniqueKeysWithValues: record.bins.map { ($0.name, $0) })
    }

    @Test func anUpdateReadsTheOldCopyOnlyWhenItKeepsSomethingOfIt() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("a.dat")]))
        defer { try? ns.close() }
        let d = testDigest(1)
        try ns.put(d, setName: "s", bins: [intBin("a", 1)], options: WriteOptions(ttl: .seconds(500)))
        #expect(ns.index.lookup(d)?.binNameIDs.count == 1)

        // Every bin set: no read, and the metadata comes from the index.
        var r = try ns.put(d, setName: "s", bins: [intBin("a", 2)], options: WriteOptions(ttl: .keepExisting))
        #expect(skipped(ns) == 1)
        #expect(r.generation == 2)
        let first = try #require(try ns.get(d))
        #expect(first.setName == "s")
        #expect(first.voidTime == r.voidTime && r.voidTime != 0)
        #expect(try bins(ns, d) == ["a": intBin("a", 2)])

        // A new bin merges with the old ones: read.
        try ns.put(d, setName: "s", bins: [intBin("b", 3)])
        #expect(skipped(ns) == 1)
        #expect(try bins(ns, d) == ["a": intBin("a", 2), "b": intBin("b", 3)])
        // Both set, in either order: no read, and the names stay as they were.
        let names = try #require(ns.index.lookup(d)?.binNameIDs)
        r = try ns.put(d, setName: "s", bins: [intBin("b", 4), intBin("a", 5)])
        #expect(skipped(ns) == 2)
        #expect(ns.index.lookup(d)?.binNameIDs == names && names.count == 2)
        #expect(r.generation == 4)
        #expect(try bins(ns, d) == ["a": intBin("a", 5), "b": intBin("b", 4)])
        // In the record's order, as a merge leaves them, with a new bin after them.
        #expect(try ns.get(d)?.bins.map(\.name) == ["a", "b"])
        try ns.put(d, setName: "s", bins: [intBin("c", 1), intBin("b", 4), intBin("a", 5)])
        #expect(skipped(ns) == 3)
        #expect(try ns.get(d)?.bins.map(\.name) == ["a", "b", "c"])
        _ = try ns.operate(d, setName: "s", operations: [.deleteBin("c")])
        // The request does not name the record's set (by digest alone): it stays in the index's.
        try ns.put(d, bins: [intBin("a", 6), intBin("b", 7)])
        #expect(skipped(ns) == 4)
        #expect(try ns.get(d)?.setName == "s")
        // An increment needs the old value.
        _ = try ns.operate(d, setName: "s", operations: [.incrementInteger("a", 1), .write(intBin("b", 8))])
        #expect(skipped(ns) == 4)
        #expect(try bins(ns, d) == ["a": intBin("a", 7), "b": intBin("b", 8)])
        // A generation check is answered from the index.
        #expect(throws: EngineError.self) {
            try ns.put(d, setName: "s", bins: [intBin("a", 0), intBin("b", 0)],
                       options: WriteOptions(generation: .expectEqual(1)))
        }
        try ns.put(d, setName: "s", bins: [intBin("a", 9), intBin("b", 9)], options: WriteOptions(generation: .expectEqual(8)))
        #expect(skipped(ns) == 5)
        #expect(try ns.get(d)?.generation == 9)
    }

    @Test func aReplaceKeepsTheStoredKeyAndTheSet() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("a.dat")]))
        defer { try? ns.close() }
        let d = testDigest(4)
        let key = StoredKey(particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 4])
        try ns.put(d, setName: "s", userKey: key, bins: [intBin("a", 1), intBin("b", 1)], options: WriteOptions(storeKey: true))
        // By digest alone, no key, no set: the stored key and the set stay (Aerospike reads the
        // key back for a replace, so that it is written again).
        try ns.put(d, bins: [intBin("a", 2)], options: WriteOptions(exists: .replace))
        var got = try #require(try ns.get(d))
        #expect(got.userKey == key && got.setName == "s" && got.bins == [intBin("a", 2)])
        // Another key for the same digest is refused.
        let other = StoredKey(particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 5])
        #expect(throws: EngineError.self) {
            try ns.put(d, userKey: other, bins: [intBin("a", 3)], options: WriteOptions(exists: .replace))
        }
        // A record with no stored key takes a sent key that is not stored without a read to check it.
        let unkeyed = testDigest(5)
        try ns.put(unkeyed, setName: "s", bins: [intBin("a", 1)])
        try ns.put(unkeyed, userKey: other, bins: [intBin("b", 2)], options: WriteOptions(exists: .replaceOnly))
        got = try #require(try ns.get(unkeyed))
        #expect(got.userKey == nil && got.setName == "s" && got.bins == [intBin("b", 2)])
    }

    @Test func aStoredKeyOrMoreThanFourBinsMakeTheUpdateRead() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("a.dat")]))
        defer { try? ns.close() }
        // The stored key stays with the record when an update does not send it.
        let keyed = testDigest(2)
        let key = StoredKey(particleType: .string, bytes: Array("k2".utf8))
        try ns.put(keyed, userKey: key, bins: [intBin("a", 1)], options: WriteOptions(storeKey: true))
        try ns.put(keyed, bins: [intBin("a", 2)])
        #expect(skipped(ns) == 0)
        #expect(try ns.get(keyed)?.userKey == key)

        // Five bins: the index does not keep their names.
        let wide = testDigest(3)
        let five = (0..<5).map { intBin("w\($0)", Int64($0)) }
        try ns.put(wide, bins: five)
        #expect(ns.index.lookup(wide)?.binNameIDs == .unknown)
        try ns.put(wide, bins: five.map { intBin($0.name, 10) })
        #expect(skipped(ns) == 0)
        #expect(try bins(ns, wide).count == 5)
        // Down to four: known again.
        _ = try ns.operate(wide, operations: [.deleteBin("w4")])
        #expect(ns.index.lookup(wide)?.binNameIDs.count == 4)
        try ns.put(wide, bins: (0..<4).map { intBin("w\($0)", 20) })
        #expect(skipped(ns) == 1)
        #expect(try bins(ns, wide) == Dictionary(uniqueKeysWithValues: (0..<4).map { ("w\($0)", intBin("w\($0)", 20)) }))
    }

    /// The names of `digest`'s record as its index entry has them, in lane order.
    private func entryNames(_ ns: Namespace, _ digest: Digest) throws -> [String]? {
        let ids = try #require(ns.index.lookup(digest)).binNameIDs
        guard ids.isKnown else { return nil }
        return (0..<ids.count).map { ns.binNames.name(for: ids.id(inLane: $0)) ?? "?" }
    }

    @Test func theBinNamesSurviveAWarmRestartAndACrash() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let options = warmOptions([dir.file("a.dat")], shm: shm)
        let count = 200
        let keyed = testDigest(10_000), wide = testDigest(10_001), deleted = testDigest(10_002)
        do {
            let ns = try Namespace.open(options)
            // Names in an order that gives each record other ids than its neighbour's.
            for i in 0..<count { try ns.put(testDigest(i), bins: [intBin("x\(i % 7)", 1), intBin("y", 1)]) }
            try ns.close()
        }
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .warm, "\(ns.startReport.reason)")
            #expect(ns.binNames.all.count == 8)
            for i in 0..<count { try ns.put(testDigest(i), bins: [intBin("y", 2), intBin("x\(i % 7)", 2)]) }
            #expect(skipped(ns) == UInt64(count))
            // A name the record lacks is merged, whatever ids the other records have.
            for i in 0..<count { try ns.put(testDigest(i), bins: [intBin("y", 3), intBin("x\((i + 1) % 7)", 3)]) }
            #expect(skipped(ns) == UInt64(count))
            for i in 0..<count { #expect(try bins(ns, testDigest(i)).count == 3) }
            try ns.put(keyed, userKey: StoredKey(particleType: .string, bytes: Array("k".utf8)), bins: [intBin("y", 1)], options: WriteOptions(storeKey: true))
            try ns.put(wide, bins: (0..<5).map { intBin("w\($0)", 1) })
            try ns.put(deleted, bins: [intBin("y", 1)])
            try ns.delete(deleted, options: WriteOptions(durableDelete: true))
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        defer { try? ns.close() }
        #expect(ns.startReport.mode == .cold)
        // The scan finds each record's older copies too; each entry has its winner's names, in
        // the record's bin order.
        for i in 0..<count {
            let d = testDigest(i)
            let names = try #require(try entryNames(ns, d), "record \(i)'s names are unknown after the cold start")
            #expect(names == (try ns.get(d)?.bins.map(\.name)) && names.count == 3)
        }
        #expect(try entryNames(ns, keyed) == nil, "a record with a stored key is read on update: no names")
        #expect(try entryNames(ns, wide) == nil, "five bins do not fit the lanes")
        #expect(ns.index.lookup(deleted)?.binNameIDs == .unknown)
        #expect(Set(ns.binNames.all.map(\.name)) == Set((0..<7).map { "x\($0)" } + ["y"]))
        let d = testDigest(0)
        let three = try bins(ns, d).keys.sorted()
        try ns.put(d, bins: three.map { intBin($0, 4) })
        #expect(skipped(ns) == 1, "the first update after a cold start skips its read")
        #expect(try bins(ns, d) == Dictionary(uniqueKeysWithValues: three.map { ($0, intBin($0, 4)) }))
        try ns.put(keyed, bins: [intBin("y", 2)])
        #expect(skipped(ns) == 1)
        try ns.index.verifyInvariants()
    }

    /// More names than a cold-start parser's memo has slots (names sharing a slot replace each
    /// other), the longest name and the empty one: each entry still gets its own record's names.
    @Test func aColdStartLearnsManyNames() throws {
        let dir = try TemporaryDirectory()
        let options = namespaceOptions([dir.file("a.dat")])
        let count = 1500
        func names(_ i: Int) -> [String] { i == 0 ? ["", "fifteen-bytes-1"] : ["n\(i)", "m\(i % 3)", "fifteen-bytes-\(i % 10)"] }
        do {
            let ns = try Namespace.open(options)
            for i in 0..<count { try ns.put(testDigest(i), bins: names(i).map { intBin($0, Int64(i)) }) }
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        defer { try? ns.close() }
        #expect(ns.startReport.mode == .cold)
        #expect(ns.binNames.all.count == (count - 1) + 3 + 10 + 1)
        for i in 0..<count { #expect(try entryNames(ns, testDigest(i)) == names(i), "record \(i)") }
        for i in 0..<count { try ns.put(testDigest(i), bins: names(i).reversed().map { intBin($0, Int64(-i)) }) }
        #expect(skipped(ns) == UInt64(count))
        for i in 0..<count { #expect(try ns.get(testDigest(i))?.bins == names(i).map { intBin($0, Int64(-i)) }) }
        try ns.index.verifyInvariants()
    }

    @Test func binNameIDsKeepTheirShape() {
        var ids = BinNameIDs.unknown
        #expect(!ids.isKnown && ids.count == 0)
        let inserted = [0, 7, 65535, 7, 1, 2, 3].map { ids.insert(UInt16($0)) }
        #expect(inserted == [false, true, true, false, true, true, false], "no zero, no id twice, four lanes")
        #expect(ids.count == 4)
        #expect((0..<4).map { ids.id(inLane: $0) } == [7, 65535, 1, 2])
        let record = IndexRecord(digest: testDigest(9), generation: 1, lastUpdateTimeMs: 1,
                                 location: RecordLocation(deviceIndex: 0, offsetUnits: 0, sizeUnits: 1), binNameIDs: ids)
        #expect(throws: Never.self) { try record.validateForIndex() }
    }

    @Test func aNameTableHandsOutIdsUntilFull() {
        let table = NameRegistry(capacity: 2)
        #expect(table.id(for: "a") == 1)
        #expect(table.id(for: "b") == 2)
        #expect(table.id(for: "a") == 1)
        #expect(table.id(for: "c") == nil)
        #expect(table.existingID(for: "c") == nil)
        #expect(NameRegistry(capacity: 2).serial != table.serial)
        var cache = NameIDCache()
        for i in 0..<(NameIDCache.capacity + 3) { cache.remember(table: table.serial, name: "n\(i)", id: UInt16(i + 1)) }
        #expect(cache.id(table: table.serial, name: "n0") == nil, "the oldest went")
        #expect(cache.id(table: table.serial, name: "n10") == 11)
        #expect(cache.id(table: table.serial &+ 1, name: "n10") == nil)
    }
}
