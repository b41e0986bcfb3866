/// Op (bin operation) type ids (PROTOCOL.md §5.2). Ids 17–19 (string ops of C client 7.5 /
/// server 8.1.3+) are not named; ``Op`` keeps the raw byte so they can be refused with 4 or 16.
public enum OpType: UInt8, Sendable, CaseIterable {
    case read = 1
    /// Put / write; particle 0 deletes the bin.
    case write = 2
    case cdtRead = 3
    case cdtModify = 4
    /// Increment (integer or float).
    case incr = 5
    case expRead = 7
    case expModify = 8
    case append = 9
    case prepend = 10
    /// No name, no value; the record must exist.
    case touch = 11
    case bitsRead = 12
    case bitsModify = 13
    /// Delete the record; no name.
    case deleteAll = 14
    case hllRead = 15
    case hllModify = 16

    /// The class column of §5.2.
    public enum Kind: Sendable {
        case read, write, modify
    }

    public var kind: Kind {
        switch self {
        case .read, .cdtRead, .expRead, .bitsRead, .hllRead: .read
        case .write, .cdtModify, .expModify, .touch, .bitsModify, .deleteAll, .hllModify: .write
        case .incr, .append, .prepend: .modify
        }
    }
}

/// Bit 0 of an op's flags byte: an 8-byte last-update time follows the name (XDR only, §5.1).
public let opFlagHasLastUpdateTime: UInt8 = 0x01

/// One decoded op (PROTOCOL.md §5.1):
///
///     u32 BE  size        = 4 + name length [+ 8 if has-LUT] + value length
///     u8      op          ``OpType``
///     u8      particle    ``ParticleType``
///     u8      flags       0; bit 0 = has LUT (XDR)
///     u8      name length ≤ 15
///     bytes   name
///     [8      LUT]        only with flag bit 0
///     bytes   value
///
/// The ranges are 0-based byte ranges into the decoded body; the op owns no bytes.
public struct Op: Sendable, Equatable {
    /// Bytes counted by `size` before the name: op, particle, flags, name length.
    public static let fixedSizeBytes: Int = 4
    /// Size prefix plus the fixed bytes.
    public static let headerSizeBytes: Int = 8
    /// Size of the XDR last-update time that follows the name when flag bit 0 is set.
    public static let lastUpdateTimeSizeBytes: Int = 8

    public var typeRaw: UInt8
    public var particleTypeRaw: UInt8
    public var flags: UInt8
    public var nameRange: Range<Int>
    /// The 8-byte LUT (flag bit 0), else nil.
    public var lastUpdateTimeRange: Range<Int>?
    public var valueRange: Range<Int>

    public init(
        typeRaw: UInt8,
        particleTypeRaw: UInt8,
        flags: UInt8 = 0,
        nameRange: Range<Int>,
        lastUpdateTimeRange: Range<Int>? = nil,
        valueRange: Range<Int>
    ) {
        self.typeRaw = typeRaw
        self.particleTypeRaw = particleTypeRaw
        self.flags = flags
        self.nameRange = nameRange
        self.lastUpdateTimeRange = lastUpdateTimeRange
        self.valueRange = valueRange
    }

    public var type: OpType? { OpType(rawValue: typeRaw) }
    public var particleType: ParticleType? { ParticleType(rawValue: particleTypeRaw) }
    public var nameSizeBytes: Int { nameRange.count }
    public var valueSizeBytes: Int { valueRange.count }

    /// Decodes the value as a typed particle (§5.3).
    public func value(in body: UnsafeRawBufferPointer) throws(MessageError) -> ParticleValue {
        try ParticleValue.decode(typeRaw: particleTypeRaw, value: rebased(body, valueRange))
    }

    /// The bin name bytes as a String (names are UTF-8 on the wire; invalid sequences are
    /// repaired, so compare raw bytes when exactness matters).
    public func name(in body: UnsafeRawBufferPointer) -> String {
        String(decoding: rebased(body, nameRange), as: UTF8.self)
    }
}

/// An op that owns its bytes: for building requests/replies in tests and tools.
public struct OwnedOp: Sendable, Equatable {
    public var typeRaw: UInt8
    public var particleTypeRaw: UInt8
    public var flags: UInt8
    public var name: [UInt8]
    /// Everything after the name, including an XDR LUT if flag bit 0 is set.
    public var value: [UInt8]

    public init(typeRaw: UInt8, particleTypeRaw: UInt8, flags: UInt8 = 0, name: [UInt8], value: [UInt8]) {
        self.typeRaw = typeRaw
        self.particleTypeRaw = particleTypeRaw
        self.flags = flags
        self.name = name
        self.value = value
    }

    public init(_ type: OpType, name: String, value: ParticleValue) {
        self.init(typeRaw: type.rawValue, particleTypeRaw: value.particleTypeRaw, name: Array(name.utf8), value: value.wireBytes)
    }

    /// Copies a decoded op out of `body` (the LUT, if any, stays in front of the value).
    public init(_ op: Op, in body: UnsafeRawBufferPointer) {
        let valueStart = op.lastUpdateTimeRange?.lowerBound ?? op.valueRange.lowerBound
        self.init(
            typeRaw: op.typeRaw,
            particleTypeRaw: op.particleTypeRaw,
            flags: op.flags,
            name: Array(rebased(body, op.nameRange)),
            value: Array(rebased(body, valueStart..<op.valueRange.upperBound))
        )
    }
}

/// A named bin with a typed value: what replies carry and puts send (§5, §6.2).
public struct Bin: Sendable, Equatable {
    public var name: String
    public var value: ParticleValue

    public init(_ name: String, _ value: ParticleValue) {
        self.name = name
        self.value = value
    }
}

extension WireWriter {
    /// Appends an owned op.
    public mutating func appendOp(_ op: OwnedOp) {
        appendOp(typeRaw: op.typeRaw, particleTypeRaw: op.particleTypeRaw, flags: op.flags, name: op.name, value: op.value)
    }
}
