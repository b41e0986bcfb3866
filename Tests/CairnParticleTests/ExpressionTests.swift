import Testing
@testable import CairnParticle

@Suite struct ExpressionTests {
    let record = ExpressionRecord(
        bins: [
            .init(name: "i", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 5]),
            .init(name: "s", particleType: 3, bytes: Array("abc".utf8)),
            .init(name: "b", particleType: 4, bytes: [0x01, 0x42]),
            .init(name: "l", particleType: 20, bytes: Value.list([.int(1), .int(2)]).encoded),
        ],
        setName: "demo", key: .int(9))

    /// A bin read node: the name as a raw msgpack string, as clients send it.
    func bin(_ type: Int64, _ name: String) -> [UInt8] {
        [0x93, 81, UInt8(type), 0xa0 | UInt8(name.utf8.count)] + Array(name.utf8)
    }

    func node(_ op: Int64, _ parts: [UInt8]...) -> [UInt8] {
        [0x90 | UInt8(parts.count + 1), UInt8(op)] + parts.flatMap { $0 }
    }

    func passes(_ bytes: [UInt8]) throws -> Bool { try Expression.passes(try Expression.decode(bytes), record) }

    func code(_ bytes: [UInt8]) -> UInt8? {
        do { _ = try passes(bytes) } catch let e as CDTError { return e.code } catch { return 0 }
        return nil
    }

    @Test func comparisonsAndLogic() throws {
        let five = [UInt8(5)], six = [UInt8(6)]
        #expect(try passes(node(1, bin(2, "i"), five)))
        #expect(try !passes(node(1, bin(2, "i"), six)))
        #expect(try passes(node(3, bin(2, "i"), [4])))
        #expect(try passes(node(5, bin(3, "s"), Value.string("abd").encoded)))
        #expect(try passes(node(16, node(1, bin(2, "i"), five), node(18, node(1, bin(2, "i"), six)))))
        #expect(try passes(node(17, node(1, bin(2, "i"), six), node(1, bin(2, "i"), five))))
        #expect(try !passes(node(19, node(1, bin(2, "i"), five), node(1, bin(2, "i"), five))))
        // Unknown: a missing bin, a bin of another type, different types compared.
        #expect(try !passes(node(1, bin(2, "none"), five)))
        #expect(try !passes(node(18, node(1, bin(2, "none"), five))))
        #expect(try !passes(node(1, bin(2, "s"), five)))
        // Exclusive decides in order: a second true is false before a later unknown.
        let twoTrues = try Expression.decode(node(19, node(1, bin(2, "i"), five), node(1, bin(2, "i"), five), node(1, bin(2, "none"), five)))
        #expect(try Expression.evaluate(twoTrues, record) == .known(.bool(false)))
        let unknownFirst = try Expression.decode(node(19, node(1, bin(2, "none"), five), node(1, bin(2, "i"), five)))
        #expect(try Expression.evaluate(unknownFirst, record) == .unknown)
        // Or with one true operand is true even when another is unknown; and with a false one false.
        #expect(try passes(node(17, node(1, bin(2, "none"), five), node(1, bin(2, "i"), five))))
        #expect(try !passes(node(16, node(1, bin(2, "none"), five), node(1, bin(2, "i"), six))))
    }

    @Test func recordMetadataAndCalls() throws {
        #expect(try passes(node(71)))
        #expect(try passes(node(1, node(80, [2]), [9])))
        #expect(try passes(node(1, node(70), Value.string("demo").encoded)))
        #expect(try passes(node(1, [0x92, 82, 0xa1, UInt8(ascii: "s")], [3])))
        // bit_count(0, 16) of b, as a call: [127, INT, BITS, [51, 0, 16], bin].
        #expect(try passes(node(1, node(127, [2], [1], [0x93, 51, 0, 16], bin(6, "b")), [3])))
        // A modify-local call returns the modified copy: set_int then get_int of the result.
        let setInt = node(127, [6], [0x41], [0x94, 12, 0, 8, 0xcc, 0xff], bin(6, "b"))
        #expect(try passes(node(1, node(127, [2], [1], [0x93, 54, 0, 8], setInt), [0xcc, 0xff])))
        // list size through a CDT call.
        #expect(try passes(node(1, node(127, [2], [0], [0x91, 16], bin(4, "l")), [2])))
    }

    /// As Aerospike's eval_call: a call whose operation fails at run time, or whose value is not
    /// of the type the call declares, is unknown (the filter fails), not an error of the request.
    @Test func aFailingCallOrOneOfAnotherTypeIsUnknown() throws {
        func outcome(_ bytes: [UInt8]) throws -> Expression.Outcome {
            try Expression.evaluate(try Expression.decode(bytes), record)
        }
        // A list operation Cairn does not know (code 250) on a list: the operation fails.
        #expect(try outcome(node(127, [2], [0], [0x91, 0xcc, 250], bin(4, "l"))) == .unknown)
        #expect(try !passes(node(1, node(127, [2], [0], [0x91, 0xcc, 250], bin(4, "l")), [2])))
        // bit_count of 64 bits of a 2-byte blob: out of range.
        #expect(try outcome(node(127, [2], [1], [0x93, 51, 0, 64], bin(6, "b"))) == .unknown)
        // The list's size declared as a string.
        #expect(try outcome(node(127, [3], [0], [0x91, 16], bin(4, "l"))) == .unknown)
        // A modify-local set_int declared as an integer (it answers the blob).
        #expect(try outcome(node(127, [2], [0x41], [0x94, 12, 0, 8, 0xcc, 0xff], bin(6, "b"))) == .unknown)
        // The same calls, well typed, still answer.
        #expect(try outcome(node(127, [2], [0], [0x91, 16], bin(4, "l"))) == .known(.int(2)))
        #expect(try outcome(node(127, [2], [1], [0x93, 51, 0, 16], bin(6, "b"))) == .known(.int(3)))
    }

    @Test func metadata() throws {
        var r = record
        r.metadata = .init(digest: [UInt8](repeating: 0, count: 16) + [4, 1, 0, 0, 0, 0, 0, 0].prefix(4), lastUpdateMs: 1000, voidTime: 100, nowMs: 50_000)
        func value(_ op: Int64, _ args: [UInt8]...) throws -> Expression.Outcome {
            var bytes: [UInt8] = [0x90 | UInt8(args.count + 1), UInt8(op)]
            for a in args { bytes += a }
            return try Expression.evaluate(try Expression.decode(bytes), r)
        }
        #expect(try value(64, [7]) == .known(.int(260 % 7)))  // bytes 16-19 little-endian: 0x0104
        #expect(try value(66) == .known(.int((1000 + 1_262_304_000_000) * 1_000_000)))
        #expect(try value(67) == .known(.int(49_000)))
        #expect(try value(68) == .known(.int((100_000 + 1_262_304_000_000) * 1_000_000)))
        #expect(try value(69) == .known(.int(50)))
        r.metadata?.voidTime = 10
        #expect(try value(69) == .known(.int(1)))
        r.metadata?.voidTime = 0
        #expect(try value(69) == .known(.int(-1)) && value(68) == .known(.int(-1)))
        #expect(try value(72) == .known(.bool(false)))
        r.metadata = nil
        #expect(try value(69) == .unknown)
        #expect(code([0x92, 64, 0]) == 4)  // modulus 0
    }

    @Test func arithmeticCondAndLet() throws {
        func value(_ bytes: [UInt8]) throws -> Expression.Outcome { try Expression.evaluate(try Expression.decode(bytes), record) }
        func v(_ x: Value) -> [UInt8] { x.encoded }
        #expect(try value(node(20, bin(2, "i"), [3], [0xff])) == .known(.int(7)))  // 5 + 3 - 1
        #expect(try value(node(21, bin(2, "i"))) == .known(.int(-5)))
        #expect(try value(node(21, [10], [3], [2])) == .known(.int(5)))
        #expect(try value(node(22, v(.double(1.5)), v(.double(2)))) == .known(.double(3)))
        #expect(try value(node(23, [7], [2])) == .known(.int(3)))
        #expect(try value(node(23, [4])) == .known(.int(0)))  // 1 / 4
        #expect(try value(node(23, [7], [0])) == .unknown)
        #expect(try value(node(26, [7], [0])) == .unknown)
        #expect(try value(node(26, [0xf9], [3])) == .known(.int(-1)))  // -7 % 3, C's sign
        #expect(try value(node(24, v(.double(2)), v(.double(10)))) == .known(.double(1024)))
        #expect(try value(node(25, v(.double(8)), v(.double(2)))) == .known(.double(3)))
        #expect(try value(node(27, [0xfb])) == .known(.int(5)))
        #expect(try value(node(28, v(.double(-1.5)))) == .known(.double(-2)))
        #expect(try value(node(29, v(.double(1.2)))) == .known(.double(2)))
        #expect(try value(node(30, v(.double(-2.7)))) == .known(.int(-2)))
        #expect(try value(node(31, [3])) == .known(.double(3)))
        #expect(try value(node(32, [0x0f], [0x3c])) == .known(.int(0x0c)))
        #expect(try value(node(33, [0x0f], [0x30])) == .known(.int(0x3f)))
        #expect(try value(node(34, [0x0f], [0x3c])) == .known(.int(0x33)))
        #expect(try value(node(35, [0])) == .known(.int(-1)))
        #expect(try value(node(36, [1], [65])) == .known(.int(2)))  // count modulo 64
        #expect(try value(node(37, [0xff], [60])) == .known(.int(15)))  // logical
        #expect(try value(node(38, [0xff], [60])) == .known(.int(-1)))  // arithmetic
        #expect(try value(node(39, [0x0f])) == .known(.int(4)))
        #expect(try value(node(40, [1], [0xc3])) == .known(.int(63)))
        #expect(try value(node(40, [0], [0xc3])) == .known(.int(-1)))
        #expect(try value(node(41, [2], [0xc3])) == .known(.int(62)))
        #expect(try value(node(41, [0xff], [0xc2])) == .known(.int(-1)))
        #expect(try value(node(50, [3], [1], [2])) == .known(.int(1)))
        #expect(try value(node(51, [3], [1], [2])) == .known(.int(3)))
        #expect(try value(node(20, bin(2, "none"), [1])) == .unknown)
        #expect(code(node(20, [1], v(.double(1)))) == 4)  // mixed types
        // cond: the first true condition's value, else the default.
        let cond = node(123, node(1, bin(2, "i"), [6]), [10], node(1, bin(2, "i"), [5]), [20], [30])
        #expect(try value(cond) == .known(.int(20)))
        #expect(try value(node(123, node(1, bin(2, "none"), [6]), [10], [30])) == .unknown)
        // let x = i + 1, y = x * 2 in y == 12.
        let name: (String) -> [UInt8] = { [0xa0 | UInt8($0.utf8.count)] + Array($0.utf8) }
        let letExp = node(125, name("x"), node(20, bin(2, "i"), [1]), name("y"), node(22, node(124, name("x")), [2]),
                          node(1, node(124, name("y")), [12]))
        #expect(try passes(letExp))
        #expect(code(node(124, name("z"))) == 4)
    }

    @Test func mapKeysAndValues() throws {
        let m = Value.map([MapEntry(.string("a"), .int(1)), MapEntry(.string("b"), .int(2))], flags: 0)
        let map = ExpressionRecord(bins: [.init(name: "m", particleType: 19, bytes: m.encoded)], setName: nil, key: nil)
        func value(_ op: Int64, _ name: String) throws -> Expression.Outcome {
            try Expression.evaluate(try Expression.decode(Value.list([.int(op), .list([.int(81), .int(5), .blob(name.utf8.first!, Bytes(name.utf8.dropFirst()))])]).encoded), map)
        }
        #expect(try value(101, "m") == .known(.list([.string("a"), .string("b")])))
        #expect(try value(102, "m") == .known(.list([.int(1), .int(2)])))
        #expect(try value(101, "x") == .unknown)  // a missing bin
    }

    @Test func inList() throws {
        #expect(try passes(node(9, bin(2, "i"), node(126, Value.list([.int(1), .int(5)]).encoded))))
        #expect(try !passes(node(9, bin(2, "i"), node(126, Value.list([.int(1), .string("5")]).encoded))))
        #expect(try passes(node(9, [2], bin(4, "l"))))
        #expect(try !passes(node(9, bin(2, "none"), bin(4, "l"))))
    }

    @Test func regexCompare() throws {
        let raw: (String) -> [UInt8] = { [0xa0 | UInt8($0.utf8.count)] + Array($0.utf8) }
        #expect(try passes(node(7, [0], raw("^ab"), bin(3, "s"))))
        #expect(try !passes(node(7, [0], raw("^b"), bin(3, "s"))))
        #expect(try passes(node(7, [1 | 2], raw("^A(B|X)c$"), bin(3, "s"))))  // REG_EXTENDED | REG_ICASE
        #expect(try !passes(node(7, [0], raw("^a"), bin(3, "none"))))  // unknown
        #expect(code(node(7, [1], raw("("), bin(3, "s"))) == 4)  // does not compile
    }

    @Test func errors() throws {
        #expect(code([0x93, 0x01]) == 4)  // not msgpack
        #expect(code(node(1, [1])) == 4)  // one operand
        #expect(code(node(8, [1], [2])) == 4)  // a geo compare of two integers
        #expect(code(node(110, bin(5, "m"))) == 4)  // not an op of Aerospike's
        #expect(code(node(101, [1])) == 4)  // map_keys of an integer
        #expect(code(node(7, [1], [2])) == 4)  // a regex compare of two operands
        #expect(code(node(16, node(1, [1], [1]), node(110, [1]))) == 4)  // found before evaluation
        #expect(try Expression.evaluate(try Expression.decode(node(0)), record) == .unknown)
        #expect(code([5]) == 4)  // not boolean
        #expect(code(node(16, [5])) == 4)
    }
}

@Suite struct ExpressionBuildTypeTests {
    private func code(_ node: Value) -> UInt8? {
        do { _ = try Expression.decode(node.encoded) } catch { return error.code }
        return nil
    }

    private func bin(_ type: Int64, _ name: String) -> Value { .list([.int(81), .int(type), .blob(0x61, [])]) }

    @Test func comparisonsOfTwoKnownTypesMustAgree() {
        // Aerospike's build_compare refuses mismatched operand types (4) before running.
        #expect(code(.list([.int(1), bin(2, "a"), .string("x")])) == 4)
        #expect(code(.list([.int(3), bin(7, "a"), .int(1)])) == 4)
        #expect(code(.list([.int(1), .list([.int(70)]), .int(1)])) == 4)  // set_name is a string
        #expect(code(.list([.int(5), .list([.int(22), bin(2, "a"), .int(2)]), .double(1)])) == 4)
        #expect(code(.list([.int(1), bin(8, "g"), bin(8, "h")])) == 4)  // GeoJSON cannot be compared
        // Same types, or a type Cairn does not infer (a variable): built.
        #expect(code(.list([.int(1), bin(2, "a"), .int(1)])) == nil)
        #expect(code(.list([.int(4), .list([.int(122), .int(2), .int(1)]), .int(14)])) == nil)
        let v = Value.blob(0x76, [])  // the raw name "v"
        #expect(code(.list([.int(125), v, .list([.int(0)]), .list([.int(1), .list([.int(124), v]), .string("x")])])) == nil)
        #expect(code(.list([.int(1), .list([.int(127), .int(7), .int(0), .list([.int(97)]), bin(5, "m")]), .double(1)])) == nil)
    }
}

@Suite struct CallBuildTests {
    private func code(_ node: Value) -> UInt8? {
        do { _ = try Expression.decode(node.encoded) } catch { return error.code }
        return nil
    }

    private func bin(_ type: Int64) -> Value { .list([.int(81), .int(type), .blob(0x61, [])]) }

    private func call(type: Int64 = 2, system: Int64, _ op: [Value], _ subject: Value) -> Value {
        .list([.int(127), .int(type), .int(system), .list(op), subject])
    }

    /// As Aerospike's build_call: a system other than list / map (0), bit (1) or HLL (2), with
    /// or without MODIFY_LOCAL (0x40), is 4 when the expression is built, before anything runs
    /// (it answered 16 when it ran).
    @Test func aCallOfAnotherSystemIsRefusedWhenBuilt() {
        #expect(code(call(system: 3, [.int(16)], bin(4))) == 4)
        #expect(code(call(system: 0x43, [.int(16)], bin(4))) == 4)
        #expect(code(call(system: 0x80, [.int(16)], bin(4))) == 4)
        #expect(code(call(system: -1, [.int(16)], bin(4))) == 4)
        #expect(code(call(system: 3, [.int(16)], .null)) == 4)  // Aerospike builds this one and crashes running it
        #expect(code(call(type: 10, system: 0, [.int(16)], bin(4))) == 4)  // not an AS_EXP_TYPE
        // A subject whose type is known and is not what the system works on.
        #expect(code(call(system: 0, [.int(16)], bin(3))) == 4)
        #expect(code(call(system: 1, [.int(51), .int(0), .int(8)], bin(2))) == 4)
        #expect(code(call(system: 2, [.int(50)], bin(6))) == 4)
        // The three systems on their own types, a nil subject, or a subject of a type Cairn
        // does not infer before running: built.
        #expect(code(call(system: 0, [.int(16)], bin(4))) == nil)
        #expect(code(call(system: 0x40, [.int(16)], bin(5))) == nil)
        #expect(code(call(system: 1, [.int(51), .int(0), .int(8)], bin(6))) == nil)
        #expect(code(call(system: 0x42, [.int(0), .int(8), .int(0)], .null)) == nil)
        #expect(code(call(system: 2, [.int(50)], bin(9))) == nil)
        #expect(code(call(system: 0, [.int(16)], .list([.int(122), .int(4), .int(1)]))) == nil)
    }

    /// A call with a context, `[0xff, context, [command, args...]]`: the context is a literal, and
    /// the inner operation's list arguments are expressions, built with the call and evaluated
    /// when it runs, as Aerospike's parse_op_call (they were passed through unevaluated).
    @Test func aCallWithAContextBuildsAndEvaluatesItsOperationsArguments() throws {
        let context = Value.list([.int(0x10), .int(1)])  // list index 1
        let index = Value.list([.int(20), .list([.int(81), .int(2), .blob(0x69, [])]), .int(-5)])  // bin i + -5 = 0
        func getByIndex(_ indexArg: Value) -> Value {
            call(system: 0, [.int(0xff), context, .list([.int(19), .int(7), indexArg])], .list([.int(81), .int(4), .blob(0x6c, [])]))
        }
        #expect(code(getByIndex(.list([.int(999)]))) == 4, "an unknown op inside the inner operation is refused when built")
        #expect(code(call(system: 0, [.int(0xff), context], bin(4))) == 4, "a context without its operation")
        let record = ExpressionRecord(
            bins: [.init(name: "i", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 5]),
                   .init(name: "l", particleType: 20,
                         bytes: Value.list([.list([.int(1), .int(2)]), .list([.int(30), .int(40)])]).encoded)],
            setName: nil, key: nil)
        #expect(try Expression.evaluate(try Expression.decode(getByIndex(index).encoded), record) == .known(.int(30)))
        #expect(try Expression.evaluate(try Expression.decode(getByIndex(.int(1)).encoded), record) == .known(.int(40)))
        // The ops an expression index sees come from the same walk, inner arguments included.
        var ops: [Int64] = []
        try Expression.check(getByIndex(index)) { ops.append($0) }
        #expect(ops == [127, 81, 20, 81])
    }
}

@Suite struct RecordSizeTests {
    private let meta = ExpressionRecord.Metadata(digest: Array(repeating: 0, count: 20), lastUpdateMs: 1, voidTime: 0, nowMs: 2)

    private func size(_ record: ExpressionRecord) throws -> Expression.Outcome {
        try Expression.evaluate(try Expression.decode(Value.list([.int(74)]).encoded), record)
    }

    @Test func aerospikesFlatRecordSizeRoundedToRblocks() throws {
        // One int bin "a" = 1: header 35 + bin count 1 + name 2 + int 3 + end mark 4 = 45 -> 48.
        let one = ExpressionRecord(bins: [.init(name: "a", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 1])], setName: nil, key: nil, metadata: meta)
        #expect(try size(one) == .known(.int(48)))
        // A negative int takes 8 bytes: 52 -> 64. A set "demo" (5), an int key (1 + 9) and a TTL
        // (4) add 19: 45 + 19 = 64 -> 64.
        let negative = ExpressionRecord(bins: [.init(name: "a", particleType: 1, bytes: Array(repeating: 0xff, count: 8))], setName: nil, key: nil, metadata: meta)
        #expect(try size(negative) == .known(.int(64)))
        var expiring = meta
        expiring.voidTime = 100
        let full = ExpressionRecord(bins: [.init(name: "a", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 1])], setName: "demo", key: .int(7), metadata: expiring)
        #expect(try size(full) == .known(.int(64)))
        // A 100-byte string bin "s": 35 + 1 + 2 + 5 + 100 + 4 = 147 -> 160.
        let str = ExpressionRecord(bins: [.init(name: "s", particleType: 3, bytes: Array(repeating: 0x61, count: 100))], setName: nil, key: nil, metadata: meta)
        #expect(try size(str) == .known(.int(160)))
        // Unknown without metadata or with a GeoJSON bin.
        #expect(try size(ExpressionRecord(bins: [], setName: nil, key: nil)) == .unknown)
        let geo = ExpressionRecord(bins: [.init(name: "g", particleType: 23, bytes: Array("{}".utf8))], setName: nil, key: nil, metadata: meta)
        #expect(try size(geo) == .unknown)
    }

    @Test func deviceAndMemorySizeFollowTheStorageEngine() throws {
        func sizes(_ storage: ExpressionRecord.Storage) throws -> [Expression.Outcome] {
            var m = meta
            m.storage = storage
            let record = ExpressionRecord(bins: [.init(name: "a", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 1])], setName: nil, key: nil, metadata: m)
            return try [65, 73].map { op in try Expression.evaluate(try Expression.decode(Value.list([.int(op)]).encoded), record) }
        }
        // device_size, memory_size: the record size where the records are, else 0 (Aerospike 8.1).
        #expect(try sizes(.device) == [.known(.int(48)), .known(.int(0))])
        #expect(try sizes(.memoryPersisted) == [.known(.int(48)), .known(.int(48))])
        #expect(try sizes(.memoryOnly) == [.known(.int(0)), .known(.int(48))])
        // Unknown without metadata; arguments are 4.
        let bare = ExpressionRecord(bins: [], setName: nil, key: nil)
        #expect(try Expression.evaluate(try Expression.decode(Value.list([.int(65)]).encoded), bare) == .unknown)
        #expect(throws: CDTError.self) {
            try Expression.evaluate(try Expression.decode(Value.list([.int(73), .int(1)]).encoded), bare)
        }
    }
}

@Suite struct ExpressionBuildScopeTests {
    private func code(_ node: Value) -> UInt8? {
        do { _ = try Expression.decode(node.encoded) } catch { return error.code }
        return nil
    }

    private let intBin = Value.list([.int(81), .int(2), .blob(0x61, [])])
    private func v(_ name: String) -> Value { .list([.int(124), .blob(name.utf8.first!, Bytes(name.utf8.dropFirst()))]) }
    private func name(_ n: String) -> Value { .blob(n.utf8.first!, Bytes(n.utf8.dropFirst())) }

    @Test func letVariablesCarryTheirDefinitionsType() {
        // let x = int bin in x == "s": 4 (build_var types a variable as its definition).
        #expect(code(.list([.int(125), name("x"), intBin, .list([.int(1), v("x"), .string("s")])])) == 4)
        #expect(code(.list([.int(125), name("x"), intBin, .list([.int(1), v("x"), .int(1)])])) == nil)
        // A variable of another let's scope, or never defined: 4.
        #expect(code(.list([.int(1), v("y"), .int(1)])) == 4)
    }

    @Test func condCasesAndValues() {
        let isOne = Value.list([.int(1), intBin, .int(1)])
        #expect(code(.list([.int(123), isOne, .int(1), .int(2)])) == nil)
        #expect(code(.list([.int(123), isOne, .int(1), .list([.int(0)])])) == nil)  // unknown default
        #expect(code(.list([.int(123), isOne, .int(1), .string("s")])) == 4)  // values of two types
        #expect(code(.list([.int(123), .int(5), .int(1), .int(2)])) == 4)  // a condition that is not boolean
        #expect(code(.list([.int(123), isOne, .int(1)])) == 4)  // no default
        // The cond's type is its values' type.
        #expect(code(.list([.int(1), .list([.int(123), isOne, .int(1), .int(2)]), .double(1)])) == 4)
    }
}
