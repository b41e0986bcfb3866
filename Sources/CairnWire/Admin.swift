/// The 16-byte header of an admin/security frame body, type 2 (PROTOCOL.md §2.9):
///
///     byte 0  scheme (0)
///     byte 1  result code
///     byte 2  command (LOGIN = 20)
///     byte 3  field count
///     4..<16  zero
///
/// Cairn has no security: it answers every admin frame with result 52 (SECURITY_NOT_ENABLED),
/// which the C client treats as a successful login without a session.
public struct AdminHeader: Sendable, Equatable {
    public static let sizeBytes: Int = 16
    public static let loginCommand: UInt8 = 20

    public var scheme: UInt8
    public var resultCodeRaw: UInt8
    public var command: UInt8
    public var fieldCount: UInt8

    public init(scheme: UInt8 = 0, resultCodeRaw: UInt8 = 0, command: UInt8 = 0, fieldCount: UInt8 = 0) {
        self.scheme = scheme
        self.resultCodeRaw = resultCodeRaw
        self.command = command
        self.fieldCount = fieldCount
    }

    /// Reads the first 16 bytes of an admin body (the fields that follow are not parsed).
    public static func decode(_ body: UnsafeRawBufferPointer) throws(MessageError) -> AdminHeader {
        guard body.count >= sizeBytes else { throw .bodyTooShort(sizeBytes: body.count) }
        return AdminHeader(
            scheme: loadUInt8(body, at: 0),
            resultCodeRaw: loadUInt8(body, at: 1),
            command: loadUInt8(body, at: 2),
            fieldCount: loadUInt8(body, at: 3)
        )
    }
}

extension WireWriter {
    /// Appends a 24-byte admin reply frame (type 2, size 16) carrying `resultCode` (§2.9).
    public mutating func appendAdminReplyFrame(resultCode: ResultCode = .securityNotEnabled) {
        beginFrame(.admin)
        appendUInt8(0)
        appendUInt8(resultCode.rawValue)
        for _ in 2..<AdminHeader.sizeBytes {
            appendUInt8(0)
        }
        endFrame()
    }
}

/// The prefix of a compressed-message body, type 4 (PROTOCOL.md §1): u64 BE size of the inflated
/// data (a whole type-3 frame including its own 8-byte header), then a zlib stream.
///
/// CairnWire does not inflate. A CE-compatible server answers type-4 requests with
/// ENTERPRISE_ONLY (25) in a plain type-3 reply and never compresses replies.
public struct CompressedMessagePrefix: Sendable, Equatable {
    public static let sizeBytes: Int = 8

    public var uncompressedSizeBytes: UInt64
    /// 0-based range of the zlib stream within the body.
    public var zlibRange: Range<Int>

    /// Splits a type-4 body. The uncompressed size must hold at least a proto header plus an
    /// as_msg header and at most `proto header + bodySizeBytesMax`.
    public static func decode(
        _ body: UnsafeRawBufferPointer,
        bodySizeBytesMax: UInt64 = FrameDecoder.bodySizeBytesMaxDefault
    ) throws(MessageError) -> CompressedMessagePrefix {
        guard body.count >= sizeBytes else { throw .bodyTooShort(sizeBytes: body.count) }
        let uncompressedSizeBytes = loadUInt64BE(body, at: 0)
        let sizeBytesMin = UInt64(ProtoHeader.sizeBytes + MessageHeader.sizeBytes)
        let (sizeBytesMax, overflow) = bodySizeBytesMax.addingReportingOverflow(UInt64(ProtoHeader.sizeBytes))
        guard uncompressedSizeBytes >= sizeBytesMin, overflow || uncompressedSizeBytes <= sizeBytesMax else {
            throw .uncompressedSizeInvalid(sizeBytes: uncompressedSizeBytes)
        }
        return CompressedMessagePrefix(uncompressedSizeBytes: uncompressedSizeBytes, zlibRange: sizeBytes..<body.count)
    }
}
