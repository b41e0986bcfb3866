import CairnStorage

/// Everything a namespace is opened with (built from the config file by the daemon).
public struct NamespaceOptions: Sendable {
    public var storage: StorageOptions
    /// Default TTL in seconds (0 = never expire).
    public var defaultTTLSeconds: UInt32
    public var forceDurableDeletes: Bool
    /// Maximum index entries (records + tombstones).
    public var indexEntryCountMax: Int
    /// Cold start even when a warm restart would be possible (always cold until warm restart exists).
    public var coldStart: Bool
    /// Progress of a cold start, every `progressIntervalMs`.
    public var progressIntervalMs: Int
    public var onColdStartProgress: @Sendable (ColdStartProgress) -> Void
    /// Wall clock in ms since 2010-01-01 (tests substitute their own to move time).
    public var clockMs: @Sendable () -> UInt64
    /// Seconds between expiry-supervisor / tomb-raider passes; 0 = no background passes.
    public var nsupPeriodSeconds: Int = 120
    /// Run the background defragmenter (tests turn it off to drive `defragmentOnce`).
    public var backgroundDefrag: Bool = true

    public init(storage: StorageOptions, defaultTTLSeconds: UInt32 = 0, forceDurableDeletes: Bool = false,
                indexEntryCountMax: Int = 1 << 24, coldStart: Bool = false, progressIntervalMs: Int = 5000,
                onColdStartProgress: @escaping @Sendable (ColdStartProgress) -> Void = { _ in },
                clockMs: @escaping @Sendable () -> UInt64 = { CitrusleafTime.nowMs() }) {
        self.storage = storage
        self.defaultTTLSeconds = defaultTTLSeconds
        self.forceDurableDeletes = forceDurableDeletes
        self.indexEntryCountMax = indexEntryCountMax
        self.coldStart = coldStart
        self.progressIntervalMs = progressIntervalMs
        self.onColdStartProgress = onColdStartProgress
        self.clockMs = clockMs
    }

    public var name: String { storage.namespaceName }
}
