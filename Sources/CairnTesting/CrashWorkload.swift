/// Shared between `cairn-crash-writer` (the child process) and the crash tests that verify it.
public enum CrashWorkload {
    /// The 20 digest bytes of workload key `key` (a fixed mix, so both sides agree).
    public static func digestBytes(forKey key: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        var x = UInt64(key) &* 0x9E37_79B9_7F4A_7C15
        for i in 0..<20 {
            x ^= x >> 29
            x = x &* 0xBF58_476D_1CE4_E5B9
            bytes[i] = UInt8(truncatingIfNeeded: x >> 24)
        }
        return bytes
    }
}
