import CairnEngine
import CairnWire
import NIOCore

/// How a type-3 message is answered (PROTOCOL.md §6.1).
enum MessageRoute {
    /// Answered already (a malformed message's error reply).
    case reply(ReplyChunk)
    /// A single-record command: executed on the connection's event loop, to completion or to
    /// its device I/O.
    case record(RecordCommand)
    /// A batch or a scan: a stream of frames produced on the thread pool.
    case stream
}

/// Routes a type-3 message to a single-record transaction, a batch or a scan (PROTOCOL.md §6.1).
struct MessageDispatcher {
    let processor: RequestProcessor

    /// Decodes `body` and says how to answer it. Cheap (no engine call): runs on the event loop.
    func route(body: ByteBuffer) -> MessageRoute {
        body.withUnsafeReadableBytes { raw -> MessageRoute in
            switch decode(raw) {
            case .malformed(let reply): return .reply(reply)
            case .message(let message):
                if message.header.info1.contains(.batch) || message.field(.digest) == nil { return .stream }
                return .record(RecordCommand(message: message))
            }
        }
    }

    private enum Decoded {
        case message(Message)
        /// The error reply of a malformed message.
        case malformed(ReplyChunk)
    }

    /// The decoded message, or the error reply of a malformed one (counted and logged).
    private func decode(_ raw: UnsafeRawBufferPointer) -> Decoded {
        do throws(MessageError) {
            return .message(try Message.decode(body: raw))
        } catch {
            processor.context.counters.malformedRequests.add(1, ordering: .relaxed)
            processor.logger.debug("malformed message", metadata: ["reason": "\(error)"])
            return .malformed(ReplyChunk(processor.recordReplyBytes(error.resultCode)))
        }
    }

    /// Executes a single-record command; `completion` gets its reply (see
    /// ``RecordExecutor/execute(_:body:resume:completion:)`` for the threads).
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume, completion: @escaping @Sendable (ReplyChunk) -> Void) {
        let executor = RecordExecutor(context: processor.context, logger: processor.logger)
        executor.execute(command, body: body, resume: resume) { outcome in
            var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes + outcome.bins.count * 32)
            writer.appendRecordReplyFrame(outcome)
            completion(ReplyChunk(writer.bytes))
        }
    }

    /// Executes a single-record command; `completion` gets its outcome, for a caller that encodes
    /// the reply straight into its own output (the io_uring service threads).
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume,
                 outcome completion: @escaping @Sendable (RecordOutcome) -> Void) {
        RecordExecutor(context: processor.context, logger: processor.logger)
            .execute(command, body: body, resume: resume, completion: completion)
    }

    /// The first chunk of a batch or scan reply (thread pool: rows and records may block on
    /// device reads).
    func answerStream(body: ByteBuffer, resume: Resume = .inline) -> ReplyChunk {
        let context = processor.context
        return body.withUnsafeReadableBytes { raw -> ReplyChunk in
            let message: Message
            switch decode(raw) {
            case .malformed(let reply): return reply
            case .message(let decoded): message = decoded
            }
            var executor = RecordExecutor(context: context, logger: processor.logger)
            executor.streamResume = resume
            if message.header.info1.contains(.batch) {
                return BatchReplyStream.start(
                    message: message, body: body, raw: raw, executor: executor,
                    frameBytesTarget: context.configuration.streamFrameBytesTarget)
            }
            return ScanReplyStream.start(message: message, raw: raw, context: context, logger: processor.logger, resume: resume)
        }
    }
}

extension ResultCode {
    /// The wire result code of an engine outcome (the engine uses Aerospike's codes).
    init(engine result: EngineResult) {
        self = ResultCode(rawValue: result.rawValue) ?? .serverError
    }
}
