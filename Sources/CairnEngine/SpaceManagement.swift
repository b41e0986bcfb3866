import CairnIO
import CairnStorage
import Glibc

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
    /// Write blocks the flushers wrote whole (sealed full, or at a stop).
    public var deviceBlockWrites: Int
    /// Partial flushes of an open write block: a `commit-to-device` group commit, or a
    /// `flush-max-ms` flush of a block not yet full.
    public var devicePartialWrites: Int
    /// `commit-to-device` writes answered once their bytes were durable (the records the
    /// group commits carried; ÷ `devicePartialWrites` is about the group size).
    public var commitWaitsServed: Int
    /// Record bytes appended for clients (writes and tombstones) and by defrag.
    public var clientBytesAppended: UInt64
    public var defragBytesAppended: UInt64
    public var blocksReused: Int
    public var blocksFreed: Int
    /// Device syncs (fdatasync) the flushers issued without commit-to-device: within
    /// flush-max-ms after data writes, and before emptied blocks are reused.
    public var deviceSyncs: Int
    /// Bytes appended to the write buffers whose write has not completed: what a `kill -9` now
    /// would lose without commit-to-device (0 once the flushers caught up).
    public var deviceUnflushedBytes: Int
    public var postWriteCacheHits: Int
    /// Blocks read into the page cache as they left the post-write cache (`fill-page-cache`).
    public var pageCacheFills: Int
    public var expiredRemoved: Int
    public var tombstonesDropped: Int
    /// Each device's figures, in the namespace's device order: the totals above are summed from
    /// this one reading, so the two always agree.
    public var devices: [DeviceSpace]
}

/// How the nsup thread reaches its namespace without a weak reference. A weak reference would
/// give the Namespace a side table, and every retain of it (each transaction's, on the service
/// threads) would take the runtime's slow path: about 1% of a read-heavy load's samples. The
/// link holds the namespace unowned(unsafe) and runs a cycle only while the namespace is alive;
/// the namespace's deinit severs it, waiting for a cycle running on another thread (retains and
/// releases of an object in its deinit are allowed). When the cycle's own release of the
/// namespace is the last one, the deinit runs on the nsup thread, at the end of the cycle's use
/// of it, and does not wait for itself.
final class NamespaceLink: Sendable {
    private unowned(unsafe) let namespace: Namespace
    private struct State {
        var alive = true
        /// The thread running a cycle, if one is.
        var runner: pthread_t?
    }
    private let state = ConditionLock(State())

    init(_ namespace: Namespace) { self.namespace = namespace }

    /// Runs `body` with the namespace unless it is being deinitialized.
    func withNamespace(_ body: (Namespace) -> Void) {
        let runs = state.withLock { s -> Bool in
            guard s.alive else { return false }
            s.runner = pthread_self()
            return true
        }
        guard runs else { return }
        body(namespace)
        state.withLock { $0.runner = nil }
        state.broadcast()
    }

    /// Called by the namespace's deinit: no cycle starts after it, and one running on another
    /// thread is waited for.
    func sever() {
        let me = pthread_self()
        state.wait(until: { s in
            s.alive = false
            return s.runner.map { pthread_equal($0, me) != 0 } ?? true
        }) { _ in }
    }
}

extension Namespace {
    func startSpaceManagement() {
        if options.backgroundDefrag { defragger.start() }
        let link = NamespaceLink(self)
        nsupLink.withLock { $0 = link }
        supervisor.start { link.withNamespace { _ = $0.nsupCycle() } }
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
            deviceBlockWrites: devices.reduce(0) { $0 + $1.writer.fullWrites },
            devicePartialWrites: devices.reduce(0) { $0 + $1.writer.partialWrites },
            commitWaitsServed: devices.reduce(0) { $0 + $1.writer.commitWaitersServed },
            clientBytesAppended: storage.appended.clientBytes, defragBytesAppended: storage.appended.defragBytes,
            blocksReused: devices.reduce(0) { $0 + $1.writer.blocksReused },
            blocksFreed: devices.reduce(0) { $0 + $1.writer.blocksFreed },
            deviceSyncs: devices.reduce(0) { $0 + $1.writer.syncs },
            deviceUnflushedBytes: devices.reduce(0) { $0 + $1.unflushedBytes },
            postWriteCacheHits: devices.reduce(0) { $0 + $1.writer.postWriteCacheHits },
            pageCacheFills: devices.reduce(0) { $0 + $1.writer.pageCacheFills },
            expiredRemoved: sup.expiredRemoved, tombstonesDropped: sup.tombstonesDropped, devices: devices)
    }
}
