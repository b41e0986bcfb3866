/// One index entry as it sits in the arena: exactly 64 bytes, one cache line (stages are page
/// aligned), no pointers (children are arena handles), so a stage can be mapped at another
/// address by the next process. Tests pin the size and every offset.
///
/// ```
/// offset size bits  field
///   0     8   64    digestWord0        digest bytes 0..<8, big-endian (memcmp order = integer order)
///   8     8   64    digestWord1        digest bytes 8..<16
///  16     4   32    digestWord2        digest bytes 16..<20
///  20     4   32    leftHandle         left child (smaller digests), 0 = none; free entry: next free
///  24     4   32    rightHandle        right child (larger digests), 0 = none
///  28     4   32    voidTimeSeconds    s since 2010-01-01, 0 = never expires
///  32     8   16    generation         bits 0..<16
///             48    lastUpdateTimeMs   bits 16..<64: ms since 2010-01-01 (8 900 years)
///  40     8   40    offsetUnits        bits 0..<40: 16-byte units -> 16 TiB per device
///             20    sizeUnits          bits 40..<60: 16-byte units -> 16 MiB - 16 (records <= 8 MiB)
///              1    tombstone          bit 60
///              1    keyStored          bit 61
///              1    barrier            bit 62 (IndexRecord.Flags.barrier)
///              1    (spare)            bit 63, zero
///  48     2   16    setID              0 = no set
///  50     1    8    deviceIndex
///  51     1    8    state              EntryState: unused (0), live, free
///  52     4   32    priority           treap heap priority (see SprigTree)
///  56     8   64    binNameIDs         BinNameIDs: four 16-bit bin-name ids, 0 = unknown
/// ```
///
/// Owner: the arena that holds it; read and written only under the lock of the sprig whose tree
/// links it (live), or of the lock-stripe / allocator free list that holds it (free).
struct IndexEntry {
    var digestWord0: UInt64
    var digestWord1: UInt64
    var digestWord2: UInt32
    var leftHandle: UInt32
    var rightHandle: UInt32
    var voidTimeSeconds: UInt32
    var generationAndLastUpdateTime: UInt64
    var locationAndFlags: UInt64
    var setID: UInt16
    var deviceIndex: UInt8
    var state: UInt8
    var priority: UInt32
    var binNameIDs: UInt64

    /// Byte offsets of the link fields, used to take a pointer to a link (pinned by a test).
    static let leftHandleOffset = 20
    static let rightHandleOffset = 24

    // MARK: Bit fields

    static let generationBitCount = 16
    static let offsetUnitsBitCount = 40
    static let sizeUnitsBitCount = 20
    static let sizeUnitsShift = offsetUnitsBitCount
    static let tombstoneBit: UInt64 = 1 << 60
    static let keyStoredBit: UInt64 = 1 << 61
    static let barrierBit: UInt64 = 1 << 62

    /// The public value of a live entry.
    var record: IndexRecord {
        var flags: IndexRecord.Flags = []
        if locationAndFlags & IndexEntry.tombstoneBit != 0 { flags.insert(.tombstone) }
        if locationAndFlags & IndexEntry.keyStoredBit != 0 { flags.insert(.keyStored) }
        if locationAndFlags & IndexEntry.barrierBit != 0 { flags.insert(.barrier) }
        return IndexRecord(
            digest: digest,
            generation: UInt16(truncatingIfNeeded: generationAndLastUpdateTime),  // low 16 bits
            lastUpdateTimeMs: generationAndLastUpdateTime >> IndexEntry.generationBitCount,
            voidTimeSeconds: voidTimeSeconds,
            setID: setID,
            location: RecordLocation(
                deviceIndex: deviceIndex,
                offsetUnits: locationAndFlags & RecordLocation.offsetUnitsMax,
                sizeUnits: UInt32(truncatingIfNeeded: locationAndFlags >> IndexEntry.sizeUnitsShift)
                    & RecordLocation.sizeUnitsMax  // 20 bits
            ),
            flags: flags,
            binNameIDs: BinNameIDs(uncheckedRawValue: binNameIDs)
        )
    }

    var digest: Digest { Digest(word0: digestWord0, word1: digestWord1, word2: digestWord2) }

    var isTombstone: Bool { locationAndFlags & IndexEntry.tombstoneBit != 0 }

    /// Stores every field of `record` except the digest and the tree fields.
    /// `record` must have passed `IndexRecord.validateForIndex()`.
    mutating func storeFields(of record: IndexRecord) {
        assert(record.lastUpdateTimeMs <= IndexRecord.lastUpdateTimeMsMax)
        assert(record.location.offsetUnits <= RecordLocation.offsetUnitsMax)
        assert(record.location.sizeUnits <= RecordLocation.sizeUnitsMax)
        generationAndLastUpdateTime =
            record.lastUpdateTimeMs << IndexEntry.generationBitCount | UInt64(record.generation)
        var location = record.location.offsetUnits | UInt64(record.location.sizeUnits) << IndexEntry.sizeUnitsShift
        if record.flags.contains(.tombstone) { location |= IndexEntry.tombstoneBit }
        if record.flags.contains(.keyStored) { location |= IndexEntry.keyStoredBit }
        if record.flags.contains(.barrier) { location |= IndexEntry.barrierBit }
        locationAndFlags = location
        voidTimeSeconds = record.voidTimeSeconds
        setID = record.setID
        deviceIndex = record.location.deviceIndex
        binNameIDs = record.binNameIDs.rawValue
    }

    /// A fresh live entry for `record` with no children.
    init(record: IndexRecord, priority: UInt32) {
        digestWord0 = record.digest.word0
        digestWord1 = record.digest.word1
        digestWord2 = record.digest.word2
        leftHandle = 0
        rightHandle = 0
        voidTimeSeconds = 0
        generationAndLastUpdateTime = 0
        locationAndFlags = 0
        setID = 0
        deviceIndex = 0
        state = EntryState.live.rawValue
        self.priority = priority
        binNameIDs = 0
        storeFields(of: record)
    }
}

/// The `state` byte of an entry. Fresh stage memory is zero, i.e. `unused`.
enum EntryState: UInt8 {
    /// Never handed out since its stage was mapped.
    case unused = 0
    /// Linked into a sprig tree.
    case live = 0x4C  // "L"
    /// On a free list (`leftHandle` is the next free handle).
    case free = 0x46  // "F"
}
