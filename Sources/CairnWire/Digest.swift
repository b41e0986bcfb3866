/// A record's 20-byte RIPEMD-160 key digest (PROTOCOL.md §4.3), the key of every record.
///
/// Stored as three big-endian integers so that `<` is exactly `memcmp` order on the 20 bytes
/// (the order scans resume in, §9.3) and copies never allocate:
///
///     bytes  0..<8   high
///     bytes  8..<16  middle
///     bytes 16..<20  low
public struct Digest: Sendable, Hashable, Comparable {
    public static let sizeBytes: Int = 20
    /// Number of partitions of the 12-bit partition id (§4.4).
    public static let partitionCount: Int = 4096

    public var high: UInt64
    public var middle: UInt64
    public var low: UInt32

    public init(high: UInt64, middle: UInt64, low: UInt32) {
        self.high = high
        self.middle = middle
        self.low = low
    }

    /// Reads 20 bytes at `offset` of `bytes`; nil if they are not all there.
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) {
        guard offset >= 0, bytes.count - offset >= Digest.sizeBytes else { return nil }
        self.init(
            high: loadUInt64BE(bytes, at: offset),
            middle: loadUInt64BE(bytes, at: offset + 8),
            low: loadUInt32BE(bytes, at: offset + 16)
        )
    }

    /// Reads exactly 20 bytes; nil for any other count.
    public init?<Bytes: Collection<UInt8>>(bytes: Bytes) {
        guard bytes.count == Digest.sizeBytes else { return nil }
        guard let digest = withRawBytes(bytes, { raw in Digest(raw) }) else { return nil }
        self = digest
    }

    /// Parses 40 hex digits (either case); nil otherwise. For tests and tools.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == Digest.sizeBytes * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Digest.sizeBytes)
        var index = 0
        while index < digits.count {
            guard let upper = hexValue(digits[index]), let lower = hexValue(digits[index + 1]) else { return nil }
            bytes.append(upper << 4 | lower)
            index += 2
        }
        self.init(bytes: bytes)
    }

    /// The 20 bytes in wire order.
    public var bytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(Digest.sizeBytes)
        appendBytes(to: &output)
        return output
    }

    /// Lower-case hex, 40 characters.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(Digest.sizeBytes * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Partition id: first two bytes little-endian, low 12 bits (§4.4).
    public var partitionID: UInt16 {
        let byte0 = UInt16(truncatingIfNeeded: high >> 56)
        let byte1 = UInt16(truncatingIfNeeded: high >> 48)
        return (byte0 | byte1 << 8) & 0x0FFF
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        (lhs.high, lhs.middle, lhs.low) < (rhs.high, rhs.middle, rhs.low)
    }

    func appendBytes(to output: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            output.append(UInt8(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            output.append(UInt8(truncatingIfNeeded: middle >> UInt64(shift)))
        }
        for shift in stride(from: 24, through: 0, by: -8) {
            output.append(UInt8(truncatingIfNeeded: low >> UInt32(shift)))
        }
    }

    /// Appends the 20 bytes to a writer.
    public func append(to writer: inout WireWriter) {
        writer.appendUInt64BE(high)
        writer.appendUInt64BE(middle)
        writer.appendUInt32BE(low)
    }
}

extension Digest: CustomStringConvertible {
    public var description: String { hex }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// The KEY field (type 2) payload: one particle-type byte followed by the value (PROTOCOL.md
/// §4.2). Clients send it only with policy key=SEND; the server stores it and returns it in
/// scan rows. Helpers for tools and tests; a server can store the field data verbatim.
public enum UserKey {
    /// Field data for a user key: type byte + value bytes.
    public static func fieldData(_ value: ParticleValue) -> [UInt8] {
        var output: [UInt8] = [value.particleTypeRaw]
        value.appendWire(to: &output)
        return output
    }

    /// Decodes KEY field data. Accepts integer (8 bytes), float, string and blob-like types.
    public static func decode(fieldData: UnsafeRawBufferPointer) throws(MessageError) -> ParticleValue {
        guard !fieldData.isEmpty else {
            throw .fieldSizeInvalid(typeRaw: FieldType.key.rawValue, sizeBytes: 0)
        }
        let typeRaw = loadUInt8(fieldData, at: 0)
        let value = rebased(fieldData, 1..<fieldData.count)
        if typeRaw == ParticleType.integer.rawValue, value.count != ParticleValue.numberSizeBytes {
            throw .particleSizeInvalid(typeRaw: typeRaw, sizeBytes: value.count)
        }
        if typeRaw == ParticleType.null.rawValue || typeRaw == ParticleType.bool.rawValue {
            throw .particleValueInvalid(typeRaw: typeRaw)
        }
        return try ParticleValue.decode(typeRaw: typeRaw, value: value)
    }
}
