import Testing
@testable import CairnStorage

@Suite struct RandomRoundTripTests {
    @Test func randomRecordsRoundTripAlone() throws {
        let seed = testSeed("randomRecordsRoundTripAlone")
        var generator = SeededGenerator(seed: seed)
        for index in 0..<2_000 {
            let record = randomRecord(&generator)
            let sequence = generator.next() | 1
            let bytes = try RecordFormat.encode(record, blockSequence: sequence)
            let decoded = try decodeResult(bytes).get()
            #expect(decoded.record == record, "seed \(seed), record \(index)")
            #expect(decoded.blockSequenceTag == RecordFormat.blockSequenceTag(sequence))
        }
    }

    @Test func randomRecordsRoundTripThroughBlocks() throws {
        let seed = testSeed("randomRecordsRoundTripThroughBlocks")
        var generator = SeededGenerator(seed: seed)
        for blockNumber in 0..<20 {
            var records: [StoredRecord] = []
            var used = BlockHeader.sizeBytes
            while true {
                let record = randomRecord(&generator, valueBytesMax: 2_000)
                let size = try RecordFormat.encodedSize(of: record)
                if used + size > FormatLimits.writeBlockSizeBytesMin { break }
                used += size
                records.append(record)
            }
            let block = try BuiltBlock(records, sequence: UInt64(blockNumber + 1))
            let (report, events) = block.scan()
            #expect(report.recordCount == records.count, "seed \(seed), block \(blockNumber)")
            let decoded = try block.bytes.withUnsafeBytes { buffer in
                try events.compactMap(\.record).map { summary in
                    try Result { () throws(FormatDecodingError) -> StoredRecord in
                        try RecordFormat.decode(recordUntrusted: buffer, at: summary.offset).record
                    }.get()
                }
            }
            #expect(decoded == records, "seed \(seed), block \(blockNumber)")
        }
    }
}
