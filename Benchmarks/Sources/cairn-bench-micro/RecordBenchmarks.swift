import Benchmark
import CairnIO
import CairnIndex
import CairnStorage
import CairnTesting

/// The record every format benchmark uses: a set name, a void time and three bins (integer,
/// string, blob), 512 bytes on device (44 fixed + 4 void time + 10 set + 19 + 74 + 353 bins
/// + 4 CRC = 508, padded to 512).
enum SampleRecord {
    static let setName = "bench-set"
    static let stringValueBytes = 64
    static let blobValueBytes = 340
    static let encodedSizeBytes = 512

    static func make(digest: Digest, generator: inout SplitMix64) -> StoredRecord {
        let integer = generator.next()
        let integerBytes = (0..<8).map { UInt8(truncatingIfNeeded: integer >> (56 - 8 * UInt64($0))) }  // big-endian
        let string = (0..<stringValueBytes).map { _ in UInt8(ascii: "a") + UInt8(generator.next() % 26) }
        let blob = (0..<blobValueBytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return StoredRecord(
            digest: digest,
            lastUpdateMs: 520_000_000_000,  // 2026, in ms since 2010-01-01
            generation: 3,
            voidTime: 530_000_000,
            setName: setName,
            bins: [
                StoredBin(name: "count", particleType: .integer, bytes: integerBytes),
                StoredBin(name: "name", particleType: .string, bytes: string),
                StoredBin(name: "payload", particleType: .blob, bytes: blob),
            ]
        )
    }

    static func randomDigest(_ generator: inout SplitMix64) -> Digest {
        Digest(word0: generator.next(), word1: generator.next(), word2: UInt32(truncatingIfNeeded: generator.next()))
    }
}

/// Record encode, encoded size, summary decode and full decode of `SampleRecord`.
enum RecordBenchmarks {
    /// Operations per timed iteration: enough that reading the clock twice is noise.
    static let batchCount = 1_000

    static func make(seed: UInt64) -> [MicroBenchmark] {
        var generator = SplitMix64(seed: seed)
        let record = SampleRecord.make(digest: SampleRecord.randomDigest(&generator), generator: &generator)
        let sizeBytes = encodedSize(record)
        precondition(sizeBytes == SampleRecord.encodedSizeBytes, "sample record is \(sizeBytes) bytes")

        // A write buffer as the write path has one: 1 MiB, 4 KiB aligned. Encodes walk through it
        // record slot by record slot, so the stores touch fresh cache lines as real appends do.
        let writeBuffer = AlignedBuffer(countBytes: 1 << 20, alignmentBytes: 4096)
        let slotCount = (writeBuffer.countBytes - BlockHeader.sizeBytes) / sizeBytes
        var slot = 0

        // The same record, encoded once, for the decoders.
        let encoded = AlignedBuffer(countBytes: 4096, alignmentBytes: 4096)
        encoded.withUnsafeMutableBytes { buffer -> Void in
            encode(record, into: buffer, at: 0)
        }

        return [
            MicroBenchmark("record.encode", operationsPerIteration: batchCount) {
                var total = 0
                writeBuffer.withUnsafeMutableBytes { buffer in
                    for _ in 0..<batchCount {
                        total &+= encode(record, into: buffer, at: BlockHeader.sizeBytes + slot * sizeBytes)
                        slot = slot + 1 == slotCount ? 0 : slot + 1
                    }
                }
                blackHole(total)
            },
            MicroBenchmark("record.encoded_size", operationsPerIteration: batchCount) {
                var total = 0
                for _ in 0..<batchCount { total &+= encodedSize(record) }
                blackHole(total)
            },
            MicroBenchmark("record.decode_summary", operationsPerIteration: batchCount) {
                var total = 0
                encoded.withUnsafeBytes { buffer in
                    for _ in 0..<batchCount {
                        do throws(FormatDecodingError) {
                            total &+= try RecordFormat.decodeSummary(recordUntrusted: buffer, at: 0).sizeBytes
                        } catch {
                            fatalError("sample record does not decode: \(error)")
                        }
                    }
                }
                blackHole(total)
            },
            MicroBenchmark("record.decode_full", operationsPerIteration: batchCount) {
                var total = 0
                encoded.withUnsafeBytes { buffer in
                    for _ in 0..<batchCount {
                        do throws(FormatDecodingError) {
                            total &+= try RecordFormat.decode(recordUntrusted: buffer, at: 0).record.bins.count
                        } catch {
                            fatalError("sample record does not decode: \(error)")
                        }
                    }
                }
                blackHole(total)
            },
        ]
    }

    @inline(__always)
    static func encodedSize(_ record: StoredRecord) -> Int {
        do throws(FormatEncodingError) {
            return try RecordFormat.encodedSize(of: record)
        } catch {
            fatalError("sample record is invalid: \(error)")
        }
    }

    @inline(__always)
    @discardableResult
    static func encode(
        _ record: StoredRecord, blockSequence: UInt64 = 42, into buffer: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Int {
        do throws(FormatEncodingError) {
            return try RecordFormat.encode(record, blockSequence: blockSequence, into: buffer, at: offset)
        } catch {
            fatalError("sample record is invalid: \(error)")
        }
    }
}
