import CairnEngine
import CairnWire
import NIOCore

/// Routes a type-3 message to a single-record transaction, a batch or a scan (PROTOCOL.md §6.1).
struct MessageDispatcher {
    let processor: RequestProcessor

    func answer(body: ByteBuffer) -> ReplyChunk {
        let context = processor.context
        return body.withUnsafeReadableBytes { raw -> ReplyChunk in
            let message: Message
            do throws(MessageError) {
                message = try Message.decode(body: raw)
            } catch {
                context.counters.malformedRequests.add(1, ordering: .relaxed)
                processor.logger.debug("malformed message", metadata: ["reason": "\(error)"])
                return ReplyChunk(processor.recordReplyBytes(error.resultCode))
            }
            let executor = RecordExecutor(context: context, logger: processor.logger)
            let frameBytesTarget = context.configuration.streamFrameBytesTarget
            if message.header.info1.contains(.batch) {
                return BatchReplyStream.start(
                    message: message, body: body, raw: raw, executor: executor, frameBytesTarget: frameBytesTarget)
            }
            if message.field(.digest) == nil {
                return ScanReplyStream.start(message: message, raw: raw, context: context, logger: processor.logger)
            }
            let outcome = executor.execute(RecordCommand(message: message), body: raw)
            var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes + outcome.bins.count * 32)
            writer.appendRecordReplyFrame(outcome)
            return ReplyChunk(writer.bytes)
        }
    }
}

extension ResultCode {
    /// The wire result code of an engine outcome (the engine uses Aerospike's codes).
    init(engine result: EngineResult) {
        self = ResultCode(rawValue: result.rawValue) ?? .serverError
    }
}
