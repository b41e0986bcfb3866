import CairnWire
import NIOCore

/// Answers a batch-index request (PROTOCOL.md §8) row by row, in frames of bounded size.
///
/// Each row runs as the single-record command it describes (``RecordExecutor``), so reads,
/// exists, writes, operates and deletes in a batch behave exactly as their single-record forms.
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
        if message.field(.filterExpression) != nil {
            executor.logger.debug("batch refused: filter expressions are not supported")
            return lastOnly(.unsupportedFeature)
        }
        let request: BatchRequest
        do throws(MessageError) {
            request = try BatchRequest.decode(message: message, body: raw)
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            executor.logger.debug("malformed batch", metadata: ["reason": "\(error)"])
            return lastOnly(error.resultCode)
        }
        let stream = BatchReplyStream(
            executor: executor, body: body, request: request, nextRowPosition: 0, frameBytesTarget: frameBytesTarget)
        return stream.nextChunk()
    }

    func nextChunk() -> ReplyChunk {
        body.withUnsafeReadableBytes { raw in
            var writer = WireWriter(capacityBytes: frameBytesTarget + frameBytesTarget / 8)
            writer.beginFrame(.message)
            var position = nextRowPosition
            while position < request.rows.count {
                let row = request.rows[position]
                let outcome = executor.executeBlocking(RecordCommand(row: row, transactionTTL: request.transactionTTL), body: body)
                writer.appendBatchReplyRow(index: row.index, outcome)
                position += 1
                if let sizeBytes = writer.openFrameBodySizeBytes, sizeBytes >= frameBytesTarget { break }
            }
            writer.endFrame()
            guard position < request.rows.count else {
                writer.appendLastFrame(resultCode: .ok)
                return ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes))
            }
            let next = BatchReplyStream(
                executor: executor, body: body, request: request, nextRowPosition: position, frameBytesTarget: frameBytesTarget)
            return ReplyChunk(bytes: ByteBuffer(bytes: writer.bytes), next: next)
        }
    }

    /// A reply made of the LAST message alone, carrying `resultCode`.
    static func lastOnly(_ resultCode: ResultCode) -> ReplyChunk {
        var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes)
        writer.appendLastFrame(resultCode: resultCode)
        return ReplyChunk(writer.bytes)
    }
}
