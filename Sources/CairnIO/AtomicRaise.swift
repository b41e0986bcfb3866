import Synchronization

extension Atomic where Value == UInt64 {
    /// Raises the value to `target` if it is lower (a compare-exchange loop, acquire-release);
    /// never lowers it.
    /// Returns whether this call raised it.
    @discardableResult
    public func raise(to target: UInt64) -> Bool {
        var current = load(ordering: .relaxed)
        while current < target {
            let (exchanged, original) = compareExchange(expected: current, desired: target, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }
}
