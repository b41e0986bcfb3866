import CCacheHints
import Synchronization

/// What one lock stripe guards besides its sprigs' trees: a cache of free arena entries and the
/// stripe's share of the counters. Only touched with the stripe's lock held.
///
/// Invariants: `freeCount` is the length of the list `freeHead -> leftHandle -> … -> freeTail`;
/// `freeHead == 0 ⇔ freeTail == 0 ⇔ freeCount == 0`; `entryCount`/`tombstoneCount` are the sums
/// of the `SprigSlot` counters of the sprigs this stripe guards.
struct StripeState: Sendable {
    var freeHead: UInt32 = 0
    var freeTail: UInt32 = 0
    var freeCount = 0
    var entryCount = 0
    var tombstoneCount = 0
}

/// A fixed array of `Mutex<StripeState>`, one per 64-byte cache line so that two cores working on
/// different stripes never share a line. The line's last word holds the stripe's free-head hint
/// (``freeHeadHint(_:)``), readable without the lock.
///
/// Owner: `PrimaryIndex`, which maps every sprig to one stripe (`stripeIndex`). Any thread may take
/// any lock. Lock order: a stripe lock may be held while taking the arena's allocator lock, never
/// the reverse; a second stripe lock is only ever *tried* (`withLockIfAvailable`) while one is held.
final class StripedLocks: @unchecked Sendable {  // Each slot is a Mutex; the pointer and count never change.
    static let slotStrideBytes = 64
    /// Where in a slot's line the free-head hint lives (after the mutex).
    static let hintOffsetBytes = 56

    let count: Int
    private let slots: UnsafeMutableRawPointer

    init(count: Int) {
        precondition(count > 0 && count & (count - 1) == 0, "stripe count must be a power of two")
        precondition(MemoryLayout<Mutex<StripeState>>.size <= StripedLocks.hintOffsetBytes)
        precondition(MemoryLayout<Mutex<StripeState>>.alignment <= StripedLocks.slotStrideBytes)
        self.count = count
        slots = UnsafeMutableRawPointer.allocate(
            byteCount: count * StripedLocks.slotStrideBytes, alignment: StripedLocks.slotStrideBytes)
        for index in 0..<count {
            (slots + index * StripedLocks.slotStrideBytes)
                .bindMemory(to: Mutex<StripeState>.self, capacity: 1)
                .initialize(to: Mutex(StripeState()))
            (slots + index * StripedLocks.slotStrideBytes + StripedLocks.hintOffsetBytes)
                .initializeMemory(as: UInt32.self, repeating: 0, count: 1)
        }
    }

    deinit {
        for index in 0..<count {
            _ = mutex(index).deinitialize(count: 1)
        }
        slots.deallocate()
    }

    @inline(__always)
    private func mutex(_ index: Int) -> UnsafeMutablePointer<Mutex<StripeState>> {
        precondition(index >= 0 && index < count, "stripe \(index) out of range")
        return (slots + index * StripedLocks.slotStrideBytes).assumingMemoryBound(to: Mutex<StripeState>.self)
    }

    /// Runs `body` with stripe `index` locked.
    @inline(__always)
    func withLock<Result>(_ index: Int, _ body: (inout StripeState) throws -> Result) rethrows -> Result {
        try mutex(index).pointee.withLock { (state: inout sending StripeState) throws -> sending Result in
            try body(&state)
        }
    }

    /// The stripe's free-list head as last published with the lock held (0 when none): a hint
    /// for prefetching the entry its next insert takes. Read without the lock; may be stale.
    @inline(__always)
    func freeHeadHint(_ index: Int) -> UInt32 {
        cairn_load_relaxed_u32(hintAddress(index))
    }

    /// Publishes stripe `index`'s free-list head (caller holds that stripe's lock).
    @inline(__always)
    func setFreeHeadHint(_ index: Int, _ handle: UInt32) {
        cairn_store_relaxed_u32(hintAddress(index), handle)
    }

    /// Asks the CPU for stripe `index`'s line, ready for the lock's compare-and-swap.
    @inline(__always)
    func prefetchForLocking(_ index: Int) {
        precondition(index >= 0 && index < count, "stripe \(index) out of range")
        cairn_prefetch_for_write(slots + index * StripedLocks.slotStrideBytes)
    }

    @inline(__always)
    private func hintAddress(_ index: Int) -> UnsafeMutableRawPointer {
        precondition(index >= 0 && index < count, "stripe \(index) out of range")
        return slots + index * StripedLocks.slotStrideBytes + StripedLocks.hintOffsetBytes
    }

    /// Runs `body` with stripe `index` locked if nobody holds it; `nil` otherwise.
    func withLockIfAvailable<Result>(_ index: Int, _ body: (inout StripeState) -> Result) -> Result? {
        mutex(index).pointee.withLockIfAvailable { (state: inout sending StripeState) -> sending Result in
            body(&state)
        }
    }
}
