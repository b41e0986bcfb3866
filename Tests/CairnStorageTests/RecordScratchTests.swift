import CairnModel
import Foundation
import Testing
@testable import CairnStorage

/// Decoding into kept bins (`RecordFormat.decode(recordUntrusted:at:reusing:)`, the memory of a
/// ``RecordScratch``) gives the same records as a fresh decode, whatever the earlier record's
/// bins were, never changes a record still held, and reuses the memory once nothing holds it.
@Suite struct RecordScratchTests {
    static let digest = sequentialDigest(startingAt: 0x30)

    func record(_ bins: [StoredBin]) -> StoredRecord {
        StoredRecord(digest: Self.digest, lastUpdateMs: 5_000, generation: 3, bins: bins)
    }

    func decode(_ bytes: [UInt8], reusing bins: inout [StoredBin]) throws -> StoredRecord {
        try bytes.withUnsafeBytes { raw in try RecordFormat.decode(recordUntrusted: raw, reusing: &bins).record }
    }

    @Test func keptBinsDecodeLikeFreshOnes() throws {
        var generator = SeededGenerator(seed: 77)
        var kept: [StoredBin] = []
        // Records with more, fewer and differently sized bins than the one before.
        for round in 0..<60 {
            let count = 1 + (round * 7) % 5
            let bins = (0..<count).map { i in
                StoredBin(name: "b\(i)", particleType: i % 2 == 0 ? .blob : .string, bytes: generator.bytes((round * 37 + i * 11) % 300))
            }
            let expected = record(bins)
            let bytes = try RecordFormat.encode(expected, blockSequence: 1)
            #expect(try decode(bytes, reusing: &kept) == expected, "round \(round)")
        }
    }

    @Test func aHeldRecordIsNeverOverwritten() throws {
        let first = record([StoredBin(name: "a", particleType: .blob, bytes: [1, 2, 3]), StoredBin(name: "b", particleType: .string, bytes: Array("xyz".utf8))])
        let second = record([StoredBin(name: "c", particleType: .blob, bytes: [9, 9, 9, 9])])
        var kept: [StoredBin] = []
        let held = try decode(try RecordFormat.encode(first, blockSequence: 1), reusing: &kept)
        let next = try decode(try RecordFormat.encode(second, blockSequence: 1), reusing: &kept)
        #expect(held == first)
        #expect(next == second)
    }

    @Test func memoryIsReusedOnceNothingHoldsIt() throws {
        let big = record([StoredBin(name: "v", particleType: .blob, bytes: [UInt8](repeating: 7, count: 1000))])
        let small = record([StoredBin(name: "v", particleType: .blob, bytes: [UInt8](repeating: 8, count: 500))])
        var kept: [StoredBin] = []
        _ = try decode(try RecordFormat.encode(big, blockSequence: 1), reusing: &kept)
        let arrayAddress = kept.withUnsafeBufferPointer { $0.baseAddress }
        let valueAddress = kept[0].bytes.withUnsafeBufferPointer { $0.baseAddress }
        #expect(try decode(try RecordFormat.encode(small, blockSequence: 1), reusing: &kept) == small)
        #expect(kept.withUnsafeBufferPointer { $0.baseAddress } == arrayAddress)
        #expect(kept[0].bytes.withUnsafeBufferPointer { $0.baseAddress } == valueAddress)
    }

    @Test func aScratchServesOnlyItsOwnThread() throws {
        let scratch = RecordScratch()
        #expect(scratch.withBins { _ in 1 } == 1)
        #expect(scratch.takeRecordBins() != nil)
        let elsewhere = OffThread { scratch.withBins { _ in 1 } == nil && scratch.takeRecordBins() == nil }
        #expect(elsewhere.result)
        // Handed back with values in it, the array comes back empty (the values let go).
        var bins = [StoredBin(name: "a", particleType: .blob, bytes: [1])]
        scratch.keep(recordBins: &bins)
        #expect(scratch.takeRecordBins()?.isEmpty == true)
    }
}

/// Runs `body` on a new thread and waits for its answer.
final class OffThread: @unchecked Sendable {
    private(set) var result = false
    init(_ body: @escaping @Sendable () -> Bool) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            result = body()
            done.signal()
        }
        thread.start()
        done.wait()
    }
}
