import CairnIO
import Synchronization

/// One device of a namespace: the opened block device, its header state, its writer, reader and
/// block usage. Owned by `NamespaceStorage`.
public final class StorageDevice: Sendable {
    public let index: Int
    public let device: BlockDevice
    public let blockCount: Int
    public let usage: BlockUsage
    /// Blocks below the defrag low-water mark.
    public let defragQueue = DefragQueue()
    /// Last stop-writes state (to log changes only).
    let stopWritesFlag = Atomic<Bool>(false)
    /// Record reads of this device that failed for good (``NamespaceStorage/countReadError(_:)``).
    let readErrors = Atomic<UInt64>(0)
    /// Header as last written, and where the next header write goes.
    let headerState: Mutex<HeaderState>
    /// Set once the device is running (after a cold start determined the first pristine block).
    /// The writer and reader, set once by `start` and read lock-free by every transaction.
    let runtime = PublishedOnce<Runtime>()
    /// Held across a whole header write, so two writers (two truncates at once, a truncate and
    /// a close) can never pick the same slot and land out of order.
    private let headerWrites = Mutex<Void>(())
    /// Header writers holding or waiting for `headerWrites`: a simulator waits until a second
    /// writer has queued behind the first, so that a run replays whatever the threads' speed.
    private let headerWritersQueued = Atomic<Int>(0)
    /// Header writers holding or waiting for the header-write lock (simulation and tests).
    public var headerWritersQueuedCount: Int { headerWritersQueued.load(ordering: .acquiring) }
    /// The simulator's reintroduced bugs (`unserialisedHeaderWrites` drops the lock above).
    let bugs: ReintroducedBugs

    struct HeaderState {
        var header: DeviceHeader
        var nextSlot: HeaderCopySlot
        var nextGeneration: UInt64
    }

    final class Runtime: Sendable {
        let writer: DeviceWriter
        let reader: DeviceReader

        init(writer: DeviceWriter, reader: DeviceReader) {
            self.writer = writer
            self.reader = reader
        }
    }

    /// The memory copy reads are served from (persisted memory namespaces), if any.
    public var mirror: MemoryMirror? { runtime.value?.writer.mirror }

    init(index: Int, device: BlockDevice, blockCount: Int, header: DeviceHeader, nextSlot: HeaderCopySlot,
         nextGeneration: UInt64, bugs: ReintroducedBugs = [], markStep: UInt32 = StorageDevice.blocksWrittenMarkStep) {
        self.bugs = bugs
        self.markStep = markStep
        self.index = index
        self.device = device
        self.blockCount = blockCount
        usage = BlockUsage(blockCount: blockCount)
        headerState = Mutex(HeaderState(header: header, nextSlot: nextSlot, nextGeneration: nextGeneration))
    }

    public var writer: DeviceWriter {
        guard let w = runtime.value?.writer else { preconditionFailure("device \(index) not started") }
        return w
    }

    public var reader: DeviceReader {
        guard let r = runtime.value?.reader else { preconditionFailure("device \(index) not started") }
        return r
    }

    /// Runs `body` with the writer borrowed from the published runtime: no retain of the writer
    /// or the runtime, which every service thread shares (a put reaches the writer about three
    /// times). Traps before `start`.
    @inline(__always)
    func withWriter<Result>(_ body: (DeviceWriter) throws -> Result) rethrows -> Result {
        precondition(runtime.isPublished, "device \(index) not started")
        return try runtime.withPublished { try body($0.writer) }
    }

    public var header: DeviceHeader { headerState.withLock { $0.header } }

    /// Blocks a cold start reads: those below the header's blocks-written mark (every block when
    /// the mark is unknown, 0).
    public var scanEndBlock: Int {
        let mark = Int(header.blocksWrittenMark)
        return mark == 0 ? blockCount : min(blockCount, mark)
    }

    /// Blocks the mark moves ahead of the first never-written block at a time: one header write
    /// per this many new blocks (64 MiB of 1 MiB blocks).
    static let blocksWrittenMarkStep: UInt32 = 64
    /// This device's step (``blocksWrittenMarkStep`` unless a simulator chose a smaller one).
    let markStep: UInt32

    /// Makes the blocks-written mark cover `block` durably before it is first written (the
    /// writer calls this when it takes a never-written block). A device with an unknown mark
    /// (0) gets one now: every block ever written is below the first never-written one.
    func coverWithMark(_ block: UInt32) throws {
        guard block >= header.blocksWrittenMark else { return }
        try raiseMark(pastBlock: block)
    }

    /// Moves the blocks-written mark ahead while the first never-written block,
    /// `nextPristineBlock`, is still half a step below it (the flusher's header upkeep), so that
    /// the block that reaches the mark rarely has to write the header itself. A device whose
    /// mark is unknown (0) gets one from ``coverWithMark(_:)`` at its next new block instead.
    func coverAhead(nextPristineBlock: UInt32) throws {
        let mark = header.blocksWrittenMark
        guard mark != 0, mark < UInt32(blockCount),
              UInt64(nextPristineBlock) + UInt64(markStep / 2) >= UInt64(mark) else { return }
        try raiseMark(pastBlock: nextPristineBlock)
    }

    /// Writes the mark a step past `block` (at most the block count). Both copies: should the
    /// newest copy be damaged later, the other still covers every block written.
    private func raiseMark(pastBlock block: UInt32) throws {
        let next = UInt32(min(UInt64(blockCount), UInt64(block) + UInt64(markStep)))
        try writeHeader(bothCopies: true) { h in h.blocksWrittenMark = max(h.blocksWrittenMark, next) }
    }

    /// Writes `update`d header to the next copy slot, durably. The other copy stays intact, so a
    /// torn write leaves the previous header readable. With `bothCopies` the update goes to both
    /// slots in turn (for what must survive damage to either copy, such as a truncation).
    func writeHeader(bothCopies: Bool = false, _ update: (inout DeviceHeader) -> Void) throws {
        if bugs.contains(.unserialisedHeaderWrites) {
            try writeNextCopy(update)
            if bothCopies { try writeNextCopy { _ in } }
            return
        }
        headerWritersQueued.add(1, ordering: .releasing)
        defer { headerWritersQueued.subtract(1, ordering: .releasing) }
        try headerWrites.withLock { _ in
            try writeNextCopy(update)
            if bothCopies { try writeNextCopy { _ in } }
        }
    }

    private func writeNextCopy(_ update: (inout DeviceHeader) -> Void) throws {
        let (header, slot, generation) = headerState.withLock { s in
            var h = s.header
            update(&h)
            return (h, s.nextSlot, s.nextGeneration)
        }
        let buffer = AlignedBuffer(countBytes: DeviceHeaderFormat.copySlotSizeBytes, alignmentBytes: device.alignmentBytes)
        let encoded: Result<Void, FormatEncodingError> = buffer.withUnsafeMutableBytes { raw in
            do throws(FormatEncodingError) {
                try DeviceHeaderFormat.encodeCopy(header, writeGeneration: generation, slot: slot, into: raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = encoded {
            throw StorageError.refused(path: device.path, reason: "header does not encode: \(error)")
        }
        do {
            try device.writeSync(from: buffer, at: UInt64(slot.byteOffset), durable: true)
        } catch {
            throw StorageError.io(error)
        }
        headerState.withLock { s in
            s.header = header
            s.nextSlot = slot.other
            s.nextGeneration = generation + 1
        }
    }
}
