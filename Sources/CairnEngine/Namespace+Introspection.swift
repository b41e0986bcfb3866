import CairnIndex
import CairnStorage

/// What the server may learn about a namespace beyond single records: its sets, its index's
/// size, walks of its index entries, and the censuses `info` answers from. The server reaches
/// the index, the storage and the set registry only through these (their properties are the
/// engine's SPI, `@_spi(EngineInternals)`, for tests, tools and the simulator).
extension Namespace {
    // MARK: - sets

    /// The id of a set that has been written (or configured), nil for one never seen.
    public func existingSetID(for name: String) -> UInt16? { sets.existingID(for: name) }

    /// The id of a set, registering it when new; nil when the namespace holds the most sets it can.
    public func setID(registering name: String) -> UInt16? { sets.id(for: name) }

    /// The name of set `id` (nil for 0, no set, or an unknown id).
    public func setName(for id: UInt16) -> String? { sets.name(for: id) }

    /// Every set registered, by id.
    public var allSets: [(id: UInt16, name: String)] { sets.all }

    // MARK: - the index

    /// Primary index entries: records, tombstones, and hidden ones not yet removed.
    public var indexEntryCount: Int { index.entryCount }

    /// Calls `body` with every index entry, in no particular order (a consistent view per
    /// sprig, not of the whole index). Filter with `isLiveRecord` for what a client can see.
    public func forEachIndexEntry(_ body: (IndexRecord) -> Void) { index.forEachRecord(body) }

    /// Walks partition `partition`'s entries in digest order after `after` (from its start when
    /// nil) while `body` returns true. Returns true when the partition was walked to its end.
    @discardableResult
    public func forEachIndexEntry(partition: Int, after: Digest?, _ body: (IndexRecord) -> Bool) -> Bool {
        index.forEach(partition: partition, after: after, body)
    }

    // MARK: - truncation

    /// The namespace-wide truncate LUT (ms since 2010; 0 when never truncated).
    public var namespaceTruncateLutMs: UInt64 { storage.truncation.namespaceLutMs }

    /// Set `name`'s own truncate LUT, nil when it was never truncated.
    public func setTruncateLutMs(_ name: String) -> UInt64? { storage.truncation.setLutMs(forSet: name) }

    // MARK: - censuses

    /// One set's records as info `sets` reports them.
    public struct SetSummary: Sendable, Equatable {
        public var objects = 0
        public var tombstones = 0
        /// Bytes of the stored copies (16-byte rounded), record headers included.
        public var storedBytes = 0
        public init() {}
    }

    /// Summaries by set id (0 = no set), from one walk of the index. Expired, evicted and
    /// truncated records are not counted; tombstones are, apart.
    public func setCensus() -> [UInt16: SetSummary] {
        let nowVoidTime = UInt32(truncatingIfNeeded: options.clockMs() / 1000)
        let truncation = storage.truncation
        var truncateLutMs: [UInt16: UInt64] = [:]
        var summaries: [UInt16: SetSummary] = [:]
        index.forEachRecord { record in
            var summary = summaries[record.setID] ?? SetSummary()
            defer { summaries[record.setID] = summary }
            if record.flags.contains(.tombstone) {
                summary.tombstones += 1
                return
            }
            if record.hasExpired(at: nowVoidTime) { return }
            if isEvictedRecord(record) { return }
            let lut: UInt64
            if let cached = truncateLutMs[record.setID] {
                lut = cached
            } else {
                lut = truncation.truncateLutMs(forSet: sets.name(for: record.setID))
                truncateLutMs[record.setID] = lut
            }
            guard record.lastUpdateTimeMs > lut else { return }
            summary.objects += 1
            summary.storedBytes += record.location.sizeBytes
        }
        return summaries
    }
}
