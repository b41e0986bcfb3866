/// The 20-byte RIPEMD-160 digest that identifies a record (PROTOCOL.md §4.3).
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
    public static let byteCount = 20
    /// Number of partitions of a namespace.
    public static let partitionCount = 4096
    /// Number of digest bits that choose a sprig; `sprigsPerPartition` is at most `1 << sprigKeyBitCount`.
    public static let sprigKeyBitCount = 12

    /// Bytes 0..<8, big-endian.
    let word0: UInt64
    /// Bytes 8..<16, big-endian.
    let word1: UInt64
    /// Bytes 16..<20, big-endian.
    let word2: UInt32

    /// Builds a digest from its three big-endian words (internal: the index stores digests this way).
    init(word0: UInt64, word1: UInt64, word2: UInt32) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
    }

    /// A digest from its three words, each holding its bytes in big-endian order (bytes 0..<8,
    /// 8..<16, 16..<20). Conversion from other 20-byte digest types without a byte loop.
    @inline(__always)
    public init(bigEndianWords word0: UInt64, _ word1: UInt64, _ word2: UInt32) {
        self.init(word0: word0, word1: word1, word2: word2)
    }

    /// The three words (see `init(bigEndianWords:)`).
    @inline(__always)
    public var bigEndianWords: (UInt64, UInt64, UInt32) { (word0, word1, word2) }

    /// A digest from exactly 20 bytes; `nil` for any other length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Digest.byteCount else { return nil }
        self.init(
            word0: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            word1: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            word2: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
    }

    /// A digest from a collection of exactly 20 bytes; `nil` for any other length.
    public init?<Bytes: Collection<UInt8>>(bytes: Bytes) {
        if let digest = bytes.withContiguousStorageIfAvailable({ Digest(bytes: UnsafeRawBufferPointer($0)) }) {
            guard let digest else { return nil }
            self = digest
            return
        }
        guard bytes.count == Digest.byteCount else { return nil }
        let copy = Array(bytes)
        guard let digest = copy.withUnsafeBytes({ Digest(bytes: $0) }) else { return nil }
        self = digest
    }

    /// A digest from 40 hexadecimal digits (either case); `nil` for anything else.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 2 * Digest.byteCount else { return nil }
        var bytes = [UInt8](repeating: 0, count: Digest.byteCount)
        for index in 0..<Digest.byteCount {
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

    /// The 20 bytes, in wire order.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Calls `body` with the 20 bytes in wire order (no allocation).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var bigEndian = (word0.bigEndian, word1.bigEndian, word2.bigEndian)
        return try Swift.withUnsafeBytes(of: &bigEndian) { tuple in
            // The tuple's 20 bytes are the three big-endian words back to back (offsets 0, 8, 16).
            precondition(tuple.count == Digest.byteCount)
            return try body(tuple)
        }
    }

    /// The partition this digest belongs to, `0..<4096` (PROTOCOL.md §4.4).
    public var partitionID: Int {
        let byte0 = word0 >> 56
        let byte1 = (word0 >> 48) & 0xFF
        return Int((byte0 | byte1 << 8) & 0x0FFF)
    }

    /// The 12 bits after the partition bits: high nibble of byte 1, then byte 2 (see the type's doc).
    var sprigKey: Int {
        let byte1HighNibble = (word0 >> 52) & 0x0F
        let byte2 = (word0 >> 40) & 0xFF
        return Int(byte1HighNibble << 8 | byte2)
    }

    /// The sprig of this digest inside its partition when a partition has `sprigsPerPartition`
    /// sprigs (a power of two, `1...4096`): the top `log2(sprigsPerPartition)` bits of `sprigKey`.
    public func sprigIndex(sprigsPerPartition: Int) -> Int {
        precondition(
            sprigsPerPartition > 0 && sprigsPerPartition <= 1 << Digest.sprigKeyBitCount
                && sprigsPerPartition & (sprigsPerPartition - 1) == 0,
            "sprigsPerPartition must be a power of two in 1...4096"
        )
        return sprigKey >> (Digest.sprigKeyBitCount - sprigsPerPartition.trailingZeroBitCount)
    }

    /// Three-way comparison with the words of a stored digest, in `memcmp` order.
    @inline(__always)
    func compare(word0 other0: UInt64, word1 other1: UInt64, word2 other2: UInt32) -> Int {
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
    /// 40 lowercase hexadecimal digits, as Aerospike tools print digests.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(2 * Digest.byteCount)
        withUnsafeBytes { bytes in
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
