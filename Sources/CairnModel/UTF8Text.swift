/// Text decoded from bytes that must be valid UTF-8 (names and string values on the wire and on
/// the device).
public enum UTF8Text {
    /// The string of `bytes`, or `nil` if they are not valid UTF-8.
    ///
    /// Names and most strings are ASCII: those are checked eight bytes at a time and decoded
    /// with the specialised `String(decoding:)`. Anything else goes through
    /// `String(validating:)`, whose generic entry point looks up type metadata at run time on
    /// every call (about 1.6% of a memory read's samples before this path existed).
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard isASCII(bytes) else { return String(validating: bytes, as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether every byte is below 0x80.
    @inlinable
    public static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < count {
            if bytes[index] & 0x80 != 0 { return false }
            index += 1
        }
        return true
    }
}
