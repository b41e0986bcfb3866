import Testing
@testable import CairnParticle

@Suite struct MsgPackTests {
    @Test func integersUseTheSmallestForm() throws {
        let cases: [(Int64, [UInt8])] = [
            (0, [0x00]), (127, [0x7f]), (128, [0xcc, 0x80]), (255, [0xcc, 0xff]), (256, [0xcd, 0x01, 0x00]),
            (65536, [0xce, 0, 1, 0, 0]), (1 << 32, [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (-1, [0xff]), (-32, [0xe0]), (-33, [0xd0, 0xdf]), (-128, [0xd0, 0x80]), (-129, [0xd1, 0xff, 0x7f]),
            (-32769, [0xd2, 0xff, 0xff, 0x7f, 0xff]), (Int64.min, [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (v, bytes) in cases {
            #expect(Value.int(v).encoded == bytes, "\(v)")
            #expect(try Value.decode(bytes) == .int(v))
        }
    }

    @Test func stringsAndBlobsCarryTheirParticleType() throws {
        #expect(Value.string("ab").encoded == [0xa3, 0x03, 0x61, 0x62])
        #expect(Value.blob(4, [1, 2]).encoded == [0xa3, 0x04, 1, 2])
        let long = Value.string(String(repeating: "x", count: 40))
        #expect(long.encoded.prefix(3) == [0xd9, 41, 0x03])
        // bin headers decode too (some clients send them for blobs)
        #expect(try Value.decode([0xc4, 0x03, 0x04, 9, 8]) == .blob(4, [9, 8]))
        #expect(try Value.decode([0xa4, 23, 0x7b, 0x7d, 0x20]) == .geojson([0x7b, 0x7d, 0x20]))
    }

    @Test func orderedListAndMapFlags() throws {
        let ordered = Value.list([.int(1), .int(2)], flags: 1)
        #expect(ordered.encoded == [0x93, 0xc7, 0x00, 0x01, 0x01, 0x02])
        #expect(try Value.decode(ordered.encoded) == ordered)
        let kmap = Value.map([MapEntry(.int(1), .string("a"))], flags: 1)
        #expect(kmap.encoded == [0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0xa2, 0x03, 0x61])
        #expect(try Value.decode(kmap.encoded) == kmap)
    }

    @Test func wildcardAndInfinity() throws {
        #expect(Value.wildcard.encoded == [0xd4, 0xff, 0x00])
        #expect(Value.infinity.encoded == [0xd4, 0xff, 0x01])
        #expect(try Value.decode([0xd4, 0xff, 0x00]) == .wildcard)
        #expect(try Value.decode([0xd4, 0xff, 0x01]) == .infinity)
    }

    @Test func doublesAndFloats() throws {
        #expect(Value.double(1.5).encoded == [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])
        #expect(try Value.decode([0xca, 0x3f, 0xc0, 0, 0]) == .double(1.5))
    }

    @Test func largeHeaders() throws {
        let items = (0..<20).map { Value.int(Int64($0)) }
        let encoded = Value.list(items).encoded
        #expect(encoded.prefix(3) == [0xdc, 0x00, 20])
        #expect(try Value.decode(encoded) == .list(items))
    }

    @Test func malformedInputIsAnError() {
        let inputs: [[UInt8]] = [
            [], [0x92, 0x01], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xc1], [0xd9, 10, 3], [0xcb, 0, 0],
            [0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01], [0x91, 0x01, 0x02],
        ]
        for bytes in inputs {
            #expect(throws: MsgPackError.self) { try Value.decode(bytes) }
        }
        // nesting deeper than the limit
        let deep = [UInt8](repeating: 0x91, count: 300) + [0x01]
        #expect(throws: MsgPackError.self) { try Value.decode(deep) }
    }

    @Test func mixedTypeOrder() {
        // nil < bool < int < string < list < map < blob < double < geojson < infinity
        let ascending: [Value] = [
            .null, .bool(false), .bool(true), .int(-5), .int(3), .string("a"), .string("ab"), .string("b"),
            .list([.int(1)]), .list([.int(1), .int(0)]), .list([.int(2)]),
            .map([MapEntry(.int(9), .int(9))], flags: 0), .map([MapEntry(.int(1), .int(1)), MapEntry(.int(2), .int(2))], flags: 0),
            .blob(4, [0]), .double(-1), .double(0.5), .geojson([0x7b]), .infinity,
        ]
        for i in ascending.indices {
            for j in ascending.indices {
                let c = Value.compare(ascending[i], ascending[j])
                #expect(c == (i < j ? -1 : (i > j ? 1 : 0)), "\(ascending[i]) vs \(ascending[j])")
            }
        }
        #expect(Value.compare(.wildcard, .int(3)) == 0)
        #expect(Value.compare(.list([.int(1), .wildcard]), .list([.int(1), .string("x"), .int(4)])) == 0)
        #expect(Value.compare(.list([.int(2), .wildcard]), .list([.int(1), .string("x")])) == 1)
    }
}
