/// The `storage-engine` of a namespace.
public enum StorageConfig: Sendable, Equatable {
    /// `storage-engine device { … }`: records on raw block devices or files.
    case device(DeviceStorageConfig)
    /// `storage-engine memory { … }`: records in memory, optionally persisted to devices or files.
    case memory(MemoryStorageConfig)

    /// The devices or files records are written to, if any.
    public var backing: StorageBacking? {
        switch self {
        case .device(let device): device.backing
        case .memory(let memory): memory.persistence
        }
    }
}

/// The `device` or `file` lines of a storage engine.
///
/// One storage engine uses either devices or files, never both (as Aerospike). Each line names
/// one path; a line may repeat to use several (at most 128), and no path may appear twice in
/// the whole configuration.
public enum StorageBacking: Sendable, Equatable {
    /// `device PATH` lines: raw block devices, used whole; their size is the device's.
    case devices([String])
    /// `file PATH` lines and `filesize`: regular files, created sparse to `sizeBytes` each.
    case files([String], sizeBytes: Int)

    /// Whether these are `file` lines.
    public var isFiles: Bool {
        if case .files = self { return true }
        return false
    }

    /// The paths, in file order.
    public var paths: [String] {
        switch self {
        case .devices(let paths): paths
        case .files(let paths, sizeBytes: _): paths
        }
    }
}

/// `storage-engine device { … }`: Cairn's log-structured device storage.
///
/// ```
/// storage-engine device {
///     device /dev/nvme0n1          # or: file PATH (repeatable), with filesize
///     write-block-size 1M          # power of two, 128K..8M
///     flush-max-ms 1000            # 1..10000
///     commit-to-device false
///     defrag-lwm-pct 50            # 1..99
///     defrag-sleep 1000            # µs, 0..1000000
///     max-write-cache 64M          # per device, 8M..1T
///     post-write-cache 256M        # per device, 0..64G
///     stop-writes-avail-pct 5      # 0..99
///     evict-used-pct 0             # 0..100, 0 = off
/// }
/// ```
///
/// A plain value: any thread may create, copy and read it.
public struct DeviceStorageConfig: Sendable, Equatable {
    /// `device` lines, or `file` lines with `filesize`.
    public var backing: StorageBacking
    /// `write-block-size`: bytes per write block, a power of two.
    public var writeBlockSizeBytes: Int
    /// `flush-max-ms`: longest a partly filled write buffer waits before it is written.
    public var flushMaxMs: Int
    /// `commit-to-device`: acknowledge a write only once it is durable on the device.
    public var commitToDevice: Bool
    /// `defrag-lwm-pct`: a block whose live bytes fall below this share is defragmented.
    public var defragLWMPct: Int
    /// `defrag-sleep`: microseconds the defragmenter pauses between blocks.
    public var defragSleepUs: Int
    /// `max-write-cache`: bytes that may wait to be written on one device before writes get
    /// DEVICE_OVERLOAD (result 18).
    public var writeCacheBytesMax: Int
    /// `post-write-cache`: bytes of recently written blocks kept in memory per device for reads,
    /// in whole write blocks (rounded down); 0 turns it off.
    public var postWriteCacheBytes: Int
    /// `stop-writes-avail-pct`: writes get OUT_OF_SPACE (result 8) when less than this share of
    /// the space is free.
    public var stopWritesAvailPct: Int
    /// `evict-used-pct`: the namespace supervisor evicts when the live bytes exceed this share
    /// of the space; 0 turns it off.
    public var evictUsedPct: Int
    /// `cold-start-empty`: a cold start ignores (and durably truncates) the records on the devices.
    public var coldStartEmpty = false
    /// The `read-page-cache` line, if the section has one.
    public var readPageCacheSetting: Bool?
    /// `read-page-cache`: record reads go through the page cache instead of O_DIRECT. Without
    /// the line, files do and raw devices do not: an Aerospike server reads files through the
    /// page cache unless `direct-files` is set, and devices with O_DIRECT. Writes are O_DIRECT
    /// either way.
    public var readPageCache: Bool {
        get { readPageCacheSetting ?? backing.isFiles }
        set { readPageCacheSetting = newValue }
    }
    /// The `fill-page-cache` line, if the section has one.
    public var fillPageCacheSetting: Bool?
    /// `fill-page-cache`: a written block that leaves the post-write cache (at once without one)
    /// is read into the page cache (the kernel's readahead, asked for by the flusher), so its records stay in memory as
    /// those of a server that writes through the page cache would. Without the line, it follows
    /// `read-page-cache`; it needs `read-page-cache true` (nothing else would read those pages).
    public var fillPageCache: Bool {
        get { fillPageCacheSetting ?? readPageCache }
        set { fillPageCacheSetting = newValue }
    }

    /// Makes a device storage section; every argument but `backing` defaults as documented in
    /// `ConfigLimits`.
    public init(
        backing: StorageBacking,
        writeBlockSizeBytes: Int = ConfigLimits.writeBlockSizeBytesDefault,
        flushMaxMs: Int = ConfigLimits.flushMaxMsDefault,
        commitToDevice: Bool = ConfigLimits.commitToDeviceDefault,
        defragLWMPct: Int = ConfigLimits.defragLWMPctDefault,
        defragSleepUs: Int = ConfigLimits.defragSleepUsDefault,
        writeCacheBytesMax: Int = ConfigLimits.writeCacheBytesMaxDefault,
        postWriteCacheBytes: Int = ConfigLimits.postWriteCacheBytesDefault,
        stopWritesAvailPct: Int = ConfigLimits.stopWritesAvailPctDefault,
        evictUsedPct: Int = ConfigLimits.evictUsedPctDefault
    ) {
        self.evictUsedPct = evictUsedPct
        self.backing = backing
        self.writeBlockSizeBytes = writeBlockSizeBytes
        self.flushMaxMs = flushMaxMs
        self.commitToDevice = commitToDevice
        self.defragLWMPct = defragLWMPct
        self.defragSleepUs = defragSleepUs
        self.writeCacheBytesMax = writeCacheBytesMax
        self.postWriteCacheBytes = postWriteCacheBytes
        self.stopWritesAvailPct = stopWritesAvailPct
    }
}

/// `storage-engine memory { … }`: records kept in memory.
///
/// ```
/// storage-engine memory {
///     data-size 4G                 # required without persistence; 16M..16T
///     evict-used-pct 0             # 0..100, 0 = off
/// }
/// storage-engine memory {
///     file /var/lib/cairn/bar.dat  # persistence: file (with filesize) or device lines
///     filesize 16G
/// }
/// ```
///
/// Invariant (as in Aerospike): exactly one of `dataSizeBytes` and `persistence` is set. With
/// persistence, the data size is the size of the devices or files.
public struct MemoryStorageConfig: Sendable, Equatable {
    /// `data-size`: memory for record data, when the namespace is not persisted.
    public var dataSizeBytes: Int?
    /// `file`/`filesize` or `device` lines the data is persisted to, if any.
    public var persistence: StorageBacking?
    /// `evict-used-pct`: evict when the live bytes exceed this share of the data size; 0 is off.
    public var evictUsedPct: Int = ConfigLimits.evictUsedPctDefault

    /// Makes a memory storage section. Exactly one of the two arguments must be non-nil.
    public init(dataSizeBytes: Int? = nil, persistence: StorageBacking? = nil) {
        precondition(
            (dataSizeBytes == nil) != (persistence == nil),
            "a memory storage engine has either a data size or persistence, not both or neither"
        )
        self.dataSizeBytes = dataSizeBytes
        self.persistence = persistence
    }
}
