import Testing
@testable import CairnStorage

/// Format version 1, pinned byte for byte. If one of these fails, the on-device format changed:
/// that needs a new format version, not a new expected value.
@Suite struct GoldenBytesTests {
    /// The record of FORMAT.md's worked example.
    static let goldenRecord = StoredRecord(
        digest: key1Digest,
        lastUpdateMs: 0x0123_4567_89AB,
        generation: 3,
        voidTime: 0x1234_5678,
        setName: "demo",
        userKey: .string("key1"),
        bins: [
            StoredBin(name: "a", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 42]),
            StoredBin(name: "s", particleType: .string, bytes: Array("hi".utf8)),
        ]
    )

    // The CRC32C values below were cross-checked with an independent bitwise CRC32C (Castagnoli,
    // reflected polynomial 0x82F63B78) over the same bytes.

    /// `goldenRecord` written into a block of sequence `0x5_00000009`.
    static let goldenRecordBytes = bytesFromHex("""
        43 52 ec 01 60 00 00 00 0e 00 03 00 02 00 ab 89
        67 45 23 01 ec 91 19 2d 4b 7f 8c e3 5d 5d 78 d3
        4b ca 65 cb aa aa c9 60 09 00 00 00 78 56 34 12
        04 64 65 6d 6f 03 04 00 00 00 6b 65 79 31 01 61
        01 08 00 00 00 00 00 00 00 00 00 00 2a 01 73 03
        02 00 00 00 68 69 00 00 00 00 00 00 b8 1f 4e 8d
        """)

    @Test func recordEncodesToPinnedBytes() throws {
        let expected = Self.goldenRecordBytes
        let encoded = try RecordFormat.encode(Self.goldenRecord, blockSequence: 0x0000_0005_0000_0009)
        #expect(RecordFormat.magic == 0x01EC_5243)
        #expect(try RecordFormat.encodedSize(of: Self.goldenRecord) == 96)
        #expect(hexLines(encoded) == hexLines(expected), "record bytes:\n\(hexLines(encoded))")
        let decoded = try RecordFormat.decode(recordUntrusted: expected)
        #expect(decoded.record == Self.goldenRecord)
        #expect(decoded.sizeBytes == 96)
        #expect(decoded.blockSequenceTag == 9)
    }

    @Test func tombstoneEncodesToPinnedBytes() throws {
        let tombstone = StoredRecord.tombstone(digest: sequentialDigest(startingAt: 0x10), lastUpdateMs: 1, generation: 0xFFFF)
        let expected = bytesFromHex("""
            43 52 ec 01 30 00 00 00 01 00 ff ff 00 00 01 00
            00 00 00 00 10 11 12 13 14 15 16 17 18 19 1a 1b
            1c 1d 1e 1f 20 21 22 23 01 00 00 00 17 88 1c 56
            """)
        let encoded = try RecordFormat.encode(tombstone, blockSequence: 1)
        #expect(encoded.count == RecordFormat.recordSizeBytesMin)
        #expect(hexLines(encoded) == hexLines(expected), "tombstone bytes:\n\(hexLines(encoded))")
    }

    @Test func blockHeaderEncodesToPinnedBytes() throws {
        let header = BlockHeader(
            sequence: 0x0102_0304_0506_0708, namespaceInstanceId: 0x1122_3344_5566_7788, blockIndex: 5,
            deviceIndex: 1, writeBlockSizeBytes: 1 << 20, usedBytes: 0x60, recordCount: 1)
        let expected = bytesFromHex("""
            43 42 ec 01 60 00 00 00 08 07 06 05 04 03 02 01
            88 77 66 55 44 33 22 11 05 00 00 00 01 00 00 00
            00 00 10 00 01 00 00 00 00 00 00 00 07 0b 43 87
            """)
        let encoded = try header.encoded()
        #expect(hexLines(encoded) == hexLines(expected), "block header bytes:\n\(hexLines(encoded))")
        #expect(try decodeBlockHeaderResult(expected).get() == header)
    }

    @Test func deviceHeaderCopyEncodesToPinnedBytes() throws {
        let zeros = { (count: Int) in String(repeating: "00 ", count: count) }
        let expected = bytesFromHex("""
            43 41 49 52 4e 44 45 56 01 00 00 00 14 01 00 00
            03 00 00 00 00 00 00 00 88 77 66 55 44 33 22 11
            00 00 10 00 00 01 00 00 01 00 02 00 01 00 00 00
            01 00 00 00 00 00 00 00 04 03 02 01 00 00 00 00
            fe ca 00 00 00 00 00 00 07 00 00 00 00 00 00 00
            00 00 00 00 00 01 00 00 04 74 65 73 74 00 00 00
            \(zeros(16))
            00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00
            04 64 65 6d 6f \(zeros(59))
            55 00 00 00 00 00 00 00
            05 75 73 65 72 73 \(zeros(58))
            0d 0c 0b 0a 00 00 00 00
            4c 49 c4 de
            """)
        let slot = try encodeCopy(sampleDeviceHeader(), writeGeneration: 3, slot: .b)
        #expect(DeviceHeaderFormat.encodedSizeBytes(of: sampleDeviceHeader()) == 276)
        #expect(hexLines(Array(slot[0..<276])) == hexLines(expected), "header bytes:\n\(hexLines(Array(slot[0..<276])))")
        #expect(slot[276...].allSatisfy { $0 == 0 }, "the rest of the slot is zero-filled")
    }

    /// Version 2: the same header with an eviction mark inserted at offset 128 (FORMAT.md).
    @Test func deviceHeaderWithEvictionMarkEncodesToPinnedVersion2Bytes() throws {
        let zeros = { (count: Int) in String(repeating: "00 ", count: count) }
        var header = sampleDeviceHeader()
        header.truncation.raiseEvictionMark(voidTime: 0x1F2E_3D4C, lutMs: 0x0102_0304_0506)
        let expected = bytesFromHex("""
            43 41 49 52 4e 44 45 56 02 00 00 00 24 01 00 00
            03 00 00 00 00 00 00 00 88 77 66 55 44 33 22 11
            00 00 10 00 00 01 00 00 01 00 02 00 01 00 00 00
            01 00 00 00 00 00 00 00 04 03 02 01 00 00 00 00
            fe ca 00 00 00 00 00 00 07 00 00 00 00 00 00 00
            00 00 00 00 00 01 00 00 04 74 65 73 74 00 00 00
            \(zeros(16))
            00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00
            4c 3d 2e 1f 00 00 00 00 06 05 04 03 02 01 00 00
            04 64 65 6d 6f \(zeros(59))
            55 00 00 00 00 00 00 00
            05 75 73 65 72 73 \(zeros(58))
            0d 0c 0b 0a 00 00 00 00
            a2 c5 4f 1c
            """)
        let slot = try encodeCopy(header, writeGeneration: 3, slot: .b)
        #expect(DeviceHeaderFormat.encodedSizeBytes(of: header) == 292)
        #expect(hexLines(Array(slot[0..<292])) == hexLines(expected), "header bytes:\n\(hexLines(Array(slot[0..<292])))")
        #expect(slot[292...].allSatisfy { $0 == 0 }, "the rest of the slot is zero-filled")
    }

    /// A record written over a durable delete: the golden record with flag bit 4 (barrier).
    @Test func recordWithBarrierEncodesToPinnedBytes() throws {
        var record = Self.goldenRecord
        record.barrier = true
        // The golden bytes with flags 0x1e (bit 4 added) and the CRC32C that follows from it.
        var expected = Self.goldenRecordBytes
        expected[8] = 0x1e
        expected.replaceSubrange(92..<96, with: bytesFromHex("79 cd 8f 4c"))
        let encoded = try RecordFormat.encode(record, blockSequence: 0x0000_0005_0000_0009)
        #expect(hexLines(encoded) == hexLines(expected), "record bytes:\n\(hexLines(encoded))")
        let decoded = try RecordFormat.decode(recordUntrusted: expected)
        #expect(decoded.record == record)
        #expect(decoded.record.barrier)
        let summary = expected.withUnsafeBytes { buffer in
            Result { () throws(FormatDecodingError) -> RecordSummary in try RecordFormat.decodeSummary(recordUntrusted: buffer) }
        }
        #expect((try? summary.get())?.hasBarrier == true)
    }

    /// A tombstone is a barrier itself: the flag on a tombstone is damage, and is never written.
    @Test func tombstoneWithBarrierIsRefused() throws {
        var bytes = try RecordFormat.encode(
            StoredRecord.tombstone(digest: sequentialDigest(startingAt: 0x10), lastUpdateMs: 1, generation: 0xFFFF), blockSequence: 1)
        bytes[8] |= RecordFlags.barrier.rawValue
        let crc = bytes.withUnsafeBytes { CRC32CForTests.checksum($0[0..<(bytes.count - 4)]) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((bytes.count - 4)..., with: $0) }
        #expect(throws: FormatDecodingError.badField(name: "flags", reason: "a tombstone with the barrier bit")) {
            try RecordFormat.decode(recordUntrusted: bytes)
        }
        var tombstone = StoredRecord.tombstone(digest: sequentialDigest(startingAt: 0x10), lastUpdateMs: 1, generation: 1)
        tombstone.barrier = true
        #expect(throws: FormatEncodingError.self) { try RecordFormat.encode(tombstone, blockSequence: 1) }
    }

    /// Header flag bit 1: records may carry the barrier flag (builds without it refuse the flag).
    @Test func deviceHeaderWithBarrierRecordsSetsFlagBit1() throws {
        var header = sampleDeviceHeader()
        header.barrierRecords = true
        let slot = try encodeCopy(header, writeGeneration: 3, slot: .b)
        let plain = try encodeCopy(sampleDeviceHeader(), writeGeneration: 3, slot: .b)
        #expect(slot[48] == 0x03 && plain[48] == 0x01, "clean shutdown and barrier records")
        #expect(Array(slot[0..<48]) == Array(plain[0..<48]) && Array(slot[49..<272]) == Array(plain[49..<272]))
        #expect(hexLines(Array(slot[272..<276])) == hexLines(bytesFromHex("1c 6a 66 3d")), "CRC32C")
        #expect((try? decodeCopyResult(slot, slot: .b).get())?.barrierRecords == true)
        #expect((try? decodeCopyResult(plain, slot: .b).get())?.barrierRecords == false)
    }
}
