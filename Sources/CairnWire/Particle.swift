/// A typed bin value (PROTOCOL.md §5.3).
///
/// Integer, float, string, blob and bool are decoded; every other particle type (language
/// blobs, HLL, map, list, GeoJSON, vector, unassigned ids) is carried as ``opaque(typeRaw:bytes:)``
/// with its type byte, because a KV server stores and returns them unchanged. Equality compares
/// floats by bit pattern, so NaN payloads round-trip and compare equal to themselves.
public enum ParticleValue: Sendable {
    case null
    case integer(Int64)
    case float(Double)
    /// Strings must be valid UTF-8 to be decoded as this case (see ``decode(typeRaw:value:)``).
    case string(String)
    case blob([UInt8])
    case bool(Bool)
    /// Any other particle type with its raw wire bytes.
    case opaque(typeRaw: UInt8, bytes: [UInt8])

    /// Size of an integer or float on the wire.
    public static let numberSizeBytes: Int = 8

    /// The particle type byte this value is sent with.
    public var particleTypeRaw: UInt8 {
        switch self {
        case .null: ParticleType.null.rawValue
        case .integer: ParticleType.integer.rawValue
        case .float: ParticleType.float.rawValue
        case .string: ParticleType.string.rawValue
        case .blob: ParticleType.blob.rawValue
        case .bool: ParticleType.bool.rawValue
        case .opaque(let typeRaw, _): typeRaw
        }
    }

    /// Number of value bytes on the wire.
    public var wireSizeBytes: Int {
        switch self {
        case .null: 0
        case .integer, .float: ParticleValue.numberSizeBytes
        case .string(let text): text.utf8.count
        case .blob(let bytes): bytes.count
        case .bool: 1
        case .opaque(_, let bytes): bytes.count
        }
    }

    /// Appends the value bytes (no type byte, no length).
    public func appendWire(to output: inout [UInt8]) {
        switch self {
        case .null:
            break
        case .integer(let value):
            appendUInt64BE(UInt64(bitPattern: value), to: &output)
        case .float(let value):
            appendUInt64BE(value.bitPattern, to: &output)
        case .string(let text):
            output.append(contentsOf: text.utf8)
        case .blob(let bytes):
            output.append(contentsOf: bytes)
        case .bool(let value):
            output.append(value ? 1 : 0)
        case .opaque(_, let bytes):
            output.append(contentsOf: bytes)
        }
    }

    /// The value bytes as a new array.
    public var wireBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(wireSizeBytes)
        appendWire(to: &output)
        return output
    }

    /// Decodes `value` as particle type `typeRaw`.
    ///
    /// Rules (§5.3, checked against the server's `*_from_wire`): NULL must be empty; INTEGER is
    /// 8 bytes BE, or 1/2/4 bytes zero-extended; FLOAT is exactly 8 bytes; BOOL is exactly one
    /// byte 0 or 1; STRING must be valid UTF-8 (a server that stores strings as raw bytes should
    /// not call this for them). Anything else becomes ``opaque(typeRaw:bytes:)``.
    public static func decode(typeRaw: UInt8, value: UnsafeRawBufferPointer) throws(MessageError) -> ParticleValue {
        switch ParticleType(rawValue: typeRaw) {
        case .null:
            guard value.isEmpty else { throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count) }
            return .null
        case .integer:
            return .integer(try decodeInteger(value))
        case .float:
            guard value.count == numberSizeBytes else {
                throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count)
            }
            return .float(Double(bitPattern: loadUInt64BE(value, at: 0)))
        case .string:
            guard let text = UTF8Text.decode(value) else {
                throw .particleValueInvalid(typeRaw: typeRaw)
            }
            return .string(text)
        case .blob:
            return .blob(Array(value))
        case .bool:
            guard value.count == 1 else { throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count) }
            switch loadUInt8(value, at: 0) {
            case 0: return .bool(false)
            case 1: return .bool(true)
            default: throw .particleValueInvalid(typeRaw: typeRaw)
            }
        default:
            return .opaque(typeRaw: typeRaw, bytes: Array(value))
        }
    }

    /// Decodes an INTEGER particle value: 8 bytes BE two's complement, or a 1/2/4-byte
    /// big-endian unsigned form (the server zero-extends those).
    public static func decodeInteger(_ value: UnsafeRawBufferPointer) throws(MessageError) -> Int64 {
        switch value.count {
        case 8: return Int64(bitPattern: loadUInt64BE(value, at: 0))
        case 4: return Int64(loadUInt32BE(value, at: 0))
        case 2: return Int64(loadUInt16BE(value, at: 0))
        case 1: return Int64(loadUInt8(value, at: 0))
        default: throw .particleSizeInvalid(typeRaw: ParticleType.integer.rawValue, sizeBytes: value.count)
        }
    }
}

extension ParticleValue: Equatable {
    public static func == (lhs: ParticleValue, rhs: ParticleValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.integer(let left), .integer(let right)): left == right
        case (.float(let left), .float(let right)): left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): left == right
        case (.blob(let left), .blob(let right)): left == right
        case (.bool(let left), .bool(let right)): left == right
        case (.opaque(let leftType, let left), .opaque(let rightType, let right)): leftType == rightType && left == right
        default: false
        }
    }
}

/// Layout of a GEOJSON particle value (PROTOCOL.md §5.3):
/// `u8 flags · u16 BE cell count · cell count × 8 bytes cell ids · JSON text`.
public struct GeoJSONLayout: Sendable, Equatable {
    /// Size of flags plus cell count.
    public static let prefixSizeBytes: Int = 3
    public static let cellSizeBytes: Int = 8

    public var flags: UInt8
    public var cellCount: UInt16
    /// 0-based range of the JSON text within the particle value.
    public var jsonRange: Range<Int>

    /// Splits a GEOJSON value; errors if the declared cells do not fit.
    public static func decode(_ value: UnsafeRawBufferPointer) throws(MessageError) -> GeoJSONLayout {
        let typeRaw = ParticleType.geoJSON.rawValue
        guard value.count >= prefixSizeBytes else {
            throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count)
        }
        let cellCount = loadUInt16BE(value, at: 1)
        let jsonStart = prefixSizeBytes + Int(cellCount) * cellSizeBytes
        guard jsonStart <= value.count else {
            throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count)
        }
        return GeoJSONLayout(flags: loadUInt8(value, at: 0), cellCount: cellCount, jsonRange: jsonStart..<value.count)
    }
}

@inline(__always)
private func appendUInt64BE(_ value: UInt64, to output: inout [UInt8]) {
    for shift in stride(from: 56, through: 0, by: -8) {
        output.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
}
