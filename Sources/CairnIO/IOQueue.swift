/// An asynchronous queue of requests against one device, with up to `depth` requests in flight.
///
/// This is the seam between storage and the I/O backend: ``RingQueue`` runs it on io_uring;
/// `SimulatedDevice` in CairnTesting runs it in memory with seeded faults (reached through
/// ``DeviceQueue``, so storage code holds one concrete type). A queue is owned by one thread.
public protocol IOQueue: AnyObject {
    /// Maximum requests in flight.
    var depth: Int { get }
    /// Requests enqueued and not yet completed.
    var inFlightCount: Int { get }
    /// Validates and queues a request. Throws (and keeps nothing) when the request is invalid
    /// or `depth` requests are already in flight.
    func enqueue(_ request: IORequest) throws(IOError)
    /// Hands queued requests to the device without waiting.
    func submit() throws(IOError)
    /// Submits whatever is queued, waits until at least `minimum` requests have completed
    /// (clamped to `inFlightCount`), then appends every completed request to `completions`. Transient failures and short transfers
    /// are retried inside; only final outcomes come out.
    func reap(minimum: Int, into completions: inout [IOCompletion]) throws(IOError)
}

extension IOQueue {
    /// Runs `requests` with up to `depth` in flight, calling `onCompletion` for each as it
    /// completes (in completion order, which need not be request order). `onCompletion` may
    /// enqueue more requests. Returns after every request has completed. Errors thrown by
    /// `onCompletion` (or by the queue) stop the run; requests still in flight stay in the queue
    /// (`drain` collects them).
    public func execute<S: Sequence<IORequest>>(
        _ requests: S, onCompletion: (IOCompletion) throws -> Void
    ) throws {
        var iterator = requests.makeIterator()
        var completions: [IOCompletion] = []
        completions.reserveCapacity(depth)
        var exhausted = false
        while true {
            while !exhausted && inFlightCount < depth {
                guard let next = iterator.next() else { exhausted = true; break }
                try enqueue(next)
            }
            if inFlightCount == 0 { return }
            // `reap` submits what is queued and waits in the same system call (io_uring_enter
            // with both to_submit and min_complete), so a separate `submit` would only add one.
            completions.removeAll(keepingCapacity: true)
            try reap(minimum: 1, into: &completions)
            for c in completions { try onCompletion(c) }
        }
    }

    /// Waits for every request in flight and appends their completions.
    public func drain(into completions: inout [IOCompletion]) throws(IOError) {
        while inFlightCount > 0 {
            try submit()
            try reap(minimum: inFlightCount, into: &completions)
        }
    }
}
