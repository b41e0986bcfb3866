import CairnEngine
import CairnIO
import CairnWire
import Logging
import NIOCore

/// Turns one request frame into its reply (PROTOCOL.md §1, §2, §6.1).
///
/// A value shared by one connection's handler and the work it starts; it holds only `Sendable`
/// references. Single-record transactions and most info requests run on the connection's event
/// loop; batches, scans, record UDFs and the info commands that may block run on the thread pool.
struct RequestProcessor: Sendable {
    let context: ServerContext
    /// The server logger with this connection's client address.
    let logger: Logger
    /// Runs this connection's single-record commands: made once with the connection, so a
    /// transaction does not copy the context and the logger into a new one (a retain of the
    /// context, which every service thread shares, is a cache line moved between the cores).
    let executor: RecordExecutor

    init(context: ServerContext, logger: Logger) {
        self.context = context
        self.logger = logger
        executor = RecordExecutor(context: context, logger: logger)
    }

    // MARK: - Frames answered on the event loop

    /// Any admin frame: "security not enabled" (52), which the C client treats as a successful
    /// login without a session (§2.9).
    func answerAdmin() -> ReplyChunk {
        var writer = WireWriter(capacityBytes: ProtoHeaderSize.adminReplyBytes)
        writer.appendAdminReplyFrame(resultCode: .securityNotEnabled)
        return ReplyChunk(writer.bytes)
    }

    /// A compressed (type 4) message: ENTERPRISE_ONLY (25), as the community server answers
    /// (§1); Cairn does not inflate.
    func answerCompressed() -> ReplyChunk {
        context.counters.transactionErrors.add(1, ordering: .relaxed)
        return ReplyChunk(recordReplyBytes(.enterpriseOnly))
    }

    /// A message frame above the size limit, refused from its header: RECORD_TOO_BIG (13), then
    /// the connection closes (the body that follows cannot be skipped safely).
    func answerTooLarge() -> ReplyChunk {
        ReplyChunk(recordReplyBytes(.recordTooBig), closesConnection: true)
    }

    func noteRefusedFrame(_ error: FrameError) {
        context.counters.framesRefused.add(1, ordering: .relaxed)
        logger.warning("refused a frame header, closing the connection", metadata: ["reason": "\(error)"])
    }

    // MARK: - Frames answered on the event loop, or the thread pool when they may block

    /// An info request (§2), parsed: its commands, or nil when it is malformed (counted and
    /// logged; the answer is a close).
    func parseInfo(body: ByteBuffer) -> InfoRequest? {
        context.counters.infoRequests.add(1, ordering: .relaxed)
        do {
            return try body.withUnsafeReadableBytes { try InfoRequest.parse(body: $0) }
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            logger.warning("malformed info request, closing the connection", metadata: ["reason": "\(error)"])
            return nil
        }
    }

    /// The answer to a parsed info request: one line per request line, in request order.
    func answerInfo(_ request: InfoRequest) -> ReplyChunk {
        let answers = InfoResponder(context: context, logger: logger).answers(for: request)
        var writer = WireWriter(capacityBytes: 256)
        do {
            try writer.appendInfoReplyFrame(answers)
        } catch {
            // Every value is built from safe text; an unsafe one is a bug in a responder.
            preconditionFailure("info answer with a TAB or LF: \(error)")
        }
        return ReplyChunk(writer.bytes)
    }

    /// Info commands that may block (a durable header write, a walk of the whole index): their
    /// requests go to the thread pool; every other info request is answered on the event loop.
    static let blockingInfoCommands: Set<String> = ["truncate", "truncate-namespace", "sets", "set", "partition-info", "histogram", "set-config", "config-set"]

    // MARK: - One plan per frame, for both transports

    /// How a whole frame is answered; the epoll and io_uring transports each carry a plan out
    /// with their own I/O, so which frame type runs where is decided here only.
    enum FramePlan {
        /// Answered already: write it.
        case reply(ReplyChunk)
        /// Work that may block (a blocking info command): run it on the thread pool and write
        /// what it makes.
        case pool(@Sendable () -> ReplyChunk)
        /// A multi-frame reply whose chunks may be made without a waiting thread
        /// (``ReplyStream/runsWithoutWaiting``); otherwise on the thread pool.
        case stream(any ReplyStream)
        /// A single-record command: run it to completion on the thread that read it, with
        /// ``execute(_:body:resume:receiver:)``.
        case record(RecordCommand)
        /// A frame type no client sends to a service port: refuse it and close.
        case refuse(FrameError)
    }

    /// The plan for a frame of `type` with `body`; batches and scans continue through
    /// `streamResume` after their device reads. A message is decoded into `messageStorage`, the
    /// arrays the connection keeps from one request to the next (no allocation for its fields
    /// and ops).
    func plan(type: ProtoType, body: ByteBuffer, streamResume: Resume = .inline,
              messageStorage: inout Message.Storage) -> FramePlan {
        switch type {
        case .info:
            guard let request = parseInfo(body: body) else {
                return .reply(ReplyChunk(bytes: ByteBuffer(), closesConnection: true))
            }
            if request.commands.contains(where: { Self.blockingInfoCommands.contains($0.name) }) {
                return .pool { answerInfo(request) }
            }
            return .reply(answerInfo(request))
        case .message:
            switch route(body: body, streamResume: streamResume, messageStorage: &messageStorage) {
            case .reply(let chunk): return .reply(chunk)
            case .stream(let stream): return .stream(stream)
            case .record(let command):
                // A record UDF runs Lua for up to its time limit (1 s): on the thread pool, so the
                // other connections of this service thread are not held up behind it. Its device
                // reads and durability wait on that pool thread.
                if context.udf != nil && RecordExecutor.isUDF(command) {
                    return .pool {
                        waitForCallback { done in execute(command, body: body, resume: .inline, completion: done) }
                    }
                }
                return .record(command)
            }
        case .admin:
            return .reply(answerAdmin())
        case .compressedMessage:
            return .reply(answerCompressed())
        case .internalXDR:
            // FrameDecoder refuses type 5; reaching here would be a decoder change.
            return .refuse(.internalXDRType)
        }
    }

    /// Executes a single-record command (a ``FramePlan/record(_:)``), timed into its
    /// namespace's read or write histogram; `receiver` gets its outcome. See
    /// ``RecordExecutor/execute(_:body:resume:meter:receiver:)`` for the threads.
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume, receiver: any RecordOutcomeReceiver) {
        executor.execute(command, body: body, resume: resume,
                         meter: Self.transactionMeter(command, body: body, latencies: context.latencies),
                         receiver: receiver)
    }

    // MARK: - Helpers

    /// A single-record reply frame carrying only a result code (§6.2).
    func recordReplyBytes(_ resultCode: ResultCode) -> [UInt8] {
        var writer = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes)
        writer.appendRecordReplyFrame(resultCode: resultCode)
        return writer.bytes
    }
}

/// Sizes of the fixed-size replies, for buffer capacities.
enum ProtoHeaderSize {
    /// 8-byte proto header + 16-byte admin header.
    static let adminReplyBytes = ProtoHeader.sizeBytes + AdminHeader.sizeBytes
    /// 8-byte proto header + 22-byte as_msg header.
    static let recordReplyBytes = ProtoHeader.sizeBytes + MessageHeader.sizeBytes
}
