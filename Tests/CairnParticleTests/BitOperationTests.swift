import Testing
@testable import CairnParticle

/// A bit or HLL bin under test: runs operations the way the engine does (payload, then
/// executor), keeping what a write leaves.
struct PayloadBin<C: PayloadCommand> {
    var bin: BlobBin = .missing
    let execute: (_ payload: [UInt8], _ bin: BlobBin, _ isWrite: Bool) throws(CDTError) -> BlobOutcome

    var bytes: [UInt8]? {
        if case .bytes(let b) = bin { return b }
        return nil
    }

    @discardableResult
    mutating func run(_ command: C, _ args: Value...) throws(CDTError) -> Value? {
        let payload = Value.list([.int(Int64(command.rawValue))] + args).encoded
        let outcome = try execute(payload, bin, command.isWrite)
        if let v = outcome.newValue { bin = .bytes(v) }
        return outcome.result
    }
}

typealias BitBin = PayloadBin<BitCommand>

extension PayloadBin where C == BitCommand {
    init(_ bytes: [UInt8]) { self.init(bin: .bytes(bytes), execute: BitExecutor.execute) }
    init(missing: Void) { self.init(bin: .missing, execute: BitExecutor.execute) }
}

private func blob(_ bytes: [UInt8]) -> Value { .blob(Value.particleTypeBlob, Bytes(bytes)) }

private func code(_ body: () throws(CDTError) -> Void) -> UInt8? {
    do { try body() } catch { return error.code }
    return nil
}

private let sample: [UInt8] = [0b0000_0001, 0b0100_0010, 0b0000_0011, 0b0000_0100, 0b0000_0101]
private let noFail: Int64 = 4
private let partial: Int64 = 8

@Suite struct BitOperationTests {
    /// Aerospike's documented examples on [0x01, 0x42, 0x03, 0x04, 0x05].
    @Test func documentedModifies() throws {
        func after(_ command: BitCommand, _ args: Value...) throws -> [UInt8] {
            var b = BitBin(sample)
            let payload = Value.list([.int(Int64(command.rawValue))] + args).encoded
            let outcome = try BitExecutor.execute(payload: payload, bin: b.bin, isWrite: true)
            b.bin = .bytes(outcome.newValue ?? sample)
            return b.bytes!
        }
        #expect(try after(.resize, .int(10)) == sample + [0, 0, 0, 0, 0])
        #expect(try after(.resize, .int(2), .int(0), .int(1)) == [0x04, 0x05])
        #expect(try after(.insert, .int(1), blob([0xff])) == [0x01, 0xff, 0x42, 0x03, 0x04, 0x05])
        #expect(try after(.insert, .int(7), blob([0xff])) == sample + [0, 0, 0xff])
        #expect(try after(.remove, .int(2), .int(3)) == [0x01, 0x42])
        #expect(try after(.set, .int(13), .int(3), blob([0xe0])) == [0x01, 0x47, 0x03, 0x04, 0x05])
        #expect(try after(.or, .int(17), .int(6), blob([0xa8])) == [0x01, 0x42, 0x57, 0x04, 0x05])
        #expect(try after(.xor, .int(0), .int(8), blob([0xab])) == [0xaa, 0x42, 0x03, 0x04, 0x05])
        #expect(try after(.and, .int(23), .int(9), blob([0x3c, 0x80])) == [0x01, 0x42, 0x02, 0x00, 0x05])
        #expect(try after(.not, .int(25), .int(6)) == [0x01, 0x42, 0x03, 0x7a, 0x05])
        #expect(try after(.lshift, .int(0), .int(8), .int(3)) == [0x08, 0x42, 0x03, 0x04, 0x05])
        #expect(try after(.rshift, .int(0), .int(9), .int(1)) == [0x00, 0xc2, 0x03, 0x04, 0x05])
        #expect(try after(.add, .int(24), .int(16), .int(128), .int(0), .int(0)) == [0x01, 0x42, 0x03, 0x04, 0x85])
        #expect(try after(.subtract, .int(24), .int(16), .int(128), .int(0), .int(0)) == [0x01, 0x42, 0x03, 0x03, 0x85])
        #expect(try after(.setInt, .int(1), .int(8), .int(127)) == [0x3f, 0xc2, 0x03, 0x04, 0x05])
        // Negative offsets count from the end.
        #expect(try after(.setInt, .int(-8), .int(8), .int(0xff)) == [0x01, 0x42, 0x03, 0x04, 0xff])
    }

    @Test func documentedReads() throws {
        var b = BitBin(sample)
        #expect(try b.run(.get, .int(9), .int(5)) == blob([0x80]))
        #expect(try b.run(.get, .int(4), .int(12)) == blob([0x14, 0x20]))
        #expect(try b.run(.count, .int(20), .int(4)) == .int(2))
        #expect(try b.run(.lscan, .int(24), .int(8), .bool(true)) == .int(5))
        #expect(try b.run(.lscan, .int(0), .int(7), .bool(true)) == .int(-1))
        #expect(try b.run(.lscan, .int(0), .int(8), .bool(false)) == .int(0))
        #expect(try b.run(.rscan, .int(32), .int(8), .bool(true)) == .int(7))
        #expect(try b.run(.rscan, .int(32), .int(5), .bool(true)) == .int(-1))
        #expect(try b.run(.getInt, .int(8), .int(16)) == .int(0x4203))
        #expect(try b.run(.getInt, .int(8), .int(2), .int(1)) == .int(1))
        #expect(try b.run(.getInt, .int(9), .int(2), .int(1)) == .int(-2))
        // Ranges wider than 64 bits (a count over 112 bits crashed before the fuzzer found it).
        var wide = BitBin([UInt8](repeating: 0xff, count: 35))
        #expect(try wide.run(.count, .int(79), .int(112)) == .int(112))
        #expect(try wide.run(.get, .int(3), .int(70)) == blob([UInt8](repeating: 0xff, count: 8) + [0xfc]))
        #expect(b.bytes == sample)
        // rscan as Aerospike answers: a match before the offset in the range's first byte.
        var quirk = BitBin([0x80, 0x00])
        #expect(try quirk.run(.rscan, .int(3), .int(13), .bool(true)) == .int(-3))
    }

    @Test func overflowActions() throws {
        var b = BitBin([0xfe])
        #expect(code { try b.run(.add, .int(0), .int(8), .int(2), .int(0), .int(0)) } == 26)
        try b.run(.add, .int(0), .int(8), .int(2), .int(noFail), .int(0))
        #expect(b.bytes == [0xfe])
        try b.run(.add, .int(0), .int(8), .int(2), .int(0), .int(2))  // saturate
        #expect(b.bytes == [0xff])
        try b.run(.add, .int(0), .int(8), .int(2), .int(0), .int(4))  // wrap
        #expect(b.bytes == [0x01])
        #expect(code { try b.run(.subtract, .int(0), .int(8), .int(2), .int(0), .int(0)) } == 26)
        try b.run(.subtract, .int(0), .int(8), .int(2), .int(0), .int(2))
        #expect(b.bytes == [0x00])
        // Signed: 0x7f + 1 overflows; saturate gives the largest positive, wrap the smallest.
        var s = BitBin([0x7f])
        #expect(code { try s.run(.add, .int(0), .int(8), .int(1), .int(0), .int(1)) } == 26)
        try s.run(.add, .int(0), .int(8), .int(1), .int(0), .int(1 | 2))
        #expect(s.bytes == [0x7f])
        try s.run(.add, .int(0), .int(8), .int(1), .int(0), .int(1 | 4))
        #expect(s.bytes == [0x80])
        #expect(code { try s.run(.subtract, .int(0), .int(8), .int(1), .int(0), .int(1)) } == 26)
        try s.run(.subtract, .int(0), .int(8), .int(1), .int(0), .int(1 | 2))
        #expect(s.bytes == [0x80])
        // Sub-byte integers keep the bits around them.
        var n = BitBin([0xff, 0xff])
        try n.run(.setInt, .int(4), .int(5), .int(0))
        #expect(n.bytes == [0xf0, 0x7f])
        try n.run(.add, .int(4), .int(5), .int(3), .int(0), .int(0))
        #expect(n.bytes == [0xf1, 0xff])
        #expect(try n.run(.getInt, .int(4), .int(5)) == .int(3))
    }

    @Test func existenceAndTypeErrors() throws {
        var missing = BitBin(missing: ())
        #expect(code { try missing.run(.set, .int(0), .int(8), blob([1])) } == 17)
        #expect(code { try missing.run(.resize, .int(2), .int(2)) } == 17)  // UPDATE_ONLY
        #expect(code { try missing.run(.insert, .int(-1), blob([1])) } == 4)
        try missing.run(.set, .int(0), .int(8), blob([1]), .int(noFail))
        #expect(missing.bin == .missing)
        #expect(try missing.run(.get, .int(0), .int(8)) == nil)
        #expect(try missing.run(.get, .int(0)) == nil)  // a read on a missing bin is not parsed
        try missing.run(.resize, .int(0))
        #expect(missing.bin == .missing)
        try missing.run(.insert, .int(2), blob([7]))
        #expect(missing.bytes == [0, 0, 7])

        var existing = BitBin([1])
        #expect(code { try existing.run(.resize, .int(4), .int(1)) } == 6)  // CREATE_ONLY
        try existing.run(.resize, .int(4), .int(1 | noFail))
        #expect(existing.bytes == [1])

        var other = BitBin(missing: ())
        other.bin = .otherType
        #expect(code { try other.run(.get, .int(0), .int(8)) } == 12)
        #expect(code { try other.run(.resize, .int(4)) } == 12)
        #expect(code { try other.run(.resize, .int(4), .int(1)) } == 6)
    }

    @Test func rangeErrors() throws {
        var b = BitBin([0xff, 0x00])
        #expect(code { try b.run(.get, .int(16), .int(1)) } == 26)
        #expect(code { try b.run(.get, .int(9), .int(8)) } == 26)
        #expect(code { try b.run(.getInt, .int(-17), .int(8)) } == 4)
        #expect(code { try b.run(.set, .int(12), .int(8), blob([0xff])) } == 26)
        #expect(code { try b.run(.remove, .int(2), .int(1)) } == 4)
        #expect(code { try b.run(.remove, .int(1), .int(2)) } == 4)
        #expect(code { try b.run(.add, .int(12), .int(8), .int(1)) } == 26)
        #expect(code { try b.run(.add, .int(12), .int(8), .int(1), .int(partial)) } == 4)  // PARTIAL not allowed
        try b.run(.add, .int(12), .int(8), .int(1), .int(noFail))
        try b.run(.set, .int(12), .int(8), blob([0xff]), .int(partial))
        #expect(b.bytes == [0xff, 0x0f])
        try b.run(.remove, .int(1), .int(4), .int(partial))
        #expect(b.bytes == [0xff])
        try b.run(.resize, .int(0))
        #expect(b.bytes == [])
    }

    @Test func malformedPayloads() {
        var b = BitBin([0])
        #expect(code { try b.run(.get, .int(0), .int(0)) } == 4)  // size 0
        #expect(code { try b.run(.getInt, .int(0), .int(65)) } == 4)
        #expect(code { try b.run(.get, .int(0), .int(8), .int(1)) } == 4)  // arity
        #expect(code { try b.run(.set, .int(0), .int(16), blob([1])) } == 4)  // short buffer
        #expect(code { try b.run(.insert, .int(0), blob([])) } == 4)
        #expect(code { try b.run(.resize, .int(1), .int(1 | 2)) } == 4)  // CREATE_ONLY | UPDATE_ONLY
        #expect(code { try b.run(.resize, .int(1), .int(0), .int(2 | 4)) } == 4)
        #expect(code { try b.run(.add, .int(0), .int(8), .int(1), .int(0), .int(2 | 4)) } == 4)
        #expect(code { try b.run(.lscan, .int(0), .int(8), .int(1)) } == 4)
        let readAsWrite = Value.list([.int(50), .int(0), .int(8)]).encoded
        #expect(code { _ = try BitExecutor.execute(payload: readAsWrite, bin: .bytes([0]), isWrite: true) } == 4)
        #expect(code { _ = try BitExecutor.execute(payload: [0xc0], bin: .bytes([0]), isWrite: true) } == 4)
    }

    /// The input that crashes Aerospike CE 8.1: rshift with PARTIAL on a range past the end of a
    /// short blob. Cairn cuts the range at the end of the blob.
    @Test func partialShiftPastTheEnd() throws {
        var b = BitBin([0xff, 0xff])
        try b.run(.rshift, .int(8), .int(4096), .int(3000), .int(partial))
        #expect(b.bytes == [0xff, 0x00])
        var c = BitBin([0xff, 0xf0])
        try c.run(.rshift, .int(12), .int(64), .int(1), .int(partial))
        #expect(c.bytes == [0xff, 0xf0])
        try c.run(.lshift, .int(4), .int(64), .int(4), .int(partial))
        #expect(c.bytes == [0xff, 0x00])
    }

    /// Random ranges against a bit-by-bit model of the range operations.
    @Test func randomRangesMatchABitModel() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            let n = Int.random(in: 1...6, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let offset = Int.random(in: 0..<(n * 8), using: &rng)
            let size = Int.random(in: 1...(n * 8 - offset), using: &rng)
            let shift = Int.random(in: 0...(size + 2), using: &rng)
            var bits = (0..<(n * 8)).map { BitRange.bit(bytes, $0) }
            let range = Array(bits[offset..<(offset + size)])
            let shifted = (0..<size).map { $0 + shift < size ? range[$0 + shift] : false }
            for (i, v) in shifted.enumerated() { bits[offset + i] = v }
            let expected = (0..<n).map { byte in
                (0..<8).reduce(UInt8(0)) { $0 << 1 | (bits[byte * 8 + $1] ? 1 : 0) }
            }
            var b = BitBin(bytes)
            try b.run(.lshift, .int(Int64(offset)), .int(Int64(size)), .int(Int64(shift)))
            #expect(b.bytes == expected, "lshift \(bytes) \(offset) \(size) \(shift)")
            try b.run(.not, .int(Int64(offset)), .int(Int64(size)))
            #expect(try b.run(.count, .int(Int64(offset)), .int(Int64(size))) == .int(Int64(shifted.filter { !$0 }.count)))
        }
    }
}
