import CairnIO

#if canImport(Glibc)
import Glibc
#endif

/// Memory one thread decodes records into, kept from one read to the next: a read served from
/// memory then allocates nothing for the record's bins and values once nothing holds the
/// previous record's (copy on write gives a fresh array while something does, so a record
/// still held is never overwritten).
///
/// Confined to the thread that made it. ``bins(onOwnerThread:)`` checks the calling thread on
/// every use and answers nil anywhere else, so a read that continues on another thread (a batch
/// row on the pool) decodes into fresh memory instead.
public final class RecordScratch: @unchecked Sendable {
    private let ownerThread: pthread_t
    /// The bins of the last record decoded here.
    @exclusivity(unchecked)
    private var bins: [StoredBin] = []
    /// The array a write builds its new record's bins in, empty between writes.
    @exclusivity(unchecked)
    private var recordBins: [StoredBin] = []

    /// The owner thread's ring reads, when it has them: a record that memory does not hold is
    /// then tried in the page cache at once (``NamespaceStorage/readCached(_:expecting:through:scratch:)``).
    @exclusivity(unchecked)
    private var ownerReads: (any OwnedRingReads)?

    /// A scratch owned by the calling thread.
    public init() {
        ownerThread = pthread_self()
    }

    /// The owner thread's ring reads (set by that thread), nil on any other thread.
    public var pageCacheReads: (any OwnedRingReads)? {
        get { isOnOwnerThread ? ownerReads : nil }
        set {
            precondition(isOnOwnerThread, "a record scratch's reads are set by its owner thread")
            ownerReads = newValue
        }
    }

    private var isOnOwnerThread: Bool { pthread_equal(ownerThread, pthread_self()) != 0 }

    /// Runs `body` on the kept bins when called on the owner thread; nil elsewhere.
    @inline(__always)
    func withBins<R, Failure: Error>(_ body: (inout [StoredBin]) throws(Failure) -> R) throws(Failure) -> R? {
        guard isOnOwnerThread else { return nil }
        return try body(&bins)
    }

    /// The empty array a write builds its new record's bins in (its memory kept from the last
    /// write); nil off the owner thread. Hand it back with ``keep(recordBins:)``.
    public func takeRecordBins() -> [StoredBin]? {
        guard isOnOwnerThread else { return nil }
        var taken: [StoredBin] = []
        swap(&taken, &recordBins)
        return taken
    }

    /// Empties `bins` (releasing the values it holds, so the decoded bins' values are again
    /// this scratch's alone) and keeps its memory for the next write; on the owner thread only.
    public func keep(recordBins bins: inout [StoredBin]) {
        guard isOnOwnerThread else { return }
        bins.removeAll(keepingCapacity: true)
        swap(&bins, &recordBins)
    }
}
