import CairnIO

/// Encoding and decoding of one record (FORMAT.md "Record").
///
/// ```
/// offset size  field
///  0      4    magic 43 52 EC 01 ("CR", 0xEC, format 1)
///  4      4    sizeBytes: whole record incl. padding and CRC; multiple of 16; 48 ... block − 48
///  8      1    flags: bit0 tombstone, bit1 has set, bit2 has key, bit3 has void time; others 0
///  9      1    reserved, 0
/// 10      2    generation
/// 12      2    bin count (0 for a tombstone, ≥ 1 otherwise)
/// 14      6    last-update time, ms since 2010-01-01 (48 bits)
/// 20     20    digest
/// 40      4    block sequence tag: low 32 bits of the sequence of the block it was written in
/// 44      …    [void time u32]                           if has void time (never 0)
///              [set name length u8 (1...63), bytes]       if has set
///              [key type u8, key length u32, bytes]       if has key
///              bins × [name length u8 (0...15: Aerospike allows an empty bin name), name, particle type u8, value length u32, value]
///              zero padding to sizeBytes − 4 (0 ... 15 bytes)
/// size−4  4    CRC32C of bytes [0, sizeBytes − 4)
/// ```
/// All integers are little-endian. The CRC is checked before any other field is trusted.
///
/// Pure functions with no state; any thread may call them.
public enum RecordFormat {
    /// `43 52 EC 01` on device.
    public static let magic: UInt32 = 0x01EC_5243

    // MARK: Offsets of the fixed part

    static let magicOffset = 0
    static let sizeOffset = 4
    static let flagsOffset = 8
    static let reservedOffset = 9
    static let generationOffset = 10
    static let binCountOffset = 12
    static let lastUpdateOffset = 14
    static let digestOffset = 20
    static let blockSequenceTagOffset = 40
    /// Bytes before the variable part.
    public static let fixedPartSizeBytes = 44
    /// Bytes of the trailing CRC32C.
    public static let checksumSizeBytes = 4

    /// The smallest record: a tombstone with no set, key or void time (44 + 4 rounded to 16).
    public static let recordSizeBytesMin = 48
    /// The largest record in any geometry (8 MiB block minus its block header).
    public static let recordSizeBytesLimit = FormatLimits.writeBlockSizeBytesMax - BlockHeader.sizeBytes

    /// The tag a record written into a block of sequence `blockSequence` carries.
    @inlinable
    public static func blockSequenceTag(_ blockSequence: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: blockSequence)  // low 32 bits by design (FORMAT.md "Sequence numbers")
    }
}

// MARK: - Input checks shared by the record and header encoders

/// Why `name` is not a valid stored name of at most `bytesMax` UTF-8 bytes, or `nil` if it is.
func nameProblem(_ name: String, bytesMax: Int, allowsEmpty: Bool = false) -> String? {
    let count = name.utf8.count
    if count == 0 && !allowsEmpty { return "empty" }
    if count > bytesMax { return "\(count) UTF-8 bytes, at most \(bytesMax)" }
    // Native strings are contiguous: a scan of their bytes instead of a walk of the UTF-8 view
    // through its indices (this runs for every bin name and set name a write encodes).
    let hasNUL = name.utf8.withContiguousStorageIfAvailable { $0.contains(0) } ?? name.utf8.contains(0)
    if hasNUL { return "contains a NUL byte" }
    return nil
}

/// Why `bytes` are not a valid stored name of at most `bytesMax` UTF-8 bytes, or `nil` if they are.
/// Returns the decoded string on success.
func decodeName(_ bytes: UnsafeRawBufferPointer, bytesMax: Int, allowsEmpty: Bool = false) -> Result<String, NameDecodingProblem> {
    if bytes.isEmpty { return allowsEmpty ? .success("") : .failure(.init(reason: "empty")) }
    if bytes.count > bytesMax { return .failure(.init(reason: "\(bytes.count) bytes, at most \(bytesMax)")) }
    if bytes.contains(0) { return .failure(.init(reason: "contains a NUL byte")) }
    guard let name = UTF8Text.decode(bytes) else {
        return .failure(.init(reason: "not valid UTF-8"))
    }
    return .success(name)
}

/// A reason a stored name was refused by `decodeName`.
struct NameDecodingProblem: Error {
    let reason: String
}
