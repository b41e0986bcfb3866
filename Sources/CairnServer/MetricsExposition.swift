import CairnEngine
import Prometheus
import Synchronization

/// The `/metrics` page (Prometheus text exposition format 0.0.4).
///
/// Counters and gauges go through swift-prometheus's registry: at each scrape they are set from
/// the server's counters and the namespaces' statistics (which the engine keeps anyway), so
/// nothing is added to the transaction path. The latency histograms are the ones `latencies:`
/// reports (``LatencyBook``): their atomic buckets are written out directly as cumulative `le`
/// buckets in seconds, since a registry histogram would take a lock per observation.
final class MetricsExposition: Sendable {
    private let context: ServerContext
    private let registry = PrometheusCollectorRegistry()
    /// Scrapes one at a time: a counter is set by reset-and-increment, which must not interleave.
    private let scrape = Mutex(())

    init(context: ServerContext) {
        self.context = context
    }

    /// Upper bounds of the latency buckets, in seconds: 1 ms, 2 ms … 65.536 s, then +Inf.
    static let latencyBucketBounds: [Double] = (0...16).map { Double(1 << $0) / 1000 }

    func render() -> [UInt8] {
        scrape.withLock { _ in
            update()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            registry.emit(into: &buffer)
            buffer += Array(latencyText().utf8)
            return buffer
        }
    }

    private func counter(_ name: String, _ value: UInt64, labels: [(String, String)] = [], help: String) {
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        counter.reset()
        counter.increment(by: Int64(clamping: value))
    }

    private func gauge(_ name: String, _ value: Double, labels: [(String, String)] = [], help: String) {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(value)
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func update() {
        let counters = context.counters
        func load(_ atomic: borrowing Atomic<UInt64>) -> UInt64 { atomic.load(ordering: .relaxed) }
        gauge("cairn_uptime_seconds", Double(context.uptimeSeconds), help: "Seconds since the server started.")
        gauge("cairn_client_connections", Double(context.connections.count), help: "Client connections open now.")
        counter("cairn_client_connections_opened_total", load(counters.connectionsOpened), help: "Client connections accepted.")
        counter("cairn_client_connections_refused_total", load(counters.connectionsRefused),
                help: "Client connections refused (proto-fd-max reached or stopping).")
        counter("cairn_transactions_total", load(counters.transactions), help: "Single-record transactions and batch rows executed.")
        counter("cairn_transaction_errors_total", load(counters.transactionErrors),
                help: "Transactions answered with an error other than not-found.")
        counter("cairn_batch_requests_total", load(counters.batchRequests), help: "Batch requests.")
        counter("cairn_scan_requests_total", load(counters.scanRequests), help: "Scan and query requests (primary- and secondary-index, background ones included).")
        counter("cairn_scan_records_total", load(counters.scanRecords), help: "Records returned by scans and queries.")
        counter("cairn_info_requests_total", load(counters.infoRequests), help: "Info requests.")
        counter("cairn_malformed_requests_total", load(counters.malformedRequests), help: "Requests refused as malformed.")
        for name in context.namespaceNames {
            guard let namespace = context.namespaces[name] else { continue }
            let labels = [("namespace", name)]
            for outcome in context.latencies.clientOutcomes(namespace: name) ?? [] {
                counter("cairn_client_transactions_total", outcome.count,
                        labels: labels + [("type", outcome.kind), ("result", outcome.result)],
                        help: "Single-record transactions by type (read, write, delete) and result, as Aerospike's client_* statistics.")
            }
            let statistics = namespace.statistics
            let space = statistics.space
            gauge("cairn_objects", Double(statistics.objects), labels: labels, help: "Live records.")
            gauge("cairn_tombstones", Double(statistics.tombstones), labels: labels, help: "Tombstones (durable deletes).")
            gauge("cairn_index_entries", Double(namespace.indexEntryCount), labels: labels,
                  help: "Primary index entries (records and tombstones).")
            gauge("cairn_device_total_bytes", Double(statistics.deviceTotalBytes), labels: labels, help: "Size of the namespace's devices.")
            gauge("cairn_device_used_bytes", Double(statistics.liveBytes), labels: labels, help: "Bytes of live records on the devices.")
            gauge("cairn_device_available_pct", Double(space.deviceAvailablePct), labels: labels,
                  help: "Share of the fullest device's blocks free for writes (stop-writes-avail-pct applies to it).")
            gauge("cairn_stop_writes", space.stopWrites ? 1 : 0, labels: labels, help: "1 while client writes are refused for space.")
            gauge("cairn_free_blocks", Double(space.freeBlocks), labels: labels, help: "Write blocks free.")
            gauge("cairn_defrag_queue", Double(space.defragQueue), labels: labels, help: "Blocks waiting for defragmentation.")
            for (path, device) in zip(namespace.options.storage.devices, space.devices) {
                let deviceLabels = labels + [("device", path.path)]
                let gauges: [(String, Int, String)] = [
                    ("cairn_device_write_queue_blocks", device.writeQueue,
                     "Full write blocks waiting for the device's flusher (Aerospike's storage-engine.file[i].write_q)."),
                    ("cairn_device_live_bytes", Int(device.liveBytes),
                     "Bytes of live records on the device (Aerospike's storage-engine.file[i].used_bytes)."),
                    ("cairn_device_unflushed_bytes", device.unflushedBytes,
                     "Bytes appended to the device's write buffers whose write has not completed."),
                    ("cairn_device_free_blocks", device.availableBlocks,
                     "Free and never-written write blocks of the device (Aerospike's storage-engine.file[i].free_wblocks)."),
                    ("cairn_device_defrag_queue_blocks", device.defragQueue,
                     "Blocks of the device waiting for defragmentation (Aerospike's storage-engine.file[i].defrag_q)."),
                ]
                for (name, value, help) in gauges { gauge(name, Double(value), labels: deviceLabels, help: help) }
                let counters: [(String, UInt64, String)] = [
                    ("cairn_device_full_writes_total", UInt64(device.writer.fullWrites),
                     "Write blocks the device's flusher wrote whole (Aerospike's storage-engine.file[i].writes)."),
                    ("cairn_device_partial_flushes_total", UInt64(device.writer.partialWrites),
                     "Partial flushes of the device's open write block (Aerospike's storage-engine.file[i].partial_writes)."),
                    ("cairn_device_defragged_blocks_total", UInt64(device.defrag.blocksDefragged),
                     "Blocks of the device defragmentation emptied (Aerospike's storage-engine.file[i].defrag_reads)."),
                    ("cairn_device_read_errors_total", device.readErrors,
                     "Record reads of the device that failed: an I/O error or a corrupt copy (Aerospike's storage-engine.file[i].read_errors)."),
                ]
                for (name, value, help) in counters { counter(name, value, labels: deviceLabels, help: help) }
            }
            counter("cairn_defrag_blocks_total", UInt64(space.blocksDefragged), labels: labels, help: "Blocks defragmented.")
            counter("cairn_defrag_records_rewritten_total", UInt64(space.recordsRewritten), labels: labels,
                    help: "Records moved by defragmentation.")
            counter("cairn_defrag_bytes_rewritten_total", space.defragBytesRewritten, labels: labels,
                    help: "Bytes moved by defragmentation.")
            counter("cairn_device_bytes_written_total", space.deviceBytesWritten, labels: labels, help: "Bytes written to the devices.")
            counter("cairn_device_block_writes_total", UInt64(space.deviceBlockWrites), labels: labels,
                    help: "Write blocks written whole.")
            counter("cairn_device_partial_writes_total", UInt64(space.devicePartialWrites), labels: labels,
                    help: "Partial flushes of an open write block (commit-to-device group commits, flush-max-ms).")
            counter("cairn_commit_waits_served_total", UInt64(space.commitWaitsServed), labels: labels,
                    help: "commit-to-device writes answered once durable.")
            counter("cairn_device_syncs_total", UInt64(space.deviceSyncs), labels: labels,
                    help: "Device syncs (fdatasync) the flushers issued without commit-to-device.")
            counter("cairn_device_reads_total", statistics.deviceReads, labels: labels,
                    help: "Record reads that went to a device (not served from memory).")
            counter("cairn_updates_without_read_total", statistics.updatesWithoutRead, labels: labels,
                    help: "Updates that set every bin of their record, committed without reading its old copy.")
            let hits = UInt64(space.postWriteCacheHits)
            counter("cairn_post_write_cache_hits_total", hits, labels: labels, help: "Record reads served from the post-write cache.")
            counter("cairn_page_cache_fills_total", UInt64(space.pageCacheFills), labels: labels,
                    help: "Blocks read into the page cache as they left the post-write cache (fill-page-cache).")
            let reads = hits + statistics.deviceReads
            gauge("cairn_cache_hit_ratio", reads == 0 ? 0 : Double(hits) / Double(reads), labels: labels,
                  help: "Post-write cache hits over reads that needed a device copy, since start.")
            counter("cairn_expired_objects_total", UInt64(space.expiredRemoved), labels: labels, help: "Expired records removed.")
            let eviction = namespace.evictionStatistics
            counter("cairn_evicted_objects_total", eviction.evictedObjects, labels: labels,
                    help: "Records evicted by the namespace supervisor.")
            gauge("cairn_evict_void_time_seconds", Double(eviction.evictVoidTime), labels: labels,
                  help: "The eviction mark's void time, seconds since 2010-01-01 (0: nothing ever evicted).")
            gauge("cairn_nsup_cycle_seconds", Double(eviction.lastCycleDurationMs) / 1000, labels: labels,
                  help: "Duration of the last nsup cycle (eviction, expiry, tomb raider).")
            counter("cairn_tombstones_dropped_total", UInt64(space.tombstonesDropped), labels: labels, help: "Tombstones removed.")
            gauge("cairn_start_seconds", statistics.startSeconds, labels: labels + [("mode", statistics.startMode.rawValue)],
                  help: "How long the namespace took to open, by start mode (warm, cold, fresh).")
            let coldStart = namespace.startReport.coldStart
            gauge("cairn_cold_start_records", Double(coldStart?.unique ?? 0), labels: labels,
                  help: "Records a cold start found (0 after a warm or fresh start). Progress during a cold start is on the info port.")
        }
    }

    /// The latency histograms as Prometheus histograms (`cairn_latency_seconds`).
    private func latencyText() -> String {
        var text = "# HELP cairn_latency_seconds Transaction latency, request handled to reply made (the latencies: histograms).\n"
        text += "# TYPE cairn_latency_seconds histogram\n"
        for (entry, counts) in context.latencies.cumulative() {
            let labels = Self.latencyLabels(entry.name)
            var cumulative: UInt64 = 0
            for (index, bound) in Self.latencyBucketBounds.enumerated() {
                cumulative += counts[index]
                text += "cairn_latency_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            let total = counts.reduce(0, +)
            text += "cairn_latency_seconds_bucket{\(labels),le=\"+Inf\"} \(total)\n"
            text += "cairn_latency_seconds_sum{\(labels)} \(Double(entry.histogram.totalNanoseconds) / 1e9)\n"
            text += "cairn_latency_seconds_count{\(labels)} \(total)\n"
        }
        return text
    }

    /// `{ns}-read` → `namespace="ns",type="read"`; `batch-index` → `namespace="",type="batch-index"`.
    static func latencyLabels(_ name: String) -> String {
        if name.hasPrefix("{"), let close = name.firstIndex(of: "}") {
            let namespace = name[name.index(after: name.startIndex)..<close]
            let type = name[name.index(close, offsetBy: 2)...]
            return "namespace=\"\(namespace)\",type=\"\(type)\""
        }
        return "namespace=\"\",type=\"\(name)\""
    }
}
