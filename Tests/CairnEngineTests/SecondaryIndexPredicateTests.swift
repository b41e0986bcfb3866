import Foundation
import CairnParticle
import CairnStorage
import CairnTesting
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
        // An empty bin name decodes (the query names its index or sends its expression; the
        // server refuses it without either).
        #expect(try Predicate.decode(indexRange: range(bin: "", type: 1, int(1), int(2)), collection: .default).binName == "")
        // Truncated, trailing bytes, no filter, a bin name over 15 bytes: 4, never a crash.
        let good = range(bin: "n", type: 1, int(1), int(2))
        let bads: [[UInt8]] = [
            Array(good.dropLast()), good + [0], [0] + Array(good.dropFirst()), range(bin: String(repeating: "n", count: 16), type: 1, int(1), int(2)), [], [1],
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
        // Once, however many of its values match: Aerospike de-duplicates a range on a
        // collection index (de_dup), and an equality takes one distinct value.
        let repeated = Value.list([.int(3), .int(3), .int(4), .string("x")]).encoded
        #expect(Predicate(binName: "b", range: .integers(3, 4), collection: .list).matchCount(bin(.list, repeated)) == 1)
        #expect(Predicate(binName: "b", range: .integers(3, 3), collection: .list).matchCount(bin(.list, repeated)) == 1)
        #expect(Predicate(binName: "b", range: .integers(1, 3), collection: .default).matchCount(bin(.integer, int(3))) == 1)
        // A list bin whose bytes do not decode is not indexed.
        #expect(!Predicate(binName: "b", range: .integers(1, 1), collection: .list).matches(bin(.list, [0x93, 0x01])))
    }

    @Test func contextIndexesIndexWhatTheContextReaches() throws {
        func bin(_ value: Value) -> [StoredBin] {
            [StoredBin(name: "b", particleType: value.encoded.first! & 0xf0 == 0x80 ? .map : .list, bytes: value.encoded)]
        }
        // map_key("scores") then list_index(0): the first score.
        let context = [CDTContextItem(type: 0x22, value: .string("scores")), CDTContextItem(type: 0x10, value: .int(0))]
        let record = Value.map([MapEntry(.string("scores"), .list([.int(7), .list([.int(1), .int(2)])]))], flags: 0)
        let first = Predicate(binName: "b", range: .integers(7, 7), collection: .default, context: context)
        #expect(first.matchCount(bin(record)) == 1)
        #expect(first.matchCount(bin(Value.map([MapEntry(.string("scores"), .list([.int(8)]))], flags: 0))) == 0)
        // The context reaches nothing (a missing key, a list level on a map): nothing indexed.
        #expect(first.matchCount(bin(Value.map([MapEntry(.string("other"), .list([.int(7)]))], flags: 0))) == 0)
        #expect(first.matchCount(bin(Value.list([.int(7)]))) == 0)
        // A list collection under the context: its elements (the record once).
        let inner = [CDTContextItem(type: 0x22, value: .string("scores")), CDTContextItem(type: 0x10, value: .int(1))]
        let elements = Predicate(binName: "b", range: .integers(1, 2), collection: .list, context: inner)
        #expect(elements.matchCount(bin(record)) == 1)
        #expect(Predicate(binName: "b", range: .integers(1, 2), collection: .default, context: inner).matchCount(bin(record)) == 0)
        // A bin that is not a collection reaches nothing.
        #expect(first.matchCount([StoredBin(name: "b", particleType: .integer, bytes: int(7))]) == 0)
    }

    @Test func expressionIndexesIndexTheExpressionsValue() throws {
        // add(bin_int("a"), bin_int("b")) as the index's expression.
        let a = Value.list([.int(81), .int(2), .blob(0x61, Bytes())]), b = Value.list([.int(81), .int(2), .blob(0x62, Bytes())])
        let sum = Value.list([.int(20), a, b])
        func record(_ x: Int64, _ y: Int64?) -> EngineRecord {
            var bins = [StoredBin(name: "a", particleType: .integer, bytes: int(x))]
            if let y { bins.append(StoredBin(name: "b", particleType: .integer, bytes: int(y))) }
            return EngineRecord(generation: 1, voidTime: 0, lastUpdateMs: 0, setName: nil, userKey: nil, bins: bins)
        }
        let digest = Digest(word0: 0, word1: 0, word2: 0)
        let p = Predicate(binName: "", range: .integers(10, 20), collection: .default, expression: sum)
        #expect(p.matchCount(record(4, 7), digest: digest) == 1)
        #expect(p.matchCount(record(4, 70), digest: digest) == 0)
        // Unknown (a missing bin) indexes nothing; so does a value of another type.
        #expect(p.matchCount(record(4, nil), digest: digest) == 0)
        let text = Predicate(binName: "", range: .string(Array("x".utf8)), collection: .default, expression: sum)
        #expect(text.matchCount(record(4, 7), digest: digest) == 0)
        // Without the record's metadata (bins alone) an expression index finds nothing.
        #expect(p.matchCount(record(4, 7).bins) == 0)
        // A list-valued expression under a list index: its elements.
        let pair = Value.list([.int(126), .list([.int(12), .int(15), .int(12)])])
        #expect(Predicate(binName: "", range: .integers(12, 15), collection: .list, expression: pair).matchCount(record(0, 0), digest: digest) == 1)
    }

    @Test func aQueryTakesTheIndexsOwnDefinition() throws {
        let query = Predicate(binName: "", range: .integers(1, 5), collection: .default)
        let context = Value.list([.int(0x10), .int(0)]).encoded
        let definition = SecondaryIndexCatalog.Definition(
            name: "i", setName: nil, binName: "l", keyType: .numeric, collection: .default,
            contextBase64: Data(context).base64EncodedString())
        let used = query.using(definition)
        #expect(used.binName == "l" && used.context == [CDTContextItem(type: 0x10, value: .int(0))])
        #expect(used.matchCount([StoredBin(name: "l", particleType: .list, bytes: Value.list([.int(3)]).encoded)]) == 1)
        // A string index named by an integer query finds nothing.
        var strings = definition
        strings.keyType = .string
        #expect(query.using(strings).matchCount([StoredBin(name: "l", particleType: .list, bytes: Value.list([.int(3)]).encoded)]) == 0)
    }

    /// A default-type index on an integer, string or blob bin compares the stored bytes
    /// (byteMatchCount) without decoding a value; on random bins and ranges it answers what the
    /// decoding path (decodedMatchCount) answers.
    @Test func theByteComparisonAgreesWithTheDecodingPath() {
        var rng = SplitMix64(seed: 0x5eed_1d5)
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...3, using: &rng) } }
        var compared = 0
        for _ in 0..<3000 {
            let bin: StoredBin
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                // Mostly well-formed 8-byte integers near the ranges, sometimes another size.
                let size = Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 0...9, using: &rng) : 8
                let v = Int64.random(in: -6...6, using: &rng)
                bin = StoredBin(name: "x", particleType: .integer, bytes: Array(int(v).suffix(size)) + Array(repeating: 0, count: max(0, size - 8)))
            case 1: bin = StoredBin(name: "x", particleType: .string, bytes: bytes(Int.random(in: 0...2, using: &rng)))
            default: bin = StoredBin(name: "x", particleType: .blob, bytes: bytes(Int.random(in: 0...2, using: &rng)))
            }
            let range: Predicate.Range
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                let a = Int64.random(in: -5...5, using: &rng)
                range = .integers(a, a + Int64.random(in: -1...4, using: &rng))
            case 1: range = .string(bytes(Int.random(in: 0...2, using: &rng)))
            default: range = .blob(bytes(Int.random(in: 0...2, using: &rng)))
            }
            let p = Predicate(binName: "x", range: range, collection: .default)
            let fast = p.byteMatchCount(bin)
            #expect(fast != nil)
            #expect(fast == p.decodedMatchCount(bin), "\(range) \(bin)")
            #expect(p.matchCount([bin]) == p.decodedMatchCount(bin))
            if fast == 1 { compared += 1 }
        }
        #expect(compared > 100)  // the ranges do find values, not only refuse them
        // Not the cheap case: a list index, a context, a float bin.
        let list = Predicate(binName: "x", range: .integers(0, 1), collection: .list)
        #expect(list.byteMatchCount(StoredBin(name: "x", particleType: .integer, bytes: int(1))) == nil)
        #expect(Predicate(binName: "x", range: .integers(0, 1), collection: .default)
            .byteMatchCount(StoredBin(name: "x", particleType: .float, bytes: int(1))) == nil)
    }
}
