import CairnIO
import CairnIndex
import CairnStorage
import Foundation

/// What one supervisor pass did.
public struct SupervisorPass: Sendable, Equatable {
    /// Expired records removed from the index (their bytes released).
    public var expiredRemoved = 0
    /// Evicted records removed from the index (their bytes released).
    public var evictedRemoved = 0
    /// Tombstones dropped (tomb raider).
    public var tombstonesDropped = 0
    /// Expired records and tombstones kept because an older copy may still be on a device.
    public var kept = 0
    public var blocksRead = 0
}

/// The namespace supervisor (Aerospike's nsup and tomb raider in one pass), every `nsup-period`.
///
/// Candidates are index entries that only shadow older copies: tombstones, and expired records
/// (invisible already). One is removed from the index — and its bytes released — only when no
/// other copy of its digest can be on its device any more (FORMAT.md "Tomb raider"):
/// - its block's sequence is below the device's oldest buffered block (every block written
///   before it, where any older copy must be, is written whole), and
/// - a read of every written, unbuffered block of the device finds no other valid copy of the
///   digest (a block's stale records, left by an older use, are not valid copies).
/// Otherwise it stays (invisible) and is looked at again next pass, after defrag and reuse
/// have destroyed more old copies.
final class ExpirySupervisor: Sendable {
    private let index: PrimaryIndex
    private let storage: NamespaceStorage
    /// Raised for each entry dropped while its copy stays on the device.
    private let removedCopyLuts: RemovedCopyLuts
    private let nowVoidTime: @Sendable () -> UInt32
    private let periodSeconds: Int
    /// The period now (set-config's nsup-period); read before each wait. 0 pauses the passes.
    private let currentPeriodSeconds: @Sendable () -> Int
    private let worker = StoppableThread(name: "cairn-nsup")
    private let totals = ConditionLock(SupervisorPass())

    init(index: PrimaryIndex, storage: NamespaceStorage, removedCopyLuts: RemovedCopyLuts, periodSeconds: Int,
         currentPeriodSeconds: (@Sendable () -> Int)? = nil, nowVoidTime: @escaping @Sendable () -> UInt32) {
        self.index = index
        self.storage = storage
        self.removedCopyLuts = removedCopyLuts
        self.periodSeconds = periodSeconds
        self.currentPeriodSeconds = currentPeriodSeconds ?? { periodSeconds }
        self.nowVoidTime = nowVoidTime
    }

    var statistics: SupervisorPass { totals.withLock { $0 } }

    /// Starts the passes; each runs `cycle` (the namespace's whole nsup cycle, which calls
    /// `runOnce`).
    func start(cycle: @escaping @Sendable () -> Void) {
        guard periodSeconds > 0 else { return }
        let worker = self.worker
        let currentPeriodSeconds = self.currentPeriodSeconds
        // Weak: once stopped, the thread no longer keeps the storage (and its devices) open.
        worker.start { [weak self] in
            // Waits in one-second steps so that a period set-config changes applies at once;
            // 0 pauses the passes.
            var waitedSeconds = 0
            while !worker.pause(ns: 1_000_000_000) {
                waitedSeconds += 1
                let period = currentPeriodSeconds()
                if period > 0 && waitedSeconds >= period {
                    waitedSeconds = 0
                    guard self != nil else { return }
                    cycle()
                }
            }
        }
    }

    func stop() { worker.stop() }

    private var stopping: Bool { worker.isStopping }

    /// One pass over the index and, where candidates exist, over the devices.
    /// `isEvicted` tells records hidden by the eviction mark: they are candidates like expired ones.
    func runOnce(isEvicted: (IndexRecord) -> Bool = { _ in false }) -> SupervisorPass {
        let now = nowVoidTime()
        var candidates = [[Digest: IndexRecord]](repeating: [:], count: storage.devices.count)
        index.forEachRecord { r in
            if r.isTombstone || r.hasExpired(at: now) || isEvicted(r) {
                candidates[Int(r.location.deviceIndex)][r.digest] = r
            }
        }
        var pass = SupervisorPass()
        for d in storage.devices where !candidates[d.index].isEmpty {
            let cands = candidates[d.index]
            // Taken before the reads: blocks buffered now only hold newer records.
            let frontier = d.writer.oldestBufferedSequence ?? UInt64.max
            let buffered = d.writer.bufferedBlocks
            let end = d.writer.nextPristineBlock
            let buffer = AlignedBuffer(countBytes: storage.options.writeBlockSizeBytes, alignmentBytes: d.device.alignmentBytes)
            var otherCopy: Set<Digest> = []
            var ownSequence: [Digest: UInt64] = [:]
            var failed = false
            for block in DeviceGeometry.firstDataBlockIndex..<end where !buffered.contains(block) {
                if stopping { return pass }
                let found: (sequence: UInt64, records: [StoredBlockRecord])?
                do { found = try storage.readStoredBlock(deviceIndex: d.index, block: block, into: buffer) } catch {
                    storage.options.log("nsup: reading block \(block) of \(d.device.path): \(error); nothing dropped this pass")
                    failed = true
                    break
                }
                pass.blocksRead += 1
                guard let found else { continue }
                for r in found.records {
                    guard let c = cands[r.digest] else { continue }
                    if r.location == c.location { ownSequence[r.digest] = found.sequence } else { otherCopy.insert(r.digest) }
                }
            }
            if failed { continue }
            for (digest, c) in cands {
                guard !otherCopy.contains(digest), let seq = ownSequence[digest], seq < frontier else {
                    pass.kept += 1
                    continue
                }
                let removed: Bool
                do {
                    removed = try index.withRecord(digest) { entry in
                        guard entry == c else { return false }
                        // Its own copy stays on the device until its block is reused.
                        removedCopyLuts.removed(digest, lutMs: c.lastUpdateTimeMs)
                        entry = nil
                        storage.release(c.location)
                        return true
                    }
                } catch {
                    preconditionFailure("removing an index entry cannot fail: \(error)")
                }
                if removed {
                    if c.isTombstone {
                        pass.tombstonesDropped += 1
                    } else if c.hasExpired(at: now) {
                        pass.expiredRemoved += 1
                    } else {
                        pass.evictedRemoved += 1
                    }
                }
            }
        }
        totals.withLock { t in
            t.expiredRemoved += pass.expiredRemoved
            t.evictedRemoved += pass.evictedRemoved
            t.tombstonesDropped += pass.tombstonesDropped
            t.kept = pass.kept
            t.blocksRead += pass.blocksRead
        }
        return pass
    }
}
