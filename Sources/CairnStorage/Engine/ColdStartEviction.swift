import CairnIO
import CairnIndex
import Foundation
import Synchronization

/// When a cold start evicts (from the namespace's eviction parameters; the engine builds it).
public struct ColdStartEvictionPolicy: Sendable {
    /// Evict when the winners' bytes (hidden ones excepted) exceed this (`evict-used-pct`; nil = off).
    public var usedBytesLimit: UInt64?
    /// Evict when the winners (hidden ones excepted) exceed this (`evict-indexes-memory-pct`; nil = off).
    public var liveEntriesLimit: Int?
    /// `evict-sys-memory-pct` (0 = off), checked with `sysMemoryUsedPct` once the scan is done.
    public var sysMemoryPct: Int
    public var sysMemoryUsedPct: @Sendable () -> Double?
    /// `evict-tenths-pct`: what one `evict-sys-memory-pct` trigger evicts.
    public var tenthsPct: Int
    /// Now (ms since 2010-01-01): the mark's LUT half, and (in seconds) the expiry line.
    public var nowMs: UInt64
    /// Whether records of a set id may be evicted (not in a `disable-eviction` set).
    public var isEvictable: @Sendable (UInt16) -> Bool
    /// Whether any set has a policy (else every set id is evictable without asking).
    public var hasSetPolicies: Bool

    public init(usedBytesLimit: UInt64?, liveEntriesLimit: Int?, sysMemoryPct: Int,
                sysMemoryUsedPct: @escaping @Sendable () -> Double?, tenthsPct: Int, nowMs: UInt64,
                hasSetPolicies: Bool, isEvictable: @escaping @Sendable (UInt16) -> Bool) {
        self.usedBytesLimit = usedBytesLimit
        self.liveEntriesLimit = liveEntriesLimit
        self.sysMemoryPct = sysMemoryPct
        self.sysMemoryUsedPct = sysMemoryUsedPct
        self.tenthsPct = tenthsPct
        self.nowMs = nowMs
        self.hasSetPolicies = hasSetPolicies
        self.isEvictable = isEvictable
    }

    var isActive: Bool { usedBytesLimit != nil || liveEntriesLimit != nil || sysMemoryPct > 0 }
}

/// Log-linear void-time buckets for a cold start, whose latest void time is unknown until the
/// scan ends: bucket 0 holds (now, base] (base = max(now, the prior mark's void time)), buckets
/// 1...64 one second each above base, then 32 buckets per power of two (3 % resolution).
/// Bucket edges only grow with the index, so "buckets below k" is "void times up to an edge".
struct ColdStartVoidTimeBuckets: Sendable {
    let base: UInt32
    static let count = 1 + 64 + 26 * 32

    @inline(__always)
    func bucket(ofVoidTime v: UInt32) -> Int {
        guard v > base else { return 0 }
        let x = UInt64(v - base - 1)
        if x < 64 { return 1 + Int(x) }
        let msb = 63 - x.leadingZeroBitCount  // 6...31
        let shift = msb - 5
        return 1 + 64 + (msb - 6) * 32 + Int((x >> UInt64(shift)) & 31)
    }

    /// The latest void time in `bucket`.
    func upperVoidTime(ofBucket b: Int) -> UInt32 {
        if b == 0 { return base }
        let i = b - 1
        let d: UInt64
        if i < 64 {
            d = UInt64(i) + 1
        } else {
            let msb = (i - 64) / 32 + 6
            let s = UInt64((i - 64) % 32)
            d = (33 + s) << UInt64(msb - 5)
        }
        return UInt32(min(UInt64(UInt32.max), UInt64(base) + d))
    }
}

/// Eviction during a cold start's scan, without a second pass (DESIGN.md "Restarts").
///
/// Every parser keeps a running tally (``Delta``) of the winners it puts into and takes out of
/// the index — evictable ones by void-time bucket, the others as fixed bytes — and merges it
/// after each block. When a merge finds the namespace above a threshold, the buckets with the
/// soonest void times are evicted, whole, until it is 1 % below: the eviction mark is raised
/// durably (device headers) to the last of their void times before they count as evicted.
///
/// Evicted winners stay in the index, invisible, as after an nsup cycle: an older copy of a
/// record found later must lose to it (else it would come back), and the supervisor removes them
/// once no older copy remains. A winner replaced later by a newer copy leaves the tally, so
/// `evicted` is what the final mark hides. A record's class depends on its own fields only and
/// the bucket prefix only grows, so the tallies agree with the mark whatever order the merges
/// come in.
public final class ColdStartEvictor: Sendable {
    let policy: ColdStartEvictionPolicy
    let buckets: ColdStartVoidTimeBuckets
    let now: UInt32
    let priorVoidTime: UInt32
    let priorLutMs: UInt64
    /// The LUT half after a raise: records updated later are never hidden by it.
    let markLutMs: UInt64
    let namespaceName: String
    let log: @Sendable (String) -> Void
    let raise: @Sendable (UInt32, UInt64) throws -> Void
    static let fixed = ColdStartVoidTimeBuckets.count
    static let hidden = -1

    struct State {
        var counts = [Int](repeating: 0, count: ColdStartVoidTimeBuckets.count)
        var bytes = [Int](repeating: 0, count: ColdStartVoidTimeBuckets.count)
        /// Buckets below this are evicted (the mark covers them).
        var evictedBuckets = 0
        var fixedBytes = 0
        var fixedEntries = 0
        var liveEvictableBytes = 0
        var liveEvictableEntries = 0
        var evicted = 0
        var evictedBytes = 0
        var raises = 0
        var markVoidTime: UInt32 = 0
        var exhaustedLogged = false
    }

    private let state = Mutex(State())

    /// What a parser adds and removes between merges.
    struct Delta {
        var counts = [Int](repeating: 0, count: ColdStartVoidTimeBuckets.count + 1)
        var bytes = [Int](repeating: 0, count: ColdStartVoidTimeBuckets.count + 1)
        var touched: [Int] = []
        var evictable: [UInt16: Bool] = [:]
        var isEmpty: Bool { touched.isEmpty }
    }

    init(policy: ColdStartEvictionPolicy, prior: TruncationTable, namespaceName: String,
         log: @escaping @Sendable (String) -> Void, raise: @escaping @Sendable (UInt32, UInt64) throws -> Void) {
        self.policy = policy
        now = UInt32(truncatingIfNeeded: policy.nowMs / 1000)
        priorVoidTime = prior.evictVoidTime
        priorLutMs = prior.evictLutMs
        markLutMs = max(prior.evictLutMs, max(policy.nowMs, 1))
        buckets = ColdStartVoidTimeBuckets(base: max(now, prior.evictVoidTime))
        self.namespaceName = namespaceName
        self.log = log
        self.raise = raise
    }

    /// The class of a winner: `hidden` (expired, or below the prior mark), `fixed` (never
    /// evicted: tombstone, no TTL, a `disable-eviction` set, updated after the mark's LUT), or
    /// its void-time bucket.
    @inline(__always)
    func slot(of r: IndexRecord, _ delta: inout Delta) -> Int {
        if r.isTombstone || r.voidTimeSeconds == 0 { return Self.fixed }
        if r.hasExpired(at: now) { return Self.hidden }
        if r.lastUpdateTimeMs > markLutMs { return Self.fixed }
        if policy.hasSetPolicies && r.setID != 0 {
            let evictable: Bool
            if let known = delta.evictable[r.setID] {
                evictable = known
            } else {
                evictable = policy.isEvictable(r.setID)
                delta.evictable[r.setID] = evictable
            }
            if !evictable { return Self.fixed }
        }
        if r.voidTimeSeconds <= priorVoidTime && r.lastUpdateTimeMs <= priorLutMs { return Self.hidden }
        return buckets.bucket(ofVoidTime: r.voidTimeSeconds)
    }

    /// Counts `r` entering (`sign` 1) or leaving (-1) the index's winners.
    @inline(__always)
    func note(_ r: IndexRecord, sign: Int, _ delta: inout Delta) {
        let s = slot(of: r, &delta)
        guard s != Self.hidden else { return }
        if delta.counts[s] == 0 && delta.bytes[s] == 0 { delta.touched.append(s) }
        delta.counts[s] += sign
        delta.bytes[s] += sign * Int(r.location.sizeBytes)
    }

    /// Merges a parser's tally; evicts (durably) when the namespace is above a threshold.
    /// `scanned` is the records resolved so far, for the log.
    func merge(_ delta: inout Delta, scanned: Int) throws {
        guard !delta.isEmpty else { return }
        try state.withLock { s in
            for i in delta.touched {
                let c = delta.counts[i], b = delta.bytes[i]
                delta.counts[i] = 0
                delta.bytes[i] = 0
                if i == Self.fixed {
                    s.fixedEntries += c
                    s.fixedBytes += b
                    continue
                }
                s.counts[i] += c
                s.bytes[i] += b
                if i < s.evictedBuckets {
                    s.evicted += c
                    s.evictedBytes += b
                } else {
                    s.liveEvictableEntries += c
                    s.liveEvictableBytes += b
                }
            }
            delta.touched.removeAll(keepingCapacity: true)
            try evictIfAbove(&s, scanned: scanned)
        }
    }

    /// After the last merge: `evict-sys-memory-pct`. Index entries stay until the supervisor
    /// removes them, so the machine's memory cannot fall during the scan; when it is above the
    /// threshold as the scan ends, one nsup cycle's share (`evict-tenths-pct` of the winners) of
    /// the soonest void times goes, and the supervisor goes on from there.
    func finish(scanned: Int) throws {
        try state.withLock { s in try evictIfAbove(&s, scanned: scanned, scanDone: true) }
    }

    private func evictIfAbove(_ s: inout State, scanned: Int, scanDone: Bool = false) throws {
        let usedBytes = s.fixedBytes + s.liveEvictableBytes
        let entries = s.fixedEntries + s.liveEvictableEntries
        var reasons: [String] = []
        var targetBytes = Int.max
        var targetEntries = Int.max
        var targetEvictions = 0
        if let limit = policy.usedBytesLimit, usedBytes > Int(limit) {
            reasons.append("live bytes \(usedBytes) > evict-used-pct limit \(limit)")
            targetBytes = Int(limit) - Int(limit / 100)
        }
        if let limit = policy.liveEntriesLimit, entries > limit {
            reasons.append("records \(entries) > evict-indexes-memory-pct limit \(limit)")
            targetEntries = limit - limit / 100
        }
        if scanDone && policy.sysMemoryPct > 0, let used = policy.sysMemoryUsedPct(), used > Double(policy.sysMemoryPct) {
            targetEvictions = max(1, entries * policy.tenthsPct / 1000)
            reasons.append(String(format: "system memory used %.1f%% > evict-sys-memory-pct %d", used, policy.sysMemoryPct))
        }
        guard !reasons.isEmpty else { return }
        var k = s.evictedBuckets
        var freedBytes = 0, freedEntries = 0
        while k < ColdStartVoidTimeBuckets.count
            && (usedBytes - freedBytes > targetBytes || entries - freedEntries > targetEntries || freedEntries < targetEvictions)
        {
            freedBytes += s.bytes[k]
            freedEntries += s.counts[k]
            k += 1
        }
        // Only up to the last bucket that holds anything (an empty tail evicts nothing).
        while k > s.evictedBuckets && s.counts[k - 1] == 0 { k -= 1 }
        guard k > s.evictedBuckets, freedEntries > 0 else {
            if !s.exhaustedLogged {
                s.exhaustedLogged = true
                log("cold start: namespace \(namespaceName): \(reasons.joined(separator: ", ")) after \(scanned) records; "
                    + "nothing evictable left (records without TTL, or in disable-eviction sets)")
            }
            return
        }
        let voidTime = buckets.upperVoidTime(ofBucket: k - 1)
        try raise(voidTime, markLutMs)  // durable before anything counts as evicted
        s.evictedBuckets = k
        s.markVoidTime = voidTime
        s.raises += 1
        s.evicted += freedEntries
        s.evictedBytes += freedBytes
        s.liveEvictableEntries -= freedEntries
        s.liveEvictableBytes -= freedBytes
        log("cold start: namespace \(namespaceName): \(reasons.joined(separator: ", ")) after \(scanned) records; "
            + "evicted \(freedEntries) records (\(freedBytes) bytes) with void times up to \(voidTime); "
            + "\(s.evicted) evicted so far")
    }

    /// What the scan evicted: records the final mark hides, and the mark's void time (0: none).
    public var outcome: (evicted: Int, evictedBytes: Int, voidTime: UInt32, raises: Int) {
        state.withLock { ($0.evicted, $0.evictedBytes, $0.markVoidTime, $0.raises) }
    }
}
