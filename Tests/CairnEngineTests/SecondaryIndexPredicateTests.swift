import CairnParticle
import CairnStorage
import Testing

@_spi(EngineInternals) @testable import CairnEngine

@Suite struct SecondaryIndexPredicateTests {
    typealias Predicate = SecondaryIndexPredicate

    /// An INDEX_RANGE field as the C client writes it.
    func range(bin: String, type: UInt8, _ begin: [UInt8], _ end: [UInt8]) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * (3 - $0))) } }
        return [1, UInt8(bin.utf8.count)] + Array(bin.utf8) + [type] + length(begin.count) + begin + length(end.count) + end
    }

    func int(_ v: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * (7 - UInt64($0)))) } }

    @Test func decodesTheClientsForms() throws {
        let n = try Predicate.decode(indexRange: range(bin: "n", type: 1, int(-5), int(7)), collection: .default)
        #expect(n == Predicate(binName: "n", range: .integers(-5, 7), collection: .default))
        let s = try Predicate.decode(indexRange: range(bin: "s", type: 3, Array("ab".utf8), Array("ab".utf8)), collection: .mapkeys)
        #expect(s.range == .string(Array("ab".utf8)))
        #expect(throws: Predicate.Problem.self) {
            try Predicate.decode(indexRange: range(bin: "s", type: 3, Array("a".utf8), Array("b".utf8)), collection: .default)
        }
        #expect(throws: Predicate.Problem.self) {
            try Predicate.decode(indexRange: range(bin: "g", type: 23, [1], [1]), collection: .default)
        }
        let square = Array("{\"type\":\"Polygon\",\"coordinates\":[[[-1,-1],[1,-1],[1,1],[-1,1],[-1,-1]]]}".utf8)
        let geo = try Predicate.decode(indexRange: range(bin: "g", type: 23, square, square), collection: .list)
        let inside = Value.list([.geojson(Bytes("{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}".utf8))]).encoded
        let outside = Value.list([.geojson(Bytes("{\"type\":\"Point\",\"coordinates\":[5,5]}".utf8))]).encoded
        #expect(geo.matches([StoredBin(name: "g", particleType: .list, bytes: inside)]))
        #expect(!geo.matches([StoredBin(name: "g", particleType: .list, bytes: outside)]))
        // Truncated, trailing bytes, no filter, empty bin name: 4, never a crash.
        let good = range(bin: "n", type: 1, int(1), int(2))
        let bads: [[UInt8]] = [
            Array(good.dropLast()), good + [0], [0] + Array(good.dropFirst()), range(bin: "", type: 1, int(1), int(2)), [], [1],
        ]
        for bad in bads {
            #expect(throws: Predicate.Problem.self) { try Predicate.decode(indexRange: bad, collection: .default) }
        }
    }

    @Test func matchesAsTheIndexWouldFind() {
        func bin(_ type: ParticleType, _ bytes: [UInt8]) -> [StoredBin] { [StoredBin(name: "b", particleType: type, bytes: bytes)] }
        let list = Value.list([.int(3), .string("x"), .int(40)]).encoded
        let map = Value.map([MapEntry(.string("k"), .int(9)), MapEntry(.int(5), .string("v"))], flags: 0).encoded
        #expect(Predicate(binName: "b", range: .integers(1, 3), collection: .default).matches(bin(.integer, int(3))))
        #expect(!Predicate(binName: "b", range: .integers(1, 2), collection: .default).matches(bin(.integer, int(3))))
        #expect(!Predicate(binName: "c", range: .integers(1, 3), collection: .default).matches(bin(.integer, int(3))))
        #expect(!Predicate(binName: "b", range: .integers(1, 3), collection: .default).matches(bin(.string, Array("3".utf8))))
        #expect(Predicate(binName: "b", range: .string(Array("x".utf8)), collection: .list).matches(bin(.list, list)))
        #expect(Predicate(binName: "b", range: .integers(40, 40), collection: .list).matches(bin(.list, list)))
        #expect(!Predicate(binName: "b", range: .integers(40, 40), collection: .default).matches(bin(.list, list)))
        #expect(Predicate(binName: "b", range: .string(Array("k".utf8)), collection: .mapkeys).matches(bin(.map, map)))
        #expect(!Predicate(binName: "b", range: .string(Array("k".utf8)), collection: .mapvalues).matches(bin(.map, map)))
        #expect(Predicate(binName: "b", range: .integers(5, 5), collection: .mapkeys).matches(bin(.map, map)))
        #expect(Predicate(binName: "b", range: .integers(9, 9), collection: .mapvalues).matches(bin(.map, map)))
        #expect(!Predicate(binName: "b", range: .integers(9, 9), collection: .list).matches(bin(.map, map)))
        // Once per distinct matching value, as Aerospike's index entries.
        let repeated = Value.list([.int(3), .int(3), .int(4), .string("x")]).encoded
        #expect(Predicate(binName: "b", range: .integers(3, 4), collection: .list).matchCount(bin(.list, repeated)) == 2)
        #expect(Predicate(binName: "b", range: .integers(3, 3), collection: .list).matchCount(bin(.list, repeated)) == 1)
        #expect(Predicate(binName: "b", range: .integers(1, 3), collection: .default).matchCount(bin(.integer, int(3))) == 1)
        // A list bin whose bytes do not decode is not indexed.
        #expect(!Predicate(binName: "b", range: .integers(1, 1), collection: .list).matches(bin(.list, [0x93, 0x01])))
    }
}
