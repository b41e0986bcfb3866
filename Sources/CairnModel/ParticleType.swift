/// Aerospike's particle (value) type ids, one enum from the wire to the device.
///
/// The id is stored on the device unchanged, so a bin read back carries exactly the type the
/// client wrote. Two ids travel on the wire but are never stored: NIL (0: in a write it deletes
/// the bin, in a reply it means "no value") and VECTOR (16, reserved). `isStorable` says which.
public enum ParticleType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Empty value. In a write: delete the bin; in a reply: no value.
    case null = 0
    /// 8-byte big-endian two's complement (the wire's 1/2/4-byte forms are widened on input).
    case integer = 1
    /// 8-byte big-endian IEEE 754 double.
    case float = 2
    /// Raw UTF-8, no NUL, no length prefix.
    case string = 3
    /// Raw bytes.
    case blob = 4
    case javaBlob = 7
    case csharpBlob = 8
    case pythonBlob = 9
    case rubyBlob = 10
    case phpBlob = 11
    case erlangBlob = 12
    /// Reserved.
    case vector = 16
    /// 1 byte, 0 or 1.
    case bool = 17
    /// Opaque HyperLogLog bytes.
    case hll = 18
    /// msgpack map.
    case map = 19
    /// msgpack list.
    case list = 20
    /// 1 byte flags + u16 big-endian cell count + 8 bytes per cell + JSON text.
    case geoJSON = 23

    /// Whether a bin of this type can be stored: every type but NIL and VECTOR.
    public var isStorable: Bool { self != .null && self != .vector }

    /// The id of a type that can be stored, or nil (unknown, NIL or VECTOR).
    public init?(storable raw: UInt8) {
        guard let type = ParticleType(rawValue: raw), type.isStorable else { return nil }
        self = type
    }

    /// The exact value size this type requires, or `nil` when any size is allowed.
    ///
    /// Integers and floats are stored as the wire's 8 bytes (big-endian two's complement / IEEE
    /// 754); the engine widens the wire's 1/2/4-byte integer forms before storing. Bools are 1 byte.
    public var fixedValueSizeBytes: Int? {
        switch self {
        case .integer, .float: 8
        case .bool: 1
        default: nil
        }
    }

    /// Whether a user key may have this type: integer, string or blob.
    public var isKeyType: Bool {
        switch self {
        case .integer, .string, .blob: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .null: "nil"
        case .integer: "integer"
        case .float: "float"
        case .string: "string"
        case .blob: "blob"
        case .javaBlob: "java-blob"
        case .csharpBlob: "csharp-blob"
        case .pythonBlob: "python-blob"
        case .rubyBlob: "ruby-blob"
        case .phpBlob: "php-blob"
        case .erlangBlob: "erlang-blob"
        case .vector: "vector"
        case .bool: "bool"
        case .hll: "hll"
        case .map: "map"
        case .list: "list"
        case .geoJSON: "geojson"
        }
    }
}
