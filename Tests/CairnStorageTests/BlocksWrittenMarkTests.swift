import CairnIO
@testable import CairnStorage
import Testing

/// The device header's blocks-written mark (FORMAT.md): stored at offset 52, read back; a header
/// without one (0, written before the mark existed) means "unknown", so the whole device is scanned.
@Suite struct BlocksWrittenMarkTests {
    @Test func markIsStoredAtOffset52AndReadBack() throws {
        var header = sampleDeviceHeader()
        header.blocksWrittenMark = 0x0001_E240  // 123456
        let bytes = try encodeCopy(header, writeGeneration: 3, slot: .b)
        #expect(Array(bytes[52..<56]) == [0x40, 0xE2, 0x01, 0x00])
        let decoded = try decodeCopyResult(bytes, slot: .b).get()
        #expect(decoded.blocksWrittenMark == 123_456)
        #expect(decoded == header)
    }

    @Test func headersWithoutAMarkReadAsUnknown() throws {
        let header = sampleDeviceHeader()  // mark 0, as every header written before the mark
        let bytes = try encodeCopy(header, writeGeneration: 1, slot: .a)
        #expect(Array(bytes[52..<56]) == [0, 0, 0, 0])
        #expect(try decodeCopyResult(bytes, slot: .a).get().blocksWrittenMark == 0)
    }
}
