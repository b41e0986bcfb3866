import Testing
@testable import CairnParticle

private typealias HLLBin = PayloadBin<HLLCommand>

extension PayloadBin where C == HLLCommand {
    init(bin: BlobBin = .missing) { self.init(bin: bin, execute: HLLExecutor.execute) }

    var sketch: HLLSketch? { bytes.flatMap { HLLSketch(validating: $0) } }
}

private func code(_ body: () throws(CDTError) -> Void) -> UInt8? {
    do { try body() } catch { return error.code }
    return nil
}

private func strings(_ range: Range<Int>) -> Value { .list(range.map { .string("v\($0)") }) }

private func hll(_ s: HLLSketch) -> Value { .blob(HLLSketch.particleType, Bytes(s.bytes)) }

private func near(_ v: Value?, _ expected: Double, _ tolerance: Double) -> Bool {
    switch v {
    case .int(let i)?: return abs(Double(i) - expected) <= expected * tolerance
    case .double(let d)?: return abs(d - expected) <= expected * tolerance
    default: return false
    }
}

@Suite struct HLLOperationTests {
    @Test func murmurHash3MatchesTheReferenceVectors() {
        #expect(murmurHash3x64_128([]) == (0, 0))
        let hello = murmurHash3x64_128(Array("hello".utf8))
        #expect(hello.0 == 0xcbd8_a7b3_41bd_9b02 && hello.1 == 0x5b1e_906a_48ae_1d19)
        let fox = murmurHash3x64_128(Array("The quick brown fox jumps over the lazy dog".utf8))
        #expect(fox.0 == 0xe34b_bc7b_bc07_1b6c && fox.1 == 0x7a43_3ca9_c49a_9347)
    }

    @Test func layoutAndRegisters() throws {
        var sketch = HLLSketch(indexBits: 4, minhashBits: 4)
        #expect(sketch.bytes.count == 11 + (10 * 16 + 7) / 8)
        #expect(Array(sketch.bytes[0..<3]) == [0, 4, 4])
        sketch.setRegister(1, 0x3ff)
        #expect(sketch.register(1) == 0x3ff && sketch.register(0) == 0 && sketch.register(2) == 0)
        #expect(Array(sketch.bytes[11..<14]) == [0x00, 0x3f, 0xf0])
        sketch.cache = 0x0102
        #expect(Array(sketch.bytes[3..<5]) == [0x02, 0x01])  // host (little-endian) order
        #expect(HLLSketch(validating: sketch.bytes) != nil)
        #expect(HLLSketch(validating: Array(sketch.bytes.dropLast())) == nil)
        #expect(HLLSketch(validating: [1] + sketch.bytes.dropFirst()) == nil)
        // An element maps to the register of the hash's low bits, with the trailing-zero value.
        let element = Value.string("a").encoded
        let (h1, h2) = murmurHash3x64_128(element)
        let (r, value) = sketch.hash(element)
        #expect(r == Int(h1 & 15))
        #expect(value == UInt64(h2.trailingZeroBitCount + 1) << 4 | (h1 >> 4) & 15)
    }

    @Test func addCountDescribe() throws {
        var b = HLLBin()
        guard case .int(let added)? = try b.run(.add, strings(0..<1000), .int(12)) else {
            Issue.record("add returns no count")
            return
        }
        #expect(added > 500 && added <= 1000)
        #expect(near(try b.run(.getCount), 1000, 0.05))
        #expect(try b.run(.describe) == .list([.int(12), .int(0)]))
        #expect(try b.run(.add, .list([.string("v1")])) == .int(0))
        let count = try b.run(.refreshCount)
        #expect(b.sketch!.cache != 0)
        #expect(try b.run(.getCount) == count)
        #expect(try b.run(.mayContain, .list([.string("v1")])) == .int(1))
        var empty = HLLBin()
        try empty.run(.initialize, .int(8))
        #expect(try empty.run(.getCount) == .int(0))
        #expect(try empty.run(.describe) == .list([.int(8), .int(0)]))
    }

    @Test func unionIntersectSimilarity() throws {
        var a = HLLBin(), b = HLLBin(), ma = HLLBin(), mb = HLLBin()
        try a.run(.add, strings(0..<1000), .int(12))
        try b.run(.add, strings(500..<1500), .int(12))
        try ma.run(.add, strings(0..<1000), .int(12), .int(20))
        try mb.run(.add, strings(500..<1500), .int(12), .int(20))
        #expect(near(try a.run(.getUnionCount, .list([hll(b.sketch!)])), 1500, 0.05))
        #expect(near(try a.run(.getIntersectCount, .list([hll(b.sketch!)])), 500, 0.25))
        #expect(near(try ma.run(.getSimilarity, .list([hll(mb.sketch!)])), 1.0 / 3, 0.2))
        #expect(near(try ma.run(.getIntersectCount, hll(mb.sketch!)), 500, 0.2))
        guard case .blob(18, let union)? = try a.run(.getUnion, .list([hll(b.sketch!)])) else {
            Issue.record("get_union is not an HLL")
            return
        }
        try a.run(.setUnion, .list([hll(b.sketch!)]))
        #expect(a.sketch!.bytes == Array(union))
        // Folding to fewer index bits keeps the estimate close.
        try b.run(.fold, .int(10))
        #expect(try b.run(.describe) == .list([.int(10), .int(0)]))
        #expect(near(try b.run(.getCount), 1000, 0.1))
    }

    @Test func errorsAsAerospikeAnswers() throws {
        var missing = HLLBin()
        #expect(code { try missing.run(.add, .list([.int(1)])) } == 26)  // no index bits to create with
        #expect(code { try missing.run(.initialize) } == 26)
        #expect(code { try missing.run(.initialize, .int(3)) } == 4)
        #expect(code { try missing.run(.initialize, .int(8), .int(3)) } == 4)
        #expect(code { try missing.run(.initialize, .int(16), .int(51)) } == 4)  // above 64 bits
        #expect(code { try missing.run(.initialize, .int(8), .int(0), .int(2)) } == 17)  // UPDATE_ONLY
        #expect(code { try missing.run(.refreshCount) } == 17)
        #expect(code { try missing.run(.fold, .int(4)) } == 17)
        #expect(code { try missing.run(.add, .list([.list([])]), .int(8)) } == 4)
        #expect(code { try missing.run(.add, .list([]), .int(8)) } == 4)
        #expect(try missing.run(.getCount) == nil)
        try missing.run(.initialize, .int(8), .int(0), .int(2 | 4))
        #expect(missing.bin == .missing)

        var existing = HLLBin()
        try existing.run(.initialize, .int(8), .int(8))
        #expect(code { try existing.run(.initialize, .int(8), .int(0), .int(1)) } == 6)
        #expect(code { try existing.run(.fold, .int(4)) } == 26)  // minhash bits
        #expect(code { try existing.run(.add, .list([.int(1)]), .int(8), .int(0), .int(2)) } == 4)  // UPDATE_ONLY not allowed
        #expect(code { try existing.run(.getUnionCount, .list([.blob(18, [0, 4])])) } == 4)
        let other = HLLSketch(indexBits: 8, minhashBits: 4)
        let three = Value.list([hll(other), hll(other), hll(other)])
        #expect(code { try existing.run(.getIntersectCount, three) } == 26)  // > 2, the bin's minhash differs
        let mixed = Value.list([hll(other), hll(other), hll(HLLSketch(indexBits: 8, minhashBits: 0))])
        #expect(code { try existing.run(.getIntersectCount, mixed) } == 4)  // > 2 with mismatched minhash
        let same = HLLSketch(indexBits: 8, minhashBits: 8)
        #expect(try existing.run(.getIntersectCount, .list([hll(same), hll(same), hll(same)])) == .int(0))

        var plain = HLLBin()
        try plain.run(.initialize, .int(8))
        #expect(code { try plain.run(.fold, .int(9)) } == 26)
        #expect(code { try plain.run(.fold, .int(-1)) } == 26)
        #expect(code { try plain.run(.setUnion, hll(HLLSketch(indexBits: 4, minhashBits: 0))) } == 26)
        try plain.run(.setUnion, hll(HLLSketch(indexBits: 4, minhashBits: 0)), .int(8))  // ALLOW_FOLD
        #expect(try plain.run(.describe) == .list([.int(4), .int(0)]))

        var other2 = HLLBin(bin: .otherType)
        #expect(code { try other2.run(.getCount) } == 12)
        var corrupt = HLLBin(bin: .bytes([0, 4]))
        #expect(code { try corrupt.run(.getCount) } == 1)
    }
}
