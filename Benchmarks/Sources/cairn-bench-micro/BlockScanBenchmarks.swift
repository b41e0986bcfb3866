import Benchmark
import CairnIO
import CairnStorage
import CairnTesting

/// The cold-start hot path: `BlockScanner.scan` of one 1 MiB block full of 512-byte records,
/// next to one plain CRC32C pass over the same bytes (the scan's floor: it checksums every
/// record) as the baseline of the same run.
enum BlockScanBenchmarks {
    static let blockSizeBytes = FormatLimits.writeBlockSizeBytesDefault  // 1 MiB
    static let blockSequence: UInt64 = 42
    static let expectation = BlockScanExpectation(
        namespaceInstanceId: 0xCA12_0000_0000_0001, deviceIndex: 0, blockIndex: 1, writeBlockSizeBytes: blockSizeBytes)

    static let scanName = "block.scan_1MiB"
    static let checksumName = "block.crc32c_1MiB"

    static func make(seed: UInt64) -> [MicroBenchmark] {
        let (block, recordCount) = buildBlock(seed: seed)
        return [
            MicroBenchmark(checksumName, operationsPerIteration: 1) {
                blackHole(block.withUnsafeBytes { CRC32C.checksum($0) })
            },
            MicroBenchmark(scanName, operationsPerIteration: 1, setUp: { benchmark in
                benchmark.note("records_per_block", Double(recordCount))
            }) {
                var visited = 0
                let report = block.withUnsafeBytes { bytes in
                    BlockScanner.scan(blockUntrusted: bytes, expecting: expectation) { event in
                        if case .record(let summary) = event { visited &+= summary.sizeBytes }
                    }
                }
                if report.recordCount != recordCount { fatalError("scan found \(report.recordCount) of \(recordCount) records") }
                blackHole(visited)
            },
        ]
    }

    /// Adds MB/s to the scan and CRC lines, ns per record to the scan, and the scan/CRC ratio.
    static func addDerivedNotes(_ results: inout [MicroResult]) {
        func megabytesPerSecond(_ nsPerBlock: Double) -> Double { Double(blockSizeBytes) / nsPerBlock * 1e9 / 1e6 }
        let crcIndex = results.firstIndex { $0.name == checksumName }
        let scanIndex = results.firstIndex { $0.name == scanName }
        if let crcIndex {
            results[crcIndex].notes.append(("mb_per_s", megabytesPerSecond(results[crcIndex].nsPerOp)))
        }
        guard let scanIndex else { return }
        let scan = results[scanIndex]
        let scanRate = megabytesPerSecond(scan.nsPerOp)
        results[scanIndex].notes.append(("mb_per_s", scanRate))
        if let recordCount = scan.notes.first(where: { $0.0 == "records_per_block" })?.1 {
            results[scanIndex].notes.append(("ns_per_record", scan.nsPerOp / recordCount))
        }
        if let crcIndex {
            results[scanIndex].notes.append(("ratio_to_crc32c", scanRate / megabytesPerSecond(results[crcIndex].nsPerOp)))
        }
    }

    /// A block as the write path leaves it once full: the header, then 512-byte records with
    /// distinct digests tagged with the block's sequence, then a zeroed tail too short for one
    /// more record.
    static func buildBlock(seed: UInt64) -> (AlignedBuffer, recordCount: Int) {
        var generator = SplitMix64(seed: seed ^ 0xB10C)
        let block = AlignedBuffer(countBytes: blockSizeBytes, alignmentBytes: 4096)
        let recordCount = (blockSizeBytes - BlockHeader.sizeBytes) / SampleRecord.encodedSizeBytes
        block.withUnsafeMutableBytes { buffer in
            var offset = BlockHeader.sizeBytes
            for _ in 0..<recordCount {
                let record = SampleRecord.make(digest: SampleRecord.randomDigest(&generator), generator: &generator)
                offset += RecordBenchmarks.encode(record, blockSequence: blockSequence, into: buffer, at: offset)
            }
            let header = BlockHeader(
                sequence: blockSequence,
                namespaceInstanceId: expectation.namespaceInstanceId,
                blockIndex: expectation.blockIndex,
                deviceIndex: expectation.deviceIndex,
                writeBlockSizeBytes: UInt32(blockSizeBytes),
                usedBytes: UInt32(offset - BlockHeader.sizeBytes),
                recordCount: UInt32(recordCount)
            )
            do throws(FormatEncodingError) {
                try header.encode(into: buffer, at: 0)
            } catch {
                fatalError("block header is invalid: \(error)")
            }
        }
        return (block, recordCount)
    }
}
