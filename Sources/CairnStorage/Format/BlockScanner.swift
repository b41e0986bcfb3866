/// What the scanner must find in a block's header for the block to be read.
public struct BlockScanExpectation: Sendable, Equatable, Hashable {
    /// The namespace instance id from the device header.
    public var namespaceInstanceId: UInt64
    /// The device being scanned.
    public var deviceIndex: UInt16
    /// The block being scanned.
    public var blockIndex: UInt32
    /// The device's write block size; the scanned buffer has exactly this many bytes.
    public var writeBlockSizeBytes: Int

    public init(namespaceInstanceId: UInt64, deviceIndex: UInt16, blockIndex: UInt32, writeBlockSizeBytes: Int) {
        self.namespaceInstanceId = namespaceInstanceId
        self.deviceIndex = deviceIndex
        self.blockIndex = blockIndex
        self.writeBlockSizeBytes = writeBlockSizeBytes
    }
}

/// What the scanner made of a block's header.
public enum BlockScanOutcome: Sendable, Equatable, Hashable {
    /// A valid header of the expected namespace instance, device and index; records were walked.
    case scanned(BlockHeader)
    /// The header bytes are all zero: the block was never written since the device was zeroed.
    case unwritten
    /// A valid Cairn block of another namespace instance: left from before the device was
    /// re-initialised. Its records must not be loaded.
    case otherInstance(BlockHeader)
    /// A valid header of this instance that names another device, block or block size: a
    /// misdirected write or a device given in the wrong order. Its records are not loaded.
    case misplaced(BlockHeader, reason: String)
    /// The header is damaged or not a Cairn block header; nothing in the block is trusted.
    case badHeader(FormatDecodingError)
}

/// Bytes inside a block's used length that hold no valid record.
public struct DamagedRegion: Sendable, Equatable, Hashable {
    /// Offset from the start of the block.
    public var offset: Int
    /// Length in bytes (a multiple of 16).
    public var lengthBytes: Int
    /// Why the record expected at `offset` was refused.
    public var reason: FormatDecodingError
}

/// One thing the scanner found, in block order.
public enum BlockScanEvent: Sendable, Equatable, Hashable {
    /// A valid record of this block (CRC verified, sequence tag matches).
    case record(RecordSummary)
    /// A damaged region, skipped.
    case damaged(DamagedRegion)
}

/// Per-outcome counts for one block.
public struct BlockScanReport: Sendable, Equatable, Hashable {
    /// What the header said.
    public var outcome: BlockScanOutcome
    /// Valid records yielded (tombstones included).
    public var recordCount = 0
    /// Of those, tombstones.
    public var tombstoneCount = 0
    /// Records whose CRC verified but whose sequence tag belongs to an older write of this block
    /// (left behind by a torn write); skipped, never yielded.
    public var staleRecordCount = 0
    /// Damaged regions reported.
    public var damagedRegionCount = 0
    /// Bytes in damaged regions and stale records.
    public var bytesSkipped = 0

    public init(outcome: BlockScanOutcome) { self.outcome = outcome }
}

/// Walks the records of one block read from a device (FORMAT.md "Scanning a block").
///
/// The cold-start hot path: it verifies each record's CRC32C and reads only its fixed fields
/// (`RecordSummary`), allocating nothing per record. After a record that fails, it searches
/// forward in 16-byte steps for the next offset holding a record magic whose CRC verifies, so one
/// damaged record never hides the records after it.
public enum BlockScanner {
    /// Scans `block` (exactly `expecting.writeBlockSizeBytes` untrusted bytes) and calls `visit`
    /// for every valid record and every damaged region, in offset order. The summaries' offsets
    /// and set-name ranges are relative to the block start; `visit` may read `block` through them.
    public static func scan(
        blockUntrusted block: UnsafeRawBufferPointer,
        expecting expectation: BlockScanExpectation,
        _ visit: (BlockScanEvent) -> Void
    ) -> BlockScanReport {
        precondition(block.count == expectation.writeBlockSizeBytes, "scan one whole block")
        let header: BlockHeader
        switch checkHeader(block, expectation) {
        case .failure(let failure): return BlockScanReport(outcome: failure.outcome)
        case .success(let valid): header = valid
        }

        var report = BlockScanReport(outcome: .scanned(header))
        let end = BlockHeader.sizeBytes + Int(header.usedBytes)  // ≤ block size, checked by the header decoder
        let records = block.slice(0..<end)  // same indices as `block`; nothing past `end` is read
        let tag = RecordFormat.blockSequenceTag(header.sequence)
        var offset = BlockHeader.sizeBytes
        while offset < end {
            switch summary(records, at: offset) {
            case .success(let record):
                offset = record.endOffset
                if record.blockSequenceTag != tag {
                    report.staleRecordCount += 1
                    report.bytesSkipped += record.sizeBytes
                    continue
                }
                report.recordCount += 1
                if record.isTombstone { report.tombstoneCount += 1 }
                visit(.record(record))
            case .failure(let reason):
                // The engine writes a block's header once, with usedBytes covering the whole
                // block, and flushes the block several times as it fills: the records end where
                // the zeroed tail begins. A zero tail is the end, not damage.
                if records.isAllZero(offset..<end) { return report }
                let next = resynchronise(records, after: offset)
                // Padding: after each partial flush the writer moves on to the next sector so a
                // flushed sector is never written again (FORMAT.md "Partial flushes"). The gap is
                // zeros from a record's end up to a sector boundary, shorter than the largest
                // sector; any other zero run (a lost sector) is damage and reported as such.
                if next < end, next % paddingBoundaryBytes == 0, next - offset < paddingBytesMax,
                    records.isAllZero(offset..<next)
                {
                    offset = next
                    continue
                }
                let region = DamagedRegion(offset: offset, lengthBytes: next - offset, reason: reason)
                report.damagedRegionCount += 1
                report.bytesSkipped += region.lengthBytes
                visit(.damaged(region))
                offset = next
            }
        }
        return report
    }

    /// Sector boundaries padding can end at (the smallest logical sector), and the longest padding
    /// (the largest sector, 4 KiB).
    static let paddingBoundaryBytes = 512
    static let paddingBytesMax = 4096

    /// The block header if it is valid and where it belongs, else the outcome that says why not.
    private static func checkHeader(
        _ block: UnsafeRawBufferPointer, _ expectation: BlockScanExpectation
    ) -> Result<BlockHeader, BlockScanOutcomeError> {
        if block.isAllZero(0..<BlockHeader.sizeBytes) { return .failure(.init(.unwritten)) }
        let header: BlockHeader
        do throws(FormatDecodingError) {
            header = try BlockHeader(decodingUntrusted: block, at: 0)
        } catch {
            return .failure(.init(.badHeader(error)))
        }
        if header.namespaceInstanceId != expectation.namespaceInstanceId { return .failure(.init(.otherInstance(header))) }
        if Int(header.writeBlockSizeBytes) != expectation.writeBlockSizeBytes {
            return .failure(.init(.misplaced(header, reason: "written with block size \(header.writeBlockSizeBytes), device uses \(expectation.writeBlockSizeBytes)")))
        }
        if header.deviceIndex != expectation.deviceIndex {
            return .failure(.init(.misplaced(header, reason: "written for device \(header.deviceIndex), found on device \(expectation.deviceIndex)")))
        }
        if header.blockIndex != expectation.blockIndex {
            return .failure(.init(.misplaced(header, reason: "written for block \(header.blockIndex), found at block \(expectation.blockIndex)")))
        }
        return .success(header)
    }

    /// The record summary at `offset`, or why there is none.
    @inline(__always)
    private static func summary(_ records: UnsafeRawBufferPointer, at offset: Int) -> Result<RecordSummary, FormatDecodingError> {
        do throws(FormatDecodingError) {
            return .success(try RecordFormat.decodeSummary(recordUntrusted: records, at: offset))
        } catch {
            return .failure(error)
        }
    }

    /// The first 16-byte step after `offset` holding a record magic whose record verifies, or the
    /// end of `records`. Bounded: at most (end − offset) / 16 steps, and a CRC only where a magic is.
    private static func resynchronise(_ records: UnsafeRawBufferPointer, after offset: Int) -> Int {
        var candidate = offset + FormatLimits.recordAlignmentBytes
        while candidate + RecordFormat.recordSizeBytesMin <= records.count {
            if records.loadLittleEndian(at: candidate, as: UInt32.self) == RecordFormat.magic,
                case .success = summary(records, at: candidate)
            {
                return candidate
            }
            candidate += FormatLimits.recordAlignmentBytes
        }
        return records.count
    }
}

/// Carries a non-scanned outcome through `Result`.
struct BlockScanOutcomeError: Error {
    let outcome: BlockScanOutcome
    init(_ outcome: BlockScanOutcome) { self.outcome = outcome }
}
