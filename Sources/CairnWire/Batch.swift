/// Flags byte after the row count in the BATCH_INDEX field (PROTOCOL.md §8.1).
public struct BatchFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let allowInlineMemory = BatchFlags(rawValue: 0x01)
    public static let allowInlineSSD = BatchFlags(rawValue: 0x02)
    public static let respondAllKeys = BatchFlags(rawValue: 0x04)
    /// The C client always sets it.
    public static let reportErrorRecord = BatchFlags(rawValue: 0x08)
}

/// Per-row flags byte after the digest (PROTOCOL.md §8.1).
public struct BatchRowFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Reuse everything but the index and digest from the previous full row.
    public static let `repeat` = BatchRowFlags(rawValue: 0x01)
    /// info2 and info3 follow info1.
    public static let hasInfo = BatchRowFlags(rawValue: 0x02)
    /// u16 BE generation follows.
    public static let hasGeneration = BatchRowFlags(rawValue: 0x04)
    /// u32 BE record_ttl follows.
    public static let hasTTL = BatchRowFlags(rawValue: 0x08)
    /// info4 follows info2/info3.
    public static let hasInfo4 = BatchRowFlags(rawValue: 0x10)
}

/// One decoded batch row with its *effective* attributes: a REPEAT row carries copies of the
/// previous full row's info bytes, generation, TTL, fields and ops (PROTOCOL.md §8.1). Field
/// and op ranges point into the batch message's body.
public struct BatchRow: Sendable, Equatable {
    /// The caller's position; echo it in the reply row's `transaction_ttl`.
    public var index: UInt32
    public var digest: Digest
    /// The flags byte as sent (REPEAT rows have only ``BatchRowFlags/repeat``).
    public var flags: BatchRowFlags
    public var info1: Info1
    /// 0 unless HAS_INFO.
    public var info2: Info2
    /// With HAS_INFO as sent; else the batch header's strong-consistency read bits.
    public var info3: Info3
    public var info4: Info4
    /// 0 unless HAS_GEN.
    public var generation: UInt16
    /// 0 unless HAS_TTL.
    public var recordTTL: UInt32
    /// NAMESPACE first, then SET, then optional fields (a legacy `n_fields` of 0 still carries
    /// the namespace and is read as 1).
    public var fields: [Field]
    public var ops: [Op]

    public var isRepeat: Bool { flags.contains(.repeat) }

    public func field(_ type: FieldType) -> Field? {
        fields.first { $0.typeRaw == type.rawValue }
    }

    /// The header a single-record request with these attributes would have (§8.1: "each row is
    /// processed exactly like the corresponding single-record command").
    public func header(transactionTTL: UInt32) -> MessageHeader {
        MessageHeader(
            info1: info1, info2: info2, info3: info3, info4: info4,
            generation: UInt32(generation), recordTTL: recordTTL, transactionTTL: transactionTTL,
            fieldCount: UInt16(truncatingIfNeeded: fields.count), opCount: UInt16(truncatingIfNeeded: ops.count)
        )
    }
}

/// A decoded batch-index request (PROTOCOL.md §8.1).
///
/// Field 41 (or legacy 42) holds `u32 BE count · u8 flags · rows`. Rows are walked exactly
/// `count` times within the *message body*, not within the field's declared size, which some
/// clients get wrong (§8.1; the real server does the same [SRV batch.c `as_batch_queue_task`]).
public struct BatchRequest: Sendable, Equatable {
    /// Row prefix common to all rows: index, digest, flags.
    public static let rowPrefixSizeBytes: Int = 25
    /// Count and flags in front of the rows.
    public static let fieldPrefixSizeBytes: Int = 5

    public var flags: BatchFlags
    public var rows: [BatchRow]
    /// The header's timeout in ms, which each row inherits.
    public var transactionTTL: UInt32

    public init(flags: BatchFlags, rows: [BatchRow], transactionTTL: UInt32) {
        self.flags = flags
        self.rows = rows
        self.transactionTTL = transactionTTL
    }

    /// Decodes the batch payload of `message` (decoded from `body`).
    public static func decode(
        message: Message,
        body: UnsafeRawBufferPointer,
        limits: MessageLimits = MessageLimits()
    ) throws(MessageError) -> BatchRequest {
        guard let batchField = message.field(.batchIndex) ?? message.field(.batchIndexWithSet) else {
            throw .batchFieldMissing
        }
        guard batchField.dataSizeBytes >= fieldPrefixSizeBytes else {
            throw .batchFieldTruncated(sizeBytes: batchField.dataSizeBytes)
        }
        let countOffset = batchField.dataRange.lowerBound
        let rowCount = Int(loadUInt32BE(body, at: countOffset))
        let flags = BatchFlags(rawValue: loadUInt8(body, at: countOffset + 4))
        guard rowCount > 0 else { throw .batchRowCountZero }
        guard rowCount <= limits.batchRowCountMax else {
            throw .batchRowCountAboveLimit(count: rowCount, max: limits.batchRowCountMax)
        }
        var offset = countOffset + fieldPrefixSizeBytes
        let endOffset = body.count
        let inheritedInfo3 = message.header.info3.intersection(.strongConsistencyReadBits)

        var rows: [BatchRow] = []
        rows.reserveCapacity(min(rowCount, (endOffset - offset) / rowPrefixSizeBytes))
        var previousFullRow: BatchRow?
        for rowIndex in 0..<rowCount {
            guard endOffset - offset >= rowPrefixSizeBytes, let digest = Digest(body, at: offset + 4) else {
                throw .batchRowTruncated(row: rowIndex)
            }
            let index = loadUInt32BE(body, at: offset)
            let rowFlags = BatchRowFlags(rawValue: loadUInt8(body, at: offset + 24))
            offset += rowPrefixSizeBytes
            if rowFlags.contains(.repeat) {
                guard var row = previousFullRow else { throw .batchRepeatWithoutPreviousRow(row: rowIndex) }
                guard row.field(.key) == nil else { throw .batchRepeatAfterKey(row: rowIndex) }
                row.index = index
                row.digest = digest
                row.flags = rowFlags
                rows.append(row)
                continue
            }
            let row = try decodeFullRow(
                body, offset: &offset, endOffset: endOffset, rowIndex: rowIndex, index: index,
                digest: digest, flags: rowFlags, inheritedInfo3: inheritedInfo3, limits: limits
            )
            rows.append(row)
            previousFullRow = row
        }
        return BatchRequest(flags: flags, rows: rows, transactionTTL: message.header.transactionTTL)
    }

    /// Decodes a batch message body in one step (header, fields, rows).
    public static func decode(body: UnsafeRawBufferPointer, limits: MessageLimits = MessageLimits()) throws(MessageError) -> BatchRequest {
        let message = try Message.decode(body: body, limits: limits)
        return try decode(message: message, body: body, limits: limits)
    }

    /// Decodes a batch message body held in an array or slice (ranges 0-based).
    public static func decode<Bytes: Collection<UInt8>>(
        body: Bytes,
        limits: MessageLimits = MessageLimits()
    ) throws(MessageError) -> BatchRequest {
        try withRawBytes(body) { (raw) throws(MessageError) -> BatchRequest in try decode(body: raw, limits: limits) }
    }

    /// Reads the part of a non-REPEAT row after its flags byte:
    /// `info1 [info2 info3] [info4] [u16 gen] [u32 ttl] u16 n_fields u16 n_ops fields ops`.
    private static func decodeFullRow(
        _ body: UnsafeRawBufferPointer,
        offset: inout Int,
        endOffset: Int,
        rowIndex: Int,
        index: UInt32,
        digest: Digest,
        flags: BatchRowFlags,
        inheritedInfo3: Info3,
        limits: MessageLimits
    ) throws(MessageError) -> BatchRow {
        let hasInfo = flags.contains(.hasInfo)
        let hasInfo4 = flags.contains(.hasInfo4)
        let hasGeneration = flags.contains(.hasGeneration)
        let hasTTL = flags.contains(.hasTTL)
        let fixedSizeBytes = 1 + (hasInfo ? 2 : 0) + (hasInfo4 ? 1 : 0) + (hasGeneration ? 2 : 0) + (hasTTL ? 4 : 0) + 4
        guard endOffset - offset >= fixedSizeBytes else { throw .batchRowTruncated(row: rowIndex) }

        let info1 = Info1(rawValue: loadUInt8(body, at: offset))
        offset += 1
        var info2: Info2 = []
        var info3 = inheritedInfo3
        if hasInfo {
            info2 = Info2(rawValue: loadUInt8(body, at: offset))
            info3 = Info3(rawValue: loadUInt8(body, at: offset + 1))
            offset += 2
        }
        var info4: Info4 = []
        if hasInfo4 {
            info4 = Info4(rawValue: loadUInt8(body, at: offset))
            offset += 1
        }
        var generation: UInt16 = 0
        if hasGeneration {
            generation = loadUInt16BE(body, at: offset)
            offset += 2
        }
        var recordTTL: UInt32 = 0
        if hasTTL {
            recordTTL = loadUInt32BE(body, at: offset)
            offset += 4
        }
        // Older clients sent 0 but always sent the namespace field [SRV batch.c].
        let fieldCount = max(1, Int(loadUInt16BE(body, at: offset)))
        let opCount = Int(loadUInt16BE(body, at: offset + 2))
        offset += 4
        guard fieldCount <= limits.fieldCountMax else {
            throw .inBatchRow(row: rowIndex, error: .fieldCountAboveLimit(count: fieldCount, max: limits.fieldCountMax))
        }
        guard opCount <= limits.opCountMax else {
            throw .inBatchRow(row: rowIndex, error: .opCountAboveLimit(count: opCount, max: limits.opCountMax))
        }
        var fields: [Field] = []
        var ops: [Op] = []
        do {
            var notes: Message.DecodeNotes = []
            try Message.decodeFields(
                body, offset: &offset, endOffset: endOffset, count: fieldCount,
                clampsLastBatchField: false, notes: &notes, into: &fields
            )
            try Message.decodeOps(body, offset: &offset, endOffset: endOffset, count: opCount, into: &ops)
        } catch {
            throw .inBatchRow(row: rowIndex, error: error)
        }
        return BatchRow(
            index: index, digest: digest, flags: flags, info1: info1, info2: info2, info3: info3,
            info4: info4, generation: generation, recordTTL: recordTTL, fields: fields, ops: ops
        )
    }
}

// MARK: - Request encoding (tests, tools, load generation)

/// A batch row to encode: `attributes == nil` writes a REPEAT row.
public struct BatchRowSpec: Sendable, Equatable {
    public var index: UInt32
    public var digest: Digest
    public var attributes: Attributes?

    public init(index: UInt32, digest: Digest, attributes: Attributes?) {
        self.index = index
        self.digest = digest
        self.attributes = attributes
    }

    /// Everything a full row carries after its flags byte. Optional parts set the matching
    /// row flag when present.
    public struct Attributes: Sendable, Equatable {
        public var info1: Info1
        /// info2 + info3 (HAS_INFO).
        public var extraInfo: ExtraInfo?
        /// HAS_INFO4.
        public var info4: Info4?
        /// HAS_GEN.
        public var generation: UInt16?
        /// HAS_TTL.
        public var recordTTL: UInt32?
        /// NAMESPACE first, then SET, then any others.
        public var fields: [OwnedField]
        public var ops: [OwnedOp]

        public init(
            info1: Info1,
            extraInfo: ExtraInfo? = nil,
            info4: Info4? = nil,
            generation: UInt16? = nil,
            recordTTL: UInt32? = nil,
            fields: [OwnedField],
            ops: [OwnedOp] = []
        ) {
            self.info1 = info1
            self.extraInfo = extraInfo
            self.info4 = info4
            self.generation = generation
            self.recordTTL = recordTTL
            self.fields = fields
            self.ops = ops
        }

        /// A read row as the C client writes it: flags INFO|TTL, NAMESPACE and SET fields.
        public static func read(
            namespace: String,
            setName: String,
            info1: Info1 = [.read, .getAll],
            readTouchTTLPercent: UInt32 = 0,
            ops: [OwnedOp] = []
        ) -> Attributes {
            Attributes(
                info1: info1, extraInfo: ExtraInfo(info2: [], info3: []), recordTTL: readTouchTTLPercent,
                fields: [OwnedField(.namespace, string: namespace), OwnedField(.set, string: setName)], ops: ops
            )
        }
    }

    public struct ExtraInfo: Sendable, Equatable {
        public var info2: Info2
        public var info3: Info3

        public init(info2: Info2, info3: Info3) {
            self.info2 = info2
            self.info3 = info3
        }
    }
}

extension WireWriter {
    /// Appends a whole batch request frame (§8.1): header info1 = BATCH, optional FILTER field
    /// first, then the BATCH_INDEX field with its exact size.
    public mutating func appendBatchRequestFrame(
        rows: [BatchRowSpec],
        flags: BatchFlags = [.reportErrorRecord],
        transactionTTL: UInt32 = 0,
        headerInfo3: Info3 = [],
        filterExpression: [UInt8]? = nil
    ) {
        beginFrame(.message)
        beginMessage(MessageHeader(info1: .batch, info3: headerInfo3, transactionTTL: transactionTTL))
        if let filterExpression {
            appendField(.filterExpression, data: filterExpression)
        }
        appendField(typeRaw: FieldType.batchIndex.rawValue) { writer in
            guard let rowCount = UInt32(exactly: rows.count) else { preconditionFailure("too many batch rows") }
            writer.appendUInt32BE(rowCount)
            writer.appendUInt8(flags.rawValue)
            for row in rows {
                writer.appendBatchRow(row)
            }
        }
        endMessage()
        endFrame()
    }

    private mutating func appendBatchRow(_ row: BatchRowSpec) {
        appendUInt32BE(row.index)
        row.digest.append(to: &self)
        guard let attributes = row.attributes else {
            appendUInt8(BatchRowFlags.repeat.rawValue)
            return
        }
        var rowFlags: BatchRowFlags = []
        if attributes.extraInfo != nil { rowFlags.insert(.hasInfo) }
        if attributes.info4 != nil { rowFlags.insert(.hasInfo4) }
        if attributes.generation != nil { rowFlags.insert(.hasGeneration) }
        if attributes.recordTTL != nil { rowFlags.insert(.hasTTL) }
        appendUInt8(rowFlags.rawValue)
        appendUInt8(attributes.info1.rawValue)
        if let extraInfo = attributes.extraInfo {
            appendUInt8(extraInfo.info2.rawValue)
            appendUInt8(extraInfo.info3.rawValue)
        }
        if let info4 = attributes.info4 { appendUInt8(info4.rawValue) }
        if let generation = attributes.generation { appendUInt16BE(generation) }
        if let recordTTL = attributes.recordTTL { appendUInt32BE(recordTTL) }
        guard let fieldCount = UInt16(exactly: attributes.fields.count), let opCount = UInt16(exactly: attributes.ops.count) else {
            preconditionFailure("too many fields or ops in a batch row")
        }
        appendUInt16BE(fieldCount)
        appendUInt16BE(opCount)
        for field in attributes.fields {
            appendUncountedField(typeRaw: field.typeRaw, data: field.data)
        }
        for op in attributes.ops {
            appendUncountedOp(op)
        }
    }
}

// MARK: - Reply encoding (§8.2)

extension WireWriter {
    /// Opens one batch reply row inside an open frame: header with result, generation, void
    /// time and `transaction_ttl` = the row index, no fields. Append bins with
    /// ``appendBin(_:as:)`` or ``appendOp(typeRaw:particleTypeRaw:flags:name:value:)``, then
    /// call ``endMessage()``. Rows may go in any order; every index needs one (§8.2).
    public mutating func beginBatchReplyRow(index: UInt32, resultCode: ResultCode, generation: UInt32 = 0, voidTime: UInt32 = 0) {
        beginMessage(MessageHeader(resultCodeRaw: resultCode.rawValue, generation: generation, recordTTL: voidTime, transactionTTL: index))
    }

    /// Appends a complete batch reply row with `bins` as READ ops.
    public mutating func appendBatchReplyRow(
        index: UInt32,
        resultCode: ResultCode,
        generation: UInt32 = 0,
        voidTime: UInt32 = 0,
        bins: [Bin] = []
    ) {
        beginBatchReplyRow(index: index, resultCode: resultCode, generation: generation, voidTime: voidTime)
        for bin in bins {
            appendBin(bin)
        }
        endMessage()
    }
}
