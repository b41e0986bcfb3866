import Testing
@testable import CairnStorage

@Suite struct BlockHeaderTests {
    static let header = BlockHeader(
        sequence: 77, namespaceInstanceId: 0xABCD, blockIndex: 9, deviceIndex: 3, writeBlockSizeBytes: 128 * 1024,
        usedBytes: 4096, recordCount: 12)

    @Test func roundTripsAndFitsIn48Bytes() throws {
        let bytes = try Self.header.encoded()
        #expect(bytes.count == 48 && BlockHeader.sizeBytes % 16 == 0)
        #expect(try decodeBlockHeaderResult(bytes).get() == Self.header)
        #expect(try decodeBlockHeaderResult(bytes + [1, 2, 3]).get() == Self.header)
    }

    @Test func everySingleBitFlipAndTruncationIsDetected() throws {
        let bytes = try Self.header.encoded()
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            #expect(decodeBlockHeaderResult(damaged).failure != nil, "bit \(bit)")
        }
        for length in 0..<bytes.count {
            #expect(decodeBlockHeaderResult(Array(bytes[..<length])).failure == .truncated(neededBytes: 48, availableBytes: length))
        }
    }

    @Test func fieldsAreCheckedBeforeWriting() {
        func problem(_ edit: (inout BlockHeader) -> Void) -> FormatEncodingError? {
            var header = Self.header
            edit(&header)
            do throws(FormatEncodingError) {
                _ = try header.encoded()
                return nil
            } catch {
                return error
            }
        }
        #expect(problem { $0.sequence = 0 } == .invalidField(name: "sequence", reason: "must be ≥ 1"))
        #expect(problem { $0.namespaceInstanceId = 0 } == .invalidField(name: "namespaceInstanceId", reason: "must not be zero"))
        #expect(problem { $0.blockIndex = 0 } == .invalidField(name: "blockIndex", reason: "block 0 holds the device header"))
        #expect(problem { $0.usedBytes = 17 } == .invalidField(name: "usedBytes", reason: "17 is not a multiple of 16"))
        #expect(problem { $0.usedBytes = 128 * 1024 - 32 }
            == .invalidField(name: "usedBytes", reason: "131040 exceeds the block's 131024 record bytes"))
        #expect(problem { $0.usedBytes = 128 * 1024 - 48 } == nil)
        #expect(problem { $0.recordCount = 4096 / 48 + 1 } != nil)
        #expect(problem { $0.deviceIndex = 128 } != nil)
        #expect(problem { $0.writeBlockSizeBytes = 1000 } != nil)
    }
}
