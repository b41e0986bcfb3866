/// The simulated side of the I/O seam (STYLE.md rule 14): what a ``BlockDevice`` made with
/// ``BlockDevice/simulated(path:medium:)`` does its I/O against instead of a file descriptor.
///
/// The production path pays one predictable branch per request (`medium == nil`), never a
/// witness-table call: only a simulated device dispatches through this protocol. The
/// implementation (`SimulatedDevice` in CairnTesting) keeps durable and volatile bytes apart and
/// injects seeded faults.
///
/// Requests reaching a medium were validated by the device first (alignment, bounds, buffer).
public protocol SimulatedMedium: AnyObject, Sendable {
    /// Usable bytes (a multiple of `alignmentBytes`).
    var sizeBytes: UInt64 { get }
    /// The device's alignment (power of two, at least 4096).
    var alignmentBytes: Int { get }
    /// A synchronous read (headers, tools, inline record reads).
    func transferSync(_ request: IORequest, path: String) throws(IOError)
    /// An fdatasync of the whole medium: every completed write becomes durable.
    func dataSync(path: String) throws(IOError)
    /// A queue whose completions the simulation controls (order, latency, faults).
    func makeQueue(depth: Int, path: String) -> any IOQueue
}

/// A device's request queue: io_uring for a real device, the medium's queue for a simulated one.
/// One branch per call, no existential dispatch on the real path. Owned by one thread.
public final class DeviceQueue: IOQueue {
    private enum Backend {
        case ring(RingQueue)
        case simulated(any IOQueue)
    }

    private let backend: Backend

    init(ring: RingQueue) { backend = .ring(ring) }
    init(simulated: any IOQueue) { backend = .simulated(simulated) }

    public var depth: Int {
        switch backend {
        case .ring(let q): return q.depth
        case .simulated(let q): return q.depth
        }
    }

    public var inFlightCount: Int {
        switch backend {
        case .ring(let q): return q.inFlightCount
        case .simulated(let q): return q.inFlightCount
        }
    }

    @inline(__always)
    public func enqueue(_ request: IORequest) throws(IOError) {
        switch backend {
        case .ring(let q): try q.enqueue(request)
        case .simulated(let q): try q.enqueue(request)
        }
    }

    @inline(__always)
    public func submit() throws(IOError) {
        switch backend {
        case .ring(let q): try q.submit()
        case .simulated(let q): try q.submit()
        }
    }

    @inline(__always)
    public func reap(minimum: Int, into completions: inout [IOCompletion]) throws(IOError) {
        switch backend {
        case .ring(let q): try q.reap(minimum: minimum, into: &completions)
        case .simulated(let q): try q.reap(minimum: minimum, into: &completions)
        }
    }
}
