/// Limits applied while decoding as_msg messages and their payloads (a limit on everything;
/// every loop over network input is bounded by one of these or by the remaining bytes).
public struct MessageLimits: Sendable, Equatable {
    /// Longest bin name: 15 bytes (§5.1; the server refuses ≥ 16 with BIN_NAME).
    public static let binNameSizeBytesMax: Int = 15
    /// Server MAX_N_OPS (§5.1).
    public static let opCountMaxDefault: Int = 32768
    /// Generous: single-record requests carry ≤ 8 fields, scans ≤ 15.
    public static let fieldCountMaxDefault: Int = 64
    /// The real server's batch-max-requests is unlimited by default; a 128 MiB frame holds
    /// at most ~5.3 M rows. One million keeps the decoded row array bounded.
    public static let batchRowCountMaxDefault: Int = 1_000_000

    /// Most fields accepted in one message (and per batch row).
    public var fieldCountMax: Int
    /// Most ops accepted in one message (and per batch row).
    public var opCountMax: Int
    /// Most rows accepted in one batch request.
    public var batchRowCountMax: Int
    /// Accept a BATCH_INDEX field whose declared size runs past the end of the body when it is
    /// the last field of a batch message with no ops, treating it as extending to the end of the
    /// body. The Rust client 2.0 computes that size as if the field started right after the
    /// header, so it is too large by the size of a preceding FILTER field (§8.1 "do not rely on
    /// field 41's size"); the real server ignores the size too.
    public var acceptsOversizedBatchField: Bool

    public init(
        fieldCountMax: Int = MessageLimits.fieldCountMaxDefault,
        opCountMax: Int = MessageLimits.opCountMaxDefault,
        batchRowCountMax: Int = MessageLimits.batchRowCountMaxDefault,
        acceptsOversizedBatchField: Bool = true
    ) {
        precondition(fieldCountMax >= 0 && fieldCountMax <= Int(UInt16.max), "fieldCountMax out of range")
        precondition(opCountMax >= 0 && opCountMax <= Int(UInt16.max), "opCountMax out of range")
        precondition(batchRowCountMax >= 0 && batchRowCountMax <= Int(UInt32.max), "batchRowCountMax out of range")
        self.fieldCountMax = fieldCountMax
        self.opCountMax = opCountMax
        self.batchRowCountMax = batchRowCountMax
        self.acceptsOversizedBatchField = acceptsOversizedBatchField
    }
}
