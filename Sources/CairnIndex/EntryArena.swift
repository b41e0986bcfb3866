import Synchronization

/// The memory that holds every `IndexEntry`, addressed by 32-bit handles.
///
/// ```
/// handle = stage << stageShift | slot          handle 0 = "none" (slot 0 of stage 0 is never used)
/// stage k = one MemoryRegion of stageEntryCount * 64 bytes, mapped when first needed
/// ```
///
/// Free entries are kept in two tiers so that allocation is not one global bottleneck:
/// - each lock stripe caches a short free list in its `StripeState` (guarded by the stripe lock,
///   which the caller already holds for the tree operation: no extra lock in the common case);
/// - the allocator lock guards the global free list and the bump cursor `nextUnusedHandle`, both
///   kept in the header so they survive a warm restart. A stripe takes `refillCount` entries at a
///   time from here, and hands its whole list back once it holds more than `stripeFreeCountMax`.
///
/// Owner: `PrimaryIndex`. Thread-safety: `entry(_:)` may be called from any thread for a handle
/// it obtained under a lock (stage base pointers are written once, under the allocator lock,
/// before any handle of that stage is handed out, and never change afterwards; the lock that
/// published the handle orders that write before the read). The entry's bytes are guarded by the
/// lock named in `IndexEntry`.
final class EntryArena: @unchecked Sendable {  // Stage bases: write-once before publication; the rest under `allocator`.
    /// A stripe hands its free list to the global list once it holds more than this many entries.
    static let stripeFreeCountMax = 256
    /// Entries a stripe takes from the global tier at a time.
    static let refillCount = 32

    let entryCountMax: UInt32
    let stageEntryCount: Int
    let stageCountMax: Int
    private let stageShift: UInt32
    private let slotMask: UInt32
    private let backing: IndexBacking
    /// `stageCountMax` base pointers, `nil` until the stage is mapped.
    private let stageBases: UnsafeMutablePointer<UnsafeMutablePointer<IndexEntry>?>
    private let allocator: Mutex<AllocatorState>

    /// Guarded by `allocator`.
    struct AllocatorState: Sendable {
        /// The mapped stages, index = stage number; keeps them alive.
        var stages: [MemoryRegion]
    }
    /// The header; its allocator fields (`stageCount`, `nextUnusedHandle`, the free list) are
    /// guarded by `allocator`.
    private let header: UnsafeMutablePointer<IndexHeader>
    /// Keeps `header` mapped.
    private let headerRegion: MemoryRegion

    /// Builds the arena over a validated header. With `attachExistingStages`, stages
    /// `0..<header.stageCount` are attached from the backing files; otherwise `header.stageCount`
    /// must be 0 and stages are created as entries are needed.
    init(
        configuration: IndexConfiguration, backing: IndexBacking, headerRegion: MemoryRegion,
        attachExistingStages: Bool
    ) throws(IndexError) {
        let header = headerRegion.bind(to: IndexHeader.self, atByteOffset: 0, count: 1)
        self.header = header
        self.headerRegion = headerRegion
        entryCountMax = UInt32(configuration.entryCountMax)
        stageEntryCount = configuration.stageEntryCount
        stageCountMax = configuration.stageCountMax
        stageShift = UInt32(configuration.stageEntryCount.trailingZeroBitCount)
        slotMask = UInt32(configuration.stageEntryCount - 1)
        self.backing = backing
        stageBases = .allocate(capacity: stageCountMax)
        stageBases.initialize(repeating: nil, count: stageCountMax)
        var stages: [MemoryRegion] = []
        let stageCount = Int(header.pointee.stageCount)
        precondition(attachExistingStages || stageCount == 0, "a new arena starts without stages")
        precondition(stageCount <= stageCountMax, "header validated before the arena is built")
        let stageSizeBytes = stageEntryCount * MemoryLayout<IndexEntry>.stride
        do {
            for stage in 0..<stageCount {
                guard let path = backing.stagePath(stage) else {
                    preconditionFailure("only shared files can be attached")
                }
                let region = try MemoryRegion.attach(path: path, sizeBytes: stageSizeBytes)
                stageBases[stage] = region.bind(to: IndexEntry.self, atByteOffset: 0, count: stageEntryCount)
                stages.append(region)
            }
        } catch {
            stageBases.deallocate()
            throw error
        }
        allocator = Mutex(AllocatorState(stages: stages))
    }

    deinit {
        stageBases.deallocate()
    }

    // MARK: Entries

    /// The entry for `handle`. Traps on 0, on a handle beyond `entryCountMax` and on a handle in
    /// a stage that is not mapped: all of them are bugs.
    @inline(__always)
    /// The entry of `handle`, or `nil` when the handle is 0, out of range or in a stage not
    /// mapped: for hints read without a lock, which must never trap or touch unmapped memory.
    func entryIfMapped(_ handle: UInt32) -> UnsafeMutablePointer<IndexEntry>? {
        guard handle != 0 && handle <= entryCountMax, let base = stageBases[Int(handle >> stageShift)] else { return nil }
        return base + Int(handle & slotMask)
    }

    @inline(__always)
    func entry(_ handle: UInt32) -> UnsafeMutablePointer<IndexEntry> { addressing.entry(handle) }

    /// The handle → address mapping as plain values, for the tree walks. A walk holding the
    /// arena itself paid a retain and a release per index operation (9% of a cold start's
    /// parser time in a profile), even through an `unowned(unsafe)` reference.
    struct Addressing {
        let stageBases: UnsafeMutablePointer<UnsafeMutablePointer<IndexEntry>?>
        let stageShift: UInt32
        let slotMask: UInt32
        let entryCountMax: UInt32

        /// The entry of `handle`. Traps on 0, a handle out of range or one in a stage not
        /// mapped: all of them are bugs.
        @inline(__always)
        func entry(_ handle: UInt32) -> UnsafeMutablePointer<IndexEntry> {
            precondition(handle != 0 && handle <= entryCountMax, "index handle \(handle) out of range")
            guard let base = stageBases[Int(handle >> stageShift)] else {
                preconditionFailure("index handle \(handle) is in an unmapped stage")
            }
            return base + Int(handle & slotMask)
        }
    }

    /// Valid while the arena lives: the stage-base table never moves, and a stage's base is
    /// written once, before any handle in it is published.
    var addressing: Addressing {
        Addressing(stageBases: stageBases, stageShift: stageShift, slotMask: slotMask, entryCountMax: entryCountMax)
    }

    // MARK: Allocation (caller holds the stripe lock of `stripe`)

    /// Takes an entry from the stripe's free list; `nil` when the list is empty.
    @inline(__always)
    func pop(from stripe: inout StripeState) -> UInt32? {
        let handle = stripe.freeHead
        guard handle != 0 else { return nil }
        let free = entry(handle)
        precondition(free.pointee.state == EntryState.free.rawValue, "free list holds a non-free entry \(handle)")
        stripe.freeHead = free.pointee.leftHandle
        if stripe.freeHead == 0 { stripe.freeTail = 0 }
        stripe.freeCount -= 1
        return handle
    }

    /// Puts `handle` (no longer linked anywhere) on the stripe's free list, and hands the whole
    /// list to the global tier when it grows past `stripeFreeCountMax`.
    @inline(__always)
    func push(_ handle: UInt32, onto stripe: inout StripeState) {
        let free = entry(handle)
        free.pointee.state = EntryState.free.rawValue
        free.pointee.leftHandle = stripe.freeHead
        free.pointee.rightHandle = 0
        if stripe.freeHead == 0 { stripe.freeTail = handle }
        stripe.freeHead = handle
        stripe.freeCount += 1
        if stripe.freeCount > EntryArena.stripeFreeCountMax { spill(&stripe) }
    }

    /// Moves the stripe's whole free list to the global list (O(1): the stripe knows its tail).
    func spill(_ stripe: inout StripeState) {
        guard stripe.freeHead != 0 else { return }
        allocator.withLock { _ in
            entry(stripe.freeTail).pointee.leftHandle = header.pointee.freeListHead
            header.pointee.freeListHead = stripe.freeHead
            header.pointee.freeListCount += UInt64(stripe.freeCount)
        }
        stripe.freeHead = 0
        stripe.freeTail = 0
        stripe.freeCount = 0
    }

    /// Refills the (empty) stripe list with up to `refillCount` entries from the global free list
    /// or, when that is empty, from never-used handles (mapping a new stage when needed).
    /// Returns `false` when neither has any entry left. Throws if a new stage cannot be mapped.
    func refill(_ stripe: inout StripeState) throws(IndexError) -> Bool {
        precondition(stripe.freeHead == 0 && stripe.freeCount == 0, "refill only an empty stripe list")
        let taken: (head: UInt32, tail: UInt32, count: Int)? = try allocator.withLock {
            (state: inout AllocatorState) throws(IndexError) -> (head: UInt32, tail: UInt32, count: Int)? in
            if header.pointee.freeListHead != 0 {
                return takeFromGlobalList()
            }
            return try takeUnused(&state)
        }
        guard let taken else { return false }
        stripe.freeHead = taken.head
        stripe.freeTail = taken.tail
        stripe.freeCount = taken.count
        return true
    }

    /// Detaches up to `refillCount` entries from the front of the global list. Allocator lock held.
    private func takeFromGlobalList() -> (head: UInt32, tail: UInt32, count: Int) {
        let head = header.pointee.freeListHead
        var tail = head
        var count = 1
        while count < EntryArena.refillCount {
            let next = entry(tail).pointee.leftHandle
            if next == 0 { break }
            tail = next
            count += 1
        }
        let tailEntry = entry(tail)
        header.pointee.freeListHead = tailEntry.pointee.leftHandle
        tailEntry.pointee.leftHandle = 0
        precondition(header.pointee.freeListCount >= UInt64(count), "global free-list count out of step")
        header.pointee.freeListCount -= UInt64(count)
        return (head, tail, count)
    }

    /// Hands out up to `refillCount` never-used handles (never crossing a stage boundary), linked
    /// as a free list. Allocator lock held.
    private func takeUnused(
        _ state: inout AllocatorState
    ) throws(IndexError) -> (head: UInt32, tail: UInt32, count: Int)? {
        let first = header.pointee.nextUnusedHandle
        guard first <= UInt64(entryCountMax) else { return nil }
        let stage = Int(first >> UInt64(stageShift))
        if stage == state.stages.count {
            try mapStage(stage, into: &state)
        }
        precondition(stage < state.stages.count, "handles are handed out stage by stage")
        let stageEnd = UInt64(stage + 1) << UInt64(stageShift)
        let end = min(first + UInt64(EntryArena.refillCount), stageEnd, UInt64(entryCountMax) + 1)
        for handle in first..<end {
            let fresh = entry(UInt32(handle))
            fresh.pointee.state = EntryState.free.rawValue
            fresh.pointee.leftHandle = handle + 1 < end ? UInt32(handle + 1) : 0
        }
        header.pointee.nextUnusedHandle = end
        return (UInt32(first), UInt32(end - 1), Int(end - first))
    }

    /// Maps stage `stage` (the next one). Allocator lock held.
    private func mapStage(_ stage: Int, into state: inout AllocatorState) throws(IndexError) {
        precondition(stage < stageCountMax, "stage \(stage) beyond the configured maximum")
        let sizeBytes = stageEntryCount * MemoryLayout<IndexEntry>.stride
        let region = try IndexBacking.createRegion(path: backing.stagePath(stage), sizeBytes: sizeBytes)
        let base = region.bind(to: IndexEntry.self, atByteOffset: 0, count: stageEntryCount)
        state.stages.append(region)
        // Written before any handle of this stage leaves the allocator lock (see the type's doc).
        stageBases[stage] = base
        header.pointee.stageCount = UInt64(state.stages.count)
    }

    // MARK: Prefaulting

    /// Entries below this handle have had their pages faulted in (`prefault`, one thread).
    private let prefaultMark = Atomic<UInt64>(0)

    /// Faults in the pages of the next `window` never-used entries (mapping their stage when
    /// needed), so the threads that take them later pay no page fault: on a cold start first
    /// touches of index memory were 17-19% of the scan's CPU. Call it from one thread at a time.
    /// Returns the entries newly faulted in (0: nothing to do, or the kernel cannot).
    func prefault(window: Int) -> Int {
        let entrySize = UInt64(MemoryLayout<IndexEntry>.stride)
        let stageEntries = UInt64(stageEntryCount)
        // Stages are mapped under the allocator lock, as `takeUnused` maps them.
        let plan: (from: UInt64, to: UInt64, regions: [(stage: Int, region: MemoryRegion)])? = allocator.withLock { state in
            let next = header.pointee.nextUnusedHandle
            let from = max(prefaultMark.load(ordering: .relaxed), next)
            let to = min(next + UInt64(window), UInt64(entryCountMax) + 1)
            guard to > from else { return nil }
            let lastStage = Int((to - 1) / stageEntries)
            while state.stages.count <= lastStage {
                do { try mapStage(state.stages.count, into: &state) } catch { return nil }
            }
            let firstStage = Int(from / stageEntries)
            return (from, to, (firstStage...lastStage).map { ($0, state.stages[$0]) })
        }
        guard let plan else { return 0 }
        for (stage, region) in plan.regions {
            let stageStart = UInt64(stage) * stageEntries
            let lo = max(plan.from, stageStart) - stageStart
            let hi = min(plan.to, stageStart + stageEntries) - stageStart
            guard region.populate(atByteOffset: Int(lo * entrySize), countBytes: Int((hi - lo) * entrySize)) else { return 0 }
        }
        prefaultMark.store(plan.to, ordering: .relaxed)
        return Int(plan.to - plan.from)
    }

    // MARK: Header access

    /// Runs `body` with the allocator lock held and the header.
    func withHeader<Result>(_ body: (UnsafeMutablePointer<IndexHeader>) throws -> Result) rethrows -> Result {
        try allocator.withLock { (_: inout sending AllocatorState) throws -> sending Result in
            try body(header)
        }
    }

    /// Counters of the allocator tier, for statistics and tests.
    var statistics: (stageCount: Int, nextUnusedHandle: UInt64, globalFreeCount: UInt64) {
        withHeader { header in
            (Int(header.pointee.stageCount), header.pointee.nextUnusedHandle, header.pointee.freeListCount)
        }
    }
}
