import CairnIO

/// The monotonic clock, for durations in logs and reports.
enum MonotonicClockShim {
    static func nowNs() -> UInt64 { MonotonicClock.nowNs() }
}
