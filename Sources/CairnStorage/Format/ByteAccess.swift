import CairnModel

// Little-endian loads and stores at explicit byte offsets. Every on-device integer goes through
// these; no struct is ever bound to on-device memory ("punned"). Callers check bounds first: the
// loads below only carry the standard library's debug-build bounds checks.

extension UnsafeRawBufferPointer {
    /// Loads a little-endian `T` at `offset` (any alignment). The caller has checked
    /// `offset + MemoryLayout<T>.size <= count`.
    @inline(__always)
    func loadLittleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Loads a 48-bit little-endian unsigned integer (6 bytes) at `offset`.
    @inline(__always)
    func loadLittleEndianUInt48(at offset: Int) -> UInt64 {
        let low = UInt64(loadLittleEndian(at: offset, as: UInt32.self))
        let high = UInt64(loadLittleEndian(at: offset + 4, as: UInt16.self))
        return low | (high << 32)
    }

    /// Whether every byte in `range` is zero.
    func isAllZero(_ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        // Word at a time where possible: this runs over whole header regions.
        while index + 8 <= range.upperBound {
            if loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < range.upperBound {
            if self[index] != 0 { return false }
            index += 1
        }
        return true
    }

    /// A view of `range` of this buffer (no copy).
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `value` little-endian at `offset` (any alignment). The caller has checked bounds.
    @inline(__always)
    func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// Stores the low 48 bits of `value` little-endian (6 bytes) at `offset`.
    @inline(__always)
    func storeLittleEndianUInt48(_ value: UInt64, at offset: Int) {
        precondition(value <= FormatLimits.lastUpdateMsMax, "value does not fit in 48 bits")
        storeLittleEndian(UInt32(truncatingIfNeeded: value), at: offset)  // low 32 bits
        storeLittleEndian(UInt16(truncatingIfNeeded: value >> 32), at: offset + 4)  // next 16 bits
    }

    /// Sets every byte in `range` to zero.
    @inline(__always)
    func zero(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        UnsafeMutableRawBufferPointer(rebasing: self[range]).initializeMemory(as: UInt8.self, repeating: 0)
    }
}

/// Appends fields at a moving cursor into a buffer whose size the caller has already checked.
///
/// Used only by encoders, after they have measured the encoding, so a store past `end` is a bug in
/// this module and traps.
struct ByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var cursor: Int
    let end: Int

    init(_ buffer: UnsafeMutableRawBufferPointer, cursor: Int, end: Int) {
        precondition(cursor >= 0 && cursor <= end && end <= buffer.count, "writer range outside buffer")
        self.buffer = buffer
        self.cursor = cursor
        self.end = end
    }

    @inline(__always)
    mutating func put<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        precondition(cursor + size <= end, "encoder wrote past its measured size")
        buffer.storeLittleEndian(value, at: cursor)
        cursor += size
    }

    /// Writes the low 48 bits of `value` (6 bytes).
    mutating func putUInt48(_ value: UInt64) {
        precondition(cursor + 6 <= end, "encoder wrote past its measured size")
        buffer.storeLittleEndianUInt48(value, at: cursor)
        cursor += 6
    }

    /// Writes the 20 digest bytes.
    mutating func put(digest: Digest) {
        precondition(cursor + Digest.sizeBytes <= end, "encoder wrote past its measured size")
        digest.store(into: buffer, at: cursor)
        cursor += Digest.sizeBytes
    }

    /// Copies the bytes of a string's UTF-8 form.
    ///
    /// Contiguous strings (native ones, and small ones spilled to the stack) are borrowed: the
    /// mutating `withUTF8` needed a copy of the string, a retain and a release per name.
    mutating func put(utf8 string: String) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { put(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil {
            var copy = string
            copy.withUTF8 { put(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// Copies raw bytes.
    mutating func put(bytes: UnsafeRawBufferPointer) {
        precondition(cursor + bytes.count <= end, "encoder wrote past its measured size")
        if !bytes.isEmpty {
            UnsafeMutableRawBufferPointer(rebasing: buffer[cursor..<(cursor + bytes.count)]).copyMemory(from: bytes)
        }
        cursor += bytes.count
    }

    /// Copies the bytes of an array.
    mutating func put(bytes: [UInt8]) {
        bytes.withUnsafeBytes { put(bytes: $0) }
    }

    /// Writes `count` zero bytes.
    mutating func putZeros(_ count: Int) {
        precondition(count >= 0 && cursor + count <= end, "encoder wrote past its measured size")
        buffer.zero(cursor..<(cursor + count))
        cursor += count
    }
}

/// Reads fields at a moving cursor from untrusted bytes; every read is checked against `end`
/// first and a short read throws `.badField(name, …)` naming the field.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var cursor: Int
    let end: Int

    init(_ buffer: UnsafeRawBufferPointer, cursor: Int, end: Int) {
        precondition(cursor >= 0 && cursor <= end && end <= buffer.count, "reader range outside buffer")
        self.buffer = buffer
        self.cursor = cursor
        self.end = end
    }

    /// Bytes left before `end`.
    var remaining: Int { end - cursor }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_ type: T.Type, field: String) throws(FormatDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else {
            throw .badField(name: field, reason: "needs \(size) bytes, only \(remaining) remain")
        }
        let value = buffer.loadLittleEndian(at: cursor, as: T.self)
        cursor += size
        return value
    }

    /// Reserves `count` bytes and returns their range, without copying.
    @inline(__always)
    mutating func take(_ count: Int, field: String) throws(FormatDecodingError) -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw .badField(name: field, reason: "length \(count) runs past the end (\(remaining) bytes remain)")
        }
        let range = cursor..<(cursor + count)
        cursor += count
        return range
    }
}
