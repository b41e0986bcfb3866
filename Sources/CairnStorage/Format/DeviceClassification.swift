/// What one device-header copy slot holds.
public enum HeaderCopyStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A valid copy with this write generation.
    case valid(writeGeneration: UInt64)
    /// All zero: never written.
    case zeroed
    /// Not a valid copy, and why.
    case invalid(FormatDecodingError)

    public var description: String {
        switch self {
        case let .valid(writeGeneration): "valid, write generation \(writeGeneration)"
        case .zeroed: "all zero"
        case let .invalid(error): error.description
        }
    }
}

/// A device header read back from a Cairn device: the newest valid copy, and the state of both.
public struct DeviceHeaderReading: Sendable, Equatable, Hashable {
    /// The header of the newest valid copy.
    public var header: DeviceHeader
    /// Its write generation.
    public var writeGeneration: UInt64
    /// Which copy it came from.
    public var slot: HeaderCopySlot
    /// State of copy A.
    public var copyA: HeaderCopyStatus
    /// State of copy B.
    public var copyB: HeaderCopyStatus

    /// The next header update goes to the other copy, so the newest one survives a torn write.
    public var nextWriteSlot: HeaderCopySlot { slot.other }
    /// The generation the next header update carries.
    public var nextWriteGeneration: UInt64 { writeGeneration + 1 }
    /// Whether one copy is not valid (worth a log line; the next update rewrites it).
    public var hasDamagedCopy: Bool {
        if case .invalid = copyA { return true }
        if case .invalid = copyB { return true }
        return false
    }
}

/// What the first 128 KiB of a device say it is.
public enum DeviceClassification: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Every byte is zero: a fresh device Cairn may initialise.
    case zeroed
    /// A Cairn device; the newest valid header copy.
    case cairn(DeviceHeaderReading)
    /// A Cairn header magic is present but neither copy is valid. Refuse: do not initialise over it.
    case damaged(copyA: HeaderCopyStatus, copyB: HeaderCopyStatus)
    /// Neither zero nor Cairn's: some other data, described in `found`. Refuse and never overwrite.
    case foreign(found: String)

    public var description: String {
        switch self {
        case .zeroed:
            "zeroed (a fresh device)"
        case let .cairn(reading):
            "Cairn device \(reading.header.deviceIndex + 1) of \(reading.header.deviceCount) of namespace "
                + "\(String(reflecting: reading.header.namespaceName)), header \(reading.slot), "
                + "write generation \(reading.writeGeneration)"
        case let .damaged(copyA, copyB):
            "Cairn device with no valid header copy: copy A \(copyA); copy B \(copyB)"
        case let .foreign(found):
            "not a Cairn device: \(found)"
        }
    }

    /// The error an operator sees when the daemon refuses a device, or `nil` when it may be used.
    public func refusalMessage(devicePath: String) -> String? {
        switch self {
        case .zeroed, .cairn:
            return nil
        case let .damaged(copyA, copyB):
            return "device \(devicePath): Cairn header magic found but neither header copy is valid "
                + "(copy A: \(copyA); copy B: \(copyB)); refusing to use it and leaving it untouched. "
                + "Restore the header, or zero its first \(DeviceHeaderFormat.regionSizeBytes) bytes to "
                + "initialise it as an empty device (its records are then lost)."
        case let .foreign(found):
            return "device \(devicePath) is not a Cairn device and is not zeroed (found: \(found)); "
                + "refusing to use it and it will not be overwritten. If it really is meant for Cairn, "
                + "zero its first \(DeviceHeaderFormat.regionSizeBytes) bytes (for example with blkdiscard "
                + "or dd) or ask Cairn to initialise it explicitly."
        }
    }
}

extension DeviceHeaderFormat {
    /// Classifies a device from the untrusted bytes of its header region (the first 128 KiB; a
    /// shorter buffer is treated as a device that ends there).
    ///
    /// * all zero → `.zeroed`;
    /// * at least one valid copy → `.cairn` with the newest (highest write generation; copy A on a tie);
    /// * a Cairn magic in a copy slot but no valid copy → `.damaged`, with the reason per copy;
    /// * anything else → `.foreign`, naming what was recognised (another filesystem, a partition
    ///   table, an Aerospike device…) or where the first non-zero bytes are.
    public static func classify(headerRegionUntrusted region: UnsafeRawBufferPointer) -> DeviceClassification {
        let length = min(region.count, regionSizeBytes)
        let region = region.slice(0..<length)
        if region.isAllZero(0..<length) { return .zeroed }

        let copyA = copyStatus(region, slot: .a)
        let copyB = copyStatus(region, slot: .b)
        switch (copyA.decoded, copyB.decoded) {
        case let (a?, b?):
            let winner: HeaderCopySlot = b.writeGeneration > a.writeGeneration ? .b : .a
            let chosen = winner == .a ? a : b
            return .cairn(DeviceHeaderReading(
                header: chosen.header, writeGeneration: chosen.writeGeneration, slot: winner,
                copyA: copyA.status, copyB: copyB.status))
        case let (a?, nil):
            return .cairn(DeviceHeaderReading(
                header: a.header, writeGeneration: a.writeGeneration, slot: .a, copyA: copyA.status, copyB: copyB.status))
        case let (nil, b?):
            return .cairn(DeviceHeaderReading(
                header: b.header, writeGeneration: b.writeGeneration, slot: .b, copyA: copyA.status, copyB: copyB.status))
        case (nil, nil):
            if hasCairnMagic(region, slot: .a) || hasCairnMagic(region, slot: .b) {
                return .damaged(copyA: copyA.status, copyB: copyB.status)
            }
            return .foreign(found: ForeignSignature.describe(region))
        }
    }

    /// One slot's decode result and status.
    private static func copyStatus(
        _ region: UnsafeRawBufferPointer, slot: HeaderCopySlot
    ) -> (status: HeaderCopyStatus, decoded: (header: DeviceHeader, writeGeneration: UInt64)?) {
        let start = min(slot.byteOffset, region.count)
        let end = min(slot.byteOffset + copySlotSizeBytes, region.count)
        if start < end, region.isAllZero(start..<end) { return (.zeroed, nil) }
        do throws(FormatDecodingError) {
            let decoded = try decodeCopy(untrusted: region.slice(start..<end), slot: slot)
            return (.valid(writeGeneration: decoded.writeGeneration), decoded)
        } catch {
            return (.invalid(error), nil)
        }
    }

    private static func hasCairnMagic(_ region: UnsafeRawBufferPointer, slot: HeaderCopySlot) -> Bool {
        guard slot.byteOffset + 8 <= region.count else { return false }
        return region.loadLittleEndian(at: slot.byteOffset, as: UInt64.self) == magic
    }
}
