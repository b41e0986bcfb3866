// Explicit big/little-endian byte loads over raw buffers.
//
// Every multi-byte wire integer is assembled from single byte loads (no unaligned pointer casts,
// no host-endian assumptions). Callers check that the bytes exist before loading; the
// preconditions here are a second line of defence that turns a codec bug into a trap instead of
// an over-read.

// MARK: - Loads

@inline(__always)
func loadUInt8(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt8 {
    precondition(offset >= 0 && offset < bytes.count, "CairnWire: load past end of buffer")
    return bytes[offset]
}

@inline(__always)
func loadUInt16BE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
    precondition(offset >= 0 && bytes.count - offset >= 2, "CairnWire: load past end of buffer")
    return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}

@inline(__always)
func loadUInt16LE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
    precondition(offset >= 0 && bytes.count - offset >= 2, "CairnWire: load past end of buffer")
    return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
}

@inline(__always)
func loadUInt32BE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    precondition(offset >= 0 && bytes.count - offset >= 4, "CairnWire: load past end of buffer")
    return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
        | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}

@inline(__always)
func loadUInt48BE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
    precondition(offset >= 0 && bytes.count - offset >= 6, "CairnWire: load past end of buffer")
    var value: UInt64 = 0
    for index in 0..<6 {
        value = value << 8 | UInt64(bytes[offset + index])
    }
    return value
}

@inline(__always)
func loadUInt64BE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
    precondition(offset >= 0 && bytes.count - offset >= 8, "CairnWire: load past end of buffer")
    var value: UInt64 = 0
    for index in 0..<8 {
        value = value << 8 | UInt64(bytes[offset + index])
    }
    return value
}

@inline(__always)
func loadUInt64LE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
    precondition(offset >= 0 && bytes.count - offset >= 8, "CairnWire: load past end of buffer")
    var value: UInt64 = 0
    for index in (0..<8).reversed() {
        value = value << 8 | UInt64(bytes[offset + index])
    }
    return value
}

// MARK: - Sub-ranges

/// The bytes of `range` as their own buffer (0-based), after checking the range lies inside.
@inline(__always)
func rebased(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UnsafeRawBufferPointer {
    precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "CairnWire: range outside buffer")
    return UnsafeRawBufferPointer(rebasing: bytes[range])
}

// MARK: - Contiguous access for collections

/// Runs `body` over the contiguous bytes of `bytes` (copying only when the collection has no
/// contiguous storage), keeping `body`'s typed error.
///
/// The standard library's `withContiguousStorageIfAvailable` rethrows untyped errors, so the
/// typed result travels through a `Result` instead.
@inline(__always)
func withRawBytes<Bytes: Collection<UInt8>, Value, Failure: Error>(
    _ bytes: Bytes,
    _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
) throws(Failure) -> Value {
    let contiguous: Result<Value, Failure>? = bytes.withContiguousStorageIfAvailable { buffer in
        Result { () throws(Failure) -> Value in try body(UnsafeRawBufferPointer(buffer)) }
    }
    if let contiguous {
        return try contiguous.get()
    }
    let copy = Array(bytes)
    let copied: Result<Value, Failure> = copy.withUnsafeBytes { raw in
        Result { () throws(Failure) -> Value in try body(raw) }
    }
    return try copied.get()
}

/// Non-throwing variant of ``withRawBytes(_:_:)``.
@inline(__always)
func withRawBytes<Bytes: Collection<UInt8>, Value>(
    _ bytes: Bytes,
    _ body: (UnsafeRawBufferPointer) -> Value
) -> Value {
    if let contiguous = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return contiguous
    }
    return Array(bytes).withUnsafeBytes { body($0) }
}
