import CairnIO
import CairnStorage

/// Space figures of a namespace (for `namespace/<ns>` statistics and tests).
public struct SpaceStatistics: Sendable, Equatable {
    /// Lowest available share over the devices (free + never-written blocks), percent.
    public var deviceAvailablePct: Int
    public var stopWrites: Bool
    public var freeBlocks: Int
    public var pendingFreeBlocks: Int
    public var defragQueue: Int
    public var blocksDefragged: Int
    public var recordsRewritten: Int
    public var defragBytesRewritten: UInt64
    /// Bytes the flushers wrote to the devices (partial flushes included).
    public var deviceBytesWritten: UInt64
    /// Record bytes appended for clients (writes and tombstones) and by defrag.
    public var clientBytesAppended: UInt64
    public var defragBytesAppended: UInt64
    public var blocksReused: Int
    public var blocksFreed: Int
    public var postWriteCacheHits: Int
    public var expiredRemoved: Int
    public var tombstonesDropped: Int
}

extension Namespace {
    func startSpaceManagement() {
        if options.backgroundDefrag { defragger.start() }
        supervisor.start { [weak self] in _ = self?.nsupCycle() }
    }

    func stopSpaceManagement() {
        defragger.stop()
        supervisor.stop()
    }

    /// Defragments every queued block once, now (tests and tools; the background thread does
    /// the same continuously). Returns the blocks emptied.
    @discardableResult
    public func defragmentOnce() -> Int { defragger.runQueueOnce() }

    /// One expiry-supervisor and tomb-raider pass, now.
    @discardableResult
    public func superviseOnce() -> SupervisorPass { nsupCycle() }

    /// One nsup cycle: eviction when usage is above a threshold, then the expiry supervisor and
    /// tomb-raider pass (which also removes evicted records' entries); timed for the statistics.
    func nsupCycle() -> SupervisorPass {
        let startNs = MonotonicClock.nowNs()
        let objects = index.entryCount - index.tombstoneCount
        let decision = evictIfNeeded()
        let pass = supervisor.runOnce(isEvicted: { isEvicted($0) })
        let deleted = pass.expiredRemoved + (decision?.evictedCount ?? 0)
        let durationMs = (MonotonicClock.nowNs() - startNs) / 1_000_000
        evictionTotals.withLock { t in
            t.lastCycleDurationMs = durationMs
            t.hwmBreached = decision != nil
            t.lastCycleDeletedPct = objects > 0 ? Double(deleted) * 100 / Double(objects) : 0
        }
        return pass
    }

    public var spaceStatistics: SpaceStatistics {
        let devices = storage.space
        let sup = supervisor.statistics
        return SpaceStatistics(
            deviceAvailablePct: devices.map(\.availablePct).min() ?? 0,
            stopWrites: devices.contains(where: \.stopWrites),
            freeBlocks: devices.reduce(0) { $0 + $1.availableBlocks },
            pendingFreeBlocks: devices.reduce(0) { $0 + $1.pendingFreeBlocks },
            defragQueue: devices.reduce(0) { $0 + $1.defragQueue },
            blocksDefragged: devices.reduce(0) { $0 + $1.defrag.blocksDefragged },
            recordsRewritten: devices.reduce(0) { $0 + $1.defrag.recordsRewritten },
            defragBytesRewritten: devices.reduce(0) { $0 + $1.defrag.bytesRewritten },
            deviceBytesWritten: devices.reduce(0) { $0 + $1.writer.bytesWritten },
            clientBytesAppended: storage.appended.clientBytes, defragBytesAppended: storage.appended.defragBytes,
            blocksReused: devices.reduce(0) { $0 + $1.writer.blocksReused },
            blocksFreed: devices.reduce(0) { $0 + $1.writer.blocksFreed },
            postWriteCacheHits: devices.reduce(0) { $0 + $1.writer.postWriteCacheHits },
            expiredRemoved: sup.expiredRemoved, tombstonesDropped: sup.tombstonesDropped)
    }
}
