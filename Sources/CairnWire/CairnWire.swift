/// CairnWire: the Aerospike client wire protocol codec (frames, info, as_msg, fields, ops,
/// particles, batch and scan payloads, result codes, TTL/void-time arithmetic).
///
/// Pure: no I/O, no Foundation, no dependency on the rest of Cairn or on SwiftNIO. Decoders read
/// from `UnsafeRawBufferPointer` (what NIO's `ByteBuffer.withUnsafeReadableBytes` hands out),
/// `[UInt8]` or `ArraySlice<UInt8>`; encoders append to a ``WireWriter``. Every type is a
/// `Sendable` value; nothing is shared between threads.
///
/// The byte-level specification is `PROTOCOL.md` (shared with the rest of the project); every
/// public type cites the section it implements. Everything from the network is untrusted: each
/// length is checked against the bytes that remain before it is used, and malformed input is
/// reported as a typed error (``MessageError``, ``FrameError``, ``InfoError``), never a trap.
/// Preconditions guard only programmer errors on the encoding side.
///
/// Intended server flow, per connection:
///
///     FrameDecoder.decode(readable bytes)
///       .needMore(n)          read at least n more bytes
///       .error(reason)        log the reason, close the connection (stream cannot resync)
///       .frame(type, range)   consume range.upperBound bytes; by type:
///         .info               InfoRequest.parse → answers → WireWriter.appendInfoReplyFrame
///         .admin              WireWriter.appendAdminReplyFrame() (result 52)
///         .compressedMessage  appendRecordReplyFrame(resultCode: .enterpriseOnly)
///         .message            Message.decode(body:)
///             error           appendRecordReplyFrame(resultCode: error.resultCode)
///             info1 BATCH     BatchRequest.decode → appendBatchReplyRow × n + appendLastMessage
///             no DIGEST field ScanRequest.decode → beginScanRecord… + appendLastMessage
///             otherwise       single-record command (§6) → appendRecordReplyFrame
public enum CairnWireModule {}
