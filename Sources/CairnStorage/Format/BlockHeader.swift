import CairnIO

/// The header at the start of every data block (blocks 1 ... n; FORMAT.md "Block header").
///
/// ```
/// offset size field
///  0      4   magic 43 42 EC 01 ("CB", 0xEC, format 1)
///  4      4   usedBytes: bytes of records after this header (multiple of 16, ≤ block − 48)
///  8      8   sequence: namespace-wide, ≥ 1, strictly increasing each time a block is opened
/// 16      8   namespace instance id (≠ 0; same as the device header's)
/// 24      4   block index on its device (≥ 1)
/// 28      2   device index (< 128)
/// 30      2   reserved, 0
/// 32      4   write block size in bytes
/// 36      4   record count (records in usedBytes)
/// 40      4   reserved, 0
/// 44      4   CRC32C of bytes [0, 44)
/// 48          first record
/// ```
/// A plain value; any thread may use it.
public struct BlockHeader: Sendable, Equatable, Hashable {
    /// Block sequence number: ordering of block writes across the namespace.
    public var sequence: UInt64
    /// The namespace instance the block belongs to.
    public var namespaceInstanceId: UInt64
    /// The block's index on its device.
    public var blockIndex: UInt32
    /// The device's index in the namespace.
    public var deviceIndex: UInt16
    /// The write block size the block was written with.
    public var writeBlockSizeBytes: UInt32
    /// Bytes of records that follow the header.
    public var usedBytes: UInt32
    /// Number of records in those bytes.
    public var recordCount: UInt32

    /// `43 42 EC 01` on device.
    public static let magic: UInt32 = 0x01EC_4243
    /// Bytes of the block header; records start at this offset in a block.
    public static let sizeBytes = 48
    static let checksumOffset = 44

    public init(
        sequence: UInt64,
        namespaceInstanceId: UInt64,
        blockIndex: UInt32,
        deviceIndex: UInt16,
        writeBlockSizeBytes: UInt32,
        usedBytes: UInt32,
        recordCount: UInt32
    ) {
        self.sequence = sequence
        self.namespaceInstanceId = namespaceInstanceId
        self.blockIndex = blockIndex
        self.deviceIndex = deviceIndex
        self.writeBlockSizeBytes = writeBlockSizeBytes
        self.usedBytes = usedBytes
        self.recordCount = recordCount
    }

    // MARK: Encoding

    /// Writes the 48-byte header at `offset` (normally 0 of a write buffer) after checking every
    /// field. `offset ..< offset + 48` must lie in `buffer` (a programmer error otherwise).
    public func encode(into buffer: UnsafeMutableRawBufferPointer, at offset: Int = 0) throws(FormatEncodingError) {
        if let (name, reason) = fieldProblem() { throw .invalidField(name: name, reason: reason) }
        precondition(offset >= 0 && offset <= buffer.count - Self.sizeBytes, "block header does not fit in the buffer")
        var writer = ByteWriter(buffer, cursor: offset, end: offset + Self.checksumOffset)
        writer.put(Self.magic)
        writer.put(usedBytes)
        writer.put(sequence)
        writer.put(namespaceInstanceId)
        writer.put(blockIndex)
        writer.put(deviceIndex)
        writer.put(UInt16(0))  // reserved
        writer.put(writeBlockSizeBytes)
        writer.put(recordCount)
        writer.put(UInt32(0))  // reserved
        assert(writer.cursor == offset + Self.checksumOffset)
        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(buffer).slice(offset..<(offset + Self.checksumOffset)))
        buffer.storeLittleEndian(checksum, at: offset + Self.checksumOffset)
    }

    /// The 48 header bytes in a new array (tests and tools).
    public func encoded() throws(FormatEncodingError) -> [UInt8] {
        if let (name, reason) = fieldProblem() { throw .invalidField(name: name, reason: reason) }
        var bytes = [UInt8](repeating: 0, count: Self.sizeBytes)
        bytes.withUnsafeMutableBytes { buffer in
            do throws(FormatEncodingError) {
                try encode(into: buffer, at: 0)
            } catch {
                preconditionFailure("fields were checked above: \(error)")
            }
        }
        return bytes
    }

    // MARK: Decoding

    /// Reads a block header from untrusted bytes at `offset`: magic, then CRC32C, then every field.
    /// Does not compare with what the caller expects (the block scanner does that).
    public init(decodingUntrusted buffer: UnsafeRawBufferPointer, at offset: Int = 0) throws(FormatDecodingError) {
        precondition(offset >= 0 && offset <= buffer.count, "block header offset outside the buffer")
        let availableBytes = buffer.count - offset
        guard availableBytes >= Self.sizeBytes else {
            throw .truncated(neededBytes: Self.sizeBytes, availableBytes: availableBytes)
        }
        let foundMagic = buffer.loadLittleEndian(at: offset, as: UInt32.self)
        guard foundMagic == Self.magic else { throw .badMagic(found: UInt64(foundMagic)) }
        let stored = buffer.loadLittleEndian(at: offset + Self.checksumOffset, as: UInt32.self)
        let computed = CRC32C.checksum(buffer.slice(offset..<(offset + Self.checksumOffset)))
        guard stored == computed else { throw .badChecksum(stored: stored, computed: computed) }

        guard buffer.loadLittleEndian(at: offset + 30, as: UInt16.self) == 0,
            buffer.loadLittleEndian(at: offset + 40, as: UInt32.self) == 0
        else {
            throw .badField(name: "reserved", reason: "reserved bytes are not zero")
        }
        self.init(
            sequence: buffer.loadLittleEndian(at: offset + 8, as: UInt64.self),
            namespaceInstanceId: buffer.loadLittleEndian(at: offset + 16, as: UInt64.self),
            blockIndex: buffer.loadLittleEndian(at: offset + 24, as: UInt32.self),
            deviceIndex: buffer.loadLittleEndian(at: offset + 28, as: UInt16.self),
            writeBlockSizeBytes: buffer.loadLittleEndian(at: offset + 32, as: UInt32.self),
            usedBytes: buffer.loadLittleEndian(at: offset + 4, as: UInt32.self),
            recordCount: buffer.loadLittleEndian(at: offset + 36, as: UInt32.self)
        )
        if let (name, reason) = fieldProblem() { throw .badField(name: name, reason: reason) }
    }

    // MARK: Checks

    /// The first field out of range, as (field, reason), or `nil`. Checked before every write and
    /// after every read.
    func fieldProblem() -> (String, String)? {
        if sequence == 0 { return ("sequence", "must be ≥ 1") }
        if namespaceInstanceId == 0 { return ("namespaceInstanceId", "must not be zero") }
        if blockIndex < DeviceGeometry.firstDataBlockIndex { return ("blockIndex", "block 0 holds the device header") }
        if Int(deviceIndex) >= FormatLimits.deviceCountMax {
            return ("deviceIndex", "\(deviceIndex), must be below \(FormatLimits.deviceCountMax)")
        }
        let blockSize = Int(writeBlockSizeBytes)
        if !FormatLimits.isValidWriteBlockSize(blockSize) {
            return ("writeBlockSizeBytes", "\(blockSize) is not a power of two in 128 KiB ... 8 MiB")
        }
        if Int(usedBytes) % FormatLimits.recordAlignmentBytes != 0 { return ("usedBytes", "\(usedBytes) is not a multiple of 16") }
        if Int(usedBytes) > blockSize - Self.sizeBytes {
            return ("usedBytes", "\(usedBytes) exceeds the block's \(blockSize - Self.sizeBytes) record bytes")
        }
        if Int(recordCount) > Int(usedBytes) / RecordFormat.recordSizeBytesMin {
            return ("recordCount", "\(recordCount) records cannot fit in \(usedBytes) bytes")
        }
        return nil
    }
}
