import CairnEngine
import CairnStorage
import CairnWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Asks a connection to finish what it has received and close (sent by ``CairnServer/stop()``).
struct DrainConnectionEvent: Sendable {}

/// The record and write memory of each event loop's thread (the epoll model), made on that
/// thread the first time one of its connections starts: a connection's transactions decode
/// records and build writes in it, as an io_uring service thread's do, instead of in fresh
/// arrays. One per loop, not per connection (a thread's kept values can reach 2 MiB).
final class LoopScratches: Sendable {
    private let byLoop = Mutex<[ObjectIdentifier: (RecordScratch, OperationScratch)]>([:])

    /// The calling loop's memory; call on `loop`'s thread.
    func current(_ loop: any EventLoop) -> (RecordScratch, OperationScratch) {
        precondition(loop.inEventLoop, "loop scratch taken off its loop")
        return byLoop.withLock { all in
            if let made = all[ObjectIdentifier(loop)] { return made }
            let made = (RecordScratch(), OperationScratch())
            all[ObjectIdentifier(loop)] = made
            return made
        }
    }
}

/// Answers the requests of one client connection, strictly in arrival order.
///
/// Owned by one channel pipeline; every method runs on that channel's event loop. Requests are
/// queued as they arrive and handled one at a time. A single-record transaction runs on this
/// event loop to completion (or to its device I/O, whose completion resumes it here), and so
/// do info requests; batches, scans and the info commands that may block run on the thread
/// pool, and their replies come back to the event loop to be written whole. So pipelined
/// requests are answered in order and a reply is never interleaved with another.
///
/// Back-pressure, both ways:
/// - input: once ``ServerConfiguration/pipelinedRequestCountMax`` requests wait, `read` is held
///   back until the queue shrinks; no new request is started while the channel is not writable
///   (a client that pipelines without reading its replies);
/// - output: a batch or scan produces its next frame only when the previous one is written and
///   the channel is writable (below the high write watermark), else it pauses until
///   `channelWritabilityChanged`.
///
/// States: idle (nothing running) → busy (one request or stream in progress) → idle …; draining
/// (server stopping: read nothing more, answer what is queued, stop streams at a frame boundary,
/// then close); closed (channel inactive: drop everything, late results are discarded).
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long a refused connection keeps reading (and discarding) after its last reply before
    /// it is closed, so the client can read the reply instead of getting a reset.
    static let refusalLingerMs: Int64 = 2_000

    private let processor: RequestProcessor
    /// Continues on this connection's event loop, with that loop's record and write memory
    /// (made once per connection, not per transaction).
    private let resume: Resume
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let pipelinedRequestCountMax: Int

    private var queue = CircularBuffer<InboundFrame>()
    private var isBusy = false
    private var isReadHeld = false
    private var isDraining = false
    private var isClosed = false
    /// The output is closed after a refusal; input is read and discarded until the close.
    private var isLingering = false
    /// `processNext` is on the stack (guards against re-entry from synchronous replies).
    private var isInProcessLoop = false
    /// A stream waiting for the channel to become writable.
    private var pausedStream: (any ReplyStream)?
    /// The current message's field and op arrays, reused by the next request.
    private var messageStorage = Message.Storage()
    /// Receives this connection's single-record outcomes (made at its first, kept until the
    /// channel goes inactive): no closure, box or wrapper per transaction.
    private var recordReceiver: EpollRecordReceiver?
    /// `execute` is on the stack: an outcome now completed inline, one after it was resumed.
    fileprivate var isExecuting = false
    /// Single-record replies are encoded here, its capacity kept from one to the next.
    private var replyWriter = WireWriter(capacityBytes: 256)

    /// Made on `loop`'s thread (the channel initializer).
    init(processor: RequestProcessor, threadPool: NIOThreadPool, logger: Logger, loop: any EventLoop, scratches: LoopScratches) {
        let (records, operations) = scratches.current(loop)
        resume = Resume(records: records, operations: operations) { work in loop.execute(work) }
        self.processor = processor
        self.threadPool = threadPool
        self.logger = logger
        self.pipelinedRequestCountMax = processor.context.configuration.pipelinedRequestCountMax
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosed else { return }
        queue.append(unwrapInboundIn(data))
        processNext(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if let stream = pausedStream {
                pausedStream = nil
                produce(stream, context: context)
            } else {
                processNext(context: context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        queue.removeAll()
        pausedStream = nil
        // The receiver and this handler hold each other until here; a transaction still
        // pending keeps the receiver, which then finds the connection closed.
        recordReceiver = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is DrainConnectionEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        isDraining = true
        if pausedStream != nil {
            // A paused stream waits on a slow client; stop it at this frame boundary.
            close(context: context)
            return
        }
        if !isBusy && queue.isEmpty {
            close(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error, closing", metadata: ["error": "\(error)"])
        close(context: context)
    }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if !isLingering && (isDraining || queue.count >= pipelinedRequestCountMax) {
            isReadHeld = true
            return
        }
        context.read()
    }

    // MARK: - Request loop

    /// Starts queued requests until one is in progress (an engine or info request on the pool) or
    /// the queue is empty. A loop, not recursion: requests answered at once (admin, compressed)
    /// re-enter through `deliver`, which finds the loop running and returns to it.
    private func processNext(context: ChannelHandlerContext) {
        guard !isInProcessLoop else { return }
        isInProcessLoop = true
        defer { isInProcessLoop = false }
        // A client that sends without reading gets no new answers until it reads: then the queue
        // fills and reading stops, so its replies cannot pile up in memory.
        while !isBusy && !isClosed && context.channel.isWritable {
            guard let item = queue.popFirst() else {
                if isDraining { close(context: context) }
                return
            }
            if isReadHeld && !isDraining && queue.count < pipelinedRequestCountMax {
                isReadHeld = false
                context.read()
            }
            isBusy = true
            start(item, context: context)
        }
    }

    private func start(_ item: InboundFrame, context: ChannelHandlerContext) {
        switch item {
        case .refused(let error, let typeRaw):
            refuse(error, typeRaw: typeRaw, context: context)
        case .frame(let type, let body):
            switch processor.plan(type: type, body: body, messageStorage: &messageStorage) {
            case .reply(let chunk):
                deliver(chunk, context: context)
            case .pool(let work):
                runOnPool(context: context, work)
            case .stream(let stream):
                runOnPool(context: context) { stream.nextChunk() }
            case .record(let command):
                runToCompletion(command, body: body, context: context)
            case .refuse(let error):
                refuse(error, typeRaw: type.rawValue, context: context)
            }
        }
    }

    /// Executes a single-record command on this event loop (the thread that read it). It
    /// completes before `execute` returns when memory answers it; otherwise its device read or
    /// durability completion resumes it on this loop. Either way the reply is written here and no
    /// thread waits for the device.
    private func runToCompletion(_ command: RecordCommand, body: ByteBuffer, context: ChannelHandlerContext) {
        let receiver: EpollRecordReceiver
        if let kept = recordReceiver {
            receiver = kept
        } else {
            receiver = EpollRecordReceiver(handler: self, context: context, counters: processor.context.counters)
            recordReceiver = receiver
        }
        isExecuting = true
        processor.execute(command, body: body, resume: resume, receiver: receiver)
        isExecuting = false
    }

    /// Writes a single-record reply (``EpollRecordReceiver``), on the loop.
    fileprivate func deliverRecord(_ outcome: RecordOutcome, context: ChannelHandlerContext) {
        // Encoded in the connection's writer (its capacity kept), then copied once into a buffer
        // of the right size: NIO owns the buffer it writes.
        replyWriter.removeAll()
        replyWriter.appendRecordReplyFrame(outcome)
        var bytes = context.channel.allocator.buffer(capacity: replyWriter.sizeBytes)
        bytes.writeBytes(replyWriter.bytes)
        deliver(ReplyChunk(bytes: bytes), context: context)
    }

    /// Runs `work` on the thread pool and delivers its chunk on this event loop.
    private func runOnPool(context: ChannelHandlerContext, _ work: @escaping @Sendable () -> ReplyChunk) {
        processor.context.counters.threadPoolJobs.add(1, ordering: .relaxed)
        threadPool.runIfActive(eventLoop: context.eventLoop, work).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let chunk):
                self.deliver(chunk, context: context)
            case .failure(let error):
                // Only when the pool is shut down: the server is stopping.
                self.logger.debug("thread pool refused work, closing connection", metadata: ["error": "\(error)"])
                self.close(context: context)
            }
        }
    }

    /// Writes a chunk whole, then continues its stream or starts the next request.
    private func deliver(_ chunk: ReplyChunk, context: ChannelHandlerContext) {
        guard !isClosed else { return }
        context.writeAndFlush(wrapOutboundOut(chunk.bytes), promise: nil)
        if chunk.closesConnection {
            lingerThenClose(context: context)
            return
        }
        guard let next = chunk.next else {
            isBusy = false
            processNext(context: context)
            return
        }
        if isDraining {
            // Server stopping: a long stream ends at this frame boundary; the client retries.
            close(context: context)
            return
        }
        if chunk.delayMs > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(chunk.delayMs)) {
                self.continueStream(next, context: context)
            }
        } else {
            continueStream(next, context: context)
        }
    }

    private func continueStream(_ stream: any ReplyStream, context: ChannelHandlerContext) {
        guard !isClosed else { return }
        if context.channel.isWritable {
            produce(stream, context: context)
        } else {
            pausedStream = stream
        }
    }

    private func produce(_ stream: any ReplyStream, context: ChannelHandlerContext) {
        runOnPool(context: context) { stream.nextChunk() }
    }

    /// Handles a refused frame header: answers a too-large message frame with RECORD_TOO_BIG,
    /// then closes; anything else (bad version or type, TLS) is closed without an answer, since
    /// the client speaks something else.
    private func refuse(_ error: FrameError, typeRaw: UInt8?, context: ChannelHandlerContext) {
        processor.noteRefusedFrame(error)
        if case .bodyTooLarge = error, typeRaw == ProtoType.message.rawValue || typeRaw == ProtoType.compressedMessage.rawValue {
            deliver(processor.answerTooLarge(), context: context)
            return
        }
        close(context: context)
    }

    /// Closes the output after the last reply and reads (and discards) until the client closes
    /// or ``refusalLingerMs`` pass, so the client can read that reply.
    private func lingerThenClose(context: ChannelHandlerContext) {
        isLingering = true
        if isReadHeld {
            isReadHeld = false
            context.read()
        }
        context.close(mode: .output, promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Self.refusalLingerMs)) {
            self.close(context: context)
        }
    }

    private func close(context: ChannelHandlerContext) {
        guard !isClosed else { return }
        isClosed = true
        queue.removeAll()
        pausedStream = nil
        context.close(promise: nil)
    }
}

/// A connection's single-record outcomes, for the epoll model: the reply is written on the
/// connection's event loop, at once when the outcome arrives there (the transaction ran inline,
/// or its device I/O resumed it there), else after a hop onto it.
///
/// `@unchecked Sendable`: the handler and its context are touched only on their event loop,
/// which `receive` checks before using them.
private final class EpollRecordReceiver: RecordOutcomeReceiver, @unchecked Sendable {
    private let handler: ConnectionHandler
    private let context: ChannelHandlerContext
    private let loop: any EventLoop
    private let counters: ServerCounters

    init(handler: ConnectionHandler, context: ChannelHandlerContext, counters: ServerCounters) {
        self.handler = handler
        self.context = context
        self.loop = context.eventLoop
        self.counters = counters
    }

    func receive(_ outcome: RecordOutcome) {
        guard loop.inEventLoop else {
            // Only an engine path that skipped `resume` gets here; keep the reply on the loop.
            counters.transactionsOffThread.add(1, ordering: .relaxed)
            loop.execute { [self] in handler.deliverRecord(outcome, context: context) }
            return
        }
        // On the loop is on the thread that read the request: one loop, one thread.
        if handler.isExecuting {
            counters.transactionsInline.add(1, ordering: .relaxed)
        } else {
            counters.transactionsResumed.add(1, ordering: .relaxed)
        }
        handler.deliverRecord(outcome, context: context)
    }
}
