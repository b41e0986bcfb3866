// MARK: Invariants (tests and debugging)

/// A broken index invariant, with what was found where.
struct IndexInvariantViolation: Error, CustomStringConvertible {
    let description: String
}

/// What `checkInvariants` measured on the way.
struct IndexShape: Equatable {
    var entryCount = 0
    var tombstoneCount = 0
    /// Deepest node over all sprigs (a root is at depth 1).
    var heightMax = 0
    /// Sum of the depths of all nodes (average depth = depthSum / entryCount).
    var depthSum = 0
}

extension PrimaryIndex {
    /// Checks every structural invariant and throws the first violation:
    /// - each sprig is a binary search tree in strict digest order, every digest belongs to the
    ///   sprig's partition and sprig, priorities are the digest's keyed hash and heap-ordered;
    /// - sprig counters match their trees; stripe counters match their sprigs;
    /// - every entry handed out (`1..<nextUnusedHandle`) is either live in exactly one tree or on
    ///   exactly one free list (a stripe cache or the global list), with the matching state byte,
    ///   and the free-list counts and tails are right.
    ///
    /// Takes each stripe lock in turn; call it when no other thread changes the index.
    func checkInvariants() throws -> IndexShape {
        let statistics = arena.statistics
        let handlesUsed = Int(statistics.nextUnusedHandle) - 1
        var seen = [Bool](repeating: false, count: handlesUsed + 1)
        var shape = IndexShape()
        var stack: [(handle: UInt32, depth: Int, lower: Digest?, upper: Digest?, parentPriority: UInt32)] = []

        func claim(_ handle: UInt32, _ what: String) throws {
            guard handle >= 1 && Int(handle) <= handlesUsed else {
                throw IndexInvariantViolation(description: "\(what): handle \(handle) was never handed out")
            }
            guard !seen[Int(handle)] else {
                throw IndexInvariantViolation(description: "\(what): handle \(handle) reached twice")
            }
            seen[Int(handle)] = true
        }

        for stripeIndex in 0..<locks.count {
            try locks.withLock(stripeIndex) { stripe in
                var stripeEntryCount = 0
                var stripeTombstoneCount = 0
                var slotIndex = stripeIndex
                while slotIndex < sprigTable.sprigCount {
                    defer { slotIndex += locks.count }
                    let slot = sprigTable.slot(slotIndex).pointee
                    let partition = slotIndex >> sprigShift
                    let sprig = slotIndex & (configuration.sprigsPerPartition - 1)
                    var nodeCount = 0
                    var tombstoneCount = 0
                    if slot.rootHandle != 0 {
                        stack.append((slot.rootHandle, 1, nil, nil, UInt32.max))
                    }
                    while let (handle, depth, lower, upper, parentPriority) = stack.popLast() {
                        try claim(handle, "sprig \(partition)/\(sprig)")
                        let entry = arena.entry(handle).pointee
                        let digest = entry.digest
                        let place = "sprig \(partition)/\(sprig) node \(handle) digest \(digest)"
                        guard entry.state == EntryState.live.rawValue else {
                            throw IndexInvariantViolation(description: "\(place): state \(entry.state), not live")
                        }
                        guard digest.partitionID == partition,
                            digest.sprigIndex(sprigsPerPartition: configuration.sprigsPerPartition) == sprig
                        else {
                            throw IndexInvariantViolation(description: "\(place): digest belongs to another sprig")
                        }
                        if let lower, !(lower < digest) {
                            throw IndexInvariantViolation(description: "\(place): not after \(lower)")
                        }
                        if let upper, !(digest < upper) {
                            throw IndexInvariantViolation(description: "\(place): not before \(upper)")
                        }
                        guard entry.priority == SprigTree.priority(of: digest, seed: prioritySeed) else {
                            throw IndexInvariantViolation(description: "\(place): priority is not the digest's")
                        }
                        guard entry.priority <= parentPriority else {
                            throw IndexInvariantViolation(description: "\(place): priority above its parent's")
                        }
                        guard entry.locationAndFlags >> 63 == 0 else {
                            throw IndexInvariantViolation(description: "\(place): reserved bits set")
                        }
                        guard BinNameIDs(uncheckedRawValue: entry.binNameIDs).isCanonical else {
                            throw IndexInvariantViolation(
                                description: "\(place): bin-name ids \(String(entry.binNameIDs, radix: 16)) not packed or repeated")
                        }
                        nodeCount += 1
                        if entry.isTombstone { tombstoneCount += 1 }
                        shape.heightMax = max(shape.heightMax, depth)
                        shape.depthSum += depth
                        if entry.leftHandle != 0 {
                            stack.append((entry.leftHandle, depth + 1, lower, digest, entry.priority))
                        }
                        if entry.rightHandle != 0 {
                            stack.append((entry.rightHandle, depth + 1, digest, upper, entry.priority))
                        }
                    }
                    guard nodeCount == Int(slot.entryCount), tombstoneCount == Int(slot.tombstoneCount) else {
                        throw IndexInvariantViolation(
                            description: "sprig \(partition)/\(sprig): \(nodeCount) nodes / \(tombstoneCount) tombstones,"
                                + " counters say \(slot.entryCount) / \(slot.tombstoneCount)")
                    }
                    stripeEntryCount += nodeCount
                    stripeTombstoneCount += tombstoneCount
                }
                guard stripeEntryCount == stripe.entryCount, stripeTombstoneCount == stripe.tombstoneCount else {
                    throw IndexInvariantViolation(
                        description: "stripe \(stripeIndex): counters \(stripe.entryCount) / \(stripe.tombstoneCount),"
                            + " sprigs hold \(stripeEntryCount) / \(stripeTombstoneCount)")
                }
                shape.entryCount += stripeEntryCount
                shape.tombstoneCount += stripeTombstoneCount
                let (count, tail) = try checkFreeList(
                    from: stripe.freeHead, "stripe \(stripeIndex) free list", claim: claim)
                guard count == stripe.freeCount, tail == stripe.freeTail else {
                    throw IndexInvariantViolation(
                        description: "stripe \(stripeIndex) free list: \(count) entries ending at \(tail),"
                            + " state says \(stripe.freeCount) ending at \(stripe.freeTail)")
                }
            }
        }
        try arena.withHeader { header in
            let (count, _) = try checkFreeList(from: header.pointee.freeListHead, "global free list", claim: claim)
            guard count == Int(header.pointee.freeListCount) else {
                throw IndexInvariantViolation(
                    description: "global free list holds \(count) entries, header says \(header.pointee.freeListCount)")
            }
        }
        if let missing = seen.indices.dropFirst().first(where: { !seen[$0] }) {
            throw IndexInvariantViolation(description: "handle \(missing) is neither live nor free (leaked)")
        }
        return shape
    }

    /// Walks a free list; returns its length and last handle.
    private func checkFreeList(
        from head: UInt32, _ what: String, claim: (UInt32, String) throws -> Void
    ) throws -> (count: Int, tail: UInt32) {
        var count = 0
        var tail: UInt32 = 0
        var handle = head
        while handle != 0 {
            try claim(handle, what)
            let entry = arena.entry(handle).pointee
            guard entry.state == EntryState.free.rawValue else {
                throw IndexInvariantViolation(description: "\(what): entry \(handle) has state \(entry.state)")
            }
            count += 1
            tail = handle
            handle = entry.leftHandle
        }
        return (count, tail)
    }
}

extension PrimaryIndex {
    /// Checks every structural invariant (see `checkInvariants`) and throws the first violation,
    /// for checkers outside this module (the simulator). Call it when no other thread changes
    /// the index.
    public func verifyInvariants() throws {
        _ = try checkInvariants()
    }
}
