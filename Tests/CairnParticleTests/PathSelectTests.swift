import Testing
@testable import CairnParticle

/// Path select and apply (CDT command 0xfe): the C client's list_select, list_select2,
/// list_apply*, list_select_tree and map_select_apply cases, in small.
@Suite struct PathSelectTests {
    private let loopValueInt = Value.list([.int(122), .int(2), .int(1)])
    private let loopKeyString = Value.list([.int(122), .int(3), .int(0)])
    private let all = Value.bool(true)

    private func run(_ bin: Value?, _ ctx: [(Int64, Value)], _ flags: Int64, apply: Value? = nil) throws -> CDTOutcome {
        var args: [Value] = [.list(ctx.flatMap { [Value.int($0.0), $0.1] }), .int(flags)]
        if let apply { args.append(apply) }
        let payload = Value.list([.int(0xfe)] + args).encoded
        return try CDTExecutor.execute(payload: payload, bin: bin.map { .collection($0) } ?? .missing, isWrite: apply != nil)
    }

    private func ints(_ xs: Int64...) -> Value { .list(xs.map { .int($0) }) }
    private func s1(_ x: String) -> Value { .string(x) }

    @Test func treeAndLeafValues() throws {
        let bin = Value.list([ints(10, 14, 15, 16), ints(15, 3), .int(7)])
        let between = Value.list([.int(16), .list([.int(4), loopValueInt, .int(14)]), .list([.int(5), loopValueInt, .int(16)])])
        // The tree keeps the shape (a scalar child above the last level stays in the tree).
        #expect(try run(bin, [(4, all), (4, between)], 0).result == .list([ints(14, 15), ints(15), .int(7)]))
        #expect(try run(bin, [(4, all), (4, between)], 1).result == ints(14, 15, 15))
        #expect(try run(bin, [(0x10, .int(-2)), (4, all)], 1).result == ints(15, 3))
        #expect(try run(bin, [(0x10, .int(9)), (4, all)], 1).result == ints())
        #expect(try run(nil, [(4, all)], 1).result == nil)
    }

    @Test func mapKeysValuesAndAnd() throws {
        let book = Value.map([MapEntry(.string("price"), .int(9)), MapEntry(.string("title"), .string("S"))], flags: 1)
        let bin = Value.map([MapEntry(.string("books"), .list([book]))], flags: 0)
        let isTitle = Value.list([.int(1), loopKeyString, .string("title")])
        #expect(try run(bin, [(4, all), (4, all), (4, isTitle)], 3).result == .list([.string("title"), .string("S")]))
        #expect(try run(bin, [(0x22, .string("books")), (4, all), (4, all)], 2).result == .list([.string("price"), .string("title")]))
        // Keys in a list (map_keys_in); an ordered key list out of order is 4.
        let m = Value.map([MapEntry(s1("a"), .int(1)), MapEntry(s1("b"), .int(2)), MapEntry(s1("c"), .int(3))], flags: 0)
        #expect(try run(m, [(0x2a, .list([s1("c"), s1("a"), s1("x")]))], 1).result == .list([.int(1), .int(3)]))
        #expect(code { _ = try run(m, [(0x2a, .list([s1("c"), s1("a")], flags: 1))], 1) } == 4)
        // Apply on an empty collection does nothing, whatever the level's type.
        #expect(try run(.list([]), [(0x22, s1("a"))], 4, apply: .int(1)).newValue == .list([]))
        // AND on a key level: the key matches but the filter does not.
        let never = Value.list([.int(1), loopKeyString, .string("x")])
        #expect(try run(bin, [(0x22, .string("books")), (0x204, never)], 1).result == .list([]))
    }

    @Test func errorsAndNoFail() throws {
        let bin = Value.list([ints(1, 2), .string("x")])
        let isBig = Value.list([.int(3), loopValueInt, .int(1)])
        // A string value is not an INT loop variable: unknown, 4 without NO_FAIL.
        #expect(code { _ = try run(bin, [(4, isBig)], 1) } == 4)
        #expect(try run(bin, [(4, all), (4, isBig)], 0x11).result == ints(2))
        #expect(code { _ = try run(bin, [(4, all), (4, all)], 2) } == 12)  // map keys of a list
        #expect(try run(bin, [(4, all), (4, all)], 0x12).result == .list([]))
        #expect(code { _ = try run(bin, [], 1) } == 4)
        #expect(code { _ = try run(bin, [(4, all)], 9) } == 4)  // unknown mode
        #expect(code { _ = try run(bin, [(4, all)], 4) } == 4)  // apply without an expression
        #expect(code { _ = try CDTExecutor.execute(payload: Value.list([.int(0xfe), .list([.int(4), all]), .int(1)]).encoded, bin: .otherType, isWrite: false) } == 12)
    }

    @Test func filtersReadTheRecordsBins() throws {
        // ge(loop value, bin "min"): the record comes from the engine (CDTExecutor's record).
        let record = ExpressionRecord(bins: [.init(name: "min", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 3])], setName: nil, key: nil)
        let atLeastMin = Value.list([.int(4), loopValueInt, .list([.int(81), .int(2), .blob(0x6d, Bytes("in".utf8))])])
        let op = CDTOperation(command: 0xfe, args: [.list([.int(4), atLeastMin]), .int(1)])
        let out = try CDTExecutor.execute(op, bin: .collection(ints(1, 5, 3, 2)), isWrite: false, record: record)
        #expect(out.result == ints(5, 3))
        // Without the record the bin is missing: unknown, 4.
        #expect(code { _ = try CDTExecutor.execute(op, bin: .collection(ints(1, 5)), isWrite: false) } == 4)
    }

    @Test func applyReplacesRemovesAndSorts() throws {
        let timesMinusOne = Value.list([.int(22), loopValueInt, .int(-1)])
        let ordered = Value.list([ints(1, 5), ints(2, 6)], flags: ListFlags.ordered)
        // Apply on each inner list's first element; the ordered outer list is sorted again.
        let out = try run(ordered, [(4, all), (0x10, .int(0))], 4, apply: timesMinusOne)
        #expect(out.newValue == .list([ints(-2, 6), ints(-1, 5)], flags: ListFlags.ordered))
        #expect(out.result == nil)
        let small = Value.list([.int(5), loopValueInt, .int(3)])
        let removed = try run(ints(1, 4, 2, 9), [(4, small)], 4, apply: .list([.int(100)]))
        #expect(removed.newValue == ints(4, 9))
        let m = Value.map([MapEntry(.string("a"), .int(1)), MapEntry(.string("b"), .string("x"))], flags: 0)
        #expect(code { _ = try run(m, [(4, all)], 4, apply: timesMinusOne) } == 1)  // unknown on "x"
        let kept = try run(m, [(4, all)], 0x14, apply: timesMinusOne)
        #expect(kept.newValue == .map([MapEntry(.string("a"), .int(-1)), MapEntry(.string("b"), .string("x"))], flags: 0))
        // Apply must come as a modify and select as a read.
        let payload = Value.list([.int(0xfe), .list([.int(4), all]), .int(4), timesMinusOne]).encoded
        #expect(code { _ = try CDTExecutor.execute(payload: payload, bin: .collection(ints(1)), isWrite: false) } == 4)
    }
}

/// Path select and apply as expression calls (`[127, type, 0 | 0x40, [0xfe, ctx, flags(,
/// apply)], bin]`), as Aerospike 8.1's eval_call runs them.
@Suite struct PathSelectExpressionTests {
    let record = ExpressionRecord(
        bins: [
            .init(name: "l", particleType: 20, bytes: Value.list([.int(1), .int(5), .int(3)]).encoded),
            .init(name: "m", particleType: 19, bytes: Value.map([MapEntry(.string("a"), .int(1)), MapEntry(.string("b"), .int(2))], flags: 0).encoded),
            .init(name: "i", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 2]),
        ],
        setName: nil, key: nil)
    private let loopInt = Value.list([.int(122), .int(2), .int(1)])

    /// A bin read with the name as a raw msgpack string (decoded as if its first byte were a type).
    private func bin(_ type: Int64, _ name: String) -> Value {
        let bytes = Array(name.utf8)
        return .list([.int(81), .int(type), .blob(bytes[0], Bytes(bytes.dropFirst()))])
    }
    private func call(_ type: Int64, modify: Bool = false, _ ctx: [Value], _ flags: Int64, apply: Value? = nil, on subject: Value) -> Value {
        var select: [Value] = [.int(0xfe), .list(ctx), .int(flags)]
        if let apply { select.append(apply) }
        return .list([.int(127), .int(type), .int(modify ? 0x40 : 0), .list(select), subject])
    }
    private func eval(_ node: Value) throws -> Expression.Outcome {
        try Expression.check(node)
        return try Expression.evaluate(node, record)
    }

    @Test func readsAnswerBySelectMode() throws {
        let big = Value.list([.int(3), loopInt, .int(2)])  // gt(loop value, 2)
        // Mode 1 (values): a list of the picked leaves.
        #expect(try eval(call(4, [.int(4), big], 1, on: bin(4, "l"))) == .known(.list([.int(5), .int(3)])))
        // Mode 0 (tree): the value's own shape; a map stays a map.
        let isB = Value.list([.int(1), .list([.int(122), .int(3), .int(0)]), .string("b")])
        #expect(try eval(call(5, [.int(4), isB], 0, on: bin(5, "m"))) == .known(.map([MapEntry(.string("b"), .int(2))], flags: 0)))
        // Modes 2 and 3 on a map: keys, keys and values.
        #expect(try eval(call(4, [.int(4), .bool(true)], 2, on: bin(5, "m"))) == .known(.list([.string("a"), .string("b")])))
        #expect(try eval(call(4, [.int(4), .bool(true)], 3, on: bin(5, "m"))) == .known(.list([.string("a"), .int(1), .string("b"), .int(2)])))
        // A declared type the result does not have: unknown (tree of a map declared a list).
        #expect(try eval(call(4, [.int(4), isB], 0, on: bin(5, "m"))) == .unknown)
        // In a comparison: size of the selected values.
        let size = Value.list([.int(127), .int(2), .int(0), .list([.int(16)]), call(4, [.int(4), big], 1, on: bin(4, "l"))])
        #expect(try Expression.passes(.list([.int(1), size, .int(2)]), record))
    }

    @Test func failuresAreUnknownAndNoFailTurnsThemFalse() throws {
        let stringLoop = Value.list([.int(3), .list([.int(122), .int(3), .int(1)]), .string("x")])  // loop value as a string
        // The filter is unknown on integers: the select fails, the call is unknown.
        #expect(try eval(call(4, [.int(4), stringLoop], 1, on: bin(4, "l"))) == .unknown)
        // NO_FAIL (0x10): the filter is false, nothing is picked.
        #expect(try eval(call(4, [.int(4), stringLoop], 0x11, on: bin(4, "l"))) == .known(.list([])))
        // Map keys of a list: unknown, or nothing with NO_FAIL.
        #expect(try eval(call(4, [.int(4), .bool(true)], 2, on: bin(4, "l"))) == .unknown)
        #expect(try eval(call(4, [.int(4), .bool(true)], 0x12, on: bin(4, "l"))) == .known(.list([])))
        // A value known to be no collection before running (an integer bin read) is refused
        // when the call is built, as Aerospike's build_call: 4.
        do {
            try Expression.check(call(4, [.int(4), .bool(true)], 1, on: bin(2, "i")))
            Issue.record("a select call on an integer bin was built")
        } catch {
            #expect(error.code == 4)
        }
        // A missing bin, a bad context type, an unknown mode: unknown.
        #expect(try eval(call(4, [.int(4), .bool(true)], 1, on: bin(4, "none"))) == .unknown)
        #expect(try eval(call(4, [.int(7), .int(0)], 1, on: bin(4, "l"))) == .unknown)
        #expect(try eval(call(4, [.int(4), .bool(true)], 9, on: bin(4, "l"))) == .unknown)
        // Apply in a read call (no MODIFY_LOCAL): unknown.
        #expect(try eval(call(4, [.int(4), .bool(true)], 4, apply: .int(0), on: bin(4, "l"))) == .unknown)
        // A malformed call is refused before anything runs (4): the context not a list, the
        // flags not an integer, too many arguments.
        for bad in [
            Value.list([.int(127), .int(4), .int(0), .list([.int(0xfe), .int(1), .int(1)]), bin(4, "l")]),
            Value.list([.int(127), .int(4), .int(0), .list([.int(0xfe), .list([.int(4), .bool(true)]), .string("x")]), bin(4, "l")]),
            Value.list([.int(127), .int(4), .int(0), .list([.int(0xfe), .list([.int(4), .bool(true)]), .int(4), .int(1), .int(2)]), bin(4, "l")]),
        ] {
            #expect(throws: CDTError.self) { try Expression.check(bad) }
        }
    }

    @Test func modifyLocalAnswersTheAppliedValue() throws {
        // Each value above 2 becomes value * 10; the record is not changed.
        let big = Value.list([.int(3), loopInt, .int(2)])
        let times10 = Value.list([.int(22), loopInt, .int(10)])
        #expect(try eval(call(4, modify: true, [.int(4), big], 4, apply: times10, on: bin(4, "l"))) == .known(.list([.int(1), .int(50), .int(30)])))
        // remove_result drops the leaves picked.
        #expect(try eval(call(4, modify: true, [.int(4), big], 4, apply: .list([.int(100)]), on: bin(4, "l"))) == .known(.list([.int(1)])))
        // A select mode in a MODIFY_LOCAL call leaves the value as it is.
        #expect(try eval(call(4, modify: true, [.int(4), big], 1, on: bin(4, "l"))) == .known(.list([.int(1), .int(5), .int(3)])))
        // An apply value that is unknown: unknown, or the leaf kept with NO_FAIL.
        let missing = Value.list([.int(81), .int(2), .blob(0x6e, Bytes("o".utf8))])
        #expect(try eval(call(4, modify: true, [.int(4), big], 4, apply: missing, on: bin(4, "l"))) == .unknown)
        #expect(try eval(call(4, modify: true, [.int(4), big], 0x14, apply: missing, on: bin(4, "l"))) == .known(.list([.int(1), .int(5), .int(3)])))
        // The apply sees the record's bins besides the loop variables: value + bin i.
        let plusI = Value.list([.int(20), loopInt, bin(2, "i")])
        #expect(try eval(call(4, modify: true, [.int(4), .bool(true)], 4, apply: plusI, on: bin(4, "l"))) == .known(.list([.int(3), .int(7), .int(5)])))
    }
}
