import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// An ``IOQueue`` on io_uring for one ``BlockDevice``.
///
/// Ownership: one thread (not `Sendable`). Every request in flight occupies one slot of a fixed
/// table (`depth` slots); the slot index is the io_uring user data, so a completion always finds
/// its request and buffer. The ring has at least `depth` SQEs, so preparing a request for a free
/// slot can never find the submission queue full, and the completion queue (twice the SQ) can
/// never overflow.
///
/// Inside `reap`: EINTR/EAGAIN completions are resubmitted (bounded), short reads and writes are
/// resubmitted for the remaining bytes, and only final outcomes come out. EBADF and EFAULT on a
/// validated request mean a bug in Cairn and trap.
public final class RingQueue: IOQueue {
    public let device: BlockDevice
    public let depth: Int
    public let ring: Ring
    public private(set) var inFlightCount = 0

    /// Bounded resubmissions of one request after EINTR/EAGAIN.
    public static let transientRetriesMax = 64

    private struct Slot {
        var request: IORequest?
        var progress = TransferProgress()
    }

    private var slots: [Slot]
    private var freeSlots: [Int]
    private let cqes: UnsafeMutableBufferPointer<cairn_cqe>

    /// The descriptor reads go to: the device's O_DIRECT one, or its buffered one.
    private let readFD: Int32

    init(device: BlockDevice, depth: Int, pageCacheReads: Bool = false) throws(IOError) {
        guard (1...4096).contains(depth) else {
            throw IOError(.invalidArgument("queue depth \(depth) outside 1...4096"), operation: .ringSetup, path: device.path)
        }
        self.device = device
        self.depth = depth
        readFD = pageCacheReads && device.pageCacheFD >= 0 ? device.pageCacheFD : device.fd
        ring = try Ring(entries: depth)
        slots = Array(repeating: Slot(), count: depth)
        freeSlots = Array((0..<depth).reversed())
        cqes = UnsafeMutableBufferPointer<cairn_cqe>.allocate(capacity: max(ring.completionEntries, depth))
    }

    deinit {
        // Requests still in flight reference buffers the kernel may be writing into: wait for
        // them before the buffers can be released.
        var ignored: [IOCompletion] = []
        while inFlightCount > 0 {
            do { try reap(minimum: inFlightCount, into: &ignored) } catch { break }
            ignored.removeAll()
        }
        cqes.deallocate()
    }

    /// Free SQE slots in the ring (tests use it to prove nothing leaks).
    public var submissionSpaceLeft: Int { ring.submissionSpaceLeft }
    /// SQEs prepared but not yet submitted.
    public var submissionReady: Int { ring.submissionReady }

    public func enqueue(_ request: IORequest) throws(IOError) {
        try device.admit(request, inFlightCount: inFlightCount, depth: depth)
        let index = freeSlots.removeLast()
        slots[index] = Slot(request: request)
        inFlightCount += 1
        prepare(slot: index)
    }

    public func submit() throws(IOError) {
        if ring.submissionReady > 0 { try ring.submit() }
    }

    public func reap(minimum: Int, into completions: inout [IOCompletion]) throws(IOError) {
        let target = min(max(minimum, 0), inFlightCount)
        var completed = 0
        // Nothing can be complete that was never submitted: submit and wait in one call.
        if target > 0 && ring.submissionReady == inFlightCount && ring.completionReady == 0 {
            try ring.submit(waitCount: 1)
        }
        while true {
            let n = ring.reap(into: cqes)
            for i in 0..<n {
                if let completion = handle(cqes[i]) {
                    completions.append(completion)
                    completed += 1
                }
            }
            if completed >= target {
                if ring.submissionReady > 0 { try ring.submit() }  // resubmissions
                return
            }
            // Not enough yet: submit whatever is prepared (including resubmissions) and wait.
            try ring.submit(waitCount: n == 0 ? 1 : 0)
        }
    }

    // MARK: - internals

    private func prepare(slot index: Int) {
        let slot = slots[index]
        let request = slot.request!
        let userData = UInt64(index)
        let ok: Bool
        switch request.kind {
        case .dataSync:
            ok = ring.prepareDataSync(fd: device.fd, userData: userData)
        case .read:
            let address = request.buffer!.unsafeBaseAddress + request.bufferOffset + slot.progress.doneBytes
            ok = ring.unsafePrepareRead(fd: readFD, address: address,
                                        lengthBytes: UInt32(request.lengthBytes - slot.progress.doneBytes),
                                        offset: request.offset + UInt64(slot.progress.doneBytes), userData: userData)
        case .write:
            let address = request.buffer!.unsafeBaseAddress + request.bufferOffset + slot.progress.doneBytes
            ok = ring.unsafePrepareWrite(fd: device.fd, address: UnsafeRawPointer(address),
                                         lengthBytes: UInt32(request.lengthBytes - slot.progress.doneBytes),
                                         offset: request.offset + UInt64(slot.progress.doneBytes),
                                         durable: request.durable && !device.dsync, userData: userData)
        }
        precondition(ok, "submission queue full with \(inFlightCount) of \(depth) slots in use: ring sized wrong")
    }

    /// Handles one CQE: returns the final completion, or nil when the request was resubmitted.
    private func handle(_ cqe: cairn_cqe) -> IOCompletion? {
        let index = Int(cqe.user_data)
        precondition(index < depth && slots[index].request != nil, "completion for unknown slot \(index)")
        let request = slots[index].request!
        var error: IOError?
        let length = request.kind == .dataSync ? 0 : request.lengthBytes
        switch slots[index].progress.apply(result: cqe.res, lengthBytes: length,
                                           describe: { "\(request.operation.rawValue) \(device.path) at \(request.offset)" }) {
        case .resubmit:
            prepare(slot: index)
            return nil
        case .done:
            break
        case .failed(let kind, let code):
            error = failure(request, kind, errno: code, index: index)
        }
        slots[index] = Slot()
        freeSlots.append(index)
        inFlightCount -= 1
        return IOCompletion(request: request, error: error)
    }

    private func failure(_ request: IORequest, _ kind: IOError.Kind, errno code: Int32, index: Int) -> IOError {
        let done = slots[index].progress.doneBytes
        return IOError(kind, operation: request.operation, path: device.path, offset: request.offset + UInt64(done),
                       lengthBytes: request.lengthBytes - done, errno: code)
    }
}
