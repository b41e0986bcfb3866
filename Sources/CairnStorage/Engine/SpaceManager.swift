import Synchronization
import CairnIO
import CairnIndex

/// Defrag candidates of one device and the defragmenter's counters.
///
/// A block enters the queue when a release leaves it with live bytes below the low-water mark
/// (or when a rebuild finds it so); the defragmenter takes the emptiest one that is not buffered.
/// A block that emptied completely leaves the queue by itself (it goes the free-block way).
/// Thread-safe.
public final class DefragQueue: Sendable {
    private let blocks = Mutex<Set<UInt32>>([])
    private let counters = Mutex(DefragStatistics())

    public init() {}

    public func insert(_ block: UInt32) { _ = blocks.withLock { $0.insert(block) } }
    public func remove(_ block: UInt32) { _ = blocks.withLock { $0.remove(block) } }
    public func replaceAll(_ new: Set<UInt32>) { blocks.withLock { $0 = new } }
    public var count: Int { blocks.withLock { $0.count } }
    public var snapshot: Set<UInt32> { blocks.withLock { $0 } }

    public func record(_ update: (inout DefragStatistics) -> Void) { counters.withLock { update(&$0) } }
    public var statistics: DefragStatistics { counters.withLock { $0 } }
}

public struct DefragStatistics: Sendable, Equatable {
    /// Blocks whose live records were all rewritten elsewhere.
    public var blocksDefragged = 0
    public var recordsRewritten = 0
    public var bytesRewritten: UInt64 = 0
}

/// Space figures of one device, for statistics and the info answer.
public struct DeviceSpace: Sendable, Equatable {
    public var dataBlocks: Int
    /// Free (reusable) plus never-written blocks.
    public var availableBlocks: Int
    /// Emptied blocks waiting until what replaced their records is durable.
    public var pendingFreeBlocks: Int
    public var availablePct: Int
    public var stopWrites: Bool
    public var defragQueue: Int
    /// Full write blocks waiting for the flusher to write them (Aerospike's `write_q`).
    public var writeQueue: Int
    /// Bytes appended whose write has not completed (``DeviceWriter/BufferReading/unflushedBytes``).
    public var unflushedBytes: Int
    public var liveBytes: UInt64
    /// Record reads that failed for good (``NamespaceStorage/countReadError(_:_:)``).
    public var readErrors: UInt64
    public var writer: DeviceWriter.Statistics
    public var defrag: DefragStatistics
}

extension NamespaceStorage {
    /// Blocks a device keeps for defrag alone (client writes fail before taking them).
    static func defragReserveBlocks(dataBlocks: Int) -> Int { max(2, min(64, dataBlocks / 50)) }

    /// Live bytes below which a block is queued for defrag.
    var defragLWMBytes: Int {
        (options.writeBlockSizeBytes - BlockHeader.sizeBytes) * max(0, min(99, options.currentDefragLWMPct)) / 100
    }

    /// What a client write to a device may do, from one reading of its available blocks.
    public enum WriteAdmission: Sendable, Equatable {
        /// Go ahead.
        case accept
        /// Go ahead after yielding the CPU: the device is short of space (less than twice
        /// `stop-writes-avail-pct` available) and defrag has work.
        case yieldFirst
        /// Fail with OUT_OF_SPACE: available space below `stop-writes-avail-pct`.
        case stopWrites
    }

    /// The admission of a client write to `deviceIndex` (the write hot path: one lock of the
    /// device's writer). Logs each change of the stop-writes state.
    public func writeAdmission(deviceIndex: Int) -> WriteAdmission {
        // The device and its writer borrowed: a retain and release of either, objects every
        // service thread shares, on every put would move their cache lines between the cores.
        deviceRefs[deviceIndex].with { d in
            d.withWriter { w in
                let available = w.availableBlocks
                if stopWrites(d, writer: w, available: available) { return .stopWrites }
                let short = available * 100 < 2 * max(1, options.currentStopWritesAvailPct) * w.dataBlockCount
                return short && d.defragQueue.count > 0 ? .yieldFirst : .accept
            }
        }
    }

    /// Whether client writes to `deviceIndex` must fail with OUT_OF_SPACE (statistics).
    public func stopWrites(deviceIndex: Int) -> Bool {
        let d = devices[deviceIndex]
        return stopWrites(d, writer: d.writer, available: d.writer.availableBlocks)
    }

    private func stopWrites(_ d: StorageDevice, writer w: DeviceWriter, available: Int) -> Bool {
        let stopWritesAvailPct = options.currentStopWritesAvailPct
        let stop = available * 100 < stopWritesAvailPct * w.dataBlockCount
        // Loaded first: every put asks, and an exchange would write the flag's cache line, which
        // every service thread shares, even when nothing changes.
        if d.stopWritesFlag.load(ordering: .relaxed) != stop, d.stopWritesFlag.exchange(stop, ordering: .relaxed) != stop {
            options.log(stop
                ? "namespace \(options.namespaceName) device \(d.device.path): stop-writes on (available \(available) of \(w.dataBlockCount) blocks, below stop-writes-avail-pct \(stopWritesAvailPct))"
                : "namespace \(options.namespaceName) device \(d.device.path): stop-writes off (available \(available) of \(w.dataBlockCount) blocks)")
        }
        return stop
    }

    /// Space figures of every device.
    public var space: [DeviceSpace] {
        devices.map { d in
            let w = d.writer
            let available = w.availableBlocks
            let buffers = w.bufferReading
            return DeviceSpace(
                dataBlocks: w.dataBlockCount, availableBlocks: available, pendingFreeBlocks: buffers.pendingFreeBlocks,
                availablePct: w.dataBlockCount > 0 ? available * 100 / w.dataBlockCount : 0,
                stopWrites: stopWrites(d, writer: w, available: available), defragQueue: d.defragQueue.count,
                writeQueue: buffers.sealedBlocks, unflushedBytes: buffers.unflushedBytes, liveBytes: d.usage.totalLiveBytes,
                readErrors: d.readErrors.load(ordering: .relaxed), writer: buffers.statistics, defrag: d.defragQueue.statistics)
        }
    }
}

/// Bytes appended per purpose, namespace-wide (write amplification = device bytes written ÷
/// client bytes appended).
public final class AppendCounters: Sendable {
    let client = Atomic<UInt64>(0)
    let defrag = Atomic<UInt64>(0)
    init() {}
    func count(_ bytes: UInt64, defrag: Bool) {
        if defrag { self.defrag.add(bytes, ordering: .relaxed) } else { client.add(bytes, ordering: .relaxed) }
    }
    public var clientBytes: UInt64 { client.load(ordering: .relaxed) }
    public var defragBytes: UInt64 { defrag.load(ordering: .relaxed) }
}

/// A record found by `NamespaceStorage.readStoredBlock`.
public struct StoredBlockRecord: Sendable {
    public var location: RecordLocation
    public var digest: Digest
    /// Offset of the record in the block buffer.
    public var offset: Int
}

extension NamespaceStorage {
    /// Reads `block` of `deviceIndex` whole from the device into `buffer` (one write block) and
    /// lists its valid records (stale records of an older use of the block and damaged regions
    /// are left out). Returns the block's sequence, or nil when it holds no valid block of this
    /// namespace instance.
    public func readStoredBlock(deviceIndex: Int, block: UInt32, into buffer: AlignedBuffer)
        throws -> (sequence: UInt64, records: [StoredBlockRecord])?
    {
        let d = devices[deviceIndex]
        do { try d.device.readSync(into: buffer, at: geometry.byteOffset(ofBlock: block)) } catch { throw StorageError.io(error) }
        return parseStoredBlock(deviceIndex: deviceIndex, block: block, buffer: buffer)
    }

    /// Reads several whole blocks at once through `queue` (one of this device's queues, owned
    /// by the calling thread), `buffers[i]` receiving `blocks[i]`.
    public func readBlocks(deviceIndex: Int, blocks: [UInt32], into buffers: [AlignedBuffer], queue: DeviceQueue) throws {
        precondition(buffers.count >= blocks.count, "a buffer per block")
        var next = 0
        var completions: [IOCompletion] = []
        do {
            while next < blocks.count || queue.inFlightCount > 0 {
                while next < blocks.count && queue.inFlightCount < queue.depth {
                    try queue.enqueue(.read(into: buffers[next], at: geometry.byteOffset(ofBlock: blocks[next]), tag: UInt64(next)))
                    next += 1
                }
                try queue.submit()
                completions.removeAll(keepingCapacity: true)
                try queue.reap(minimum: 1, into: &completions)
                for c in completions { try c.get() }
            }
        } catch {
            var rest: [IOCompletion] = []
            try? queue.drain(into: &rest)
            throw StorageError.io(error)
        }
    }

    /// Lists the valid records of `block` read into `buffer` (see `readStoredBlock`).
    public func parseStoredBlock(deviceIndex: Int, block: UInt32, buffer: AlignedBuffer)
        -> (sequence: UInt64, records: [StoredBlockRecord])?
    {
        let expectation = BlockScanExpectation(namespaceInstanceId: instanceId, deviceIndex: UInt16(deviceIndex),
                                               blockIndex: block, writeBlockSizeBytes: options.writeBlockSizeBytes)
        let base = UInt64(block) * UInt64(options.writeBlockSizeBytes)
        var records: [StoredBlockRecord] = []
        let report = buffer.withUnsafeBytes { raw in
            BlockScanner.scan(blockUntrusted: raw, expecting: expectation) { event in
                if case .record(let r) = event {
                    records.append(StoredBlockRecord(
                        location: RecordLocation(deviceIndex: deviceIndex, byteOffset: base + UInt64(r.offset), sizeBytes: r.sizeBytes),
                        digest: r.digest, offset: r.offset))
                }
            }
        }
        guard case .scanned(let header) = report.outcome else { return nil }
        return (header.sequence, records)
    }
}
