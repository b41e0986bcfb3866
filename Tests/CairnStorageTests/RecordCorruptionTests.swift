import Testing
@testable import CairnStorage

/// Damaged record bytes are always refused; they never decode to some other record.
@Suite struct RecordCorruptionTests {
    static var samples: [StoredRecord] {
        [
            GoldenBytesTests.goldenRecord,
            .tombstone(digest: sequentialDigest(startingAt: 7), lastUpdateMs: 77, generation: 7, setName: "s"),
        ]
    }

    @Test(arguments: samples)
    func everySingleBitFlipIsDetected(record: StoredRecord) throws {
        let bytes = try RecordFormat.encode(record, blockSequence: 3)
        var checked = 0
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            #expect(decodeResult(damaged).failure != nil, "bit \(bit) flipped: full decode accepted it")
            #expect(summaryResult(damaged).failure != nil, "bit \(bit) flipped: summary accepted it")
            checked += 1
        }
        #expect(checked == bytes.count * 8)
    }

    @Test(arguments: samples)
    func everyTruncationIsDetected(record: StoredRecord) throws {
        let bytes = try RecordFormat.encode(record, blockSequence: 3)
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            guard case .failure(let error) = decodeResult(prefix) else {
                Issue.record("a \(length)-byte prefix decoded")
                continue
            }
            if length >= 8 {
                #expect(error == .truncated(neededBytes: bytes.count, availableBytes: length))
            }
            #expect(summaryResult(prefix).failure != nil)
        }
    }

    @Test func specificFailuresCarryTheirReason() throws {
        let bytes = try RecordFormat.encode(GoldenBytesTests.goldenRecord, blockSequence: 3)
        var badMagic = bytes
        badMagic[0] = 0x44
        #expect(decodeResult(badMagic).failure == .badMagic(found: 0x01EC_5244))

        var unaligned = bytes
        unaligned[4] = 0x61
        #expect(decodeResult(unaligned).failure == .badLength(lengthBytes: 0x61, reason: "not a multiple of 16"))

        var tiny = bytes
        tiny[4] = 0x20
        #expect(decodeResult(tiny).failure == .badLength(lengthBytes: 32, reason: "outside 48 ... \(RecordFormat.recordSizeBytesLimit)"))

        var flipped = bytes
        flipped[50] ^= 0x01
        guard case .badChecksum = decodeResult(flipped).failure else {
            Issue.record("expected a checksum failure")
            return
        }
    }

    /// Bytes whose CRC is valid but whose body was not written by the encoder: the parser behind
    /// the CRC must refuse them cleanly (no trap, no over-read) or accept only canonical encodings.
    @Test func checksumValidGarbageNeverTrapsAndOnlyCanonicalBytesDecode() throws {
        let seed = testSeed("checksumValidGarbageNeverTrapsAndOnlyCanonicalBytesDecode")
        var generator = SeededGenerator(seed: seed)
        var accepted = 0
        for _ in 0..<3_000 {
            let record = randomRecord(&generator, valueBytesMax: 40)
            var bytes = try RecordFormat.encode(record, blockSequence: 11)
            // Mutate 1 ... 4 bytes of the body, then make the CRC right again.
            for _ in 0...(generator.next() % 4) {
                let index = 8 + Int(generator.next() % UInt64(bytes.count - 12))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            let checksum = bytes.withUnsafeBytes { CRC32CForTests.checksum($0[..<(bytes.count - 4)]) }
            for shift in 0..<4 { bytes[bytes.count - 4 + shift] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(shift))) }
            if case .success(let decoded) = decodeResult(bytes) {
                accepted += 1
                #expect(try RecordFormat.encode(decoded.record, blockSequence: UInt64(decoded.blockSequenceTag)) == bytes, "seed \(seed): a non-canonical encoding decoded")
            }
        }
        print("checksum-valid garbage: \(accepted) of 3000 mutations still decoded (canonically)")
    }
}
