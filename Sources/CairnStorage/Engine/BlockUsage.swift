import Synchronization

/// Live bytes per write block of one device: the sum of the sizes of the record copies the index
/// points at in that block. Drives free-block reuse and defrag.
///
/// Thread-safe (one mutex per device; updates are a few instructions).
/// Invariant: a counter never goes below zero (a negative count is a bug and traps).
public final class BlockUsage: Sendable {
    public let blockCount: Int
    private let liveBytes: Mutex<[UInt32]>

    public init(blockCount: Int) {
        self.blockCount = blockCount
        liveBytes = Mutex([UInt32](repeating: 0, count: blockCount))
    }

    public func add(block: UInt32, bytes: Int) {
        liveBytes.withLock { $0[Int(block)] += UInt32(bytes) }
    }

    /// Removes `bytes` from `block`; returns the block's live bytes left.
    @discardableResult
    public func remove(block: UInt32, bytes: Int) -> Int {
        liveBytes.withLock { counts in
            precondition(counts[Int(block)] >= UInt32(bytes), "live bytes of block \(block) would go negative")
            counts[Int(block)] -= UInt32(bytes)
            return Int(counts[Int(block)])
        }
    }

    /// Of `blocks`, the one with the fewest live bytes (ties: lowest index), skipping `excluded`.
    public func emptiest(of blocks: Set<UInt32>, excluding excluded: Set<UInt32>) -> (block: UInt32, liveBytes: Int)? {
        liveBytes.withLock { counts in
            var best: (UInt32, Int)?
            for b in blocks where !excluded.contains(b) {
                let live = Int(counts[Int(b)])
                if let cur = best, cur.1 < live || (cur.1 == live && cur.0 < b) { continue }
                best = (b, live)
            }
            return best.map { (block: $0.0, liveBytes: $0.1) }
        }
    }

    public func liveBytes(block: UInt32) -> Int { liveBytes.withLock { Int($0[Int(block)]) } }

    /// Replaces all counters (after a cold start or warm restart rebuild).
    public func replaceAll(_ counts: [UInt32]) {
        precondition(counts.count == blockCount)
        liveBytes.withLock { $0 = counts }
    }

    public var snapshot: [UInt32] { liveBytes.withLock { $0 } }

    public var totalLiveBytes: UInt64 { liveBytes.withLock { $0.reduce(0) { $0 + UInt64($1) } } }
}
