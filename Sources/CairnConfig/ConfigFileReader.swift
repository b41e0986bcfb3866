#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a configuration file with plain POSIX calls, so every failure carries its errno.
///
/// The file must be a regular file of at most `ConfigLimits.fileSizeBytesMax` bytes of UTF-8.
/// Errors name the path as given and have line 0, except invalid UTF-8, which names its line.
enum ConfigFileReader {
    /// The text of the file at `path`.
    static func text(ofFileAt path: String) throws(ConfigError) -> String {
        // `path` is passed as a temporary C string for the duration of the call.
        let descriptor = unsafe open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw failure(path, "cannot open the configuration file", errno)
        }
        defer { close(descriptor) }
        var status = stat()
        guard unsafe fstat(descriptor, &status) == 0 else {
            throw failure(path, "cannot inspect the configuration file", errno)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ConfigError(file: path, line: 0, message: "the configuration file is not a regular file")
        }
        let bytes = try readAll(descriptor, path: path)
        return try decode(bytes, path: path)
    }

    /// The absolute directory of `path`, using the current directory for a relative one.
    static func absoluteDirectory(of path: String) throws(ConfigError) -> String {
        let directory = ConfigPath.directory(of: path)
        if directory.hasPrefix("/") {
            return ConfigPath.normalized(directory)
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard unsafe getcwd(&buffer, buffer.count) != nil else {
            throw failure(path, "cannot find the current directory to resolve relative paths", errno)
        }
        let nulIndex = buffer.firstIndex(of: 0) ?? buffer.count
        let current = String(decoding: buffer[..<nulIndex].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return ConfigPath.resolved(directory, against: current)
    }

    // MARK: Private

    /// Bytes asked for by one `read` call.
    private static let chunkSizeBytes = 64 * 1024
    /// EINTR retries tolerated in a row before giving up.
    private static let interruptedRetriesMax = 100

    /// An error for a failed system call, with the errno text and number.
    private static func failure(_ path: String, _ what: String, _ code: Int32) -> ConfigError {
        // strerror returns a NUL-terminated message that stays valid until the next call here.
        let text = unsafe String(cString: strerror(code))
        return ConfigError(file: path, line: 0, message: "\(what): \(text) (errno \(code))")
    }

    /// Every byte of the open file, refusing more than `ConfigLimits.fileSizeBytesMax`.
    private static func readAll(_ descriptor: Int32, path: String) throws(ConfigError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSizeBytes)
        var interruptedRetries = 0
        // Bounded: each pass adds at least one byte, ends, or counts one retry.
        while bytes.count <= ConfigLimits.fileSizeBytesMax {
            // read() writes at most buffer.count bytes into the array's own storage.
            let count = unsafe chunk.withUnsafeMutableBytes { buffer in
                unsafe read(descriptor, buffer.baseAddress, buffer.count)
            }
            if count == 0 {
                return bytes
            }
            if count < 0 {
                let code = errno
                interruptedRetries += 1
                if code == EINTR, interruptedRetries <= interruptedRetriesMax {
                    continue
                }
                throw failure(path, "cannot read the configuration file", code)
            }
            interruptedRetries = 0
            bytes.append(contentsOf: chunk[0..<count])
        }
        throw ConfigError(
            file: path,
            line: 0,
            message: "the configuration file is larger than \(ConfigLimits.fileSizeBytesMax) bytes"
        )
    }

    /// The bytes as a String, or an error naming the first line that is not valid UTF-8.
    private static func decode(_ bytes: [UInt8], path: String) throws(ConfigError) -> String {
        if let text = String(validating: bytes, as: UTF8.self) {
            return text
        }
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if String(validating: line, as: UTF8.self) == nil {
                throw ConfigError(file: path, line: lineNumber, message: "line is not valid UTF-8")
            }
        }
        throw ConfigError(file: path, line: 0, message: "the configuration file is not valid UTF-8")
    }
}
