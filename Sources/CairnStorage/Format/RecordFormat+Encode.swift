import CairnIO

// MARK: - Encoding

extension RecordFormat {
    /// Bytes `record` occupies on device (a multiple of 16), after checking every limit.
    ///
    /// Call it to reserve space in a write buffer, then `encode` into that space.
    /// - Parameter recordSizeBytesMax: the geometry's `recordSizeBytesMax` (block size − 48).
    public static func encodedSize(
        of record: StoredRecord, recordSizeBytesMax: Int = recordSizeBytesLimit
    ) throws(FormatEncodingError) -> Int {
        precondition(recordSizeBytesMax >= recordSizeBytesMin && recordSizeBytesMax <= recordSizeBytesLimit)
        let sizeBytes = FormatLimits.alignedSizeBytes(try unpaddedSize(of: record, recordSizeBytesMax: recordSizeBytesMax))
        guard sizeBytes <= recordSizeBytesMax else {
            throw .recordTooLarge(sizeBytes: sizeBytes, sizeBytesMax: recordSizeBytesMax)
        }
        return sizeBytes
    }

    /// Serialises `record` into `buffer` at `offset` and returns the bytes written (its encoded size).
    ///
    /// Nothing is allocated. Invalid record contents throw before any byte is written. The space
    /// `offset ..< offset + encodedSize(of:)` must lie inside `buffer` and `offset` must be a
    /// multiple of 16: breaking that is a programmer error and traps.
    /// - Parameters:
    ///   - blockSequence: the sequence of the block this record is being written into; its low 32
    ///     bits are stored so a scan can tell the record from a stale one left by an older write.
    ///   - recordSizeBytesMax: the geometry's `recordSizeBytesMax` (block size − 48).
    @discardableResult
    public static func encode(
        _ record: StoredRecord,
        blockSequence: UInt64,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: Int,
        recordSizeBytesMax: Int = recordSizeBytesLimit
    ) throws(FormatEncodingError) -> Int {
        let sizeBytes = try encodedSize(of: record, recordSizeBytesMax: recordSizeBytesMax)
        encodeChecked(record, sizeBytes: sizeBytes, blockSequence: blockSequence, into: buffer, at: offset)
        return sizeBytes
    }

    /// Encodes `record`, whose size `encodedSize` already returned as `sizeBytes`, at the start
    /// of `buffer` (the write path: it sizes the record once, to reserve its bytes).
    public static func encode(_ record: StoredRecord, sizeBytes: Int, blockSequence: UInt64,
                              into buffer: UnsafeMutableRawBufferPointer) {
        assert((try? encodedSize(of: record)) == sizeBytes, "size \(sizeBytes) is not the record's encoded size")
        encodeChecked(record, sizeBytes: sizeBytes, blockSequence: blockSequence, into: buffer, at: 0)
    }

    /// Encodes `record` into a new array (for tests, tools and cold paths; the write path uses
    /// the in-place `encode`).
    public static func encode(
        _ record: StoredRecord, blockSequence: UInt64, recordSizeBytesMax: Int = recordSizeBytesLimit
    ) throws(FormatEncodingError) -> [UInt8] {
        let sizeBytes = try encodedSize(of: record, recordSizeBytesMax: recordSizeBytesMax)
        var bytes = [UInt8](repeating: 0, count: sizeBytes)
        bytes.withUnsafeMutableBytes { buffer in
            encodeChecked(record, sizeBytes: sizeBytes, blockSequence: blockSequence, into: buffer, at: 0)
        }
        return bytes
    }

    /// Copies a stored record verbatim into `buffer` (of exactly its size), as a write into a
    /// block of sequence `blockSequence` would have encoded it: only the block-sequence tag and
    /// the CRC change. Defrag moves records this way, with nothing decoded or allocated.
    ///
    /// `record` must be a whole record whose magic, size and CRC32C verified (the block
    /// scanner's); a slice of any other size is a programmer error and traps.
    public static func copy(record: UnsafeRawBufferPointer, blockSequence: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        let size = record.count
        precondition(buffer.count == size, "a copy of \(size) bytes into \(buffer.count)")
        precondition(size >= recordSizeBytesMin && size % FormatLimits.recordAlignmentBytes == 0,
                     "a record of \(size) bytes")
        precondition(record.loadLittleEndian(at: magicOffset, as: UInt32.self) == magic
                     && Int(record.loadLittleEndian(at: sizeOffset, as: UInt32.self)) == size,
                     "the copied bytes are not a record of \(size) bytes")
        buffer.copyMemory(from: record)
        buffer.storeLittleEndian(blockSequenceTag(blockSequence), at: blockSequenceTagOffset)
        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(buffer).slice(0..<(size - checksumSizeBytes)))
        buffer.storeLittleEndian(checksum, at: size - checksumSizeBytes)
        assert(verifiesAfterEncode(buffer, offset: 0, sizeBytes: size), "copied record does not decode")
    }

    /// Writes a record whose inputs `encodedSize` has accepted and whose size is `sizeBytes`.
    private static func encodeChecked(
        _ record: StoredRecord,
        sizeBytes: Int,
        blockSequence: UInt64,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: Int
    ) {
        precondition(offset >= 0 && offset % FormatLimits.recordAlignmentBytes == 0, "record offset \(offset) not 16-byte aligned")
        precondition(offset <= buffer.count && sizeBytes <= buffer.count - offset, "record does not fit in the buffer")

        let end = offset + sizeBytes
        var writer = ByteWriter(buffer, cursor: offset, end: end - checksumSizeBytes)
        // Fixed part, in the order of the layout table.
        writer.put(magic)
        writer.put(UInt32(sizeBytes))  // ≤ 8 MiB, checked by encodedSize
        writer.put(record.flags.rawValue)
        writer.put(UInt8(0))  // reserved
        writer.put(record.generation)
        writer.put(UInt16(record.bins.count))  // ≤ binCountMax, checked by encodedSize
        writer.putUInt48(record.lastUpdateMs)  // < 2^48, checked by encodedSize
        writer.put(digest: record.digest)
        writer.put(blockSequenceTag(blockSequence))
        assert(writer.cursor == offset + fixedPartSizeBytes)

        // Variable part.
        if record.voidTime != 0 { writer.put(record.voidTime) }
        if let setName = record.setName {
            writer.put(UInt8(setName.utf8.count))  // ≤ 63, checked
            writer.put(utf8: setName)
        }
        if let key = record.userKey {
            writer.put(key.particleType.rawValue)
            writer.put(UInt32(key.bytes.count))  // < 8 MiB, checked
            writer.put(bytes: key.bytes)
        }
        // Each bin borrowed in place: `for bin in record.bins` copied every bin (a retain and a
        // release of its name and of its bytes per bin, per write).
        record.bins.withUnsafeBufferPointer { bins in
            for i in bins.indices {
                writer.put(UInt8(bins[i].name.utf8.count))  // ≤ 15, checked
                writer.put(utf8: bins[i].name)
                writer.put(bins[i].particleType.rawValue)
                writer.put(UInt32(bins[i].bytes.count))  // < 8 MiB, checked
                writer.put(bytes: bins[i].bytes)
            }
        }
        precondition(writer.end - writer.cursor < FormatLimits.recordAlignmentBytes, "padding must be under 16 bytes")
        writer.putZeros(writer.end - writer.cursor)

        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(buffer).slice(offset..<(end - checksumSizeBytes)))
        buffer.storeLittleEndian(checksum, at: end - checksumSizeBytes)
        assert(verifiesAfterEncode(buffer, offset: offset, sizeBytes: sizeBytes), "encoded record does not decode")
    }

    // MARK: Checks

    /// Size before padding, with every input check of the format.
    static func unpaddedSize(of record: StoredRecord, recordSizeBytesMax: Int) throws(FormatEncodingError) -> Int {
        guard record.lastUpdateMs <= FormatLimits.lastUpdateMsMax else {
            throw .invalidField(name: "lastUpdateMs", reason: "\(record.lastUpdateMs) does not fit in 48 bits")
        }
        if record.isTombstone {
            guard record.bins.isEmpty else {
                throw .invalidField(name: "bins", reason: "a tombstone has no bins (\(record.bins.count) given)")
            }
            guard !record.barrier else { throw .invalidField(name: "barrier", reason: "a tombstone never carries the barrier flag") }
        } else {
            guard !record.bins.isEmpty else {
                throw .invalidField(name: "bins", reason: "a live record needs at least one bin")
            }
        }
        guard record.bins.count <= FormatLimits.binCountMax else {
            throw .tooManyBins(count: record.bins.count, countMax: FormatLimits.binCountMax)
        }

        var sizeBytes = fixedPartSizeBytes + checksumSizeBytes
        if record.voidTime != 0 { sizeBytes += 4 }
        if let setName = record.setName {
            if let problem = nameProblem(setName, bytesMax: FormatLimits.setNameBytesMax) {
                throw .badSetName(setName, reason: problem)
            }
            sizeBytes += 1 + setName.utf8.count
        }
        if let key = record.userKey {
            guard key.particleType.isKeyType else {
                throw .badKey(reason: "particle type \(key.particleType) cannot be a key (integer, string or blob)")
            }
            if key.particleType == .integer, key.bytes.count != 8 {
                throw .badKey(reason: "an integer key is 8 bytes, got \(key.bytes.count)")
            }
            sizeBytes += 1 + 4 + key.bytes.count
            guard sizeBytes <= recordSizeBytesMax else {
                throw .recordTooLarge(sizeBytes: FormatLimits.alignedSizeBytes(sizeBytes), sizeBytesMax: recordSizeBytesMax)
            }
        }
        // Bins borrowed in place, as in `encodeChecked`.
        try record.bins.withUnsafeBufferPointer { bins throws(FormatEncodingError) in
            for i in bins.indices {
                if let problem = nameProblem(bins[i].name, bytesMax: FormatLimits.binNameBytesMax, allowsEmpty: true) {
                    throw .badBinName(bins[i].name, reason: problem)
                }
                let type = bins[i].particleType
                guard type.isStorable else {
                    throw .badBinValue(binName: bins[i].name, reason: "particle type \(type) is never stored")
                }
                let valueBytes = bins[i].bytes.count
                if let fixed = type.fixedValueSizeBytes, valueBytes != fixed {
                    throw .badBinValue(binName: bins[i].name, reason: "a \(type) value is \(fixed) bytes, got \(valueBytes)")
                }
                sizeBytes += 1 + bins[i].name.utf8.count + 1 + 4 + valueBytes
                // Stop early so a huge record is refused without walking all of it, and so the
                // u32 length fields can never overflow.
                guard sizeBytes <= recordSizeBytesMax else {
                    throw .recordTooLarge(sizeBytes: FormatLimits.alignedSizeBytes(sizeBytes), sizeBytesMax: recordSizeBytesMax)
                }
            }
        }
        return sizeBytes
    }

    /// The write-side half of the paired check: the bytes just written verify as a record.
    private static func verifiesAfterEncode(_ buffer: UnsafeMutableRawBufferPointer, offset: Int, sizeBytes: Int) -> Bool {
        do throws(FormatDecodingError) {
            let summary = try decodeSummary(recordUntrusted: UnsafeRawBufferPointer(buffer), at: offset)
            return summary.sizeBytes == sizeBytes
        } catch {
            assertionFailure("encoded record fails to decode: \(error)")
            return false
        }
    }
}
