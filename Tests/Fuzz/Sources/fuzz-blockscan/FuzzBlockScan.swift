// The cold-start block scanner on a 128 KiB block: once with the fuzz bytes at the start of the
// block (an untrusted header), once behind a valid block header whose used-bytes covers them
// (the record walk and the resynchronisation after damage).
import CairnIO
import CairnStorage

private let blockSizeBytes = FormatLimits.writeBlockSizeBytesMin
private let expectation = BlockScanExpectation(
    namespaceInstanceId: 7, deviceIndex: 0, blockIndex: 3, writeBlockSizeBytes: blockSizeBytes)

func fuzzBlockScan(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: min(size, blockSizeBytes - BlockHeader.sizeBytes))
    var block = [UInt8](repeating: 0, count: blockSizeBytes)
    block.withUnsafeMutableBytes { buffer in
        buffer.copyMemory(from: input)
        scan(UnsafeRawBufferPointer(buffer))
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let header = BlockHeader(
            sequence: 11, namespaceInstanceId: 7, blockIndex: 3, deviceIndex: 0,
            writeBlockSizeBytes: UInt32(blockSizeBytes), usedBytes: UInt32(input.count), recordCount: 1)
        guard (try? header.encode(into: buffer)) != nil else { return }
        UnsafeMutableRawBufferPointer(rebasing: buffer[BlockHeader.sizeBytes...]).copyMemory(from: input)
        scan(UnsafeRawBufferPointer(buffer))
    }
    return 0
}

private func scan(_ block: UnsafeRawBufferPointer) {
    _ = BlockScanner.scan(blockUntrusted: block, expecting: expectation) { event in
        if case .record(let summary) = event, let range = summary.setNameRange {
            _ = String(decoding: UnsafeRawBufferPointer(rebasing: block[range]), as: UTF8.self)
        }
    }
}
