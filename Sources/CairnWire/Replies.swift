// Server-side reply encoding shared by single-record, batch and scan replies (PROTOCOL.md §6.2,
// §8.2, §9.2). Batch rows live in Batch.swift, scan records in Scan.swift.

extension WireWriter {
    /// Opens a single-record reply (§6.2): a type-3 frame and a header with the result,
    /// generation and void time, `transaction_ttl` 0, no fields. Append bins (READ ops, or one
    /// entry per op with RESPOND_ALL_OPS), then call ``endRecordReply()``.
    public mutating func beginRecordReply(resultCode: ResultCode, generation: UInt32 = 0, voidTime: UInt32 = 0) {
        beginFrame(.message)
        beginMessage(MessageHeader(resultCode: resultCode, generation: generation, voidTime: voidTime))
    }

    /// Closes the message and frame opened by ``beginRecordReply(resultCode:generation:voidTime:)``.
    public mutating func endRecordReply() {
        endMessage()
        endFrame()
    }

    /// Appends a complete single-record reply frame with `bins` as ops of type `opType`.
    /// On errors pass no bins (§6.2: header only).
    public mutating func appendRecordReplyFrame(
        resultCode: ResultCode,
        generation: UInt32 = 0,
        voidTime: UInt32 = 0,
        bins: [Bin] = [],
        opType: OpType = .read
    ) {
        beginRecordReply(resultCode: resultCode, generation: generation, voidTime: voidTime)
        for bin in bins {
            appendBin(bin, as: opType)
        }
        endRecordReply()
    }

    /// Appends the final message of a batch or scan/query stream: info3 LAST, the result, all
    /// else 0 (§8.2, §9.2). Call inside an open frame (the last data frame or its own frame).
    public mutating func appendLastMessage(resultCode: ResultCode = .ok) {
        appendHeaderOnlyMessage(MessageHeader(info3: .last, resultCodeRaw: resultCode.rawValue))
    }

    /// Appends a frame holding only the LAST message (22-byte body).
    public mutating func appendLastFrame(resultCode: ResultCode = .ok) {
        beginFrame(.message)
        appendLastMessage(resultCode: resultCode)
        endFrame()
    }
}
