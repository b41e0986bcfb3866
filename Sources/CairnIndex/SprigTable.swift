/// One sprig's persistent state: 16 bytes, in the sprig table.
///
/// ```
/// offset size field
///   0     4   rootHandle       treap root, 0 = empty sprig
///   4     4   entryCount       live entries in this sprig
///   8     4   tombstoneCount   of which tombstones
///  12     4   (reserved)       zero
/// ```
struct SprigSlot {
    var rootHandle: UInt32
    var entryCount: UInt32
    var tombstoneCount: UInt32
    var reserved: UInt32
}

/// The sprig table: `4096 * sprigsPerPartition` `SprigSlot`s in a region of their own (anonymous
/// or a shared file, like the arena), indexed by `partition * sprigsPerPartition + sprig`.
///
/// Owner: `PrimaryIndex`. Slot `i` is read and written only under the lock of stripe
/// `i % lockStripeCount`.
final class SprigTable: @unchecked Sendable {  // Each slot is guarded by its stripe lock (see above).
    let sprigCount: Int
    private let region: MemoryRegion
    private let slots: UnsafeMutablePointer<SprigSlot>

    static func sizeBytes(sprigCount: Int) -> Int { sprigCount * MemoryLayout<SprigSlot>.stride }

    init(region: MemoryRegion, sprigCount: Int) {
        self.region = region
        self.sprigCount = sprigCount
        slots = region.bind(to: SprigSlot.self, atByteOffset: 0, count: sprigCount)
    }

    /// The slot of sprig `index` (caller holds its stripe lock).
    @inline(__always)
    func slot(_ index: Int) -> UnsafeMutablePointer<SprigSlot> {
        precondition(index >= 0 && index < sprigCount, "sprig \(index) out of range")
        return slots + index
    }

    /// The link that holds sprig `index`'s root.
    @inline(__always)
    func rootLink(_ index: Int) -> UnsafeMutablePointer<UInt32> {
        // `rootHandle` is at offset 0 of the slot (pinned by a test).
        UnsafeMutableRawPointer(slot(index)).assumingMemoryBound(to: UInt32.self)
    }
}
