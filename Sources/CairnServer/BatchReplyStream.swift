import CairnIO
import CairnWire
import NIOCore

/// Answers a batch-index request (PROTOCOL.md §8) row by row, in frames of bounded size.
///
/// Each row runs as the single-record command it describes (``RecordExecutor``), so reads,
/// exists, writes, operates and deletes in a batch behave exactly as their single-record forms.
/// Consecutive read rows run concurrently (many device reads in flight); a write row runs on
/// its own, in order.
/// Every row gets a reply row carrying its index in `transaction_ttl` (REPEAT rows included);
/// after the last row a frame with the LAST message ends the reply, as the real server sends it.
///
/// A value: each chunk returns the stream positioned after the rows it answered. The request
/// body stays referenced (the rows' field and op ranges point into it) until the last chunk.
struct BatchReplyStream: ReplyStream {
    let executor: RecordExecutor
    let body: ByteBuffer
    let request: BatchRequest
    /// Position in `request.rows` of the first row not answered yet.
    let nextRowPosition: Int
    let frameBytesTarget: Int
    /// The batch's filter expression: every row without one of its own is filtered by it.
    let filter: Field?

    /// What starting a batch gives: its stream, or the one-frame reply of a batch refused as a
    /// whole (LAST with the error, §8.2).
    enum Start {
        case stream(BatchReplyStream)
        case refused(ReplyChunk)
    }

    /// Decodes the batch in `message` (from `body`); nothing runs yet.
    static func make(
        message: Message,
        body: ByteBuffer,
        raw: UnsafeRawBufferPointer,
        executor: RecordExecutor,
        frameBytesTarget: Int
    ) -> Start {
        let context = executor.context
        context.counters.batchRequests.add(1, ordering: .relaxed)
        let request: BatchRequest
        do throws(MessageError) {
            request = try BatchRequest.decode(message: message, body: raw)
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            executor.logger.debug("malformed batch", metadata: ["reason": "\(error)"])
            return .refused(lastOnly(error.resultCode))
        }
        return .stream(BatchReplyStream(
            executor: executor, body: body, request: request, nextRowPosition: 0, frameBytesTarget: frameBytesTarget,
            filter: message.field(.filterExpression)))
    }

    var runsWithoutWaiting: Bool { true }

    /// Makes the next frame with no thread waiting: a run of rows starts at once, and the
    /// completion of its last row (a device read on the caller's ring, a durability callback)
    /// continues through `hop`. Rows answered from memory complete inline, and the frame is
    /// made in a loop, never by recursion.
    func nextChunk(hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        BatchFrameBuilder(stream: self, hop: hop, deliver: deliver).run()
    }

    /// The blocking form (the thread pool, the epoll transport).
    func nextChunk() -> ReplyChunk {
        waitForChunk { hop, deliver in nextChunk(hop: hop, deliver: deliver) }
    }

    /// Rows of one batch executing at once (their replies are written in request order).
    static let rowsInFlightMax = 128
    /// Rows started at once at the beginning of a frame, before their reply size is known.
    static let rowsInFlightFirst = 16

    /// A reply made of the LAST message alone, carrying `resultCode`.
    static func lastOnly(_ resultCode: ResultCode) -> ReplyChunk {
        var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes)
        writer.appendLastFrame(resultCode: resultCode)
        return ReplyChunk(writer.bytes)
    }
}

/// One frame of a batch reply in the making.
///
/// Runs on one thread at a time: the one that started it, then the one each window's
/// continuation hops to; the window's lock orders those hand-overs, which is why the type may be
/// `@unchecked Sendable`.
private final class BatchFrameBuilder: @unchecked Sendable {
    let stream: BatchReplyStream
    let hop: StreamHop
    let deliver: @Sendable (ReplyChunk) -> Void
    var writer: WireWriter
    var position: Int
    var rowsInFrame = 0

    init(stream: BatchReplyStream, hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        self.stream = stream
        self.hop = hop
        self.deliver = deliver
        writer = WireWriter(capacityBytes: stream.frameBytesTarget + stream.frameBytesTarget / 8)
        writer.beginFrame(.message)
        position = stream.nextRowPosition
    }

    func run() {
        let rows = stream.request.rows
        let target = stream.frameBytesTarget
        while position < rows.count {
            if rowsInFrame > 0, let sizeBytes = writer.openFrameBodySizeBytes, sizeBytes >= target { break }
            // A run of reads executes concurrently (each with its device read in flight); a
            // write row runs alone, after the rows before it, so rows that write a key another
            // row reads keep their request order. The run is sized from the rows so far to end
            // the frame near its byte target.
            let frameBytes = writer.openFrameBodySizeBytes ?? 0
            var window = BatchReplyStream.rowsInFlightFirst
            if rowsInFrame > 0 {
                let rowBytes = max(1, frameBytes / rowsInFrame)
                window = max(1, min(BatchReplyStream.rowsInFlightMax, (target - frameBytes) / rowBytes + 1))
            }
            var end = position + 1
            if !rows[position].info2.contains(.write) {
                while end < rows.count && end - position < window && !rows[end].info2.contains(.write) {
                    end += 1
                }
            }
            let started = InFlightRun<RecordOutcome>(count: end - position)
            for (offset, row) in rows[position..<end].enumerated() {
                let command = RecordCommand(row: row, transactionTTL: stream.request.transactionTTL, filter: stream.filter)
                let latencies = stream.executor.context.latencies
                let body = stream.body
                stream.executor.execute(command, body: body, resume: stream.executor.streamResume,
                                        receiver: OutcomeClosure { outcome in
                    body.withUnsafeReadableBytes { raw in
                        latencies.noteBatchSub(command, body: raw, resultCodeRaw: outcome.resultCode.rawValue)
                    }
                    started.complete(offset, outcome)
                })
            }
            let inline = started.startedAll { [self] outcomes in
                hop { [self] in
                    append(outcomes)
                    run()
                }
            }
            // Some row is waiting for I/O: its completion continues the frame.
            guard let outcomes = inline else { return }
            append(outcomes)
        }
        finish()
    }

    private func append(_ outcomes: [RecordOutcome]) {
        let rows = stream.request.rows
        for (offset, outcome) in outcomes.enumerated() {
            writer.appendBatchReplyRow(index: rows[position + offset].index, outcome)
        }
        rowsInFrame += outcomes.count
        position += outcomes.count
    }

    private func finish() {
        writer.endFrame()
        guard position < stream.request.rows.count else {
            writer.appendLastFrame(resultCode: .ok)
            return deliver(ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes)))
        }
        let next = BatchReplyStream(
            executor: stream.executor, body: stream.body, request: stream.request, nextRowPosition: position,
            frameBytesTarget: stream.frameBytesTarget, filter: stream.filter)
        deliver(ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes), next: next))
    }
}
