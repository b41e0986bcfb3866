import CLiburing

/// CRC32C (Castagnoli), the checksum of every Cairn on-device structure.
///
/// Uses the CPU's SSE4.2 `crc32` instruction when present and a portable slicing-by-8 table
/// otherwise; both give the standard value (`"123456789"` → `0xE3069283`).
public enum CRC32C {
    /// Whether the hardware path is in use on this CPU.
    public static var isHardwareAccelerated: Bool { cairn_crc32c_hardware() == 1 }

    /// CRC32C of `bytes`, continuing from `crc` (0 starts a new checksum).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return cairn_crc32c(crc, base, bytes.count)
    }

    /// CRC32C of a byte collection that exposes contiguous storage (Array, ArraySlice, …).
    @inlinable
    public static func checksum<C: Collection<UInt8>>(_ bytes: C, continuing crc: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// The portable table path, always (tests compare it with the hardware path).
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return cairn_crc32c_portable(crc, base, bytes.count)
    }
}
