/// One `namespace NAME { … }` stanza.
///
/// ```
/// namespace test {
///     replication-factor 1         # only 1: Cairn is a single node
///     default-ttl 0                # 0 = never expire; up to 3650d
///     nsup-period 120              # expired-record removal period; 0 = off; up to 1d
///     partition-tree-sprigs 256    # power of two, 16..4096
///     force-durable-deletes false  # every delete writes a tombstone
///     storage-engine device { … }  # required: device or memory
///     set users { … }              # optional, repeatable
/// }
/// ```
///
/// A plain value: any thread may create, copy and read it.
public struct NamespaceConfig: Sendable, Equatable {
    /// The namespace name: 1 to 31 bytes of printable ASCII other than `:`, `;` and `=`.
    public var name: String
    /// `replication-factor`: always 1.
    public var replicationFactor: Int
    /// `default-ttl` in seconds for writes that do not give one; 0 means never expire.
    public var defaultTTLSeconds: Int
    /// `nsup-period` in seconds between expired-record removals; 0 turns them off.
    public var nsupPeriodSeconds: Int
    /// `partition-tree-sprigs`: sprigs per partition, a power of two.
    public var partitionTreeSprigCount: Int
    /// `force-durable-deletes`: treat every delete as a durable delete (write a tombstone).
    public var forceDurableDeletes: Bool
    /// `storage-engine`: where records live.
    public var storage: StorageConfig
    /// `set` stanzas, in file order; sets not listed here get no per-set settings.
    public var sets: [SetConfig]
    /// `default-read-touch-ttl-pct` (Aerospike 7.1+): a read within this percentage of the TTL
    /// of the record's last write before its end of life touches it (resets its TTL); 0 is off.
    public var readTouchTTLPercent: Int
    /// `evict-indexes-memory-pct`: evict when the index holds more than this share of its
    /// capacity; 0 turns it off.
    public var evictIndexesMemoryPct: Int = ConfigLimits.evictMemoryPctDefault
    /// `evict-sys-memory-pct`: evict when the machine's used memory exceeds this share; 0 is off.
    public var evictSysMemoryPct: Int = ConfigLimits.evictMemoryPctDefault
    /// `evict-tenths-pct`: at most this many tenths of a percent of the records per nsup cycle.
    public var evictTenthsPct: Int = ConfigLimits.evictTenthsPctDefault
    /// `evict-hist-buckets`: buckets of the void-time histogram an evicting cycle builds.
    public var evictHistBuckets: Int = ConfigLimits.evictHistBucketsDefault
    /// `disable-cold-start-eviction`: a cold start above an eviction threshold evicts nothing.
    public var disableColdStartEviction = false
    /// `enable-benchmarks-read`: the read sub-phase histograms (`latencies:hist={ns}-benchmarks-read`)
    /// are kept from the start, as `set-config` turns them on later.
    public var enableBenchmarksRead = false
    /// `enable-benchmarks-write`: the write sub-phase histograms, from the start.
    public var enableBenchmarksWrite = false
    /// `enable-benchmarks-udf`: the record-UDF sub-phase histograms, from the start.
    public var enableBenchmarksUDF = false

    /// Makes a namespace; every argument but `name` and `storage` defaults as documented in
    /// `ConfigLimits`.
    public init(
        name: String,
        replicationFactor: Int = 1,
        defaultTTLSeconds: Int = ConfigLimits.defaultTTLSecondsDefault,
        nsupPeriodSeconds: Int = ConfigLimits.nsupPeriodSecondsDefault,
        partitionTreeSprigCount: Int = ConfigLimits.partitionTreeSprigCountDefault,
        forceDurableDeletes: Bool = ConfigLimits.forceDurableDeletesDefault,
        storage: StorageConfig,
        sets: [SetConfig] = [],
        readTouchTTLPercent: Int = 0
    ) {
        self.readTouchTTLPercent = readTouchTTLPercent
        self.name = name
        self.replicationFactor = replicationFactor
        self.defaultTTLSeconds = defaultTTLSeconds
        self.nsupPeriodSeconds = nsupPeriodSeconds
        self.partitionTreeSprigCount = partitionTreeSprigCount
        self.forceDurableDeletes = forceDurableDeletes
        self.storage = storage
        self.sets = sets
    }
}

/// One `set NAME { … }` stanza inside a namespace: the per-set settings Cairn honours.
///
/// ```
/// set users {
///     default-ttl 30d          # overrides the namespace's default-ttl for this set
///     stop-writes-count 1000000  # refuse new records once the set holds this many; 0 = no limit
///     disable-eviction false   # true: the set's records are never evicted
/// }
/// ```
///
/// Aerospike's `enable-index` (no set indexes) and `stop-writes-size` are refused.
public struct SetConfig: Sendable, Equatable {
    /// The set name: 1 to 63 bytes of printable ASCII other than `:`, `;` and `=`.
    public var name: String
    /// `default-ttl` in seconds for writes to this set that give none; `nil` uses the namespace's.
    public var defaultTTLSeconds: Int?
    /// `stop-writes-count`: most records the set may hold before new ones are refused; 0 = no limit.
    public var stopWritesCount: Int
    /// `disable-eviction`: the set's records are never evicted.
    public var disableEviction: Bool

    /// Makes a set section; by default it changes nothing.
    public init(
        name: String,
        defaultTTLSeconds: Int? = nil,
        stopWritesCount: Int = ConfigLimits.stopWritesCountDefault,
        disableEviction: Bool = false
    ) {
        self.disableEviction = disableEviction
        self.name = name
        self.defaultTTLSeconds = defaultTTLSeconds
        self.stopWritesCount = stopWritesCount
    }
}
