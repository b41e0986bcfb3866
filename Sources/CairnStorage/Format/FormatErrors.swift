/// Why bytes read from a device (untrusted) were not accepted as a Cairn structure.
///
/// Decoders return these for bad data and never trap on it. The reasons are meant for logs and
/// counters: `description` is one line an operator can read.
public enum FormatDecodingError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The buffer ends before the structure does.
    case truncated(neededBytes: Int, availableBytes: Int)
    /// The magic is not the expected one; `found` holds the bytes read, as a little-endian integer.
    case badMagic(found: UInt64)
    /// A length field is out of range (not aligned, too small or too large).
    case badLength(lengthBytes: Int, reason: String)
    /// The stored CRC32C does not match the bytes it covers.
    case badChecksum(stored: UInt32, computed: UInt32)
    /// A Cairn structure whose CRC verifies but whose format version this build does not read.
    case unsupportedVersion(UInt32)
    /// A field has a value the format does not allow (checked after the CRC verified).
    case badField(name: String, reason: String)

    public var description: String {
        switch self {
        case let .truncated(neededBytes, availableBytes):
            "truncated: needs \(neededBytes) bytes, \(availableBytes) available"
        case let .badMagic(found):
            "bad magic: found 0x\(hex(found, digits: 16)) (little-endian)"
        case let .badLength(lengthBytes, reason):
            "bad length \(lengthBytes): \(reason)"
        case let .badChecksum(stored, computed):
            "bad CRC32C: stored 0x\(hex(UInt64(stored), digits: 8)), computed 0x\(hex(UInt64(computed), digits: 8))"
        case let .unsupportedVersion(version):
            "unsupported format version \(version) (this build reads versions \(FormatLimits.formatVersion) ... \(FormatLimits.deviceHeaderVersionMax))"
        case let .badField(name, reason):
            "bad field \(name): \(reason)"
        }
    }
}

/// Why a value could not be encoded. These are inputs the format cannot represent (a name too
/// long, a record larger than a block…); the caller maps them to a client error. Buffer misuse
/// (too small, misaligned) is a programmer error and traps instead.
public enum FormatEncodingError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The encoded record would exceed the largest record a block can hold.
    case recordTooLarge(sizeBytes: Int, sizeBytesMax: Int)
    /// More bins than `FormatLimits.binCountMax`.
    case tooManyBins(count: Int, countMax: Int)
    /// A bin name is empty, longer than 15 bytes, or contains NUL.
    case badBinName(String, reason: String)
    /// A set name is empty, longer than 63 bytes, or contains NUL.
    case badSetName(String, reason: String)
    /// The user key cannot be stored (wrong particle type or size).
    case badKey(reason: String)
    /// A bin value cannot be stored (particle type or size).
    case badBinValue(binName: String, reason: String)
    /// The per-set truncation table is full.
    case truncationTableFull(countMax: Int)
    /// Any other field out of range (header fields, tombstone with bins, time out of range…).
    case invalidField(name: String, reason: String)

    public var description: String {
        switch self {
        case let .recordTooLarge(sizeBytes, sizeBytesMax):
            "record too large: \(sizeBytes) bytes encoded, at most \(sizeBytesMax)"
        case let .tooManyBins(count, countMax):
            "too many bins: \(count), at most \(countMax)"
        case let .badBinName(name, reason):
            "bad bin name \(String(reflecting: name)): \(reason)"
        case let .badSetName(name, reason):
            "bad set name \(String(reflecting: name)): \(reason)"
        case let .badKey(reason):
            "bad user key: \(reason)"
        case let .badBinValue(binName, reason):
            "bad value in bin \(String(reflecting: binName)): \(reason)"
        case let .truncationTableFull(countMax):
            "truncation table full: at most \(countMax) sets can carry a truncate time"
        case let .invalidField(name, reason):
            "invalid \(name): \(reason)"
        }
    }
}

/// Lower-case hexadecimal of `value`, left-padded with zeros to `digits`.
func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// Lower-case hexadecimal of `bytes`, two digits per byte, separated by spaces.
func hexBytes(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { hex(UInt64($0), digits: 2) }.joined(separator: " ")
}
