#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses and formats the value words of configuration lines. Pure functions.
///
/// | kind     | accepted                                         | examples            |
/// |----------|--------------------------------------------------|---------------------|
/// | integer  | decimal digits                                   | `15000`             |
/// | size     | digits, optional K/M/G/T (any case, powers of 1024) | `4G`, `128k`, `4096` |
/// | time     | digits, optional s/m/h/d (any case); plain = seconds | `30d`, `10m`, `45`  |
/// | boolean  | true/false/yes/no (any case), as Aerospike       | `true`              |
/// | hex      | 1 to 16 hex digits                               | `a1b2`              |
///
/// Signs, decimal points, blanks and values beyond `Int.max` are refused.
enum ConfigValue {
    // MARK: Parsing

    /// A non-negative decimal integer, or `nil`.
    static func integer(_ word: String) -> Int? {
        digitsValue(Substring(word))
    }

    /// A size in bytes with an optional K, M, G or T suffix, or `nil`.
    static func sizeBytes(_ word: String) -> Int? {
        withSuffix(word, multipliers: sizeMultipliers)
    }

    /// A duration in seconds with an optional s, m, h or d suffix, or `nil`.
    static func seconds(_ word: String) -> Int? {
        withSuffix(word, multipliers: timeMultipliers)
    }

    /// `true`/`yes` or `false`/`no`, in any case, or `nil`.
    static func boolean(_ word: String) -> Bool? {
        switch word.lowercased() {
        case "true", "yes": true
        case "false", "no": false
        default: nil
        }
    }

    /// 1 to 16 hexadecimal digits, or `nil`.
    static func hex64(_ word: String) -> UInt64? {
        guard (1...16).contains(word.utf8.count), word.utf8.allSatisfy(isHexDigit) else {
            return nil
        }
        return UInt64(word, radix: 16)
    }

    /// True for `any`, an IPv4 literal or an IPv6 literal.
    static func isAddress(_ word: String) -> Bool {
        if word == "any" {
            return true
        }
        var ipv4 = in_addr()
        // inet_pton reads the NUL-terminated word and writes at most sizeof(in_addr) bytes.
        if unsafe inet_pton(AF_INET, word, &ipv4) == 1 {
            return true
        }
        var ipv6 = in6_addr()
        return unsafe inet_pton(AF_INET6, word, &ipv6) == 1
    }

    /// True when `value` is a positive power of two.
    static func isPowerOfTwo(_ value: Int) -> Bool {
        value > 0 && value & (value - 1) == 0
    }

    // MARK: Formatting

    /// `bytes` with the largest K/M/G/T suffix that divides it exactly (`4G`, `1536K`, `0`).
    static func formatSize(_ bytes: Int) -> String {
        formatWithSuffix(bytes, multipliers: sizeMultipliers, upperCase: true)
    }

    /// `seconds` with the largest d/h/m/s suffix that divides it exactly (`30d`, `2m`, `0`).
    static func formatSeconds(_ seconds: Int) -> String {
        formatWithSuffix(seconds, multipliers: timeMultipliers, upperCase: false)
    }

    /// `true` or `false`.
    static func formatBoolean(_ value: Bool) -> String {
        value ? "true" : "false"
    }

    /// Lower-case hex without a prefix.
    static func formatHex64(_ value: UInt64) -> String {
        String(value, radix: 16)
    }

    // MARK: Private

    /// Suffix letter (lower-case ASCII) and its multiplier, largest first.
    private static let sizeMultipliers: [(UInt8, Int)] = [
        (UInt8(ascii: "t"), ConfigLimits.tebibyte), (UInt8(ascii: "g"), ConfigLimits.gibibyte),
        (UInt8(ascii: "m"), ConfigLimits.mebibyte), (UInt8(ascii: "k"), ConfigLimits.kibibyte),
    ]

    /// Suffix letter (lower-case ASCII) and its multiplier in seconds, largest first.
    private static let timeMultipliers: [(UInt8, Int)] = [
        (UInt8(ascii: "d"), 86_400), (UInt8(ascii: "h"), 3_600), (UInt8(ascii: "m"), 60), (UInt8(ascii: "s"), 1),
    ]

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// The value of a run of 1 to 19 ASCII digits, or `nil` (also on overflow).
    private static func digitsValue(_ digits: Substring) -> Int? {
        guard (1...19).contains(digits.utf8.count) else {
            return nil
        }
        var value = 0
        for byte in digits.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                return nil
            }
            let (times10, overflowMul) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflowMul, !overflowAdd else {
                return nil
            }
            value = sum
        }
        return value
    }

    /// Digits with an optional one-letter suffix from `multipliers`, or `nil`.
    private static func withSuffix(_ word: String, multipliers: [(UInt8, Int)]) -> Int? {
        guard let lastByte = word.utf8.last else {
            return nil
        }
        // ASCII upper case to lower case; any other byte matches no suffix.
        let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(lastByte) ? lastByte + 0x20 : lastByte
        guard let multiplier = multipliers.first(where: { $0.0 == lowered })?.1 else {
            return digitsValue(Substring(word))
        }
        guard let number = digitsValue(word.dropLast()) else {
            return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// `value` divided by the largest multiplier that divides it, followed by its suffix letter
    /// (upper case when `upperCase`); plain digits when only 1 divides it.
    private static func formatWithSuffix(
        _ value: Int,
        multipliers: [(UInt8, Int)],
        upperCase: Bool
    ) -> String {
        precondition(value >= 0, "configuration values are never negative")
        guard value > 0 else {
            return "0"
        }
        for (suffix, multiplier) in multipliers where value % multiplier == 0 {
            if multiplier == 1 {
                return String(value)
            }
            let letter = Character(Unicode.Scalar(upperCase ? suffix - 0x20 : suffix))
            return "\(value / multiplier)\(letter)"
        }
        return String(value)
    }
}
