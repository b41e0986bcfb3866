import CairnIO

/// How a simulator drives a namespace's storage instead of its threads (the I/O seam's second
/// half: time and scheduling). Nil in every production configuration.
///
/// With it, no flusher thread starts: the simulator calls ``DeviceWriter/flushStep(reapMinimum:)``
/// at moments its seed picks; reads of simulated devices run inline on the caller's thread; the
/// flush-max-ms clock is `clockNs`.
public struct StorageSimulation: Sendable {
    /// Monotonic nanoseconds (the simulator's virtual clock).
    public var clockNs: @Sendable () -> UInt64
    /// Bugs this project had and fixed, put back on purpose to prove the simulator finds them.
    public var bugs: ReintroducedBugs
    /// Sequences and new blocks the device header is written ahead by, in place of 64 (nil): a
    /// small step makes a short run cross many reservations and blocks-written marks, so their
    /// header writes, ahead of need by the flusher or by an opening block, meet crashes.
    public var headerStep: Int?
    /// The random numbers a namespace draws (its instance id, the index's instance id and treap
    /// seed): seeded, so that two replays of one seed write the same bytes.
    public var random: @Sendable () -> UInt64

    public init(clockNs: @escaping @Sendable () -> UInt64, bugs: ReintroducedBugs = [], headerStep: Int? = nil,
                random: @escaping @Sendable () -> UInt64) {
        precondition(headerStep.map { $0 >= 1 } ?? true, "header step \(headerStep!) below 1")
        self.clockNs = clockNs
        self.bugs = bugs
        self.headerStep = headerStep
        self.random = random
    }
}

/// Test-only switches that reintroduce fixed bugs (the simulator must be able to fail). Only a
/// ``StorageSimulation`` can carry them; no configuration file reaches them.
public struct ReintroducedBugs: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// An append does not wake an idle flusher, so a partly filled buffer waits for the next
    /// sealed block instead of flush-max-ms (acknowledged buffered writes older than the flush
    /// window are lost at a crash).
    public static let idleFlusherSkipsPartialFlush = ReintroducedBugs(rawValue: 1 << 0)
    /// A partial flush ends where the records end, not at the sector boundary, so the next one
    /// rewrites the sector holding an acknowledged record (a torn rewrite destroys it).
    public static let partialFlushRewritesSector = ReintroducedBugs(rawValue: 1 << 1)
    /// Header writes are not serialised: two at once pick the same slot and generation, and the
    /// one that lands last drops what the other wrote (a truncation comes back).
    public static let unserialisedHeaderWrites = ReintroducedBugs(rawValue: 1 << 2)
    /// An nsup cycle raises the eviction mark in memory only, without writing it to the device
    /// headers first: evicted records come back after a crash and a cold start.
    public static let volatileEvictionMark = ReintroducedBugs(rawValue: 1 << 3)
    /// The flusher's early renewal of the block-sequence reservation raises it in memory without
    /// writing it to the device headers: after a power loss a restart hands out sequences that
    /// blocks written before it already carry (lost records come back).
    public static let volatileSequenceRenewal = ReintroducedBugs(rawValue: 1 << 4)
    /// A copy written over a durable delete does not keep its barrier, so a plain delete of it
    /// writes no tombstone: once the blocks of the tombstone and of that copy are reused, a cold
    /// start brings back the version the durable delete hid.
    public static let lostDeleteBarrier = ReintroducedBugs(rawValue: 1 << 5)
    /// A cold start gives an entry the names of its record's first two bins only: an update
    /// that sets those two skips its read and drops the others.
    public static let coldStartDropsBinNames = ReintroducedBugs(rawValue: 1 << 6)
    /// An emptied block is reused once the writes of the copies that replaced its records
    /// completed, without a sync: a power loss on a device that keeps its cache in any order can
    /// keep the reused block's new data and lose those copies (a record nobody touched is gone).
    public static let reuseBeforeSync = ReintroducedBugs(rawValue: 1 << 7)
    /// A start does not learn the newest last-update time among the records it found: a write
    /// that committed just ahead of the clock before a crash survives a truncation issued
    /// right after the restart, before the clock passes it.
    public static let restartForgetsLutAhead = ReintroducedBugs(rawValue: 1 << 8)
    /// An overwrite within the old copy's millisecond keeps its LUT even when its generation is
    /// not the higher (a record written over a tombstone starts again at generation 1): a cold
    /// start takes the older copy.
    public static let lutTieWithoutGenerationOrder = ReintroducedBugs(rawValue: 1 << 9)
    /// A record created again after a plain delete (or after the tomb raider dropped its entry)
    /// takes the clock's millisecond even when the removed copy, still on the device, has it: the
    /// two tie on LUT, and a cold start takes the removed copy's higher generation.
    public static let removedCopyLutIgnored = ReintroducedBugs(rawValue: 1 << 10)
    /// A warm restart does not learn the newest LUT of the copies whose entries were removed
    /// before the clean stop: a record created again after it, within that millisecond, ties
    /// the deleted copy and loses it at the next cold start.
    public static let warmRestartForgetsRemovedCopies = ReintroducedBugs(rawValue: 1 << 11)

    public static let all: [(name: String, bug: ReintroducedBugs)] = [
        ("idle-flusher", .idleFlusherSkipsPartialFlush),
        ("partial-flush-rewrite", .partialFlushRewritesSector),
        ("header-race", .unserialisedHeaderWrites),
        ("volatile-eviction-mark", .volatileEvictionMark),
        ("volatile-sequence-renewal", .volatileSequenceRenewal),
        ("lost-delete-barrier", .lostDeleteBarrier),
        ("cold-start-drops-bin-names", .coldStartDropsBinNames),
        ("reuse-before-sync", .reuseBeforeSync),
        ("restart-forgets-lut-ahead", .restartForgetsLutAhead),
        ("lut-tie-without-generation-order", .lutTieWithoutGenerationOrder),
        ("removed-copy-lut-ignored", .removedCopyLutIgnored),
        ("warm-restart-forgets-removed-copies", .warmRestartForgetsRemovedCopies),
    ]
}
