import CairnTesting
import Testing
@testable import CairnParticle

/// The in-place append gives exactly the bytes and result of the general path (decode the list,
/// run the operation, encode it), and declines what it does not cover.
@Suite struct InPlaceTests {
    struct Generator {
        var random: SplitMix64
        init(state: UInt64) { random = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { random.next() }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

        /// A storable value: scalars of every kind, and lists and maps of them (a map's keys
        /// distinct integers or strings, in canonical order for its flags).
        mutating func value(depth: Int = 0) -> Value {
            switch below(depth < 2 ? 9 : 7) {
            case 0: return .null
            case 1: return .bool(below(2) == 0)
            case 2: return .int(Int64(bitPattern: next()) >> Int64(below(64)))
            case 3: return .double(Double(Int64(bitPattern: next()) >> 20) / 7)
            case 4: return .string(ArraySlice((0..<below(40)).map { _ in UInt8(0x61 + below(26)) }))
            case 5: return .blob(4, ArraySlice((0..<below(300)).map { _ in UInt8(truncatingIfNeeded: next()) }))
            case 6: return .int(Int64(below(300)) - 150)
            case 7: return .list((0..<below(6)).map { _ in value(depth: depth + 1) }, flags: 0)
            default:
                let keys = Set((0..<below(5)).map { _ in Int64(below(1000)) }).sorted()
                return .map(keys.map { MapEntry(.int($0), value(depth: depth + 1)) }, flags: 0)
            }
        }
    }

    func general(_ payload: [UInt8], _ list: [UInt8]) throws -> (bytes: [UInt8], result: Value?) {
        let out = try CDTExecutor.execute(payload: payload, bin: .collection(try Value.decode(list)), isWrite: true)
        return (out.newValue!.encoded, out.result)
    }

    @Test func appendMatchesTheGeneralPathOnRandomLists() throws {
        var g = Generator(state: 13)
        var checked = 0
        for round in 0..<2000 {
            // Sizes around the header forms' edges (fixarray up to 15, array16 from 16).
            let size = [0, 1, 14, 15, 16, 17, g.below(40), g.below(200)][round % 8]
            let list = Value.list((0..<size).map { _ in g.value() }, flags: 0).encoded
            let item = g.value()
            var args: [Value] = [.int(Int64(ListCommand.append.rawValue)), item]
            if g.below(3) == 0 { args.append(.int(Int64(g.below(2)))) }  // an order, ignored: the list exists
            if args.count == 3 && g.below(2) == 0 { args.append(.int(0)) }  // no write flags
            let payload = Value.list(args, flags: 0).encoded
            let fast = try #require(try InPlaceCDT.append(try CDTOperation.decode(payload), storedList: list),
                                    "round \(round): declined")
            let slow = try general(payload, list)
            #expect(fast.bytes == slow.bytes, "round \(round): size \(size), item \(item)")
            #expect(slow.result == .int(Int64(fast.size)), "round \(round)")
            checked += 1
        }
        #expect(checked == 2000)
    }

    @Test func appendAcrossTheArray32HeaderMatchesTheGeneralPath() throws {
        let list = Value.list((0..<65535).map { .int(Int64($0 % 100)) }, flags: 0).encoded
        #expect(list[0] == 0xdc)
        let payload = Value.list([.int(Int64(ListCommand.append.rawValue)), .string(ArraySlice("x".utf8))], flags: 0).encoded
        let fast = try #require(try InPlaceCDT.append(try CDTOperation.decode(payload), storedList: list))
        #expect(fast.bytes.first == 0xdd && fast.size == 65536)
        #expect(fast.bytes == (try general(payload, list)).bytes)
    }

    @Test func appendDeclinesWhatItDoesNotCover() throws {
        let append = Int64(ListCommand.append.rawValue)
        func declines(_ args: [Value], list: Value, context: Bool = false) throws -> Bool {
            var op = try CDTOperation.decode(Value.list(args, flags: 0).encoded)
            if context { op.context = [CDTContextItem(type: 0x10, value: .int(0))] }
            return try InPlaceCDT.append(op, storedList: list.encoded) == nil
        }
        let plain = Value.list([.int(1), .int(2)], flags: 0)
        #expect(try declines([.int(append), .int(3)], list: .list([.int(1), .int(2)], flags: 1)), "ordered list")
        #expect(try declines([.int(append), .int(3), .int(0), .int(1)], list: plain), "ADD_UNIQUE")
        #expect(try declines([.int(append), .int(3), .int(0), .int(8)], list: plain), "NO_FAIL")
        #expect(try declines([.int(2), .list([.int(3)], flags: 0)], list: plain), "append_items")
        #expect(try declines([.int(append), .int(3)], list: .list([.list([.int(1)], flags: 0)], flags: 0), context: true),
                "a context")
        #expect(try declines([.int(append), .int(3)], list: .list([.ext(9, [1, 2, 3])], flags: 0)), "an ext8 first element (c7, as the flags ext)")
        // What the general path refuses, this path refuses the same way.
        let wildcard = Value.list([.int(append), .wildcard], flags: 0).encoded
        #expect(throws: CDTError.self) { try InPlaceCDT.append(try CDTOperation.decode(wildcard), storedList: plain.encoded) }
        #expect(throws: CDTError.self) { try general(wildcard, plain.encoded) }
    }
}
