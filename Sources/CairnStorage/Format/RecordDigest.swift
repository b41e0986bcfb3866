/// The 20-byte RIPEMD-160 digest that names a record (PROTOCOL.md §4.3), as stored on device.
///
/// Kept as three integers so it is a plain value with no allocation: `word0` holds bytes 0..<8,
/// `word1` bytes 8..<16 and `word2` bytes 16..<20, each read little-endian. On device the 20 bytes
/// are stored in their natural order, so converting to any other 20-byte digest type is a copy of
/// `bytes` (or of the three words).
public struct RecordDigest: Hashable, Sendable, CustomStringConvertible {
    /// Digest bytes 0..<8, little-endian.
    public var word0: UInt64
    /// Digest bytes 8..<16, little-endian.
    public var word1: UInt64
    /// Digest bytes 16..<20, little-endian.
    public var word2: UInt32

    /// Size of a digest on device.
    public static let sizeBytes = 20

    /// A digest from its three little-endian words.
    public init(word0: UInt64, word1: UInt64, word2: UInt32) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
    }

    /// A digest from exactly 20 bytes (traps on any other count: a digest is always 20 bytes).
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == Self.sizeBytes, "a digest is 20 bytes, got \(bytes.count)")
        var word0: UInt64 = 0
        var word1: UInt64 = 0
        var word2: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 0..<8: word0 |= UInt64(byte) << (8 * UInt64(index))
            case 8..<16: word1 |= UInt64(byte) << (8 * UInt64(index - 8))
            default: word2 |= UInt32(byte) << (8 * UInt32(index - 16))
            }
        }
        self.init(word0: word0, word1: word1, word2: word2)
    }

    /// The 20 bytes in order.
    public var bytes: [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(Self.sizeBytes)
        for shift in stride(from: UInt64(0), to: 64, by: 8) { result.append(UInt8(truncatingIfNeeded: word0 >> shift)) }
        for shift in stride(from: UInt64(0), to: 64, by: 8) { result.append(UInt8(truncatingIfNeeded: word1 >> shift)) }
        for shift in stride(from: UInt32(0), to: 32, by: 8) { result.append(UInt8(truncatingIfNeeded: word2 >> shift)) }
        return result
    }

    /// Partition id: the low 12 bits of the first two bytes read little-endian (PROTOCOL.md §4.4).
    public var partitionId: UInt16 { UInt16(truncatingIfNeeded: word0) & 0x0FFF }

    /// Lower-case hexadecimal of the 20 bytes, as clients print digests.
    public var description: String { bytes.map { hex(UInt64($0), digits: 2) }.joined() }

    /// Reads 20 bytes at `offset`; the caller has checked bounds.
    init(loadingFrom buffer: UnsafeRawBufferPointer, at offset: Int) {
        self.init(
            word0: buffer.loadLittleEndian(at: offset, as: UInt64.self),
            word1: buffer.loadLittleEndian(at: offset + 8, as: UInt64.self),
            word2: buffer.loadLittleEndian(at: offset + 16, as: UInt32.self)
        )
    }

    /// Writes the 20 bytes at `offset`; the caller has checked bounds.
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeLittleEndian(word0, at: offset)
        buffer.storeLittleEndian(word1, at: offset + 8)
        buffer.storeLittleEndian(word2, at: offset + 16)
    }
}
