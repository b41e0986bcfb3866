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

    /// Name ids this thread looked up lately (``NameIDCache``).
    @exclusivity(unchecked)
    private var nameIDs = NameIDCache()

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

    /// Runs `body` on the thread's name-id cache when called on the owner thread; nil elsewhere.
    @inline(__always)
    public func withNameIDs<R>(_ body: (inout NameIDCache) -> R) -> R? {
        guard isOnOwnerThread else { return nil }
        return body(&nameIDs)
    }

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

/// A few (table, name) → id pairs one thread looked up in a name table, so that a write finds
/// the ids of its bin names without taking the table's lock. Ids never change in a table, and a
/// table's serial is never reused, so an entry is never stale. The names are bin names (at most
/// 15 bytes), which Swift keeps inline: a lookup compares words and counts no reference.
public struct NameIDCache {
    public static let capacity = 8
    private var entries: [(table: UInt64, name: String, id: UInt16)] = []
    private var nextVictim = 0

    public init() {}

    /// The id cached for `name` in table `table`.
    @inline(__always)
    public func id(table: UInt64, name: String) -> UInt16? {
        for entry in entries where entry.table == table && entry.name == name { return entry.id }
        return nil
    }

    /// Remembers `id`, replacing the oldest pair once full.
    public mutating func remember(table: UInt64, name: String, id: UInt16) {
        if entries.count < NameIDCache.capacity {
            if entries.capacity == 0 { entries.reserveCapacity(NameIDCache.capacity) }
            entries.append((table, name, id))
        } else {
            entries[nextVictim] = (table, name, id)
            nextVictim = (nextVictim + 1) % NameIDCache.capacity
        }
    }
}
