import CairnModel

/// One bin as stored: its name, its Aerospike particle type, and the value bytes exactly as the
/// wire carries them (PROTOCOL.md §5.3). The format does not interpret the bytes beyond the fixed
/// sizes of `ParticleType.fixedValueSizeBytes`.
public struct StoredBin: Sendable, Equatable, Hashable {
    /// 1 ... 15 bytes of UTF-8, no NUL.
    public var name: String
    /// The value's particle type.
    public var particleType: ParticleType
    /// The value bytes (wire encoding of `particleType`).
    public var bytes: [UInt8]

    public init(name: String, particleType: ParticleType, bytes: [UInt8]) {
        self.name = name
        self.particleType = particleType
        self.bytes = bytes
    }
}

/// The user key a client asked to store with a record (`POLICY_KEY_SEND`): a particle type
/// (integer, string or blob) and the key bytes as they are hashed into the digest (PROTOCOL.md §4.3).
public struct StoredKey: Sendable, Equatable, Hashable {
    /// `.integer`, `.string` or `.blob`.
    public var particleType: ParticleType
    /// Integer: 8 bytes big-endian; string: UTF-8; blob: raw bytes.
    public var bytes: [UInt8]

    public init(particleType: ParticleType, bytes: [UInt8]) {
        self.particleType = particleType
        self.bytes = bytes
    }

    /// An integer key: 8 bytes, big-endian two's complement (as on the wire and in the digest).
    public static func integer(_ value: Int64) -> StoredKey {
        let bits = UInt64(bitPattern: value)
        return StoredKey(particleType: .integer, bytes: (0..<8).map { UInt8(truncatingIfNeeded: bits >> (56 - 8 * UInt64($0))) })
    }

    /// A string key: its UTF-8 bytes.
    public static func string(_ value: String) -> StoredKey {
        StoredKey(particleType: .string, bytes: Array(value.utf8))
    }

    /// A blob key: its bytes.
    public static func blob(_ value: [UInt8]) -> StoredKey {
        StoredKey(particleType: .blob, bytes: value)
    }
}

/// The flag byte of a stored record. On encode the flags are derived from the `StoredRecord`
/// (so they can never disagree with its contents); on decode they are checked against the layout.
public struct RecordFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A durable delete: the record has no bins and hides older copies of its digest.
    public static let tombstone = RecordFlags(rawValue: 1 << 0)
    /// A set name follows.
    public static let hasSet = RecordFlags(rawValue: 1 << 1)
    /// A user key follows.
    public static let hasKey = RecordFlags(rawValue: 1 << 2)
    /// A nonzero void time follows.
    public static let hasVoidTime = RecordFlags(rawValue: 1 << 3)
    /// A live record written over a durable delete of its digest (or over a copy with this flag):
    /// an older copy may still be on the device behind it, so deleting it writes a tombstone.
    /// Never on a tombstone. A device whose header lacks `DeviceHeader.barrierRecords` may still
    /// carry it (the header flag only makes older builds refuse the device).
    public static let barrier = RecordFlags(rawValue: 1 << 4)

    /// Every flag this format version defines; any other bit set on device is damage.
    public static let known: RecordFlags = [.tombstone, .hasSet, .hasKey, .hasVoidTime, .barrier]
}

/// A record as the engine hands it to the format to be stored, and as a full decode returns it.
///
/// A tombstone is `isTombstone == true` with no bins. A live record has at least one bin.
public struct StoredRecord: Sendable, Equatable, Hashable {
    /// The record's digest.
    public var digest: Digest
    /// Whether this is a tombstone (durable delete).
    public var isTombstone: Bool
    /// Last-update time, milliseconds since 2010-01-01T00:00:00Z; at most 2^48 − 1.
    public var lastUpdateMs: UInt64
    /// Generation (wraps).
    public var generation: UInt16
    /// Void (expiry) time, seconds since 2010-01-01T00:00:00Z; 0 means never expires.
    public var voidTime: UInt32
    /// The set name (1 ... 63 UTF-8 bytes), or `nil` for the null set.
    public var setName: String?
    /// The stored user key, if the client sent one with `POLICY_KEY_SEND`.
    public var userKey: StoredKey?
    /// The bins, in the order they are stored.
    public var bins: [StoredBin]
    /// An older copy of the digest was durably deleted and may remain behind this one
    /// (`RecordFlags.barrier`); always false for a tombstone.
    public var barrier: Bool

    public init(
        digest: Digest,
        isTombstone: Bool = false,
        lastUpdateMs: UInt64,
        generation: UInt16,
        voidTime: UInt32 = 0,
        setName: String? = nil,
        userKey: StoredKey? = nil,
        bins: [StoredBin],
        barrier: Bool = false
    ) {
        precondition(!(isTombstone && barrier), "a tombstone is a barrier itself and never carries the flag")
        self.barrier = barrier
        self.digest = digest
        self.isTombstone = isTombstone
        self.lastUpdateMs = lastUpdateMs
        self.generation = generation
        self.voidTime = voidTime
        self.setName = setName
        self.userKey = userKey
        self.bins = bins
    }

    /// A tombstone for `digest` (no bins, no void time).
    public static func tombstone(
        digest: Digest, lastUpdateMs: UInt64, generation: UInt16, setName: String? = nil, userKey: StoredKey? = nil
    ) -> StoredRecord {
        StoredRecord(
            digest: digest, isTombstone: true, lastUpdateMs: lastUpdateMs, generation: generation,
            setName: setName, userKey: userKey, bins: []
        )
    }

    /// The flag byte this record is stored with.
    public var flags: RecordFlags {
        var flags: RecordFlags = []
        if isTombstone { flags.insert(.tombstone) }
        if setName != nil { flags.insert(.hasSet) }
        if userKey != nil { flags.insert(.hasKey) }
        if voidTime != 0 { flags.insert(.hasVoidTime) }
        if barrier { flags.insert(.barrier) }
        return flags
    }
}
