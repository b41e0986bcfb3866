import NIOCore

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
