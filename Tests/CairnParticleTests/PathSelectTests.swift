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
