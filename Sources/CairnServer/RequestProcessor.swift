import CairnWire
import Logging
import NIOCore

/// Turns one request frame into its reply (PROTOCOL.md §1, §2, §6.1).
///
/// A value shared by one connection's handler and the thread-pool work it submits; it holds only
/// `Sendable` references. The `answer…` methods that may touch the engine run on the thread pool;
/// the others are cheap and run on the event loop.
struct RequestProcessor: Sendable {
    let context: ServerContext
    /// The server logger with this connection's client address.
    let logger: Logger

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

    // MARK: - Frames answered on the thread pool

    /// An info request (§2): one answer line per request line, in request order.
    func answerInfo(body: ByteBuffer) -> ReplyChunk {
        context.counters.infoRequests.add(1, ordering: .relaxed)
        let request: InfoRequest
        do {
            request = try body.withUnsafeReadableBytes { try InfoRequest.parse(body: $0) }
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            logger.warning("malformed info request, closing the connection", metadata: ["reason": "\(error)"])
            return ReplyChunk(bytes: ByteBuffer(), closesConnection: true)
        }
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

    /// A type-3 message (§6.1): single-record transaction, batch or scan.
    func answerMessage(body: ByteBuffer) -> ReplyChunk {
        MessageDispatcher(processor: self).answer(body: body)
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
