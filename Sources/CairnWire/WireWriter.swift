/// A growable byte buffer that encodes frames, as_msg messages, fields and ops (PROTOCOL.md
/// §1, §3–§5).
///
/// Owned by one encoding task at a time (a value type; copy-on-write like `Array`). Hand the
/// finished ``bytes`` to the transport (e.g. `ByteBuffer.writeBytes`) and call ``removeAll()``
/// to reuse the capacity.
///
/// Frames and messages are written with a small state machine so sizes and counts are always
/// consistent:
///
///     beginFrame(.message)            writes an 8-byte placeholder header
///       beginMessage(header)          writes the 22-byte header (counts patched later)
///         appendField(...)  × n       fields must precede ops
///         appendOp(...)     × m
///       endMessage()                  patches n_fields / n_ops
///       ... more messages (batch rows, scan records, LAST) ...
///     endFrame()                      patches the 48-bit body size
///
/// Misuse (ops before fields, nested frames, oversized names) is a programmer error and traps.
public struct WireWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    /// Index of the open frame's proto header, if a frame is open.
    private var openFrameIndex: Int?
    /// Index of the open message's as_msg header, if a message is open.
    private var openMessageIndex: Int?
    private var openMessageFieldCount: Int = 0
    private var openMessageOpCount: Int = 0

    public init(capacityBytes: Int = 512) {
        precondition(capacityBytes >= 0, "negative capacity")
        bytes = []
        bytes.reserveCapacity(capacityBytes)
    }

    /// Number of bytes written.
    public var sizeBytes: Int { bytes.count }

    /// Whether a frame or message is still open.
    public var isIdle: Bool { openFrameIndex == nil && openMessageIndex == nil }

    /// Forgets all bytes but keeps the capacity. Traps if a frame or message is open.
    public mutating func removeAll() {
        precondition(isIdle, "removeAll with an open frame or message")
        bytes.removeAll(keepingCapacity: true)
    }

    // MARK: - Raw big/little-endian appends

    public mutating func appendUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func appendUInt16BE(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func appendUInt16LE(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    public mutating func appendUInt32BE(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    public mutating func appendUInt64BE(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    public mutating func appendUInt64LE(_ value: UInt64) {
        for shift in stride(from: 0, through: 56, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    public mutating func appendBytes<Bytes: Sequence<UInt8>>(_ data: Bytes) {
        bytes.append(contentsOf: data)
    }

    // MARK: - Frames (§1)

    /// Opens a frame: writes a proto header whose size is patched by ``endFrame()``.
    public mutating func beginFrame(_ type: ProtoType) {
        precondition(openFrameIndex == nil, "beginFrame: a frame is already open")
        openFrameIndex = bytes.count
        ProtoHeader(type: type, bodySizeBytes: 0).encode(into: &bytes)
    }

    /// Closes the open frame, writing its body size.
    public mutating func endFrame() {
        guard let frameIndex = openFrameIndex else {
            preconditionFailure("endFrame without beginFrame")
        }
        precondition(openMessageIndex == nil, "endFrame with an open message")
        let bodySizeBytes = UInt64(bytes.count - frameIndex - ProtoHeader.sizeBytes)
        precondition(bodySizeBytes <= ProtoHeader.bodySizeBytesWireMax, "frame body exceeds 48 bits")
        for index in 0..<6 {
            let shift = UInt64(40 - 8 * index)
            bytes[frameIndex + 2 + index] = UInt8(truncatingIfNeeded: bodySizeBytes >> shift)
        }
        openFrameIndex = nil
    }

    /// Body bytes written so far in the open frame (for deciding when to start a new frame).
    public var openFrameBodySizeBytes: Int? {
        openFrameIndex.map { bytes.count - $0 - ProtoHeader.sizeBytes }
    }

    /// Appends a whole frame with the given body.
    public mutating func appendFrame<Body: Collection<UInt8>>(_ type: ProtoType, body: Body) {
        beginFrame(type)
        bytes.append(contentsOf: body)
        endFrame()
    }

    // MARK: - Messages (§3)

    /// Opens an as_msg: writes `header` with its field and op counts replaced by the counts of
    /// what is appended before ``endMessage()``. `header.headerSizeBytes` must be 22.
    public mutating func beginMessage(_ header: MessageHeader) {
        precondition(openMessageIndex == nil, "beginMessage: a message is already open")
        precondition(header.headerSizeBytes == UInt8(MessageHeader.sizeBytes), "as_msg header size must be 22")
        openMessageIndex = bytes.count
        openMessageFieldCount = 0
        openMessageOpCount = 0
        var placeholder = header
        placeholder.fieldCount = 0
        placeholder.opCount = 0
        placeholder.encode(into: &bytes)
    }

    /// Closes the open message, writing its n_fields and n_ops.
    public mutating func endMessage() {
        guard let messageIndex = openMessageIndex else {
            preconditionFailure("endMessage without beginMessage")
        }
        guard let fieldCount = UInt16(exactly: openMessageFieldCount),
            let opCount = UInt16(exactly: openMessageOpCount)
        else {
            preconditionFailure("more than 65535 fields or ops in one message")
        }
        bytes[messageIndex + MessageHeader.fieldCountOffset] = UInt8(truncatingIfNeeded: fieldCount >> 8)
        bytes[messageIndex + MessageHeader.fieldCountOffset + 1] = UInt8(truncatingIfNeeded: fieldCount)
        bytes[messageIndex + MessageHeader.opCountOffset] = UInt8(truncatingIfNeeded: opCount >> 8)
        bytes[messageIndex + MessageHeader.opCountOffset + 1] = UInt8(truncatingIfNeeded: opCount)
        openMessageIndex = nil
    }

    /// Appends a message consisting of `header` alone (n_fields = n_ops = 0).
    public mutating func appendHeaderOnlyMessage(_ header: MessageHeader) {
        beginMessage(header)
        endMessage()
    }

    // MARK: - Fields (§4.1)

    /// Appends a field: `u32 BE size (= 1 + data length) · u8 type · data`.
    public mutating func appendField<Data: Collection<UInt8>>(typeRaw: UInt8, data: Data) {
        precondition(openMessageIndex != nil, "appendField outside a message")
        precondition(openMessageOpCount == 0, "fields must precede ops")
        guard let sizeBytes = UInt32(exactly: data.count + 1) else {
            preconditionFailure("field data too large")
        }
        appendUInt32BE(sizeBytes)
        bytes.append(typeRaw)
        bytes.append(contentsOf: data)
        openMessageFieldCount += 1
    }

    /// Appends a field whose data is written by `writeData` (used for the batch payload, whose
    /// size is only known once the rows are written). The size prefix is patched afterwards.
    mutating func appendField(typeRaw: UInt8, writingData writeData: (inout WireWriter) -> Void) {
        precondition(openMessageIndex != nil, "appendField outside a message")
        precondition(openMessageOpCount == 0, "fields must precede ops")
        let sizeIndex = bytes.count
        appendUInt32BE(0)
        bytes.append(typeRaw)
        writeData(&self)
        guard let sizeBytes = UInt32(exactly: bytes.count - sizeIndex - 4) else {
            preconditionFailure("field data too large")
        }
        for index in 0..<4 {
            bytes[sizeIndex + index] = UInt8(truncatingIfNeeded: sizeBytes >> UInt32(24 - 8 * index))
        }
        openMessageFieldCount += 1
    }

    /// Writes a field's bytes without touching the open message's counts (batch rows carry
    /// their own fields inside the batch field).
    mutating func appendUncountedField<Data: Collection<UInt8>>(typeRaw: UInt8, data: Data) {
        guard let sizeBytes = UInt32(exactly: data.count + 1) else {
            preconditionFailure("field data too large")
        }
        appendUInt32BE(sizeBytes)
        bytes.append(typeRaw)
        bytes.append(contentsOf: data)
    }

    /// Writes an op's bytes without touching the open message's counts (batch rows).
    mutating func appendUncountedOp(_ op: OwnedOp) {
        precondition(op.name.count <= MessageLimits.binNameSizeBytesMax, "bin name longer than 15 bytes")
        guard let sizeBytes = UInt32(exactly: Op.fixedSizeBytes + op.name.count + op.value.count) else {
            preconditionFailure("op value too large")
        }
        appendUInt32BE(sizeBytes)
        bytes.append(op.typeRaw)
        bytes.append(op.particleTypeRaw)
        bytes.append(op.flags)
        bytes.append(UInt8(truncatingIfNeeded: op.name.count))
        bytes.append(contentsOf: op.name)
        bytes.append(contentsOf: op.value)
    }

    /// Appends a field of a known type.
    public mutating func appendField<Data: Collection<UInt8>>(_ type: FieldType, data: Data) {
        appendField(typeRaw: type.rawValue, data: data)
    }

    /// Appends a field whose data is a UTF-8 string (namespace, set, index name, UDF names).
    public mutating func appendField(_ type: FieldType, string: String) {
        appendField(typeRaw: type.rawValue, data: string.utf8)
    }

    /// Appends a field whose data is a u32 BE (SOCKET_TIMEOUT, RECORDS_PER_SECOND).
    public mutating func appendField(_ type: FieldType, uint32BE value: UInt32) {
        precondition(openMessageIndex != nil, "appendField outside a message")
        precondition(openMessageOpCount == 0, "fields must precede ops")
        appendUInt32BE(5)
        bytes.append(type.rawValue)
        appendUInt32BE(value)
        openMessageFieldCount += 1
    }

    /// Appends a field whose data is a u64 BE (TASK_ID, MAX_RECORDS).
    public mutating func appendField(_ type: FieldType, uint64BE value: UInt64) {
        precondition(openMessageIndex != nil, "appendField outside a message")
        precondition(openMessageOpCount == 0, "fields must precede ops")
        appendUInt32BE(9)
        bytes.append(type.rawValue)
        appendUInt64BE(value)
        openMessageFieldCount += 1
    }

    /// Appends a DIGEST field (20 bytes).
    public mutating func appendDigestField(_ digest: Digest) {
        precondition(openMessageIndex != nil, "appendField outside a message")
        precondition(openMessageOpCount == 0, "fields must precede ops")
        appendUInt32BE(UInt32(Digest.sizeBytes + 1))
        bytes.append(FieldType.digest.rawValue)
        digest.append(to: &self)
        openMessageFieldCount += 1
    }

    // MARK: - Ops (§5.1)

    /// Appends an op: `u32 BE size · u8 op · u8 particle · u8 flags · u8 name length · name ·
    /// value`, where size = 4 + name length + value length. Bin names are at most
    /// ``MessageLimits/binNameSizeBytesMax`` bytes.
    public mutating func appendOp<Name: Collection<UInt8>, Value: Collection<UInt8>>(
        typeRaw: UInt8,
        particleTypeRaw: UInt8,
        flags: UInt8 = 0,
        name: Name,
        value: Value
    ) {
        precondition(openMessageIndex != nil, "appendOp outside a message")
        let nameSizeBytes = name.count
        precondition(nameSizeBytes <= MessageLimits.binNameSizeBytesMax, "bin name longer than 15 bytes")
        guard let sizeBytes = UInt32(exactly: Op.fixedSizeBytes + nameSizeBytes + value.count) else {
            preconditionFailure("op value too large")
        }
        appendUInt32BE(sizeBytes)
        bytes.append(typeRaw)
        bytes.append(particleTypeRaw)
        bytes.append(flags)
        bytes.append(UInt8(truncatingIfNeeded: nameSizeBytes))
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: value)
        openMessageOpCount += 1
    }

    /// ``appendOp(typeRaw:particleTypeRaw:flags:name:value:)`` for a reply bin's name and value
    /// bytes. Non-generic, so callers in other modules run a specialised copy: the generic entry
    /// point, called across modules, looked up collection metadata at run time for every bin.
    public mutating func appendOp(typeRaw: UInt8, particleTypeRaw: UInt8, flags: UInt8 = 0, name: String, value: [UInt8]) {
        appendOp(typeRaw: typeRaw, particleTypeRaw: particleTypeRaw, flags: flags, name: name.utf8, value: value)
    }

    /// Appends an op of a known type with a typed value.
    public mutating func appendOp(_ type: OpType, name: String, value: ParticleValue) {
        precondition(openMessageIndex != nil, "appendOp outside a message")
        let nameBytes = name.utf8
        precondition(nameBytes.count <= MessageLimits.binNameSizeBytesMax, "bin name longer than 15 bytes")
        guard let sizeBytes = UInt32(exactly: Op.fixedSizeBytes + nameBytes.count + value.wireSizeBytes) else {
            preconditionFailure("op value too large")
        }
        appendUInt32BE(sizeBytes)
        bytes.append(type.rawValue)
        bytes.append(value.particleTypeRaw)
        bytes.append(0)
        bytes.append(UInt8(truncatingIfNeeded: nameBytes.count))
        bytes.append(contentsOf: nameBytes)
        value.appendWire(to: &bytes)
        openMessageOpCount += 1
    }

    /// Appends an op with neither name nor value (TOUCH, DELETE_ALL, READ-all, RESPOND_ALL_OPS
    /// results for writes).
    public mutating func appendOp(_ type: OpType) {
        appendOp(typeRaw: type.rawValue, particleTypeRaw: ParticleType.null.rawValue, name: EmptyCollection(), value: EmptyCollection())
    }

    /// Appends a bin as an op (READ for replies, WRITE for put requests).
    public mutating func appendBin(_ bin: Bin, as type: OpType = .read) {
        appendOp(type, name: bin.name, value: bin.value)
    }
}
