/// The partitions a partition-based scan/query asks for (PROTOCOL.md §9.1, §9.3).
///
/// PID_ARRAY (11) names whole partitions as u16 **LE** ids; DIGEST_ARRAY (12) names partially
/// done partitions by a 20-byte resume digest (the partition is the digest's, §4.4; scan only
/// records strictly after it). BVAL_ARRAY (15) carries one i64 LE per resume digest for
/// secondary-index queries. A partition may be named once across both arrays; ids ≥ 4096 and
/// duplicates are PARAMETER [SRV query.c `get_query_pids`].
public struct PartitionSelection: Sendable, Equatable {
    public static let pidSizeBytes: Int = 2
    public static let bvalSizeBytes: Int = 8

    /// Whole partitions, in request order.
    public var partitionIDs: [UInt16]
    /// Resume points, in request order.
    public var resumeDigests: [Digest]
    /// One per resume digest, when BVAL_ARRAY was sent.
    public var bvals: [Int64]?

    public init(partitionIDs: [UInt16], resumeDigests: [Digest] = [], bvals: [Int64]? = nil) {
        self.partitionIDs = partitionIDs
        self.resumeDigests = resumeDigests
        self.bvals = bvals
    }

    /// Decodes the arrays' data (each optional) and checks ids and duplicates.
    public static func decode(
        pidArray: UnsafeRawBufferPointer?,
        digestArray: UnsafeRawBufferPointer?,
        bvalArray: UnsafeRawBufferPointer? = nil
    ) throws(MessageError) -> PartitionSelection {
        var seen = PartitionBitmap()
        var partitionIDs: [UInt16] = []
        if let pidArray {
            guard pidArray.count % pidSizeBytes == 0 else {
                throw .fieldSizeInvalid(typeRaw: FieldType.pidArray.rawValue, sizeBytes: pidArray.count)
            }
            let count = pidArray.count / pidSizeBytes
            // More entries than partitions must hit a duplicate or a bad id before the end.
            partitionIDs.reserveCapacity(min(count, Digest.partitionCount))
            for entry in 0..<count {
                let partitionID = loadUInt16LE(pidArray, at: entry * pidSizeBytes)
                try seen.insert(partitionID)
                partitionIDs.append(partitionID)
            }
        }
        var resumeDigests: [Digest] = []
        if let digestArray {
            guard digestArray.count % Digest.sizeBytes == 0 else {
                throw .fieldSizeInvalid(typeRaw: FieldType.digestArray.rawValue, sizeBytes: digestArray.count)
            }
            let count = digestArray.count / Digest.sizeBytes
            resumeDigests.reserveCapacity(min(count, Digest.partitionCount))
            for entry in 0..<count {
                guard let digest = Digest(digestArray, at: entry * Digest.sizeBytes) else {
                    throw .fieldSizeInvalid(typeRaw: FieldType.digestArray.rawValue, sizeBytes: digestArray.count)
                }
                try seen.insert(UInt16(digest.partitionID))
                resumeDigests.append(digest)
            }
        }
        var bvals: [Int64]?
        if let bvalArray {
            guard bvalArray.count % bvalSizeBytes == 0 else {
                throw .fieldSizeInvalid(typeRaw: FieldType.bvalArray.rawValue, sizeBytes: bvalArray.count)
            }
            let count = bvalArray.count / bvalSizeBytes
            guard count == resumeDigests.count else {
                throw .bvalCountMismatch(bvalCount: count, digestCount: resumeDigests.count)
            }
            bvals = (0..<count).map { Int64(bitPattern: loadUInt64LE(bvalArray, at: $0 * bvalSizeBytes)) }
        }
        return PartitionSelection(partitionIDs: partitionIDs, resumeDigests: resumeDigests, bvals: bvals)
    }
}

/// 4096 bits, one per partition, for duplicate detection (one 512-byte allocation).
private struct PartitionBitmap {
    private var storage = [UInt64](repeating: 0, count: Digest.partitionCount / 64)

    mutating func insert(_ partitionID: UInt16) throws(MessageError) {
        guard Int(partitionID) < Digest.partitionCount else { throw .partitionIDOutOfRange(partitionID) }
        let word = Int(partitionID) >> 6
        let bit = UInt64(1) << UInt64(partitionID & 63)
        guard storage[word] & bit == 0 else { throw .partitionIDDuplicate(partitionID) }
        storage[word] |= bit
    }
}

/// The parts of a scan/query request a KV server needs (PROTOCOL.md §9.1). Fields absent from
/// the request are nil. Ops (selected bins) stay in the ``Message``.
public struct ScanRequest: Sendable, Equatable {
    public var namespace: String?
    /// nil when absent or empty (no set = every set).
    public var setName: String?
    public var taskID: UInt64?
    public var socketTimeoutMs: UInt32?
    public var recordsPerSecond: UInt32?
    /// MAX_RECORDS; nil = unlimited.
    public var maxRecords: UInt64?
    /// nil when neither PID_ARRAY nor DIGEST_ARRAY was sent (a legacy, non-partition scan).
    public var partitions: PartitionSelection?
    /// Whether a FILTER expression (43) is present: a server that cannot evaluate it should
    /// answer UNSUPPORTED_FEATURE rather than ignore it (§11.2).
    public var hasFilterExpression: Bool
    /// Whether any secondary-index field (21–26) is present (§9.5).
    public var hasIndexFields: Bool

    /// Extracts the scan/query fields of `message` (decoded from `body`).
    public static func decode(message: Message, body: UnsafeRawBufferPointer) throws(MessageError) -> ScanRequest {
        func text(_ type: FieldType) throws(MessageError) -> String? {
            guard let field = message.field(type) else { return nil }
            guard let value = field.string(in: body) else { throw .fieldNotUTF8(typeRaw: type.rawValue) }
            return value
        }
        func uint32(_ type: FieldType) throws(MessageError) -> UInt32? {
            guard let field = message.field(type) else { return nil }
            return try field.uint32BE(in: body)
        }
        func uint64(_ type: FieldType) throws(MessageError) -> UInt64? {
            guard let field = message.field(type) else { return nil }
            return try field.uint64BE(in: body)
        }
        let pidField = message.field(.pidArray)
        let digestField = message.field(.digestArray)
        var partitions: PartitionSelection?
        if pidField != nil || digestField != nil {
            partitions = try PartitionSelection.decode(
                pidArray: pidField?.data(in: body),
                digestArray: digestField?.data(in: body),
                bvalArray: message.field(.bvalArray)?.data(in: body)
            )
        }
        let setName = try text(.set)
        return ScanRequest(
            namespace: try text(.namespace),
            setName: setName?.isEmpty == true ? nil : setName,
            taskID: try uint64(.taskID),
            socketTimeoutMs: try uint32(.socketTimeout),
            recordsPerSecond: try uint32(.recordsPerSecond),
            maxRecords: try uint64(.maxRecords),
            partitions: partitions,
            hasFilterExpression: message.field(.filterExpression) != nil,
            hasIndexFields: message.fields.contains { isIndexField($0.type) }
        )
    }
}

/// Secondary-index query fields (§4.2, §9.5).
public func isIndexField(_ type: FieldType?) -> Bool {
    switch type {
    case .indexName, .indexRange, .indexContext, .indexExpression, .indexType: true
    default: false
    }
}

// MARK: - Request encoding (tests, tools, load generation)

extension WireWriter {
    /// Appends a partition scan request frame in the C client's field order (§9.1):
    /// NAMESPACE, [SET], [RECORDS_PER_SECOND], SOCKET_TIMEOUT, TASK_ID, PID_ARRAY,
    /// [DIGEST_ARRAY], [MAX_RECORDS]; one READ op per selected bin.
    public mutating func appendScanRequestFrame(
        namespace: String,
        setName: String? = nil,
        partitionIDs: [UInt16],
        resumeDigests: [Digest] = [],
        maxRecords: UInt64 = 0,
        recordsPerSecond: UInt32 = 0,
        socketTimeoutMs: UInt32 = 30_000,
        taskID: UInt64,
        binNames: [String] = [],
        noBinData: Bool = false,
        transactionTTL: UInt32 = 0
    ) {
        beginFrame(.message)
        beginMessage(
            MessageHeader(
                info1: noBinData ? [.read, .getNoBinData] : .read,
                info3: .partitionDone,
                recordTTL: RecordTTL.neverExpireWire,
                transactionTTL: transactionTTL
            )
        )
        appendField(.namespace, string: namespace)
        if let setName { appendField(.set, string: setName) }
        if recordsPerSecond > 0 { appendField(.recordsPerSecond, uint32BE: recordsPerSecond) }
        appendField(.socketTimeout, uint32BE: socketTimeoutMs)
        appendField(.taskID, uint64BE: taskID)
        if !partitionIDs.isEmpty {
            appendField(typeRaw: FieldType.pidArray.rawValue) { writer in
                for partitionID in partitionIDs { writer.appendUInt16LE(partitionID) }
            }
        }
        if !resumeDigests.isEmpty {
            appendField(typeRaw: FieldType.digestArray.rawValue) { writer in
                for digest in resumeDigests { digest.append(to: &writer) }
            }
        }
        if maxRecords > 0 { appendField(.maxRecords, uint64BE: maxRecords) }
        for name in binNames {
            appendOp(.read, name: name, value: .null)
        }
        endMessage()
        endFrame()
    }
}

// MARK: - Reply encoding (§9.2)

extension WireWriter {
    /// Opens a scan/query record message inside an open frame, writing NAMESPACE and DIGEST.
    /// Then append, in this order and only if present, SET (`appendField(.set, …)`), KEY
    /// (`appendField(.key, data:)` with the stored type byte + value) and BVAL (u64 LE); then
    /// the bins as READ ops; then ``endMessage()`` (§9.2; Rust accepts only fields 0/1/2/4/15).
    public mutating func beginScanRecord<Namespace: Collection<UInt8>>(
        namespace: Namespace,
        digest: Digest,
        generation: UInt32,
        voidTime: UInt32,
        hasBinData: Bool = true
    ) {
        beginMessage(MessageHeader(info1: hasBinData ? [] : .getNoBinData, generation: generation, recordTTL: voidTime))
        appendField(.namespace, data: namespace)
        appendDigestField(digest)
    }

    /// Appends a whole scan record message (see ``beginScanRecord(namespace:digest:generation:voidTime:hasBinData:)``).
    public mutating func appendScanRecord(
        namespace: String,
        digest: Digest,
        setName: String?,
        userKeyFieldData: [UInt8]?,
        generation: UInt32,
        voidTime: UInt32,
        bins: [Bin],
        hasBinData: Bool = true
    ) {
        beginScanRecord(namespace: namespace.utf8, digest: digest, generation: generation, voidTime: voidTime, hasBinData: hasBinData)
        if let setName, !setName.isEmpty { appendField(.set, string: setName) }
        if let userKeyFieldData { appendField(.key, data: userKeyFieldData) }
        for bin in bins { appendBin(bin) }
        endMessage()
    }

    /// Appends a partition-done marker: info3 PARTITION_DONE, `generation` = partition id
    /// (§9.2). Only non-zero codes (e.g. UNAVAILABLE) make the client retry the partition.
    public mutating func appendPartitionDoneMessage(partitionID: UInt16, resultCode: ResultCode) {
        appendHeaderOnlyMessage(MessageHeader(info3: .partitionDone, resultCodeRaw: resultCode.rawValue, generation: UInt32(partitionID)))
    }
}
