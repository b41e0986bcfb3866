import CairnIO
import CairnIndex
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The write side of one device: the current write buffer, the buffers waiting to be written,
/// and the flusher thread that writes them through io_uring with several writes in flight.
///
/// ```
///  writers ──append──▶ current buffer ──seal (full)──▶ sealed queue ──▶ flusher (RingQueue, depth N)
///                         │                                                │
///                         └── partial flush (flush-max-ms, or a commit) ───┘──▶ durable; waiters called
/// ```
///
/// Threads: any thread may `append`, `readFromMemory` and `whenDurable`; one flusher thread owns
/// the ring. All shared state is in `state` (a `ConditionLock`).
///
/// Invariants:
/// - A buffer is in `buffersByBlock` from the moment its block is opened until its full write
///   completed, so a reader always finds a record either in memory or on the device.
/// - At most one write per buffer is in flight (a partial write must finish before the full one
///   is issued), so writes to one block never race on the device.
/// - A partial write is a snapshot copied under the lock into a staging buffer, so writers keep
///   appending to the live buffer while it is on its way.
/// - `durableBytes` of a buffer only grows; commit waiters whose record ends at or below it are
///   called (outside the lock).
public final class DeviceWriter: Sendable {
    public struct Configuration: Sendable {
        public var writeBlockSizeBytes: Int
        public var flushMaxMs: Int
        /// Writes durable before they complete (RWF_DSYNC); required for `whenDurable`.
        public var commitToDevice: Bool
        /// Writes in flight per device.
        public var queueDepth: Int
        /// Bytes of sealed-but-unwritten buffers above which appends fail with `.overloaded`.
        public var maxWriteCacheBytes: Int
        /// Bytes of fully written blocks kept in memory to serve reads (post-write cache).
        public var postWriteCacheBytes: Int
        /// Blocks only defrag may open (client writes stop before them, deletes at half of them),
        /// so a full device can always be defragmented as data is deleted.
        public var defragReserveBlocks: Int
        /// `fill-page-cache`: a block that leaves the post-write cache (at once without one) is
        /// read into the page cache (when the device reads through it), so its records stay in
        /// memory.
        public var fillPageCache = false
        /// Overrides of flush-max-ms and post-write-cache made while running (set-config).
        public var tunables: RuntimeTunables?
        /// Set when a simulator drives this writer (no flusher thread; its clock; its bugs).
        public var simulation: StorageSimulation?

        /// The flusher's monotonic clock: the simulator's when simulated.
        @inline(__always) func nowNs() -> UInt64 { simulation?.clockNs() ?? MonotonicClock.nowNs() }
        @inline(__always) func has(_ bug: ReintroducedBugs) -> Bool { simulation?.bugs.contains(bug) ?? false }

        /// `flush-max-ms` now.
        var currentFlushMaxMs: Int { tunables?.value(.flushMaxMs, configured: flushMaxMs) ?? flushMaxMs }
        /// Blocks of the post-write cache now (at most the configured number: the pool holds those).
        var currentPostWriteCacheBlocks: Int {
            let bytes = tunables?.value(.postWriteCacheBytes, configured: postWriteCacheBytes) ?? postWriteCacheBytes
            return min(bytes, postWriteCacheBytes) / writeBlockSizeBytes
        }

        public init(writeBlockSizeBytes: Int, flushMaxMs: Int, commitToDevice: Bool, queueDepth: Int = 4,
                    maxWriteCacheBytes: Int = 64 << 20, postWriteCacheBytes: Int = 0, defragReserveBlocks: Int = 0) {
            self.writeBlockSizeBytes = writeBlockSizeBytes
            self.flushMaxMs = flushMaxMs
            self.commitToDevice = commitToDevice
            self.queueDepth = queueDepth
            self.maxWriteCacheBytes = maxWriteCacheBytes
            self.postWriteCacheBytes = postWriteCacheBytes
            self.defragReserveBlocks = defragReserveBlocks
        }
    }

    /// Who opens a block: client writes may not take the defrag reserve, deletes half of it,
    /// defrag all of it.
    public enum Purpose: Sendable {
        case client, delete, defrag
    }

    /// Called by `append` with the record's slice of the buffer and the block sequence. It
    /// cannot fail: the caller sizes and checks the record before reserving its bytes.
    public typealias Encoder = (UnsafeMutableRawBufferPointer, UInt64) -> Void
    /// Called when a commit completes (nil) or fails.
    public typealias DurableCallback = @Sendable (StorageError?) -> Void
    /// Calls a durability callback where its transaction continues (a service thread's inbox),
    /// given the callback and its outcome: no closure is formed per waiter to carry them there.
    /// A struct: a bare closure kept in an optional is stored at the generic abstraction, and
    /// passing it a callback allocated reabstraction thunks on every call.
    public struct DurableDelivery: Sendable {
        public let deliver: @Sendable (@escaping DurableCallback, StorageError?) -> Void
        public init(_ deliver: @escaping @Sendable (@escaping DurableCallback, StorageError?) -> Void) {
            self.deliver = deliver
        }
    }
    /// Builds the block header bytes for a newly opened block (sequence, block index).
    public typealias BlockHeaderWriter = @Sendable (UnsafeMutableRawBufferPointer, UInt64, UInt32) -> Void

    final class WriteBuffer: @unchecked Sendable {
        // @unchecked: every field but `encoders` is read and written only under
        // DeviceWriter.state's lock; `buffer` bytes below `usedBytes` are immutable once written.
        let buffer: AlignedBuffer
        let blockIndex: UInt32
        let sequence: UInt64
        var usedBytes: Int
        var durableBytes = 0
        var writeInFlight = false
        var sealed = false
        /// Appends that reserved bytes here and are still encoding them (outside the lock). The
        /// flusher writes the buffer, whole or in part, only when none is. Raised under the lock
        /// as the bytes are reserved; lowered without it once they are encoded (see
        /// `DeviceWriter.encoded(into:)`: a second lock per append was the only other reason to
        /// take it, on a lock every service thread shares).
        let encoders = Atomic<Int>(0)

        init(buffer: AlignedBuffer, blockIndex: UInt32, sequence: UInt64, usedBytes: Int) {
            self.buffer = buffer
            self.blockIndex = blockIndex
            self.sequence = sequence
            self.usedBytes = usedBytes
        }
    }

    struct Waiter {
        let blockIndex: UInt32
        let endBytes: Int
        let callback: DurableCallback
        let delivery: DurableDelivery?

        func call(_ error: StorageError?) {
            if let delivery { delivery.deliver(callback, error) } else { callback(error) }
        }
    }

    struct State {
        var current: WriteBuffer?
        var buffersByBlock: [UInt32: WriteBuffer] = [:]
        var sealed: [WriteBuffer] = []
        var waiters: [Waiter] = []
        var commitRequested = false
        var inFlightWrites = 0
        var lastFlushNs: UInt64 = 0
        /// The flusher sleeps with no deadline (nothing was dirty): the next append must wake it,
        /// or a partly filled buffer would wait for the next sealed block instead of flush-max-ms.
        var flusherIdle = false
        var stopping = false
        var stopped = false
        var failure: IOError?
        /// Mirrored into `available` on every change (a `didSet` that reads no `oldValue`
        /// mutates in place), so a put's admission reads the count without this lock.
        var freeBlocks: FreeBlockList { didSet { mirrorAvailable() } }
        var nextPristineBlock: UInt32 { didSet { mirrorAvailable() } }
        let available: AvailableBlocks
        var stats = Statistics()
        /// Empty blocks waiting until everything appended before they emptied is durable
        /// (FIFO: marks only grow). See FORMAT.md "Block reuse".
        var pendingFree: [(block: UInt32, mark: DurableMark)] = []
        var pendingFreeHead = 0
        /// Emptied blocks whose replacements are written but, without commit-to-device, may still
        /// sit in the device's volatile cache: free after the next sync completes (FIFO).
        var awaitingSync: [UInt32] = []
        /// The blocks the sync in flight makes reusable (nil: no sync in flight).
        var syncing: [UInt32]?
        /// Without commit-to-device: a data write completed since the last sync was submitted
        /// (it may still be in the device's volatile cache). A sync follows within flush-max-ms.
        var unsyncedWrites = false
        /// When the last sync was submitted (the flusher's clock).
        var lastSyncNs: UInt64 = 0
        /// Blocks that emptied while still buffered: considered again when their full write completes.
        var emptiedWhileBuffered: Set<UInt32> = []
        /// Sequence of the last block this device opened.
        var lastOpenedSequence: UInt64 = 0
        /// Blocks that left the post-write cache, to be read into the page cache
        /// (`fill-page-cache`). The flusher takes them with the work it collects and asks for
        /// them before it submits that work, so a block's fill is always asked for before any
        /// later write to the block is submitted: that write's invalidation then drops what the
        /// fill brought in (the kernel waits for the fill's pages first).
        var fillPending: [UInt32] = []
        /// Post-write cache: fully written blocks, oldest first.
        var cached: [UInt32: AlignedBuffer] = [:]
        var cacheOrder: [UInt32] = []
        /// Blocks defrag is reading or rewriting (holds per block): never freed meanwhile.
        var defragHeld: [UInt32: Int] = [:]
        /// Held blocks whose durable mark was met: freed when defrag lets them go.
        var freedWhileHeld: Set<UInt32> = []
        var cacheOrderHead = 0
        /// A zeroed buffer the flusher prepared for the next block, so that opening a block takes
        /// it instead of zeroing 1 MiB (and, while the pool still grows, faulting its pages in:
        /// about 2 ms per MiB on a fresh VM) under this lock and the index's stripe lock.
        var spare: AlignedBuffer?
        /// A block was opened since the flusher last ran ``headerUpkeep``: it checks whether a
        /// device header write is due soon, and does it ahead of need.
        var upkeepDue = false

        init(freeBlocks: FreeBlockList, nextPristineBlock: UInt32, available: AvailableBlocks) {
            self.freeBlocks = freeBlocks
            self.nextPristineBlock = nextPristineBlock
            self.available = available
            mirrorAvailable()
        }

        /// Free blocks plus those never written.
        var availableCount: Int {
            freeBlocks.count + Int(available.blockCount - min(nextPristineBlock, available.blockCount))
        }

        func mirrorAvailable() { available.count.store(availableCount, ordering: .relaxed) }
    }

    /// ``availableBlocks``, kept by the writer's state as it changes: every put asks (write
    /// admission), and taking the writer's lock for it was a second lock per put on the lock
    /// every service thread shares.
    final class AvailableBlocks: Sendable {
        let count = Atomic<Int>(0)
        let blockCount: UInt32
        init(blockCount: UInt32) { self.blockCount = blockCount }
    }

    /// "Everything appended up to here": the device's newest block then (its sequence) and how
    /// far it was filled. Satisfied once no older block is buffered and that block is durable
    /// up to `usedBytes` (or written whole).
    struct DurableMark {
        let sequence: UInt64
        let usedBytes: Int
    }

    /// Counters for statistics and tests.
    public struct Statistics: Sendable, Equatable {
        public var fullWrites = 0
        public var partialWrites = 0
        public var bytesWritten: UInt64 = 0
        /// `whenDurable` callers that waited for a durable write and were then answered; not
        /// those answered at once because their bytes were durable already.
        public var commitWaitersServed = 0
        public var blocksOpened = 0
        /// Blocks opened from the free list (reused) rather than never-written space.
        public var blocksReused = 0
        /// Blocks that became free at runtime (emptied, and their replacements durable).
        public var blocksFreed = 0
        public var postWriteCacheHits = 0
        /// Blocks that left the post-write cache and were read into the page cache
        /// (`fill-page-cache`).
        public var pageCacheFills = 0
        /// Blocks that left the post-write cache with no live record, so were not filled.
        public var pageCacheFillsSkipped = 0
        /// Device syncs (fdatasync) the flusher issued without commit-to-device: every
        /// flush-max-ms after data writes, and before emptied blocks are reused.
        public var syncs = 0
    }

    public let device: BlockDevice
    public let deviceIndex: Int
    public let configuration: Configuration
    let state: ConditionLock<State>
    /// The flusher left a buffer unwritten because appends were still encoding into it: the
    /// last of them wakes it (`encoded(into:)`, `stillEncoding`). An atomic beside the lock, as
    /// an append reads it without the lock.
    private let flusherAwaitsEncoders = Atomic<Bool>(false)
    private let pool: AlignedBufferPool
    private let stagingPool: AlignedBufferPool
    private let sequencer: BlockSequencer
    private let writeBlockHeader: BlockHeaderWriter
    private let headerSizeBytes: Int
    private let blockCount: UInt32
    private let available: AvailableBlocks
    private let finished = ConditionLock(false)
    private let flusherLocal = FlusherLocal()

    /// What only the thread running the flusher touches: the flusher thread, or the one thread
    /// that drives a simulated writer through `flushStep` (hence `@unchecked`).
    final class FlusherLocal: @unchecked Sendable {
        /// A simulated writer's queue (the flusher thread keeps its own).
        var queue: DeviceQueue?
        /// The waiters a completion calls, their memory kept from one completion to the next.
        var readyWaiters: [Waiter] = []
    }
    /// Memory copy of the device (persisted memory namespaces): every block is stored there
    /// when its full write completes, before it leaves `buffersByBlock`.
    public let mirror: MemoryMirror?
    /// Whether a block has no live bytes (the storage's block usage).
    private let isBlockEmpty: @Sendable (UInt32) -> Bool
    /// Called with a never-written block before it is first used (the device header's
    /// blocks-written mark is made to cover it, durably: FORMAT.md).
    private let beforeFirstUse: @Sendable (UInt32) throws -> Void
    /// Run by the flusher, outside every lock, after blocks were opened (with the first
    /// never-written block): device header writes that an opening block would otherwise have to
    /// make itself (the blocks-written mark, the block-sequence reservation) are made here ahead
    /// of need, so that an append never writes a header while it holds this writer's lock and its
    /// record's index stripe. `beforeFirstUse` and ``BlockSequencer/next()`` stay the guarantee.
    private let headerUpkeep: @Sendable (UInt32) throws -> Void

    /// - Parameters:
    ///   - firstPristineBlock: first block never written in this device's life (blocks from it up
    ///     to the end are free); later issues add freed blocks.
    public init(device: BlockDevice, deviceIndex: Int, configuration: Configuration, sequencer: BlockSequencer,
                blockHeaderSizeBytes: Int, firstPristineBlock: UInt32, mirror: MemoryMirror? = nil,
                isBlockEmpty: @escaping @Sendable (UInt32) -> Bool = { _ in false },
                beforeFirstUse: @escaping @Sendable (UInt32) throws -> Void = { _ in },
                headerUpkeep: @escaping @Sendable (UInt32) throws -> Void = { _ in },
                writeBlockHeader: @escaping BlockHeaderWriter) {
        self.isBlockEmpty = isBlockEmpty
        self.beforeFirstUse = beforeFirstUse
        self.headerUpkeep = headerUpkeep
        precondition(configuration.writeBlockSizeBytes % device.alignmentBytes == 0, "block size vs alignment")
        self.mirror = mirror
        self.device = device
        self.deviceIndex = deviceIndex
        self.configuration = configuration
        self.sequencer = sequencer
        self.writeBlockHeader = writeBlockHeader
        headerSizeBytes = blockHeaderSizeBytes
        blockCount = UInt32(device.sizeBytes / UInt64(configuration.writeBlockSizeBytes))
        let cacheBlocks = configuration.postWriteCacheBytes / configuration.writeBlockSizeBytes
        let buffersMax = max(4, configuration.maxWriteCacheBytes / configuration.writeBlockSizeBytes + configuration.queueDepth + 2)
            + cacheBlocks
        // Mapped: a fresh buffer is not zeroed by anyone, its pages fault in as records land.
        pool = AlignedBufferPool(bufferSizeBytes: configuration.writeBlockSizeBytes, alignmentBytes: device.alignmentBytes,
                                 capacity: buffersMax, mapped: device.alignmentBytes <= AlignedBuffer.mappedAlignmentBytesMax)
        stagingPool = AlignedBufferPool(bufferSizeBytes: configuration.writeBlockSizeBytes,
                                        alignmentBytes: device.alignmentBytes, capacity: configuration.queueDepth)
        available = AvailableBlocks(blockCount: blockCount)
        state = ConditionLock(State(freeBlocks: FreeBlockList(blockCount: Int(blockCount)), nextPristineBlock: firstPristineBlock,
                                    available: available))
    }

    /// Starts the flusher thread (none when a simulator drives the writer through `flushStep`).
    public func start() {
        if configuration.simulation != nil { return }
        NamedThread.start("cairn-flush-\(deviceIndex)") { [self] in self.flusherMain() }
    }

    // MARK: - writers

    /// Reserves `sizeBytes` (a multiple of 16) in the current buffer, opening a new block when it
    /// does not fit, and lets `encode` fill them. Returns the record's location.
    ///
    /// The lock is held only to reserve the bytes and, afterwards, to count the encoder out:
    /// `encode` (the record's encoding and CRC) runs outside it, so concurrent appends to one
    /// device overlap their encoding. The buffer cannot be written or recycled meanwhile: the
    /// flusher writes a buffer only when no append is encoding into it. The caller makes the
    /// location visible (the index) only after this returns, so no reader sees the bytes early.
    public func append(sizeBytes: Int, purpose: Purpose = .client, encode: Encoder) throws -> RecordLocation {
        precondition(sizeBytes > 0 && sizeBytes % 16 == 0, "record size \(sizeBytes) must be a positive multiple of 16")
        let capacity = configuration.writeBlockSizeBytes - headerSizeBytes
        guard sizeBytes <= capacity else { throw StorageError.recordTooBig(sizeBytes: sizeBytes, maxBytes: capacity) }
        var wakeFlusher = false
        let (target, offset): (WriteBuffer, Int) = try state.withLock { s in
            if let failure = s.failure { throw StorageError.io(failure) }
            if s.stopping { throw StorageError.closed }
            if let cur = s.current, cur.usedBytes + sizeBytes > configuration.writeBlockSizeBytes {
                seal(cur, &s)
                wakeFlusher = true
            }
            if s.current == nil {
                try openBlock(&s, purpose: purpose)
                wakeFlusher = true  // header upkeep (and a spare buffer for the next block)
            }
            let cur = s.current!
            let offset = cur.usedBytes
            cur.usedBytes += sizeBytes
            cur.encoders.add(1, ordering: .relaxed)  // the lock orders it before the flusher's check
            if s.flusherIdle && !configuration.has(.idleFlusherSkipsPartialFlush) {
                s.flusherIdle = false
                wakeFlusher = true  // wake the flusher so the flush-max-ms clock starts
            }
            return (cur, offset)
        }
        if wakeFlusher { state.broadcast() }
        target.buffer.withUnsafeMutableBytes { raw in
            encode(UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + sizeBytes)]), target.sequence)
        }
        encoded(into: target)
        let byteOffset = UInt64(target.blockIndex) * UInt64(configuration.writeBlockSizeBytes) + UInt64(offset)
        return RecordLocation(deviceIndex: deviceIndex, byteOffset: byteOffset, sizeBytes: sizeBytes)
    }

    /// An append's bytes in `target` are encoded: lowers its encoder count and, if that was the
    /// last encoder and the flusher is waiting for it, wakes the flusher.
    ///
    /// With no lock unless there is a flusher to wake. The decrement and the flag's load here,
    /// and the flag's store and the count's load in `stillEncoding`, are sequentially
    /// consistent: of the last encoder and a flusher deciding to wait, at least one sees the
    /// other's write (if the encoder missed the flag, the flusher's load comes after the
    /// decrement and finds 0). The wake takes the lock, so it cannot fall between the flusher's
    /// check and its wait, which happen under one hold of it. The decrement also publishes the
    /// encoded bytes to the flusher (release, and the flusher's load acquires).
    private func encoded(into target: WriteBuffer) {
        guard target.encoders.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
              flusherAwaitsEncoders.load(ordering: .sequentiallyConsistent)
        else { return }
        let wake = state.withLock { _ in flusherAwaitsEncoders.exchange(false, ordering: .sequentiallyConsistent) }
        if wake { state.broadcast() }
    }

    /// Whether appends are still encoding into `b`; if so, the last of them wakes the flusher
    /// (`encoded(into:)`). Under the lock, from the flusher.
    private func stillEncoding(_ b: WriteBuffer) -> Bool {
        guard b.encoders.load(ordering: .sequentiallyConsistent) > 0 else { return false }
        flusherAwaitsEncoders.store(true, ordering: .sequentiallyConsistent)
        // Again, after the flag: an encoder that finished in between did not see it.
        return b.encoders.load(ordering: .sequentiallyConsistent) > 0
    }

    /// Calls `callback` once the bytes at `location` are durable (commit-to-device), through
    /// `delivery` when given. If the record's block is no longer in memory it was written
    /// durably already: called (or delivered) at once.
    public func whenDurable(_ location: RecordLocation, via delivery: DurableDelivery? = nil,
                            _ callback: @escaping DurableCallback) {
        let block = location.blockIndex(writeBlockSizeBytes: configuration.writeBlockSizeBytes)
        let end = Int(location.byteOffset % UInt64(configuration.writeBlockSizeBytes)) + location.sizeBytes
        let immediate: StorageError?? = state.withLock { s in
            if let failure = s.failure { return .some(.io(failure)) }
            guard let buffer = s.buffersByBlock[block], buffer.durableBytes < end else { return .some(nil) }
            s.waiters.append(Waiter(blockIndex: block, endBytes: end, callback: callback, delivery: delivery))
            s.commitRequested = true
            return .none
        }
        if let result = immediate {
            Waiter(blockIndex: block, endBytes: end, callback: callback, delivery: delivery).call(result)
        } else {
            state.broadcast()
        }
    }

    /// The record's bytes if its block is buffered or cached, else nil — allocating only when
    /// found, so a read that must go to the device costs no copy here.
    public func memoryCopy(_ location: RecordLocation) -> [UInt8]? {
        withMemoryBytes(location) { [UInt8]($0) }
    }

    /// Copies the record at `location` out of memory if its block is still buffered or in the
    /// post-write cache; false otherwise (then it is on the device).
    public func readFromMemory(_ location: RecordLocation, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(destination.count >= location.sizeBytes, "destination too small")
        return withMemoryBytes(location) { raw in
            destination.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: location.sizeBytes)
        } != nil
    }

    /// Runs `body` on the record's bytes in its buffered or cached block, under the lock; nil
    /// when memory does not hold them.
    private func withMemoryBytes<R>(_ location: RecordLocation, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let block = location.blockIndex(writeBlockSizeBytes: configuration.writeBlockSizeBytes)
        let offset = Int(location.byteOffset % UInt64(configuration.writeBlockSizeBytes))
        return state.withLock { s -> R? in
            let source: AlignedBuffer
            if let buffer = s.buffersByBlock[block] {
                // Beyond the filled part: the location is from before the block was freed and
                // reused (a reader that raced a move). Read the device; the record check fails
                // and the reader looks the index up again.
                guard offset + location.sizeBytes <= buffer.usedBytes else { return nil }
                source = buffer.buffer
            } else if let cached = s.cached[block] {
                s.stats.postWriteCacheHits += 1
                source = cached
            } else {
                return nil
            }
            return source.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + location.sizeBytes)])) }
        }
    }


    /// Seals the current buffer, waits until every buffer is written, stops the flusher.
    /// Throws the first device error if a write failed.
    public func close() throws {
        state.withLock { s in
            s.stopping = true
            if let cur = s.current {
                if cur.usedBytes > headerSizeBytes { seal(cur, &s) } else {
                    s.buffersByBlock[cur.blockIndex] = nil
                    s.current = nil
                    pool.recycle(cur.buffer)
                }
            }
        }
        state.broadcast()
        if configuration.simulation != nil {
            while !flushStep(reapMinimum: 1) {}
        } else {
            finished.wait(until: { $0 }) { _ in }
        }
        if let failure = state.withLock({ $0.failure }) { throw StorageError.io(failure) }
    }

    /// Defrag read these blocks and rewrites their records: none of them is freed (and so
    /// reused) until `releaseFromDefrag`. Else a block emptied and reused meanwhile could put a
    /// newer copy at exactly the location defrag read an older one from, and defrag's index
    /// check (same location) would put the older copy back.
    ///
    /// Returns the blocks held: those neither buffered nor on the free list now. Read a block
    /// only after holding it; from then on its contents on the device are the ones rewritten.
    @discardableResult
    public func holdForDefrag(_ blocks: [UInt32]) -> [UInt32] {
        state.withLock { s in
            var held: [UInt32] = []
            for b in blocks where s.buffersByBlock[b] == nil && !s.freeBlocks.contains(b) {
                s.defragHeld[b, default: 0] += 1
                held.append(b)
            }
            return held
        }
    }

    /// Defrag is done with these blocks: those that became free meanwhile are freed now.
    public func releaseFromDefrag(_ blocks: [UInt32]) {
        let freed: Bool = state.withLock { s in
            var freed = false
            for b in blocks {
                guard let holds = s.defragHeld[b] else { preconditionFailure("block \(b) released without a hold") }
                s.defragHeld[b] = holds > 1 ? holds - 1 : nil
                guard holds == 1, s.freedWhileHeld.remove(b) != nil else { continue }
                if s.buffersByBlock[b] == nil && isBlockEmpty(b) {
                    s.freeBlocks.append(b)
                    s.stats.blocksFreed += 1
                    freed = true
                }
            }
            return freed
        }
        if freed { state.broadcast() }
    }

    /// Blocks that may be reused (no live record; everything that replaced their records is durable).
    public func addFreeBlocks(_ blocks: [UInt32]) {
        state.withLock { $0.freeBlocks.append(contentsOf: blocks.reversed()) }
    }

    /// The live bytes of `block` reached zero. It is reused only once every record appended
    /// before now (among them whatever replaced its records) is durable and the block itself
    /// is no longer buffered; `isStillEmpty` is asked again then (a buffered block can refill).
    public func blockEmptied(_ block: UInt32) {
        var freed = false
        state.withLock { s in
            if s.buffersByBlock[block] != nil {
                s.emptiedWhileBuffered.insert(block)
                return
            }
            s.pendingFree.append((block, currentMark(s)))
            freed = promotePending(&s)
        }
        if freed { state.broadcast() }
    }

    /// The free list now (blocks new writes may take; checkers prove none holds a live record).
    public var freeBlockList: [UInt32] { state.withLock { $0.freeBlocks.blocks } }

    /// Free blocks plus never-written blocks: what new writes can still take. A relaxed load of
    /// the count the writer's state keeps (no lock: every put's admission asks).
    public var availableBlocks: Int {
        available.count.load(ordering: .relaxed)
    }

    /// Data blocks of the device (all but the header block).
    public var dataBlockCount: Int { Int(blockCount) - Int(DeviceGeometry.firstDataBlockIndex) }

    /// Blocks emptied but not yet free (waiting for their replacements' writes, or the sync after).
    public var pendingFreeCount: Int { state.withLock { pendingFreeCount($0) } }

    private func pendingFreeCount(_ s: State) -> Int {
        s.pendingFree.count - s.pendingFreeHead + s.emptiedWhileBuffered.count + s.awaitingSync.count + (s.syncing?.count ?? 0)
    }

    /// Blocks held in memory (being filled, or waiting for / in their full write).
    public func isBuffered(_ block: UInt32) -> Bool { state.withLock { $0.buffersByBlock[block] != nil } }

    /// The lowest sequence of a buffered block (nil when none is): every block of this device
    /// with a lower sequence is written whole.
    public var oldestBufferedSequence: UInt64? { state.withLock { s in s.buffersByBlock.values.map(\.sequence).min() } }

    /// The blocks buffered now.
    public var bufferedBlocks: Set<UInt32> { state.withLock { Set($0.buffersByBlock.keys) } }
    public var statistics: Statistics { state.withLock { $0.stats } }

    /// Write buffers allocated so far, and the most there can ever be (memory stays bounded).
    public var buffersAllocated: (count: Int, capacity: Int) { (pool.allocatedCount, pool.capacity) }

    /// What the writer holds in memory and has not yet written, read under one hold of its
    /// lock together with its counters (the statistics' per-device figures).
    public struct BufferReading: Sendable, Equatable {
        /// Full blocks waiting to be written (sealed, not yet written): Aerospike's `write_q`.
        public var sealedBlocks: Int
        /// Bytes appended to the write buffers (block headers included) whose write has not yet
        /// completed: what a `kill -9` now would lose without commit-to-device. 0 once the
        /// flusher has written everything appended so far.
        public var unflushedBytes: Int
        /// Blocks emptied but not yet free (``pendingFreeCount``).
        public var pendingFreeBlocks: Int
        public var statistics: Statistics
    }

    public var bufferReading: BufferReading {
        state.withLock { s in
            BufferReading(sealedBlocks: s.sealed.count,
                          unflushedBytes: s.buffersByBlock.values.reduce(0) { $0 + max(0, $1.usedBytes - $1.durableBytes) },
                          pendingFreeBlocks: pendingFreeCount(s), statistics: s.stats)
        }
    }

    /// The next never-written block (persisted in headers so a restart continues after it).
    public var nextPristineBlock: UInt32 { state.withLock { $0.nextPristineBlock } }

    // MARK: - under the lock

    private func currentMark(_ s: State) -> DurableMark {
        if let cur = s.current { return DurableMark(sequence: cur.sequence, usedBytes: cur.usedBytes) }
        return DurableMark(sequence: s.lastOpenedSequence, usedBytes: configuration.writeBlockSizeBytes)
    }

    private func markSatisfied(_ mark: DurableMark, _ s: State) -> Bool {
        for b in s.buffersByBlock.values {
            if b.sequence < mark.sequence { return false }
            if b.sequence == mark.sequence && b.durableBytes < mark.usedBytes { return false }
        }
        return true
    }

    /// Moves pending blocks whose mark is satisfied to the free list, or, when the writes that
    /// satisfied it may still be in the device's volatile cache (no commit-to-device), to the
    /// blocks the flusher's next sync frees. True when any moved (the flusher must look).
    private func promotePending(_ s: inout State) -> Bool {
        var moved = false
        while s.pendingFreeHead < s.pendingFree.count {
            let p = s.pendingFree[s.pendingFreeHead]
            guard markSatisfied(p.mark, s) else { break }
            s.pendingFreeHead += 1
            if configuration.commitToDevice || configuration.has(.reuseBeforeSync) {
                // RWF_DSYNC: the replacements were durable when their writes completed.
                if freeIfStillEmpty(p.block, &s) { moved = true }
            } else {
                s.awaitingSync.append(p.block)
                moved = true
            }
        }
        if s.pendingFreeHead > 1024 && s.pendingFreeHead * 2 > s.pendingFree.count {
            s.pendingFree.removeFirst(s.pendingFreeHead)
            s.pendingFreeHead = 0
        }
        return moved
    }

    /// Frees an emptied block whose replacements are durable, unless defrag holds it (freed
    /// when defrag lets it go), it is buffered again or it holds a live record again.
    private func freeIfStillEmpty(_ block: UInt32, _ s: inout State) -> Bool {
        if s.defragHeld[block] != nil {
            s.freedWhileHeld.insert(block)
            return false
        }
        guard s.buffersByBlock[block] == nil && isBlockEmpty(block) else { return false }
        s.freeBlocks.append(block)
        s.stats.blocksFreed += 1
        return true
    }

    private func openBlock(_ s: inout State, purpose: Purpose) throws {
        let pendingBytes = s.sealed.count * configuration.writeBlockSizeBytes
        if pendingBytes >= configuration.maxWriteCacheBytes && purpose != .defrag {
            throw StorageError.overloaded(path: device.path, waitingBytes: pendingBytes)
        }
        let available = s.availableCount
        let reserve: Int
        switch purpose {
        case .client: reserve = configuration.defragReserveBlocks
        case .delete: reserve = configuration.defragReserveBlocks / 2
        case .defrag: reserve = 0
        }
        if available <= reserve { throw StorageError.deviceFull(path: device.path) }
        let block: UInt32
        var fromPristine = false
        if let free = s.freeBlocks.popLast() {
            block = free
            // Two buffers for one block would lose records: trap rather than write over them.
            precondition(s.buffersByBlock[block] == nil, "free block \(block) of \(device.path) is still buffered")
            s.stats.blocksReused += 1
            if let stale = s.cached.removeValue(forKey: block) { pool.recycle(stale) }
        } else if s.nextPristineBlock < blockCount {
            block = s.nextPristineBlock
            try beforeFirstUse(block)  // the header's blocks-written mark covers it first
            s.nextPristineBlock += 1
            fromPristine = true
        } else {
            throw StorageError.deviceFull(path: device.path)
        }
        let buffer: AlignedBuffer
        if let spare = s.spare {
            s.spare = nil
            buffer = spare  // zeroed by the flusher, outside this lock (or never used)
        } else if let fresh = takeBuffer(&s) {
            if !fresh.takeFreshZeroes() { fresh.zero() }
            buffer = fresh
        } else {
            // Give the block back: nothing was written to it.
            if fromPristine { s.nextPristineBlock -= 1 } else { s.freeBlocks.append(block) }
            throw StorageError.overloaded(path: device.path, waitingBytes: pendingBytes)
        }
        let sequence: UInt64
        do { sequence = try sequencer.next() } catch {
            if fromPristine { s.nextPristineBlock -= 1 } else { s.freeBlocks.append(block) }
            pool.recycle(buffer)
            throw error
        }
        s.lastOpenedSequence = sequence
        s.upkeepDue = true
        buffer.withUnsafeMutableBytes { raw in
            writeBlockHeader(UnsafeMutableRawBufferPointer(rebasing: raw[0..<headerSizeBytes]), sequence, block)
        }
        let wb = WriteBuffer(buffer: buffer, blockIndex: block, sequence: sequence, usedBytes: headerSizeBytes)
        s.current = wb
        s.buffersByBlock[block] = wb
        s.stats.blocksOpened += 1
    }

    /// A buffer for a new block: a free one from the pool, else the oldest post-write-cache
    /// block's; nil when every buffer holds a block still to be written.
    private func takeBuffer(_ s: inout State) -> AlignedBuffer? {
        pool.takeIfAvailable() ?? evictCached(&s)
    }

    /// Drops the oldest post-write-cache block and returns its buffer.
    private func evictCached(_ s: inout State) -> AlignedBuffer? {
        while s.cacheOrderHead < s.cacheOrder.count {
            let block = s.cacheOrder[s.cacheOrderHead]
            s.cacheOrderHead += 1
            if s.cacheOrderHead > 256 && s.cacheOrderHead * 2 > s.cacheOrder.count {
                s.cacheOrder.removeFirst(s.cacheOrderHead)
                s.cacheOrderHead = 0
            }
            if let b = s.cached.removeValue(forKey: block) {
                noteLeftMemory(block, &s)
                return b
            }
        }
        return nil
    }

    /// Whether blocks leaving the post-write cache are read into the page cache: asked for
    /// (`fill-page-cache`) and the device's record reads go through it.
    private var fillsPageCache: Bool { configuration.fillPageCache && device.readsThroughPageCache }

    /// A written block is no longer in memory: it is due for a fill, unless no record of it is
    /// live any more (its records were all replaced while it was cached; nothing will read it).
    private func noteLeftMemory(_ block: UInt32, _ s: inout State) {
        guard fillsPageCache else { return }
        if isBlockEmpty(block) {
            s.stats.pageCacheFillsSkipped += 1
        } else {
            s.fillPending.append(block)
        }
    }

    /// Reads `blocks` into the page cache (the kernel's readahead: it returns once the reads are
    /// submitted), outside the lock, on the flusher's thread. Counts those asked for.
    private func fillPageCache(_ blocks: inout [UInt32]) {
        guard !blocks.isEmpty else { return }
        var asked = 0
        for block in blocks {
            let offset = UInt64(block) * UInt64(configuration.writeBlockSizeBytes)
            if device.adviseWillNeed(offset: offset, lengthBytes: configuration.writeBlockSizeBytes) { asked += 1 }
        }
        blocks.removeAll(keepingCapacity: true)
        state.withLock { $0.stats.pageCacheFills += asked }
    }

    private func seal(_ buffer: WriteBuffer, _ s: inout State) {
        s.flusherIdle = false  // the seal's broadcast wakes the flusher
        buffer.sealed = true
        s.sealed.append(buffer)
        if s.current === buffer { s.current = nil }
    }

    // MARK: - flusher

    private enum Work {
        /// An fdatasync: what completed before it leaves the device's volatile cache, and the
        /// blocks in ``State/syncing`` become free.
        case sync
        case full(WriteBuffer, fromBytes: Int)
        /// `records` of the buffer go to the staging buffer's start (copied in `submit`, outside
        /// the lock: no append writes below `usedBytes` once its encoders are out, and the buffer
        /// stays while the write is in flight).
        case partial(WriteBuffer, staging: AlignedBuffer, records: Range<Int>, deviceOffset: UInt64, lengthBytes: Int, endBytes: Int)
    }

    private func flusherMain() {
        let queue: DeviceQueue
        do { queue = try device.makeQueue(depth: configuration.queueDepth) } catch {
            failAll(error)
            finished.withLock { $0 = true }
            finished.broadcast()
            return
        }
        var completions: [IOCompletion] = []
        var work: [Work] = []
        var fills: [UInt32] = []
        var upkeepFrom: UInt32?
        while true {
            prepareSpare()
            // Read each round: set-config may change flush-max-ms while the writer runs.
            let flushIntervalNs = UInt64(max(1, configuration.currentFlushMaxMs)) * 1_000_000
            work.removeAll(keepingCapacity: true)
            let exit: Bool = state.withLockedScope { scope in
                while true {
                    // nil: sleep without a deadline; .some(ns): sleep at most ns.
                    enum Next { case work, exit, sleep(UInt64?) }
                    let next: Next = scope.access { s in
                        if let from = takeUpkeep(&s) { upkeepFrom = from }
                        collectWork(&s, into: &work, queueDepth: queue.depth, flushIntervalNs: flushIntervalNs)
                        // With the work: fills asked for before it is submitted (State.fillPending).
                        if !s.fillPending.isEmpty { fills.append(contentsOf: s.fillPending); s.fillPending.removeAll(keepingCapacity: true) }
                        // Submit, write the header ahead, or go reap.
                        if !work.isEmpty || s.inFlightWrites > 0 || upkeepFrom != nil || !fills.isEmpty { return .work }
                        if mayStop(s) {
                            s.stopped = true
                            return .exit
                        }
                        // Failed: nothing will be written again; sleep until stopped (never spin
                        // on a dirty buffer while holding the lock).
                        if s.failure != nil { return .sleep(nil) }
                        // Idle: sleep until signalled, or until timed work is due.
                        if let due = timedWorkDue(s, flushIntervalNs: flushIntervalNs) {
                            let now = configuration.nowNs()
                            return .sleep(now < due ? due - now : 0)
                        }
                        s.flusherIdle = true
                        return .sleep(nil)
                    }
                    switch next {
                    case .work: return false
                    case .exit: return true
                    // Due now yet nothing collected cannot happen (see collectWork); should it,
                    // a 1 ms wait keeps it from becoming a spin that holds the lock.
                    case .sleep(let ns?): scope.wait(timeoutNs: max(ns, 1_000_000))
                    case .sleep(nil): scope.wait()
                    }
                }
            }
            if exit { break }
            fillPageCache(&fills)
            for w in work { submit(w, to: queue) }
            do { try queue.submit() } catch { failAll(error) }
            // Outside the lock, after the data writes are on their way (it does not delay them).
            // A failed header write is not reported here: the opening block that needs it
            // writes it itself and reports there.
            if let from = upkeepFrom {
                upkeepFrom = nil
                try? headerUpkeep(from)
            }
            completions.removeAll(keepingCapacity: true)
            if queue.inFlightCount > 0 {
                do { try queue.reap(minimum: 1, into: &completions) } catch { failAll(error) }
            }
            for c in completions { complete(c) }
        }
        if let spare = state.withLock({ s -> AlignedBuffer? in defer { s.spare = nil }; return s.spare }) {
            pool.recycle(spare)
        }
        finished.withLock { $0 = true }
        finished.broadcast()
    }

    /// Makes sure a zeroed buffer waits for the next block (``State/spare``): takes one from the
    /// pool (or the oldest post-write-cache block once the pool is all out) and zeroes it
    /// outside the lock, on the flusher's thread. Opening a block then costs the appending
    /// thread nothing, where it used to zero the buffer, and fault in a fresh one's pages, while
    /// holding this writer's lock and the record's index stripe (stalling both service threads:
    /// inserts' p99.9 was 4-5 ms on a fresh node).
    private func prepareSpare() {
        let taken = state.withLock { s in s.spare == nil && !s.stopping && s.failure == nil ? takeBuffer(&s) : nil }
        guard let buffer = taken else { return }
        if !buffer.takeFreshZeroes() { buffer.zero() }
        let unused = state.withLock { s -> AlignedBuffer? in
            guard s.spare == nil, !s.stopping else { return buffer }
            s.spare = buffer
            return nil
        }
        if let unused { pool.recycle(unused) }
    }

    /// Whether blocks were opened since the flusher last ran ``headerUpkeep``: the first
    /// never-written block to run it with (nil: nothing opened, or the writer failed or stops).
    private func takeUpkeep(_ s: inout State) -> UInt32? {
        guard s.upkeepDue else { return nil }
        s.upkeepDue = false
        return s.failure == nil && !s.stopping ? s.nextPristineBlock : nil
    }

    /// One round of the flusher without sleeping, for a simulator (`configuration.simulation`):
    /// when the flusher would be awake (work sealed, a commit waiting, a stop, a dirty buffer, or
    /// no idle sleep), collects due work at the simulated clock and submits it, then reaps at
    /// least `reapMinimum` completions (the queue picks which). Returns true once the writer
    /// has stopped (after `close`).
    @discardableResult
    public func flushStep(reapMinimum: Int = 0) -> Bool {
        precondition(configuration.simulation != nil, "flushStep drives a simulated writer only")
        let queue: DeviceQueue
        if let q = flusherLocal.queue { queue = q } else {
            do { queue = try device.makeQueue(depth: configuration.queueDepth) } catch {
                failAll(error)
                state.withLock { $0.stopped = true }
                return true
            }
            flusherLocal.queue = queue
        }
        let flushIntervalNs = UInt64(max(1, configuration.currentFlushMaxMs)) * 1_000_000
        var work: [Work] = []
        var upkeepFrom: UInt32?
        let exit: Bool = state.withLock { s in
            if s.stopped { return true }
            upkeepFrom = takeUpkeep(&s)
            // Asleep without a deadline: only a seal, a commit, a stop or a completion wakes it.
            if s.flusherIdle && s.sealed.isEmpty && !s.commitRequested && !s.stopping && s.inFlightWrites == 0
                && s.awaitingSync.isEmpty && !s.unsyncedWrites {
                return false
            }
            s.flusherIdle = false
            collectWork(&s, into: &work, queueDepth: queue.depth, flushIntervalNs: flushIntervalNs)
            if work.isEmpty && s.inFlightWrites == 0 {
                if mayStop(s) {
                    s.stopped = true
                    return true
                }
                if s.failure == nil, timedWorkDue(s, flushIntervalNs: flushIntervalNs) == nil { s.flusherIdle = true }
            }
            return false
        }
        if exit { return true }
        for w in work { submit(w, to: queue) }
        var completions: [IOCompletion] = []
        do {
            try queue.submit()
            if let from = upkeepFrom { try? headerUpkeep(from) }  // as the flusher thread does
            if queue.inFlightCount > 0 { try queue.reap(minimum: min(reapMinimum, queue.inFlightCount), into: &completions) }
        } catch {
            failAll(error)
        }
        for c in completions { complete(c) }
        return false
    }

    /// The flusher's state in one line (tracing a simulated run).
    public var flusherDescription: String {
        state.withLock { s in
            let cur = s.current.map { "block \($0.blockIndex) used \($0.usedBytes) durable \($0.durableBytes) inFlight \($0.writeInFlight)" } ?? "none"
            return "current \(cur); sealed \(s.sealed.count); idle \(s.flusherIdle); writes in flight \(s.inFlightWrites); "
                + "last flush \(s.lastFlushNs / 1_000_000) ms; commit requested \(s.commitRequested)"
        }
    }

    /// Writes in flight on a simulated writer's queue.
    public var steppedInFlight: Int { flusherLocal.queue?.inFlightCount ?? 0 }

    /// Whether a flusher with nothing in flight and nothing collected may stop: asked to, and
    /// everything written (or a failure ended the writes). The thread and `flushStep` both ask.
    private func mayStop(_ s: State) -> Bool {
        s.stopping && (s.failure != nil || (s.sealed.isEmpty && s.current == nil))
    }

    /// When the flusher's timed work falls due (nil: it has none): the current buffer's partial
    /// flush, flush-max-ms after the last flush, and, without commit-to-device, the sync of the
    /// writes completed since the last one, flush-max-ms after that sync. Both the flusher
    /// thread's sleep and the simulator's idle flusher ask this.
    private func timedWorkDue(_ s: State, flushIntervalNs: UInt64) -> UInt64? {
        let flush = partialFlushDue(s, flushIntervalNs: flushIntervalNs)
        guard let sync = syncDue(s, flushIntervalNs: flushIntervalNs) else { return flush }
        return min(flush ?? .max, sync)
    }

    /// When the current buffer's timed partial flush falls due (nil: it holds no unflushed
    /// bytes): flush-max-ms after the last flush. ``timedWorkDue`` sleeps until it,
    /// ``collectWork`` submits it once it has passed (or at once for a commit or a stop).
    private func partialFlushDue(_ s: State, flushIntervalNs: UInt64) -> UInt64? {
        guard let cur = s.current, cur.usedBytes > cur.durableBytes else { return nil }
        return s.lastFlushNs + flushIntervalNs
    }

    /// When the timed sync falls due (nil: no write completed since the last sync): without
    /// commit-to-device, flush-max-ms after the last sync. ``timedWorkDue`` sleeps until it,
    /// ``collectWork`` submits it once it has passed.
    private func syncDue(_ s: State, flushIntervalNs: UInt64) -> UInt64? {
        s.unsyncedWrites ? s.lastSyncNs + flushIntervalNs : nil
    }

    /// Picks sealed buffers and, when due, a partial flush of the current buffer.
    private func collectWork(_ s: inout State, into work: inout [Work], queueDepth: Int, flushIntervalNs: UInt64) {
        guard s.failure == nil else { return }
        var slots = queueDepth - s.inFlightWrites
        let now = configuration.nowNs()  // one clock read serves the sync and the partial flush
        if slots > 0 && s.syncing == nil
            && (!s.awaitingSync.isEmpty || syncDue(s, flushIntervalNs: flushIntervalNs).map { now >= $0 } ?? false)
        {
            // Submitted after the writes that emptied these blocks completed, so it covers them,
            // and every other write completed so far.
            s.syncing = s.awaitingSync
            s.awaitingSync.removeAll(keepingCapacity: true)
            s.unsyncedWrites = false
            s.lastSyncNs = now
            s.inFlightWrites += 1
            slots -= 1
            work.append(.sync)
        }
        var i = 0
        while slots > 0 && i < s.sealed.count {
            let b = s.sealed[i]
            if b.writeInFlight { i += 1; continue }  // its partial write must finish first
            if stillEncoding(b) {  // the last append encoding into it wakes the flusher
                i += 1
                continue
            }
            s.sealed.remove(at: i)
            b.writeInFlight = true
            s.inFlightWrites += 1
            slots -= 1
            // Sector-aligned: what a partial flush made durable is never written again (with
            // `partialFlushRewritesSector` the durable mark can sit inside a sector).
            work.append(.full(b, fromBytes: b.durableBytes / device.alignmentBytes * device.alignmentBytes))
        }
        // Partial flush of the current buffer: for commit waiters at once, else every flush-max-ms.
        guard slots > 0, let cur = s.current, !cur.writeInFlight,
              let timedDue = partialFlushDue(s, flushIntervalNs: flushIntervalNs) else { return }
        guard s.commitRequested || s.stopping || now >= timedDue else { return }
        if stillEncoding(cur) { return }  // a snapshot now would catch half-encoded records
        let alignment = device.alignmentBytes
        let start = cur.durableBytes / alignment * alignment
        let end = (cur.usedBytes + alignment - 1) / alignment * alignment
        let rewritesSector = configuration.has(.partialFlushRewritesSector)
        precondition(rewritesSector || start == cur.durableBytes, "a partial flush would rewrite a flushed sector")
        let recordsEnd = cur.usedBytes
        // All staging buffers in flight: the partial flush waits for the next round.
        guard let staging = stagingPool.takeIfAvailable() else { return }
        // Later records start at the next sector: a flushed sector is never written again, so a
        // failed or torn write can only hurt records not yet acknowledged (the zero gap is
        // padding to the scanner; FORMAT.md "Partial flushes").
        if !rewritesSector { cur.usedBytes = end }
        cur.writeInFlight = true
        s.inFlightWrites += 1
        s.commitRequested = false
        s.lastFlushNs = now
        let deviceOffset = UInt64(cur.blockIndex) * UInt64(configuration.writeBlockSizeBytes) + UInt64(start)
        work.append(.partial(cur, staging: staging, records: start..<recordsEnd, deviceOffset: deviceOffset,
                             lengthBytes: end - start, endBytes: rewritesSector ? recordsEnd : end))
    }

    private func submit(_ w: Work, to queue: DeviceQueue) {
        let durable = configuration.commitToDevice
        let request: IORequest
        switch w {
        case .sync:
            request = .dataSync()
        case .full(let b, let fromBytes):
            // Only what no partial flush wrote: flushed sectors are never written again.
            let blockOffset = UInt64(b.blockIndex) * UInt64(configuration.writeBlockSizeBytes)
            request = .write(from: b.buffer, bufferOffset: fromBytes,
                             lengthBytes: configuration.writeBlockSizeBytes - fromBytes,
                             at: blockOffset + UInt64(fromBytes), durable: durable, tag: UInt64(b.blockIndex))
            if fromBytes == configuration.writeBlockSizeBytes {
                complete(IOCompletion(request: request, error: nil))  // every byte already flushed
                return
            }
        case .partial(let b, let staging, let records, let deviceOffset, let length, let endBytes):
            b.buffer.withUnsafeBytes { raw in
                staging.copyBytes(from: UnsafeRawBufferPointer(rebasing: raw[records]), at: 0)
            }
            staging.zero(records.count..<length)
            request = .write(from: staging, lengthBytes: length, at: deviceOffset, durable: durable,
                             tag: UInt64(b.blockIndex) | UInt64(endBytes) << 32 | 1 << 63)
        }
        do { try queue.enqueue(request) } catch {
            complete(IOCompletion(request: request, error: error))
        }
    }

    private func complete(_ c: IOCompletion) {
        if c.request.kind == .dataSync { return completeSync(c) }
        let isPartial = c.request.tag & (1 << 63) != 0
        let block = UInt32(truncatingIfNeeded: c.request.tag)
        let endBytes = isPartial ? Int((c.request.tag >> 32) & 0x7FFF_FFFF) : configuration.writeBlockSizeBytes
        if isPartial { stagingPool.recycle(c.request.buffer!) }
        if !isPartial, c.error == nil, let mirror {
            // The sealed buffer is no longer written to; it leaves buffersByBlock only below.
            // The whole block, at the block's start (the request may cover only its unflushed tail).
            let blockOffset = UInt64(block) * UInt64(configuration.writeBlockSizeBytes)
            c.request.buffer!.withUnsafeBytes { mirror.store(at: blockOffset, $0) }
        }
        var failed: [Waiter] = []
        var recycle: AlignedBuffer?
        // The waiters this write satisfied, in memory kept from one completion to the next (no
        // allocation per group commit).
        var ready: [Waiter] = []
        swap(&ready, &flusherLocal.readyWaiters)
        state.withLock { s in
            s.inFlightWrites -= 1
            guard let b = s.buffersByBlock[block] else { preconditionFailure("completion for unbuffered block \(block)") }
            b.writeInFlight = false
            if let error = c.error {
                failed = takeWaitersFailing(error, &s)
                return
            }
            b.durableBytes = max(b.durableBytes, endBytes)
            if !configuration.commitToDevice { s.unsyncedWrites = true }
            s.stats.bytesWritten += UInt64(c.request.lengthBytes)
            if isPartial { s.stats.partialWrites += 1 } else { s.stats.fullWrites += 1 }
            if !isPartial {
                s.buffersByBlock[block] = nil
                let cacheBlocks = configuration.currentPostWriteCacheBlocks
                if cacheBlocks > 0 {
                    s.cached[block] = b.buffer
                    s.cacheOrder.append(block)
                    if s.cached.count > cacheBlocks { recycle = evictCached(&s) }
                } else {
                    recycle = b.buffer
                    noteLeftMemory(block, &s)  // at once, with no post-write cache
                }
                // Emptied while buffered and still empty: pending from now. Refilled since (it
                // was still the current block): not pending; its last emptying will make it so,
                // with that moment's mark. (A pending entry from here as well would free it twice,
                // once at a mark older than its last records' replacements.)
                if s.emptiedWhileBuffered.remove(block) != nil && isBlockEmpty(block) {
                    s.pendingFree.append((block, currentMark(s)))
                }
            }
            _ = promotePending(&s)
            let durableBytes = b.durableBytes
            let buffers = s.buffersByBlock
            s.waiters.removeAll { w in
                guard w.blockIndex == block && w.endBytes <= durableBytes || buffers[w.blockIndex] == nil else { return false }
                ready.append(w)
                return true
            }
            s.stats.commitWaitersServed += ready.count
            if !s.waiters.isEmpty { s.commitRequested = true }
        }
        if let recycle { pool.recycle(recycle) }
        // Each waiter is let go of as soon as it is called: what its callback holds (a
        // transaction's request, its operations) is then free before the thread it continues on
        // can take its next request, which would otherwise find that memory still held.
        ready.reverse()
        while let w = ready.popLast() { w.call(nil) }
        for w in failed { w.call(.io(c.error!)) }
        swap(&ready, &flusherLocal.readyWaiters)
        state.broadcast()
    }

    /// A reuse sync finished: the blocks it covered are free (those still empty and not held).
    /// A failed sync fails the writer, as a failed write does: what it covered may be lost.
    private func completeSync(_ c: IOCompletion) {
        var failed: [Waiter] = []
        state.withLock { s in
            s.inFlightWrites -= 1
            let blocks = s.syncing ?? []
            s.syncing = nil
            if let error = c.error {
                failed = takeWaitersFailing(error, &s)
                return
            }
            s.stats.syncs += 1
            for b in blocks { _ = freeIfStillEmpty(b, &s) }
        }
        for w in failed { w.call(.io(c.error!)) }
        state.broadcast()
    }

    private func failAll(_ error: any Error) {
        let ioError = (error as? IOError) ?? IOError(.invalidArgument("\(error)"), operation: .write, path: device.path)
        let failed: [Waiter] = state.withLock { s in takeWaitersFailing(ioError, &s) }
        for w in failed { w.call(.io(ioError)) }
        state.broadcast()
    }

    /// The writer fails (the first error is kept: nothing is written again) and hands back its
    /// commit waiters, to be called with the error outside the lock.
    private func takeWaitersFailing(_ error: IOError, _ s: inout State) -> [Waiter] {
        if s.failure == nil { s.failure = error }
        defer { s.waiters.removeAll() }
        return s.waiters
    }
}

/// The namespace-wide block sequence: strictly increasing each time any block of any device of
/// the namespace is opened for writing. Thread-safe.
///
/// No sequence is ever handed out twice in a namespace's life, crashes included: sequences are
/// handed out only below a durable reservation (the devices' `highestBlockSequence`, which a
/// start begins above). Without it, a power loss that kept a torn later page of a block but lost
/// its header could leave records tagged with a sequence the restarted namespace hands out
/// again, and a later use of that block would make those lost records valid (the simulator found
/// this: FORMAT.md "Block sequences").
public final class BlockSequencer: Sendable {
    private let last: Atomic<UInt64>
    private let reservation = Mutex<Reservation?>(nil)

    struct Reservation {
        var through: UInt64
        let step: UInt64
        let persist: @Sendable (UInt64) throws -> Void
        /// ``renewAhead()`` is writing a reservation (outside the lock).
        var renewing = false
        /// A simulator's reintroduced bug: renewals skip the write.
        var volatileRenewal = false
    }

    public init(after highest: UInt64) { last = Atomic(highest) }

    /// From now on, before a sequence above the durable reservation is handed out, `persist`
    /// makes `step` more sequences durable (it writes them to every device's header).
    public func reserveDurably(step: UInt64, bugs: ReintroducedBugs = [], persist: @escaping @Sendable (UInt64) throws -> Void) {
        reservation.withLock {
            $0 = Reservation(through: last.load(ordering: .relaxed), step: step, persist: persist,
                             volatileRenewal: bugs.contains(.volatileSequenceRenewal))
        }
    }

    /// The next sequence number. Relaxed ordering suffices: the value is published to other
    /// threads only through the device lock or the written block. Throws when the reservation
    /// it needs cannot be written (the block is then not opened).
    public func next() throws -> UInt64 {
        let n = last.add(1, ordering: .relaxed).newValue
        try reservation.withLock { r in
            guard var current = r, n > current.through else { return }
            let through = n + current.step
            try current.persist(through)
            current.through = through
            r = current
        }
        return n
    }

    /// Makes the reservation durable further ahead once less than half a step of it is left
    /// (a flusher's header upkeep), so that ``next()`` rarely has to write it itself, which it
    /// does under the opening writer's lock. The write runs outside this object's lock: `next()`
    /// goes on handing out sequences below the old reservation meanwhile. The reservation grows
    /// only once the write returned, so a crash during it leaves the old one in force.
    public func renewAhead() throws {
        let due: (target: UInt64, persist: @Sendable (UInt64) throws -> Void)? = reservation.withLock { r in
            guard var current = r, !current.renewing else { return nil }
            let handedOut = last.load(ordering: .relaxed)
            guard handedOut + current.step / 2 >= current.through else { return nil }
            current.renewing = true
            r = current
            let skip: @Sendable (UInt64) throws -> Void = { _ in }
            return (max(current.through, handedOut) + current.step, current.volatileRenewal ? skip : current.persist)
        }
        guard let due else { return }
        var failure: (any Error)?
        do { try due.persist(due.target) } catch { failure = error }
        reservation.withLock { r in
            guard var current = r else { return }
            current.renewing = false
            if failure == nil { current.through = max(current.through, due.target) }
            r = current
        }
        if let failure { throw failure }
    }

    /// Makes sure the next sequence is above `sequence` (after a scan found it on a device).
    public func advance(to sequence: UInt64) {
        last.raise(to: sequence)
    }

    /// The highest sequence handed out.
    public var highest: UInt64 { last.load(ordering: .relaxed) }
}
