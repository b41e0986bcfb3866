import CairnIO
import CairnTesting
import Foundation
import Synchronization
import Testing
@testable import CairnStorage

/// Device header writes (the block-sequence reservation, the blocks-written mark) are made ahead
/// of need by the flusher, so an append opening a block does not write a header while it holds
/// the writer's lock and its record's index stripe. The synchronous writes stay the guarantee.
@Suite struct HeaderUpkeepTests {
    /// Persists made through a sequencer's reservation, and whether `next()` made them.
    final class Persists: Sendable {
        let through = Mutex<[UInt64]>([])
        let failing = Atomic<Bool>(false)
        func persist(_ value: UInt64) throws {
            if failing.load(ordering: .relaxed) { throw StorageError.closed }
            through.withLock { $0.append(value) }
        }
        var values: [UInt64] { through.withLock { $0 } }
    }

    @Test func theReservationIsRenewedAheadAndNextWritesOnlyWhenItRunsOut() throws {
        let persists = Persists()
        let sequencer = BlockSequencer(after: 0)
        sequencer.reserveDurably(step: 64) { try persists.persist($0) }
        #expect(try sequencer.next() == 1)
        #expect(persists.values == [65])  // nothing reserved yet: next() writes it
        try sequencer.renewAhead()
        #expect(persists.values == [65])  // 64 left: not due
        for _ in 2...33 { _ = try sequencer.next() }
        try sequencer.renewAhead()
        #expect(persists.values == [65, 129])  // half a step left: renewed from the reservation's end
        for _ in 34...129 { _ = try sequencer.next() }
        #expect(persists.values == [65, 129])  // every sequence up to 129 is covered
        #expect(try sequencer.next() == 130)
        #expect(persists.values == [65, 129, 194])  // ran out with no renewal: next() writes again
    }

    @Test func aFailedRenewalLeavesTheReservationAsItWas() throws {
        let persists = Persists()
        let sequencer = BlockSequencer(after: 0)
        sequencer.reserveDurably(step: 64) { try persists.persist($0) }
        for _ in 1...40 { _ = try sequencer.next() }
        persists.failing.store(true, ordering: .relaxed)
        #expect(throws: StorageError.self) { try sequencer.renewAhead() }
        persists.failing.store(false, ordering: .relaxed)
        for _ in 41...65 { _ = try sequencer.next() }
        #expect(persists.values == [65])  // the failed renewal raised nothing
        #expect(try sequencer.next() == 66)
        #expect(persists.values == [65, 130])
        try sequencer.renewAhead()  // a later renewal works again (not stuck "renewing")
        #expect(persists.values == [65, 130])  // not due: 64 left
    }

    /// A mark kept the way a device keeps its blocks-written mark, with a small step.
    final class MarkModel: Sendable {
        struct State {
            var mark: UInt32 = 0
            var syncCovers = 0
            var upkeepCalls: [(thread: UInt, nextPristine: UInt32)] = []
        }
        let state = Mutex(State())
        static let step: UInt32 = 8
        func cover(_ block: UInt32) {
            state.withLock { s in
                if block >= s.mark {
                    s.mark = block + Self.step
                    s.syncCovers += 1
                }
            }
        }
        func upkeep(_ next: UInt32) {
            state.withLock { s in
                s.upkeepCalls.append((UInt(pthread_self()), next))
                if next + Self.step / 2 >= s.mark { s.mark = next + Self.step }
            }
        }
    }

    @Test func theFlusherCoversNewBlocksBeforeAnAppendHasTo() throws {
        let dir = try TemporaryDirectory()
        let device = try BlockDevice.open(path: dir.file("u.dat"), options: .init(fileSizeBytes: 8 << 20))
        let blockSize = 128 << 10
        let model = MarkModel()
        let writer = DeviceWriter(device: device, deviceIndex: 0,
                                  configuration: .init(writeBlockSizeBytes: blockSize, flushMaxMs: 1000, commitToDevice: false),
                                  sequencer: BlockSequencer(after: 0), blockHeaderSizeBytes: 64, firstPristineBlock: 1,
                                  beforeFirstUse: { model.cover($0) }, headerUpkeep: { model.upkeep($0) }) { raw, _, _ in
            raw.initializeMemory(as: UInt8.self, repeating: 0xB5)
        }
        writer.start()
        let appender = UInt(pthread_self())
        // One record per block: each append opens a never-written block.
        for _ in 0..<24 {
            _ = try writer.append(sizeBytes: 100_000) { raw, _ in raw.initializeMemory(as: UInt8.self, repeating: 1) }
            let next = writer.nextPristineBlock
            waitUntil { model.state.withLock({ $0.upkeepCalls.last?.nextPristine ?? 0 }) >= next }
        }
        try writer.close()
        let s = model.state.withLock { $0 }
        #expect(s.syncCovers == 1, "only the first block, before any upkeep ran, covers itself")
        #expect(!s.upkeepCalls.isEmpty)
        #expect(s.upkeepCalls.allSatisfy { $0.thread != appender }, "upkeep runs on the flusher")
        #expect(s.upkeepCalls.last?.nextPristine == 25)
        #expect(s.mark >= 25 + MarkModel.step / 2)
    }
}
