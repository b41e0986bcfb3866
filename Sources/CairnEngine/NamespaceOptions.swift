import CairnStorage

/// Everything a namespace is opened with (built from the config file by the daemon).
public struct NamespaceOptions: Sendable {
    public var storage: StorageOptions
    /// Default TTL in seconds (0 = never expire).
    public var defaultTTLSeconds: UInt32
    public var forceDurableDeletes: Bool
    /// `default-read-touch-ttl-pct`: 1...100 makes a read touch a record within this percentage
    /// of its last write's TTL before its end of life; 0 is off (``Namespace/readTouch``).
    public var readTouchTTLPercent: UInt32 = 0
    /// `set NAME { default-ttl, stop-writes-count }` by set name (SetLimits.swift).
    public var setPolicies: [String: SetPolicy] = [:]
    /// Set parameters changed by set-config (shared by every copy of these options).
    public var setTunables = SetTunables()
    /// Maximum index entries (records + tombstones).
    public var indexEntryCountMax: Int
    /// Cold start even when a warm restart would be possible (`--cold-start`).
    public var coldStart: Bool
    /// `cold-start-empty`: a cold start ignores the records on the devices and starts empty
    /// (they are truncated durably, so no later start brings them back).
    public var coldStartEmpty = false
    /// Where the index (and memory data) lives across a clean stop; nil: a private index, and
    /// every restart is cold.
    public var sharedMemory: SharedMemoryOptions?
    /// `storage-engine memory` namespaces: where the records are kept.
    public var memory: MemoryStorageMode
    /// Called once the restart mode is chosen, before any scan (the daemon logs the reason).
    public var onStartDecision: @Sendable (Namespace.StartReport.Mode, String) -> Void = { _, _ in }
    /// Progress of a cold start, every `progressIntervalMs`.
    public var progressIntervalMs: Int
    public var onColdStartProgress: @Sendable (ColdStartProgress) -> Void
    /// Wall clock in ms since 2010-01-01 (tests substitute their own to move time).
    public var clockMs: @Sendable () -> UInt64
    /// Seconds between expiry-supervisor / tomb-raider passes; 0 = no background passes.
    public var nsupPeriodSeconds: Int = 120
    /// Eviction (Aerospike's namespace supervisor): thresholds and limits (``EvictionOptions``).
    public var eviction = EvictionOptions()
    /// The machine's used memory, percent, for `evict-sys-memory-pct` (tests substitute their own).
    public var systemMemoryUsedPct: @Sendable () -> Double? = { SystemMemory.usedPct() }
    /// Run the background defragmenter (tests turn it off to drive `defragmentOnce`).
    public var backgroundDefrag: Bool = true
    /// Truncation sweeps wait for `runDeferredSweeps` instead of a sweep thread (the simulator).
    public var deferTruncationSweeps: Bool = false

    public init(storage: StorageOptions, defaultTTLSeconds: UInt32 = 0, forceDurableDeletes: Bool = false,
                indexEntryCountMax: Int = 1 << 24, coldStart: Bool = false, progressIntervalMs: Int = 5000,
                onColdStartProgress: @escaping @Sendable (ColdStartProgress) -> Void = { _ in },
                clockMs: @escaping @Sendable () -> UInt64 = { CitrusleafTime.nowMs() },
                sharedMemory: SharedMemoryOptions? = nil, memory: MemoryStorageMode = .none) {
        self.sharedMemory = sharedMemory
        self.memory = memory
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

/// When and how much the namespace supervisor evicts (`evict-used-pct`, `evict-indexes-memory-pct`,
/// `evict-sys-memory-pct`, `evict-tenths-pct`, `evict-hist-buckets`). A threshold of 0 is off.
public struct EvictionOptions: Sendable, Equatable {
    /// Evict when the devices' live bytes exceed this share of their size (percent; 0 = off).
    public var usedPct: Int = 0
    /// Evict when index entries exceed this share of the index's capacity (percent; 0 = off).
    public var indexesMemoryPct: Int = 0
    /// Evict when the machine's used memory exceeds this share of its memory (percent; 0 = off).
    public var sysMemoryPct: Int = 0
    /// At most this many tenths of a percent of the namespace's records are evicted per cycle.
    public var tenthsPct: Int = 5
    /// Buckets of the void-time histogram each evicting cycle builds.
    public var histBuckets: Int = 10_000
    /// `disable-cold-start-eviction`: a cold start above a threshold evicts nothing.
    public var disableColdStartEviction = false

    public init(usedPct: Int = 0, indexesMemoryPct: Int = 0, sysMemoryPct: Int = 0, tenthsPct: Int = 5,
                histBuckets: Int = 10_000) {
        self.usedPct = usedPct
        self.indexesMemoryPct = indexesMemoryPct
        self.sysMemoryPct = sysMemoryPct
        self.tenthsPct = tenthsPct
        self.histBuckets = histBuckets
    }
}

extension NamespaceOptions {
    /// `evict-used-pct` now (set-config may have changed it).
    public var currentEvictUsedPct: Int { storage.tunables.value(.evictUsedPct, configured: eviction.usedPct) }
    /// `evict-indexes-memory-pct` now.
    public var currentEvictIndexesMemoryPct: Int {
        storage.tunables.value(.evictIndexesMemoryPct, configured: eviction.indexesMemoryPct)
    }
    /// `evict-sys-memory-pct` now.
    public var currentEvictSysMemoryPct: Int { storage.tunables.value(.evictSysMemoryPct, configured: eviction.sysMemoryPct) }
    /// `evict-hist-buckets` now.
    public var currentEvictHistBuckets: Int { storage.tunables.value(.evictHistBuckets, configured: eviction.histBuckets) }
    /// `evict-tenths-pct` now.
    public var currentEvictTenthsPct: Int { storage.tunables.value(.evictTenthsPct, configured: eviction.tenthsPct) }
}
