/// The proto frame type, byte 1 of every frame (PROTOCOL.md §1).
public enum ProtoType: UInt8, Sendable, CaseIterable {
    /// ASCII info request/reply (§2).
    case info = 1
    /// Admin / security: 16-byte admin header + fields (§2.9).
    case admin = 2
    /// as_msg: 22-byte header + fields + ops (§3–§6).
    case message = 3
    /// u64 BE uncompressed size + zlib stream inflating to a whole type-3 frame (§1).
    case compressedMessage = 4
    /// Server-internal XDR; recognised only so it can be refused by name (§1).
    case internalXDR = 5
}

/// The 8-byte header in front of every frame (PROTOCOL.md §1).
///
///     byte 0      byte 1     bytes 2..7
///     +---------+----------+--------------------------------+
///     | version |   type   |  body size, 48-bit big-endian  |
///     +---------+----------+--------------------------------+
///
/// `bodySizeBytes` counts the bytes that follow the header, not the header itself.
public struct ProtoHeader: Sendable, Equatable {
    /// Size of the header on the wire.
    public static let sizeBytes: Int = 8
    /// The only version Cairn sends, and the one it requires (except §1's admin tolerance).
    public static let currentVersion: UInt8 = 2
    /// Largest value the 48-bit size field can carry.
    public static let bodySizeBytesWireMax: UInt64 = (1 << 48) - 1

    public var version: UInt8
    /// Raw type byte; see ``type`` for the known ones.
    public var typeRaw: UInt8
    public var bodySizeBytes: UInt64

    public init(version: UInt8 = ProtoHeader.currentVersion, typeRaw: UInt8, bodySizeBytes: UInt64) {
        self.version = version
        self.typeRaw = typeRaw
        self.bodySizeBytes = bodySizeBytes
    }

    public init(type: ProtoType, bodySizeBytes: UInt64) {
        self.init(typeRaw: type.rawValue, bodySizeBytes: bodySizeBytes)
    }

    /// The known type, or nil for an unassigned type byte.
    public var type: ProtoType? { ProtoType(rawValue: typeRaw) }

    /// Reads the first 8 bytes of `bytes` without validating them (see ``FrameDecoder``).
    /// Returns nil when fewer than 8 bytes are available.
    public static func peek(_ bytes: UnsafeRawBufferPointer) -> ProtoHeader? {
        guard bytes.count >= sizeBytes else { return nil }
        return ProtoHeader(
            version: loadUInt8(bytes, at: 0),
            typeRaw: loadUInt8(bytes, at: 1),
            bodySizeBytes: loadUInt48BE(bytes, at: 2)
        )
    }

    /// Appends the 8 header bytes. Traps if the size does not fit in 48 bits (a caller bug).
    public func encode(into output: inout [UInt8]) {
        precondition(bodySizeBytes <= ProtoHeader.bodySizeBytesWireMax, "proto body size exceeds 48 bits")
        output.append(version)
        output.append(typeRaw)
        for shift in stride(from: 40, through: 0, by: -8) {
            output.append(UInt8(truncatingIfNeeded: bodySizeBytes >> UInt64(shift)))
        }
    }
}
