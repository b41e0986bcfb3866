#if canImport(Glibc)
import Glibc
#endif

/// The operation an ``IOError`` happened in.
public enum IOOperation: String, Sendable, Equatable {
    case open, stat, ioctl, read, write, fsync, submit, wait, ringSetup = "ring setup", allocate, truncate, lock
}

/// An error at the I/O edge: it always names the operation and the path, and where it applies
/// the offset and length, so an operator can tell which device and which bytes are involved.
public struct IOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The path does not exist.
        case notFound
        /// The path is a directory.
        case isDirectory
        /// The path is neither a block device nor a regular file.
        case unsupportedFileType(String)
        /// The block device is mounted (or held by swap / device-mapper) elsewhere.
        case inUse(String)
        /// Another live process owns the device or file (holds its exclusive lock); its pid when
        /// `/proc/locks` tells.
        case ownedByAnotherProcess(pid: Int32?)
        /// Permission to open or use the device was denied.
        case permissionDenied
        /// The filesystem under a file does not support O_DIRECT.
        case directIONotSupported
        /// An offset, length or buffer is not aligned to the device's alignment.
        case misaligned(String)
        /// The request reaches past the end of the device.
        case outOfBounds(deviceSizeBytes: UInt64)
        /// A read or write transferred fewer bytes than asked and could make no progress.
        case shortTransfer(transferredBytes: Int)
        /// The buffer pool has no buffer left.
        case poolExhausted(capacity: Int)
        /// The queue already has as many requests in flight as its depth.
        case queueFull(depth: Int)
        /// Transient errors (EINTR/EAGAIN) kept coming back past the retry limit.
        case retriesExhausted(attempts: Int)
        /// An invalid argument found before the kernel saw the request.
        case invalidArgument(String)
        /// Any other errno from the kernel.
        case system
    }

    public var kind: Kind
    public var operation: IOOperation
    public var path: String
    public var offset: UInt64?
    public var lengthBytes: Int?
    /// The errno reported by the kernel, 0 when the error was found before the kernel saw it.
    public var errno: Int32

    public init(
        _ kind: Kind, operation: IOOperation, path: String, offset: UInt64? = nil, lengthBytes: Int? = nil,
        errno: Int32 = 0
    ) {
        self.kind = kind
        self.operation = operation
        self.path = path
        self.offset = offset
        self.lengthBytes = lengthBytes
        self.errno = errno
    }

    public var description: String {
        var s = "\(operation.rawValue) \(path)"
        if let offset { s += " at offset \(offset)" }
        if let lengthBytes { s += " length \(lengthBytes)" }
        s += ": "
        switch kind {
        case .notFound: s += "no such file or device"
        case .isDirectory: s += "is a directory, not a device or file"
        case .unsupportedFileType(let t): s += "is a \(t), not a block device or regular file"
        case .inUse(let by): s += "block device is in use (\(by)); refusing to open it"
        case .ownedByAnotherProcess(let pid):
            s += "already in use by another process (\(pid.map { "pid \($0)" } ?? "pid unknown"), holding its exclusive lock); "
                + "one cairnd per device or file: stop that process or give this one other storage"
        case .permissionDenied: s += "permission denied (run as root or give this user access to the device)"
        case .directIONotSupported:
            s += "the filesystem does not support O_DIRECT (tmpfs cannot hold Cairn files; use a disk-backed path)"
        case .misaligned(let what): s += "misaligned \(what)"
        case .outOfBounds(let size): s += "past the end of the device (\(size) bytes)"
        case .shortTransfer(let n): s += "short transfer: only \(n) bytes moved and no further progress"
        case .poolExhausted(let c): s += "buffer pool exhausted (all \(c) buffers in use)"
        case .queueFull(let d): s += "queue full (\(d) requests in flight)"
        case .retriesExhausted(let n): s += "still failing after \(n) attempts with a transient error"
        case .invalidArgument(let why): s += why
        case .system: s += "system error"
        }
        if errno != 0 { s += " (errno \(errno): \(IOError.errnoName(errno)))" }
        return s
    }

    static func errnoName(_ code: Int32) -> String {
        guard let c = strerror(code) else { return "unknown" }
        return String(cString: c)
    }

    /// Maps an errno from open/stat to a kind.
    static func kindForOpen(_ code: Int32) -> Kind {
        switch code {
        case ENOENT, ENOTDIR: return .notFound
        case EISDIR: return .isDirectory
        case EACCES, EPERM, EROFS: return .permissionDenied
        case EBUSY: return .inUse("opened exclusively by another holder for 5 s: another process (a cairnd?), a mount, swap or a device-mapper target")
        default: return .system
        }
    }
}
