/// The first page of the index's header region: what a later process needs to re-attach the arena
/// and the sprig table (warm restart), and the allocator's persistent state.
///
/// ```
/// offset size field
///   0     8   magic                "CAIRNIDX" as a big-endian number
///   8     4   formatVersion        1
///  12     4   headerSizeBytes      MemoryLayout<IndexHeader>.size
///  16     4   entrySizeBytes       64
///  20     4   sprigsPerPartition
///  24     8   stageEntryCount
///  32     8   entryCountMax
///  40     8   stageCount           stages mapped: files <name>.stage-0000 ..< stageCount (at least
///                                   those of the handles used; a prefault may map more)
///  48     8   nextUnusedHandle     handles >= this were never handed out (starts at 1)
///  56     4   freeListHead         global free list (linked through leftHandle)
///  60     4   state                HeaderState
///  64     8   freeListCount
///  72     8   prioritySeed         treap priority key (see SprigTree)
///  80     8   instanceID           random at creation; lets device headers name this index
///  88     8   entryCount           live entries, written at clean shutdown and checked at attach
/// ```
///
/// Owner: `EntryArena`. `stageCount`, `nextUnusedHandle` and the free list are read and written
/// only under the allocator lock; the other fields only while the index is being created,
/// attached or shut down (no other thread uses the index then).
struct IndexHeader {
    var magic: UInt64
    var formatVersion: UInt32
    var headerSizeBytes: UInt32
    var entrySizeBytes: UInt32
    var sprigsPerPartition: UInt32
    var stageEntryCount: UInt64
    var entryCountMax: UInt64
    var stageCount: UInt64
    var nextUnusedHandle: UInt64
    var freeListHead: UInt32
    var state: UInt32
    var freeListCount: UInt64
    var prioritySeed: UInt64
    var instanceID: UInt64
    var entryCount: UInt64

    static let magicValue: UInt64 = 0x4341_4952_4E49_4458  // "CAIRNIDX"
    static let formatVersionCurrent: UInt32 = 1
    /// The header region is one page-sized file.
    static let regionSizeBytes = 4096
}

/// Lifecycle of a header.
enum HeaderState: UInt32 {
    /// A process has the index attached (or died with it attached).
    case inUse = 1
    /// The last process stopped every writer and marked the index clean; it may be attached.
    case clean = 2
}
