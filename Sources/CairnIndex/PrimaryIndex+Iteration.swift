// MARK: Iteration

extension PrimaryIndex {
    /// Default number of records copied out per lock hold.
    public static let iterationBatchCountDefault = 64

    /// Calls `body` for the records of `partition` in ascending digest order (`memcmp` order of
    /// the 20 bytes), starting strictly after `after` when given (which must belong to
    /// `partition`), until `body` returns `false`. Returns `true` if the partition was walked to
    /// its end, `false` if `body` stopped it.
    ///
    /// The order is plain digest order because sprigs are chosen by the most significant digest
    /// bits after the partition bits (see `Digest`): the walk goes sprig by sprig, each in digest
    /// order. Up to `batchCountMax` records are copied out under a sprig's lock, then `body` runs
    /// with no lock held, and the walk resumes after the last digest it saw. So `body` may be slow
    /// (stream to a socket) and may call the index; records inserted or removed meanwhile may or
    /// may not be seen, but no digest is ever visited twice or out of order.
    @discardableResult
    public func forEach(
        partition: Int, after: Digest? = nil, batchCountMax: Int = PrimaryIndex.iterationBatchCountDefault,
        _ body: (IndexRecord) throws -> Bool
    ) rethrows -> Bool {
        var scratch = IterationScratch(batchCountMax: batchCountMax)
        return try walk(partition: partition, after: after, scratch: &scratch, body)
    }

    /// Calls `body` for every record of the partitions in `partitions`, partition by partition in
    /// the order of `forEach(partition:)`, with the same batching (no lock held while `body` runs).
    /// Disjoint ranges may be walked from different threads at once (see `partitionRanges`), e.g.
    /// to rebuild per-block statistics after a warm restart on all cores.
    public func forEachRecord(
        partitions: Range<Int> = 0..<Digest.partitionCount,
        batchCountMax: Int = 256,
        _ body: (IndexRecord) throws -> Void
    ) rethrows {
        precondition(partitions.lowerBound >= 0 && partitions.upperBound <= Digest.partitionCount)
        var scratch = IterationScratch(batchCountMax: batchCountMax)
        for partition in partitions {
            _ = try walk(partition: partition, after: nil, scratch: &scratch) { record in
                try body(record)
                return true
            }
        }
    }

    /// `0..<4096` cut into `count` contiguous ranges of near-equal size, for parallel walks.
    public static func partitionRanges(count: Int) -> [Range<Int>] {
        precondition(count > 0 && count <= Digest.partitionCount, "1...4096 ranges")
        return (0..<count).map { part in
            (part * Digest.partitionCount / count)..<((part + 1) * Digest.partitionCount / count)
        }
    }

    // MARK: Helpers

    /// Buffers reused across batches so that a walk allocates only when it starts.
    struct IterationScratch {
        let batchCountMax: Int
        var records: [IndexRecord] = []
        var stack: [UInt32] = []

        init(batchCountMax: Int) {
            precondition(batchCountMax > 0, "batchCountMax must be positive")
            self.batchCountMax = batchCountMax
            records.reserveCapacity(batchCountMax)
            stack.reserveCapacity(64)
        }
    }

    private func walk(
        partition: Int, after: Digest?, scratch: inout IterationScratch, _ body: (IndexRecord) throws -> Bool
    ) rethrows -> Bool {
        precondition(partition >= 0 && partition < Digest.partitionCount, "partition \(partition) out of range")
        if let after {
            precondition(after.partitionID == partition, "resume digest \(after) is not in partition \(partition)")
        }
        let sprigsPerPartition = configuration.sprigsPerPartition
        var sprig = after?.sprigIndex(sprigsPerPartition: sprigsPerPartition) ?? 0
        var cursor = after
        while sprig < sprigsPerPartition {
            let slotIndex = partition << sprigShift | sprig
            scratch.records.removeAll(keepingCapacity: true)
            let moreInSprig = locks.withLock(slotIndex & stripeMask) { _ in
                SprigTree(arena: arena).copyInOrder(
                    root: sprigTable.slot(slotIndex).pointee.rootHandle, after: cursor, into: &scratch.records,
                    countMax: scratch.batchCountMax, stack: &scratch.stack)
            }
            for record in scratch.records {
                if try !body(record) { return false }
            }
            if moreInSprig, let last = scratch.records.last {
                cursor = last.digest
            } else {
                sprig += 1
                cursor = nil
            }
        }
        return true
    }
}

// MARK: Counts

extension PrimaryIndex {
    /// Live entries in the whole index (tombstones included).
    public var entryCount: Int {
        (0..<locks.count).reduce(0) { total, stripe in total + locks.withLock(stripe) { $0.entryCount } }
    }

    /// Tombstones in the whole index.
    public var tombstoneCount: Int {
        (0..<locks.count).reduce(0) { total, stripe in total + locks.withLock(stripe) { $0.tombstoneCount } }
    }

    /// Live entries (tombstones included) in `partition`.
    public func entryCount(partition: Int) -> Int {
        sumOverSprigs(of: partition) { Int($0.entryCount) }
    }

    /// Tombstones in `partition`.
    public func tombstoneCount(partition: Int) -> Int {
        sumOverSprigs(of: partition) { Int($0.tombstoneCount) }
    }

    /// How much of the arena is in use.
    public var arenaStatistics: ArenaStatistics {
        let statistics = arena.statistics
        return ArenaStatistics(
            entryCapacity: configuration.entryCountMax,
            handlesUsed: Int(statistics.nextUnusedHandle - 1),
            stageCount: statistics.stageCount,
            globalFreeCount: Int(statistics.globalFreeCount))
    }

    private func sumOverSprigs(of partition: Int, _ value: (SprigSlot) -> Int) -> Int {
        precondition(partition >= 0 && partition < Digest.partitionCount, "partition \(partition) out of range")
        var total = 0
        for sprig in 0..<configuration.sprigsPerPartition {
            let slotIndex = partition << sprigShift | sprig
            total += locks.withLock(slotIndex & stripeMask) { _ in value(sprigTable.slot(slotIndex).pointee) }
        }
        return total
    }
}

/// A snapshot of arena usage.
public struct ArenaStatistics: Sendable, Equatable {
    /// `entryCountMax`: the most entries the arena hands out.
    public var entryCapacity: Int
    /// Entries ever handed out (live, or free for reuse); never more than `entryCapacity`.
    public var handlesUsed: Int
    /// Stages mapped.
    public var stageCount: Int
    /// Free entries in the global tier (each lock stripe caches a few more).
    public var globalFreeCount: Int
}
