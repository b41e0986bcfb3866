import CairnIO

/// What a namespace's storage is opened with (from the namespace's `storage-engine device` stanza).
public struct StorageOptions: Sendable {
    public struct DevicePath: Sendable, Equatable {
        public var path: String
        /// For files: create if missing and size to this. Nil for block devices.
        public var fileSizeBytes: UInt64?
        /// `read-page-cache`: record reads go through the page cache (writes stay O_DIRECT).
        public var readPageCache: Bool
        public init(path: String, fileSizeBytes: UInt64? = nil, readPageCache: Bool = false) {
            self.path = path
            self.fileSizeBytes = fileSizeBytes
            self.readPageCache = readPageCache
        }
    }

    public var namespaceName: String
    public var devices: [DevicePath]
    public var writeBlockSizeBytes: Int
    public var partitionTreeSprigs: Int
    public var flushMaxMs: Int
    public var commitToDevice: Bool
    public var maxWriteCacheBytes: Int
    /// Writes in flight per device (the flusher's io_uring depth).
    public var writeQueueDepth: Int
    /// Reads in flight per device for record reads.
    public var readQueueDepth: Int
    /// Whole-block reads in flight per device during a cold start.
    public var scanQueueDepth: Int
    /// Parser threads for a cold start (0 = one per core).
    public var scanThreadCount: Int
    /// Index entries a cold start faults in ahead of its parsers, from a thread of its own
    /// (0: none; the parsers then fault index memory in themselves).
    public var scanPrefaultEntries: Int = 1 << 19
    /// Initialise devices that hold foreign data (never done unless asked for).
    public var initializeForeignDevices: Bool
    /// A block whose live bytes fall below this share of its data bytes is defragmented.
    public var defragLWMPct: Int = 50
    /// Microseconds the defragmenter pauses after each block (it yields to client writes).
    public var defragSleepUs: Int = 1000
    /// Bytes of recently written blocks per device kept in memory for reads.
    public var postWriteCacheBytes: Int = 0
    /// `fill-page-cache`: blocks leaving the post-write cache are read into the page cache (on
    /// devices whose record reads go through it, `DevicePath.readPageCache`).
    public var fillPageCache = false
    /// Whether written blocks are filled into the page cache: asked for, and some device's
    /// record reads go through it (the writer of a device that reads O_DIRECT never fills).
    public var fillsPageCache: Bool { fillPageCache && devices.contains { $0.readPageCache } }
    /// Client writes get OUT_OF_SPACE when less than this share of a device's blocks is available.
    public var stopWritesAvailPct: Int = 5
    /// Space state changes (stop-writes on/off) for the log.
    public var log: @Sendable (String) -> Void = { _ in }
    /// Set by the deterministic simulator only: its clock, its bugs, no flusher threads.
    public var simulation: StorageSimulation?
    /// Opens one configured device (the simulator substitutes simulated devices).
    public var openDevice: @Sendable (DevicePath) throws(IOError) -> BlockDevice = { spec throws(IOError) in
        try BlockDevice.open(path: spec.path, options: .init(fileSizeBytes: spec.fileSizeBytes, readPageCache: spec.readPageCache))
    }
    /// What `set-config` changed since the namespace opened (shared by every copy of these options).
    public let tunables = RuntimeTunables()

    public init(namespaceName: String, devices: [DevicePath], writeBlockSizeBytes: Int = 1 << 20,
                partitionTreeSprigs: Int = 256, flushMaxMs: Int = 1000, commitToDevice: Bool = false,
                maxWriteCacheBytes: Int = 64 << 20, writeQueueDepth: Int = 4, readQueueDepth: Int = 16,
                scanQueueDepth: Int = 16, scanThreadCount: Int = 0, initializeForeignDevices: Bool = false) {
        self.namespaceName = namespaceName
        self.devices = devices
        self.writeBlockSizeBytes = writeBlockSizeBytes
        self.partitionTreeSprigs = partitionTreeSprigs
        self.flushMaxMs = flushMaxMs
        self.commitToDevice = commitToDevice
        self.maxWriteCacheBytes = maxWriteCacheBytes
        self.writeQueueDepth = writeQueueDepth
        self.readQueueDepth = readQueueDepth
        self.scanQueueDepth = scanQueueDepth
        self.scanThreadCount = scanThreadCount
        self.initializeForeignDevices = initializeForeignDevices
    }
}
