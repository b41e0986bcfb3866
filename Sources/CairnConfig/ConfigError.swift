/// Why a configuration cannot be used, and where in its file the problem is.
///
/// Every error the parser raises names the file, the 1-based line and a message that says what
/// is wrong and, where it can, what is allowed (`aerospike.conf:17: unknown parameter
/// 'flush-max-msec' in namespace test storage-engine device (did you mean 'flush-max-ms'?)`).
/// `line` is 0 when the error concerns the whole file rather than one line (the file cannot be
/// opened or read, or it is too large); `description` then leaves the line out.
///
/// A plain value: any thread may create, copy and read it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file name as it was given to `parse(text:fileName:)` or `load(path:)`.
    public let file: String
    /// The 1-based line the error is about, or 0 for the file as a whole.
    public let line: Int
    /// What is wrong, in one sentence without a trailing period.
    public let message: String

    /// Makes an error. `line` must not be negative.
    public init(file: String, line: Int, message: String) {
        precondition(line >= 0, "ConfigError line must be 0 (whole file) or a 1-based line number")
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, or `file: message` when `line` is 0.
    public var description: String {
        if line > 0 {
            return "\(file):\(line): \(message)"
        }
        return "\(file): \(message)"
    }
}
