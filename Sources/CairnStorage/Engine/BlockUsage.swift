import Synchronization

/// Live bytes per write block of one device: the sum of the sizes of the record copies the index
/// points at in that block. Drives free-block reuse and defrag.
///
/// Thread-safe: one relaxed atomic counter per block. Every put adds to its block and every
/// overwrite or delete subtracts from the old copy's, from every service thread; a lock around
/// the whole table (what this was) made each of those two atomic writes to one cache line all
/// threads share, and a wait when two met. A counter's updates are still totally ordered (each
/// `remove` returns the count its own subtraction left); counters are independent, and a
/// snapshot taken while writes run is per counter, as the only whole-table readers (statistics,
/// the warm-restart save after traffic stopped) need.
/// Invariant: a counter never goes below zero (a negative count is a bug and traps).
public final class BlockUsage: Sendable {
    public let blockCount: Int
    /// `blockCount` counters, allocated and initialised once, freed in `deinit`.
    private nonisolated(unsafe) let counters: UnsafeMutablePointer<Atomic<UInt32>>

    public init(blockCount: Int) {
        precondition(blockCount >= 0, "block count \(blockCount) is negative")
        self.blockCount = blockCount
        counters = .allocate(capacity: max(blockCount, 1))
        for block in 0..<blockCount { (counters + block).initialize(to: Atomic(0)) }
    }

    deinit {
        counters.deinitialize(count: blockCount)
        counters.deallocate()
    }

    @inline(__always)
    private func checked(_ block: UInt32) -> Int {
        let index = Int(block)
        precondition(index < blockCount, "block \(block) is outside the device's \(blockCount) blocks")
        return index
    }

    public func add(block: UInt32, bytes: Int) {
        precondition(bytes >= 0 && bytes <= Int(UInt32.max), "adding \(bytes) live bytes to block \(block)")
        counters[checked(block)].add(UInt32(bytes), ordering: .relaxed)  // traps on overflow
    }

    /// Removes `bytes` from `block`; returns the block's live bytes left.
    @discardableResult
    public func remove(block: UInt32, bytes: Int) -> Int {
        precondition(bytes >= 0 && bytes <= Int(UInt32.max), "removing \(bytes) live bytes from block \(block)")
        let (old, new) = counters[checked(block)].wrappingSubtract(UInt32(bytes), ordering: .relaxed)
        precondition(old >= UInt32(bytes), "live bytes of block \(block) would go negative (\(old) − \(bytes))")
        return Int(new)
    }

    /// Of `blocks`, the one with the fewest live bytes (ties: lowest index), skipping `excluded`.
    public func emptiest(of blocks: Set<UInt32>, excluding excluded: Set<UInt32>) -> (block: UInt32, liveBytes: Int)? {
        var best: (UInt32, Int)?
        for b in blocks where !excluded.contains(b) {
            let live = liveBytes(block: b)
            if let cur = best, cur.1 < live || (cur.1 == live && cur.0 < b) { continue }
            best = (b, live)
        }
        return best.map { (block: $0.0, liveBytes: $0.1) }
    }

    public func liveBytes(block: UInt32) -> Int { Int(counters[checked(block)].load(ordering: .relaxed)) }

    /// Replaces all counters (after a cold start or warm restart rebuild, before traffic).
    public func replaceAll(_ counts: [UInt32]) {
        precondition(counts.count == blockCount, "\(counts.count) counts for \(blockCount) blocks")
        for (block, count) in counts.enumerated() { counters[block].store(count, ordering: .relaxed) }
    }

    public var snapshot: [UInt32] {
        (0..<blockCount).map { counters[$0].load(ordering: .relaxed) }
    }

    public var totalLiveBytes: UInt64 {
        (0..<blockCount).reduce(0) { $0 + UInt64(counters[$1].load(ordering: .relaxed)) }
    }
}
