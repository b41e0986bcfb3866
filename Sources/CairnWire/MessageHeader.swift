/// The 22-byte as_msg header, the start of every type-3 body (PROTOCOL.md §3).
///
///     body  size  field
///        0     1  header_sz        always 22
///        1     1  info1            ``Info1``
///        2     1  info2            ``Info2``
///        3     1  info3            ``Info3``
///        4     1  info4            ``Info4``
///        5     1  result_code      ``ResultCode`` (0 in requests)
///        6     4  generation       BE; partition id in PARTITION_DONE markers
///       10     4  record_ttl       BE; see ``recordTTL``
///       14     4  transaction_ttl  BE; see ``transactionTTL``
///       18     2  n_fields         BE
///       20     2  n_ops            BE
///       22        fields, then ops
public struct MessageHeader: Sendable, Equatable {
    /// Size of the header on the wire; also the only accepted `header_sz`.
    public static let sizeBytes: Int = 22
    static let fieldCountOffset: Int = 18
    static let opCountOffset: Int = 20

    public var headerSizeBytes: UInt8
    public var info1: Info1
    public var info2: Info2
    public var info3: Info3
    public var info4: Info4
    /// Raw result byte; ``resultCode`` maps it when known.
    public var resultCodeRaw: UInt8
    /// Requests: expected generation (with GENERATION flags). Replies: record generation.
    /// Partition-done markers: the partition id.
    public var generation: UInt32
    /// Writes: TTL in seconds or a special value (``RecordTTL``). Reads: read-touch-ttl percent
    /// (signed). Replies: the record's void time in Citrusleaf-epoch seconds (``VoidTime``).
    public var recordTTL: UInt32
    /// Requests: server-side timeout in milliseconds (0 = default). Batch reply rows: the row's
    /// index. Other replies: 0.
    public var transactionTTL: UInt32
    public var fieldCount: UInt16
    public var opCount: UInt16

    public init(
        info1: Info1 = [],
        info2: Info2 = [],
        info3: Info3 = [],
        info4: Info4 = [],
        resultCodeRaw: UInt8 = 0,
        generation: UInt32 = 0,
        recordTTL: UInt32 = 0,
        transactionTTL: UInt32 = 0,
        fieldCount: UInt16 = 0,
        opCount: UInt16 = 0
    ) {
        self.headerSizeBytes = UInt8(MessageHeader.sizeBytes)
        self.info1 = info1
        self.info2 = info2
        self.info3 = info3
        self.info4 = info4
        self.resultCodeRaw = resultCodeRaw
        self.generation = generation
        self.recordTTL = recordTTL
        self.transactionTTL = transactionTTL
        self.fieldCount = fieldCount
        self.opCount = opCount
    }

    /// A reply header with a known result code.
    public init(resultCode: ResultCode, generation: UInt32 = 0, voidTime: UInt32 = 0) {
        self.init(resultCodeRaw: resultCode.rawValue, generation: generation, recordTTL: voidTime)
    }

    /// The result code, if the raw byte is one ``ResultCode`` names.
    public var resultCode: ResultCode? { ResultCode(rawValue: resultCodeRaw) }

    /// Reads a header from the first 22 bytes of `body`. Requires `header_sz == 22`.
    public static func decode(_ body: UnsafeRawBufferPointer) throws(MessageError) -> MessageHeader {
        guard body.count >= sizeBytes else {
            throw .bodyTooShort(sizeBytes: body.count)
        }
        let headerSizeBytes = loadUInt8(body, at: 0)
        guard Int(headerSizeBytes) == sizeBytes else {
            throw .headerSizeInvalid(sizeBytes: headerSizeBytes)
        }
        return MessageHeader(
            info1: Info1(rawValue: loadUInt8(body, at: 1)),
            info2: Info2(rawValue: loadUInt8(body, at: 2)),
            info3: Info3(rawValue: loadUInt8(body, at: 3)),
            info4: Info4(rawValue: loadUInt8(body, at: 4)),
            resultCodeRaw: loadUInt8(body, at: 5),
            generation: loadUInt32BE(body, at: 6),
            recordTTL: loadUInt32BE(body, at: 10),
            transactionTTL: loadUInt32BE(body, at: 14),
            fieldCount: loadUInt16BE(body, at: fieldCountOffset),
            opCount: loadUInt16BE(body, at: opCountOffset)
        )
    }

    /// Appends the 22 header bytes exactly as stored (counts included).
    public func encode(into output: inout [UInt8]) {
        let start = output.count
        output.append(headerSizeBytes)
        output.append(info1.rawValue)
        output.append(info2.rawValue)
        output.append(info3.rawValue)
        output.append(info4.rawValue)
        output.append(resultCodeRaw)
        appendUInt32BE(generation, to: &output)
        appendUInt32BE(recordTTL, to: &output)
        appendUInt32BE(transactionTTL, to: &output)
        output.append(UInt8(truncatingIfNeeded: fieldCount >> 8))
        output.append(UInt8(truncatingIfNeeded: fieldCount))
        output.append(UInt8(truncatingIfNeeded: opCount >> 8))
        output.append(UInt8(truncatingIfNeeded: opCount))
        assert(output.count - start == MessageHeader.sizeBytes)
    }
}

@inline(__always)
private func appendUInt32BE(_ value: UInt32, to output: inout [UInt8]) {
    output.append(UInt8(truncatingIfNeeded: value >> 24))
    output.append(UInt8(truncatingIfNeeded: value >> 16))
    output.append(UInt8(truncatingIfNeeded: value >> 8))
    output.append(UInt8(truncatingIfNeeded: value))
}
