import CairnIO
import CairnIndex
import CairnStorage
import Foundation
import Synchronization

/// The namespace's eviction mark in memory, read by every visibility check without a lock.
///
/// The storage's ``TruncationTable`` (persisted in the device headers) is the truth; this caches
/// its two halves. A record with a nonzero void time at or below `voidTime`, last updated at or
/// before `lutMs`, was evicted (unless its set has `disable-eviction`). Both halves only grow,
/// and the mark is durable before it is published here, so nothing hidden here can come back.
final class EvictionMark: Sendable {
    private let voidTimeCell: Atomic<UInt32>
    private let lutCell: Atomic<UInt64>
    /// The LUT an nsup cycle's raise may reach, set before the cycle counts the records it will
    /// hide (0 between cycles). A write commits above it (``lutFloorMs``): whatever the cycle did
    /// not count, because its sprig was walked before the write landed, is never hidden.
    private let fenceCell = Atomic<UInt64>(0)

    init(_ table: TruncationTable) {
        voidTimeCell = Atomic(table.evictVoidTime)
        lutCell = Atomic(table.evictLutMs)
    }

    var voidTime: UInt32 { voidTimeCell.load(ordering: .acquiring) }
    var lutMs: UInt64 { lutCell.load(ordering: .acquiring) }

    /// The LUT a new copy must be above (read under the record's sprig lock, as it commits): the
    /// mark's, or a running cycle's fence when higher.
    @inline(__always)
    var lutFloorMs: UInt64 { max(lutCell.load(ordering: .acquiring), fenceCell.load(ordering: .acquiring)) }

    /// Sets the fence before a cycle walks the index to count what a raise to `lutMs` hides.
    /// The walk takes each sprig's lock after this store, so a write that commits in a sprig
    /// after the walk has passed it sees the fence.
    func fence(lutMs: UInt64) { fenceCell.store(lutMs, ordering: .releasing) }

    /// Clears the fence once the cycle has published its mark (or raised nothing).
    func clearFence() { fenceCell.store(0, ordering: .releasing) }

    /// Publishes a mark already durable. The LUT is raised first: a reader that sees the new void
    /// time with the old LUT hides a subset of what the whole mark hides.
    func publish(_ table: TruncationTable) {
        lutCell.raise(to: table.evictLutMs)
        voidTimeCell.raise(to: table.evictVoidTime)
    }

    /// Whether a record with these times is below the mark (set exemptions are the caller's).
    @inline(__always)
    func covers(voidTime: UInt32, lastUpdateMs: UInt64) -> Bool {
        voidTime != 0 && voidTime <= voidTimeCell.load(ordering: .acquiring)
            && lastUpdateMs <= lutCell.load(ordering: .acquiring)
    }
}

/// What the evictions of a namespace amount to (namespace statistics).
public struct EvictionStatistics: Sendable, Equatable {
    /// Records evicted since the namespace opened (`evicted_objects`).
    public var evictedObjects: UInt64 = 0
    /// The eviction mark's void time (`evict_void_time`, s since 2010-01-01; 0 = never evicted).
    public var evictVoidTime: UInt32 = 0
    /// The TTL at the last evicting cycle: its evict void time minus its now (`evict_ttl`).
    public var evictTTL: UInt32 = 0
    /// Evicting cycles that found usage above a threshold.
    public var evictingCycles: UInt64 = 0
    /// The last cycle's duration in ms (`nsup_cycle_duration`, Aerospike reports ms).
    public var lastCycleDurationMs: UInt64 = 0
    /// The share of the namespace's records the last cycle expired or evicted, percent
    /// (`nsup_cycle_deleted_pct`).
    public var lastCycleDeletedPct: Double = 0
    /// Why the last evicting cycle evicted nothing, if it did not.
    public var lastRefusal: String?
    /// Whether the last nsup cycle found usage above an eviction threshold (Aerospike's
    /// `hwm_breached`), whether or not it could evict.
    public var hwmBreached = false
}

/// One evicting cycle's decision: the void time up to which evictable records go.
struct EvictionDecision: Sendable, Equatable {
    /// Records with a void time at or below this are evicted (nil: nothing this cycle).
    var cutoffVoidTime: UInt32?
    /// Evictable records at or below the cutoff.
    var evictedCount: Int
    /// Why nothing is evicted, when it is not.
    var refusal: String?
}

/// The void-time histogram of one cycle and the cutoff it gives (Aerospike's eviction):
/// buckets of equal width from now (the first void time still live) to the latest void time;
/// whole buckets from the soonest are evicted while their total stays within the limit.
struct EvictionHistogram {
    /// The latest void time not counted: records at or below it have expired (now − 1, since a
    /// record stays live through its void-time second).
    let expiredThrough: UInt32
    let widthSeconds: UInt32
    private(set) var counts: [Int]
    private(set) var total = 0

    /// - Parameters: `latestVoidTime` is the largest void time to be counted (above `expiredThrough`).
    init(expiredThrough: UInt32, latestVoidTime: UInt32, bucketCount: Int) {
        precondition(bucketCount > 0 && latestVoidTime > expiredThrough)
        let span = UInt64(latestVoidTime - expiredThrough)
        let width = max(1, (span + UInt64(bucketCount) - 1) / UInt64(bucketCount))
        self.expiredThrough = expiredThrough
        widthSeconds = UInt32(width)
        counts = [Int](repeating: 0, count: Int((span + width - 1) / width))
    }

    var bucketCount: Int { counts.count }

    /// The bucket of a void time above `expiredThrough` (may be past the last bucket).
    private func unclampedBucket(of voidTime: UInt32) -> Int { Int((voidTime - expiredThrough - 1) / widthSeconds) }

    /// The bucket of a void time above `expiredThrough`.
    func bucket(of voidTime: UInt32) -> Int { min(counts.count - 1, unclampedBucket(of: voidTime)) }

    /// Counts a record with `voidTime` in (expiredThrough, latestVoidTime].
    mutating func add(_ voidTime: UInt32) {
        guard voidTime > expiredThrough else { return }
        let bucket = unclampedBucket(of: voidTime)
        guard bucket < counts.count else { return }
        counts[bucket] += 1
        total += 1
    }

    /// Whole buckets from the soonest while their total is at most `limit`.
    func decide(limit: Int) -> EvictionDecision {
        var cumulative = 0
        var whole = 0
        for c in counts {
            if cumulative + c > limit { break }
            cumulative += c
            whole += 1
        }
        if whole == 0 || cumulative == 0 {
            let reason = counts.first.map { $0 > limit } == true
                ? "the soonest void-time bucket (\(widthSeconds) s) holds \(counts[0]) records, more than the cycle's limit \(limit): raise evict-hist-buckets or evict-tenths-pct"
                : "no evictable records"
            return EvictionDecision(cutoffVoidTime: nil, evictedCount: 0, refusal: reason)
        }
        return EvictionDecision(cutoffVoidTime: expiredThrough &+ UInt32(whole) &* widthSeconds, evictedCount: cumulative, refusal: nil)
    }
}

/// The machine's used memory, percent (MemTotal - MemAvailable of /proc/meminfo), or nil.
public enum SystemMemory {
    public static func usedPct() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        var total: Double?
        var available: Double?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { total = value }
            if parts[0] == "MemAvailable:" { available = value }
        }
        guard let total, let available, total > 0 else { return nil }
        return (total - available) * 100 / total
    }
}

extension Namespace {
    /// Whether `r` is hidden by the eviction mark (and its set allows eviction). Takes no lock
    /// unless the record is below the mark and the namespace has set policies.
    @inline(__always)
    func isEvicted(_ r: IndexRecord) -> Bool {
        guard evictionMark.covers(voidTime: r.voidTimeSeconds, lastUpdateMs: r.lastUpdateTimeMs) else { return false }
        return isEvictable(setID: r.setID)
    }

    /// Whether `r` is a record a client can see now (for walks of the index outside the engine).
    public func isLiveRecord(_ r: IndexRecord) -> Bool { isVisible(r, nowVoidTime: nowVoidTime) }

    /// Whether the eviction mark hides `r` (for walks of the index outside the engine).
    public func isEvictedRecord(_ r: IndexRecord) -> Bool { isEvicted(r) }

    /// Whether records of `setID` may be evicted (not in a `disable-eviction` set).
    func isEvictable(setID: UInt16) -> Bool {
        guard setID != 0, options.mayHaveEvictionExemptSets, let name = sets.name(for: setID) else { return true }
        return !options.isEvictionDisabled(setName: name, setID: setID)
    }

    /// Which threshold the namespace is above now, as a message, or nil. `hiddenBytes` are live
    /// bytes of records already invisible (evicted or expired) that the supervisor has not
    /// removed yet: they are not counted as used.
    func evictionTrigger(hiddenBytes: UInt64 = 0) -> String? {
        let o = options
        let usedPct = o.currentEvictUsedPct
        if usedPct > 0 {
            let total = storage.devices.reduce(UInt64(0)) { $0 + $1.device.sizeBytes }
            let counted = storage.devices.reduce(UInt64(0)) { $0 + $1.usage.totalLiveBytes }
            let live = counted - min(counted, hiddenBytes)
            let used = total > 0 ? Double(live) * 100 / Double(total) : 0
            if used > Double(usedPct) { return String(format: "device used %.1f%% > evict-used-pct %d", used, usedPct) }
        }
        let indexPct = o.currentEvictIndexesMemoryPct
        if indexPct > 0 {
            let used = Double(index.entryCount) * 100 / Double(max(1, o.indexEntryCountMax))
            if used > Double(indexPct) {
                return String(format: "index entries %.1f%% of capacity > evict-indexes-memory-pct %d", used, indexPct)
            }
        }
        let sysPct = o.currentEvictSysMemoryPct
        if sysPct > 0, let used = o.systemMemoryUsedPct(), used > Double(sysPct) {
            return String(format: "system memory used %.1f%% > evict-sys-memory-pct %d", used, sysPct)
        }
        return nil
    }

    /// One evicting step of an nsup cycle: when usage is above a threshold, builds the void-time
    /// histogram of the evictable records (a TTL, not expired, not already evicted, in a set that
    /// allows eviction), raises the eviction mark durably to the end of the soonest whole buckets
    /// within the cycle's limit, and publishes it. The evicted records are invisible from then
    /// on; the supervisor removes their index entries (and frees their bytes) once no older copy
    /// of them can come back (as for expired records).
    func evictIfNeeded() -> EvictionDecision? {
        guard evictionTrigger() != nil else { return nil }
        let nowMs = options.clockMs()
        let now = UInt32(truncatingIfNeeded: nowMs / 1000)
        // The LUT half of a raise: records last updated at or before it may be hidden.
        let markLutMs = max(nowMs, 1)
        // Set policies by set id, looked up once per set (not once per record).
        var evictableSets: [UInt16: Bool] = [:]
        func evictable(_ setID: UInt16) -> Bool {
            if let known = evictableSets[setID] { return known }
            let value = isEvictable(setID: setID)
            evictableSets[setID] = value
            return value
        }
        // Pass 1: how many records, the latest void time, and the bytes of hidden records.
        var objects = 0
        var latest: UInt32 = 0
        var hiddenBytes: UInt64 = 0
        index.forEachRecord { r in
            guard !r.isTombstone else { return }
            guard isVisible(r, nowVoidTime: now) else {
                hiddenBytes += UInt64(r.location.sizeBytes)
                return
            }
            objects += 1
            if r.voidTimeSeconds != 0 && evictable(r.setID) { latest = max(latest, r.voidTimeSeconds) }
        }
        // Earlier evictions (and expiries) not yet removed may already bring usage down.
        guard let trigger = evictionTrigger(hiddenBytes: hiddenBytes) else { return nil }
        let limit = objects * options.currentEvictTenthsPct / 1000
        var decision: EvictionDecision
        if latest < now {
            decision = EvictionDecision(cutoffVoidTime: nil, evictedCount: 0, refusal: "no evictable records (none has a TTL in a set that allows eviction)")
        } else if limit == 0 {
            decision = EvictionDecision(cutoffVoidTime: nil, evictedCount: 0,
                                        refusal: "the cycle's limit is 0 records (\(objects) records, evict-tenths-pct \(options.currentEvictTenthsPct))")
        } else {
            // Pass 2: the histogram, and the records written since the last raise at or below
            // the mark's void time (the mark only grows: they go whatever this cycle's cut).
            // The fence first: a write landing in a sprig this pass has already counted commits
            // above the mark's LUT (``commit``), so the raise hides only what was counted.
            evictionMark.fence(lutMs: markLutMs)
            let markVoidTime = evictionMark.voidTime
            var atOrBelowMark = 0
            var histogram = EvictionHistogram(expiredThrough: max(now, 1) - 1, latestVoidTime: latest, bucketCount: options.currentEvictHistBuckets)
            index.forEachRecord { r in
                // Records written since the cycle began are above the mark's LUT: never evicted by it.
                guard !r.isTombstone, r.voidTimeSeconds != 0, r.lastUpdateTimeMs <= markLutMs, isVisible(r, nowVoidTime: now),
                      evictable(r.setID)
                else { return }
                histogram.add(r.voidTimeSeconds)
                if r.voidTimeSeconds <= markVoidTime { atOrBelowMark += 1 }
            }
            decision = histogram.decide(limit: limit)
            if let cutoff = decision.cutoffVoidTime, cutoff < markVoidTime {
                // The raised mark keeps its void time: everything at or below it goes, which may
                // be more than the limit (records written since the last raise with short TTLs).
                decision.evictedCount = atOrBelowMark
            }
        }
        if let cutoff = decision.cutoffVoidTime {
            do {
                try storage.raiseEvictionMark(voidTime: cutoff, lutMs: markLutMs)
            } catch {
                options.storage.log("nsup: namespace \(options.name): writing the eviction mark failed: \(error); nothing evicted")
                decision = EvictionDecision(cutoffVoidTime: nil, evictedCount: 0, refusal: "writing the eviction mark failed: \(error)")
            }
        }
        if decision.cutoffVoidTime != nil { evictionMark.publish(storage.truncation) }
        evictionMark.clearFence()
        let markVoidTime = evictionMark.voidTime
        evictionTotals.withLock { t in
            t.evictingCycles += 1
            t.evictedObjects += UInt64(decision.evictedCount)
            t.evictVoidTime = markVoidTime
            if decision.cutoffVoidTime != nil { t.evictTTL = markVoidTime > now ? markVoidTime - now : 0 }
            t.lastRefusal = decision.refusal
        }
        if let refusal = decision.refusal {
            options.storage.log("nsup: namespace \(options.name): \(trigger); evicted nothing: \(refusal)")
        } else {
            options.storage.log("nsup: namespace \(options.name): \(trigger); evicted \(decision.evictedCount) records "
                + "(limit \(limit)), evict void time \(markVoidTime), evict ttl \(markVoidTime > now ? markVoidTime - now : 0) s")
        }
        return decision
    }

    public var evictionStatistics: EvictionStatistics {
        var s = evictionTotals.withLock { $0 }
        s.evictVoidTime = evictionMark.voidTime
        return s
    }
}

/// Eviction during a cold start's scan (`disable-cold-start-eviction` turns it off; nil: off).
func coldStartEvictionPolicy(_ options: NamespaceOptions, storage: NamespaceStorage, sets: NameRegistry)
    -> ColdStartEvictionPolicy?
{
    let o = options.eviction
    guard !o.disableColdStartEviction else { return nil }
    let usedPct = options.currentEvictUsedPct
    let indexPct = options.currentEvictIndexesMemoryPct
    let sysPct = options.currentEvictSysMemoryPct
    guard usedPct > 0 || indexPct > 0 || sysPct > 0 else { return nil }
    let totalBytes = storage.devices.reduce(UInt64(0)) { $0 + $1.device.sizeBytes }
    let sysMemory = options.systemMemoryUsedPct
    return ColdStartEvictionPolicy(
        usedBytesLimit: usedPct > 0 ? UInt64(Double(totalBytes) * Double(usedPct) / 100) : nil,
        liveEntriesLimit: indexPct > 0 ? Int(Double(options.indexEntryCountMax) * Double(indexPct) / 100) : nil,
        sysMemoryPct: sysPct, sysMemoryUsedPct: { sysMemory() }, tenthsPct: options.currentEvictTenthsPct,
        nowMs: options.clockMs(), hasSetPolicies: options.mayHaveEvictionExemptSets,
        isEvictable: { id in
            guard let name = sets.name(for: id) else { return true }
            return !options.isEvictionDisabled(setName: name, setID: id)
        })
}
