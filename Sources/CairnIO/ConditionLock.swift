#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable guarding a value of type `State`.
///
/// `Synchronization.Mutex` has no condition variable; threads that must sleep until another
/// thread changes shared state (flushers, readers, commit waiters) use this. Waits use the
/// monotonic clock, so wall-clock jumps never stretch a `flush-max-ms` timer.
///
/// Waiting is only possible through `wait(until:then:)` and `withLockedScope`, where every read
/// of the state after a wait is a new access (`LockedScope.access`). Never wait while holding an
/// `inout` to the state: Swift treats an `inout` as exclusive for its whole duration, so an
/// optimised build may read it once and never see another thread's change (a hang in release
/// builds only).
///
/// `@unchecked Sendable`: `state` is only touched with the pthread mutex held.
public final class ConditionLock<State>: @unchecked Sendable {
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
    fileprivate let cond: UnsafeMutablePointer<pthread_cond_t>
    /// Unchecked by the runtime: every access holds the mutex, which already makes it exclusive
    /// (a body that took the lock again would deadlock before it could overlap), and the check
    /// was a runtime call per hold on the write path (`hack/bench-allocs --access`).
    @exclusivity(unchecked)
    fileprivate var state: State

    public init(_ initial: State) {
        state = initial
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(cond, &attr) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held. `body` must not wait.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Sleeps until `ready` holds (checked with the lock held, on a fresh read of the state each
    /// time), then runs `body` in the same lock hold.
    public func wait<R>(until ready: (inout State) -> Bool, then body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(&state) { pthread_cond_wait(cond, mutex) }
        return try body(&state)
    }

    /// Runs `body` with the lock held; `body` reads and writes the state only through
    /// `scope.access` and may `scope.wait()` between accesses.
    public func withLockedScope<R>(_ body: (LockedScope) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(LockedScope(owner: self))
    }

    /// Wakes one waiter.
    public func signal() { pthread_cond_signal(cond) }
    /// Wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// The lock held by `withLockedScope`: short accesses to the state, and waits between them.
    public struct LockedScope {
        fileprivate unowned(unsafe) let owner: ConditionLock<State>

        /// One access to the state (a new read of it: never cached across a `wait`).
        @inline(__always)
        public func access<T>(_ body: (inout State) throws -> T) rethrows -> T { try body(&owner.state) }

        /// Sleeps until signalled (spurious wake-ups possible: re-check with `access`).
        public func wait() { pthread_cond_wait(owner.cond, owner.mutex) }

        /// Sleeps until signalled or until `nanoseconds` have passed. Returns false on timeout.
        @discardableResult
        public func wait(timeoutNs nanoseconds: UInt64) -> Bool {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
            var deadline = timespec()
            deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            return pthread_cond_timedwait(owner.cond, owner.mutex, &deadline) == 0
        }
    }
}

/// Runs an operation that reports through a callback and blocks the calling thread until the
/// callback delivered its value (the synchronous face of the asynchronous device APIs).
public func waitForCallback<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
    let box = ConditionLock<T?>(nil)
    start { value in
        box.withLock { $0 = value }
        box.broadcast()
    }
    return box.wait(until: { $0 != nil }) { $0! }
}

/// Starts `count` operations that each report once through their callback (`start(i, done)`),
/// then blocks the calling thread once until all of them have reported; their values in index
/// order. The fan-out face of `waitForCallback` (a batch's rows, a scan's window of records).
public func waitForAll<T: Sendable>(_ count: Int, _ start: (Int, @escaping @Sendable (T) -> Void) -> Void) -> [T] {
    let slots = ConditionLock<(values: [T?], remaining: Int)>((Array(repeating: nil, count: count), count))
    for i in 0..<count {
        start(i) { value in
            let done = slots.withLock { s in
                s.values[i] = value
                s.remaining -= 1
                return s.remaining == 0
            }
            if done { slots.broadcast() }
        }
    }
    return slots.wait(until: { $0.remaining == 0 }) { s in s.values.map { $0! } }
}

/// Monotonic clock readings.
public enum MonotonicClock {
    public static func nowNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}
