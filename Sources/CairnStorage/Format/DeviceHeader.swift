/// What a device header says about a device and its namespace (FORMAT.md "Device header").
///
/// Stored twice in block 0 by `DeviceHeaderFormat`; this type is only the value. The write
/// generation and the copy slot belong to the copies, not to the value, and are handled by the
/// codec. A plain value; any thread may use it.
public struct DeviceHeader: Sendable, Equatable, Hashable {
    /// The namespace name: 1 ... 31 UTF-8 bytes, no NUL.
    public var namespaceName: String
    /// A random nonzero id chosen when the namespace's devices were initialised; the same on every
    /// device of the namespace and in every block header written to them.
    public var namespaceInstanceId: UInt64
    /// This device's index in the namespace (< `deviceCount`).
    public var deviceIndex: UInt16
    /// Devices in the namespace (1 ... 128).
    public var deviceCount: UInt16
    /// Write block size in bytes (a power of two, 128 KiB ... 8 MiB).
    public var writeBlockSizeBytes: UInt32
    /// `partition-tree-sprigs` the index was built with (a power of two, 1 ... 2^28).
    public var partitionTreeSprigs: UInt32
    /// Set by a clean shutdown once every buffer is durable; cleared when the daemon starts using
    /// the device. A device without it was not stopped cleanly: the next start is cold.
    public var cleanShutdown: Bool
    /// Records on the namespace's devices may carry `RecordFlags.barrier`. Set (both copies of
    /// every device) before the first such record is appended and never cleared: Cairn builds
    /// that do not know the record flag refuse the device (an unknown header flag) instead of
    /// skipping those records as damage.
    public var barrierRecords: Bool
    /// The highest block sequence number written to this namespace when the header was written.
    public var highestBlockSequence: UInt64
    /// High-water mark: no block at or above this index has ever been written to this device
    /// (durable before the block is first used). 0 = unknown (a device written before the mark
    /// existed): every block may hold data. A cold start scans only below it.
    public var blocksWrittenMark: UInt32
    /// Durable truncations.
    public var truncation: TruncationTable
    /// The shared-memory index a warm restart may re-attach, or `nil` if none.
    public var sharedIndex: SharedIndexIdentity?

    public init(
        namespaceName: String,
        namespaceInstanceId: UInt64,
        deviceIndex: UInt16,
        deviceCount: UInt16,
        writeBlockSizeBytes: UInt32,
        partitionTreeSprigs: UInt32,
        cleanShutdown: Bool = false,
        barrierRecords: Bool = false,
        highestBlockSequence: UInt64 = 0,
        blocksWrittenMark: UInt32 = 0,
        truncation: TruncationTable = TruncationTable(),
        sharedIndex: SharedIndexIdentity? = nil
    ) {
        self.namespaceName = namespaceName
        self.namespaceInstanceId = namespaceInstanceId
        self.deviceIndex = deviceIndex
        self.deviceCount = deviceCount
        self.writeBlockSizeBytes = writeBlockSizeBytes
        self.partitionTreeSprigs = partitionTreeSprigs
        self.cleanShutdown = cleanShutdown
        self.barrierRecords = barrierRecords
        self.highestBlockSequence = highestBlockSequence
        self.blocksWrittenMark = blocksWrittenMark
        self.truncation = truncation
        self.sharedIndex = sharedIndex
    }

    /// The first field out of range, as (field, reason), or `nil`. Checked before every encode and
    /// after every decode.
    func fieldProblem() -> (String, String)? {
        if let problem = nameProblem(namespaceName, bytesMax: FormatLimits.namespaceNameBytesMax) {
            return ("namespaceName", problem)
        }
        if namespaceInstanceId == 0 { return ("namespaceInstanceId", "must not be zero") }
        if deviceCount == 0 || Int(deviceCount) > FormatLimits.deviceCountMax {
            return ("deviceCount", "\(deviceCount), must be 1 ... \(FormatLimits.deviceCountMax)")
        }
        if deviceIndex >= deviceCount { return ("deviceIndex", "\(deviceIndex), must be below the device count \(deviceCount)") }
        if !FormatLimits.isValidWriteBlockSize(Int(writeBlockSizeBytes)) {
            return ("writeBlockSizeBytes", "\(writeBlockSizeBytes) is not a power of two in 128 KiB ... 8 MiB")
        }
        if partitionTreeSprigs == 0 || partitionTreeSprigs.nonzeroBitCount != 1
            || partitionTreeSprigs > FormatLimits.partitionTreeSprigsMax
        {
            return ("partitionTreeSprigs", "\(partitionTreeSprigs) is not a power of two in 1 ... \(FormatLimits.partitionTreeSprigsMax)")
        }
        if let sharedIndex, sharedIndex.instanceId == 0 {
            return ("sharedIndex.instanceId", "must not be zero (use nil for no shared-memory index)")
        }
        return truncation.fieldProblem()
    }
}

/// Identifies the shared-memory index a clean stop left behind, so a warm restart re-attaches only
/// the segment that matches these devices.
public struct SharedIndexIdentity: Sendable, Equatable, Hashable {
    /// Nonzero id of the shared-memory index instance (chosen when the segment was created).
    public var instanceId: UInt64
    /// The clean-stop sequence written into both the segment and this header at the last clean
    /// stop; a warm restart requires the two to be equal.
    public var cleanStopSequence: UInt64

    public init(instanceId: UInt64, cleanStopSequence: UInt64) {
        self.instanceId = instanceId
        self.cleanStopSequence = cleanStopSequence
    }
}

/// One set's truncate time.
public struct SetTruncation: Sendable, Equatable, Hashable {
    /// Set name: 1 ... 63 UTF-8 bytes, no NUL.
    public var setName: String
    /// Records of this set with a last-update time at or below this are truncated (ms since
    /// 2010-01-01, nonzero).
    public var lutMs: UInt64

    public init(setName: String, lutMs: UInt64) {
        self.setName = setName
        self.lutMs = lutMs
    }
}

/// The durable truncations of a namespace: one namespace-wide truncate time and at most 896
/// per-set truncate times, kept sorted by set-name bytes so the encoding is canonical; and the
/// namespace's eviction mark (FORMAT.md "Eviction mark").
public struct TruncationTable: Sendable, Equatable, Hashable {
    /// Records at or below this last-update time are truncated, in every set (0 = never truncated).
    public var namespaceLutMs: UInt64
    /// The eviction mark: a record with a void time (nonzero) at or below `evictVoidTime` and a
    /// last-update time at or below `evictLutMs` was evicted, unless its set has
    /// `disable-eviction`. Both 0 = nothing was ever evicted. Both only grow.
    public var evictVoidTime: UInt32 = 0
    /// When the eviction mark was last raised (ms since 2010-01-01); see `evictVoidTime`.
    public var evictLutMs: UInt64 = 0

    /// Whether a record with `voidTime` and `lastUpdateMs` is below the eviction mark (set
    /// exemptions are the caller's).
    @inline(__always)
    public func isBelowEvictionMark(voidTime: UInt32, lastUpdateMs: UInt64) -> Bool {
        voidTime != 0 && voidTime <= evictVoidTime && lastUpdateMs <= evictLutMs
    }

    /// Raises the eviction mark (each half only grows).
    public mutating func raiseEvictionMark(voidTime: UInt32, lutMs: UInt64) {
        evictVoidTime = max(evictVoidTime, voidTime)
        evictLutMs = max(evictLutMs, lutMs)
    }
    /// Per-set truncate times, sorted by the UTF-8 bytes of the set name, one entry per set.
    public private(set) var sets: [SetTruncation]

    /// A table from any list: entries are sorted by set-name bytes, and a set named twice keeps
    /// its larger truncate time. Limits are checked when the header is encoded.
    public init(namespaceLutMs: UInt64 = 0, sets: [SetTruncation] = []) {
        self.namespaceLutMs = namespaceLutMs
        self.sets = []
        for entry in sets.sorted(by: { Self.precedes($0.setName, $1.setName) }) {
            if let last = self.sets.last, Self.sameBytes(last.setName, entry.setName) {
                self.sets[self.sets.count - 1].lutMs = max(last.lutMs, entry.lutMs)
            } else {
                self.sets.append(entry)
            }
        }
    }

    /// The truncate time recorded for `setName` alone, or `nil`.
    public func setLutMs(forSet setName: String) -> UInt64? {
        let index = insertionIndex(of: setName)
        guard index < sets.count, Self.sameBytes(sets[index].setName, setName) else { return nil }
        return sets[index].lutMs
    }

    /// The time at or below which a record of `setName` (nil: no set) is truncated: the larger of
    /// the namespace's and the set's truncate times (0 = not truncated).
    public func truncateLutMs(forSet setName: String?) -> UInt64 {
        guard let setName, let setLut = setLutMs(forSet: setName) else { return namespaceLutMs }
        return max(namespaceLutMs, setLut)
    }

    /// Records (or replaces) the truncate time of `setName`. Throws if the name is invalid, the
    /// time is zero, or the table already holds 896 other sets.
    public mutating func setLutMs(_ lutMs: UInt64, forSet setName: String) throws(FormatEncodingError) {
        if let problem = nameProblem(setName, bytesMax: FormatLimits.setNameBytesMax) {
            throw .badSetName(setName, reason: problem)
        }
        guard lutMs != 0 else { throw .invalidField(name: "lutMs", reason: "a set truncate time must be nonzero") }
        let index = insertionIndex(of: setName)
        if index < sets.count, Self.sameBytes(sets[index].setName, setName) {
            sets[index].lutMs = lutMs
            return
        }
        guard sets.count < FormatLimits.setTruncationCountMax else {
            throw .truncationTableFull(countMax: FormatLimits.setTruncationCountMax)
        }
        sets.insert(SetTruncation(setName: setName, lutMs: lutMs), at: index)
    }

    /// Removes the entry of `setName`, if any (for tools that reset a table).
    public mutating func removeSet(_ setName: String) {
        let index = insertionIndex(of: setName)
        if index < sets.count, Self.sameBytes(sets[index].setName, setName) { sets.remove(at: index) }
    }

    /// Builds a table from decoded entries already checked to be in strictly ascending order.
    init(namespaceLutMs: UInt64, sortedUniqueSets: [SetTruncation]) {
        self.namespaceLutMs = namespaceLutMs
        self.sets = sortedUniqueSets
    }

    /// Whether the table carries an eviction mark (written as format version 2).
    var hasEvictionMark: Bool { evictVoidTime != 0 || evictLutMs != 0 }

    func fieldProblem() -> (String, String)? {
        if (evictVoidTime == 0) != (evictLutMs == 0) {
            return ("truncation.evictVoidTime", "the eviction mark's void time and LUT must be both zero or both nonzero")
        }
        if sets.count > FormatLimits.setTruncationCountMax {
            return ("truncation.sets", "\(sets.count) entries, at most \(FormatLimits.setTruncationCountMax)")
        }
        for (index, entry) in sets.enumerated() {
            if let problem = nameProblem(entry.setName, bytesMax: FormatLimits.setNameBytesMax) {
                return ("truncation.sets[\(index)].setName", problem)
            }
            if entry.lutMs == 0 { return ("truncation.sets[\(index)].lutMs", "must be nonzero") }
            if index > 0, !Self.precedes(sets[index - 1].setName, entry.setName) {
                return ("truncation.sets[\(index)].setName", "not in strictly ascending byte order")
            }
        }
        return nil
    }

    /// First index whose set name is not below `setName` (binary search by bytes).
    private func insertionIndex(of setName: String) -> Int {
        var low = 0
        var high = sets.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(sets[middle].setName, setName) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Set names compare as bytes (as Aerospike compares them), not as Unicode strings.
    static func precedes(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    static func sameBytes(_ left: String, _ right: String) -> Bool {
        left.utf8.elementsEqual(right.utf8)
    }
}
