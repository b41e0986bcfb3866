/// Defaults, allowed ranges and hard limits of every configuration parameter, in one place.
///
/// The parser checks values against these ranges, the typed sections use the defaults as the
/// default arguments of their initialisers, and `docs/configuration.md` documents the same
/// numbers. Other modules may use the ranges as preconditions (a write-block size outside
/// `writeBlockSizeBytesRange` is a bug once a configuration has been parsed).
///
/// Names carry their unit last (`…Bytes`, `…Seconds`, `…Ms`, `…Us`, `…Pct`).
public enum ConfigLimits {
    // MARK: Sizes used below

    /// 1 KiB: the `K` size suffix.
    public static let kibibyte = 1 << 10
    /// 1 MiB: the `M` size suffix.
    public static let mebibyte = 1 << 20
    /// 1 GiB: the `G` size suffix.
    public static let gibibyte = 1 << 30
    /// 1 TiB: the `T` size suffix.
    public static let tebibyte = 1 << 40

    // MARK: The file itself

    /// Largest configuration text accepted, in bytes. A real config is a few KiB.
    public static let fileSizeBytesMax = 1 << 20
    /// Longest line accepted, in bytes (without its line break).
    public static let lineLengthBytesMax = 4096
    /// Deepest nesting of `{ … }` stanzas accepted; Cairn's own grammar needs 2.
    public static let stanzaDepthMax = 8

    // MARK: service

    /// `work-directory` when the service stanza does not set one (like Aerospike's /opt/aerospike).
    public static let workDirectoryDefault = "/opt/cairn"
    /// `shm-directory` default: where the shared-memory index segments live.
    public static let shmDirectoryDefault = "/dev/shm"
    /// `proto-fd-max` default: most client connections open at once (Aerospike's default).
    public static let protoFDCountMaxDefault = 15_000
    /// `proto-fd-max` allowed range.
    public static let protoFDCountMaxRange = 64...1_048_576
    /// `default-read-touch-ttl-pct` allowed range (0 turns it off).
    public static let readTouchTTLPercentRange = 0...100
    /// `service-threads` allowed range.
    public static let serviceThreadsRange = 1...256
    /// Longest `cluster-name`, in bytes (Aerospike's limit).
    public static let clusterNameBytesMax = 63

    // MARK: network

    /// `port` of `network service` when not given (Aerospike's service port).
    public static let servicePortDefault: UInt16 = 3000
    /// `address` of a network endpoint when not given: every interface, as in Aerospike.
    public static let addressDefault = "any"

    // MARK: namespace

    /// Most namespaces in one configuration (Aerospike's limit).
    public static let namespaceCountMax = 32
    /// Longest namespace name, in bytes (Aerospike's limit).
    public static let namespaceNameBytesMax = 31
    /// `replication-factor`: Cairn runs as a single node, so only 1 is accepted.
    public static let replicationFactorRange = 1...1
    /// `default-ttl` default: 0 means records never expire.
    public static let defaultTTLSecondsDefault = 0
    /// `default-ttl` range: 0 (never expire) up to ten years, Aerospike's limit.
    public static let defaultTTLSecondsRange = 0...(3650 * 86_400)
    /// `nsup-period` default: expired records are removed every 120 s.
    public static let nsupPeriodSecondsDefault = 120
    /// `nsup-period` range: 0 turns the background removal off (expired records stay invisible).
    public static let nsupPeriodSecondsRange = 0...86_400
    /// `partition-tree-sprigs` default.
    public static let partitionTreeSprigCountDefault = 256
    /// `partition-tree-sprigs` range; the value must also be a power of two.
    public static let partitionTreeSprigCountRange = 16...4096
    /// `force-durable-deletes` default.
    public static let forceDurableDeletesDefault = false
    /// `evict-indexes-memory-pct` and `evict-sys-memory-pct` default: 0 (off).
    public static let evictMemoryPctDefault = 0
    /// `evict-indexes-memory-pct` and `evict-sys-memory-pct` range (0 = off).
    public static let evictMemoryPctRange = 0...100
    /// `evict-tenths-pct` default: at most 0.5 % of the records per cycle (Aerospike's default).
    public static let evictTenthsPctDefault = 5
    /// `evict-tenths-pct` range, in tenths of a percent (1000 = every record).
    public static let evictTenthsPctRange = 0...1000
    /// `evict-hist-buckets` default (Aerospike's default).
    public static let evictHistBucketsDefault = 10_000
    /// `evict-hist-buckets` range (Aerospike's).
    public static let evictHistBucketsRange = 100...10_000_000

    // MARK: storage-engine device

    /// Most `device` or `file` lines in one storage engine (Aerospike's limit).
    public static let storagePathCountMax = 128
    /// `filesize` range (Aerospike's: at least 128 MiB, at most 2 TiB).
    public static let fileSizeBytesRange = (128 * mebibyte)...(2 * tebibyte)
    /// `write-block-size` default.
    public static let writeBlockSizeBytesDefault = 1 * mebibyte
    /// `write-block-size` range; the value must also be a power of two.
    public static let writeBlockSizeBytesRange = (128 * kibibyte)...(8 * mebibyte)
    /// `flush-max-ms` default: a partly filled write buffer is written at least every second.
    public static let flushMaxMsDefault = 1000
    /// `flush-max-ms` range. Unlike Aerospike, 0 ("never") is refused: it would leave
    /// acknowledged writes in memory for an unbounded time.
    public static let flushMaxMsRange = 1...10_000
    /// `commit-to-device` default.
    public static let commitToDeviceDefault = false
    /// `defrag-lwm-pct` default: blocks less than half full are defragmented.
    public static let defragLWMPctDefault = 50
    /// `defrag-lwm-pct` range.
    public static let defragLWMPctRange = 1...99
    /// `defrag-sleep` default, in microseconds between defragmented blocks.
    public static let defragSleepUsDefault = 1000
    /// `defrag-sleep` range, in microseconds.
    public static let defragSleepUsRange = 0...1_000_000
    /// `max-write-cache` default: bytes that may wait for the device, per device.
    public static let writeCacheBytesMaxDefault = 64 * mebibyte
    /// `max-write-cache` range; the lower bound holds at least one block of the largest size.
    public static let writeCacheBytesMaxRange = (8 * mebibyte)...(1 * tebibyte)
    /// `post-write-cache` default: recently written bytes kept for reads, per device
    /// (Aerospike 7.1's default).
    public static let postWriteCacheBytesDefault = 256 * mebibyte
    /// `post-write-cache` range; 0 turns the cache off.
    public static let postWriteCacheBytesRange = 0...(64 * gibibyte)
    /// `post-write-queue` (Aerospike before 7.1: the same cache in write blocks) range.
    public static let postWriteQueueBlocksRange = 0...4096
    /// `stop-writes-avail-pct` default: writes stop when less than 5 % of the space is free.
    public static let stopWritesAvailPctDefault = 5
    /// `stop-writes-avail-pct` range (100 would refuse every write).
    public static let stopWritesAvailPctRange = 0...99
    /// `evict-used-pct` default: 0 (no eviction on device use).
    public static let evictUsedPctDefault = 0
    /// `evict-used-pct` range (0 = off).
    public static let evictUsedPctRange = 0...100

    // MARK: storage-engine memory

    /// `data-size` range.
    public static let dataSizeBytesRange = (16 * mebibyte)...(16 * tebibyte)

    // MARK: set

    /// Most `set` stanzas in one namespace.
    public static let setCountMax = 1023
    /// Longest set name, in bytes (Aerospike's limit).
    public static let setNameBytesMax = 63
    /// `stop-writes-count` default: 0 means no limit.
    public static let stopWritesCountDefault = 0
    /// `stop-writes-count` range.
    public static let stopWritesCountRange = 0...Int.max

    // MARK: logging

    /// Most `file` sinks in the logging stanza.
    public static let logFileSinkCountMax = 16
}
