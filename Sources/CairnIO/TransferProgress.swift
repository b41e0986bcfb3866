#if canImport(Glibc)
import Glibc
#endif

/// How one CQE moves a read or write along: the rule shared by ``RingQueue`` and ``RingReads``.
///
/// EINTR and EAGAIN are resubmitted (up to ``RingQueue/transientRetriesMax`` attempts), a short
/// transfer is resubmitted for the rest, 0 bytes is a short-transfer failure, EACCES/EPERM are
/// permission failures and anything else a system failure. EBADF and EFAULT on a validated
/// request are bugs in Cairn and trap.
struct TransferProgress {
    var doneBytes = 0
    var attempts = 0

    enum Step: Equatable {
        /// Prepare the request again for the bytes not done yet.
        case resubmit
        case done
        case failed(IOError.Kind, errno: Int32)
    }

    /// Applies the completion `result` of a transfer of `lengthBytes` (0 for a data sync).
    mutating func apply(result: Int32, lengthBytes: Int, describe: () -> String) -> Step {
        if result < 0 {
            let code = -result
            if code == EINTR || code == EAGAIN {
                attempts += 1
                return attempts < RingQueue.transientRetriesMax ? .resubmit : .failed(.retriesExhausted(attempts: attempts), errno: code)
            }
            precondition(code != EBADF && code != EFAULT, "\(describe()): errno \(code) on a validated request")
            return .failed((code == EACCES || code == EPERM) ? .permissionDenied : .system, errno: code)
        }
        guard lengthBytes > 0 else { return .done }
        if result == 0 { return .failed(.shortTransfer(transferredBytes: doneBytes), errno: 0) }
        doneBytes += Int(result)
        return doneBytes < lengthBytes ? .resubmit : .done
    }
}
