/// A decoded as_msg: header, fields and ops (PROTOCOL.md §3–§5).
///
/// Fields and ops are byte ranges into the body that was decoded (0-based from the body's first
/// byte, which is the `header_sz` byte, also when decoding an `ArraySlice`); the message owns no
/// payload bytes, so keep the body alive while using it. Decoding checks every size against the
/// bytes that remain before using it and requires the fields and ops to end exactly at the end
/// of the body, as the real server does [SRV transaction.c `as_transaction_prepare`].
public struct Message: Sendable, Equatable {
    public var header: MessageHeader
    public var fields: [Field]
    public var ops: [Op]
    /// Leniencies applied while decoding (for counters and logs).
    public var notes: DecodeNotes

    public init(header: MessageHeader, fields: [Field], ops: [Op], notes: DecodeNotes = []) {
        self.header = header
        self.fields = fields
        self.ops = ops
        self.notes = notes
    }

    /// Leniencies the decoder applied.
    public struct DecodeNotes: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The BATCH_INDEX field's declared size ran past the body and was clamped
        /// (``MessageLimits/acceptsOversizedBatchField``).
        public static let batchFieldSizeClamped = DecodeNotes(rawValue: 0x01)
    }

    /// The first field of the given type (the server also uses the first occurrence).
    public func field(_ type: FieldType) -> Field? {
        fields.first { $0.typeRaw == type.rawValue }
    }

    // MARK: - Decoding

    /// Decodes a type-3 frame body (everything after the 8-byte proto header) holding exactly
    /// one message.
    public static func decode(body: UnsafeRawBufferPointer, limits: MessageLimits = MessageLimits()) throws(MessageError) -> Message {
        var storage = Storage()
        return try decode(body: body, limits: limits, reusing: &storage)
    }

    /// ``decode(body:limits:)`` into the arrays of `storage`, which a connection keeps from one
    /// request to the next: once the previous message is gone, the next one is decoded into the
    /// same memory and allocates nothing. The message shares the arrays with `storage` (copy on
    /// write keeps them apart should either change).
    public static func decode(body: UnsafeRawBufferPointer, limits: MessageLimits = MessageLimits(),
                              reusing storage: inout Storage) throws(MessageError) -> Message {
        var offset = 0
        let message = try decode(body, offset: &offset, limits: limits, clampsBatchField: limits.acceptsOversizedBatchField,
                                 storage: &storage)
        guard offset == body.count else {
            throw .trailingBytes(count: body.count - offset)
        }
        return message
    }

    /// The field and op arrays a message is decoded into (see ``decode(body:limits:reusing:)``).
    public struct Storage: Sendable {
        var fields: [Field] = []
        var ops: [Op] = []

        public init() {}
    }

    /// Decodes a body holding back-to-back messages (batch reply rows, scan records, markers,
    /// LAST; §8.2, §9.2), each ending where the next begins. Ranges stay 0-based from the start
    /// of `body`. At most `messageCountMax` messages are decoded.
    public static func decodeSequence(
        body: UnsafeRawBufferPointer,
        limits: MessageLimits = MessageLimits(),
        messageCountMax: Int = 1_000_000
    ) throws(MessageError) -> [Message] {
        var messages: [Message] = []
        var offset = 0
        while offset < body.count {
            guard messages.count < messageCountMax else { throw .messageCountAboveLimit(max: messageCountMax) }
            // The batch-field leniency only makes sense for a single request message.
            messages.append(try decode(body, offset: &offset, limits: limits, clampsBatchField: false))
        }
        return messages
    }

    /// Decodes one message starting at `offset`, advancing `offset` past it.
    static func decode(
        _ body: UnsafeRawBufferPointer,
        offset: inout Int,
        limits: MessageLimits,
        clampsBatchField: Bool
    ) throws(MessageError) -> Message {
        var storage = Storage()
        return try decode(body, offset: &offset, limits: limits, clampsBatchField: clampsBatchField, storage: &storage)
    }

    static func decode(
        _ body: UnsafeRawBufferPointer,
        offset: inout Int,
        limits: MessageLimits,
        clampsBatchField: Bool,
        storage: inout Storage
    ) throws(MessageError) -> Message {
        precondition(offset >= 0 && offset <= body.count, "message offset outside body")
        let header = try MessageHeader.decode(rebased(body, offset..<body.count))
        let fieldCount = Int(header.fieldCount)
        let opCount = Int(header.opCount)
        guard fieldCount <= limits.fieldCountMax else {
            throw .fieldCountAboveLimit(count: fieldCount, max: limits.fieldCountMax)
        }
        guard opCount <= limits.opCountMax else {
            throw .opCountAboveLimit(count: opCount, max: limits.opCountMax)
        }
        // Rust 2.0 over-sizes the batch field when a filter precedes it (see MessageLimits).
        let clampsLastBatchField = clampsBatchField && header.info1.contains(.batch) && opCount == 0
        offset += MessageHeader.sizeBytes
        var notes: DecodeNotes = []
        try decodeFields(
            body, offset: &offset, endOffset: body.count, count: fieldCount,
            clampsLastBatchField: clampsLastBatchField, notes: &notes, into: &storage.fields
        )
        try decodeOps(body, offset: &offset, endOffset: body.count, count: opCount, into: &storage.ops)
        return Message(header: header, fields: storage.fields, ops: storage.ops, notes: notes)
    }

    /// Decodes a body held in an array or slice; ranges are 0-based from its first element.
    public static func decode<Bytes: Collection<UInt8>>(
        body: Bytes,
        limits: MessageLimits = MessageLimits()
    ) throws(MessageError) -> Message {
        try withRawBytes(body) { (raw) throws(MessageError) -> Message in try decode(body: raw, limits: limits) }
    }

    /// ``decodeSequence(body:limits:messageCountMax:)`` for an array or slice.
    public static func decodeSequence<Bytes: Collection<UInt8>>(
        body: Bytes,
        limits: MessageLimits = MessageLimits(),
        messageCountMax: Int = 1_000_000
    ) throws(MessageError) -> [Message] {
        try withRawBytes(body) { (raw) throws(MessageError) -> [Message] in
            try decodeSequence(body: raw, limits: limits, messageCountMax: messageCountMax)
        }
    }

    /// Decodes `count` fields starting at `offset`, never reading at or past `endOffset`, in
    /// place of the contents of `fields` (its memory is kept when nothing else holds it).
    static func decodeFields(
        _ body: UnsafeRawBufferPointer,
        offset: inout Int,
        endOffset: Int,
        count: Int,
        clampsLastBatchField: Bool,
        notes: inout DecodeNotes,
        into fields: inout [Field]
    ) throws(MessageError) {
        precondition(offset >= 0 && offset <= endOffset && endOffset <= body.count, "field window outside body")
        fields.removeAll(keepingCapacity: true)
        // Never reserve more than the bytes could possibly hold.
        fields.reserveCapacity(min(count, (endOffset - offset) / Field.headerSizeBytes))
        for index in 0..<count {
            let remainingBytes = endOffset - offset
            guard remainingBytes >= Field.headerSizeBytes else {
                throw .fieldTruncated(index: index, remainingBytes: remainingBytes)
            }
            let sizeBytes = loadUInt32BE(body, at: offset)
            let typeRaw = loadUInt8(body, at: offset + 4)
            guard sizeBytes >= 1 else {
                throw .fieldSizeZero(index: index)
            }
            let dataStart = offset + Field.headerSizeBytes
            let availableBytes = endOffset - dataStart
            var dataSizeBytes = availableBytes
            if let declared = Int(exactly: sizeBytes - 1), declared <= availableBytes {
                dataSizeBytes = declared
            } else {
                let isBatchField = typeRaw == FieldType.batchIndex.rawValue || typeRaw == FieldType.batchIndexWithSet.rawValue
                guard clampsLastBatchField, isBatchField, index == count - 1 else {
                    throw .fieldOverrun(index: index, sizeBytes: sizeBytes, remainingBytes: remainingBytes)
                }
                notes.insert(.batchFieldSizeClamped)
            }
            fields.append(Field(typeRaw: typeRaw, dataRange: dataStart..<(dataStart + dataSizeBytes)))
            offset = dataStart + dataSizeBytes
        }
    }

    /// Decodes `count` ops starting at `offset`, never reading at or past `endOffset`, in place
    /// of the contents of `ops` (its memory is kept when nothing else holds it).
    static func decodeOps(
        _ body: UnsafeRawBufferPointer,
        offset: inout Int,
        endOffset: Int,
        count: Int,
        into ops: inout [Op]
    ) throws(MessageError) {
        precondition(offset >= 0 && offset <= endOffset && endOffset <= body.count, "op window outside body")
        ops.removeAll(keepingCapacity: true)
        ops.reserveCapacity(min(count, (endOffset - offset) / Op.headerSizeBytes))
        for index in 0..<count {
            let remainingBytes = endOffset - offset
            guard remainingBytes >= Op.headerSizeBytes else {
                throw .opTruncated(index: index, remainingBytes: remainingBytes)
            }
            let sizeBytes = loadUInt32BE(body, at: offset)
            guard let size = Int(exactly: sizeBytes), size <= remainingBytes - 4 else {
                throw .opOverrun(index: index, sizeBytes: sizeBytes, remainingBytes: remainingBytes)
            }
            let typeRaw = loadUInt8(body, at: offset + 4)
            let particleTypeRaw = loadUInt8(body, at: offset + 5)
            let flags = loadUInt8(body, at: offset + 6)
            let nameSizeBytes = Int(loadUInt8(body, at: offset + 7))
            let hasLastUpdateTime = flags & opFlagHasLastUpdateTime != 0
            let metadataSizeBytes = hasLastUpdateTime ? Op.lastUpdateTimeSizeBytes : 0
            guard size >= Op.fixedSizeBytes + nameSizeBytes + metadataSizeBytes else {
                throw .opSizeInvalid(index: index, sizeBytes: sizeBytes, nameSizeBytes: nameSizeBytes)
            }
            guard nameSizeBytes <= MessageLimits.binNameSizeBytesMax else {
                throw .binNameTooLong(index: index, sizeBytes: nameSizeBytes)
            }
            let nameStart = offset + Op.headerSizeBytes
            let nameEnd = nameStart + nameSizeBytes
            let valueStart = nameEnd + metadataSizeBytes
            let opEnd = offset + 4 + size
            ops.append(
                Op(
                    typeRaw: typeRaw,
                    particleTypeRaw: particleTypeRaw,
                    flags: flags,
                    nameRange: nameStart..<nameEnd,
                    lastUpdateTimeRange: hasLastUpdateTime ? nameEnd..<valueStart : nil,
                    valueRange: valueStart..<opEnd
                )
            )
            offset = opEnd
        }
    }
}

// MARK: - Owned form and re-encoding

/// A message that owns its bytes: for building requests and replies in tests and tools, and
/// for comparing decoded messages.
public struct OwnedMessage: Sendable, Equatable {
    /// Counts are recomputed on encoding; the stored ones are ignored.
    public var header: MessageHeader
    public var fields: [OwnedField]
    public var ops: [OwnedOp]

    public init(header: MessageHeader, fields: [OwnedField] = [], ops: [OwnedOp] = []) {
        self.header = header
        self.fields = fields
        self.ops = ops
    }

    /// Copies a decoded message out of its body.
    public init(_ message: Message, in body: UnsafeRawBufferPointer) {
        self.init(
            header: message.header,
            fields: message.fields.map { OwnedField($0, in: body) },
            ops: message.ops.map { OwnedOp($0, in: body) }
        )
    }
}

extension WireWriter {
    /// Appends a whole message (header with recomputed counts, fields, ops).
    public mutating func appendMessage(_ message: OwnedMessage) {
        beginMessage(message.header)
        for field in message.fields {
            appendField(field)
        }
        for op in message.ops {
            appendOp(op)
        }
        endMessage()
    }

    /// Appends a whole type-3 frame holding one message.
    public mutating func appendMessageFrame(_ message: OwnedMessage) {
        beginFrame(.message)
        appendMessage(message)
        endFrame()
    }
}
