import Testing
@testable import CairnParticle

/// A list bin under test: runs operations the way the engine does (decoded op, then executor).
struct ListBin {
    var value: Value?

    init(_ items: [Int64]) { value = .list(items.map { .int($0) }) }
    init(values: [Value], flags: UInt8 = 0) { value = .list(values, flags: flags) }
    init(missing: Void) { value = nil }

    var ints: [Int64] {
        guard case .list(let items, _)? = value else { return [] }
        return items.map { if case .int(let i) = $0 { i } else { Int64.min } }
    }

    /// Runs `command`; the payload goes through the wire encoding and decoding.
    @discardableResult
    mutating func run(_ command: ListCommand, _ args: Value..., context: [CDTContextItem] = []) throws -> Value? {
        let payload: [UInt8]
        if context.isEmpty {
            payload = Value.list([.int(Int64(command.rawValue))] + args).encoded
        } else {
            let ctx = context.flatMap { [Value.int(Int64($0.type)), $0.value] }
            payload = Value.list([.int(0xff), .list(ctx), .list([.int(Int64(command.rawValue))] + args)]).encoded
        }
        let bin: CDTBin = value.map { .collection($0) } ?? .missing
        let outcome = try CDTExecutor.execute(payload: payload, bin: bin, isWrite: command.isWrite)
        if let v = outcome.newValue { value = v }
        return outcome.result
    }
}

func ints(_ xs: Int64...) -> Value { .list(xs.map { .int($0) }) }

func code(_ body: () throws -> Void) -> UInt8? {
    do {
        try body()
        return nil
    } catch let e as CDTError {
        return e.code
    } catch {
        return 255
    }
}

let inverted = ReturnType.inverted

@Suite struct ListWriteTests {
    @Test func appendCreatesAndReturnsSize() throws {
        var b = ListBin(missing: ())
        #expect(try b.run(.append, .int(5)) == .int(1))
        #expect(try b.run(.append, .string("x")) == .int(2))
        #expect(b.value == .list([.int(5), .string("x")]))
        #expect(try b.run(.appendItems, ints(1, 2)) == .int(4))
    }

    @Test func appendOnAnOrderedListInsertsInOrder() throws {
        var b = ListBin(missing: ())
        #expect(try b.run(.append, .int(5), .int(1), .int(0)) == .int(1))
        try b.run(.append, .int(1))
        try b.run(.appendItems, ints(9, 3))
        #expect(b.value == .list([.int(1), .int(3), .int(5), .int(9)], flags: 1))
        #expect(b.value?.encoded.prefix(4) == [0x95, 0xc7, 0x00, 0x01])
    }

    @Test func addUniqueFlags() throws {
        var b = ListBin([1, 2])
        #expect(code { try b.run(.append, .int(2), .int(0), .int(1)) } == 24)
        #expect(try b.run(.append, .int(2), .int(0), .int(1 | 4)) == .int(2))  // NO_FAIL: no-op
        // append_items: without PARTIAL the whole op is a no-op; with it, the new ones go in
        #expect(try b.run(.appendItems, ints(2, 3), .int(0), .int(1 | 4)) == .int(2))
        #expect(b.ints == [1, 2])
        #expect(try b.run(.appendItems, ints(2, 3, 3), .int(0), .int(1 | 4 | 8)) == .int(3))
        #expect(b.ints == [1, 2, 3])
        // a value repeated among the new items: 26 without NO_FAIL
        #expect(code { try b.run(.appendItems, ints(4, 4), .int(0), .int(1)) } == 26)
        #expect(try b.run(.appendItems, ints(4, 4), .int(0), .int(1 | 4)) == .int(3))
        // PARTIAL alone skips values already present; all skipped is 24
        #expect(try b.run(.appendItems, ints(1, 7), .int(0), .int(1 | 8)) == .int(4))
        #expect(code { try b.run(.appendItems, ints(1, 7), .int(0), .int(1 | 8)) } == 24)
    }

    @Test func insertPadsAndHonoursBounds() throws {
        var b = ListBin([1, 2])
        #expect(try b.run(.insert, .int(-1), .int(9)) == .int(3))
        #expect(b.ints == [1, 9, 2])
        #expect(try b.run(.insert, .int(5), .int(7)) == .int(6))
        #expect(b.value == .list([.int(1), .int(9), .int(2), .null, .null, .int(7)]))
        var c = ListBin([1, 2])
        #expect(code { try c.run(.insert, .int(3), .int(7), .int(2)) } == 26)  // INSERT_BOUNDED
        #expect(try c.run(.insert, .int(3), .int(7), .int(2 | 4)) == .int(2))  // + NO_FAIL
        #expect(try c.run(.insert, .int(2), .int(7), .int(2)) == .int(3))  // at the end is in bounds
        #expect(code { try c.run(.insert, .int(-4), .int(7)) } == 26)  // before the start
        #expect(try c.run(.insertItems, .int(0), ints(5, 6)) == .int(5))
        #expect(c.ints == [5, 6, 1, 2, 7])
    }

    @Test func insertAndSetOnOrderedListsAreRefused() throws {
        var b = ListBin(values: [.int(1)], flags: 1)
        #expect(code { try b.run(.insert, .int(0), .int(3)) } == 4)
        #expect(code { try b.run(.set, .int(0), .int(3)) } == 4)
    }

    @Test func setPadsAndIncrement() throws {
        var b = ListBin([1, 2])
        #expect(try b.run(.set, .int(-1), .int(5)) == nil)
        #expect(b.ints == [1, 5])
        try b.run(.set, .int(3), .int(8))
        #expect(b.value == .list([.int(1), .int(5), .null, .int(8)]))
        #expect(code { try b.run(.set, .int(-5), .int(8)) } == 26)
        #expect(code { try b.run(.set, .int(9), .int(8), .int(2)) } == 26)
        #expect(try b.run(.increment, .int(0)) == .int(2))
        #expect(try b.run(.increment, .int(1), .int(-10)) == .int(-5))
        #expect(code { try b.run(.increment, .int(2), .int(1)) } == 4)  // nil element
        var d = ListBin(values: [.double(1.5)])
        #expect(try d.run(.increment, .int(0), .double(1.0)) == .double(2.5))
        #expect(try d.run(.increment, .int(2), .int(3)) == .int(3))
        #expect(d.value == .list([.double(2.5), .null, .int(3)]))
    }

    @Test func persistedIndexListAtIndex1000() throws {
        // A list created with a persisted index, then set / insert / increment at index 1000
        // (crashes Aerospike CE 8.1.2): padded like any other list. The persisted-index flag is
        // dropped, as Aerospike never returns it.
        for command: ListCommand in [.set, .insert, .increment] {
            var b = ListBin(missing: ())
            try b.run(.setType, .int(0x10))
            try b.run(command, .int(1000), .int(1))
            guard case .list(let items, let flags)? = b.value else { Issue.record("no list"); continue }
            #expect(items.count == 1001)
            #expect(flags == 0)
            #expect(items[1000] == .int(1))
        }
    }

    @Test func popRemoveTrimClear() throws {
        var b = ListBin([1, 2, 3, 4, 5])
        #expect(try b.run(.pop, .int(-1)) == .int(5))
        #expect(try b.run(.popRange, .int(0), .int(2)) == ints(1, 2))
        #expect(try b.run(.remove, .int(0)) == .int(1))
        #expect(b.ints == [4])
        #expect(code { try b.run(.remove, .int(3)) } == 26)
        var c = ListBin([1, 2, 3, 4, 5])
        #expect(try c.run(.removeRange, .int(-2)) == .int(2))
        #expect(try c.run(.trim, .int(1), .int(1)) == .int(2))
        #expect(c.ints == [2])
        try c.run(.clear)
        #expect(c.value == .list([]))
        var m = ListBin(missing: ())
        #expect(try m.run(.pop, .int(0)) == nil)
        #expect(try m.run(.clear) == nil)
        #expect(m.value == nil)
    }

    @Test func sortAndSetOrder() throws {
        var b = ListBin(values: [.int(3), .string("a"), .int(1), .int(3), .null])
        try b.run(.sort, .int(0))
        #expect(b.value == .list([.null, .int(1), .int(3), .int(3), .string("a")]))
        try b.run(.sort, .int(2))
        #expect(b.value == .list([.null, .int(1), .int(3), .string("a")]))
        var c = ListBin([3, 1, 2])
        try c.run(.setType, .int(1))
        #expect(c.value == .list([.int(1), .int(2), .int(3)], flags: 1))
        try c.run(.setType, .int(0))
        #expect(c.value == .list([.int(1), .int(2), .int(3)]))
    }

    @Test func wrongBinTypeIs12() {
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(1), .int(1)]).encoded, bin: .otherType, isWrite: true) } == 12)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(16)]).encoded, bin: .otherType, isWrite: false) } == 12)
        // a list op on a map bin
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(16)]).encoded, bin: .collection(.map([], flags: 0)), isWrite: false) } == 12)
    }

    @Test func readCommandInAModifyOpIsAParameterError() {
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(16)]).encoded, bin: .missing, isWrite: true) } == 4)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(1), .int(1)]).encoded, bin: .missing, isWrite: false) } == 4)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(63)]).encoded, bin: .missing, isWrite: false) } == 4)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(17), .string("x")]).encoded, bin: .collection(ints(1)), isWrite: false) } == 4)
        #expect(code { _ = try CDTExecutor.execute(payload: [], bin: .missing, isWrite: false) } == 4)
        #expect(code { _ = try CDTExecutor.execute(payload: [0x92, 0x01], bin: .missing, isWrite: false) } == 4)
    }

    @Test func mapCommandOnAListIsATypeError() {
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(96)]).encoded, bin: .collection(ints(1)), isWrite: false) } == 12)
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(127)]).encoded, bin: .missing, isWrite: false) } == 4)
    }

    @Test func oldTwoByteCommandForm() throws {
        let payload: [UInt8] = [0x00, 0x01] + Value.list([.int(7)]).encoded
        let out = try CDTExecutor.execute(payload: payload, bin: .missing, isWrite: true)
        #expect(out.result == .int(1))
        #expect(out.newValue == ints(7))
        let size = try CDTExecutor.execute(payload: [0x00, 0x10], bin: .collection(ints(1, 2)), isWrite: false)
        #expect(size.result == .int(2))
    }
}

@Suite struct ListReadTests {
    let list: [Int64] = [7, 3, 9, 3, 1]

    @Test func sizeGetAndRange() throws {
        var b = ListBin(list)
        #expect(try b.run(.size) == .int(5))
        #expect(try b.run(.get, .int(-2)) == .int(3))
        #expect(code { try b.run(.get, .int(5)) } == 26)
        #expect(try b.run(.getRange, .int(1), .int(2)) == ints(3, 9))
        #expect(try b.run(.getRange, .int(3)) == ints(3, 1))
        #expect(try b.run(.getRange, .int(-7), .int(3)) == ints(7))
        #expect(try b.run(.getRange, .int(9), .int(3)) == ints())
        var m = ListBin(missing: ())
        #expect(try m.run(.size) == nil)
        #expect(try m.run(.get, .int(0)) == nil)
    }

    @Test func byIndexEveryReturnType() throws {
        var b = ListBin(list)
        #expect(try b.run(.getByIndex, .int(0), .int(1)) == nil)
        #expect(try b.run(.getByIndex, .int(1), .int(1)) == .int(1))
        #expect(try b.run(.getByIndex, .int(2), .int(1)) == .int(3))
        #expect(try b.run(.getByIndex, .int(3), .int(2)) == .int(4))  // 9 is the highest
        #expect(try b.run(.getByIndex, .int(4), .int(2)) == .int(0))
        #expect(try b.run(.getByIndex, .int(5), .int(2)) == .int(1))
        #expect(try b.run(.getByIndex, .int(7), .int(-1)) == .int(1))
        #expect(try b.run(.getByIndex, .int(13), .int(0)) == .bool(true))
        #expect(code { try b.run(.getByIndex, .int(7), .int(5)) } == 26)
        #expect(code { try b.run(.getByIndex, .int(6), .int(0)) } == 4)  // KEY is for maps
        // INVERTED on a single-element operation: 26, as Aerospike answers
        #expect(code { try b.run(.getByIndex, .int(7 | inverted), .int(0)) } == 26)
        #expect(code { try b.run(.getByRank, .int(7 | inverted), .int(0)) } == 26)
    }

    @Test func byIndexRange() throws {
        var b = ListBin(list)
        #expect(try b.run(.getByIndexRange, .int(7), .int(1), .int(2)) == ints(3, 9))
        #expect(try b.run(.getByIndexRange, .int(7), .int(-2)) == ints(3, 1))
        #expect(try b.run(.getByIndexRange, .int(1), .int(-2)) == ints(3, 4))
        #expect(try b.run(.getByIndexRange, .int(2), .int(1), .int(2)) == ints(3, 2))
        #expect(try b.run(.getByIndexRange, .int(5), .int(1), .int(2)) == .int(2))
        #expect(try b.run(.getByIndexRange, .int(7 | inverted), .int(1), .int(2)) == ints(7, 3, 1))
        #expect(try b.run(.getByIndexRange, .int(1 | inverted), .int(1), .int(2)) == ints(0, 3, 4))
        #expect(try b.run(.getByIndexRange, .int(5 | inverted), .int(10)) == .int(5))
    }

    @Test func byRank() throws {
        var b = ListBin(list)
        #expect(try b.run(.getByRank, .int(7), .int(0)) == .int(1))
        #expect(try b.run(.getByRank, .int(7), .int(-1)) == .int(9))
        #expect(try b.run(.getByRank, .int(1), .int(1)) == .int(1))  // first 3 (index 1)
        #expect(try b.run(.getByRank, .int(1), .int(2)) == .int(3))  // second 3 (index 3)
        #expect(code { try b.run(.getByRank, .int(7), .int(5)) } == 26)
        // rank range: values in rank order, ranks ascending, indexes ascending
        #expect(try b.run(.getByRankRange, .int(7), .int(0), .int(3)) == ints(1, 3, 3))
        #expect(try b.run(.getByRankRange, .int(1), .int(0), .int(3)) == ints(1, 3, 4))
        #expect(code { try b.run(.getByRankRange, .int(3 | inverted), .int(0), .int(3)) } == 26)
        #expect(try b.run(.getByRankRange, .int(3), .int(-2)) == ints(3, 4))
        #expect(try b.run(.getByRankRange, .int(7 | inverted), .int(0), .int(3)) == ints(7, 9))
    }

    @Test func byValue() throws {
        var b = ListBin(list)
        #expect(try b.run(.getByValue, .int(1), .int(3)) == ints(1, 3))
        #expect(try b.run(.getByValue, .int(5), .int(3)) == .int(2))
        #expect(try b.run(.getByValue, .int(7), .int(4)) == ints())
        #expect(try b.run(.getByValue, .int(7 | inverted), .int(3)) == ints(7, 9, 1))
        #expect(try b.run(.getByValueList, .int(7), ints(9, 1, 4)) == ints(9, 1))
        #expect(try b.run(.getByValueList, .int(5 | inverted), ints(9, 1, 4)) == .int(3))
        #expect(try b.run(.getByValue, .int(13), .int(4)) == .bool(false))
    }

    @Test func byValueInterval() throws {
        var b = ListBin(list)
        #expect(try b.run(.getByValueInterval, .int(7), .int(3), .int(8)) == ints(7, 3, 3))
        #expect(try b.run(.getByValueInterval, .int(7), .int(3)) == ints(7, 3, 9, 3))
        #expect(try b.run(.getByValueInterval, .int(7), .null, .int(3)) == ints(1))
        #expect(try b.run(.getByValueInterval, .int(7 | inverted), .int(3), .int(8)) == ints(9, 1))
        #expect(try b.run(.getByValueInterval, .int(7), .int(3), .infinity) == ints(7, 3, 9, 3))
        // every integer is below every string
        #expect(try b.run(.getByValueInterval, .int(5), .int(0), .string("")) == .int(5))
    }

    @Test func byValueRelativeRankRange() throws {
        var b = ListBin([0, 4, 5, 9, 11, 15])
        // Aerospike's documented examples (value, rank, count) -> values
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(0)) == ints(5, 9, 11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(0), .int(2)) == ints(5, 9))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(-1), .int(2)) == ints(4, 5))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(0)) == ints(4, 5, 9, 11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(3)) == ints(11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(-3)) == ints(0, 4, 5, 9, 11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(-3), .int(2)) == ints())
        #expect(try b.run(.getByValueRelRankRange, .int(7 | inverted), .int(5), .int(0), .int(2)) == ints(0, 4, 11, 15))
        // the remaining documented examples
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(1), .int(1)) == ints(9))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(0), .int(1)) == ints(4))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(3), .int(3), .int(7)) == ints(11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(1)) == ints(9, 11, 15))
        #expect(try b.run(.getByValueRelRankRange, .int(7), .int(5), .int(-1)) == ints(4, 5, 9, 11, 15))
    }

    @Test func removeByReturnsAndRemoves() throws {
        var b = ListBin(list)
        #expect(try b.run(.removeByValue, .int(5), .int(3)) == .int(2))
        #expect(b.ints == [7, 9, 1])
        #expect(try b.run(.removeByIndex, .int(7), .int(0)) == .int(7))
        #expect(try b.run(.removeByRankRange, .int(7 | inverted), .int(0), .int(1)) == ints(9))
        #expect(b.ints == [1])
        var c = ListBin(list)
        #expect(try c.run(.removeByValueInterval, .int(0), .int(3), .int(8)) == nil)
        #expect(c.ints == [9, 1])
        var d = ListBin(list)
        #expect(try d.run(.removeByIndexRange, .int(2), .int(-2)) == ints(1, 0))
        #expect(d.ints == [7, 3, 9])
        #expect(try d.run(.removeByValueList, .int(5 | inverted), ints(9)) == .int(2))
        #expect(d.ints == [9])
        #expect(try d.run(.removeByValueRelRankRange, .int(5), .int(0), .int(0)) == .int(1))
        #expect(d.value == .list([]))
        var m = ListBin(missing: ())
        #expect(try m.run(.removeByIndex, .int(7), .int(0)) == nil)
        #expect(m.value == nil)
    }
}

@Suite struct ListContextTests {
    @Test func nestedReadsAndWrites() throws {
        var b = ListBin(values: [ints(1, 2), .list([ints(3)])])
        let idx1 = CDTContextItem(type: CDTContextItem.listIndex, value: .int(1))
        let idx0 = CDTContextItem(type: CDTContextItem.listIndex, value: .int(0))
        #expect(try b.run(.size, context: [idx1]) == .int(1))
        #expect(try b.run(.append, .int(4), context: [idx1, idx0]) == .int(2))
        #expect(b.value == .list([ints(1, 2), .list([ints(3, 4)])]))
        let rankTop = CDTContextItem(type: CDTContextItem.listRank, value: .int(0))
        #expect(try b.run(.getByIndex, .int(7), .int(-1), context: [rankTop]) == .int(2))
        let byValue = CDTContextItem(type: CDTContextItem.listValue, value: ints(1, 2))
        #expect(try b.run(.append, .int(5), context: [byValue]) == .int(3))
        #expect(code { try b.run(.size, context: [CDTContextItem(type: CDTContextItem.listIndex, value: .int(5))]) } == 26)
        #expect(code { try b.run(.size, context: [CDTContextItem(type: CDTContextItem.mapKey, value: .int(5))]) } == 12)
    }

    @Test func createVariants() throws {
        // index create with pad on a missing bin
        var b = ListBin(missing: ())
        let create2 = CDTContextItem(type: CDTContextItem.listIndex | 0x80, value: .int(2))
        #expect(try b.run(.append, .int(1), context: [create2]) == .int(1))
        #expect(b.value == .list([.null, .null, ints(1)]))
        // without pad, beyond the end: refused
        let create5 = CDTContextItem(type: CDTContextItem.listIndex | 0x40, value: .int(5))
        #expect(code { try b.run(.append, .int(1), context: [create5]) } == 26)
        // The create flag's order is the order of the list it indexes (when that list is
        // created); the new element is the kind the next item (or the operation) works on.
        let createOrdered = CDTContextItem(type: CDTContextItem.listIndex | 0xc0, value: .int(3))
        try b.run(.appendItems, ints(3, 1), context: [createOrdered])
        guard case .list(let items, _)? = b.value else { Issue.record("no list"); return }
        #expect(items[3] == ints(3, 1))
        // Two ordered levels on a missing bin: index 3 is ignored in an ordered list.
        var c = ListBin(missing: ())
        try c.run(.append, .int(10), context: [createOrdered, createOrdered])
        #expect(c.value == .list([.list([ints(10)], flags: 1)], flags: 1))
    }

    @Test func aNoOpCreatesNothing() throws {
        // clear / remove through a create context on a missing bin: no bin is created.
        let create = CDTContextItem(type: CDTContextItem.listIndex | 0xc0, value: .int(3))
        var m = ListBin(missing: ())
        #expect(try m.run(.clear, context: [create]) == nil)
        #expect(m.value == nil)
        #expect(try m.run(.removeByIndex, .int(7), .int(0), context: [create]) == nil)
        #expect(m.value == nil)
        // set_type through a create context does create the path.
        try m.run(.setType, .int(0), context: [CDTContextItem(type: CDTContextItem.listIndex | 0x40, value: .int(0))])
        #expect(m.value == .list([.list([])]))
    }

    @Test func negativeCreateIndexBeforeTheStart() throws {
        // Crashes Aerospike CE 8.1.2: index create with a negative index before the start of
        // the list, with or without pad, on a missing bin or an ordered list.
        for flag: UInt8 in [0x40, 0x80, 0xc0] {
            let item = CDTContextItem(type: CDTContextItem.listIndex | flag, value: .int(-3))
            var missing = ListBin(missing: ())
            #expect(code { try missing.run(.append, .int(1), context: [item]) } == 26)
            var ordered = ListBin(values: [.int(1)], flags: 1)
            #expect(code { try ordered.run(.append, .int(1), context: [item]) } == 26)
            var plain = ListBin([1])
            #expect(code { try plain.run(.append, .int(1), context: [item]) } == 26)
        }
    }
}

@Suite struct ListStorableValueTests {
    @Test func appendInsertSetRefuseWhatCannotBeStored() throws {
        // list_append / list_insert / list_set rewrite their values as a put does: 4.
        var b = ListBin([1])
        #expect(code { try b.run(.append, .wildcard) } == 4)
        #expect(code { try b.run(.appendItems, .list([.int(2), .infinity])) } == 4)
        #expect(code { try b.run(.insert, .int(0), .list([.int(3), .int(1)], flags: 1)) } == 4)
        #expect(code { try b.run(.set, .int(0), .map([MapEntry(.null, .int(1))], flags: 0)) } == 4)
        #expect(code { try b.run(.insertItems, .int(0), .list([.map([MapEntry(.int(1), .int(0)), MapEntry(.int(1), .int(1))], flags: 0)])) } == 4)
        #expect(b.ints == [1])
        // A nested unordered map is stored sorted by key.
        try b.run(.append, .map([MapEntry(.int(2), .int(0)), MapEntry(.int(1), .int(0))], flags: 0))
        #expect(b.value == .list([.int(1), .map([MapEntry(.int(1), .int(0)), MapEntry(.int(2), .int(0))], flags: 0)]))
    }
}
