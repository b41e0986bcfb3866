/// Every failure the primary index reports instead of trapping: bad configuration, a full arena,
/// out-of-range record fields (which may come from a device), mapping failures and a shared-memory
/// index that cannot be re-attached.
public enum IndexError: Error, Equatable, Sendable {
    /// A configuration value is outside its documented range.
    case configurationInvalid(field: String, value: Int, expected: String)
    /// Every one of the `entryCountMax` arena entries is in use.
    case arenaFull(entryCountMax: Int)
    /// A record field does not fit the index entry (see `IndexRecord`).
    case recordFieldOutOfRange(field: String, value: UInt64, maximum: UInt64)
    /// `mmap` failed (path `nil` for an anonymous region).
    case mapFailed(path: String?, sizeBytes: Int, errno: Int32)
    /// `open` failed.
    case openFailed(path: String, errno: Int32)
    /// `ftruncate` or `fstat` failed.
    case resizeFailed(path: String, errno: Int32)
    /// An existing file does not have the size the index expects.
    case fileSizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
    /// `unlink` failed for a reason other than the file being absent.
    case removeFailed(path: String, errno: Int32)
    /// The shared-memory index was not marked clean by the process that last used it.
    case sharedIndexNotClean(path: String)
    /// The shared-memory index does not match the configuration (the caller must cold start).
    case sharedIndexMismatch(path: String, field: String, stored: UInt64, configured: UInt64)
    /// The shared-memory index header is not one Cairn wrote, or holds impossible values.
    case sharedIndexCorrupt(path: String, reason: String)
}

extension IndexError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .configurationInvalid(let field, let value, let expected):
            return "index configuration: \(field) = \(value) is invalid; expected \(expected)"
        case .arenaFull(let entryCountMax):
            return "index arena full: all \(entryCountMax) entries are in use (raise the index entry limit)"
        case .recordFieldOutOfRange(let field, let value, let maximum):
            return "index record: \(field) = \(value) exceeds the maximum \(maximum)"
        case .mapFailed(let path, let sizeBytes, let errno):
            return "mmap of \(sizeBytes) bytes (\(path ?? "anonymous")) failed: errno \(errno)"
        case .openFailed(let path, let errno):
            return "open \(path) failed: errno \(errno)"
        case .resizeFailed(let path, let errno):
            return "sizing \(path) failed: errno \(errno)"
        case .fileSizeMismatch(let path, let expectedBytes, let actualBytes):
            return "\(path) is \(actualBytes) bytes, expected \(expectedBytes)"
        case .removeFailed(let path, let errno):
            return "unlink \(path) failed: errno \(errno)"
        case .sharedIndexNotClean(let path):
            return "shared-memory index \(path) was not shut down cleanly; a cold start is needed"
        case .sharedIndexMismatch(let path, let field, let stored, let configured):
            return "shared-memory index \(path): \(field) is \(stored), configured \(configured); a cold start is needed"
        case .sharedIndexCorrupt(let path, let reason):
            return "shared-memory index \(path) is unusable: \(reason)"
        }
    }
}
