/// How a device is cut into write blocks (FORMAT.md "Geometry").
///
/// ```
/// byte 0                      writeBlockSizeBytes            2 × writeBlockSizeBytes
/// +---------------------------+------------------------------+---------------------- …
/// | block 0: device header    | block 1: block header,       | block 2 …
/// | (copy A @0, copy B @64KiB)|   records, unused tail       |
/// +---------------------------+------------------------------+---------------------- …
/// ```
///
/// A value type with no state beyond the block size; any thread may use it.
public struct DeviceGeometry: Sendable, Equatable, Hashable {
    /// Bytes per write block: a power of two between 128 KiB and 8 MiB.
    public let writeBlockSizeBytes: Int

    /// Index of the first block that holds records (block 0 is the device header).
    public static let firstDataBlockIndex: UInt32 = 1

    /// Checks that `writeBlockSizeBytes` is a power of two in 128 KiB ... 8 MiB.
    public init(writeBlockSizeBytes: Int) throws(FormatEncodingError) {
        guard FormatLimits.isValidWriteBlockSize(writeBlockSizeBytes) else {
            throw .invalidField(
                name: "writeBlockSizeBytes",
                reason: "\(writeBlockSizeBytes) is not a power of two between "
                    + "\(FormatLimits.writeBlockSizeBytesMin) and \(FormatLimits.writeBlockSizeBytesMax)"
            )
        }
        self.writeBlockSizeBytes = writeBlockSizeBytes
    }

    /// The geometry of the default 1 MiB write block.
    public static let `default` = DeviceGeometry(uncheckedWriteBlockSizeBytes: FormatLimits.writeBlockSizeBytesDefault)

    init(uncheckedWriteBlockSizeBytes: Int) {
        precondition(FormatLimits.isValidWriteBlockSize(uncheckedWriteBlockSizeBytes))
        self.writeBlockSizeBytes = uncheckedWriteBlockSizeBytes
    }

    /// Offset, within a block, of the first record: right after the block header.
    public var recordsStartOffset: Int { BlockHeader.sizeBytes }

    /// Bytes available to records in one block; also the largest encoded record.
    public var recordSizeBytesMax: Int { writeBlockSizeBytes - BlockHeader.sizeBytes }

    /// Byte offset on the device of block `blockIndex`.
    public func byteOffset(ofBlock blockIndex: UInt32) -> UInt64 {
        UInt64(blockIndex) * UInt64(writeBlockSizeBytes)
    }

    /// Whole blocks (header block included) on a device of `deviceSizeBytes`; a partial block at
    /// the end is not used.
    public func blockCount(deviceSizeBytes: UInt64) -> UInt64 {
        deviceSizeBytes / UInt64(writeBlockSizeBytes)
    }
}
