import Synchronization

// Raising an atomic to a value (a compare-exchange loop, acquire-release); never lowers it.
// `Atomic`'s load and compareExchange are not reachable through a generic `Comparable`
// constraint, so each width has its own two-line entry into the one loop below.

extension Atomic where Value == UInt64 {
    /// Raises the value to `target` if it is lower. Returns whether this call raised it.
    @discardableResult
    public func raise(to target: UInt64) -> Bool {
        raiseLoop(target, load: { load(ordering: .relaxed) },
                  exchange: { compareExchange(expected: $0, desired: $1, ordering: .acquiringAndReleasing) })
    }
}

extension Atomic where Value == UInt32 {
    /// Raises the value to `target` if it is lower. Returns whether this call raised it.
    @discardableResult
    public func raise(to target: UInt32) -> Bool {
        raiseLoop(target, load: { load(ordering: .relaxed) },
                  exchange: { compareExchange(expected: $0, desired: $1, ordering: .acquiringAndReleasing) })
    }
}

@inline(__always)
private func raiseLoop<T: Comparable>(_ target: T, load: () -> T, exchange: (T, T) -> (exchanged: Bool, original: T)) -> Bool {
    var current = load()
    while current < target {
        let (exchanged, original) = exchange(current, target)
        if exchanged { return true }
        current = original
    }
    return false
}
