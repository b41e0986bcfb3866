import CLiburing
import Foundation

/// Threads whose names reach the kernel, so `ps -L`, `top -H` and `perf` tell them apart.
///
/// Foundation's `Thread.name` stays inside Foundation on Linux: without this, a thread shows the
/// name of the thread that created it (a flusher started from a Dispatch worker showed as
/// `oot.default-qos` in profiles).
public enum NamedThread {
    /// Starts `body` on a new thread named `name` (the kernel keeps its first 15 bytes).
    @discardableResult
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) -> Thread {
        let thread = Thread {
            cairn_set_thread_name(name)
            body()
        }
        thread.name = name
        thread.start()
        return thread
    }
}
