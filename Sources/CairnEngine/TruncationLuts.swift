import CairnIO
import CairnStorage
import Synchronization

/// The truncate LUTs a visibility check needs, readable without a lock (every read and every
/// write asks for one).
///
/// The storage's ``TruncationTable`` (behind a mutex, persisted in the device headers) stays the
/// truth; this is a cache of it by set id: one atomic for the namespace, one per set id, each
/// only ever raised. A set id's cell is loaded from the table on first use (set ids are assigned
/// lazily, possibly after that set was truncated), and `raise` after a truncation re-reads the
/// table, so a cell never ends below the table whatever the interleaving.
final class TruncationLuts: Sendable {

    private let namespaceLut: Atomic<UInt64>
    private let cells: [Cell]
    private let table: @Sendable () -> TruncationTable
    private let setName: @Sendable (UInt16) -> String?

    /// A set's truncate LUT plus one, so that 0 means "not loaded from the table yet" and
    /// loading and raising are both a raise.
    private final class Cell: Sendable {
        let stored = Atomic<UInt64>(0)
    }

    /// - Parameters:
    ///   - table: reads the storage's current table.
    ///   - setName: the name of a set id (nil for 0 or an unknown id).
    init(setCountMax: Int, table: @escaping @Sendable () -> TruncationTable,
         setName: @escaping @Sendable (UInt16) -> String?) {
        self.table = table
        self.setName = setName
        namespaceLut = Atomic(table().namespaceLutMs)
        cells = (0...setCountMax).map { _ in Cell() }
    }

    /// The truncate LUT that applies to a record of `setID`: records last updated at or before
    /// it are gone. Lock-free once the set's cell is loaded.
    @inline(__always)
    func lutMs(setID: UInt16) -> UInt64 {
        let namespace = namespaceLut.load(ordering: .acquiring)
        guard setID != 0, Int(setID) < cells.count else { return namespace }
        let stored = cells[Int(setID)].stored.load(ordering: .acquiring)
        let set = stored == 0 ? load(setID) : stored - 1
        return max(namespace, set)
    }

    /// Re-reads the table after a truncation (of the namespace, or of `setID` when known).
    func raise(setID: UInt16?) {
        let t = table()
        namespaceLut.raise(to: t.namespaceLutMs)
        if let setID, setID != 0, Int(setID) < cells.count {
            store(setID, t.truncateLutMs(forSet: setName(setID)))
        }
    }

    private func load(_ setID: UInt16) -> UInt64 {
        store(setID, table().truncateLutMs(forSet: setName(setID)))
        return cells[Int(setID)].stored.load(ordering: .acquiring) - 1
    }

    /// Fills an unloaded cell with `value`, or raises a loaded one to it. Values come from the
    /// table, which only grows, so the highest one written is the newest.
    private func store(_ setID: UInt16, _ value: UInt64) {
        cells[Int(setID)].stored.raise(to: value + 1)
    }
}
