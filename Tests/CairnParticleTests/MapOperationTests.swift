import Testing
@testable import CairnParticle

/// A map bin under test.
struct MapBin {
    var value: Value?

    init(_ pairs: [(String, Int64)], flags: UInt8 = 0) {
        value = .map(pairs.map { MapEntry(.string($0.0), .int($0.1)) }, flags: flags)
    }

    init(missing: Void) { value = nil }

    @discardableResult
    mutating func run(_ command: MapCommand, _ args: Value..., context: [CDTContextItem] = []) throws -> Value? {
        var payload: [UInt8] = Value.list([.int(Int64(command.rawValue))] + args).encoded
        if !context.isEmpty {
            let ctx = context.flatMap { [Value.int(Int64($0.type)), $0.value] }
            payload = Value.list([.int(0xff), .list(ctx), .list([.int(Int64(command.rawValue))] + args)]).encoded
        }
        let bin: CDTBin = value.map { .collection($0) } ?? .missing
        let outcome = try CDTExecutor.execute(payload: payload, bin: bin, isWrite: command.isWrite)
        if let v = outcome.newValue { value = v }
        return outcome.result
    }

    var pairs: [String: Value] {
        guard case .map(let entries, _)? = value else { return [:] }
        var d: [String: Value] = [:]
        for e in entries { if case .string(let k) = e.key { d[String(decoding: k, as: UTF8.self)] = e.value } }
        return d
    }
}

func s(_ x: String) -> Value { .string(x) }
func kv(_ pairs: (String, Int64)...) -> Value { .map(pairs.map { MapEntry(.string($0.0), .int($0.1)) }, flags: 0) }

@Suite struct MapWriteTests {
    @Test func putCreatesAndReturnsSize() throws {
        var m = MapBin(missing: ())
        #expect(try m.run(.put, s("b"), .int(2), .int(0)) == .int(1))
        #expect(try m.run(.putItems, kv(("a", 1), ("c", 3))) == .int(3))
        #expect(try m.run(.put, s("a"), .int(9)) == .int(3))
        #expect(m.pairs == ["a": .int(9), "b": .int(2), "c": .int(3)])
    }

    @Test func keyOrderedMapsStayOrderedAndEncodeTheirFlag() throws {
        var m = MapBin(missing: ())
        try m.run(.put, s("b"), .int(2), .int(1))
        try m.run(.put, s("a"), .int(1))
        #expect(m.value == .map([MapEntry(s("a"), .int(1)), MapEntry(s("b"), .int(2))], flags: 1))
        #expect(m.value?.encoded.prefix(5) == [0x83, 0xc7, 0x00, 0x01, 0xc0])
        try m.run(.setType, .int(3))
        guard case .map(_, let flags)? = m.value else { Issue.record("no map"); return }
        #expect(flags == 3)
    }

    @Test func writeFlags() throws {
        var m = MapBin([("a", 1)])
        #expect(code { try m.run(.put, s("a"), .int(2), .int(0), .int(1)) } == 24)  // CREATE_ONLY
        #expect(code { try m.run(.put, s("z"), .int(2), .int(0), .int(2)) } == 23)  // UPDATE_ONLY
        #expect(try m.run(.put, s("a"), .int(2), .int(0), .int(1 | 4)) == .int(1))  // NO_FAIL
        #expect(m.pairs == ["a": .int(1)])
        // items: without PARTIAL a failing entry stops all; with it, the others go in
        #expect(try m.run(.putItems, kv(("a", 5), ("b", 6)), .int(0), .int(1 | 4)) == .int(1))
        #expect(try m.run(.putItems, kv(("a", 5), ("b", 6)), .int(0), .int(1 | 4 | 8)) == .int(2))
        #expect(m.pairs == ["a": .int(1), "b": .int(6)])
        #expect(code { try m.run(.add, s("a"), .int(3)) } == 24)
        #expect(code { try m.run(.replace, s("q"), .int(3)) } == 23)
        #expect(try m.run(.replace, s("a"), .int(3)) == .int(2))
        var missing = MapBin(missing: ())
        #expect(code { try missing.run(.replace, s("q"), .int(3)) } == 23)
    }

    @Test func invalidKeyTypesAre4() {
        var m = MapBin([("a", 1)])
        for key: Value in [.double(1.5), .list([.int(1)]), .map([], flags: 0), .null, .bool(true)] {
            #expect(code { try m.run(.put, key, .int(1)) } == 4, "\(key)")
        }
        #expect(code { try m.run(.increment, .double(2), .int(1)) } == 4)
    }

    @Test func incrementAndDecrement() throws {
        var m = MapBin([("a", 1)])
        #expect(try m.run(.increment, s("a"), .int(5), .int(0)) == .int(6))
        #expect(try m.run(.decrement, s("a"), .int(2), .int(0)) == .int(4))
        #expect(try m.run(.increment, s("n"), .null, .int(0)) == .int(1))
        #expect(try m.run(.decrement, s("d"), .double(0.5), .int(0)) == .double(-0.5))
        try m.run(.put, s("s"), s("x"))
        #expect(code { try m.run(.increment, s("s"), .int(1)) } == 4)
    }

    @Test func clearAndSize() throws {
        var m = MapBin([("a", 1), ("b", 2)])
        #expect(try m.run(.size) == .int(2))
        try m.run(.clear)
        #expect(try m.run(.size) == .int(0))
        var missing = MapBin(missing: ())
        #expect(try missing.run(.size) == nil)
    }
}

@Suite struct MapReadTests {
    // keys in key order: a b c d e; values 5 3 4 3 9
    func sample() -> MapBin { MapBin([("c", 4), ("a", 5), ("e", 9), ("b", 3), ("d", 3)]) }

    @Test func byKeyEveryReturnType() throws {
        var m = sample()
        #expect(try m.run(.getByKey, .int(7), s("c")) == .int(4))
        #expect(try m.run(.getByKey, .int(6), s("c")) == s("c"))
        #expect(try m.run(.getByKey, .int(1), s("c")) == .int(2))
        #expect(try m.run(.getByKey, .int(2), s("c")) == .int(2))
        #expect(try m.run(.getByKey, .int(3), s("c")) == .int(2))  // values 3 3 4 5 9
        #expect(try m.run(.getByKey, .int(4), s("e")) == .int(0))
        #expect(try m.run(.getByKey, .int(5), s("c")) == .int(1))
        #expect(try m.run(.getByKey, .int(8), s("c")) == .map([MapEntry(s("c"), .int(4))], flags: 0x08))
        #expect(try m.run(.getByKey, .int(16), s("c")) == kv(("c", 4)))  // UNORDERED_MAP
        #expect(try m.run(.getByKey, .int(13), s("c")) == .bool(true))
        #expect(try m.run(.getByKey, .int(13), s("zz")) == .bool(false))
        #expect(try m.run(.getByKey, .int(7), s("zz")) == nil)
        #expect(try m.run(.getByKey, .int(5), s("zz")) == .int(0))
        #expect(try m.run(.getByKey, .int(17), s("c")) == .map([MapEntry(s("c"), .int(4))], flags: 1))  // ORDERED_MAP
        #expect(try m.run(.getByKey, .int(7 | inverted), s("c")) == .list([.int(5), .int(3), .int(3), .int(9)]))
    }

    @Test func indexAndRankAreKeyAndValueOrder() throws {
        var m = sample()
        #expect(try m.run(.getByIndex, .int(6), .int(0)) == s("a"))
        #expect(try m.run(.getByIndex, .int(6), .int(-1)) == s("e"))
        #expect(try m.run(.getByRank, .int(6), .int(0)) == s("b"))  // 3 at b and d: key order
        #expect(try m.run(.getByRank, .int(6), .int(-1)) == s("e"))
        #expect(code { try m.run(.getByIndex, .int(6), .int(5)) } == 26)
        #expect(try m.run(.getByIndexRange, .int(6), .int(1), .int(2)) == .list([s("b"), s("c")]))
        #expect(try m.run(.getByRankRange, .int(6), .int(0), .int(2)) == .list([s("b"), s("d")]))
        #expect(try m.run(.getByRankRange, .int(7), .int(-2)) == .list([.int(5), .int(9)]))
    }

    @Test func byKeyListAndRanges() throws {
        var m = sample()
        #expect(try m.run(.getByKeyList, .int(7), .list([s("a"), s("e"), s("q")])) == .list([.int(5), .int(9)]))
        #expect(try m.run(.getByKeyInterval, .int(6), s("b"), s("d")) == .list([s("b"), s("c")]))
        #expect(try m.run(.getByKeyInterval, .int(6), s("d")) == .list([s("d"), s("e")]))
        #expect(try m.run(.getByValueInterval, .int(6), .int(3), .int(5)) == .list([s("b"), s("c"), s("d")]))
        #expect(try m.run(.getByValue, .int(6), .int(3)) == .list([s("b"), s("d")]))
        #expect(try m.run(.getByValueList, .int(5), .list([.int(3), .int(9)])) == .int(3))
        #expect(try m.run(.getByKeyRelIndexRange, .int(6), s("bb"), .int(0), .int(2)) == .list([s("c"), s("d")]))
        #expect(try m.run(.getByKeyRelIndexRange, .int(6), s("bb"), .int(-1)) == .list([s("b"), s("c"), s("d"), s("e")]))
        #expect(try m.run(.getByValueRelRankRange, .int(6), .int(4), .int(1)) == .list([s("a"), s("e")]))
    }

    @Test func emptyKeyListInvertedReturnsEverything() throws {
        // Crashes Aerospike CE 8.1.2 (empty list, INVERTED, element-returning type).
        for rt: Int64 in [6, 7, 8, 16, 17] {
            var m = sample()
            let all = try m.run(.getByKeyList, .int(rt | inverted), .list([]))
            switch all {
            case .list(let items, _)?: #expect(items.count == 5)
            case .map(let entries, _)?: #expect(entries.count == 5)
            default: Issue.record("no result for \(rt)")
            }
            #expect(try m.run(.getByValueList, .int(rt | inverted), .list([])) != nil)
            var r = sample()
            _ = try r.run(.removeByKeyList, .int(rt | inverted), .list([]))
            #expect(r.pairs.isEmpty)
            var v = sample()
            _ = try v.run(.removeByValueList, .int(rt | inverted), .list([]))
            #expect(v.pairs.isEmpty)
        }
    }

    @Test func removes() throws {
        var m = sample()
        #expect(try m.run(.removeByKey, .int(7), s("a")) == .int(5))
        #expect(try m.run(.removeByValue, .int(5), .int(3)) == .int(2))
        #expect(m.pairs == ["c": .int(4), "e": .int(9)])
        #expect(try m.run(.removeByRankRange, .int(16 | inverted), .int(0), .int(1)) == kv(("e", 9)))
        #expect(m.pairs == ["c": .int(4)])
    }

    @Test func wrongTypes() {
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(96)]).encoded, bin: .otherType, isWrite: false) } == 12)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(67), .string("a"), .int(1)]).encoded, bin: .collection(ints(1)), isWrite: true) } == 12)
        var m = MapBin([("a", 1)])
        #expect(code { try m.run(.getByKey, .int(3 | 0x100), s("a")) } == 4)
    }

    @Test func nestedMapContexts() throws {
        var m = MapBin(missing: ())
        let create = CDTContextItem(type: CDTContextItem.mapKey | 0x40, value: s("inner"))
        #expect(try m.run(.put, s("x"), .int(1), context: [create]) == .int(1))
        #expect(m.value == .map([MapEntry(s("inner"), kv(("x", 1)))], flags: 0))
        let key = CDTContextItem(type: CDTContextItem.mapKey, value: s("inner"))
        #expect(try m.run(.increment, s("x"), .int(4), context: [key]) == .int(5))
        #expect(try m.run(.getByKey, .int(7), s("x"), context: [key]) == .int(5))
        let missingKey = CDTContextItem(type: CDTContextItem.mapKey, value: s("nope"))
        #expect(code { try m.run(.size, context: [missingKey]) } == 26)
        let byIndex = CDTContextItem(type: CDTContextItem.mapIndex, value: .int(0))
        #expect(try m.run(.size, context: [byIndex]) == .int(1))
    }
}

@Suite struct MapResultMapTests {
    @Test func unorderedMapIs16AndOrderedMapIs17() throws {
        // Aerospike's RESULT_TYPE_UNORDERED_MAP = 16, RESULT_TYPE_ORDERED_MAP = 17 (proto.h);
        // the C client's map_put_items and map_ordered_result check the flags they carry.
        var m = MapBin([("c", 3), ("a", 1), ("b", 2)])
        let unordered = try m.run(.getByKeyInterval, .int(16), s("a"), s("c"))
        #expect(unordered == .map([MapEntry(s("a"), .int(1)), MapEntry(s("b"), .int(2))], flags: 0))
        let ordered = try m.run(.getByKeyInterval, .int(17), s("a"), s("c"))
        #expect(ordered == .map([MapEntry(s("a"), .int(1)), MapEntry(s("b"), .int(2))], flags: MapFlags.keyOrdered))
    }
}

@Suite struct MapPutCheckTests {
    private let updateOnly: Int64 = 2, noFail: Int64 = 4, partial: Int64 = 8

    @Test func keysAndValuesAreCheckedBeforeExistence() throws {
        var m = MapBin([("a", 1)])
        // A range operand, a key twice among the items, a non-generic blob key: 4 (map_add /
        // map_add_items rewrite their operands as a put does), even where UPDATE_ONLY would
        // answer 23.
        #expect(code { try m.run(.put, s("b"), .wildcard) } == 4)
        #expect(code { try m.run(.put, s("b"), .list([.int(1), .infinity])) } == 4)
        #expect(code { try m.run(.putItems, .map([MapEntry(s("x"), .int(1)), MapEntry(s("x"), .int(2))], flags: 0)) } == 4)
        #expect(code { try m.run(.put, .blob(7, [1]), .int(1)) } == 4)
        #expect(code { try m.run(.put, .blob(4, [1]), .int(1), .int(0), .int(updateOnly)) } == 23)
        var missing = MapBin(missing: ())
        #expect(code { try missing.run(.put, .null, .int(1), .int(0), .int(updateOnly)) } == 4)
        // An ordered list inside a value must be in order; an unordered map value is sorted.
        #expect(code { try m.run(.put, s("b"), .list([.int(2), .int(1)], flags: 1)) } == 4)
        try m.run(.put, s("c"), .map([MapEntry(.int(2), .int(0)), MapEntry(.int(1), .int(0))], flags: 0))
        #expect(m.pairs["c"] == .map([MapEntry(.int(1), .int(0)), MapEntry(.int(2), .int(0))], flags: 0))
    }

    @Test func updateOnlyNoFailPartialItemsOnAnEmptyMapAddThemAll() throws {
        // Aerospike's empty-map branch of map_add_items_ordered (followed as it answers).
        let items = kv(("a", 1), ("b", 2))
        var empty = MapBin([])
        #expect(try empty.run(.putItems, items, .int(0), .int(updateOnly | noFail | partial)) == .int(2))
        #expect(empty.pairs == ["a": .int(1), "b": .int(2)])
        var missing = MapBin(missing: ())
        #expect(try missing.run(.putItems, items, .int(0), .int(updateOnly | noFail | partial)) == .int(2))
        // Without PARTIAL: nothing; without NO_FAIL: 23; a non-empty map skips the missing keys.
        var e2 = MapBin([])
        #expect(try e2.run(.putItems, items, .int(0), .int(updateOnly | noFail)) == .int(0))
        #expect(e2.pairs.isEmpty)
        #expect(code { try e2.run(.putItems, items, .int(0), .int(updateOnly)) } == 23)
        var one = MapBin([("a", 0)])
        #expect(try one.run(.putItems, items, .int(0), .int(updateOnly | noFail | partial)) == .int(1))
        #expect(one.pairs == ["a": .int(1)])
        // A single put has no such branch.
        var e3 = MapBin([])
        #expect(try e3.run(.put, s("a"), .int(1), .int(0), .int(updateOnly | noFail | partial)) == .int(0))
    }
}

@Suite struct UnorderedMapKeyPlacementTests {
    private func keys(_ m: MapBin) -> [String] {
        guard case .map(let entries, _)? = m.value else { return [] }
        return entries.map { if case .string(let k) = $0.key { String(decoding: k, as: UTF8.self) } else { "?" } }
    }

    @Test func newKeysGoWhereAerospikePutsThem() throws {
        // A sorted unordered map keeps key order on put and increment (Aerospike 8.1's
        // packed_map_find_key_maybe_unordered inserts before the first greater key).
        var m = MapBin([("b", 1), ("d", 2)])
        try m.run(.put, s("c"), .int(3))
        try m.run(.increment, s("a"), .int(1))
        try m.run(.put, s("e"), .int(5))
        #expect(keys(m) == ["a", "b", "c", "d", "e"])
        // Out of order after "d": a smaller key goes before the first greater key seen while in
        // order, a key past the descent at the end.
        var u = MapBin([("b", 1), ("d", 2), ("a", 3)])
        try u.run(.put, s("c"), .int(0))
        #expect(keys(u) == ["b", "c", "d", "a"])
        try u.run(.put, s("z"), .int(0))
        #expect(keys(u) == ["b", "c", "d", "a", "z"])
        // put_items rewrites the map in key order first.
        try u.run(.putItems, kv(("e", 1)))
        #expect(keys(u) == ["a", "b", "c", "d", "e", "z"])
        // A key created by a map_key_create context goes to the same place.
        var c = MapBin([("b", 1), ("d", 2)])
        try c.run(.put, s("x"), .int(1), context: [CDTContextItem(type: CDTContextItem.mapKey | 0x40, value: s("c"))])
        #expect(keys(c) == ["b", "c", "d"])
        // A key-ordered map is unaffected (always in order).
        var k = MapBin([("b", 1)], flags: 1)
        try k.run(.put, s("a"), .int(0))
        #expect(keys(k) == ["a", "b"])
    }
}
