/// The 20-byte RIPEMD-160 digest that identifies a record (PROTOCOL.md §4.3): the one digest
/// type from the wire to the index to the device (the wire, the index and the storage format
/// each had their own before, one of them little-endian).
///
/// A plain value: no owner, freely shared between threads. The bytes are held as three
/// big-endian words so that comparing the words in order is the same as `memcmp` on the bytes:
///
/// ```
/// bytes   0 1 2 3 4 5 6 7 | 8 9 10 11 12 13 14 15 | 16 17 18 19
/// word    word0 (byte 0 = most significant) | word1 | word2
/// ```
///
/// Derived values:
/// - `partitionID` = `(byte0 | byte1 << 8) & 0x0FFF` (PROTOCOL.md §4.4): byte 0 and the low
///   nibble of byte 1.
/// - `sprigKey` (12 bits) = the high nibble of byte 1 followed by byte 2, most significant first:
///   the 12 digest bits that come right after the partition bits in `memcmp` order. A sprig index
///   for `n = 2^k` sprigs is the top `k` bits of `sprigKey`. Because those bits are the most
///   significant bits that vary inside one partition, sprig order *is* digest order within a
///   partition: walking sprigs 0, 1, 2… and each sprig in digest order visits the partition in
///   plain ascending digest order.
public struct Digest: Sendable, Hashable, Comparable {
    /// Number of bytes in a digest.
    public static let sizeBytes = 20
    /// Number of partitions of a namespace (the 12-bit partition id, PROTOCOL.md §4.4).
    public static let partitionCount = 4096
    /// Number of digest bits that choose a sprig; `sprigsPerPartition` is at most `1 << sprigKeyBitCount`.
    public static let sprigKeyBitCount = 12

    /// Bytes 0..<8, big-endian.
    public let word0: UInt64
    /// Bytes 8..<16, big-endian.
    public let word1: UInt64
    /// Bytes 16..<20, big-endian.
    public let word2: UInt32

    /// A digest from its three words, each holding its bytes in big-endian order (bytes 0..<8,
    /// 8..<16, 16..<20).
    @inline(__always)
    public init(word0: UInt64, word1: UInt64, word2: UInt32) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
    }

    /// Reads the 20 bytes at `offset` of `bytes`; nil if they are not all there.
    @inline(__always)
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) {
        guard offset >= 0, bytes.count - offset >= Digest.sizeBytes else { return nil }
        self.init(
            word0: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            word1: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
            word2: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self)))
    }

    /// Exactly 20 bytes; nil for any other count.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Digest.sizeBytes else { return nil }
        self.init(bytes, at: 0)
    }

    /// Exactly 20 bytes; nil for any other count.
    public init?<Bytes: Collection<UInt8>>(bytes: Bytes) {
        if let digest = bytes.withContiguousStorageIfAvailable({ Digest(bytes: UnsafeRawBufferPointer($0)) }) {
            guard let digest else { return nil }
            self = digest
            return
        }
        guard bytes.count == Digest.sizeBytes else { return nil }
        let copy = Array(bytes)
        guard let digest = copy.withUnsafeBytes({ Digest(bytes: $0) }) else { return nil }
        self = digest
    }

    /// 40 hexadecimal digits (either case); nil otherwise.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 2 * Digest.sizeBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: Digest.sizeBytes)
        for index in 0..<Digest.sizeBytes {
            guard let high = Digest.nibble(utf8[2 * index]), let low = Digest.nibble(utf8[2 * index + 1]) else {
                return nil
            }
            bytes[index] = high << 4 | low
        }
        self.init(bytes: bytes)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The 20 bytes, in order.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Lower-case hexadecimal, 40 digits.
    public var hex: String { description }

    /// Calls `body` with the 20 bytes, in order, without allocating.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var bigEndian = (word0.bigEndian, word1.bigEndian, word2.bigEndian)
        return try Swift.withUnsafeBytes(of: &bigEndian) { tuple in
            // The tuple's first 20 bytes are the three big-endian words back to back (offsets 0, 8, 16).
            precondition(tuple.count >= Digest.sizeBytes)
            return try body(UnsafeRawBufferPointer(rebasing: tuple[0..<Digest.sizeBytes]))
        }
    }

    /// Stores the 20 bytes at `offset` of `destination` (which must hold them).
    @inline(__always)
    public func store(into destination: UnsafeMutableRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && destination.count - offset >= Digest.sizeBytes, "digest store outside buffer")
        destination.storeBytes(of: word0.bigEndian, toByteOffset: offset, as: UInt64.self)
        destination.storeBytes(of: word1.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
        destination.storeBytes(of: word2.bigEndian, toByteOffset: offset + 16, as: UInt32.self)
    }

    /// The partition: byte 0 and the low nibble of byte 1 (PROTOCOL.md §4.4).
    public var partitionID: Int {
        let byte0 = word0 >> 56
        let byte1 = (word0 >> 48) & 0xFF
        return Int((byte0 | byte1 << 8) & 0x0FFF)
    }

    /// The 12 bits after the partition bits, in `memcmp` order.
    public var sprigKey: Int {
        let byte1HighNibble = (word0 >> 52) & 0x0F
        let byte2 = (word0 >> 40) & 0xFF
        return Int(byte1HighNibble << 8 | byte2)
    }

    /// The sprig this digest belongs to when a partition has `sprigsPerPartition` sprigs (a
    /// power of two in 1...4096).
    public func sprigIndex(sprigsPerPartition: Int) -> Int {
        precondition(
            sprigsPerPartition > 0 && sprigsPerPartition <= 1 << Digest.sprigKeyBitCount
                && sprigsPerPartition & (sprigsPerPartition - 1) == 0,
            "sprigsPerPartition must be a power of two in 1...4096"
        )
        return sprigKey >> (Digest.sprigKeyBitCount - sprigsPerPartition.trailingZeroBitCount)
    }

    /// -1, 0 or 1: this digest against the one with these words (`memcmp` order).
    @inline(__always)
    public func compare(word0 other0: UInt64, word1 other1: UInt64, word2 other2: UInt32) -> Int {
        if word0 != other0 { return word0 < other0 ? -1 : 1 }
        if word1 != other1 { return word1 < other1 ? -1 : 1 }
        if word2 != other2 { return word2 < other2 ? -1 : 1 }
        return 0
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        lhs.compare(word0: rhs.word0, word1: rhs.word1, word2: rhs.word2) < 0
    }
}

extension Digest: CustomStringConvertible {
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(2 * Digest.sizeBytes)
        withUnsafeBytes { bytes in
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
