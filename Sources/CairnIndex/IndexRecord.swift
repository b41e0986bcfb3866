import CairnModel

/// Where a record's bytes are on a device, in the 16-byte units records are aligned to.
///
/// A plain value. The index stores `offsetUnits` in 40 bits and `sizeUnits` in 20 bits (see
/// `IndexEntry`); `PrimaryIndex` refuses a location outside those limits with
/// `IndexError.recordFieldOutOfRange`, so values read from a device can be passed in and fail cleanly.
public struct RecordLocation: Sendable, Hashable {
    /// Size of one unit of `offsetUnits` and `sizeUnits`.
    public static let unitSizeBytes = 16
    /// 40 bits of 16-byte units address 16 TiB per device.
    public static let offsetUnitsMax: UInt64 = (1 << 40) - 1
    /// 20 bits of 16-byte units hold a record of up to 16 MiB − 16 bytes (records are at most 8 MiB).
    public static let sizeUnitsMax: UInt32 = (1 << 20) - 1

    /// Index of the device in the namespace's device list.
    public var deviceIndex: UInt8
    /// Byte offset of the record on its device divided by 16.
    public var offsetUnits: UInt64
    /// Size of the stored record (rounded up to 16 bytes) divided by 16.
    public var sizeUnits: UInt32

    public init(deviceIndex: UInt8, offsetUnits: UInt64, sizeUnits: UInt32) {
        self.deviceIndex = deviceIndex
        self.offsetUnits = offsetUnits
        self.sizeUnits = sizeUnits
    }

    /// Byte offset of the record on its device.
    public var offsetBytes: UInt64 { offsetUnits * UInt64(RecordLocation.unitSizeBytes) }
    /// Size of the stored record in bytes (a multiple of 16).
    public var sizeBytes: Int { Int(sizeUnits) * RecordLocation.unitSizeBytes }
}

/// The metadata the primary index keeps for one record: a plain value copied in and out of the
/// index (the arena's entry layout is internal, see `IndexEntry`).
///
/// Limits enforced when a record is stored (`IndexError.recordFieldOutOfRange` otherwise):
/// `lastUpdateTimeMs <= lastUpdateTimeMsMax` (48 bits) and the `RecordLocation` limits; `flags`
/// may hold only the flags declared below.
public struct IndexRecord: Sendable, Hashable {
    /// 48 bits of milliseconds since 2010-01-01 last until the year 10 000 and beyond.
    public static let lastUpdateTimeMsMax: UInt64 = (1 << 48) - 1

    /// Per-record flags.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The record is a durable-delete marker.
        public static let tombstone = Flags(rawValue: 1 << 0)
        /// The stored record carries the user key.
        public static let keyStored = Flags(rawValue: 1 << 1)
        /// An older copy of the digest was durably deleted and may still be on the device behind
        /// this one: deleting this record writes a tombstone, so that copy never comes back.
        public static let barrier = Flags(rawValue: 1 << 2)

        /// Every flag the index can store.
        public static let all: Flags = [.tombstone, .keyStored, .barrier]
    }

    /// The record's key digest; never changes while the record is in the index.
    public var digest: Digest
    /// Write generation (wraps like Aerospike's 16-bit generation).
    public var generation: UInt16
    /// Last-update time, milliseconds since 2010-01-01T00:00:00Z.
    public var lastUpdateTimeMs: UInt64
    /// Expiry time, seconds since 2010-01-01T00:00:00Z; 0 means never.
    public var voidTimeSeconds: UInt32
    /// Set id within the namespace; 0 means no set.
    public var setID: UInt16
    /// Where the current copy is stored.
    public var location: RecordLocation
    public var flags: Flags
    /// The names of its bins, when the index knows them (see ``BinNameIDs``).
    public var binNameIDs: BinNameIDs

    public init(
        digest: Digest,
        generation: UInt16,
        lastUpdateTimeMs: UInt64,
        voidTimeSeconds: UInt32 = 0,
        setID: UInt16 = 0,
        location: RecordLocation,
        flags: Flags = [],
        binNameIDs: BinNameIDs = .unknown
    ) {
        self.digest = digest
        self.generation = generation
        self.lastUpdateTimeMs = lastUpdateTimeMs
        self.voidTimeSeconds = voidTimeSeconds
        self.setID = setID
        self.location = location
        self.flags = flags
        self.binNameIDs = binNameIDs
    }

    /// Whether this record is a tombstone.
    public var isTombstone: Bool { flags.contains(.tombstone) }
    /// Whether this record's void time has passed at `nowVoidTime` (``Expiry``).
    @inlinable @inline(__always)
    public func hasExpired(at nowVoidTime: UInt32) -> Bool { Expiry.hasExpired(voidTime: voidTimeSeconds, now: nowVoidTime) }
    /// Whether a new copy written over this one must keep a durable delete's barrier: this is a
    /// tombstone, or a copy that already carries the barrier.
    public var passesOnBarrier: Bool { !flags.isDisjoint(with: [.tombstone, .barrier]) }

    /// Throws `IndexError.recordFieldOutOfRange` if a field does not fit the index entry.
    public func validateForIndex() throws(IndexError) {
        if lastUpdateTimeMs > IndexRecord.lastUpdateTimeMsMax {
            throw .recordFieldOutOfRange(
                field: "lastUpdateTimeMs", value: lastUpdateTimeMs, maximum: IndexRecord.lastUpdateTimeMsMax)
        }
        if location.offsetUnits > RecordLocation.offsetUnitsMax {
            throw .recordFieldOutOfRange(
                field: "location.offsetUnits", value: location.offsetUnits, maximum: RecordLocation.offsetUnitsMax)
        }
        if location.sizeUnits > RecordLocation.sizeUnitsMax {
            throw .recordFieldOutOfRange(
                field: "location.sizeUnits", value: UInt64(location.sizeUnits),
                maximum: UInt64(RecordLocation.sizeUnitsMax))
        }
        if !Flags.all.isSuperset(of: flags) {
            throw .recordFieldOutOfRange(
                field: "flags", value: UInt64(flags.rawValue), maximum: UInt64(Flags.all.rawValue))
        }
        if !binNameIDs.isCanonical {
            throw .recordFieldOutOfRange(field: "binNameIDs", value: binNameIDs.rawValue, maximum: UInt64.max)
        }
    }
}
