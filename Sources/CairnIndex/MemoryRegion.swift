#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `mmap`'d range of bytes, owned by this object and unmapped when it goes away.
///
/// Two kinds:
/// - **anonymous** (`anonymous(sizeBytes:)`): private memory, zero-filled, gone with the process;
/// - **file** (`create(path:sizeBytes:)` / `attach(path:sizeBytes:)`): a `MAP_SHARED` mapping of
///   a file, normally under `/dev/shm`, so the bytes outlive the process and the next process can
///   attach them (warm restart). `create` refuses an existing file; `attach` refuses a file whose
///   size is not the expected one.
///
/// Owner: whoever created it (the arena for stages, `PrimaryIndex` for the sprig table and the
/// header). The region itself does no locking: its fields are immutable, and each user documents
/// the lock that guards the bytes it reads and writes. Pointers handed out by `bind` are valid
/// only while the region is alive.
final class MemoryRegion: @unchecked Sendable {  // Immutable fields; the mapped bytes are guarded by their users.
    /// First byte of the mapping (page aligned).
    let base: UnsafeMutableRawPointer
    /// Usable size, as asked for (the mapping is rounded up to whole pages).
    let sizeBytes: Int
    /// The backing file, `nil` when anonymous.
    let path: String?
    private let mappedSizeBytes: Int

    private init(base: UnsafeMutableRawPointer, sizeBytes: Int, mappedSizeBytes: Int, path: String?) {
        self.base = base
        self.sizeBytes = sizeBytes
        self.mappedSizeBytes = mappedSizeBytes
        self.path = path
    }

    deinit {
        // munmap of a range we mapped cannot fail unless the arguments are wrong, which is a bug.
        let result = munmap(base, mappedSizeBytes)
        precondition(result == 0, "munmap failed: errno \(errno)")
    }

    // MARK: Creating

    /// Private zero-filled memory. Pages are committed on first touch (`MAP_NORESERVE`).
    static func anonymous(sizeBytes: Int) throws(IndexError) -> MemoryRegion {
        precondition(sizeBytes > 0, "a region needs at least one byte")
        let mappedSizeBytes = roundedToPages(sizeBytes)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        guard let base = mapOrNil(sizeBytes: mappedSizeBytes, flags: flags, fileDescriptor: -1) else {
            throw .mapFailed(path: nil, sizeBytes: mappedSizeBytes, errno: errno)
        }
        #if os(Linux)
        // Only a hint (fewer TLB misses on big stages); the kernel may decline, which is fine.
        _ = madvise(base, mappedSizeBytes, MADV_HUGEPAGE)
        #endif
        return MemoryRegion(base: base, sizeBytes: sizeBytes, mappedSizeBytes: mappedSizeBytes, path: nil)
    }

    /// Creates `path` (which must not exist), sizes it to `sizeBytes` zero bytes and maps it shared.
    static func create(path: String, sizeBytes: Int) throws(IndexError) -> MemoryRegion {
        precondition(sizeBytes > 0, "a region needs at least one byte")
        let descriptor = try openRetryingInterrupts(path: path, flags: O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC)
        defer { closeDescriptor(descriptor) }
        let mappedSizeBytes = roundedToPages(sizeBytes)
        var resizeResult: Int32
        repeat {
            resizeResult = ftruncate(descriptor, off_t(mappedSizeBytes))
        } while resizeResult != 0 && errno == EINTR
        if resizeResult != 0 {
            let resizeErrno = errno
            unlink(path)  // Best effort: do not leave a zero-length file behind; the resize error is the one reported.
            throw .resizeFailed(path: path, errno: resizeErrno)
        }
        guard let base = mapOrNil(sizeBytes: mappedSizeBytes, flags: MAP_SHARED, fileDescriptor: descriptor) else {
            let mapErrno = errno
            unlink(path)  // Best effort, as above.
            throw .mapFailed(path: path, sizeBytes: mappedSizeBytes, errno: mapErrno)
        }
        adviseHugePages(base, mappedSizeBytes)
        return MemoryRegion(base: base, sizeBytes: sizeBytes, mappedSizeBytes: mappedSizeBytes, path: path)
    }

    /// Maps an existing `path` shared; its size must be exactly what `create` made for `sizeBytes`.
    static func attach(path: String, sizeBytes: Int) throws(IndexError) -> MemoryRegion {
        precondition(sizeBytes > 0, "a region needs at least one byte")
        let descriptor = try openRetryingInterrupts(path: path, flags: O_RDWR | O_CLOEXEC)
        defer { closeDescriptor(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .resizeFailed(path: path, errno: errno) }
        let mappedSizeBytes = roundedToPages(sizeBytes)
        guard Int(status.st_size) == mappedSizeBytes else {
            throw .fileSizeMismatch(path: path, expectedBytes: mappedSizeBytes, actualBytes: Int(status.st_size))
        }
        guard let base = mapOrNil(sizeBytes: mappedSizeBytes, flags: MAP_SHARED, fileDescriptor: descriptor) else {
            throw .mapFailed(path: path, sizeBytes: mappedSizeBytes, errno: errno)
        }
        adviseHugePages(base, mappedSizeBytes)
        return MemoryRegion(base: base, sizeBytes: sizeBytes, mappedSizeBytes: mappedSizeBytes, path: path)
    }

    /// Removes `path`; returns `false` if it did not exist.
    @discardableResult
    static func remove(path: String) throws(IndexError) -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw .removeFailed(path: path, errno: errno)
    }

    /// Whether `path` exists.
    static func fileExists(path: String) -> Bool {
        access(path, F_OK) == 0
    }

    // MARK: Access

    /// The bytes `[offsetBytes, offsetBytes + count * stride(T))` bound to `T`.
    /// Traps if the range is outside the region or misaligned for `T`.
    func bind<T>(to type: T.Type, atByteOffset offsetBytes: Int, count: Int) -> UnsafeMutablePointer<T> {
        precondition(offsetBytes >= 0 && count >= 0, "negative offset or count")
        precondition(offsetBytes % MemoryLayout<T>.alignment == 0, "offset \(offsetBytes) misaligned for \(T.self)")
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        precondition(!overflow && byteCount <= sizeBytes - offsetBytes, "range outside the region")
        return (base + offsetBytes).bindMemory(to: T.self, capacity: count)
    }

    /// Faults in the pages of `[offsetBytes, offsetBytes + countBytes)` writable without
    /// touching their contents (`MADV_POPULATE_WRITE`), so a later first write pays no page
    /// fault. Any thread may call it while others use the region. Returns false when the kernel
    /// cannot (before Linux 5.14, or out of memory): the pages then fault in on first touch.
    @discardableResult
    func populate(atByteOffset offsetBytes: Int, countBytes: Int) -> Bool {
        precondition(offsetBytes >= 0 && countBytes >= 0 && countBytes <= sizeBytes - offsetBytes, "range outside the region")
        let page = Self.pageSizeBytes
        let start = offsetBytes / page * page
        let end = min(mappedSizeBytes, (offsetBytes + countBytes + page - 1) / page * page)
        guard end > start else { return true }
        #if os(Linux)
        return madvise(base + start, end - start, 23 /* MADV_POPULATE_WRITE */) == 0
        #else
        return false
        #endif
    }

    // MARK: Helpers

    static var pageSizeBytes: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    private static func roundedToPages(_ sizeBytes: Int) -> Int {
        let page = pageSizeBytes
        return (sizeBytes + page - 1) / page * page
    }

    /// Asks for huge pages on a shared mapping of a tmpfs file (the shared-memory index): each
    /// lookup touches a random entry, and with 4 KiB pages nearly every one is also a TLB miss,
    /// which in a VM is a two-level page walk. The kernel honours it when
    /// `/sys/kernel/mm/transparent_hugepage/shmem_enabled` is `advise` (or `always`/`within_size`)
    /// and ignores it under the default `never`; a hint either way, its result is not needed.
    private static func adviseHugePages(_ base: UnsafeMutableRawPointer, _ sizeBytes: Int) {
        #if os(Linux)
        _ = madvise(base, sizeBytes, MADV_HUGEPAGE)
        #endif
    }

    private static func mapOrNil(sizeBytes: Int, flags: Int32, fileDescriptor: Int32) -> UnsafeMutableRawPointer? {
        let result = mmap(nil, sizeBytes, PROT_READ | PROT_WRITE, flags, fileDescriptor, 0)
        guard let result, result != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        return result
    }

    private static func openRetryingInterrupts(path: String, flags: Int32) throws(IndexError) -> Int32 {
        while true {
            let descriptor = open(path, flags, mode_t(0o600))
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw .openFailed(path: path, errno: errno) }
        }
    }

    private static func closeDescriptor(_ descriptor: Int32) {
        // The mapping keeps the file alive; close can only fail with EBADF (a bug) or EINTR/EIO,
        // which do not affect a mapping already made.
        _ = close(descriptor)
    }
}
