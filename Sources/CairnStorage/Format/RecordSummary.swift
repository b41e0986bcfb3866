import CairnModel

/// A record's metadata read in place, without materialising its set name, key or bins: what the
/// cold-start scan needs per record, with no allocation.
///
/// Produced only after the record's magic, size and CRC32C verified, so every field is the one
/// that was written. Offsets and ranges are in the coordinates of the buffer that was decoded
/// (for the block scanner: bytes from the start of the block).
public struct RecordSummary: Sendable, Equatable, Hashable {
    /// Where the record starts.
    public var offset: Int
    /// Bytes the record occupies (a multiple of 16, padding and CRC included).
    public var sizeBytes: Int
    /// The flag byte.
    public var flags: RecordFlags
    /// The record's digest.
    public var digest: Digest
    /// Last-update time, ms since 2010-01-01.
    public var lastUpdateMs: UInt64
    /// Generation.
    public var generation: UInt16
    /// Void time, s since 2010-01-01; 0 = never expires.
    public var voidTime: UInt32
    /// Number of bins (0 for a tombstone).
    public var binCount: UInt16
    /// Low 32 bits of the sequence of the block the record was written into.
    public var blockSequenceTag: UInt32
    /// Where the set name's bytes are, if the record has a set (1 ... 63 bytes, not yet checked
    /// as UTF-8: compare them as bytes, or run a full decode).
    public var setNameRange: Range<Int>?
    /// Where the variable part continues after the set name (the key, then the bins).
    var cursorAfterSet: Int

    /// Whether this is a tombstone.
    public var isTombstone: Bool { flags.contains(.tombstone) }
    /// Whether a user key is stored.
    public var hasKey: Bool { flags.contains(.hasKey) }
    /// Whether the record keeps a durable delete's barrier (`RecordFlags.barrier`).
    public var hasBarrier: Bool { flags.contains(.barrier) }
    /// One past the record's last byte.
    public var endOffset: Int { offset + sizeBytes }
}

/// A fully decoded record with the on-device facts that are not part of its value.
public struct DecodedRecord: Sendable, Equatable, Hashable {
    /// The record.
    public var record: StoredRecord
    /// Bytes it occupies on device.
    public var sizeBytes: Int
    /// Low 32 bits of the sequence of the block it was written into.
    public var blockSequenceTag: UInt32
}
