/// The shape and limits of a primary index. A plain value; `validate()` checks every field and
/// `PrimaryIndex` refuses an invalid one with `IndexError.configurationInvalid`.
public struct IndexConfiguration: Sendable, Equatable {
    /// Sprigs (independent trees) per partition: a power of two in `1...4096`
    /// (`partition-tree-sprigs`). Changing it between runs forces a cold start.
    public var sprigsPerPartition: Int
    /// Most index entries the arena will hand out (the namespace's record limit on this node),
    /// `1...entryCountMaxLimit`. Memory is mapped one stage at a time as entries are used.
    public var entryCountMax: Int
    /// Entries per arena stage: a power of two in `stageEntryCountRange`. A stage is
    /// `stageEntryCount * 64` bytes (the default, 2^20, makes 64 MiB stages).
    public var stageEntryCount: Int
    /// Lock stripes: a power of two in `lockStripeCountRange`. Sprig `s` of partition `p` is
    /// guarded by stripe `(p * sprigsPerPartition + s) % lockStripeCount`. Not persisted: it may
    /// change between runs.
    ///
    /// Why 4096 stripes rather than one lock per sprig (a million by default) or a few:
    /// - collisions: with `T` threads busy in the index, an operation finds its stripe taken with
    ///   probability about `(T - 1) / lockStripeCount` (hold times are equal): 1.5 % for 64 threads;
    /// - cache footprint: a stripe is one 64-byte line (lock, free-entry cache, counters), so 4096
    ///   stripes are 256 KiB and stay in L2, where 65 536 (4 MiB) do not;
    /// - measured with `IndexBenchmarks.stripeCountScaling` (70 % lookups / 30 % updates, release,
    ///   2 vCPUs shared with other builds, so only large effects are trustworthy): with 4 threads
    ///   on 2 cores, 1 or 16 stripes fell to 0.06×–0.3× of the 1-thread rate in two of three runs
    ///   (`Mutex` sleeps and hand-offs once locks collide) while 4096 stayed at 0.7×–1.3×; 65 536
    ///   stripes cost ~20 % single-threaded in two of three runs.
    public var lockStripeCount: Int

    /// Handles are 32 bits and handle 0 means "none".
    public static let entryCountMaxLimit = Int(UInt32.max)
    public static let stageEntryCountRange = (1 << 6)...(1 << 26)
    public static let lockStripeCountRange = 1...(1 << 20)
    /// Most arena stages (bounds the stage table; `entryCountMax / stageEntryCount` must stay below it).
    public static let stageCountLimit = 1 << 16

    public init(
        sprigsPerPartition: Int = 256,
        entryCountMax: Int = 1 << 24,
        stageEntryCount: Int = 1 << 20,
        lockStripeCount: Int = 4096
    ) {
        self.sprigsPerPartition = sprigsPerPartition
        self.entryCountMax = entryCountMax
        self.stageEntryCount = stageEntryCount
        self.lockStripeCount = lockStripeCount
    }

    /// Throws `IndexError.configurationInvalid` naming the first bad field.
    public func validate() throws(IndexError) {
        func isPowerOfTwo(_ value: Int) -> Bool { value > 0 && value & (value - 1) == 0 }
        if !isPowerOfTwo(sprigsPerPartition) || sprigsPerPartition > 1 << Digest.sprigKeyBitCount {
            throw .configurationInvalid(
                field: "sprigsPerPartition", value: sprigsPerPartition, expected: "a power of two in 1...4096")
        }
        if entryCountMax < 1 || entryCountMax > IndexConfiguration.entryCountMaxLimit {
            throw .configurationInvalid(
                field: "entryCountMax", value: entryCountMax,
                expected: "1...\(IndexConfiguration.entryCountMaxLimit)")
        }
        if !isPowerOfTwo(stageEntryCount) || !IndexConfiguration.stageEntryCountRange.contains(stageEntryCount) {
            throw .configurationInvalid(
                field: "stageEntryCount", value: stageEntryCount, expected: "a power of two in 2^6...2^26")
        }
        if stageCountMax > IndexConfiguration.stageCountLimit {
            throw .configurationInvalid(
                field: "stageEntryCount", value: stageEntryCount,
                expected: "at least entryCountMax / \(IndexConfiguration.stageCountLimit)")
        }
        if !isPowerOfTwo(lockStripeCount) || !IndexConfiguration.lockStripeCountRange.contains(lockStripeCount) {
            throw .configurationInvalid(
                field: "lockStripeCount", value: lockStripeCount, expected: "a power of two in 1...2^20")
        }
    }

    /// Number of sprigs in the whole index.
    var sprigCount: Int { Digest.partitionCount * sprigsPerPartition }

    /// Stages needed to hold handles `1...entryCountMax`.
    var stageCountMax: Int { entryCountMax / stageEntryCount + 1 }
}
