/// The Aerospike particle (value) types Cairn stores, with their wire ids (PROTOCOL.md §5.3).
///
/// The id is stored on device unchanged, so a bin read back carries exactly the type the client
/// wrote. NIL (0) is not storable (writing NIL deletes a bin) and VECTOR (16) is reserved.
public enum ParticleType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case integer = 1
    case float = 2
    case string = 3
    case blob = 4
    case javaBlob = 7
    case csharpBlob = 8
    case pythonBlob = 9
    case rubyBlob = 10
    case phpBlob = 11
    case erlangBlob = 12
    case bool = 17
    case hll = 18
    case map = 19
    case list = 20
    case geoJSON = 23

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

    /// Whether a user key may have this type: integer, string or blob (PROTOCOL.md §4.3).
    public var isKeyType: Bool {
        switch self {
        case .integer, .string, .blob: true
        default: false
        }
    }

    public var description: String {
        switch self {
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
        case .bool: "bool"
        case .hll: "hll"
        case .map: "map"
        case .list: "list"
        case .geoJSON: "geojson"
        }
    }
}
