import Testing
@testable import CairnParticle

/// Index contexts (checked as Aerospike 8.1 checks them) and the `sindex-list` displays of
/// contexts and expressions without `b64=true`.
@Suite struct IndexDisplayTests {
    @Test func contextsAreReadContextsInNormalizedMsgpack() throws {
        let good = Value.list([.int(0x22), .string("scores"), .int(0x10), .int(1)]).encoded
        #expect(try IndexContext.parse(good) == [CDTContextItem(type: 0x22, value: .string("scores")), CDTContextItem(type: 0x10, value: .int(1))])
        #expect(throws: IndexContext.Problem.invalid) { try IndexContext.parse([0x92, 0x12, 0x01]) }  // map key on a list
        #expect(throws: IndexContext.Problem.invalid) { try IndexContext.parse([0x92, 0x24, 0x01]) }  // base 4: not a read type
        #expect(throws: IndexContext.Problem.invalid) { try IndexContext.parse([0x91, 0x10]) }  // odd count
        #expect(throws: IndexContext.Problem.invalid) { try IndexContext.parse([0x90]) }
        #expect(throws: IndexContext.Problem.invalid) { try IndexContext.parse([0xc1]) }
        #expect(throws: IndexContext.Problem.notNormalized) { try IndexContext.parse([0x92, 0xcc, 0x10, 0x01]) }
    }

    @Test func contextsDisplayAsAerospikes() {
        let ctx = Value.list([.int(0x22), .string("scores"), .int(0x10), .int(-1), .int(0x13), .double(1.5), .int(0x21), .blob(4, Bytes([1, 2]))]).encoded
        // Two opening brackets and one closing, as cdt_ctx_to_dynbuf writes them.
        #expect(IndexContext.display(ctx) == "[[map_key(<string#6>), list_index(-1), list_value(1.500000), map_rank(<blob#2>)]")
        #expect(IndexContext.display([0x91, 0x10]) == "[[(ctx-error-list-ele-count 1)]")
        #expect(IndexContext.display([0x92, 0xa1, 0x41, 0x01]) == "[[(ctx-error-type-not-int)]")
    }

    @Test func expressionsDisplayAsAerospikes() {
        func bin(_ t: Int64, _ name: String) -> Value {
            let b = Array(name.utf8)
            return .list([.int(81), .int(t), .blob(b[0], Bytes(b.dropFirst()))])
        }
        let sum = Value.list([.int(20), bin(2, "a"), bin(2, "b")])
        #expect(ExpressionDisplay.display(sum.encoded) == "add(bin_int(\"a\"), bin_int(\"b\"))")
        let meta = Value.list([.int(16), .list([.int(4), .list([.int(69)]), .int(100)]), .list([.int(1), .list([.int(64), .int(3)]), .int(0)])])
        #expect(ExpressionDisplay.display(meta.encoded) == "and(ge(ttl(), 100), eq(digest_modulo(3), 0))")
        // let / var: variables numbered as Aerospike builds them.
        let x = Value.blob(UInt8(ascii: "x"), Bytes()), y = Value.blob(UInt8(ascii: "y"), Bytes())
        let let_ = Value.list([.int(125), x, bin(2, "a"), y, .list([.int(22), .list([.int(124), x]), .int(2)]),
                               .list([.int(21), .list([.int(124), y]), .double(0.5)])])
        #expect(ExpressionDisplay.display(let_.encoded)
            == "let(def(var_0, bin_int(\"a\")), def(var_1, mul(var(\"var_0\"), 2)), sub(var(\"var_1\"), 0.500000))")
        let cond = Value.list([.int(123), .list([.int(3), bin(2, "a"), .int(1)]), .string("big"), .string("small")])
        #expect(ExpressionDisplay.display(cond.encoded) == "cond(gt(bin_int(\"a\"), 1), <string#3>, <string#5>)")
    }

    /// Calls as Aerospike 8.1's display_call writes them (they were left in base64 before).
    @Test func callsDisplayAsAerospikes() {
        func bin(_ t: Int64, _ name: String) -> Value {
            let b = Array(name.utf8)
            return .list([.int(81), .int(t), .blob(b[0], Bytes(b.dropFirst()))])
        }
        func call(_ type: Int64, _ system: Int64, _ op: [Value], _ subject: Value) -> [UInt8] {
            Value.list([.int(127), .int(type), .int(system), .list(op), subject]).encoded
        }
        #expect(ExpressionDisplay.display(call(2, 0, [.int(16)], bin(4, "l"))) == "list_size(NULL, bin_list(\"l\"))")
        // With a context: the context as cdt_ctx_to_dynbuf writes it, then the operands.
        let byKey = call(2, 0, [.int(0xff), .list([.int(0x10), .int(0)]), .list([.int(97), .int(7), .string("k")])], bin(5, "m"))
        #expect(ExpressionDisplay.display(byKey) == "map_get_by_key([[list_index(0)], 7, <string#1>, bin_map(\"m\"))")
        // An operand that is an expression, and a call on another call's value.
        let nested = call(2, 0, [.int(19), .int(7), .list([.int(20), bin(2, "a"), .int(1)])],
                          .list([.int(127), .int(4), .int(0x40), .list([.int(1), .int(3)]), bin(4, "l")]))
        #expect(ExpressionDisplay.display(nested)
            == "list_get_by_index(NULL, 7, add(bin_int(\"a\"), 1), list_append(NULL, 3, bin_list(\"l\")))")
        #expect(ExpressionDisplay.display(call(2, 1, [.int(51), .int(0), .int(8)], bin(6, "b"))) == "bit_count(0, 8, bin_blob(\"b\"))")
        #expect(ExpressionDisplay.display(call(6, 0x41, [.int(3), .int(0), .int(8), .blob(4, Bytes([0xff])), .int(0)], bin(6, "b")))
            == "bit_set(0, 8, <blob#1>, 0, bin_blob(\"b\"))")
        #expect(ExpressionDisplay.display(call(9, 0x42, [.int(1), .list([.int(126), .list([.int(1), .int(2)])]), .int(8)], .null))
            == "hll_add(<list#2>, 8, nil)")
        // A read call naming a modify command: Aerospike's invalid name (the HLL one says BITS too).
        #expect(ExpressionDisplay.display(call(2, 2, [.int(0)], bin(9, "h"))) == "INVALID_BITS_OP(bin_hll(\"h\"))")
        #expect(ExpressionDisplay.display(call(2, 0, [.int(250)], bin(4, "l"))) == "INVALID_CDT_OP(NULL, bin_list(\"l\"))")
        // A path select: its context, its flags in hex, an apply expression by its size.
        #expect(ExpressionDisplay.display(call(4, 0, [.int(0xfe), .list([.int(4), .bool(true)]), .int(1)], bin(4, "l")))
            == "select([[exp(true)], 0x1, bin_list(\"l\"))")
        #expect(ExpressionDisplay.display(call(4, 0x40, [.int(0xfe), .list([.int(4), .bool(true)]), .int(4), .list([.int(100)])], bin(4, "l")))
            == "select([[exp(true)], 0x4, <mod_exp/2>, bin_list(\"l\"))")
    }
}
