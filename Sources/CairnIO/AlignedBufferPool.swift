import Synchronization

/// A bounded pool of equally sized ``AlignedBuffer``s.
///
/// Thread-safe: any thread may take and recycle. Buffers are allocated lazily up to `capacity`
/// and reused afterwards, so steady-state I/O allocates nothing. `outstandingCount` lets tests
/// prove that no error path keeps a buffer.
public final class AlignedBufferPool: Sendable {
    public let bufferSizeBytes: Int
    public let alignmentBytes: Int
    public let capacity: Int

    private struct State {
        var free: [AlignedBuffer] = []
        var allocatedCount = 0
        var outstandingCount = 0
    }

    private let state: Mutex<State>

    /// Whether buffers are allocated in mappings of their own (``AlignedBuffer/init(mappedCountBytes:alignmentBytes:)``).
    public let mapped: Bool

    public init(bufferSizeBytes: Int, alignmentBytes: Int, capacity: Int, mapped: Bool = false) {
        self.mapped = mapped
        precondition(capacity > 0, "pool capacity must be positive")
        precondition(alignmentBytes >= 512 && alignmentBytes & (alignmentBytes - 1) == 0, "bad alignment")
        precondition(bufferSizeBytes > 0 && bufferSizeBytes % alignmentBytes == 0, "size must be a multiple of alignment")
        self.bufferSizeBytes = bufferSizeBytes
        self.alignmentBytes = alignmentBytes
        self.capacity = capacity
        state = Mutex(State())
    }

    /// Takes a buffer, or throws `.poolExhausted` when all `capacity` buffers are out.
    /// A recycled buffer keeps its old content; callers that need zeros call `zero()`.
    public func take() throws(IOError) -> AlignedBuffer {
        let taken: AlignedBuffer?? = state.withLock { s in
            if let b = s.free.popLast() {
                s.outstandingCount += 1
                return .some(b)
            }
            if s.allocatedCount < capacity {
                s.allocatedCount += 1
                s.outstandingCount += 1
                return .some(nil)  // allocate outside the lock
            }
            return nil
        }
        switch taken {
        case .some(.some(let b)): return b
        case .some(.none):
            return mapped ? AlignedBuffer(mappedCountBytes: bufferSizeBytes, alignmentBytes: alignmentBytes)
                : AlignedBuffer(countBytes: bufferSizeBytes, alignmentBytes: alignmentBytes)
        case .none: throw IOError(.poolExhausted(capacity: capacity), operation: .allocate, path: "(buffer pool)")
        }
    }

    /// Takes a buffer if one is free or can still be allocated; nil when all are out.
    public func takeIfAvailable() -> AlignedBuffer? {
        do { return try take() } catch { return nil }  // exhaustion is the expected "no" here
    }

    /// Returns a buffer taken from this pool. Traps on a foreign buffer or a double recycle.
    public func recycle(_ buffer: AlignedBuffer) {
        precondition(buffer.countBytes == bufferSizeBytes && buffer.alignmentBytes == alignmentBytes,
                     "buffer does not belong to this pool")
        state.withLock { s in
            precondition(s.outstandingCount > 0, "recycle without a matching take")
            precondition(!s.free.contains { $0 === buffer }, "buffer recycled twice")
            s.outstandingCount -= 1
            s.free.append(buffer)
        }
    }

    /// Buffers currently taken and not yet recycled.
    public var outstandingCount: Int { state.withLock { $0.outstandingCount } }
    /// Buffers allocated so far (at most `capacity`).
    public var allocatedCount: Int { state.withLock { $0.allocatedCount } }
}
