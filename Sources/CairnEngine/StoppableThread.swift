import CairnIO
import Foundation

/// A named background thread that runs until `stop()`: the defragmenter and the expiry
/// supervisor. `stop()` returns only once the thread has finished, and `pause` sleeps until a
/// deadline or a stop, whichever comes first.
final class StoppableThread: Sendable {
    private let control = ConditionLock((stop: false, finished: true))
    let name: String

    init(name: String) { self.name = name }

    /// Starts the thread running `body`, which should return soon after `isStopping` turns true.
    func start(_ body: @escaping @Sendable () -> Void) {
        control.withLock { $0 = (stop: false, finished: false) }
        let control = self.control
        NamedThread.start(name) {
            body()
            control.withLock { $0.finished = true }
            control.broadcast()
        }
    }

    /// Asks the thread to stop and waits until it has.
    func stop() {
        control.withLock { $0.stop = true }
        control.broadcast()
        control.wait(until: { $0.finished }) { _ in }
    }

    var isStopping: Bool { control.withLock { $0.stop } }

    /// Sleeps up to `ns`, returning early on a stop; true when stopping.
    @discardableResult
    func pause(ns: UInt64) -> Bool {
        control.withLockedScope { scope in
            if !scope.access({ $0.stop }) { _ = scope.wait(timeoutNs: ns) }
            return scope.access { $0.stop }
        }
    }
}
