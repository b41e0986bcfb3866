/// Why an as_msg (or a payload inside one) could not be decoded.
///
/// Every case maps to the result code the server should answer with (``resultCode``): almost
/// all are PARAMETER (4) per PROTOCOL.md §6.1/§7; an over-long bin name is BIN_NAME (21) per §5.1;
/// too many batch rows is BATCH_MAX_REQUESTS_EXCEEDED (151). Offsets and indexes are
/// diagnostics for logs and counters.
public indirect enum MessageError: Error, Sendable, Equatable {
    // MARK: Header (§3)
    /// Fewer than 22 body bytes.
    case bodyTooShort(sizeBytes: Int)
    /// `header_sz` is not 22.
    case headerSizeInvalid(sizeBytes: UInt8)

    // MARK: Fields and ops (§4.1, §5.1)
    case fieldCountAboveLimit(count: Int, max: Int)
    case opCountAboveLimit(count: Int, max: Int)
    /// Fewer than 5 bytes remain where field `index` should start.
    case fieldTruncated(index: Int, remainingBytes: Int)
    /// Field size 0 (it must count the type byte).
    case fieldSizeZero(index: Int)
    /// Field data runs past the end of the body.
    case fieldOverrun(index: Int, sizeBytes: UInt32, remainingBytes: Int)
    /// Fewer than 8 bytes remain where op `index` should start.
    case opTruncated(index: Int, remainingBytes: Int)
    /// Op size smaller than its fixed bytes plus name (plus LUT).
    case opSizeInvalid(index: Int, sizeBytes: UInt32, nameSizeBytes: Int)
    /// Op runs past the end of the body.
    case opOverrun(index: Int, sizeBytes: UInt32, remainingBytes: Int)
    /// Bin name longer than 15 bytes (result BIN_NAME).
    case binNameTooLong(index: Int, sizeBytes: Int)
    /// Bytes left over after the declared fields and ops.
    case trailingBytes(count: Int)
    /// A message sequence holds more messages than allowed.
    case messageCountAboveLimit(max: Int)

    // MARK: Values (§4.2, §5.3)
    /// A fixed-size field (digest, u32, u64, …) has the wrong data size.
    case fieldSizeInvalid(typeRaw: UInt8, sizeBytes: Int)
    /// A particle value has an impossible size for its type.
    case particleSizeInvalid(typeRaw: UInt8, sizeBytes: Int)
    /// A particle value is out of range (bool > 1, invalid UTF-8 string, NIL user key, …).
    case particleValueInvalid(typeRaw: UInt8)
    /// A request `record_ttl` that is not a valid wire TTL (§6.6).
    case ttlInvalid(UInt32)
    /// A text field (namespace, set, …) that is not valid UTF-8.
    case fieldNotUTF8(typeRaw: UInt8)
    /// A compressed frame's declared inflated size is impossible or above the frame limit (§1).
    case uncompressedSizeInvalid(sizeBytes: UInt64)

    // MARK: Batch (§8.1)
    /// A batch message without a BATCH_INDEX field.
    case batchFieldMissing
    /// The batch field is shorter than its 5-byte count + flags prefix.
    case batchFieldTruncated(sizeBytes: Int)
    case batchRowCountZero
    /// More rows than allowed (result BATCH_MAX_REQUESTS_EXCEEDED).
    case batchRowCountAboveLimit(count: Int, max: Int)
    /// Row `row` does not fit in the remaining bytes.
    case batchRowTruncated(row: Int)
    /// REPEAT on the first row.
    case batchRepeatWithoutPreviousRow(row: Int)
    /// REPEAT after a row that carried a KEY field (the server refuses this).
    case batchRepeatAfterKey(row: Int)
    /// A field or op error inside row `row` (field/op indexes are row-relative).
    case inBatchRow(row: Int, error: MessageError)

    // MARK: Scan / query (§9.1)
    /// PID_ARRAY / DIGEST_ARRAY naming a partition ≥ 4096.
    case partitionIDOutOfRange(UInt16)
    /// The same partition named twice (in PID_ARRAY and/or DIGEST_ARRAY).
    case partitionIDDuplicate(UInt16)
    /// BVAL_ARRAY entry count differs from the DIGEST_ARRAY entry count.
    case bvalCountMismatch(bvalCount: Int, digestCount: Int)

    /// The result code to reply with.
    public var resultCode: ResultCode {
        switch self {
        case .binNameTooLong: .binName
        case .batchRowCountAboveLimit: .batchMaxRequestsExceeded
        case .inBatchRow(_, let error): error.resultCode
        default: .parameter
        }
    }
}
