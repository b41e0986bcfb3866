import Foundation

/// Polls `condition` every 10 ms until it holds or `seconds` have passed, and returns whether it
/// held: for tests that wait on a background thread (a flusher's write or sync, defrag). The
/// caller asserts the answer (or the state it waited for) with its own message, so a slow
/// machine only makes the test wait longer, and a wait that never ends fails with that message
/// instead of hanging the suite.
@discardableResult
public func waitUntil(seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    precondition(seconds >= 0, "waitUntil: negative timeout \(seconds)")
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1_000_000_000)
    while true {
        if try condition() { return true }
        if DispatchTime.now().uptimeNanoseconds >= deadline { return false }
        usleep(10_000)
    }
}
