import CairnModel
import Testing
@testable import CairnStorage

/// Misuse of the in-place encoders and the scanner is a programmer error and traps (bad data never does).
@Suite struct PreconditionTests {
    @Test func encodingAtAMisalignedOffsetTraps() async {
        await #expect(processExitsWith: .failure) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let record = StoredRecord(digest: Digest(word0: 1, word1: 2, word2: 3), lastUpdateMs: 1, generation: 1,
                                      bins: [StoredBin(name: "a", particleType: .blob, bytes: [1])])
            _ = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(FormatEncodingError) -> Int in try RecordFormat.encode(record, blockSequence: 1, into: raw, at: 8) }
            }
        }
    }

    @Test func encodingPastTheEndOfTheBufferTraps() async {
        await #expect(processExitsWith: .failure) {
            var buffer = [UInt8](repeating: 0, count: 64)
            let record = StoredRecord(digest: Digest(word0: 1, word1: 2, word2: 3), lastUpdateMs: 1, generation: 1,
                                      bins: [StoredBin(name: "a", particleType: .blob, bytes: [UInt8](repeating: 1, count: 40))])
            _ = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(FormatEncodingError) -> Int in try RecordFormat.encode(record, blockSequence: 1, into: raw, at: 0) }
            }
        }
    }

    @Test func scanningLessThanAWholeBlockTraps() async {
        await #expect(processExitsWith: .failure) {
            let partial = [UInt8](repeating: 0, count: 4096)
            let expectation = BlockScanExpectation(namespaceInstanceId: 1, deviceIndex: 0, blockIndex: 1, writeBlockSizeBytes: 1 << 20)
            _ = partial.withUnsafeBytes { BlockScanner.scan(blockUntrusted: $0, expecting: expectation) { _ in } }
        }
    }
}
