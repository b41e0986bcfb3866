import Synchronization

/// The namespace parameters an operator may change while the namespace runs (`set-config`):
/// each holds an override of the value the namespace was opened with, or none.
///
/// Shared by every copy of one namespace's ``StorageOptions`` (a class held by the struct), so
/// the engine, the device writers and the info answers read the same value. Readers pay one
/// relaxed atomic load; nothing waits.
public final class RuntimeTunables: Sendable {
    public enum Key: Int, CaseIterable, Sendable {
        case defragLWMPct, stopWritesAvailPct, flushMaxMs, postWriteCacheBytes, defaultTTLSeconds, nsupPeriodSeconds
        case evictUsedPct, evictIndexesMemoryPct, evictSysMemoryPct, evictTenthsPct, evictHistBuckets
    }

    /// `Int.min`: not overridden.
    private static let unset = Int.min
    private let overrides: InlineArray<11, Atomic<Int>>

    public init() {
        overrides = InlineArray { _ in Atomic<Int>(RuntimeTunables.unset) }
    }

    /// The override of `key`, else `configured`.
    @inline(__always)
    public func value(_ key: Key, configured: Int) -> Int {
        let value = overrides[key.rawValue].load(ordering: .relaxed)
        return value == Self.unset ? configured : value
    }

    public func set(_ key: Key, to value: Int) {
        overrides[key.rawValue].store(value, ordering: .relaxed)
    }
}

extension StorageOptions {
    /// `defrag-lwm-pct` now (set-config may have changed it).
    public var currentDefragLWMPct: Int { tunables.value(.defragLWMPct, configured: defragLWMPct) }
    /// `stop-writes-avail-pct` now.
    public var currentStopWritesAvailPct: Int { tunables.value(.stopWritesAvailPct, configured: stopWritesAvailPct) }
    /// `flush-max-ms` now.
    public var currentFlushMaxMs: Int { tunables.value(.flushMaxMs, configured: flushMaxMs) }
    /// `post-write-cache` now (never above the configured size: the buffer pool is sized for it).
    public var currentPostWriteCacheBytes: Int { tunables.value(.postWriteCacheBytes, configured: postWriteCacheBytes) }
}
