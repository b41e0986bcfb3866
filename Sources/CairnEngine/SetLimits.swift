import CairnIO
import CairnIndex
import Foundation
import Synchronization

/// The `set NAME { … }` settings of a namespace (config `set` stanzas).
public struct SetPolicy: Sendable, Equatable {
    /// `default-ttl` for writes to this set that give no TTL; nil: the namespace's.
    public var defaultTTLSeconds: UInt32?
    /// `stop-writes-count`: most records the set may hold; a write creating one more is refused
    /// with FORBIDDEN (22), as Aerospike does. 0 = no limit.
    public var stopWritesCount: Int
    /// `disable-eviction`: the set's records are never evicted.
    public var disableEviction: Bool

    public init(defaultTTLSeconds: UInt32? = nil, stopWritesCount: Int = 0, disableEviction: Bool = false) {
        self.defaultTTLSeconds = defaultTTLSeconds
        self.stopWritesCount = stopWritesCount
        self.disableEviction = disableEviction
    }
}

/// The set parameters an operator changed while the namespace runs (`set-config` with `set=`),
/// by set id: one slot per possible set (1...``NameRegistry/setCountMax``) and parameter. Shared
/// by every copy of one namespace's ``NamespaceOptions`` (a class held by the struct). Readers
/// pay one relaxed atomic load; nothing waits, nothing allocates.
public final class SetTunables: Sendable {
    public enum Key: Int, CaseIterable, Sendable {
        /// Seconds (0: the set's records never expire).
        case defaultTTLSeconds
        case stopWritesCount
        /// 0 or 1.
        case disableEviction
    }

    /// `Int.min`: not overridden (the configured value applies).
    static let unset = Int.min
    static let slots = NameRegistry.setCountMax + 1
    private let defaultTTL: InlineArray<1024, Atomic<Int>>
    private let stopWrites: InlineArray<1024, Atomic<Int>>
    private let noEviction: InlineArray<1024, Atomic<Int>>
    /// Whether any override was ever set (lets eviction skip set lookups when none was).
    private let anySet = Atomic<Bool>(false)

    public init() {
        defaultTTL = InlineArray { _ in Atomic<Int>(SetTunables.unset) }
        stopWrites = InlineArray { _ in Atomic<Int>(SetTunables.unset) }
        noEviction = InlineArray { _ in Atomic<Int>(SetTunables.unset) }
    }

    /// The override of `key` for set `setID`, or nil.
    @inline(__always)
    public func value(_ key: Key, setID: UInt16) -> Int? {
        guard setID != 0, Int(setID) < Self.slots else { return nil }
        let value: Int
        switch key {
        case .defaultTTLSeconds: value = defaultTTL[Int(setID)].load(ordering: .relaxed)
        case .stopWritesCount: value = stopWrites[Int(setID)].load(ordering: .relaxed)
        case .disableEviction: value = noEviction[Int(setID)].load(ordering: .relaxed)
        }
        return value == Self.unset ? nil : value
    }

    public func set(_ key: Key, setID: UInt16, to value: Int) {
        precondition(setID != 0 && Int(setID) < Self.slots, "set id \(setID)")
        switch key {
        case .defaultTTLSeconds: defaultTTL[Int(setID)].store(value, ordering: .relaxed)
        case .stopWritesCount: stopWrites[Int(setID)].store(value, ordering: .relaxed)
        case .disableEviction: noEviction[Int(setID)].store(value, ordering: .relaxed)
        }
        anySet.store(true, ordering: .relaxed)
    }

    public var isAnySet: Bool { anySet.load(ordering: .relaxed) }
}

extension NamespaceOptions {
    /// The default TTL that applies to a write to `setName` (id `setID`): the set's (set-config
    /// or config), else the namespace's.
    public func defaultTTLSeconds(forSet setName: String?, setID: UInt16) -> UInt32 {
        if let override = setTunables.value(.defaultTTLSeconds, setID: setID) { return UInt32(clamping: override) }
        if let setName, let ttl = setPolicies[setName]?.defaultTTLSeconds { return ttl }
        return currentDefaultTTLSeconds
    }

    /// The set's `disable-eviction` now.
    public func isEvictionDisabled(setName: String, setID: UInt16) -> Bool {
        if let override = setTunables.value(.disableEviction, setID: setID) { return override != 0 }
        return setPolicies[setName]?.disableEviction ?? false
    }

    /// Whether any set may have `disable-eviction` (config or set-config).
    var mayHaveEvictionExemptSets: Bool { !setPolicies.isEmpty || setTunables.isAnySet }

    /// The namespace's `default-ttl` now (set-config may have changed it).
    public var currentDefaultTTLSeconds: UInt32 {
        UInt32(clamping: storage.tunables.value(.defaultTTLSeconds, configured: Int(defaultTTLSeconds)))
    }

    /// The namespace's `nsup-period` now (set-config may have changed it; 0 pauses the passes).
    public var currentNsupPeriodSeconds: Int {
        storage.tunables.value(.nsupPeriodSeconds, configured: nsupPeriodSeconds)
    }

    /// The set's `stop-writes-count` now (0 = no limit).
    public func stopWritesCount(forSet setName: String?, setID: UInt16) -> Int {
        if let override = setTunables.value(.stopWritesCount, setID: setID) { return override }
        guard let setName else { return 0 }
        return setPolicies[setName]?.stopWritesCount ?? 0
    }
}

/// Enforces `stop-writes-count` without walking the index on a write: per limited set, a count
/// taken by a census of the index (at open, ``prime(_:)``) plus the records created since. When
/// that estimate reaches the limit, creates are refused (FORBIDDEN) and a recount runs in the
/// background (at most one at a time, at most once per `recountIntervalMs` per namespace), so
/// deletes, expiries and truncations free room once it has run. Sets without a limit cost one
/// dictionary lookup.
///
/// Thread-safety: a `Mutex` guards the counts; a census runs outside it.
public final class SetLimits: Sendable {
    struct Count {
        var counted: Int
        var createdSince: Int
    }

    struct State {
        var counts: [UInt16: Count] = [:]
        var recounting = false
        var countedAtMs: UInt64 = 0
    }

    static let recountIntervalMs: UInt64 = 1000
    private let state = Mutex(State())

    public init() {}

    /// Counts the records of every set with a `stop-writes-count` (one walk of the index).
    public func prime(_ namespace: Namespace) {
        let limited = namespace.options.setPolicies.filter { $0.value.stopWritesCount > 0 }.keys
            .compactMap { namespace.sets.id(for: $0) }
        guard !limited.isEmpty else { return }
        let nowMs = namespace.options.clockMs()
        let counted = namespace.liveObjectCounts(setIDs: Set(limited))
        state.withLock { s in
            for id in limited { s.counts[id] = Count(counted: counted[id] ?? 0, createdSince: 0) }
            s.countedAtMs = nowMs
        }
    }

    /// Counts set `setID` afresh (one walk of the index, on the caller's thread) before its
    /// limit changes (set-config): creates while it had no limit were not counted. A create
    /// admitted during the walk may be missed; the recount that a refusal starts catches it.
    public func recount(_ namespace: Namespace, setID: UInt16) {
        let nowMs = namespace.options.clockMs()
        let counted = namespace.liveObjectCounts(setIDs: [setID])
        state.withLock { s in
            s.counts[setID] = Count(counted: counted[setID] ?? 0, createdSince: 0)
            s.countedAtMs = max(s.countedAtMs, nowMs)
        }
    }

    /// Counts the records of set `setID` (one walk of the index), when it has no count yet.
    func prime(_ namespace: Namespace, setID: UInt16) {
        let nowMs = namespace.options.clockMs()
        let counted = namespace.liveObjectCounts(setIDs: [setID])
        state.withLock { s in
            if s.counts[setID] == nil { s.counts[setID] = Count(counted: counted[setID] ?? 0, createdSince: 0) }
            s.countedAtMs = max(s.countedAtMs, nowMs)
        }
    }

    /// Admits the creation of one record in `setName` (id `setID`) of `namespace`, or throws
    /// FORBIDDEN when the set holds its `stop-writes-count` by the latest count.
    func admitCreate(setName: String, setID: UInt16, namespace: Namespace) throws {
        let limit = namespace.options.stopWritesCount(forSet: setName, setID: setID)
        guard limit > 0 else { return }
        if state.withLock({ $0.counts[setID] == nil }) { prime(namespace, setID: setID) }  // not primed (tests), a new id, or a limit set by set-config
        let nowMs = namespace.options.clockMs()
        let (admitted, recount): (Bool, Bool) = state.withLock { s in
            var count = s.counts[setID] ?? Count(counted: 0, createdSince: 0)
            if count.counted + count.createdSince < limit {
                count.createdSince += 1
                s.counts[setID] = count
                return (true, false)
            }
            let recount = !s.recounting && nowMs &- s.countedAtMs >= Self.recountIntervalMs
            if recount { s.recounting = true }
            return (false, recount)
        }
        if admitted { return }
        if recount {
            NamedThread.start("cairn-set-count") { [self] in
                let start = namespace.options.clockMs()
                // Creates admitted before the walk are in it; those admitted during it may or may
                // not be: they stay counted (conservative) until the next recount.
                let before = state.withLock { $0.counts.mapValues(\.createdSince) }
                let counted = namespace.liveObjectCounts(setIDs: Set(before.keys))
                state.withLock { s in
                    for (id, createdBefore) in before {
                        let since = s.counts[id]?.createdSince ?? 0
                        s.counts[id] = Count(counted: counted[id] ?? 0, createdSince: max(0, since - createdBefore))
                    }
                    s.countedAtMs = start
                    s.recounting = false
                }
            }
        }
        throw EngineError(.forbidden, "set \(setName) of namespace \(namespace.options.name) holds its stop-writes-count \(limit) records")
    }
}

extension Namespace {
    /// Records (not tombstones, not expired, not truncated) of each set in `setIDs`, by one walk
    /// of the index.
    public func liveObjectCounts(setIDs: Set<UInt16>) -> [UInt16: Int] {
        let nowVoidTime = UInt32(truncatingIfNeeded: options.clockMs() / 1000)
        var truncateLutMs: [UInt16: UInt64] = [:]
        for id in setIDs { truncateLutMs[id] = storage.truncation.truncateLutMs(forSet: sets.name(for: id)) }
        var counts: [UInt16: Int] = [:]
        index.forEachRecord { record in
            guard let lut = truncateLutMs[record.setID], !record.flags.contains(.tombstone) else { return }
            if record.hasExpired(at: nowVoidTime) { return }
            if isEvicted(record) { return }
            if record.lastUpdateTimeMs > lut { counts[record.setID, default: 0] += 1 }
        }
        return counts
    }
}
