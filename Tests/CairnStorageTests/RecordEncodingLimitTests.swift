import Testing
@testable import CairnStorage

/// Inputs the format cannot represent are refused with a typed error before a byte is written.
@Suite struct RecordEncodingLimitTests {
    static func live(_ bins: [StoredBin], setName: String? = nil, key: StoredKey? = nil) -> StoredRecord {
        StoredRecord(digest: sequentialDigest(startingAt: 1), lastUpdateMs: 1, generation: 1, setName: setName, userKey: key, bins: bins)
    }
    static let oneBin = [StoredBin(name: "a", particleType: .blob, bytes: [1])]

    @Test func binNames() throws {
        let long = String(repeating: "n", count: 16)
        #expect(encodingError(Self.live([StoredBin(name: long, particleType: .blob, bytes: [])]))
            == .badBinName(long, reason: "16 UTF-8 bytes, at most 15"))
        // An empty bin name is stored (Aerospike allows it); an empty set name is not a set.
        let emptyName = Self.live([StoredBin(name: "", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 19])])
        #expect(encodingError(emptyName) == nil)
        let decoded = try RecordFormat.decode(recordUntrusted: try RecordFormat.encode(emptyName, blockSequence: 1))
        #expect(decoded.record.bins == emptyName.bins)
        #expect(encodingError(Self.live([StoredBin(name: "a\u{0}b", particleType: .blob, bytes: [])]))
            == .badBinName("a\u{0}b", reason: "contains a NUL byte"))
        // 8 two-byte characters: 8 characters but 16 bytes.
        #expect(encodingError(Self.live([StoredBin(name: String(repeating: "é", count: 8), particleType: .blob, bytes: [])])) != nil)
    }

    @Test func setNames() {
        let long = String(repeating: "s", count: 64)
        #expect(encodingError(Self.live(Self.oneBin, setName: long)) == .badSetName(long, reason: "64 UTF-8 bytes, at most 63"))
        #expect(encodingError(Self.live(Self.oneBin, setName: "")) == .badSetName("", reason: "empty"))
        #expect(encodingError(Self.live(Self.oneBin, setName: String(repeating: "s", count: 63))) == nil)
    }

    @Test func keys() {
        #expect(encodingError(Self.live(Self.oneBin, key: StoredKey(particleType: .integer, bytes: [1, 2, 3, 4])))
            == .badKey(reason: "an integer key is 8 bytes, got 4"))
        if case .badKey = encodingError(Self.live(Self.oneBin, key: StoredKey(particleType: .float, bytes: [UInt8](repeating: 0, count: 8)))) {
        } else {
            Issue.record("a float key must be refused")
        }
    }

    @Test func fixedSizeValues() {
        #expect(encodingError(Self.live([StoredBin(name: "i", particleType: .integer, bytes: [1, 2, 3, 4])]))
            == .badBinValue(binName: "i", reason: "a integer value is 8 bytes, got 4"))
        #expect(encodingError(Self.live([StoredBin(name: "f", particleType: .float, bytes: [])])) != nil)
        #expect(encodingError(Self.live([StoredBin(name: "b", particleType: .bool, bytes: [0, 1])])) != nil)
        #expect(encodingError(Self.live([StoredBin(name: "b", particleType: .bool, bytes: [1])])) == nil)
    }

    @Test func binsAndTombstones() {
        var tombstone = StoredRecord.tombstone(digest: sequentialDigest(startingAt: 1), lastUpdateMs: 1, generation: 1)
        tombstone.bins = Self.oneBin
        #expect(encodingError(tombstone) == .invalidField(name: "bins", reason: "a tombstone has no bins (1 given)"))
        #expect(encodingError(Self.live([])) == .invalidField(name: "bins", reason: "a live record needs at least one bin"))
    }

    @Test func lastUpdateTimeFitsIn48Bits() {
        var record = Self.live(Self.oneBin)
        record.lastUpdateMs = FormatLimits.lastUpdateMsMax + 1
        #expect(encodingError(record) == .invalidField(name: "lastUpdateMs", reason: "\(FormatLimits.lastUpdateMsMax + 1) does not fit in 48 bits"))
    }

    @Test func geometryChecksBlockSize() {
        for bad in [0, 4096, 64 * 1024, 3 * 128 * 1024, 16 * 1024 * 1024] {
            #expect(throws: FormatEncodingError.self) { try DeviceGeometry(writeBlockSizeBytes: bad) }
        }
        #expect(DeviceGeometry.default.writeBlockSizeBytes == 1 << 20)
        #expect(DeviceGeometry.default.recordSizeBytesMax == (1 << 20) - 48)
        #expect(DeviceGeometry.default.byteOffset(ofBlock: 3) == 3 << 20)
        #expect(DeviceGeometry.default.blockCount(deviceSizeBytes: (5 << 20) + 7) == 5)
    }

    @Test func errorsReadWell() {
        #expect(FormatEncodingError.recordTooLarge(sizeBytes: 200_000, sizeBytesMax: 131_024).description
            == "record too large: 200000 bytes encoded, at most 131024")
        #expect(FormatDecodingError.badChecksum(stored: 1, computed: 0xABCD).description
            == "bad CRC32C: stored 0x00000001, computed 0x0000abcd")
        #expect(FormatDecodingError.badMagic(found: 0x4943).description == "bad magic: found 0x0000000000004943 (little-endian)")
    }
}
