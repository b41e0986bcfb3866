import CairnModel
import CairnIO

// MARK: - Decoding (untrusted bytes)

extension RecordFormat {
    /// Reads a record's metadata in place: checks magic, size and CRC32C, then the fixed fields,
    /// void time and set-name bounds. Does not allocate; never reads outside `buffer`.
    ///
    /// - Parameters:
    ///   - buffer: bytes from a device; the record must lie entirely inside it (bytes after the
    ///     record are not touched).
    ///   - offset: where the record starts; `0 ... buffer.count` (a programmer error otherwise).
    public static func decodeSummary(
        recordUntrusted buffer: UnsafeRawBufferPointer, at offset: Int = 0
    ) throws(FormatDecodingError) -> RecordSummary {
        precondition(offset >= 0 && offset <= buffer.count, "record offset outside the buffer")
        let availableBytes = buffer.count - offset
        guard availableBytes >= 8 else {
            throw .truncated(neededBytes: recordSizeBytesMin, availableBytes: availableBytes)
        }
        let foundMagic = buffer.loadLittleEndian(at: offset + magicOffset, as: UInt32.self)
        guard foundMagic == magic else { throw .badMagic(found: UInt64(foundMagic)) }

        let sizeField = buffer.loadLittleEndian(at: offset + sizeOffset, as: UInt32.self)
        let sizeBytes = Int(sizeField)
        guard sizeBytes % FormatLimits.recordAlignmentBytes == 0 else {
            throw .badLength(lengthBytes: sizeBytes, reason: "not a multiple of 16")
        }
        guard sizeBytes >= recordSizeBytesMin, sizeBytes <= recordSizeBytesLimit else {
            throw .badLength(lengthBytes: sizeBytes, reason: "outside \(recordSizeBytesMin) ... \(recordSizeBytesLimit)")
        }
        guard sizeBytes <= availableBytes else {
            throw .truncated(neededBytes: sizeBytes, availableBytes: availableBytes)
        }

        // Nothing past this point is read before the CRC has verified.
        let checksumOffset = offset + sizeBytes - checksumSizeBytes
        let stored = buffer.loadLittleEndian(at: checksumOffset, as: UInt32.self)
        let computed = CRC32C.checksum(buffer.slice(offset..<checksumOffset))
        guard stored == computed else { throw .badChecksum(stored: stored, computed: computed) }

        let flags = RecordFlags(rawValue: buffer[offset + flagsOffset])
        guard flags.isSubset(of: .known) else {
            throw .badField(name: "flags", reason: "unknown bits 0x\(hex(UInt64(flags.subtracting(.known).rawValue), digits: 2))")
        }
        guard buffer[offset + reservedOffset] == 0 else {
            throw .badField(name: "reserved", reason: "byte 9 must be zero")
        }
        let binCount = buffer.loadLittleEndian(at: offset + binCountOffset, as: UInt16.self)
        if flags.contains(.tombstone) {
            guard binCount == 0 else { throw .badField(name: "binCount", reason: "a tombstone with \(binCount) bins") }
            guard !flags.contains(.barrier) else { throw .badField(name: "flags", reason: "a tombstone with the barrier bit") }
        } else {
            guard binCount >= 1 else { throw .badField(name: "binCount", reason: "a live record with no bins") }
        }
        guard Int(binCount) <= FormatLimits.binCountMax else {
            throw .badField(name: "binCount", reason: "\(binCount) bins, at most \(FormatLimits.binCountMax)")
        }

        var reader = ByteReader(buffer, cursor: offset + fixedPartSizeBytes, end: checksumOffset)
        var voidTime: UInt32 = 0
        if flags.contains(.hasVoidTime) {
            voidTime = try reader.read(UInt32.self, field: "voidTime")
            guard voidTime != 0 else { throw .badField(name: "voidTime", reason: "flagged present but zero") }
        }
        var setNameRange: Range<Int>?
        if flags.contains(.hasSet) {
            let length = Int(try reader.read(UInt8.self, field: "setNameLength"))
            guard length >= 1, length <= FormatLimits.setNameBytesMax else {
                throw .badField(name: "setNameLength", reason: "\(length), must be 1 ... \(FormatLimits.setNameBytesMax)")
            }
            setNameRange = try reader.take(length, field: "setName")
        }

        return RecordSummary(
            offset: offset,
            sizeBytes: sizeBytes,
            flags: flags,
            digest: Digest(buffer, at: offset + digestOffset)!,
            lastUpdateMs: buffer.loadLittleEndianUInt48(at: offset + lastUpdateOffset),
            generation: buffer.loadLittleEndian(at: offset + generationOffset, as: UInt16.self),
            voidTime: voidTime,
            binCount: binCount,
            blockSequenceTag: buffer.loadLittleEndian(at: offset + blockSequenceTagOffset, as: UInt32.self),
            setNameRange: setNameRange,
            cursorAfterSet: reader.cursor
        )
    }

    /// Decodes a whole record: everything `decodeSummary` checks, then the set name (UTF-8), the
    /// key, every bin (names, particle types, fixed value sizes, lengths) and the zero padding.
    /// Never reads outside `buffer`.
    public static func decode(
        recordUntrusted buffer: UnsafeRawBufferPointer, at offset: Int = 0
    ) throws(FormatDecodingError) -> DecodedRecord {
        var bins: [StoredBin] = []
        return try decode(recordUntrusted: buffer, at: offset, reusing: &bins)
    }

    /// ``decode(recordUntrusted:at:)`` into the bins of `bins`, an earlier record's, which a
    /// thread keeps from one read to the next: the array and each bin's value array keep their
    /// memory when nothing else holds them (copy on write gives a fresh one otherwise), so
    /// decoding a record whose bins fit allocates nothing. The record shares the array with
    /// `bins`.
    public static func decode(
        recordUntrusted buffer: UnsafeRawBufferPointer, at offset: Int = 0, reusing bins: inout [StoredBin]
    ) throws(FormatDecodingError) -> DecodedRecord {
        let summary = try decodeSummary(recordUntrusted: buffer, at: offset)
        var setName: String?
        if let range = summary.setNameRange {
            switch decodeName(buffer.slice(range), bytesMax: FormatLimits.setNameBytesMax) {
            case .success(let name): setName = name
            case .failure(let problem): throw .badField(name: "setName", reason: problem.reason)
            }
        }
        var reader = ByteReader(buffer, cursor: summary.cursorAfterSet, end: summary.endOffset - checksumSizeBytes)

        var userKey: StoredKey?
        if summary.hasKey {
            let typeByte = try reader.read(UInt8.self, field: "keyType")
            guard let type = ParticleType(rawValue: typeByte), type.isKeyType else {
                throw .badField(name: "keyType", reason: "particle type \(typeByte) is not integer, string or blob")
            }
            let length = Int(try reader.read(UInt32.self, field: "keyLength"))
            if type == .integer, length != 8 {
                throw .badField(name: "keyLength", reason: "an integer key is 8 bytes, not \(length)")
            }
            userKey = StoredKey(particleType: type, bytes: [UInt8](buffer.slice(try reader.take(length, field: "key"))))
        }

        let binCount = Int(summary.binCount)
        if bins.count > binCount { bins.removeLast(bins.count - binCount) }
        bins.reserveCapacity(binCount)
        for index in 0..<binCount {
            try decodeBin(&reader, buffer: buffer, into: &bins, at: index)
        }

        let paddingBytes = reader.remaining
        guard paddingBytes < FormatLimits.recordAlignmentBytes else {
            throw .badField(name: "padding", reason: "\(paddingBytes) bytes after the last bin, at most 15")
        }
        guard buffer.isAllZero(reader.cursor..<reader.end) else {
            throw .badField(name: "padding", reason: "padding bytes are not zero")
        }

        let record = StoredRecord(
            digest: summary.digest,
            isTombstone: summary.isTombstone,
            lastUpdateMs: summary.lastUpdateMs,
            generation: summary.generation,
            voidTime: summary.voidTime,
            setName: setName,
            userKey: userKey,
            bins: bins,
            barrier: summary.flags.contains(.barrier)
        )
        return DecodedRecord(record: record, sizeBytes: summary.sizeBytes, blockSequenceTag: summary.blockSequenceTag)
    }

    /// Calls `body` with the bytes of each bin name of the record `summary` describes (decoded
    /// from `buffer`), in bin order, stepping over the key and the values without decoding them.
    /// Returns false, having visited only the bins before it, when a name or value would run past
    /// the record, or when `body` returns false; true once every bin was visited. The names are
    /// not checked: a full decode checks them (a caller that needs them valid checks each).
    public static func forEachBinName(of summary: RecordSummary, in buffer: UnsafeRawBufferPointer,
                                      _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        precondition(summary.endOffset <= buffer.count, "a summary of another buffer")
        var reader = ByteReader(buffer, cursor: summary.cursorAfterSet, end: summary.endOffset - checksumSizeBytes)
        do throws(FormatDecodingError) {
            if summary.hasKey {
                _ = try reader.read(UInt8.self, field: "keyType")
                _ = try reader.take(Int(try reader.read(UInt32.self, field: "keyLength")), field: "key")
            }
            for _ in 0..<Int(summary.binCount) {
                let name = try reader.take(Int(try reader.read(UInt8.self, field: "binNameLength")), field: "binName")
                guard body(buffer.slice(name)) else { return false }
                _ = try reader.read(UInt8.self, field: "particleType")
                _ = try reader.take(Int(try reader.read(UInt32.self, field: "valueLength")), field: "value")
            }
            return true
        } catch {
            return false
        }
    }

    /// Decodes a record at the start of `bytes` (for tests, tools and cold paths).
    public static func decode(recordUntrusted bytes: [UInt8]) throws(FormatDecodingError) -> DecodedRecord {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatDecodingError) -> DecodedRecord in try decode(recordUntrusted: buffer, at: 0) }
        }
        return try result.get()
    }

    /// The bin at the reader's cursor as `bins[index]`: appended when `index` is past the end,
    /// else written over the bin there, whose value array is refilled in place.
    private static func decodeBin(_ reader: inout ByteReader, buffer: UnsafeRawBufferPointer, into bins: inout [StoredBin],
                                  at index: Int) throws(FormatDecodingError) {
        let nameLength = Int(try reader.read(UInt8.self, field: "binNameLength"))
        let nameRange = try reader.take(nameLength, field: "binName")
        let name: String
        switch decodeName(buffer.slice(nameRange), bytesMax: FormatLimits.binNameBytesMax, allowsEmpty: true) {
        case .success(let decoded): name = decoded
        case .failure(let problem): throw .badField(name: "binName", reason: problem.reason)
        }
        let typeByte = try reader.read(UInt8.self, field: "particleType")
        guard let type = ParticleType(storable: typeByte) else {
            throw .badField(name: "particleType", reason: "bin \(String(reflecting: name)) has particle type \(typeByte), which is never stored")
        }
        let length = Int(try reader.read(UInt32.self, field: "valueLength"))
        if let fixed = type.fixedValueSizeBytes, length != fixed {
            throw .badField(name: "valueLength", reason: "a \(type) value is \(fixed) bytes, not \(length)")
        }
        let value = buffer.slice(try reader.take(length, field: "value"))
        guard index < bins.count else {
            bins.append(StoredBin(name: name, particleType: type, bytes: [UInt8](value)))
            return
        }
        bins[index].name = name
        bins[index].particleType = type
        bins[index].bytes.removeAll(keepingCapacity: true)
        bins[index].bytes.append(contentsOf: value)
    }
}
