import CairnWire
import Logging
import NIOCore

/// Turns one request frame into its reply (PROTOCOL.md §1, §2, §6.1).
///
/// A value shared by one connection's handler and the work it starts; it holds only `Sendable`
/// references. Single-record transactions and most info requests run on the connection's event
/// loop; batches, scans and the info commands that may block run on the thread pool.
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

    // MARK: - Frames answered on the event loop, or the thread pool when they may block

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

    /// Info commands that may block (a durable header write, a walk of the whole index): their
    /// requests go to the thread pool; every other info request is answered on the event loop.
    static let blockingInfoCommands: Set<String> = ["truncate", "truncate-namespace", "sets", "set", "partition-info", "histogram", "set-config", "config-set"]

    /// Whether an info request must run on the thread pool (see ``blockingInfoCommands``). A
    /// malformed request does not: its answer is a close.
    func infoNeedsThreadPool(body: ByteBuffer) -> Bool {
        guard let request = try? body.withUnsafeReadableBytes({ try InfoRequest.parse(body: $0) }) else { return false }
        return request.commands.contains { Self.blockingInfoCommands.contains($0.name) }
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
