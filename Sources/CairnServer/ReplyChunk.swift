import CairnIO
import NIOCore
import Synchronization

/// A piece of a reply, made on the thread pool and written whole by the connection's event loop.
///
/// A single-record or info reply is one chunk with no continuation. Batch and scan replies are
/// streams: each chunk carries one frame of bounded size (``ServerConfiguration/streamFrameBytesTarget``)
/// and the stream that makes the next one. The connection produces the next chunk only once the
/// previous one is written and the channel is writable, so a slow client never makes the server
/// buffer more than about one frame beyond the write watermark.
struct ReplyChunk: Sendable {
    /// Whole frames; never a partial frame (replies are never half-written).
    var bytes: ByteBuffer
    /// What produces the next chunk, or nil when the reply is complete.
    var next: (any ReplyStream)?
    /// Pause before producing the next chunk, in milliseconds (a scan's records-per-second
    /// throttle); 0 for none.
    var delayMs: Int64
    /// Close the connection once these bytes are written (the input stream cannot be trusted).
    var closesConnection: Bool

    init(bytes: ByteBuffer, next: (any ReplyStream)? = nil, delayMs: Int64 = 0, closesConnection: Bool = false) {
        self.bytes = bytes
        self.next = next
        self.delayMs = delayMs
        self.closesConnection = closesConnection
    }

    /// A complete reply made of `bytes`.
    init(_ bytes: [UInt8], closesConnection: Bool = false) {
        self.init(bytes: ByteBuffer(bytes: bytes), closesConnection: closesConnection)
    }
}

/// The rest of a multi-frame reply (batch rows, scan records). A value: each call returns the
/// following state in the chunk it makes, so no state is shared between threads.
protocol ReplyStream: Sendable {
    /// Makes the next chunk. Runs on the thread pool; may block on device reads.
    func nextChunk() -> ReplyChunk

    /// Whether ``nextChunk(hop:deliver:)`` makes its chunk with no thread waiting (its device
    /// I/O continues it), so a service thread can run it itself instead of the thread pool.
    var runsWithoutWaiting: Bool { get }

    /// Makes the next chunk and passes it to `deliver`, before returning when memory answers
    /// everything, else from the continuation of its I/O. Work that continues after I/O
    /// completed on another thread goes through `hop` (the caller's thread).
    func nextChunk(hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void)
}

/// Runs a stream's continuation on the thread that drives the stream.
typealias StreamHop = @Sendable (@escaping @Sendable () -> Void) -> Void

extension ReplyStream {
    var runsWithoutWaiting: Bool { false }

    func nextChunk(hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        deliver(nextChunk())
    }
}

/// The blocking form of a stream that makes its chunks without waiting (the thread pool, the
/// epoll transport): starts it, runs its continuations on this thread, and returns its chunk.
func waitForChunk(_ start: (@escaping StreamHop, @escaping @Sendable (ReplyChunk) -> Void) -> Void) -> ReplyChunk {
    let mailbox = ConditionLock<(work: [@Sendable () -> Void], chunk: ReplyChunk?)>(([], nil))
    start({ work in
        mailbox.withLock { $0.work.append(work) }
        mailbox.broadcast()
    }, { chunk in
        mailbox.withLock { $0.chunk = chunk }
        mailbox.broadcast()
    })
    while true {
        let (work, chunk) = mailbox.wait(until: { !$0.work.isEmpty || $0.chunk != nil }) { state in
            let work = state.work
            state.work.removeAll()
            return (work, state.chunk)
        }
        for item in work { item() }
        if let chunk { return chunk }
    }
}

/// The outcomes of a run of requests started together (a batch's rows, a scan's records), and
/// what continues once the last is in.
final class InFlightRun<Outcome: Sendable>: Sendable {
    private struct State {
        var outcomes: [Outcome?]
        /// Requests still running, plus one until every request has been started.
        var remaining: Int
        var continuation: (@Sendable ([Outcome]) -> Void)?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(outcomes: Array(repeating: nil, count: count), remaining: count + 1, continuation: nil))
    }

    /// One request's outcome, from whichever thread finished it.
    func complete(_ offset: Int, _ outcome: Outcome) {
        let ready = state.withLock { s -> (@Sendable ([Outcome]) -> Void, [Outcome])? in
            s.outcomes[offset] = outcome
            s.remaining -= 1
            guard s.remaining == 0, let continuation = s.continuation else { return nil }
            s.continuation = nil
            return (continuation, s.outcomes.map { $0! })
        }
        if let (continuation, outcomes) = ready { continuation(outcomes) }
    }

    /// Called once every request was started: the outcomes when all completed inline, else
    /// nil, and `continuation` gets them from the last completion.
    func startedAll(continuation: @escaping @Sendable ([Outcome]) -> Void) -> [Outcome]? {
        state.withLock { s in
            s.remaining -= 1
            if s.remaining == 0 { return s.outcomes.map { $0! } }
            s.continuation = continuation
            return nil
        }
    }
}
