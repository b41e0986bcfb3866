import CairnStorage
#if canImport(Glibc)
import Glibc
#endif

/// Memory one thread builds writes' operations in, kept from one write to the next: the
/// operation list and the arrays that hold written values. A put whose operations and values
/// fit then allocates nothing for them once nothing holds the last write's (copy on write
/// gives fresh memory while something does).
///
/// Confined to the thread that made it: every use checks the calling thread, and anywhere else
/// the operations and values are built in fresh memory.
public final class OperationScratch: @unchecked Sendable {
    private let ownerThread: pthread_t
    @exclusivity(unchecked)
    private var operations: [BinOperation] = []
    /// Value arrays of earlier writes, emptied when reused.
    @exclusivity(unchecked)
    private var values: [[UInt8]] = []

    /// Value arrays kept at most, and the largest kept (a rare huge value is not kept).
    static let keptValuesMax = 32
    static let keptValueBytesMax = 64 << 10

    /// A scratch owned by the calling thread.
    public init() {
        ownerThread = pthread_self()
    }

    private var isOnOwnerThread: Bool { pthread_equal(ownerThread, pthread_self()) != 0 }

    /// The empty operation list of the last write (its memory kept); nil off the owner thread.
    /// Hand it back with ``keep(operations:)``.
    public func takeOperations() -> [BinOperation]? {
        guard isOnOwnerThread else { return nil }
        var taken: [BinOperation] = []
        swap(&taken, &operations)
        // Emptied now, not when kept: a write kept while its continuation still held the list
        // has let go of it by the next write, so its memory is reused in place.
        taken.removeAll(keepingCapacity: true)
        return taken
    }

    /// A copy of `value`, in a kept array when there is one.
    public func bytes(copying value: UnsafeRawBufferPointer) -> [UInt8] {
        guard isOnOwnerThread, var bytes = values.popLast() else { return Array(value) }
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: value)
        return bytes
    }

    /// Keeps the written values' arrays and the list's memory for the next write. Call once the
    /// write is answered: at once for one that finished without I/O, from its continuation for
    /// a pending one (on this thread). What still holds them when they are next used (the
    /// caller's copy, a continuation being torn down) gets copy on write: fresh memory, never
    /// an overwrite.
    public func keep(operations list: [BinOperation]) {
        guard isOnOwnerThread else { return }
        for case .write(let bin) in list
        where values.count < Self.keptValuesMax && bin.bytes.capacity <= Self.keptValueBytesMax {
            values.append(bin.bytes)
        }
        operations = list
    }
}
