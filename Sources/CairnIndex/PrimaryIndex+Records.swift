import CCacheHints

// MARK: Single-record operations

extension PrimaryIndex {
    /// Brings in what inserting each digest will touch, so that the inserts that follow find
    /// it in cache: the sprig slot (read: it names the root), the stripe's lock line, the root
    /// entry of the sprig's tree, and the entry the stripe's next allocation takes. An insert's
    /// own loads wait for each other (the slot gives the root); here the loads and prefetches
    /// of all the batch's digests are in flight together. The cold-start parsers call it per
    /// batch of records; in a profile, the slot load and the root compare were 85% of the
    /// insert's own time, and the lock and the free entry most of the rest.
    ///
    /// A hint only: it takes no lock and changes nothing. The slot's root and the stripe's
    /// free-head hint are read with relaxed atomic loads (each is a whole handle, maybe stale);
    /// a handle out of range or in a stage this thread has not seen mapped is skipped; the
    /// entries are only prefetched.
    public func warmPaths(_ digests: UnsafeBufferPointer<Digest>) {
        warmPaths(count: digests.count) { digests[$0] }
    }

    /// ``warmPaths(_:)`` for `count` digests given by position (the cold start's batch of record
    /// summaries, without copying their digests out first).
    public func warmPaths(count: Int, digestAt: (Int) -> Digest) {
        let batchMax = 32
        precondition(count >= 0 && count <= batchMax, "warmPaths takes at most \(batchMax) digests, not \(count)")
        withUnsafeTemporaryAllocation(of: (root: UInt32, free: UInt32).self, capacity: batchMax) { found in
            for i in 0..<count {
                let slotIndex = sprigSlotIndex(digestAt(i))
                let stripe = slotIndex & stripeMask
                locks.prefetchForLocking(stripe)
                found[i] = (cairn_load_relaxed_u32(sprigTable.rootLink(slotIndex)), locks.freeHeadHint(stripe))
            }
            for i in 0..<count {
                if let root = arena.entryIfMapped(found[i].root) { cairn_prefetch_for_read(root) }
                if let free = arena.entryIfMapped(found[i].free) { cairn_prefetch_for_write(free) }
            }
        }
    }

    /// The record of `digest`, or `nil` if the index has none.
    public func lookup(_ digest: Digest) -> IndexRecord? {
        let slotIndex = sprigSlotIndex(digest)
        return locks.withLock(slotIndex & stripeMask) { _ in
            let handle = SprigTree(arena: arena).find(digest, root: sprigTable.slot(slotIndex).pointee.rootHandle)
            return handle == 0 ? nil : arena.entry(handle).pointee.record
        }
    }

    /// Runs `body` under the lock of `digest`'s sprig with the current record (`nil` if absent),
    /// then applies what `body` left in it: `nil` removes the entry, a record inserts or replaces
    /// it. This is the compare-and-replace primitive of the write path, deletes, touch and the
    /// cold-start scanner. It allocates nothing.
    ///
    /// A record left by `body` must keep `digest` (a different digest traps). The index is left
    /// unchanged if `body` throws (its error is rethrown), if the record does not fit the entry
    /// (`IndexError.recordFieldOutOfRange`), or if a new entry is needed and the arena is full
    /// (`IndexError.arenaFull`); the last two are thrown after `body` ran.
    ///
    /// `body` must be short and must not call this index (the lock is not recursive).
    public func withRecord<Result>(
        _ digest: Digest, _ body: (inout IndexRecord?) throws -> Result
    ) throws -> Result {
        checkNotShutDown()
        let slotIndex = sprigSlotIndex(digest)
        let stripeIndex = slotIndex & stripeMask
        return try locks.withLock(stripeIndex) { stripe in
            let tree = SprigTree(arena: arena)
            let priority = SprigTree.priority(of: digest, seed: prioritySeed)
            let search = tree.search(digest, priority: priority, rootLink: sprigTable.rootLink(slotIndex))
            var record: IndexRecord? = search.found == 0 ? nil : arena.entry(search.found).pointee.record
            let result = try body(&record)
            switch (search.found, record) {
            case (0, nil):
                break
            case (0, let inserted?):
                precondition(inserted.digest == digest, "withRecord body changed the digest")
                try inserted.validateForIndex()
                let handle = try allocate(&stripe, stripeIndex: stripeIndex)
                arena.entry(handle).pointee = IndexEntry(record: inserted, priority: priority)
                tree.insert(handle, at: search.link)
                countInsertion(slotIndex: slotIndex, isTombstone: inserted.isTombstone, stripe: &stripe)
            case (let found, nil):
                unlink(found, at: search.link, slotIndex: slotIndex, stripe: &stripe)
            case (let found, let updated?):
                precondition(updated.digest == digest, "withRecord body changed the digest")
                try updated.validateForIndex()
                let entry = arena.entry(found)
                if entry.pointee.isTombstone != updated.isTombstone {
                    let slot = sprigTable.slot(slotIndex)
                    if updated.isTombstone {
                        slot.pointee.tombstoneCount += 1
                        stripe.tombstoneCount += 1
                    } else {
                        slot.pointee.tombstoneCount -= 1
                        stripe.tombstoneCount -= 1
                    }
                }
                entry.pointee.storeFields(of: updated)
            }
            return result
        }
    }

    /// Inserts `record`, or replaces the record with the same digest; returns the one replaced.
    @discardableResult
    public func insertOrReplace(_ record: IndexRecord) throws -> IndexRecord? {
        try withRecord(record.digest) { current in
            let previous = current
            current = record
            return previous
        }
    }

    /// Removes the record of `digest`; returns it, or `nil` if there was none.
    @discardableResult
    public func remove(_ digest: Digest) -> IndexRecord? {
        checkNotShutDown()
        let slotIndex = sprigSlotIndex(digest)
        let stripeIndex = slotIndex & stripeMask
        return locks.withLock(stripeIndex) { stripe in
            let tree = SprigTree(arena: arena)
            let priority = SprigTree.priority(of: digest, seed: prioritySeed)
            let search = tree.search(digest, priority: priority, rootLink: sprigTable.rootLink(slotIndex))
            guard search.found != 0 else { return nil }
            let record = arena.entry(search.found).pointee.record
            unlink(search.found, at: search.link, slotIndex: slotIndex, stripe: &stripe)
            return record
        }
    }

    // MARK: Helpers (stripe lock held)

    /// Unlinks `handle` (held by `link`) from its sprig and frees it.
    private func unlink(_ handle: UInt32, at link: UnsafeMutablePointer<UInt32>, slotIndex: Int, stripe: inout StripeState) {
        let isTombstone = arena.entry(handle).pointee.isTombstone
        SprigTree(arena: arena).remove(at: link)
        arena.push(handle, onto: &stripe)
        let slot = sprigTable.slot(slotIndex)
        slot.pointee.entryCount -= 1
        stripe.entryCount -= 1
        if isTombstone {
            slot.pointee.tombstoneCount -= 1
            stripe.tombstoneCount -= 1
        }
    }

    private func countInsertion(slotIndex: Int, isTombstone: Bool, stripe: inout StripeState) {
        let slot = sprigTable.slot(slotIndex)
        slot.pointee.entryCount += 1
        stripe.entryCount += 1
        if isTombstone {
            slot.pointee.tombstoneCount += 1
            stripe.tombstoneCount += 1
        }
    }

    /// A free entry for stripe `stripeIndex` (see `takeEntry`), publishing the stripe's next
    /// free head for `warmPaths`.
    private func allocate(_ stripe: inout StripeState, stripeIndex: Int) throws(IndexError) -> UInt32 {
        let handle = try takeEntry(&stripe, stripeIndex: stripeIndex)
        locks.setFreeHeadHint(stripeIndex, stripe.freeHead)
        return handle
    }

    /// A free entry for stripe `stripeIndex`: from its cache, else the global tier, else taken
    /// from another stripe's cache (only tried, never waited for: we already hold a stripe lock).
    private func takeEntry(_ stripe: inout StripeState, stripeIndex: Int) throws(IndexError) -> UInt32 {
        if let handle = arena.pop(from: &stripe) { return handle }
        if try arena.refill(&stripe), let handle = arena.pop(from: &stripe) { return handle }
        // The arena is exhausted apart from entries cached by other stripes (at most
        // stripeFreeCountMax each): take one stripe's cache. This path runs only when full.
        for offset in 1..<locks.count {
            let other = (stripeIndex + offset) & stripeMask
            let taken = locks.withLockIfAvailable(other) { otherState -> (UInt32, UInt32, Int)? in
                guard otherState.freeCount > 0 else { return nil }
                let list = (otherState.freeHead, otherState.freeTail, otherState.freeCount)
                otherState.freeHead = 0
                otherState.freeTail = 0
                otherState.freeCount = 0
                return list
            }
            if let (head, tail, count) = taken ?? nil {
                stripe.freeHead = head
                stripe.freeTail = tail
                stripe.freeCount = count
                if let handle = arena.pop(from: &stripe) { return handle }
            }
        }
        // Another stripe may have spilled to the global list meanwhile.
        if try arena.refill(&stripe), let handle = arena.pop(from: &stripe) { return handle }
        throw .arenaFull(entryCountMax: configuration.entryCountMax)
    }
}
