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

    /// Starts answering `message` (decoded from `body`), or returns the one-frame reply of a
    /// batch refused as a whole (LAST with the error, §8.2).
    static func start(
        message: Message,
        body: ByteBuffer,
        raw: UnsafeRawBufferPointer,
        executor: RecordExecutor,
        frameBytesTarget: Int
    ) -> ReplyChunk {
        let context = executor.context
        context.counters.batchRequests.add(1, ordering: .relaxed)
        let request: BatchRequest
        do throws(MessageError) {
            request = try BatchRequest.decode(message: message, body: raw)
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            executor.logger.debug("malformed batch", metadata: ["reason": "\(error)"])
            return lastOnly(error.resultCode)
        }
        let stream = BatchReplyStream(
            executor: executor, body: body, request: request, nextRowPosition: 0, frameBytesTarget: frameBytesTarget,
            filter: message.field(.filterExpression))
        return stream.nextChunk()
    }

    func nextChunk() -> ReplyChunk {
        body.withUnsafeReadableBytes { raw in
            var writer = WireWriter(capacityBytes: frameBytesTarget + frameBytesTarget / 8)
            writer.beginFrame(.message)
            var position = nextRowPosition
            var rowsInFrame = 0
            while position < request.rows.count {
                // A run of reads executes concurrently (each with its device read in flight); a
                // write row runs alone, after the rows before it, so rows that write a key
                // another row reads keep their request order. The run is sized from the rows
                // so far to end the frame near its byte target.
                let frameBytes = writer.openFrameBodySizeBytes ?? 0
                var window = Self.rowsInFlightFirst
                if rowsInFrame > 0 {
                    let rowBytes = max(1, frameBytes / rowsInFrame)
                    window = max(1, min(Self.rowsInFlightMax, (frameBytesTarget - frameBytes) / rowBytes + 1))
                }
                let first = request.rows[position]
                var end = position + 1
                if !first.info2.contains(.write) {
                    while end < request.rows.count && end - position < window
                        && !request.rows[end].info2.contains(.write)
                    {
                        end += 1
                    }
                }
                let commands = request.rows[position..<end].map {
                    RecordCommand(row: $0, transactionTTL: request.transactionTTL, filter: filter)
                }
                let outcomes = Self.executeConcurrently(commands, executor: executor, body: body)
                for (row, outcome) in zip(request.rows[position..<end], outcomes) {
                    writer.appendBatchReplyRow(index: row.index, outcome)
                }
                for (command, outcome) in zip(commands, outcomes) {
                    executor.context.latencies.noteBatchSub(command, body: raw, resultCodeRaw: outcome.resultCode.rawValue)
                }
                rowsInFrame += end - position
                position = end
                if let sizeBytes = writer.openFrameBodySizeBytes, sizeBytes >= frameBytesTarget { break }
            }
            writer.endFrame()
            guard position < request.rows.count else {
                writer.appendLastFrame(resultCode: .ok)
                return ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes))
            }
            let next = BatchReplyStream(
                executor: executor, body: body, request: request, nextRowPosition: position, frameBytesTarget: frameBytesTarget,
                filter: filter)
            return ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes), next: next)
        }
    }

    /// Rows of one batch executing at once (their replies are written in request order).
    static let rowsInFlightMax = 128
    /// Rows started at once at the beginning of a frame, before their reply size is known.
    static let rowsInFlightFirst = 16

    /// Starts every command at once and waits (once) for all of their outcomes, in order.
    static func executeConcurrently(_ commands: [RecordCommand], executor: RecordExecutor, body: ByteBuffer) -> [RecordOutcome] {
        waitForAll(commands.count) { i, done in
            executor.execute(commands[i], body: body, resume: executor.streamResume, completion: done)
        }
    }

    /// A reply made of the LAST message alone, carrying `resultCode`.
    static func lastOnly(_ resultCode: ResultCode) -> ReplyChunk {
        var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes)
        writer.appendLastFrame(resultCode: resultCode)
        return ReplyChunk(writer.bytes)
    }
}
