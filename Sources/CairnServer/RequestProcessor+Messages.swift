import CairnEngine
import CairnIO
import CairnWire
import NIOCore

/// How a type-3 message is answered (PROTOCOL.md §6.1).
enum MessageRoute {
    /// Answered already (a malformed message's error reply).
    case reply(ReplyChunk)
    /// A single-record command: executed on the connection's event loop, to completion or to
    /// its device I/O.
    case record(RecordCommand)
    /// A batch or a scan: a stream of frames whose reads continue it from their own I/O (no
    /// waiting thread).
    case stream(any ReplyStream)
}

/// Routes a type-3 message to a single-record transaction, a batch or a scan (PROTOCOL.md §6.1).
///
/// An extension of the connection's processor, not a value made per message: a value holding
/// the processor would copy it, a retain of the server's context (which every service thread
/// shares) and of the connection's logger per transaction.
extension RequestProcessor {

    /// Decodes `body` and says how to answer it. Cheap (no engine call): runs on the event loop.
    /// A batch's rows continue through `streamResume` after their device I/O. The message is
    /// decoded into the connection's `messageStorage`.
    func route(body: ByteBuffer, streamResume: Resume = .inline, messageStorage: inout Message.Storage) -> MessageRoute {
        body.withUnsafeReadableBytes { raw -> MessageRoute in
            switch decode(raw, storage: &messageStorage) {
            case .malformed(let reply): return .reply(reply)
            case .message(let message):
                if message.header.info1.contains(.batch) || message.field(.digest) == nil {
                    return startStream(message, body: body, raw: raw, resume: streamResume)
                }
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
    private func decode(_ raw: UnsafeRawBufferPointer, storage: inout Message.Storage) -> Decoded {
        do throws(MessageError) {
            return .message(try Message.decode(body: raw, reusing: &storage))
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            logger.debug("malformed message", metadata: ["reason": "\(error)"])
            return .malformed(ReplyChunk(recordReplyBytes(error.resultCode)))
        }
    }

    /// Executes a single-record command; `completion` gets its reply (see
    /// ``RecordExecutor/execute(_:body:resume:meter:completion:)`` for the threads).
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume, completion: @escaping @Sendable (ReplyChunk) -> Void) {
        execute(command, body: body, resume: resume, receiver: OutcomeClosure { outcome in
            var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes + outcome.binCount * 32)
            writer.appendRecordReplyFrame(outcome)
            completion(ReplyChunk(writer.bytes))
        })
    }

    /// The read or write meter of a single-record command's namespace (nil when the namespace is
    /// missing or unknown; the command fails anyway). No allocation.
    static func transactionMeter(_ command: RecordCommand, body: ByteBuffer, latencies: LatencyBook) -> TransactionMeter? {
        guard let field = command.field(.namespace) else { return nil }
        let info2 = command.header.info2
        let kind: LatencyBook.Kind = RecordExecutor.isUDF(command) ? .udf : info2.contains(.write) ? .write : .read
        return body.withUnsafeReadableBytes { raw in
            guard field.dataRange.upperBound <= raw.count else { return nil }
            return latencies.meter(
                kind, isDelete: info2.contains(.delete), namespaceBytes: UnsafeRawBufferPointer(rebasing: raw[field.dataRange]))
        }
    }

    /// A decoded batch or scan, timed into the batch-index or the namespace's query histogram;
    /// its reads continue through `resume` (the caller's ring and thread). A request refused as
    /// a whole is answered at once.
    private func startStream(_ message: Message, body: ByteBuffer, raw: UnsafeRawBufferPointer,
                             resume: Resume) -> MessageRoute {
        let context = context
        let startNanoseconds = MonotonicClock.nowNs()
        let stream: any ReplyStream
        let histogram: LatencyHistogram?
        if message.header.info1.contains(.batch) {
            var executor = RecordExecutor(context: context, logger: logger)
            executor.streamResume = resume
            histogram = context.latencies.batchIndex
            switch BatchReplyStream.make(message: message, body: body, raw: raw, executor: executor,
                                         frameBytesTarget: context.configuration.streamFrameBytesTarget) {
            case .refused(let chunk):
                histogram?.record(since: startNanoseconds)
                return .reply(chunk)
            case .stream(let batch):
                stream = batch
            }
        } else {
            histogram = message.field(.namespace).flatMap { field -> LatencyHistogram? in
                guard field.dataRange.upperBound <= raw.count else { return nil }
                return context.latencies.histogram(.query, namespaceBytes: UnsafeRawBufferPointer(rebasing: raw[field.dataRange]))
            }
            let client = logger[metadataKey: "client"].map { "\($0)" } ?? ""
            let start = AggregationStream.isAggregation(message, raw: raw)
                ? AggregationStream.make(message: message, raw: raw, context: context, logger: logger)
                : ScanReplyStream.make(message: message, raw: raw, context: context, logger: logger, resume: resume,
                                       client: client)
            switch start {
            case .refused(let chunk):
                histogram?.record(since: startNanoseconds)
                return .reply(chunk)
            case .stream(let scan):
                stream = scan
            }
        }
        guard let histogram else { return .stream(stream) }
        return .stream(TimedReplyStream(inner: stream, histogram: histogram, startNanoseconds: startNanoseconds))
    }
}

/// Records a batch's or scan's latency (first request byte handled to last chunk made) in a
/// histogram: wraps each continuation until the chunk that ends the reply.
struct TimedReplyStream: ReplyStream {
    let inner: any ReplyStream
    let histogram: LatencyHistogram
    let startNanoseconds: UInt64

    func nextChunk() -> ReplyChunk {
        Self.timing(inner.nextChunk(), histogram: histogram, since: startNanoseconds)
    }

    var runsWithoutWaiting: Bool { inner.runsWithoutWaiting }

    func nextChunk(hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        inner.nextChunk(hop: hop) { [histogram, startNanoseconds] chunk in
            deliver(Self.timing(chunk, histogram: histogram, since: startNanoseconds))
        }
    }

    static func timing(_ chunk: ReplyChunk, histogram: LatencyHistogram, since startNanoseconds: UInt64) -> ReplyChunk {
        var chunk = chunk
        if let next = chunk.next {
            chunk.next = TimedReplyStream(inner: next, histogram: histogram, startNanoseconds: startNanoseconds)
        } else {
            histogram.record(since: startNanoseconds)
        }
        return chunk
    }
}

extension ResultCode {
    /// The wire result code of an engine outcome (the engine uses Aerospike's codes).
    init(engine result: EngineResult) {
        self = ResultCode(rawValue: result.rawValue) ?? .serverError
    }
}
