import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The primary index of one namespace: digest → `IndexRecord`, safe to use from many threads.
///
/// Structure (DESIGN.md "Index"):
/// ```
/// digest ──partitionID──▶ partition p (0..<4096)
///        ──sprigIndex───▶ sprig s (0..<sprigsPerPartition)   slot = p * sprigsPerPartition + s
///                          SprigTable[slot] = { root, counts } ──▶ treap of IndexEntry in the arena
///        lock: stripe slot % lockStripeCount (a Mutex<StripeState>: also a free-entry cache + counters)
/// ```
/// Every operation on a record takes exactly one stripe lock, for a few hundred nanoseconds; there
/// is no index-wide lock. The header, the sprig table and the arena stages are regions that can
/// be shared files (`IndexBacking.sharedFiles`), so after `markCleanShutdown()` a new process can
/// `attach` them instead of rebuilding the index.
///
/// Owner: the namespace (engine). Any thread may call any method, except that `body` closures
/// must not call back into the same index (they run under a stripe lock, which is not recursive).
public final class PrimaryIndex: Sendable {
    public let configuration: IndexConfiguration
    public let backing: IndexBacking
    /// Random at creation, kept across warm restarts: names this index in device headers.
    public let instanceID: UInt64

    let arena: EntryArena
    let sprigTable: SprigTable
    let locks: StripedLocks
    let prioritySeed: UInt64
    /// log2(sprigsPerPartition).
    let sprigShift: Int
    let stripeMask: Int
    /// Set by `markCleanShutdown`; relaxed is enough: it only catches misuse by the owner.
    private let isShutDown = Atomic<Bool>(false)

    private init(
        configuration: IndexConfiguration, backing: IndexBacking, arena: EntryArena, sprigTable: SprigTable,
        prioritySeed: UInt64, instanceID: UInt64
    ) {
        self.configuration = configuration
        self.backing = backing
        self.arena = arena
        self.sprigTable = sprigTable
        self.prioritySeed = prioritySeed
        self.instanceID = instanceID
        sprigShift = configuration.sprigsPerPartition.trailingZeroBitCount
        let stripeCount = min(configuration.lockStripeCount, configuration.sprigCount)
        locks = StripedLocks(count: stripeCount)
        stripeMask = stripeCount - 1
    }

    // MARK: Creating

    /// Creates an empty index. With `.sharedFiles`, the files must not exist yet (see
    /// `removeSharedFiles`); they are created and left in place when the index goes away.
    /// `random` (a simulator's seeded source) picks the treap seed and instance id in place of
    /// the system's generator.
    public convenience init(
        configuration: IndexConfiguration = IndexConfiguration(), backing: IndexBacking = .anonymous,
        random: (() -> UInt64)? = nil
    ) throws(IndexError) {
        var generator = SystemRandomNumberGenerator()
        let prioritySeed = random?() ?? generator.next()
        try self.init(configuration: configuration, backing: backing, prioritySeed: prioritySeed,
                      instanceID: random?() ?? generator.next())
    }

    /// Creates an empty index with a chosen treap seed (tests use it to replay a shape).
    convenience init(
        configuration: IndexConfiguration, backing: IndexBacking, prioritySeed: UInt64, instanceID: UInt64? = nil
    ) throws(IndexError) {
        try configuration.validate()
        try backing.validate()
        var generator = SystemRandomNumberGenerator()
        let instanceID: UInt64 = instanceID ?? generator.next()
        if let headerPath = backing.headerPath, MemoryRegion.fileExists(path: headerPath) {
            // Never overwrite an index another process may still want to attach.
            throw .openFailed(path: headerPath, errno: EEXIST)
        }
        do {
            let headerRegion = try IndexBacking.createRegion(
                path: backing.headerPath, sizeBytes: IndexHeader.regionSizeBytes)
            headerRegion.bind(to: IndexHeader.self, atByteOffset: 0, count: 1).pointee = IndexHeader(
                magic: IndexHeader.magicValue,
                formatVersion: IndexHeader.formatVersionCurrent,
                headerSizeBytes: UInt32(MemoryLayout<IndexHeader>.size),
                entrySizeBytes: UInt32(MemoryLayout<IndexEntry>.stride),
                sprigsPerPartition: UInt32(configuration.sprigsPerPartition),
                stageEntryCount: UInt64(configuration.stageEntryCount),
                entryCountMax: UInt64(configuration.entryCountMax),
                stageCount: 0,
                nextUnusedHandle: 1,
                freeListHead: 0,
                state: HeaderState.inUse.rawValue,
                freeListCount: 0,
                prioritySeed: prioritySeed,
                instanceID: instanceID,
                entryCount: 0
            )
            let sprigRegion = try IndexBacking.createRegion(
                path: backing.sprigTablePath, sizeBytes: SprigTable.sizeBytes(sprigCount: configuration.sprigCount))
            let arena = try EntryArena(
                configuration: configuration, backing: backing, headerRegion: headerRegion,
                attachExistingStages: false)
            self.init(
                configuration: configuration, backing: backing, arena: arena,
                sprigTable: SprigTable(region: sprigRegion, sprigCount: configuration.sprigCount),
                prioritySeed: prioritySeed, instanceID: instanceID)
        } catch {
            // The header did not exist: whatever files are there now are ours or orphans.
            if case .sharedFiles(let directory, let name) = backing {
                PrimaryIndex.removeFilesBestEffort(directory: directory, name: name)
            }
            throw error
        }
    }

    // MARK: Shared files (warm restart)

    /// Attaches the index a previous process left in `directory`/`name` after
    /// `markCleanShutdown()`. Refuses (and changes nothing) if it was not shut down cleanly, if
    /// `sprigsPerPartition` or `stageEntryCount` differ, if `entryCountMax` is below the handles
    /// already used, or if the header is not a valid Cairn index header. On success the files are
    /// marked in use again, so a crash from here on makes the next attach refuse.
    public static func attach(
        configuration: IndexConfiguration, directory: String, name: String
    ) throws(IndexError) -> PrimaryIndex {
        try configuration.validate()
        let backing = IndexBacking.sharedFiles(directory: directory, name: name)
        try backing.validate()
        guard let headerPath = backing.headerPath, let sprigTablePath = backing.sprigTablePath else {
            preconditionFailure("shared files have paths")
        }
        let headerRegion = try MemoryRegion.attach(path: headerPath, sizeBytes: IndexHeader.regionSizeBytes)
        let header = headerRegion.bind(to: IndexHeader.self, atByteOffset: 0, count: 1).pointee
        try validateAttachable(header, configuration: configuration, path: headerPath)
        let sprigRegion = try MemoryRegion.attach(
            path: sprigTablePath, sizeBytes: SprigTable.sizeBytes(sprigCount: configuration.sprigCount))
        let arena = try EntryArena(
            configuration: configuration, backing: backing, headerRegion: headerRegion, attachExistingStages: true)
        let index = PrimaryIndex(
            configuration: configuration, backing: backing, arena: arena,
            sprigTable: SprigTable(region: sprigRegion, sprigCount: configuration.sprigCount),
            prioritySeed: header.prioritySeed, instanceID: header.instanceID)
        let entryCount = index.rebuildStripeCounters()
        guard entryCount == header.entryCount else {
            throw .sharedIndexCorrupt(
                path: headerPath, reason: "sprig table counts \(entryCount) entries, header says \(header.entryCount)")
        }
        arena.withHeader { header in
            header.pointee.entryCountMax = UInt64(configuration.entryCountMax)
            header.pointee.state = HeaderState.inUse.rawValue
        }
        return index
    }

    private static func validateAttachable(
        _ header: IndexHeader, configuration: IndexConfiguration, path: String
    ) throws(IndexError) {
        guard header.magic == IndexHeader.magicValue else {
            throw .sharedIndexCorrupt(path: path, reason: "bad magic \(header.magic)")
        }
        guard header.formatVersion == IndexHeader.formatVersionCurrent,
            header.headerSizeBytes == UInt32(MemoryLayout<IndexHeader>.size),
            header.entrySizeBytes == UInt32(MemoryLayout<IndexEntry>.stride)
        else {
            throw .sharedIndexMismatch(
                path: path, field: "formatVersion", stored: UInt64(header.formatVersion),
                configured: UInt64(IndexHeader.formatVersionCurrent))
        }
        guard header.state == HeaderState.clean.rawValue else { throw .sharedIndexNotClean(path: path) }
        guard header.sprigsPerPartition == UInt32(configuration.sprigsPerPartition) else {
            throw .sharedIndexMismatch(
                path: path, field: "sprigsPerPartition", stored: UInt64(header.sprigsPerPartition),
                configured: UInt64(configuration.sprigsPerPartition))
        }
        guard header.stageEntryCount == UInt64(configuration.stageEntryCount) else {
            throw .sharedIndexMismatch(
                path: path, field: "stageEntryCount", stored: header.stageEntryCount,
                configured: UInt64(configuration.stageEntryCount))
        }
        let handlesUsed = header.nextUnusedHandle &- 1
        guard header.nextUnusedHandle >= 1, handlesUsed <= UInt64(IndexConfiguration.entryCountMaxLimit) else {
            throw .sharedIndexCorrupt(path: path, reason: "next unused handle \(header.nextUnusedHandle)")
        }
        guard handlesUsed <= UInt64(configuration.entryCountMax) else {
            throw .sharedIndexMismatch(
                path: path, field: "entries used", stored: handlesUsed, configured: UInt64(configuration.entryCountMax))
        }
        // A stage is mapped at the latest when its first handle is handed out, and may be mapped
        // earlier: a cold start's prefault maps the stages of the entries it faults in ahead of
        // the allocator. Never fewer stages than the handles need, never more than fit.
        let stageCountNeeded = handlesUsed == 0 ? 0 : (handlesUsed >> UInt64(configuration.stageEntryCount.trailingZeroBitCount)) + 1
        guard header.stageCount >= stageCountNeeded else {
            throw .sharedIndexCorrupt(path: path, reason: "\(header.stageCount) stages for \(handlesUsed) handles")
        }
        guard header.stageCount <= UInt64(configuration.stageCountMax) else {
            throw .sharedIndexMismatch(
                path: path, field: "stages mapped", stored: header.stageCount, configured: UInt64(configuration.stageCountMax))
        }
        guard header.freeListCount <= handlesUsed, UInt64(header.freeListHead) <= handlesUsed,
            (header.freeListHead == 0) == (header.freeListCount == 0), header.entryCount <= handlesUsed
        else {
            throw .sharedIndexCorrupt(path: path, reason: "free list or entry count out of range")
        }
    }

    /// Sets every stripe's counters from the sprig table; returns the total entry count.
    /// Runs before the index is shared with other threads.
    private func rebuildStripeCounters() -> UInt64 {
        var entryCounts = [Int](repeating: 0, count: locks.count)
        var tombstoneCounts = [Int](repeating: 0, count: locks.count)
        for slotIndex in 0..<sprigTable.sprigCount {
            let slot = sprigTable.slot(slotIndex).pointee
            entryCounts[slotIndex & stripeMask] += Int(slot.entryCount)
            tombstoneCounts[slotIndex & stripeMask] += Int(slot.tombstoneCount)
        }
        for stripe in 0..<locks.count {
            locks.withLock(stripe) { state in
                state.entryCount = entryCounts[stripe]
                state.tombstoneCount = tombstoneCounts[stripe]
            }
        }
        return UInt64(entryCounts.reduce(0, +))
    }

    /// Records that the shared files hold a complete, consistent index that the next process may
    /// `attach`. The caller must have stopped every other user of the index first; afterwards the
    /// index must not be changed (a change traps). Harmless for an anonymous index.
    /// Faults in the memory of the next `window` entries the index will hand out (see
    /// `EntryArena.prefault`). A cold start calls it from a thread of its own, ahead of the
    /// parsers; returns the entries newly faulted in.
    @discardableResult
    public func prefault(window: Int) -> Int { arena.prefault(window: window) }

    public func markCleanShutdown() {
        let wasShutDown = isShutDown.exchange(true, ordering: .relaxed)
        precondition(!wasShutDown, "markCleanShutdown called twice")
        var entryCount = 0
        for stripe in 0..<locks.count {
            locks.withLock(stripe) { state in
                // Stripe caches live in process memory: give them to the persistent global list.
                arena.spill(&state)
                entryCount += state.entryCount
            }
        }
        arena.withHeader { header in
            header.pointee.entryCount = UInt64(entryCount)
            header.pointee.state = HeaderState.clean.rawValue
        }
    }

    /// Removes the files of a shared index (header, sprig table, every stage). Returns how many
    /// files were removed; absent files are not an error.
    @discardableResult
    public static func removeSharedFiles(directory: String, name: String) throws(IndexError) -> Int {
        let backing = IndexBacking.sharedFiles(directory: directory, name: name)
        try backing.validate()
        var removedCount = 0
        for path in [backing.headerPath, backing.sprigTablePath].compactMap({ $0 }) {
            if try MemoryRegion.remove(path: path) { removedCount += 1 }
        }
        // Stages are created densely from 0, so the first absent one ends the list.
        for stage in 0..<IndexConfiguration.stageCountLimit {
            guard let path = backing.stagePath(stage), try MemoryRegion.remove(path: path) else { break }
            removedCount += 1
        }
        return removedCount
    }

    /// Whether a shared index's header file exists in `directory`/`name`.
    public static func sharedFilesExist(directory: String, name: String) -> Bool {
        guard let path = IndexBacking.sharedFiles(directory: directory, name: name).headerPath else { return false }
        return MemoryRegion.fileExists(path: path)
    }

    private static func removeFilesBestEffort(directory: String, name: String) {
        // Cleanup after a failed create: the create error is what the caller needs, so unlink
        // results are not reported; a leftover file is refused by the next create with its own error.
        let backing = IndexBacking.sharedFiles(directory: directory, name: name)
        for path in [backing.headerPath, backing.sprigTablePath].compactMap({ $0 }) {
            _ = unlink(path)
        }
        for stage in 0..<IndexConfiguration.stageCountLimit {
            guard let path = backing.stagePath(stage), unlink(path) == 0 else { break }
        }
    }

    // MARK: Locating a digest

    /// Index into the sprig table of `digest`'s sprig.
    @inline(__always)
    func sprigSlotIndex(_ digest: Digest) -> Int {
        digest.partitionID << sprigShift | digest.sprigKey >> (Digest.sprigKeyBitCount - sprigShift)
    }

    @inline(__always)
    func checkNotShutDown() {
        precondition(!isShutDown.load(ordering: .relaxed), "index changed after markCleanShutdown")
    }
}
