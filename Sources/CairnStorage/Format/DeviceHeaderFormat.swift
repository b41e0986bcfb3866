import CairnIO

/// Which of the two device-header copies in block 0.
public enum HeaderCopySlot: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Copy A, at byte 0 of the device.
    case a = 0
    /// Copy B, at byte 65 536 of the device.
    case b = 1

    /// Byte offset of this copy on the device (4096-aligned, so it can be rewritten alone with O_DIRECT).
    public var byteOffset: Int { Int(rawValue) * DeviceHeaderFormat.copySlotSizeBytes }
    /// The other copy.
    public var other: HeaderCopySlot { self == .a ? .b : .a }
    public var description: String { self == .a ? "copy A (offset 0)" : "copy B (offset 65536)" }
}

/// Encoding and decoding of the device header copies (FORMAT.md "Device header").
///
/// ```
/// block 0:  [0, 64 KiB) copy A   [64 KiB, 128 KiB) copy B   [128 KiB, block end) unused, zero
///
/// one copy:
/// offset size field
///   0     8   magic "CAIRNDEV" (43 41 49 52 4E 44 45 56)
///   8     4   format version (1)
///  12     4   encodedSizeBytes = 132 + 72 × setTruncationCount (CRC included)
///  16     8   write generation (≥ 1; the newest valid copy wins)
///  24     8   namespace instance id (≠ 0)
///  32     4   write block size in bytes
///  36     4   partition-tree-sprigs
///  40     2   device index
///  42     2   device count
///  44     1   copy slot (0 = A, 1 = B; must match where the copy is read)
///  45     3   reserved, 0
///  48     4   flags: bit0 clean shutdown; bit1 barrier records; other bits 0
///  52     4   blocks-written mark: no block at or above it was ever written (0 = unknown)
///  56     8   highest block sequence written
///  64     8   shared-memory index instance id (0 = none)
///  72     8   shared-memory index clean-stop sequence (0 when none)
///  80     8   namespace truncate LUT, ms since 2010-01-01 (0 = never)
///  88     1   namespace name length (1 ... 31)
///  89    31   namespace name, UTF-8, zero padded
/// 120     2   set truncation count n (≤ 896)
/// 122     6   reserved, 0
/// 128  72×n   set truncations, ascending by name bytes:
///               +0 name length u8 (1 ... 63), +1 name zero padded to 63 bytes, +64 LUT ms u64 (≠ 0)
/// 128+72n 4   CRC32C of bytes [0, 128 + 72n)
/// ```
/// Version 2 (written only when the truncation table carries an eviction mark; version 1
/// otherwise, byte for byte as before) inserts 16 bytes after offset 128:
/// ```
/// 128     4   evict void time, s since 2010-01-01 (≠ 0)
/// 132     4   reserved, 0
/// 136     8   evict LUT, ms since 2010-01-01 (≠ 0)
/// 144  72×n   set truncations as above; CRC32C at 144 + 72n
/// ```
/// The first 16 bytes and "CRC in the last 4 of encodedSizeBytes" hold for every format version,
/// so a newer version is reported as unsupported only when its CRC verifies.
///
/// Pure functions; any thread may call them.
public enum DeviceHeaderFormat {
    /// "CAIRNDEV" on device.
    public static let magic: UInt64 = 0x5645_444E_5249_4143
    /// Each copy lives in its own 64 KiB slot.
    public static let copySlotSizeBytes = 64 * 1024
    /// Both copies: the first 128 KiB of block 0. Read this much to classify a device.
    public static let regionSizeBytes = 2 * copySlotSizeBytes
    /// Bytes before the set truncation entries.
    static let fixedPartSizeBytes = 128
    /// Bytes per set truncation entry.
    static let setEntrySizeBytes = 72
    static let checksumSizeBytes = 4
    static let flagCleanShutdown: UInt32 = 1 << 0
    static let flagBarrierRecords: UInt32 = 1 << 1
    static let flagsKnown: UInt32 = flagCleanShutdown | flagBarrierRecords

    /// Bytes of the eviction mark a version 2 copy inserts after the fixed part.
    static let evictionMarkSizeBytes = 16

    /// The version a copy of `header` is written with: 2 with an eviction mark, else 1.
    static func version(of header: DeviceHeader) -> UInt32 {
        header.truncation.hasEvictionMark ? FormatLimits.deviceHeaderEvictionVersion : FormatLimits.formatVersion
    }

    /// Where the set truncation entries start in a copy of `version`.
    static func setEntriesOffset(version: UInt32) -> Int {
        fixedPartSizeBytes + (version >= FormatLimits.deviceHeaderEvictionVersion ? evictionMarkSizeBytes : 0)
    }

    /// Bytes one encoded copy of `header` covers, CRC included (at most 64 660).
    public static func encodedSizeBytes(of header: DeviceHeader) -> Int {
        setEntriesOffset(version: version(of: header)) + setEntrySizeBytes * header.truncation.sets.count
            + checksumSizeBytes
    }

    // MARK: Encoding

    /// Writes one copy of `header` at the start of `buffer` and zero-fills the rest of `buffer`.
    ///
    /// Pass the copy's whole 64 KiB slot (or at least `encodedSizeBytes(of:)` rounded up to the
    /// device's I/O size) and write it at `slot.byteOffset`. To update a device, write the slot that
    /// does not hold the newest valid copy, with a write generation one above it, so a torn write
    /// always leaves the previous copy readable (`DeviceHeaderReading.nextWriteSlot`).
    public static func encodeCopy(
        _ header: DeviceHeader, writeGeneration: UInt64, slot: HeaderCopySlot, into buffer: UnsafeMutableRawBufferPointer
    ) throws(FormatEncodingError) {
        if let (name, reason) = header.fieldProblem() { throw .invalidField(name: name, reason: reason) }
        guard writeGeneration >= 1 else { throw .invalidField(name: "writeGeneration", reason: "must be ≥ 1") }
        let sizeBytes = encodedSizeBytes(of: header)
        precondition(sizeBytes <= copySlotSizeBytes)
        precondition(buffer.count >= sizeBytes && buffer.count <= copySlotSizeBytes, "buffer must hold one copy and fit its slot")

        buffer.zero(0..<buffer.count)
        var writer = ByteWriter(buffer, cursor: 0, end: sizeBytes - checksumSizeBytes)
        let version = version(of: header)
        writer.put(magic)
        writer.put(version)
        writer.put(UInt32(sizeBytes))
        writer.put(writeGeneration)
        writer.put(header.namespaceInstanceId)
        writer.put(header.writeBlockSizeBytes)
        writer.put(header.partitionTreeSprigs)
        writer.put(header.deviceIndex)
        writer.put(header.deviceCount)
        writer.put(slot.rawValue)
        writer.putZeros(3)
        writer.put((header.cleanShutdown ? flagCleanShutdown : 0) | (header.barrierRecords ? flagBarrierRecords : 0))
        writer.put(header.blocksWrittenMark)
        writer.put(header.highestBlockSequence)
        writer.put(header.sharedIndex?.instanceId ?? 0)
        writer.put(header.sharedIndex?.cleanStopSequence ?? 0)
        writer.put(header.truncation.namespaceLutMs)
        writer.put(UInt8(header.namespaceName.utf8.count))  // ≤ 31, checked
        writer.put(utf8: header.namespaceName)
        writer.putZeros(120 - writer.cursor)
        writer.put(UInt16(header.truncation.sets.count))  // ≤ 896, checked
        writer.putZeros(6)
        assert(writer.cursor == fixedPartSizeBytes)
        if version >= FormatLimits.deviceHeaderEvictionVersion {
            writer.put(header.truncation.evictVoidTime)
            writer.putZeros(4)
            writer.put(header.truncation.evictLutMs)
        }
        assert(writer.cursor == setEntriesOffset(version: version))
        for entry in header.truncation.sets {
            let start = writer.cursor
            writer.put(UInt8(entry.setName.utf8.count))  // ≤ 63, checked
            writer.put(utf8: entry.setName)
            writer.putZeros(start + 64 - writer.cursor)
            writer.put(entry.lutMs)
        }
        assert(writer.cursor == sizeBytes - checksumSizeBytes)
        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(buffer).slice(0..<(sizeBytes - checksumSizeBytes)))
        buffer.storeLittleEndian(checksum, at: sizeBytes - checksumSizeBytes)
        assert(readsBack(buffer, header: header, writeGeneration: writeGeneration, slot: slot), "device header copy does not read back")
    }

    /// The whole 128 KiB header region with both copies at `writeGeneration`, as written when a
    /// device is initialised (copy A wins the tie; the next update goes to copy B).
    public static func encodeRegion(_ header: DeviceHeader, writeGeneration: UInt64 = 1) throws(FormatEncodingError) -> [UInt8] {
        var region = [UInt8](repeating: 0, count: regionSizeBytes)
        let result: Result<Void, FormatEncodingError> = region.withUnsafeMutableBytes { buffer in
            Result { () throws(FormatEncodingError) in
                for slot in HeaderCopySlot.allCases {
                    let slotBuffer = UnsafeMutableRawBufferPointer(rebasing: buffer[slot.byteOffset..<(slot.byteOffset + copySlotSizeBytes)])
                    try encodeCopy(header, writeGeneration: writeGeneration, slot: slot, into: slotBuffer)
                }
            }
        }
        try result.get()
        return region
    }

    // MARK: Decoding

    /// Decodes one copy from untrusted bytes that start at the copy (its slot's bytes).
    ///
    /// Order of checks: magic, size, CRC32C, version, then every field, including that the copy
    /// was written for `slot`.
    public static func decodeCopy(
        untrusted buffer: UnsafeRawBufferPointer, slot: HeaderCopySlot
    ) throws(FormatDecodingError) -> (header: DeviceHeader, writeGeneration: UInt64) {
        guard buffer.count >= 16 else { throw .truncated(neededBytes: 16, availableBytes: buffer.count) }
        let foundMagic = buffer.loadLittleEndian(at: 0, as: UInt64.self)
        guard foundMagic == magic else { throw .badMagic(found: foundMagic) }
        let version = buffer.loadLittleEndian(at: 8, as: UInt32.self)
        let sizeBytes = Int(buffer.loadLittleEndian(at: 12, as: UInt32.self))
        guard sizeBytes >= 16 + checksumSizeBytes, sizeBytes <= copySlotSizeBytes else {
            throw .badLength(lengthBytes: sizeBytes, reason: "a header copy is 20 ... 65536 bytes")
        }
        guard sizeBytes <= buffer.count else { throw .truncated(neededBytes: sizeBytes, availableBytes: buffer.count) }
        let stored = buffer.loadLittleEndian(at: sizeBytes - checksumSizeBytes, as: UInt32.self)
        let computed = CRC32C.checksum(buffer.slice(0..<(sizeBytes - checksumSizeBytes)))
        guard stored == computed else { throw .badChecksum(stored: stored, computed: computed) }
        guard version >= FormatLimits.formatVersion, version <= FormatLimits.deviceHeaderVersionMax else {
            throw .unsupportedVersion(version)
        }

        // Version 1 or 2 layout; the CRC verified, so a bad value here means a writer bug, still refused.
        let entriesOffset = setEntriesOffset(version: version)
        let setCount = Int(buffer.loadLittleEndian(at: 120, as: UInt16.self))
        guard setCount <= FormatLimits.setTruncationCountMax else {
            throw .badField(name: "setTruncationCount", reason: "\(setCount), at most \(FormatLimits.setTruncationCountMax)")
        }
        let expectedSize = entriesOffset + setEntrySizeBytes * setCount + checksumSizeBytes
        guard sizeBytes == expectedSize else {
            throw .badLength(lengthBytes: sizeBytes, reason: "\(setCount) set truncations need exactly \(expectedSize) bytes")
        }
        let writeGeneration = buffer.loadLittleEndian(at: 16, as: UInt64.self)
        guard writeGeneration >= 1 else { throw .badField(name: "writeGeneration", reason: "must be ≥ 1") }
        let slotByte = buffer[44]
        guard slotByte == slot.rawValue else {
            throw .badField(name: "copySlot", reason: "copy written for slot \(slotByte) found in \(slot)")
        }
        guard buffer.isAllZero(45..<48), buffer.isAllZero(122..<128),
              version < FormatLimits.deviceHeaderEvictionVersion || buffer.isAllZero(132..<136)
        else {
            throw .badField(name: "reserved", reason: "reserved bytes are not zero")
        }
        let flags = buffer.loadLittleEndian(at: 48, as: UInt32.self)
        guard flags & ~flagsKnown == 0 else {
            throw .badField(name: "flags", reason: "unknown bits 0x\(hex(UInt64(flags & ~flagsKnown), digits: 8))")
        }

        let namespaceName = try decodePaddedName(
            buffer, lengthAt: 88, capacityBytes: FormatLimits.namespaceNameBytesMax, field: "namespaceName")
        let sharedIndexId = buffer.loadLittleEndian(at: 64, as: UInt64.self)
        let cleanStopSequence = buffer.loadLittleEndian(at: 72, as: UInt64.self)
        var sharedIndex: SharedIndexIdentity?
        if sharedIndexId != 0 {
            sharedIndex = SharedIndexIdentity(instanceId: sharedIndexId, cleanStopSequence: cleanStopSequence)
        } else if cleanStopSequence != 0 {
            throw .badField(name: "sharedIndex.cleanStopSequence", reason: "nonzero without a shared-memory index id")
        }

        var sets: [SetTruncation] = []
        sets.reserveCapacity(setCount)
        for index in 0..<setCount {
            let start = entriesOffset + index * setEntrySizeBytes
            let setName = try decodePaddedName(
                buffer, lengthAt: start, capacityBytes: FormatLimits.setNameBytesMax, field: "truncation.sets[\(index)].setName")
            sets.append(SetTruncation(setName: setName, lutMs: buffer.loadLittleEndian(at: start + 64, as: UInt64.self)))
        }

        var truncation = TruncationTable(
            namespaceLutMs: buffer.loadLittleEndian(at: 80, as: UInt64.self), sortedUniqueSets: sets)
        if version >= FormatLimits.deviceHeaderEvictionVersion {
            truncation.evictVoidTime = buffer.loadLittleEndian(at: 128, as: UInt32.self)
            truncation.evictLutMs = buffer.loadLittleEndian(at: 136, as: UInt64.self)
            guard truncation.hasEvictionMark else {
                throw .badField(name: "truncation.evictVoidTime", reason: "a version 2 header without an eviction mark")
            }
        }
        let header = DeviceHeader(
            namespaceName: namespaceName,
            namespaceInstanceId: buffer.loadLittleEndian(at: 24, as: UInt64.self),
            deviceIndex: buffer.loadLittleEndian(at: 40, as: UInt16.self),
            deviceCount: buffer.loadLittleEndian(at: 42, as: UInt16.self),
            writeBlockSizeBytes: buffer.loadLittleEndian(at: 32, as: UInt32.self),
            partitionTreeSprigs: buffer.loadLittleEndian(at: 36, as: UInt32.self),
            cleanShutdown: flags & flagCleanShutdown != 0,
            barrierRecords: flags & flagBarrierRecords != 0,
            highestBlockSequence: buffer.loadLittleEndian(at: 56, as: UInt64.self),
            blocksWrittenMark: buffer.loadLittleEndian(at: 52, as: UInt32.self),
            truncation: truncation,
            sharedIndex: sharedIndex
        )
        // Same checks as before a write, including ascending unique set names.
        if let (name, reason) = header.fieldProblem() { throw .badField(name: name, reason: reason) }
        return (header, writeGeneration)
    }

    /// A length byte at `lengthAt`, then a name in a zero-padded field of `capacityBytes`.
    private static func decodePaddedName(
        _ buffer: UnsafeRawBufferPointer, lengthAt: Int, capacityBytes: Int, field: String
    ) throws(FormatDecodingError) -> String {
        let length = Int(buffer[lengthAt])
        guard length <= capacityBytes else {
            throw .badField(name: field, reason: "length \(length), at most \(capacityBytes)")
        }
        let nameStart = lengthAt + 1
        guard buffer.isAllZero((nameStart + length)..<(nameStart + capacityBytes)) else {
            throw .badField(name: field, reason: "padding after the name is not zero")
        }
        switch decodeName(buffer.slice(nameStart..<(nameStart + length)), bytesMax: capacityBytes) {
        case .success(let name): return name
        case .failure(let problem): throw .badField(name: field, reason: problem.reason)
        }
    }

    /// The write-side half of the paired check.
    private static func readsBack(
        _ buffer: UnsafeMutableRawBufferPointer, header: DeviceHeader, writeGeneration: UInt64, slot: HeaderCopySlot
    ) -> Bool {
        do throws(FormatDecodingError) {
            let decoded = try decodeCopy(untrusted: UnsafeRawBufferPointer(buffer), slot: slot)
            return decoded.header == header && decoded.writeGeneration == writeGeneration
        } catch {
            assertionFailure("device header copy fails to decode: \(error)")
            return false
        }
    }
}
