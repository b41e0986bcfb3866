import Synchronization
import Testing

@testable import CairnIndex

/// Pins every shared-memory layout: a change here breaks attaching files an older build wrote,
/// so it must come with a new `IndexHeader.formatVersionCurrent`.
@Suite struct LayoutTests {
    @Test func indexEntryIsOneCacheLine() {
        #expect(MemoryLayout<IndexEntry>.size <= 64)
        #expect(MemoryLayout<IndexEntry>.stride <= 64)
        #expect(MemoryLayout<IndexEntry>.size == 64)
        #expect(MemoryLayout<IndexEntry>.stride == 64)
        #expect(MemoryLayout<IndexEntry>.alignment == 8)
    }

    @Test func indexEntryOffsets() {
        typealias E = IndexEntry
        #expect(MemoryLayout<E>.offset(of: \.digestWord0) == 0)
        #expect(MemoryLayout<E>.offset(of: \.digestWord1) == 8)
        #expect(MemoryLayout<E>.offset(of: \.digestWord2) == 16)
        #expect(MemoryLayout<E>.offset(of: \.leftHandle) == 20)
        #expect(MemoryLayout<E>.offset(of: \.leftHandle) == IndexEntry.leftHandleOffset)
        #expect(MemoryLayout<E>.offset(of: \.rightHandle) == 24)
        #expect(MemoryLayout<E>.offset(of: \.rightHandle) == IndexEntry.rightHandleOffset)
        #expect(MemoryLayout<E>.offset(of: \.voidTimeSeconds) == 28)
        #expect(MemoryLayout<E>.offset(of: \.generationAndLastUpdateTime) == 32)
        #expect(MemoryLayout<E>.offset(of: \.locationAndFlags) == 40)
        #expect(MemoryLayout<E>.offset(of: \.setID) == 48)
        #expect(MemoryLayout<E>.offset(of: \.deviceIndex) == 50)
        #expect(MemoryLayout<E>.offset(of: \.state) == 51)
        #expect(MemoryLayout<E>.offset(of: \.priority) == 52)
        #expect(MemoryLayout<E>.offset(of: \.binNameIDs) == 56)
    }

    @Test func bitFieldsHoldTheirMaxima() throws {
        let digest = try #require(Digest(hex: "ffffffffffffffffffffffffffffffffffffffff"))
        let record = IndexRecord(
            digest: digest, generation: .max, lastUpdateTimeMs: IndexRecord.lastUpdateTimeMsMax,
            voidTimeSeconds: .max, setID: .max,
            location: RecordLocation(
                deviceIndex: .max, offsetUnits: RecordLocation.offsetUnitsMax, sizeUnits: RecordLocation.sizeUnitsMax),
            flags: .all)
        let entry = IndexEntry(record: record, priority: 7)
        #expect(entry.record == record)
        #expect(entry.locationAndFlags >> 63 == 0, "the spare bit stays zero")
        #expect(entry.binNameIDs == 0, "unknown bin names")
        // Each field alone, so that no field bleeds into a neighbour.
        let zero = IndexRecord(
            digest: digest, generation: 0, lastUpdateTimeMs: 0,
            location: RecordLocation(deviceIndex: 0, offsetUnits: 0, sizeUnits: 0))
        var onlyOffset = zero
        onlyOffset.location.offsetUnits = RecordLocation.offsetUnitsMax
        #expect(IndexEntry(record: onlyOffset, priority: 0).record == onlyOffset)
        var onlySize = zero
        onlySize.location.sizeUnits = RecordLocation.sizeUnitsMax
        #expect(IndexEntry(record: onlySize, priority: 0).record == onlySize)
        var onlyTime = zero
        onlyTime.lastUpdateTimeMs = IndexRecord.lastUpdateTimeMsMax
        #expect(IndexEntry(record: onlyTime, priority: 0).record == onlyTime)
        var onlyGeneration = zero
        onlyGeneration.generation = .max
        #expect(IndexEntry(record: onlyGeneration, priority: 0).record == onlyGeneration)
        for flag in [IndexRecord.Flags.tombstone, .keyStored, .barrier] {
            var onlyFlag = zero
            onlyFlag.flags = flag
            #expect(IndexEntry(record: onlyFlag, priority: 0).record == onlyFlag)
        }
        // Required ranges from the brief: 37-bit offsets (2 TiB) and 8 MiB records.
        #expect(RecordLocation.offsetUnitsMax >= (1 << 37) - 1)
        #expect(Int(RecordLocation.sizeUnitsMax) * RecordLocation.unitSizeBytes >= 8 << 20)
        #expect(IndexRecord.lastUpdateTimeMsMax >= (1 << 40) - 1)
    }

    @Test func locationUnits() {
        let location = RecordLocation(deviceIndex: 3, offsetUnits: 1 << 37, sizeUnits: 10)
        #expect(location.offsetBytes == 2 << 40)
        #expect(location.sizeBytes == 160)
    }

    @Test func headerAndSprigSlotOffsets() {
        typealias H = IndexHeader
        #expect(MemoryLayout<H>.size == 96)
        #expect(MemoryLayout<H>.size <= IndexHeader.regionSizeBytes)
        #expect(MemoryLayout<H>.offset(of: \.magic) == 0)
        #expect(MemoryLayout<H>.offset(of: \.formatVersion) == 8)
        #expect(MemoryLayout<H>.offset(of: \.headerSizeBytes) == 12)
        #expect(MemoryLayout<H>.offset(of: \.entrySizeBytes) == 16)
        #expect(MemoryLayout<H>.offset(of: \.sprigsPerPartition) == 20)
        #expect(MemoryLayout<H>.offset(of: \.stageEntryCount) == 24)
        #expect(MemoryLayout<H>.offset(of: \.entryCountMax) == 32)
        #expect(MemoryLayout<H>.offset(of: \.stageCount) == 40)
        #expect(MemoryLayout<H>.offset(of: \.nextUnusedHandle) == 48)
        #expect(MemoryLayout<H>.offset(of: \.freeListHead) == 56)
        #expect(MemoryLayout<H>.offset(of: \.state) == 60)
        #expect(MemoryLayout<H>.offset(of: \.freeListCount) == 64)
        #expect(MemoryLayout<H>.offset(of: \.prioritySeed) == 72)
        #expect(MemoryLayout<H>.offset(of: \.instanceID) == 80)
        #expect(MemoryLayout<H>.offset(of: \.entryCount) == 88)

        #expect(MemoryLayout<SprigSlot>.stride == 16)
        #expect(MemoryLayout<SprigSlot>.offset(of: \.rootHandle) == 0)
        #expect(MemoryLayout<SprigSlot>.offset(of: \.entryCount) == 4)
        #expect(MemoryLayout<SprigSlot>.offset(of: \.tombstoneCount) == 8)
    }

    @Test func stripeLockFitsItsCacheLine() {
        #expect(MemoryLayout<Mutex<StripeState>>.stride <= StripedLocks.slotStrideBytes)
    }
}
