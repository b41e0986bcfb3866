import CairnModel
import Testing
@testable import CairnStorage

@Suite struct RecordRoundTripTests {
    static let digest = sequentialDigest(startingAt: 0xA0)

    /// Encodes, decodes (full and summary) and checks both against the input.
    func roundTrip(_ record: StoredRecord, blockSequence: UInt64 = 42, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = try RecordFormat.encode(record, blockSequence: blockSequence)
        #expect(bytes.count == (try RecordFormat.encodedSize(of: record)), sourceLocation: sourceLocation)
        #expect(bytes.count % 16 == 0, sourceLocation: sourceLocation)
        let decoded = try decodeResult(bytes).get()
        #expect(decoded.record == record, sourceLocation: sourceLocation)
        #expect(decoded.sizeBytes == bytes.count, sourceLocation: sourceLocation)
        #expect(decoded.blockSequenceTag == RecordFormat.blockSequenceTag(blockSequence), sourceLocation: sourceLocation)
        let summary = try summaryResult(bytes).get()
        #expect(summary.digest == record.digest, sourceLocation: sourceLocation)
        #expect(summary.flags == record.flags, sourceLocation: sourceLocation)
        #expect(summary.lastUpdateMs == record.lastUpdateMs, sourceLocation: sourceLocation)
        #expect(summary.generation == record.generation, sourceLocation: sourceLocation)
        #expect(summary.voidTime == record.voidTime, sourceLocation: sourceLocation)
        #expect(Int(summary.binCount) == record.bins.count, sourceLocation: sourceLocation)
        #expect(summary.sizeBytes == bytes.count, sourceLocation: sourceLocation)
        let setBytes = summary.setNameRange.map { Array(bytes[$0]) }
        #expect(setBytes == record.setName.map { Array($0.utf8) }, sourceLocation: sourceLocation)
        // The bin names in place, as the cold start reads them; a body that stops ends the walk.
        var names: [String] = []
        let complete = bytes.withUnsafeBytes { buffer in
            RecordFormat.forEachBinName(of: summary, in: buffer) { names.append(String(decoding: $0, as: UTF8.self)); return true }
        }
        #expect(complete && names == record.bins.map(\.name), sourceLocation: sourceLocation)
        if !record.bins.isEmpty {
            var visited = 0
            let stopped = bytes.withUnsafeBytes { buffer in RecordFormat.forEachBinName(of: summary, in: buffer) { _ in visited += 1; return false } }
            #expect(!stopped && visited == 1, sourceLocation: sourceLocation)
        }
        // Defrag's verbatim copy into a block of another sequence: the same record, the new
        // tag, a CRC that verifies, and every other byte unchanged.
        let moved = blockSequence &+ 0x1_0000_0007
        var copy = [UInt8](repeating: 0xEE, count: bytes.count)
        bytes.withUnsafeBytes { source in
            copy.withUnsafeMutableBytes { RecordFormat.copy(record: source, blockSequence: moved, into: $0) }
        }
        let copied = try decodeResult(copy).get()
        #expect(copied.record == record && copied.sizeBytes == bytes.count, sourceLocation: sourceLocation)
        #expect(copied.blockSequenceTag == RecordFormat.blockSequenceTag(moved), sourceLocation: sourceLocation)
        let changed = bytes.indices.filter { bytes[$0] != copy[$0] }
        #expect(changed.allSatisfy { (40..<44).contains($0) || $0 >= bytes.count - 4 }, "\(changed)", sourceLocation: sourceLocation)
        #expect(changed.contains { (40..<44).contains($0) }, sourceLocation: sourceLocation)
    }

    @Test(arguments: ParticleType.allCases.filter(\.isStorable))
    func everyParticleTypeRoundTrips(type: ParticleType) throws {
        var generator = SeededGenerator(seed: UInt64(type.rawValue))
        for length in [0, 1, 15, 16, 17, 300] {
            let value = type.fixedValueSizeBytes.map { generator.bytes($0) } ?? generator.bytes(length)
            let record = StoredRecord(
                digest: Self.digest, lastUpdateMs: 1_000, generation: 1,
                bins: [StoredBin(name: "v", particleType: type, bytes: value)])
            try roundTrip(record)
        }
    }

    /// NIL and VECTOR travel on the wire but are never stored: encoding refuses them, and a
    /// record carrying one on the device does not decode.
    @Test(arguments: [ParticleType.null, .vector])
    func wireOnlyParticleTypesAreNeverStored(type: ParticleType) throws {
        let bad = StoredRecord(digest: Self.digest, lastUpdateMs: 1_000, generation: 1,
                               bins: [StoredBin(name: "v", particleType: type, bytes: [])])
        #expect(throws: FormatEncodingError.self) { try RecordFormat.encode(bad, blockSequence: 1) }
        // The same record with a blob, its type byte then patched to the wire-only id (and the
        // CRC recomputed, so only the type check can refuse it).
        let good = StoredRecord(digest: Self.digest, lastUpdateMs: 1_000, generation: 1,
                                bins: [StoredBin(name: "v", particleType: .blob, bytes: [])])
        var bytes = try RecordFormat.encode(good, blockSequence: 1)
        let typeOffset = try #require(bytes.indices.last { i in
            i + 5 < bytes.count && bytes[i] == ParticleType.blob.rawValue && bytes[(i + 1)...(i + 4)].allSatisfy { $0 == 0 }
                && i >= 2 && bytes[i - 2] == 1 && bytes[i - 1] == UInt8(ascii: "v")
        })
        bytes[typeOffset] = type.rawValue
        let crc = bytes.withUnsafeBytes { CRC32CForTests.checksum($0[0..<(bytes.count - 4)]) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((bytes.count - 4)..., with: $0) }
        #expect(throws: FormatDecodingError.self) { try RecordFormat.decode(recordUntrusted: bytes) }
    }

    /// The cold start's bin-name memo packs a name by loading 16 bytes and masking them: the
    /// same two words as copying only the name's bytes, whatever follows the name, and no two
    /// names (lengths 0 ... 15, a trailing zero byte included) pack alike.
    @Test func binNamesPackAloneWhateverFollowsThem() {
        var generator = SeededGenerator(seed: 7)
        var seen: [String: [UInt8]] = [:]
        for count in 0...FormatLimits.binNameBytesMax {
            for variant in 0..<3 {
                var name = generator.bytes(count)
                if variant == 1, count > 0 { name[count - 1] = 0 }
                let bytes = name + generator.bytes(16)
                bytes.withUnsafeBytes { buffer in
                    let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                    let loaded = NamespaceStorage.BinNameMemo.packed(slice, blockEnd: buffer.baseAddress! + buffer.count)
                    let copied = NamespaceStorage.BinNameMemo.packed(slice, blockEnd: buffer.baseAddress! + count)
                    #expect(loaded == copied, "\(count) bytes")
                    let key = "\(loaded.0),\(loaded.1)"
                    #expect(seen[key] == nil || seen[key] == name, "\(name) packs like \(seen[key] ?? [])")
                    seen[key] = name
                }
            }
        }
    }

    @Test func tombstonesRoundTrip() throws {
        try roundTrip(.tombstone(digest: Self.digest, lastUpdateMs: 5, generation: 2))
        try roundTrip(.tombstone(digest: Self.digest, lastUpdateMs: 5, generation: 2, setName: "s", userKey: .integer(-1)))
        var withVoidTime = StoredRecord.tombstone(digest: Self.digest, lastUpdateMs: 5, generation: 2)
        withVoidTime.voidTime = 99
        try roundTrip(withVoidTime)
        #expect(try summaryResult(RecordFormat.encode(withVoidTime, blockSequence: 1)).get().isTombstone)
    }

    @Test func setKeyAndVoidTimeCombinationsRoundTrip() throws {
        let keys: [StoredKey?] = [nil, .integer(0), .integer(.min), .string(""), .string("ключ"), .blob([]), .blob([0, 255, 7])]
        for setName in [nil, "demo", "é"] as [String?] {
            for key in keys {
                for voidTime in [0, 1, UInt32.max] as [UInt32] {
                    try roundTrip(StoredRecord(
                        digest: Self.digest, lastUpdateMs: FormatLimits.lastUpdateMsMax, generation: .max, voidTime: voidTime,
                        setName: setName, userKey: key,
                        bins: [StoredBin(name: "n", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 1])]))
                }
            }
        }
    }

    @Test func integerKeyIsBigEndian() {
        #expect(StoredKey.integer(1).bytes == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(StoredKey.integer(-1).bytes == [UInt8](repeating: 0xFF, count: 8))
    }

    @Test func maximumNamesRoundTrip() throws {
        let setName = String(repeating: "s", count: FormatLimits.setNameBytesMax)
        let binName = String(repeating: "é", count: 7) + "b"  // 15 bytes
        #expect(binName.utf8.count == FormatLimits.binNameBytesMax)
        try roundTrip(StoredRecord(
            digest: Self.digest, lastUpdateMs: 1, generation: 1, setName: setName,
            bins: [StoredBin(name: binName, particleType: .string, bytes: Array("x".utf8))]))
    }

    @Test(arguments: [FormatLimits.writeBlockSizeBytesMin, FormatLimits.writeBlockSizeBytesDefault, FormatLimits.writeBlockSizeBytesMax])
    func largestRecordFillsTheBlockExactly(writeBlockSizeBytes: Int) throws {
        let geometry = try DeviceGeometry(writeBlockSizeBytes: writeBlockSizeBytes)
        // 44 fixed + 4 CRC + one bin "x" of 1 + 1 + 1 + 4 header bytes = 55 bytes around the value.
        let valueBytes = geometry.recordSizeBytesMax - 55
        var record = StoredRecord(
            digest: Self.digest, lastUpdateMs: 1, generation: 1,
            bins: [StoredBin(name: "x", particleType: .blob, bytes: [UInt8](repeating: 0xAB, count: valueBytes))])
        #expect(try RecordFormat.encodedSize(of: record, recordSizeBytesMax: geometry.recordSizeBytesMax) == geometry.recordSizeBytesMax)
        let bytes = try RecordFormat.encode(record, blockSequence: 9, recordSizeBytesMax: geometry.recordSizeBytesMax)
        #expect(try decodeResult(bytes).get().record == record)

        record.bins[0].bytes.append(0)
        #expect(encodingError(record, recordSizeBytesMax: geometry.recordSizeBytesMax)
            == .recordTooLarge(sizeBytes: geometry.recordSizeBytesMax + 16, sizeBytesMax: geometry.recordSizeBytesMax))
    }

    @Test func maximumBinCountRoundTrips() throws {
        let bins = (0..<FormatLimits.binCountMax).map { StoredBin(name: "b\($0 % 1000)", particleType: .blob, bytes: []) }
        let record = StoredRecord(digest: Self.digest, lastUpdateMs: 1, generation: 1, bins: bins)
        try roundTrip(record)
        let tooMany = StoredRecord(digest: Self.digest, lastUpdateMs: 1, generation: 1, bins: bins + [bins[0]])
        #expect(encodingError(tooMany) == .tooManyBins(count: FormatLimits.binCountMax + 1, countMax: FormatLimits.binCountMax))
    }

    @Test func encodesInPlaceAtAnAlignedOffsetWithoutTouchingNeighbours() throws {
        let record = GoldenBytesTests.goldenRecord
        let sizeBytes = try RecordFormat.encodedSize(of: record)
        var buffer = [UInt8](repeating: 0x5A, count: 4096)
        let written = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(FormatEncodingError) -> Int in
                try RecordFormat.encode(record, blockSequence: 0x0000_0005_0000_0009, into: raw, at: 1024)
            }
        }.get()
        #expect(written == sizeBytes)
        #expect(buffer[..<1024].allSatisfy { $0 == 0x5A })
        #expect(buffer[(1024 + sizeBytes)...].allSatisfy { $0 == 0x5A })
        #expect(Array(buffer[1024..<(1024 + sizeBytes)]) == (try RecordFormat.encode(record, blockSequence: 0x0000_0005_0000_0009)))
        let decoded = try buffer.withUnsafeBytes { raw in
            Result { () throws(FormatDecodingError) -> DecodedRecord in try RecordFormat.decode(recordUntrusted: raw, at: 1024) }
        }.get()
        #expect(decoded.record == record)
    }

    @Test func digestBytesAndWordsAgree() {
        let digest = key1Digest
        #expect(digest.bytes == bytesFromHex("ec91192d4b7f8ce35d5d78d34bca65cbaaaac960"))
        #expect(digest.description == "ec91192d4b7f8ce35d5d78d34bca65cbaaaac960")
        #expect(Digest(bytes: digest.bytes)! == digest)
        #expect(digest.partitionID == 492)  // PROTOCOL.md §4.3 table
        #expect(Digest(bytes: bytesFromHex("b7f4b83889e2da67de683e1df6919a1eacc446c8"))!.partitionID == 1207)
    }
}
