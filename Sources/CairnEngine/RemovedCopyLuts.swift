import CairnIO
import CairnModel
import Synchronization

/// The last-update times of copies whose index entries were removed while the copies stay on
/// the device (a plain delete; the tomb raider dropping a tombstone, an expired or an evicted
/// record), by a hash of the digest, so that a record created again is ordered above them.
///
/// A cold start orders a digest's copies by LUT, then by generation. A record created with no
/// index entry starts at generation 1, and the clock's millisecond may be the removed copy's:
/// the two would tie on LUT and the old copy, with its higher generation, would win, losing an
/// acknowledged write (found by `LastUpdateTimeTests`; Aerospike has the same hole). A create
/// therefore commits at least 1 ms past its slot here (`Namespace.commit`, under the record's
/// index stripe, where a concurrent delete of the same digest raises the slot before it lets go
/// of the entry).
///
/// A truncation's sweep does not raise the slots: every write already commits above the
/// truncate LUT, so above every copy the sweep removes.
///
/// Digests that share a slot only cost each other 1 ms of LUT when one is created in the
/// millisecond the other was removed. One relaxed load per create; a removal is an atomic raise.
final class RemovedCopyLuts: Sendable {
    /// Slots: a power of two (64 KiB of LUTs).
    static let slotCount = 8192

    private nonisolated(unsafe) let slots: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        slots = .allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    @inline(__always)
    private static func slot(_ digest: Digest) -> Int {
        // The digest is a hash: its middle word is as good an index as any (the first holds the
        // partition and sprig bits).
        Int(truncatingIfNeeded: digest.word1) & (slotCount - 1)
    }

    /// The highest LUT of a removed copy in `digest`'s slot (0: none).
    @inline(__always)
    func lutMs(_ digest: Digest) -> UInt64 {
        slots[Self.slot(digest)].load(ordering: .relaxed)
    }

    /// Records that a copy of `digest` last updated at `lutMs` stays on the device with no index
    /// entry. Call it before the entry goes, under the record's index stripe.
    @inline(__always)
    func removed(_ digest: Digest, lutMs: UInt64) {
        slots[Self.slot(digest)].raise(to: lutMs)
    }

    /// The highest LUT in any slot, kept across a warm restart (`WarmState.removedCopyLutMs`).
    var maximum: UInt64 {
        var m: UInt64 = 0
        for i in 0..<Self.slotCount { m = max(m, slots[i].load(ordering: .relaxed)) }
        return m
    }

    /// Raises every slot to `lutMs` (a warm start: the removed copies' digests are not known).
    func raiseAll(to lutMs: UInt64) {
        guard lutMs > 0 else { return }
        for i in 0..<Self.slotCount { slots[i].raise(to: lutMs) }
    }
}
