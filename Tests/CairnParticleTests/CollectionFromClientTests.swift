import Testing
@testable import CairnParticle

/// A list or map bin written whole by a client (Aerospike's list_from_wire / map_from_wire):
/// the C client's map_self_correct and persist-index cases.
@Suite struct CollectionFromClientTests {
    private func rewrite(_ bytes: [UInt8], map: Bool) -> [UInt8]? {
        try? CollectionFromClient.rewrite(bytes, isMap: map)
    }

    /// A map of `pairs` (keys and values are small ints) with a flags ext of `flags` and
    /// `extData` bytes of index.
    private func map(_ pairs: [(UInt8, UInt8)], flags: UInt8?, extData: [UInt8] = []) -> [UInt8] {
        var b: [UInt8] = [0x80 | UInt8(pairs.count + (flags == nil ? 0 : 1))]
        if let flags { b += [0xc7, UInt8(extData.count), flags] + extData + [0xc0] }
        for (k, v) in pairs { b += [k, v] }
        return b
    }

    @Test func orderedCollectionsOutOfOrderAreRefused() {
        let desc: [(UInt8, UInt8)] = [(5, 0), (4, 1), (3, 2)]
        #expect(rewrite(map(desc, flags: 0x01), map: true) == nil)
        #expect(rewrite(map(desc, flags: 0x11), map: true) == nil)
        #expect(rewrite([0x94, 0xc7, 0x00, 0x11, 3, 2, 1], map: false) == nil)
        #expect(rewrite([0x94, 0xc7, 0x00, 0x01, 1, 1, 2], map: false) == [0x94, 0xc7, 0x00, 0x01, 1, 1, 2])
        // An unordered map is stored sorted by key; an unordered list as sent.
        #expect(rewrite(map(desc, flags: nil), map: true) == map([(3, 2), (4, 1), (5, 0)], flags: nil))
        #expect(rewrite([0x93, 3, 1, 2], map: false) == [0x93, 3, 1, 2])
    }

    @Test func duplicateKeysBadKeysAndRangeOperandsAreRefused() {
        #expect(rewrite(map([(1, 0), (1, 1)], flags: nil), map: true) == nil)
        #expect(rewrite(map([(2, 0), (1, 1), (2, 2)], flags: nil), map: true) == nil)
        #expect(rewrite([0x81, 0xc0, 1], map: true) == nil)  // nil key
        #expect(rewrite([0x81, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 1], map: true) == nil)  // double key
        #expect(rewrite([0x81, 0xa2, 0x07, 0x41, 1], map: true) == nil)  // Java blob key
        #expect(rewrite([0x81, 0xa2, 0x04, 0x41, 1], map: true) != nil)  // generic blob key
        #expect(rewrite([0x91, 0xd4, 0xff, 0x01], map: false) != nil)  // first element: flags ext
        #expect(rewrite([0x92, 1, 0xd4, 0xff, 0x01], map: false) == nil)  // infinity
        #expect(rewrite([0x92, 1, 0xd4, 0xff, 0x00], map: false) == nil)  // wildcard
        #expect(rewrite([0x92, 1, 0xd6, 0xff, 0, 0, 0, 0], map: false) != nil)  // 4-byte ext is storable
        // After the flags, an ext value would come first and read back as flags (fuzz-cdt).
        #expect(rewrite([0x92, 0xd6, 0xd6, 0xff, 0xff, 0xff, 0xff, 0xd6, 0xd6, 0x92, 0x01, 0x02, 0x01], map: false) == nil)
    }

    @Test func compactsAndDropsIndexesAndPersistFlags() {
        // 0 overpacked as a uint64 value: 15 bytes once compact (map_self_correct).
        var b = map([], flags: 0x01)
        b[0] = 0x86
        b += [0x00, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0]
        for i: UInt8 in 1...4 { b += [i, i] }
        #expect(rewrite(b, map: true)?.count == 15)
        #expect(rewrite(b, map: true)?.prefix(5) == [0x86, 0xc7, 0x00, 0x01, 0xc0])
        // Index bytes inside the flags ext, and the persisted-index flag, are not kept.
        let indexed = map([(0, 0), (1, 1)], flags: 0x11, extData: Array(55..<65))
        #expect(rewrite(indexed, map: true) == map([(0, 0), (1, 1)], flags: 0x01))
        #expect(rewrite(map([(0, 0)], flags: 0x10), map: true) == [0x81, 0, 0])
        #expect(rewrite([0x92, 0xc7, 0x00, 0x10, 7], map: false) == [0x91, 7])
        #expect(rewrite([0xdc, 0x00, 0x01, 0xd9, 0x02, 0x03, 0x61], map: false) == [0x91, 0xa2, 0x03, 0x61])
    }

    @Test func malformedValuesAreRefused() {
        #expect(rewrite(map([(0, 0)], flags: 0x01) + [0], map: true) == nil)  // padding
        #expect(rewrite([0x92, 1], map: false) == nil)  // truncated
        #expect(rewrite([0x91, 1], map: true) == nil)  // a list as a map
        #expect(rewrite([0x80], map: false) == nil)  // a map as a list
        #expect(rewrite([], map: false) == nil)
    }

    @Test func persistedIndexFlagIsNotStoredByOperations() throws {
        var l = ListBin(missing: ())
        try l.run(.setType, .int(0x11))
        #expect(l.value?.encoded == [0x91, 0xc7, 0x00, 0x01])
        var m = MapBin(missing: ())
        try m.run(.setType, .int(0x11))
        #expect(m.value?.encoded == [0x81, 0xc7, 0x00, 0x01, 0xc0])
        // A created top-level collection may ask for a persisted index (context type | 0x100);
        // below the top it is refused.
        var n = ListBin(missing: ())
        try n.run(.append, .int(1), context: [CDTContextItem(type: 0x10 | 0x40, value: .int(0))])
        let top = Value.list([.int(0xff), .list([.int(0x150), .int(0)]), .list([.int(1), .int(2)])]).encoded
        #expect(try CDTExecutor.execute(payload: top, bin: .missing, isWrite: true).newValue == .list([.list([.int(2)])]))
        let sub = Value.list([.int(0xff), .list([.int(0x50), .int(0), .int(0x150), .int(0)]), .list([.int(1), .int(2)])]).encoded
        #expect(code { _ = try CDTExecutor.execute(payload: sub, bin: .missing, isWrite: true) } == 4)
    }
}
