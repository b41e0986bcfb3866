/// The fixed limits of Cairn's on-device format, version 1 (FORMAT.md "Limits").
///
/// Every limit is named with its unit last. Encoders refuse inputs beyond a limit with a typed
/// error; decoders treat bytes beyond a limit as damage.
public enum FormatLimits {
    /// The on-device format version this code writes when the device header carries no eviction
    /// mark; the device header alone has a version 2 (FORMAT.md "Versions").
    public static let formatVersion: UInt32 = 1
    /// The device-header version written when the header carries an eviction mark.
    public static let deviceHeaderEvictionVersion: UInt32 = 2
    /// The newest device-header version this code reads.
    public static let deviceHeaderVersionMax: UInt32 = 2

    /// Smallest write block: 128 KiB (it must hold both device-header copies in block 0).
    public static let writeBlockSizeBytesMin: Int = 128 * 1024
    /// Largest write block: 8 MiB.
    public static let writeBlockSizeBytesMax: Int = 8 * 1024 * 1024
    /// The write block size used when the configuration does not name one: 1 MiB.
    public static let writeBlockSizeBytesDefault: Int = 1024 * 1024

    /// Records start, and have sizes, at multiples of this many bytes.
    public static let recordAlignmentBytes: Int = 16

    /// Devices (or files) a namespace may have: 128.
    public static let deviceCountMax: Int = 128
    /// Namespace name length in UTF-8 bytes: 1 ... 31 (Aerospike's limit).
    public static let namespaceNameBytesMax: Int = 31
    /// Set name length in UTF-8 bytes: 1 ... 63 (Aerospike's limit).
    public static let setNameBytesMax: Int = 63
    /// Bin name length in UTF-8 bytes: 1 ... 15 (Aerospike's limit).
    public static let binNameBytesMax: Int = 15
    /// Bins in one record: 32 767 (Aerospike's limit). A record must also fit in one block.
    public static let binCountMax: Int = 32_767
    /// Per-set truncation entries in the device header: 896 (so a header copy fits in 64 KiB
    /// even when every set name has the maximum length).
    public static let setTruncationCountMax: Int = 896
    /// Last-update times are stored in 48 bits of milliseconds since 2010-01-01 (about 8 900 years).
    public static let lastUpdateMsMax: UInt64 = (1 << 48) - 1
    /// Largest `partition-tree-sprigs` value the header accepts (a power of two, as Aerospike's).
    public static let partitionTreeSprigsMax: UInt32 = 1 << 28

    /// Rounds `sizeBytes` up to the record alignment (16 bytes).
    @inlinable
    public static func alignedSizeBytes(_ sizeBytes: Int) -> Int {
        precondition(sizeBytes >= 0, "negative size")
        return (sizeBytes + recordAlignmentBytes - 1) & ~(recordAlignmentBytes - 1)
    }

    /// Whether `writeBlockSizeBytes` is a power of two between 128 KiB and 8 MiB.
    @inlinable
    public static func isValidWriteBlockSize(_ writeBlockSizeBytes: Int) -> Bool {
        writeBlockSizeBytes >= writeBlockSizeBytesMin
            && writeBlockSizeBytes <= writeBlockSizeBytesMax
            && writeBlockSizeBytes.nonzeroBitCount == 1
    }
}
