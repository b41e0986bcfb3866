/// Field type ids (PROTOCOL.md §4.2). Unknown ids are legal on the wire and skipped by size;
/// ``Field`` therefore stores the raw byte.
public enum FieldType: UInt8, Sendable, CaseIterable {
    /// UTF-8, no NUL, < 32 bytes.
    case namespace = 0
    /// UTF-8, < 64 bytes; length 0 means "no set".
    case set = 1
    /// User key: 1 particle-type byte (1 int, 2 float, 3 string, 4 blob) + value.
    case key = 2
    /// 7 bytes LE (transactions).
    case recordVersion = 3
    /// RIPEMD-160 digest, 20 bytes. Absence means scan/query.
    case digest = 4
    /// u64 LE (transactions).
    case mrtID = 5
    /// u32 LE (transactions; was the old batch field).
    case mrtDeadline = 6
    /// Scan/query task id (trid), u64 BE.
    case taskID = 7
    /// Scan/query socket timeout, u32 BE milliseconds.
    case socketTimeout = 9
    /// Scan/query throttle, u32 BE.
    case recordsPerSecond = 10
    /// n × u16 **LE** partition ids.
    case pidArray = 11
    /// n × 20-byte resume digests.
    case digestArray = 12
    /// u64 BE record limit (server name: SAMPLE_MAX).
    case maxRecords = 13
    /// Last-update time, XDR only.
    case lastUpdateTime = 14
    /// Requests: n × i64 LE, one per resume digest; reply rows: one u64 LE.
    case bvalArray = 15
    case indexName = 21
    /// Secondary-index range (§9.5).
    case indexRange = 22
    /// msgpack CDT context.
    case indexContext = 23
    /// Packed expression.
    case indexExpression = 24
    /// 1 byte: 0 default, 1 list, 2 map keys, 3 map values.
    case indexType = 26
    case udfPackageName = 30
    case udfFunction = 31
    /// msgpack list.
    case udfArgList = 32
    /// 1 byte: 0 record UDF, 1 aggregate, 2 background.
    case udfOp = 33
    /// Old servers only.
    case queryBins = 40
    /// Batch-index payload (§8.1).
    case batchIndex = 41
    /// Legacy batch-index payload with set names; same row layout.
    case batchIndexWithSet = 42
    /// msgpack-packed filter expression.
    case filterExpression = 43
    /// msgpack map, reply only (C client 7.5).
    case errorDetails = 45
}

/// One decoded field (PROTOCOL.md §4.1):
///
///     u32 BE  size   = 1 + data length (counts the type byte)
///     u8      type
///     bytes   data[size - 1]
///
/// `dataRange` is a 0-based byte range into the body that was decoded; the field owns no bytes.
public struct Field: Sendable, Equatable {
    /// Size of the size and type prefix.
    public static let headerSizeBytes: Int = 5

    public var typeRaw: UInt8
    public var dataRange: Range<Int>

    public init(typeRaw: UInt8, dataRange: Range<Int>) {
        self.typeRaw = typeRaw
        self.dataRange = dataRange
    }

    /// The known type, or nil for an id §4.2 does not list.
    public var type: FieldType? { FieldType(rawValue: typeRaw) }

    /// Number of data bytes.
    public var dataSizeBytes: Int { dataRange.count }
}

/// A field that owns its bytes: for building requests in tests and tools, and for comparing.
public struct OwnedField: Sendable, Equatable {
    public var typeRaw: UInt8
    public var data: [UInt8]

    public init(typeRaw: UInt8, data: [UInt8]) {
        self.typeRaw = typeRaw
        self.data = data
    }

    public init(_ type: FieldType, data: [UInt8]) {
        self.init(typeRaw: type.rawValue, data: data)
    }

    public init(_ type: FieldType, string: String) {
        self.init(typeRaw: type.rawValue, data: Array(string.utf8))
    }

    /// Copies a decoded field's bytes out of `body`.
    public init(_ field: Field, in body: UnsafeRawBufferPointer) {
        self.init(typeRaw: field.typeRaw, data: Array(rebased(body, field.dataRange)))
    }
}

extension WireWriter {
    /// Appends an owned field.
    public mutating func appendField(_ field: OwnedField) {
        appendField(typeRaw: field.typeRaw, data: field.data)
    }
}
