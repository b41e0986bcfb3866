// Feeds arbitrary bytes to the filter expression decoder and evaluator, over a fixed record with
// a bin of every type the expressions read (integer, float, string, blob, bool, list, map, HLL).
// Any crash, over-read (ASan) or hang is a bug; a CDTError is the expected answer to garbage.
import CairnParticle

let fuzzRecord: ExpressionRecord = {
    var hll = HLLSketch(indexBits: 4, minhashBits: 4)
    hll.add(Value.string("x").encoded)
    return ExpressionRecord(
        bins: [
            .init(name: "i", particleType: 1, bytes: [0, 0, 0, 0, 0, 0, 0, 5]),
            .init(name: "f", particleType: 2, bytes: [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            .init(name: "s", particleType: 3, bytes: Array("abc".utf8)),
            .init(name: "b", particleType: 4, bytes: [0x01, 0x42, 0x03]),
            .init(name: "t", particleType: 17, bytes: [1]),
            .init(name: "l", particleType: 20, bytes: Value.list([.int(1), .string("a")]).encoded),
            .init(name: "m", particleType: 19, bytes: Value.map([MapEntry(.int(1), .int(2))], flags: 0).encoded),
            .init(name: "h", particleType: 18, bytes: hll.bytes),
        ],
        setName: "demo", key: .string("k"))
}()

func fuzzExp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let filter = try? Expression.decode(bytes) else { return 0 }
    _ = try? Expression.passes(filter, fuzzRecord)
    return 0
}
