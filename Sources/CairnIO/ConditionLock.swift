#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable guarding a value of type `State`.
///
/// `Synchronization.Mutex` has no condition variable; threads that must sleep until another
/// thread changes shared state (flushers, readers, commit waiters) use this. Waits use the
/// monotonic clock, so wall-clock jumps never stretch a `flush-max-ms` timer.
///
/// `@unchecked Sendable`: `state` is only touched inside `withLock` (pthread mutex held).
public final class ConditionLock<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var state: State

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

    /// Runs `body` with the lock held. `body` may call `wait` on the passed waiter.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout State, Waiter) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state, Waiter(cond: cond, mutex: mutex))
    }

    /// Runs `body` with the lock held.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Wakes one waiter.
    public func signal() { pthread_cond_signal(cond) }
    /// Wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Lets code inside `withLock` sleep (releasing the lock) until signalled or a deadline.
    public struct Waiter {
        fileprivate let cond: UnsafeMutablePointer<pthread_cond_t>
        fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>

        /// Sleeps until signalled (spurious wake-ups possible: re-check the condition).
        public func wait() { pthread_cond_wait(cond, mutex) }

        /// Sleeps until signalled or until `nanoseconds` have passed. Returns false on timeout.
        @discardableResult
        public func wait(timeoutNs nanoseconds: UInt64) -> Bool {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
            var deadline = timespec()
            deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            return pthread_cond_timedwait(cond, mutex, &deadline) == 0
        }
    }
}

/// Monotonic clock readings.
public enum MonotonicClock {
    public static func nowNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}
