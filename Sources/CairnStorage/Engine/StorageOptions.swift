/// What a namespace's storage is opened with (from the namespace's `storage-engine device` stanza).
public struct StorageOptions: Sendable {
    public struct DevicePath: Sendable, Equatable {
        public var path: String
        /// For files: create if missing and size to this. Nil for block devices.
        public var fileSizeBytes: UInt64?
        public init(path: String, fileSizeBytes: UInt64? = nil) {
            self.path = path
            self.fileSizeBytes = fileSizeBytes
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
    /// Initialise devices that hold foreign data (never done unless asked for).
    public var initializeForeignDevices: Bool

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
