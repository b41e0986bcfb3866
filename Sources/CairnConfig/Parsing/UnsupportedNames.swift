/// Aerospike parameters and stanzas Cairn refuses, with the reason the operator is told.
///
/// A configuration copied from Aerospike meets these first; each reason says what to do instead,
/// so a refused line is never a mystery. Nothing is silently ignored: a setting Cairn would not
/// honour must not look as if it were in force.
enum UnsupportedNames {
    /// Single-node wording shared by the clustering settings.
    static let singleNode = "Cairn runs as a single node and does not form clusters: remove it"
    /// Wording shared by the Aerospike 6 eviction parameters.
    static let oldEviction = "an Aerospike 6 eviction parameter: use 'evict-used-pct' in the storage engine, or "
        + "'evict-indexes-memory-pct' / 'evict-sys-memory-pct' in the namespace"

    /// At the top level.
    static let topLevel: [String: String] = [
        "xdr": "cross-datacenter replication is not supported",
        "security": "access control is not supported: Cairn has no users or roles",
    ]

    /// In `mod-lua`.
    static let modLua: [String: String] = [
        "system-path": "Cairn's Lua environment is built in: only 'user-path' is configurable",
        "cache-enabled": "Cairn always caches compiled modules and reloads one when it changes",
    ]

    /// In `service`.
    static let service: [String: String] = [
        "user": "cairnd does not switch users: run it as the user that owns the data (systemd User=)",
        "group": "cairnd does not switch groups: run it as the group that owns the data (systemd Group=)",
        "feature-key-file": "Cairn has no enterprise features and needs no feature key",
        "transaction-queues": "Cairn sizes its threads from the core count",
        "transaction-threads-per-queue": "Cairn sizes its threads from the core count",
        "paxos-single-replica-limit": singleNode,
        "run-as-daemon": "cairnd stays in the foreground; 'cairnctl start' or systemd runs it in the background",
        "nsup-period": "'nsup-period' is a namespace parameter",
        "proto-fd-idle-ms": "idle client connections are not reaped",
        "enable-benchmarks-fabric": "Cairn runs as a single node: there is no fabric to time",
    ]

    /// In `logging`.
    static let logging: [String: String] = [
        "syslog": "syslog sinks are not supported: use 'console' (journald collects it) or 'file'"
    ]

    /// In `network`.
    static let network: [String: String] = [
        "heartbeat": singleNode,
        "fabric": singleNode,
        "tls": "TLS is not supported",
        "admin": "the admin port is not supported",
    ]

    /// In `network service` and `network info`.
    static let endpoint: [String: String] = [
        "access-address": "Cairn advertises the address it listens on",
        "alternate-access-address": "Cairn advertises the address it listens on",
        "access-port": "Cairn advertises the port it listens on",
        "alternate-access-port": "Cairn advertises the port it listens on",
        "tls-address": "TLS is not supported",
        "tls-port": "TLS is not supported",
        "tls-name": "TLS is not supported",
        "tls-authenticate-client": "TLS is not supported",
    ]

    /// In `namespace`.
    static let namespace: [String: String] = [
        "memory-size": "an Aerospike 6 parameter: use 'storage-engine memory { data-size … }' for data in memory",
        "data-in-memory": "an Aerospike 6 parameter: use 'storage-engine memory' for data in memory",
        "strong-consistency": singleNode,
        "allow-ttl-without-nsup": "not needed: Cairn accepts a 'default-ttl' with 'nsup-period 0'",
        "index-type": "the index always lives in shared memory under the service's 'shm-directory'",
        "sindex-type": "secondary indexes are not supported",
        "high-water-disk-pct": oldEviction,
        "high-water-memory-pct": oldEviction,
        "evict-used-pct": "'evict-used-pct' belongs to the 'storage-engine device' stanza",
        "stop-writes-pct": "use the storage engine's 'stop-writes-avail-pct'",
        "single-bin": "records always have named bins",
        "conflict-resolution-policy": singleNode,
        "rack-id": singleNode,
        // Cairn keeps the read, write and udf groups (accepted); these time work it does not do apart.
        "enable-benchmarks-batch-sub": "batch rows are not timed by phase",
        "enable-benchmarks-ops-sub": "the records of a background scan are not timed by phase",
        "enable-benchmarks-udf-sub": "the records of a background scan are not timed by phase",
    ]

    /// `enable-benchmarks-storage`, refused in either storage engine.
    static let storageBenchmarks = "device I/O is not timed by phase"

    /// In `storage-engine device`.
    static let deviceStorage: [String: String] = [
        "flush-size": "Cairn writes whole write blocks: use 'write-block-size'",
        "direct-files": "Cairn always writes files with O_DIRECT",
        "disable-odsync": "use 'commit-to-device false' for asynchronous writes",
        "data-in-memory": "use 'storage-engine memory' for data in memory",
        "min-avail-pct": "use 'stop-writes-avail-pct'",
        "max-used-pct": "use 'stop-writes-avail-pct'",
        "stop-writes-used-pct": "use 'stop-writes-avail-pct'",
        "defrag-queue-min": "Cairn defragments every queued block",
        "defrag-startup-minimum": "Cairn does not wait for defragmentation at startup",
        "compression": "compression is not supported",
        "encryption": "encryption at rest is not supported",
        "encryption-key-file": "encryption at rest is not supported",
        "scheduler-mode": "set the I/O scheduler through the operating system",
        "data-size": "'data-size' belongs to 'storage-engine memory'",
        "enable-benchmarks-storage": storageBenchmarks,
    ]

    /// In `storage-engine memory`: the device engine's tuning does not apply here.
    static let memoryStorage: [String: String] = {
        var names: [String: String] = [
            "stop-writes-used-pct": "not supported for memory namespaces",
            "compression": "compression is not supported",
            "encryption": "encryption at rest is not supported",
            "flush-size": "not supported for memory namespaces",
            "enable-benchmarks-storage": storageBenchmarks,
        ]
        let deviceOnly = [
            "write-block-size", "flush-max-ms", "commit-to-device", "defrag-lwm-pct", "defrag-sleep",
            "max-write-cache", "post-write-cache", "post-write-queue", "stop-writes-avail-pct", "cold-start-empty",
            "read-page-cache", "fill-page-cache",
        ]
        for name in deviceOnly {
            names[name] = "in Cairn '\(name)' applies to 'storage-engine device' only"
        }
        return names
    }()

    /// In `set`.
    static let set: [String: String] = [
        "enable-index": "set indexes are not supported",
        "stop-writes-size": "use 'stop-writes-count'",
    ]
}
