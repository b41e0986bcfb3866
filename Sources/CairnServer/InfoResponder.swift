import CairnEngine
import CairnIndex
import CairnWire
import Logging

/// Answers info commands (PROTOCOL.md §2, §10, §11.2) for a single node that owns all 4096
/// partitions of every namespace.
///
/// A value made per request on the thread pool (truncation and set statistics touch the engine).
/// Identity answers (`node`, `build`, generations, peers, replicas) are constant for the life of
/// the process, as clients require (§2.3 step 5, §2.8).
struct InfoResponder {
    let context: ServerContext
    let logger: Logger

    /// `partition-generation`, `peers-generation`, `rebalance-generation`: never change on a
    /// single node, and never -1 (§2.8).
    static let generation = "1"
    /// The `features` list: the real server's names, only for what Cairn implements (§2.7).
    /// Not named until they work: cdt-index (queries on context indexes),
    /// relaxed-sc, replicas-max.
    static let features =
        "batch-any;batch-index;blob-bits;cdt-list;cdt-map;cluster-stable;float;geo;hll;peers;pipelining;pquery;pscans;query-show;replicas;replicas-all;replicas-master;sindex-exists;truncate-namespace;udf"
    /// The commands `help` lists (every command `value(for:)` answers).
    static let helpCommands = [
        "build", "cluster-generation", "cluster-name", "cluster-size", "cluster-stable", "edition", "features",
        "get-config", "get-stats", "health-outliers", "health-stats", "help", "histogram", "latencies", "latency", "log", "log-rotate", "log-set", "logs", "namespace", "namespaces", "node", "partition-generation", "partition-info", "partitions", "peers-clear-alt",
        "peers-clear-std", "peers-generation", "peers-tls-alt", "peers-tls-std", "query-abort", "query-abort-all", "query-show", "rack-ids", "rebalance-generation", "best-practices",
        "release", "replicas", "replicas-all", "replicas-master", "service", "service-clear-alt", "service-clear-std",
        "service-tls-alt", "service-tls-std", "services", "services-alternate", "services-alumni", "set-config", "sets", "sindex", "sindex-create", "sindex-delete", "sindex-exists", "sindex-list", "sindex-stat", "statistics",
        "status", "truncate", "truncate-namespace", "truncate-namespace-undo", "truncate-undo", "udf-get", "udf-list", "udf-put", "udf-remove", "user-agent-set", "version",
    ]
    /// Number of partitions of a namespace (§4.4).
    static let partitionCount = Digest.partitionCount
    /// `replicas` bitmap of a node owning every partition: 512 bytes of ones, base64 (§2.5).
    static let ownedPartitionsBitmap = InfoText.base64([UInt8](repeating: 0xFF, count: partitionCount / 8))
    /// Commands answered for an empty request, in the real server's order (§2.1).
    static let summaryCommands = [
        "features", "node", "edition", "build", "version", "statistics", "services-alumni", "services",
        "partition-generation",
    ]

    /// One answer per request line, in request order; the summary for an empty request.
    func answers(for request: InfoRequest) -> [InfoAnswer] {
        let commands = request.isSummary ? Self.summaryCommands.map { InfoCommand(line: $0) } : request.commands
        return commands.map { command in
            InfoAnswer(line: command.line, value: InfoText.safe(value(for: command)))
        }
    }

    /// The value for one command.
    func value(for command: InfoCommand) -> String {
        let configuration = context.configuration
        switch command.name {
        case "node":
            return configuration.nodeName
        case "build":
            return configuration.buildVersion
        case "version":
            return "\(configuration.edition) build \(configuration.buildVersion)"
        case "edition":
            return configuration.edition
        case "release":
            return InfoText.pairs([
                "edition": configuration.edition, "version": configuration.buildVersion, "os": "linux",
                "arch": Self.architecture, "sha": "cairn-\(configuration.cairnVersion)",
            ])
        case "status", "STATUS":
            return InfoReply.ok
        case "partition-generation", "peers-generation", "rebalance-generation", "cluster-generation":
            return Self.generation
        case "cluster-name":
            return configuration.clusterName ?? "null"
        case "cluster-size", "cluster_size":
            return "1"
        case "service", "service-clear-std":
            return serviceEndpoint
        case "services", "services-alumni", "services-alternate", "service-clear-alt", "service-tls-std", "service-tls-alt":
            // Other nodes (none), alternate addresses (none configured) and TLS (none): empty.
            return ""
        case "peers-clear-std", "peers-clear-alt", "peers-tls-std", "peers-tls-alt":
            return "\(Self.generation),\(context.boundPort),[]"
        case "partitions":
            return "\(Self.partitionCount)"
        case "replicas":
            return context.namespaceNames.map { "\($0):0,1,\(Self.ownedPartitionsBitmap)" }.joined(separator: ";")
        case "replicas-all":
            return context.namespaceNames.map { "\($0):1,\(Self.ownedPartitionsBitmap)" }.joined(separator: ";")
        case "replicas-master":
            return context.namespaceNames.map { "\($0):\(Self.ownedPartitionsBitmap)" }.joined(separator: ";")
        case "rack-ids":
            return context.namespaceNames.map { "\($0):0" }.joined(separator: ";")
        case "user-agent-set":
            return InfoReply.ok
        case "cluster-stable":
            return clusterStable(command)
        case "features":
            return Self.features
        case "best-practices":
            return Self.bestPractices()
        case "help":
            return Self.helpCommands.joined(separator: ";")
        case "namespaces":
            return context.namespaceNames.joined(separator: ";")
        case "namespace":
            return namespaceStatistics(command)
        case "sets":
            return setStatistics(command)
        case "statistics":
            return statistics()
        case "truncate":
            return truncate(command, isNamespaceCommand: false)
        case "truncate-namespace":
            return truncate(command, isNamespaceCommand: true)
        case "query-show":
            return queryShow(command)
        case "query-abort":
            return queryAbort(command)
        case "query-abort-all":
            return "number-of-queries-killed:\(context.backgroundQueries.abortAll())"
        case "truncate-undo", "truncate-namespace-undo":
            return InfoReply.errorValue(.unsupportedFeature, message: "truncation is durable and cannot be undone")
        case "get-config":
            return configurationValue(command)
        case "set-config", "config-set":
            return RuntimeControl(context: context, logger: logger).setConfig(command)
        case "logs":
            return RuntimeControl(context: context, logger: logger).logs()
        case "log":
            return RuntimeControl(context: context, logger: logger).logLevels(command)
        case "log-set":
            return RuntimeControl(context: context, logger: logger).logSet(command)
        case "log-rotate":
            return RuntimeControl(context: context, logger: logger).logRotate()
        case "partition-info":
            return partitionInfo()
        case "histogram":
            return InfoHistograms.value(command, context: context)
        case "latencies":
            return context.latencies.latenciesValue(histogram: command.parameter("hist"))
        case "latency":
            return context.latencies.legacyLatencyValue(histogram: command.parameter("hist"))
        case "sindex-create":
            return SecondaryIndexInfo(context: context).create(command)
        case "sindex-delete":
            return SecondaryIndexInfo(context: context).delete(command)
        case "sindex-exists":
            return SecondaryIndexInfo(context: context).exists(command)
        case "sindex-list":
            return SecondaryIndexInfo(context: context).list(command)
        case "sindex-stat":
            return SecondaryIndexInfo(context: context).stat(command)
        case "sindex":
            return SecondaryIndexInfo(context: context).legacy(command)
        case "health-outliers", "health-stats":
            // Aerospike's outlier detection, off unless `enable-health-check` is true: a CE 8.1
            // server with it off answers both with nothing. Cairn has no detector (and no peers to
            // compare), so it answers as such a server.
            return ""
        case "get-stats":
            return getStats(command)
        case "udf-put", "udf-get", "udf-list", "udf-remove":
            return UDFInfo(context: context, logger: logger).value(command)
        default:
            return InfoReply.unrecognizedCommand
        }
    }

    #if arch(x86_64)
    static let architecture = "x86_64"
    #elseif arch(arm64)
    static let architecture = "aarch64"
    #else
    static let architecture = "unknown"
    #endif

    // MARK: - Cluster

    /// `cluster-stable[:size=n;ignore-migrations=…;namespace=ns]` → the cluster key (§2.3).
    private func clusterStable(_ command: InfoCommand) -> String {
        if let namespace = command.parameter("namespace"), context.namespaces[namespace] == nil {
            return InfoReply.errorValue(.namespaceNotFound, message: "unknown namespace \(namespace)")
        }
        if let size = command.parameter("size"), size != "1" {
            return InfoReply.errorValue(.serverError, message: "cluster size is 1, not \(size)")
        }
        return String(context.configuration.nodeID, radix: 16, uppercase: true)
    }

    // MARK: - Partitions

    /// The `partition-info` header: Aerospike's columns up to the record counts (asadm's
    /// `show pmap` finds its columns by these names).
    static let partitionInfoHeader =
        "namespace:partition:state:n_replicas:replica:n_dupl:working_master:emigrates:lead_emigrates:immigrates:records:tombstones"

    /// `partition-info`: the header, then one row per partition of every namespace, `;`-separated.
    /// This node is every partition's only replica and its working master, in state S (synced),
    /// with nothing migrating; records and tombstones are counted by walking the index (so the
    /// command runs on the thread pool).
    private func partitionInfo() -> String {
        let node = context.configuration.nodeName
        var rows = [Self.partitionInfoHeader]
        rows.reserveCapacity(1 + context.namespaceNames.count * Self.partitionCount)
        for name in context.namespaceNames {
            guard let namespace = context.namespaces[name] else { continue }
            var records = [Int](repeating: 0, count: Self.partitionCount)
            var tombstones = [Int](repeating: 0, count: Self.partitionCount)
            namespace.forEachIndexEntry { record in
                if record.flags.contains(.tombstone) {
                    tombstones[record.digest.partitionID] += 1
                } else {
                    records[record.digest.partitionID] += 1
                }
            }
            for partition in 0..<Self.partitionCount {
                rows.append("\(name):\(partition):S:1:0:0:\(node):0:0:0:\(records[partition]):\(tombstones[partition])")
            }
        }
        return rows.joined(separator: ";")
    }

    // MARK: - Statistics

    /// `statistics`: node-wide counters (§2.6).
    private func statistics() -> String {
        let counters = context.counters
        var objects = 0
        var tombstones = 0
        for name in context.namespaceNames {
            guard let namespace = context.namespaces[name] else { continue }
            let statistics = namespace.statistics
            objects += statistics.objects
            tombstones += statistics.tombstones
        }
        return InfoText.pairs([
            ("cluster_size", "1"),
            ("cluster_key", String(context.configuration.nodeID, radix: 16, uppercase: true)),
            ("cluster_integrity", "true"),
            ("cluster_is_member", "true"),
            ("cluster_name", context.configuration.clusterName ?? "null"),
            ("uptime", "\(context.uptimeSeconds)"),
            ("objects", "\(objects)"),
            ("tombstones", "\(tombstones)"),
            ("client_connections", "\(context.connections.count)"),
            ("client_connections_opened", "\(counters.connectionsOpened.load(ordering: .relaxed))"),
            ("client_connections_refused", "\(counters.connectionsRefused.load(ordering: .relaxed))"),
            ("info_requests", "\(counters.infoRequests.load(ordering: .relaxed))"),
            ("transactions", "\(counters.transactions.load(ordering: .relaxed))"),
            ("transaction_errors", "\(counters.transactionErrors.load(ordering: .relaxed))"),
            ("batch_index_initiate", "\(counters.batchRequests.load(ordering: .relaxed))"),
            ("scans", "\(counters.scanRequests.load(ordering: .relaxed))"),
            ("scan_records", "\(counters.scanRecords.load(ordering: .relaxed))"),
            ("scan_records_unreadable", "\(counters.scanRecordsSkippedUnreadable.load(ordering: .relaxed))"),
            ("malformed_requests", "\(counters.malformedRequests.load(ordering: .relaxed))"),
            ("transactions_inline", "\(counters.transactionsInline.load(ordering: .relaxed))"),
            ("transactions_resumed", "\(counters.transactionsResumed.load(ordering: .relaxed))"),
            ("transactions_off_thread", "\(counters.transactionsOffThread.load(ordering: .relaxed))"),
            ("thread_pool_jobs", "\(counters.threadPoolJobs.load(ordering: .relaxed))"),
            ("frames_refused", "\(counters.framesRefused.load(ordering: .relaxed))"),
            ("cairn_version", context.configuration.cairnVersion),
            // One node: it is its own principal, nothing migrates, no clock can skew.
            ("paxos_principal", String(context.configuration.nodeID, radix: 16, uppercase: true)),
            ("cluster_principal", String(context.configuration.nodeID, radix: 16, uppercase: true)),
            ("migrate_allowed", "true"),
            ("migrate_partitions_remaining", "0"),
            ("cluster_clock_skew_ms", "0"),
            ("cluster_clock_skew_stop_writes_sec", "0"),
            ("system_free_mem_pct", SystemMemory.usedPct().map { "\(Int((100 - $0).rounded(.down)))" } ?? "0"),
        ] + Self.clusterTrafficStatistics)
    }

    /// Aerospike's counts of heartbeat and fabric (node-to-node) connections and heartbeats
    /// received: Cairn opens no such connection and sends or receives no heartbeat, so each count
    /// is 0, and stays 0.
    static let clusterTrafficStatistics: [(String, String)] = [
        "heartbeat_connections", "heartbeat_connections_opened", "heartbeat_connections_closed",
        "fabric_connections", "fabric_connections_opened", "fabric_connections_closed",
        "heartbeat_received_self", "heartbeat_received_foreign",
    ].map { ($0, "0") }

    /// `get-stats:context=xdr[;dc=…]`: XDR's statistics. CE 8.1 has no XDR and answers nothing
    /// for the `xdr` context; any other context, or none, is an error, in the server's words.
    private func getStats(_ command: InfoCommand) -> String {
        guard let context = command.parameter("context") else {
            return InfoReply.errorValue(.parameter, message: "missing 'context'")
        }
        if context.isEmpty { return InfoReply.errorValue(.parameter, message: "missing 'context' value") }
        return context == "xdr" ? "" : InfoReply.errorValue(.parameter, message: "unknown context")
    }

    /// `service` / `service-clear-std`: `<address>:<port>` where this node serves clients, as
    /// asadm reads it; empty when the service listens on a wildcard address (clients keep using
    /// the address they connected to).
    private var serviceEndpoint: String {
        let host = context.configuration.host
        if ["", "any", "0.0.0.0", "::", "[::]"].contains(host) { return "" }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return (bare.contains(":") ? "[\(bare)]" : bare) + ":\(context.boundPort)"
    }

    /// `best-practices`: `failed_best_practices=none`, or the names of the operating-system
    /// settings Aerospike's checks (of the same names) would find wrong on this machine, read
    /// from /proc and /sys at each request.
    static func bestPractices() -> String {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var failed: [String] = []
        // Transparent huge pages: "[never]" (or madvise) is the setting asked for.
        if let thp = read("/sys/kernel/mm/transparent_hugepage/enabled"), thp.contains("[always]") { failed.append("thp-enabled") }
        if let defrag = read("/sys/kernel/mm/transparent_hugepage/defrag"), defrag.contains("[always]") { failed.append("thp-defrag") }
        if let swappiness = read("/proc/sys/vm/swappiness").flatMap(Int.init), swappiness > 0 { failed.append("swappiness") }
        if let zone = read("/proc/sys/vm/zone_reclaim_mode").flatMap(Int.init), zone != 0 { failed.append("zone-reclaim-mode") }
        return "failed_best_practices=" + (failed.isEmpty ? "none" : failed.joined(separator: ","))
    }

    /// `namespace/<ns>`: the namespace's statistics and configuration (§2.6).
    private func namespaceStatistics(_ command: InfoCommand) -> String {
        guard let name = command.arguments.first, let namespace = context.namespaces[name] else {
            return "type=unknown"
        }
        let statistics = namespace.statistics
        let usedBytes = statistics.liveBytes
        let totalBytes = statistics.deviceTotalBytes
        let freePercent = totalBytes == 0 ? 0 : 100 - min(100, usedBytes * 100 / totalBytes)
        let space = statistics.space
        let eviction = namespace.evictionStatistics
        let background = context.backgroundQueries.statistics(namespace: name)
        return InfoText.pairs([
            ("ns_cluster_size", "1"),
            ("effective_replication_factor", "1"),
            ("objects", "\(statistics.objects)"),
            ("tombstones", "\(statistics.tombstones)"),
            ("master_objects", "\(statistics.objects)"),
            ("master_tombstones", "\(statistics.tombstones)"),
            ("prole_objects", "0"),
            ("prole_tombstones", "0"),
            ("non_replica_objects", "0"),
            ("stop_writes", "\(space.stopWrites)"),
            ("device_available_pct", "\(space.deviceAvailablePct)"),
            ("device_record_reads", "\(statistics.deviceReads)"),
            ("device_record_reads_at_once", "\(statistics.deviceReadsAtOnce)"),
            ("read_touch_count", "\(statistics.readTouches)"),
            ("updates_without_read", "\(statistics.updatesWithoutRead)"),
            ("data_avail_pct", "\(space.deviceAvailablePct)"),
            ("defrag_q", "\(space.defragQueue)"),
            ("defrag_reads", "\(space.blocksDefragged)"),
            ("defrag_records_rewritten", "\(space.recordsRewritten)"),
            ("defrag_bytes_rewritten", "\(space.defragBytesRewritten)"),
            ("device_bytes_written", "\(space.deviceBytesWritten)"),
            ("device_block_writes", "\(space.deviceBlockWrites)"),
            ("device_partial_writes", "\(space.devicePartialWrites)"),
            ("commit_waits_served", "\(space.commitWaitsServed)"),
            ("device_syncs", "\(space.deviceSyncs)"),
            ("device_unflushed_bytes", "\(space.deviceUnflushedBytes)"),
            ("free_wblocks", "\(space.freeBlocks)"),
            ("pending_free_wblocks", "\(space.pendingFreeBlocks)"),
            ("post_write_cache_hits", "\(space.postWriteCacheHits)"),
            ("page_cache_fills", "\(space.pageCacheFills)"),
            ("expired_objects", "\(space.expiredRemoved)"),
            ("evicted_objects", "\(eviction.evictedObjects)"),
            ("hwm_breached", "\(eviction.hwmBreached)"),
            ("evict_ttl", "\(eviction.evictTTL)"),
            ("evict_void_time", "\(eviction.evictVoidTime)"),
            ("nsup_cycle_duration", "\(eviction.lastCycleDurationMs)"),
            ("nsup_cycle_deleted_pct", String(format: "%.3f", eviction.lastCycleDeletedPct)),
            ("tombstones_dropped", "\(space.tombstonesDropped)"),
            ("device_total_bytes", "\(totalBytes)"),
            ("device_used_bytes", "\(usedBytes)"),
            ("device_free_pct", "\(freePercent)"),
            ("data_total_bytes", "\(totalBytes)"),
            ("data_used_bytes", "\(usedBytes)"),
            ("index_used_entries", "\(namespace.indexEntryCount)"),
            ("set_count", "\(namespace.allSets.count)"),
            ("truncate_lut", "\(namespace.namespaceTruncateLutMs)"),
            ("start_mode", statistics.startMode.rawValue),
            ("start_ms", "\(Int(statistics.startSeconds * 1000))"),
            ("cache_read_pct", "\(Self.cacheReadPercent(hits: UInt64(space.postWriteCacheHits), deviceReads: statistics.deviceReads))"),
            // One node owns every partition: none is dead, unavailable or migrating.
            ("dead_partitions", "0"),
            ("unavailable_partitions", "0"),
            ("migrate_tx_partitions_remaining", "0"),
            ("migrate_rx_partitions_remaining", "0"),
            ("migrate_tx_partitions_active", "0"),
            ("migrate_rx_partitions_active", "0"),
            ("non_replica_tombstones", "0"),
            ("clock_skew_stop_writes", "false"),
            ("data_used_pct", "\(totalBytes == 0 ? 0 : min(100, usedBytes * 100 / totalBytes))"),
            // The primary index: 64-byte entries, in shared memory when the namespace has it.
            ("index-type", namespace.options.sharedMemory == nil ? "memory" : "shmem"),
            ("index_used_bytes", "\(namespace.indexEntryCount * 64)"),
            ("indexes-memory-budget", "0"),
            ("indexes_memory_used_pct", "0"),
            // No secondary or set indexes.
            ("sindex-type", "shmem"),
            ("sindex_used_bytes", "0"),
            ("set_index_used_bytes", "0"),
        ] + Self.deviceStatistics(namespace, space) + clientStatistics(name) + Self.absentFeatureStatistics + Self.migrationStatistics + (context.latencies.batchSubOutcomes(namespace: name) + context.latencies.piQueryStatistics(namespace: name, opsBackground: background.ops.pi, udfBackground: background.udf.pi) + context.latencies.siQueryStatistics(namespace: name, opsBackground: background.ops.si, udfBackground: background.udf.si)).map { ($0.0, "\($0.1)") } + Self.namespaceConfiguration(namespace, latencies: context.latencies))
    }

    /// Each device's statistics under Aerospike's names: `storage-engine.file[i].<name>` for a
    /// namespace of files, `storage-engine.device[i].<name>` for one of block devices (a
    /// namespace has one kind), `i` the device's place in configuration order, from the same
    /// reading as the namespace's totals. `used_bytes` is the live record bytes, `free_wblocks`
    /// the free and never-written blocks, `write_q` the full blocks waiting for the flusher,
    /// `writes` and `partial_writes` the blocks written whole and the partial flushes,
    /// `defrag_q` the blocks queued for defrag and `defrag_reads` those it emptied, and
    /// `read_errors` the record reads that failed for good (an I/O error, or a copy that fails
    /// its checks). Aerospike's `defrag_writes`, `defrag_partial_writes` and `age` are not
    /// given: defrag's writes share the clients' write blocks, and NVMe wear is not read.
    static func deviceStatistics(_ namespace: Namespace, _ space: SpaceStatistics) -> [(String, String)] {
        let kind = namespace.options.storage.devices.first?.fileSizeBytes != nil ? "file" : "device"
        var pairs: [(String, String)] = []
        for (i, device) in space.devices.enumerated() {
            let tag = "storage-engine.\(kind)[\(i)]"
            pairs += [
                ("\(tag).used_bytes", "\(device.liveBytes)"),
                ("\(tag).free_wblocks", "\(device.availableBlocks)"),
                ("\(tag).write_q", "\(device.writeQueue)"),
                ("\(tag).writes", "\(device.writer.fullWrites)"),
                ("\(tag).partial_writes", "\(device.writer.partialWrites)"),
                ("\(tag).defrag_q", "\(device.defragQueue)"),
                ("\(tag).defrag_reads", "\(device.defrag.blocksDefragged)"),
                ("\(tag).read_errors", "\(device.readErrors)"),
            ]
        }
        return pairs
    }

    /// Aerospike's other migration counters of a namespace: one node owns every partition, so no
    /// partition or record is ever sent or received and each is 0 (the `_remaining` and `_active`
    /// ones are listed above).
    static let migrationStatistics: [(String, String)] = [
        "migrate_tx_partitions_imbalance", "migrate_tx_instances", "migrate_rx_instances",
        "migrate_tx_partitions_initial", "migrate_tx_partitions_lead_remaining", "migrate_rx_partitions_initial",
        "migrate_records_skipped", "migrate_records_transmitted", "migrate_record_retransmits",
        "migrate_record_receives", "migrate_records_unreadable", "migrate_signals_active",
        "migrate_signals_remaining", "migrate_fresh_partitions",
    ].map { ($0, "0") }

    /// Aerospike's namespace counters of what Cairn does not do or does not count, all 0:
    /// proxying (one node owns every partition), transaction-service timeouts (Cairn times no
    /// transaction out), key-busy refusals (no transaction queue per key); and the Lua-level
    /// outcomes of UDFs (`client_lang_*`, and the batch rows' `udf_sub_*`), which Cairn does not
    /// count apart yet (the record UDFs themselves are `client_udf_*`, from the udf histogram).
    static let absentFeatureStatistics: [(String, String)] = {
        var names = ["client_tsvc_error", "client_tsvc_timeout", "client_proxy_complete", "client_proxy_error",
                     "client_proxy_timeout", "client_lang_read_success", "client_lang_write_success",
                     "client_lang_delete_success", "client_lang_error", "batch_sub_tsvc_error", "batch_sub_tsvc_timeout",
                     "batch_sub_proxy_complete", "batch_sub_proxy_error", "batch_sub_proxy_timeout", "fail_key_busy"]
        names += ["udf_sub_tsvc_error", "udf_sub_tsvc_timeout", "udf_sub_udf_complete", "udf_sub_udf_error",
                  "udf_sub_udf_timeout", "udf_sub_udf_filtered_out", "udf_sub_lang_read_success",
                  "udf_sub_lang_write_success", "udf_sub_lang_delete_success", "udf_sub_lang_error"]
        return names.map { ($0, "0") }
    }()

    /// Share of reads that needed a device copy served from the post-write cache (Aerospike's
    /// `cache_read_pct`), whole percent.
    static func cacheReadPercent(hits: UInt64, deviceReads: UInt64) -> UInt64 {
        let reads = hits + deviceReads
        return reads == 0 ? 0 : hits * 100 / reads
    }

    /// Aerospike's `client_read_*`, `client_write_*` and `client_delete_*` counters
    /// (``LatencyBook/clientOutcomes(namespace:)``), and their timeouts: 0, as Cairn never times a
    /// transaction out.
    private func clientStatistics(_ name: String) -> [(String, String)] {
        guard let outcomes = context.latencies.clientOutcomes(namespace: name) else { return [] }
        var items = outcomes.map { ("client_\($0.kind)_\($0.result)", "\($0.count)") }
        items += ["read", "write", "delete", "udf"].map { ("client_\($0)_timeout", "0") }
        return items
    }

    /// A namespace's configuration as `get-config:context=namespace` and `namespace/<ns>` show
    /// it: the values in force now (set-config changes the dynamic ones).
    static func namespaceConfiguration(_ namespace: Namespace, latencies: LatencyBook) -> [(String, String)] {
        let options = namespace.options
        let storage = options.storage
        let benchmarks = BenchmarkGroup.Name.allCases.map { name in
            ("enable-benchmarks-\(name.rawValue)", "\(latencies.benchmarks(name, namespace: options.name)?.isEnabled ?? false)")
        }
        return benchmarks + [
            ("replication-factor", "1"),
            ("default-ttl", "\(options.currentDefaultTTLSeconds)"),
            ("nsup-period", "\(options.currentNsupPeriodSeconds)"),
            ("storage-engine.defrag-lwm-pct", "\(storage.currentDefragLWMPct)"),
            ("storage-engine.defrag-sleep", "\(storage.defragSleepUs)"),
            ("storage-engine.max-write-cache", "\(storage.maxWriteCacheBytes)"),
            ("storage-engine.post-write-cache", "\(storage.currentPostWriteCacheBytes)"),
            ("storage-engine.post-write-queue", "\(storage.currentPostWriteCacheBytes / max(1, storage.writeBlockSizeBytes))"),
            ("storage-engine.stop-writes-avail-pct", "\(storage.currentStopWritesAvailPct)"),
            ("storage-engine", "device"),
            ("storage-engine.device", storage.devices.map(\.path).joined(separator: ",")),
            ("storage-engine.write-block-size", "\(storage.writeBlockSizeBytes)"),
            ("storage-engine.commit-to-device", "\(storage.commitToDevice)"),
            ("storage-engine.flush-max-ms", "\(storage.currentFlushMaxMs)"),
            ("partition-tree-sprigs", "\(storage.partitionTreeSprigs)"),
            ("force-durable-deletes", "\(options.forceDurableDeletes)"),
            ("default-read-touch-ttl-pct", "\(options.readTouchTTLPercent)"),
            ("storage-engine.evict-used-pct", "\(options.currentEvictUsedPct)"),
            ("storage-engine.cold-start-empty", "\(options.coldStartEmpty)"),
            ("storage-engine.read-page-cache", "\(storage.devices.contains { $0.readPageCache })"),
            ("storage-engine.fill-page-cache", "\(storage.fillsPageCache)"),
            ("evict-indexes-memory-pct", "\(options.currentEvictIndexesMemoryPct)"),
            ("evict-sys-memory-pct", "\(options.currentEvictSysMemoryPct)"),
            ("evict-tenths-pct", "\(options.currentEvictTenthsPct)"),
            ("evict-hist-buckets", "\(options.currentEvictHistBuckets)"),
            ("disable-cold-start-eviction", "\(options.eviction.disableColdStartEviction)"),
            ("strong-consistency", "false"),
            ("rack-id", "0"),
            ("nsid", "\((latencies.namespaceNames.firstIndex(of: options.name) ?? 0) + 1)"),
            // Cairn stops writes by stop-writes-avail-pct alone: these two are off (0).
            ("stop-writes-sys-memory-pct", "0"),
            ("storage-engine.stop-writes-used-pct", "0"),
        ]
    }

    /// `sets`, `sets/<ns>`, `sets/<ns>/<set>`: one `:`-separated entry per set, each ending in
    /// `;` (§2.6). Counting walks the namespace's index.
    private func setStatistics(_ command: InfoCommand) -> String {
        let arguments = command.arguments
        var names = context.namespaceNames
        if let namespaceName = arguments.first {
            guard context.namespaces[namespaceName] != nil else {
                return InfoReply.errorValue(.namespaceNotFound, message: "unknown namespace \(namespaceName)")
            }
            names = [namespaceName]
        }
        let setFilter = arguments.count > 1 ? arguments[1] : nil
        var output = ""
        for namespaceName in names {
            guard let namespace = context.namespaces[namespaceName] else { continue }
            let summaries = namespace.setCensus()
            let indexes = namespace.secondaryIndexes.all
            for (id, setName) in namespace.allSets {
                if let setFilter, setFilter != setName { continue }
                let summary = summaries[id] ?? Namespace.SetSummary()
                var items: [(String, String)] = []
                if setFilter == nil {
                    items.append(("ns", namespaceName))
                    items.append(("set", setName))
                }
                items += [
                    ("objects", "\(summary.objects)"),
                    ("tombstones", "\(summary.tombstones)"),
                    ("data_used_bytes", "\(summary.storedBytes)"),
                    ("truncate_lut", "\(namespace.setTruncateLutMs(setName) ?? 0)"),
                    ("sindexes", "\(indexes.filter { $0.setName == setName && $0.collection != .set }.count)"),
                    ("index_populating", "false"),
                    ("truncating", "false"),
                    ("default-read-touch-ttl-pct", "0"),
                    ("default-ttl", "\(namespace.options.defaultTTLSeconds(forSet: setName, setID: id))"),
                    ("disable-eviction", "\(namespace.options.isEvictionDisabled(setName: setName, setID: id))"),
                    ("enable-index", "\(indexes.contains { $0.setName == setName && $0.collection == .set })"),
                    ("stop-writes-count", "\(namespace.options.stopWritesCount(forSet: setName, setID: id))"),
                    ("stop-writes-size", "0"),
                ]
                output += InfoText.pairs(items, separator: ":") + ";"
            }
        }
        if let setFilter, output.isEmpty {
            return InfoReply.errorValue(.parameter, message: "unknown set \(setFilter)")
        }
        return output
    }

    // MARK: - Truncation (§10)

    /// `truncate:namespace=<ns>[;set=<set>][;lut=<ns since 1970>]` and
    /// `truncate-namespace:namespace=<ns>[;lut=…]`. The truncation is durable on every device
    /// before `ok` is answered (DESIGN.md "Deletes, expiry, truncation").
    /// A job id parameter (`id`, or `trid` as before 8.1): decimal, `0x` hex or `0` octal, not 0.
    private static func jobID(_ command: InfoCommand) -> (present: Bool, id: UInt64?) {
        guard let text = command.parameter("id") ?? command.parameter("trid") else { return (false, nil) }
        let id: UInt64? = if text.hasPrefix("0x") || text.hasPrefix("0X") {
            UInt64(text.dropFirst(2), radix: 16)
        } else if text.count > 1 && text.hasPrefix("0") {
            UInt64(text.dropFirst(), radix: 8)
        } else {
            UInt64(text)
        }
        return (true, id == 0 ? nil : id)
    }

    /// `query-show` (every background query, `;`-separated) or `query-show:id=N` (one), as
    /// Aerospike 8.1's `cmd_query_show`. Scans and foreground queries are not jobs in Cairn: they
    /// stream on their connection and are not listed.
    private func queryShow(_ command: InfoCommand) -> String {
        let (present, id) = Self.jobID(command)
        guard present else { return context.backgroundQueries.allInfo() }
        guard let id else { return InfoReply.errorValue(.parameter, message: "bad id") }
        return context.backgroundQueries.info(id: id) ?? InfoReply.errorValue(.keyNotFound, message: "job not found")
    }

    /// `query-abort:id=N`: stops an active background query, as Aerospike's `cmd_query_abort`.
    private func queryAbort(_ command: InfoCommand) -> String {
        let (present, id) = Self.jobID(command)
        guard present else { return InfoReply.errorValue(.parameter, message: "missing 'id'") }
        guard let id else { return InfoReply.errorValue(.parameter, message: "bad id") }
        return context.backgroundQueries.abort(id: id) ? "ok" : InfoReply.errorValue(.keyNotFound, message: "id not active")
    }

    private func truncate(_ command: InfoCommand, isNamespaceCommand: Bool) -> String {
        guard let namespaceName = command.parameter("namespace"), !namespaceName.isEmpty else {
            return InfoReply.errorValue(.namespaceNotFound, message: "missing 'namespace'")
        }
        guard let namespace = context.namespaces[namespaceName] else {
            return InfoReply.errorValue(.namespaceNotFound, message: "unknown namespace \(namespaceName)")
        }
        var setName = command.parameter("set")
        if setName?.isEmpty == true { setName = nil }
        if isNamespaceCommand && setName != nil {
            return InfoReply.errorValue(.parameter, message: "unexpected set name")
        }
        var lutMs: UInt64?
        if let lutText = command.parameter("lut"), lutText != "0" {
            switch TruncateTime.lutMs(fromUnixNanosecondsText: lutText, nowMs: namespace.options.clockMs()) {
            case .success(let value): lutMs = value
            case .failure(let problem): return InfoReply.errorValue(.parameter, message: problem.message)
            }
        }
        do {
            try namespace.truncate(setName: setName, lutMs: lutMs)
        } catch {
            logger.warning(
                "truncate failed",
                metadata: ["namespace": "\(namespaceName)", "set": "\(setName ?? "")", "error": "\(error)"])
            return InfoReply.errorValue(ResultCode(engine: error.result), message: "truncate failed: \(error.message)")
        }
        logger.info(
            "truncated",
            metadata: ["namespace": "\(namespaceName)", "set": "\(setName ?? "")", "lut_ms": "\(lutMs.map { "\($0)" } ?? "now")"])
        return InfoReply.ok
    }

    // MARK: - Configuration

    /// The `heartbeat.*` lines of `get-config:context=network`, as a CE 8.1 node reports them
    /// when its heartbeat is switched off (`protocol none`): mesh mode with no seeds, the
    /// interval and timeout it would use (Aerospike's defaults, which govern nothing while the
    /// protocol is none). Cairn sends and listens for no heartbeat: no port (0), no mtu (0).
    static let heartbeatConfiguration: [(String, String)] = [
        ("heartbeat.mode", "mesh"),
        ("heartbeat.port", "0"),
        ("heartbeat.interval", "150"),
        ("heartbeat.timeout", "10"),
        ("heartbeat.connect-timeout-ms", "500"),
        ("heartbeat.mtu", "0"),
        ("heartbeat.protocol", "none"),
    ]

    /// `get-config[:context=service|network|namespace;id=<ns>]` (or `namespace=<ns>`).
    private func configurationValue(_ command: InfoCommand) -> String {
        let configuration = context.configuration
        if command.parameters.isEmpty {
            // No parameters: every context, as Aerospike collects service, network and security
            // (Cairn's security context is empty, as a CE node's).
            return [configurationValue(InfoCommand(line: "get-config:context=service")),
                    configurationValue(InfoCommand(line: "get-config:context=network"))].joined(separator: ";")
        }
        switch command.parameter("context") ?? "service" {
        case "service":
            return InfoText.pairs([
                ("cluster-name", configuration.clusterName ?? "null"),
                ("node-id", configuration.nodeName),
                ("proto-fd-max", "\(configuration.connectionCountMax)"),
                ("service-threads", "\(configuration.eventLoopCount)"),
                ("network-io-model", configuration.ioModel.rawValue),
                ("auto-pin", configuration.pinnedCPUs == nil ? "none" : "cpu"),
                // Nothing migrates (one node owns every partition): no migration threads, as
                // Aerospike's `migrate-threads 0`. The cluster is this node: `min-cluster-size 1`.
                ("migrate-threads", "0"),
                ("min-cluster-size", "1"),
                // Aerospike's outlier detection (`health-stats`, `health-outliers`): off.
                ("enable-health-check", "false"),
            ])
        case "network":
            return InfoText.pairs([
                ("service.address", configuration.host),
                ("service.port", "\(context.boundPort)"),
            ] + Self.heartbeatConfiguration)
        case "xdr", "security":
            // CE 8.1 answers both with nothing: it has no XDR, and no security configuration.
            return ""
        case "namespace":
            // `id=<ns>`, or `namespace=<ns>` (the form clients use with servers 8.1 and later).
            guard let name = command.parameter("id") ?? command.parameter("namespace"),
                let namespace = context.namespaces[name]
            else {
                return InfoReply.errorValue(.namespaceNotFound, message: "unknown namespace")
            }
            return InfoText.pairs(Self.namespaceConfiguration(namespace, latencies: context.latencies))
        default:
            return InfoReply.errorValue(.parameter, message: "invalid context")
        }
    }
}

/// Converts the `lut` parameter of the truncate commands (§10): nanoseconds since the Unix
/// epoch, to the engine's milliseconds since the Citrusleaf epoch.
enum TruncateTime {
    struct Problem: Error, Equatable {
        var message: String
    }

    static func lutMs(fromUnixNanosecondsText text: String, nowMs: UInt64) -> Result<UInt64, Problem> {
        guard let nanoseconds = UInt64(text) else {
            return .failure(Problem(message: "invalid 'lut' \(text)"))
        }
        let unixMs = nanoseconds / 1_000_000
        let epochMs = CitrusleafEpoch.unixSeconds * 1000
        guard unixMs > epochMs else {
            return .failure(Problem(message: "'lut' is before 2010-01-01"))
        }
        let lutMs = unixMs - epochMs
        guard lutMs <= nowMs else {
            return .failure(Problem(message: "would truncate in the future"))
        }
        return .success(lutMs)
    }
}
