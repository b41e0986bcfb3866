import CLiburing
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A raw block device or a regular file opened with O_DIRECT (and O_DSYNC on request).
///
/// Thread-safety: immutable after `open`; the file descriptor is closed on deinit. Any thread
/// may validate requests, make queues (one per owning thread) and do synchronous header I/O.
///
/// Invariants: `alignmentBytes` is a power of two ≥ 4096 and ≥ the logical block size;
/// `sizeBytes` is a multiple of `alignmentBytes`. Every request is checked against both
/// before the kernel sees it (`validate`).
public final class BlockDevice: Sendable {
    public enum Kind: String, Sendable { case blockDevice = "block device", regularFile = "file" }

    public struct OpenOptions: Sendable {
        /// For regular files: create the file if missing and make it at least this big (sparse).
        /// The usable size is then exactly this. Ignored for block devices.
        public var fileSizeBytes: UInt64?
        /// Open with O_DSYNC: every write is durable when it completes.
        public var dsync: Bool
        /// Open read-only (inspection tools).
        public var readOnly: Bool
        /// `read-page-cache`: also open a buffered (not O_DIRECT) descriptor that queues made
        /// with `pageCacheReads` read through, so record reads may be served from the page cache.
        public var readPageCache: Bool

        public init(fileSizeBytes: UInt64? = nil, dsync: Bool = false, readOnly: Bool = false, readPageCache: Bool = false) {
            self.fileSizeBytes = fileSizeBytes
            self.dsync = dsync
            self.readOnly = readOnly
            self.readPageCache = readPageCache
        }
    }

    /// Smallest alignment Cairn uses, whatever the device reports.
    public static let alignmentBytesMin = 4096
    /// Largest single request (the kernel caps one read/write just under 2 GiB).
    public static let requestSizeBytesMax = 1 << 30

    public let path: String
    public let kind: Kind
    public let sizeBytes: UInt64
    public let logicalBlockSizeBytes: Int
    public let alignmentBytes: Int
    public let readOnly: Bool
    public let dsync: Bool
    let fd: Int32
    /// The buffered read-only descriptor of `read-page-cache` (-1: none), set once by `open`
    /// before the device is handed out. Writes always go through `fd` (O_DIRECT): Linux
    /// invalidates the page-cache range of every O_DIRECT write after it completes (and writes
    /// back and drops it before), so a buffered read after a write's completion sees the write.
    private let pageCacheFDCell = Atomic<Int32>(-1)
    var pageCacheFD: Int32 { pageCacheFDCell.load(ordering: .acquiring) }
    /// Whether queues made with `pageCacheReads` read through the page cache.
    public var readsThroughPageCache: Bool { pageCacheFD >= 0 }
    /// The exclusive owner lock of a writable device (nil when read-only): held as long as this
    /// device is open.
    let ownerLock: DeviceOwnerLock?
    /// The simulated medium of a device made by ``simulated(path:medium:dsync:)`` (nil: a real
    /// device, I/O on `fd`).
    public let medium: (any SimulatedMedium)?
    /// Reads issued on this device (queued or synchronous) and their bytes, since it was opened.
    /// Lets tests and start reports prove what a start read (a warm restart reads no record data).
    private let readCounters = Atomic<UInt64>(0)
    private let readByteCounter = Atomic<UInt64>(0)

    private init(path: String, kind: Kind, fd: Int32, sizeBytes: UInt64, logicalBlockSizeBytes: Int,
                 readOnly: Bool, dsync: Bool, ownerLock: DeviceOwnerLock?, medium: (any SimulatedMedium)? = nil) {
        self.path = path
        self.ownerLock = ownerLock
        self.medium = medium
        self.kind = kind
        self.fd = fd
        self.logicalBlockSizeBytes = logicalBlockSizeBytes
        let alignment = max(BlockDevice.alignmentBytesMin, logicalBlockSizeBytes)
        self.alignmentBytes = alignment
        self.sizeBytes = sizeBytes - sizeBytes % UInt64(alignment)
        self.readOnly = readOnly
        self.dsync = dsync
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
        let cached = pageCacheFD
        if cached >= 0 { _ = Glibc.close(cached) }
    }

    /// Opens the buffered descriptor of `read-page-cache` on the same file or device as `fd`
    /// (checked by device and inode, so a path swapped in between is refused).
    private func openPageCacheReads() throws(IOError) {
        let buffered = Glibc.open(path, O_RDONLY | O_CLOEXEC, 0)
        if buffered < 0 {
            let code = errno
            throw IOError(IOError.kindForOpen(code), operation: .open, path: path, errno: code)
        }
        var a = Glibc.stat()
        var b = Glibc.stat()
        guard fstat(fd, &a) == 0, fstat(buffered, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino, a.st_rdev == b.st_rdev
        else {
            _ = Glibc.close(buffered)
            throw IOError(.invalidArgument("read-page-cache: the path no longer names the device opened for O_DIRECT"),
                          operation: .open, path: path)
        }
        // On a file the kernel's readahead stays on: POSIX_FADV_RANDOM was tried and slowed RU,95
        // on a file just written (10.7 → 13.1 µs/tx): readahead of neighbouring records fills
        // the page cache sooner than their own reads would. A file's O_DIRECT write drops the
        // cached pages of its range when it completes, so readahead that ran into a block being
        // written leaves nothing stale. A raw device's asynchronous O_DIRECT write drops them
        // only before it starts (block/fops.c): readahead that ran into a block meanwhile could
        // keep the block's old bytes cached. So on a raw device each buffered read brings in only
        // the pages it asks for (FMODE_RANDOM), which are never those of a block being written.
        if kind == .blockDevice, posix_fadvise(buffered, 0, 0, POSIX_FADV_RANDOM) != 0 {
            _ = Glibc.close(buffered)
            throw IOError(.invalidArgument("read-page-cache: the kernel refused POSIX_FADV_RANDOM on the buffered descriptor"),
                          operation: .open, path: path)
        }
        pageCacheFDCell.store(buffered, ordering: .releasing)
    }

    /// Asks the kernel to read `[offset, offset + lengthBytes)` into the page cache through the
    /// buffered descriptor of `read-page-cache` (`POSIX_FADV_WILLNEED`: readahead, which returns
    /// once the reads are submitted). False when the device has no such descriptor or the
    /// kernel refused; a hint either way, never an error (the records stay readable).
    ///
    /// Asked for in pieces of ``willNeedPieceBytes``: the kernel reads at most the larger of the
    /// device's largest request and its readahead window per call (`force_page_cache_ra`), 128 KiB
    /// on many NVMe drives, and silently drops the rest of a longer range.
    @discardableResult
    public func adviseWillNeed(offset: UInt64, lengthBytes: Int) -> Bool {
        let cached = pageCacheFD
        guard cached >= 0, lengthBytes > 0, offset + UInt64(lengthBytes) <= sizeBytes else { return false }
        var at = offset
        let end = offset + UInt64(lengthBytes)
        while at < end {
            let piece = min(UInt64(BlockDevice.willNeedPieceBytes), end - at)
            guard posix_fadvise(cached, off_t(at), off_t(piece), POSIX_FADV_WILLNEED) == 0 else { return false }
            at += piece
        }
        return true
    }

    /// The most ``adviseWillNeed(offset:lengthBytes:)`` asks for per call.
    public static let willNeedPieceBytes = 128 << 10

    /// A device whose I/O goes to a simulated medium (the deterministic simulator): the same
    /// validation, counters and queues as a real device, no file descriptor.
    public static func simulated(path: String, medium: any SimulatedMedium, dsync: Bool = false) -> BlockDevice {
        precondition(medium.alignmentBytes >= alignmentBytesMin && medium.alignmentBytes & (medium.alignmentBytes - 1) == 0,
                     "simulated alignment \(medium.alignmentBytes)")
        return BlockDevice(path: path, kind: .regularFile, fd: -1, sizeBytes: medium.sizeBytes,
                           logicalBlockSizeBytes: medium.alignmentBytes, readOnly: false, dsync: dsync, ownerLock: nil,
                           medium: medium)
    }

    /// Reads issued on this device since it was opened (through any queue or `readSync`).
    public var readCount: UInt64 { readCounters.load(ordering: .relaxed) }
    /// Bytes requested by those reads.
    public var readBytes: UInt64 { readByteCounter.load(ordering: .relaxed) }

    /// Counts one read of `lengthBytes` (called when a read is issued).
    func countRead(lengthBytes: Int) {
        readCounters.add(1, ordering: .relaxed)
        readByteCounter.add(UInt64(lengthBytes), ordering: .relaxed)
    }

    // MARK: - open

    /// Opens `path`. Refuses a missing path, a directory, anything but a block device or regular
    /// file, and a block device that is mounted or otherwise held (checked by O_EXCL and by
    /// /proc/self/mountinfo, so the message names the mount point when there is one).
    ///
    /// A writable open takes the device's exclusive owner lock (``DeviceOwnerLock``) before
    /// anything is read or written: a device or file another process holds is refused, naming
    /// that process's pid. A file larger than `fileSizeBytes` is refused when it holds data past
    /// that size (a shrink below the highest block ever written), naming both sizes.
    public static func open(path: String, options: OpenOptions = OpenOptions()) throws(IOError) -> BlockDevice {
        let device = try openDirect(path: path, options: options)
        if options.readPageCache { try device.openPageCacheReads() }
        return device
    }

    private static func openDirect(path: String, options: OpenOptions) throws(IOError) -> BlockDevice {
        var mode: UInt32 = 0
        var rdev: UInt64 = 0
        var fileSize: UInt64 = 0
        let statResult = cairn_path_stat(path, &mode, &rdev, &fileSize)
        if statResult != 0 {
            let code = -statResult
            if code == ENOENT, options.fileSizeBytes != nil {
                return try openFile(path: path, options: options, create: true)
            }
            throw IOError(IOError.kindForOpen(code), operation: .open, path: path, errno: code)
        }
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFDIR):
            throw IOError(.isDirectory, operation: .open, path: path)
        case UInt32(S_IFREG):
            return try openFile(path: path, options: options, create: false)
        case UInt32(S_IFBLK):
            return try openBlockDevice(path: path, rdev: rdev, options: options)
        case UInt32(S_IFCHR):
            throw IOError(.unsupportedFileType("character device"), operation: .open, path: path)
        case UInt32(S_IFIFO):
            throw IOError(.unsupportedFileType("FIFO"), operation: .open, path: path)
        case UInt32(S_IFSOCK):
            throw IOError(.unsupportedFileType("socket"), operation: .open, path: path)
        default:
            throw IOError(.unsupportedFileType("special file"), operation: .open, path: path)
        }
    }

    private static func openFlags(_ options: OpenOptions) -> Int32 {
        var flags = (options.readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | cairn_O_DIRECT
        if options.dsync { flags |= cairn_O_DSYNC }
        return flags
    }

    private static func openFile(path: String, options: OpenOptions, create: Bool) throws(IOError) -> BlockDevice {
        var flags = openFlags(options)
        if create { flags |= O_CREAT | cairn_O_EXCL }
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 {
            let code = errno
            let kind: IOError.Kind = code == EINVAL ? .directIONotSupported : IOError.kindForOpen(code)
            throw IOError(kind, operation: .open, path: path, errno: code)
        }
        var ownerLock: DeviceOwnerLock? = nil
        if !options.readOnly {
            do { ownerLock = try DeviceOwnerLock.claim(path: path, matching: fd) } catch {
                _ = Glibc.close(fd)
                throw error
            }
        }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw IOError(.system, operation: .stat, path: path, errno: code)
        }
        var size = UInt64(st.st_size)
        if let wanted = options.fileSizeBytes {
            guard wanted >= UInt64(alignmentBytesMin), wanted % UInt64(alignmentBytesMin) == 0 else {
                _ = Glibc.close(fd)
                throw IOError(.invalidArgument("file size \(wanted) must be a positive multiple of \(alignmentBytesMin)"),
                              operation: .truncate, path: path)
            }
            if size > wanted, let dataEnd = dataEnd(fd: fd, from: wanted, fileSize: size) {
                _ = Glibc.close(fd)
                throw IOError(.invalidArgument(
                    "the configured size \(wanted) bytes (\(mebibytes(wanted))) is below data already written: the file is \(size) bytes "
                    + "and holds data up to byte \(dataEnd) (\(mebibytes(dataEnd))); refusing to shrink it (nothing was changed): "
                    + "set the size to at least \(dataEnd) bytes"), operation: .open, path: path)
            }
            if size < wanted {
                if ftruncate(fd, off_t(wanted)) != 0 {
                    let code = errno
                    _ = Glibc.close(fd)
                    throw IOError(.system, operation: .truncate, path: path, offset: wanted, errno: code)
                }
            }
            size = wanted
        }
        guard size >= UInt64(alignmentBytesMin) else {
            _ = Glibc.close(fd)
            throw IOError(.invalidArgument("file is \(size) bytes; give a size (at least \(alignmentBytesMin)) to use it"),
                          operation: .open, path: path)
        }
        // Files: 4096 covers every Linux filesystem's O_DIRECT granularity; honour a larger
        // st_blksize when it is a sane power of two.
        let blksize = Int(st.st_blksize)
        let logical = (blksize > 4096 && blksize <= 65536 && blksize & (blksize - 1) == 0) ? blksize : 4096
        return BlockDevice(path: path, kind: .regularFile, fd: fd, sizeBytes: size, logicalBlockSizeBytes: logical,
                           readOnly: options.readOnly, dsync: options.dsync, ownerLock: ownerLock)
    }

    /// The end of the last data extent at or after `offset` (SEEK_DATA / SEEK_HOLE), nil when
    /// everything from `offset` to the end is a hole. Where the filesystem does not report holes
    /// the whole file counts as data (a shrink is then refused whenever the tail is not empty).
    static func dataEnd(fd: Int32, from offset: UInt64, fileSize: UInt64) -> UInt64? {
        var position = off_t(offset)
        var end: UInt64? = nil
        while UInt64(position) < fileSize {
            let data = lseek(fd, position, 3 /* SEEK_DATA */)
            if data < 0 { return errno == ENXIO ? end : fileSize }
            let hole = lseek(fd, data, 4 /* SEEK_HOLE */)
            if hole < 0 { return fileSize }
            end = UInt64(hole)
            position = hole
        }
        return end
    }

    static func mebibytes(_ bytes: UInt64) -> String {
        let tenths = bytes * 10 / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }

    /// How long an open waits for another holder's exclusive claim on a block device to go.
    static let exclusiveClaimWaitMs = 5_000

    private static func openBlockDevice(path: String, rdev: UInt64, options: OpenOptions) throws(IOError) -> BlockDevice {
        if let mount = MountTable.mountPoint(ofDevice: rdev) {
            throw IOError(.inUse("mounted at \(mount)"), operation: .open, path: path)
        }
        // Another cairnd holding the device is named at once (its pid), before O_EXCL's wait.
        let ownerLock = options.readOnly ? nil : try DeviceOwnerLock.claim(path: path)
        // O_EXCL on a block device fails with EBUSY while it is mounted or claimed by the kernel.
        // A process killed with SIGKILL keeps its claim until the kernel has torn down its
        // io_uring (asynchronously, after the process is reaped): an immediate restart would
        // see EBUSY. Not mounted, so wait up to `exclusiveClaimWaitMs` for the claim to go.
        var fd = Glibc.open(path, openFlags(options) | (options.readOnly ? 0 : cairn_O_EXCL), 0)
        var waitedMs = 0
        while fd < 0 && errno == EBUSY && waitedMs < exclusiveClaimWaitMs {
            usleep(50_000)
            waitedMs += 50
            fd = Glibc.open(path, openFlags(options) | (options.readOnly ? 0 : cairn_O_EXCL), 0)
        }
        if fd < 0 {
            let code = errno
            let kind: IOError.Kind = code == EINVAL ? .directIONotSupported : IOError.kindForOpen(code)
            throw IOError(kind, operation: .open, path: path, errno: code)
        }
        var size: UInt64 = 0
        var logical: UInt32 = 0
        var rc = cairn_blkdev_size_bytes(fd, &size)
        if rc == 0 { rc = cairn_blkdev_logical_block_size(fd, &logical) }
        guard rc == 0 else {
            _ = Glibc.close(fd)
            throw IOError(.system, operation: .ioctl, path: path, errno: -rc)
        }
        guard logical >= 512, logical & (logical - 1) == 0 else {
            _ = Glibc.close(fd)
            throw IOError(.invalidArgument("logical block size \(logical) is not a power of two ≥ 512"),
                          operation: .ioctl, path: path)
        }
        guard size >= UInt64(max(alignmentBytesMin, Int(logical))) else {
            _ = Glibc.close(fd)
            throw IOError(.invalidArgument("device is only \(size) bytes"), operation: .open, path: path)
        }
        return BlockDevice(path: path, kind: .blockDevice, fd: fd, sizeBytes: size,
                           logicalBlockSizeBytes: Int(logical), readOnly: options.readOnly, dsync: options.dsync,
                           ownerLock: ownerLock)
    }

    // MARK: - validation

    /// Checks a request against the device before the kernel sees it: alignment of offset,
    /// length, buffer address and buffer offset; bounds of the device and of the buffer.
    public func validate(_ request: IORequest) throws(IOError) {
        func fail(_ kind: IOError.Kind) -> IOError {
            IOError(kind, operation: request.operation, path: path, offset: request.offset, lengthBytes: request.lengthBytes)
        }
        if request.kind == .dataSync {
            if readOnly { throw fail(.invalidArgument("device is open read-only")) }
            return
        }
        if request.kind == .write && readOnly { throw fail(.invalidArgument("device is open read-only")) }
        guard let buffer = request.buffer else { throw fail(.invalidArgument("read or write without a buffer")) }
        try validateRange(operation: request.operation, lengthBytes: request.lengthBytes, at: request.offset)
        guard request.bufferOffset >= 0, request.bufferOffset <= buffer.countBytes,
              request.lengthBytes <= buffer.countBytes - request.bufferOffset else {
            throw fail(.invalidArgument(
                "buffer range \(request.bufferOffset)+\(request.lengthBytes) outside the \(buffer.countBytes)-byte buffer"))
        }
        let address = UInt(bitPattern: buffer.unsafeBaseAddress + request.bufferOffset)
        guard address % UInt(alignmentBytes) == 0 else {
            throw fail(.misaligned("buffer address (must be a multiple of \(alignmentBytes))"))
        }
    }

    /// The checks of ``validate(_:)`` on a read's device range, for a read into memory whose
    /// address its owner aligned (a registered slot). `aligned: false` for a read through the
    /// page cache (``pageCacheFD``), which may start and end anywhere.
    public func validateRead(lengthBytes: Int, at offset: UInt64, aligned: Bool = true) throws(IOError) {
        try validateRange(operation: .read, lengthBytes: lengthBytes, at: offset, aligned: aligned)
    }

    /// Length, alignment of offset and length (when `aligned`), and bounds of the device.
    private func validateRange(operation: IOOperation, lengthBytes: Int, at offset: UInt64, aligned: Bool = true) throws(IOError) {
        func fail(_ kind: IOError.Kind) -> IOError {
            IOError(kind, operation: operation, path: path, offset: offset, lengthBytes: lengthBytes)
        }
        let alignment = UInt64(alignmentBytes)
        guard lengthBytes > 0, lengthBytes <= BlockDevice.requestSizeBytesMax else {
            throw fail(.invalidArgument("length must be 1...\(BlockDevice.requestSizeBytesMax) bytes"))
        }
        guard !aligned || offset % alignment == 0 else {
            throw fail(.misaligned("offset (must be a multiple of \(alignmentBytes))"))
        }
        guard !aligned || UInt64(lengthBytes) % alignment == 0 else {
            throw fail(.misaligned("length (must be a multiple of \(alignmentBytes))"))
        }
        guard offset <= sizeBytes, UInt64(lengthBytes) <= sizeBytes - offset else {
            throw fail(.outOfBounds(deviceSizeBytes: sizeBytes))
        }
    }

    /// What every queue of this device checks before taking a request (io_uring or simulated):
    /// room in the queue, the request itself (`validate`), then counts a read.
    func admit(_ request: IORequest, inFlightCount: Int, depth: Int) throws(IOError) {
        guard inFlightCount < depth else {
            throw IOError(.queueFull(depth: depth), operation: request.operation, path: path,
                          offset: request.offset, lengthBytes: request.lengthBytes)
        }
        try validate(request)
        if request.operation == .read { countRead(lengthBytes: request.lengthBytes) }
    }

    // MARK: - queues and synchronous I/O

    /// Makes a queue for the calling thread with up to `depth` requests in flight: io_uring for a
    /// real device, the medium's queue for a simulated one.
    /// With `pageCacheReads` and `read-page-cache`, the queue's reads go through the page cache
    /// (its writes stay O_DIRECT).
    public func makeQueue(depth: Int, pageCacheReads: Bool = false) throws(IOError) -> DeviceQueue {
        if let medium {
            guard (1...4096).contains(depth) else {
                throw IOError(.invalidArgument("queue depth \(depth) outside 1...4096"), operation: .ringSetup, path: path)
            }
            return DeviceQueue(simulated: SimulatedQueueGuard(device: self, inner: medium.makeQueue(depth: depth, path: path)))
        }
        return DeviceQueue(ring: try RingQueue(device: self, depth: depth, pageCacheReads: pageCacheReads))
    }

    /// An io_uring queue (tests of the ring itself; storage uses ``makeQueue(depth:)``).
    public func makeRingQueue(depth: Int) throws(IOError) -> RingQueue {
        precondition(medium == nil, "a simulated device has no ring")
        return try RingQueue(device: self, depth: depth)
    }

    /// Reads synchronously (pread, retried on EINTR and short reads). For headers and tools;
    /// bulk I/O goes through a queue.
    public func readSync(into buffer: AlignedBuffer, bufferOffset: Int = 0, lengthBytes: Int? = nil,
                         at offset: UInt64) throws(IOError) {
        let request = IORequest.read(into: buffer, bufferOffset: bufferOffset, lengthBytes: lengthBytes, at: offset)
        try validate(request)
        countRead(lengthBytes: request.lengthBytes)
        if let medium { return try medium.transferSync(request, path: path) }
        try transferSync(request)
    }

    /// Writes synchronously (pwrite, retried on EINTR and short writes), durable when `durable`
    /// (followed by fdatasync unless the device is O_DSYNC).
    public func writeSync(from buffer: AlignedBuffer, bufferOffset: Int = 0, lengthBytes: Int? = nil,
                          at offset: UInt64, durable: Bool = false) throws(IOError) {
        let request = IORequest.write(from: buffer, bufferOffset: bufferOffset, lengthBytes: lengthBytes,
                                      at: offset, durable: durable)
        try validate(request)
        if let medium {  // as below: O_DSYNC makes this write durable; else fdatasync all
            var r = request
            r.durable = dsync
            try medium.transferSync(r, path: path)
            if durable && !dsync { try medium.dataSync(path: path) }
            return
        }
        try transferSync(request)
        if durable && !dsync { try dataSyncSync() }
    }

    /// fdatasync, retried on EINTR.
    public func dataSyncSync() throws(IOError) {
        if let medium { return try medium.dataSync(path: path) }
        while fdatasync(fd) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw IOError(.system, operation: .fsync, path: path, errno: code)
        }
    }

    private func transferSync(_ request: IORequest) throws(IOError) {
        let base = request.buffer!.unsafeBaseAddress + request.bufferOffset
        var done = 0
        var attempts = 0
        while done < request.lengthBytes {
            let remaining = request.lengthBytes - done
            let at = off_t(request.offset + UInt64(done))
            let n = request.kind == .read ? pread(fd, base + done, remaining, at) : pwrite(fd, base + done, remaining, at)
            if n < 0 {
                let code = errno
                attempts += 1
                if (code == EINTR || code == EAGAIN) && attempts < Ring.transientRetriesMax { continue }
                throw IOError(.system, operation: request.operation, path: path, offset: UInt64(at),
                              lengthBytes: remaining, errno: code)
            }
            if n == 0 {
                throw IOError(.shortTransfer(transferredBytes: done), operation: request.operation, path: path,
                              offset: request.offset, lengthBytes: request.lengthBytes)
            }
            done += n
        }
    }
}

/// The checks every queue of a device makes before a medium sees a request (validation, read
/// counters): the simulated queue gets exactly what a ring would.
final class SimulatedQueueGuard: IOQueue {
    let device: BlockDevice
    let inner: any IOQueue

    init(device: BlockDevice, inner: any IOQueue) {
        self.device = device
        self.inner = inner
    }

    var depth: Int { inner.depth }
    var inFlightCount: Int { inner.inFlightCount }

    func enqueue(_ request: IORequest) throws(IOError) {
        try device.admit(request, inFlightCount: inner.inFlightCount, depth: inner.depth)
        var r = request
        if device.dsync && r.kind == .write { r.durable = true }
        try inner.enqueue(r)
    }

    func submit() throws(IOError) { try inner.submit() }
    func reap(minimum: Int, into completions: inout [IOCompletion]) throws(IOError) {
        try inner.reap(minimum: minimum, into: &completions)
    }
}

/// Reads /proc/self/mountinfo to tell whether a block device (or one of its partitions) is mounted.
enum MountTable {
    static func mountPoint(ofDevice rdev: UInt64) -> String? {
        let major = ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~UInt64(0xFFF))
        let minor = (rdev & 0xFF) | ((rdev >> 12) & ~UInt64(0xFF))
        guard let text = readSmallFile("/proc/self/mountinfo") else { return nil }
        let partitions = partitionDevices(major: major, minor: minor)
        for line in text.split(separator: "\n") {
            // Fields: id parent major:minor root mountpoint ...
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count >= 5 else { continue }
            let dev = String(fields[2])
            if dev == "\(major):\(minor)" || partitions.contains(dev) { return String(fields[4]) }
        }
        return nil
    }

    /// "major:minor" of the partitions of a whole disk, from sysfs (empty when it has none).
    private static func partitionDevices(major: UInt64, minor: UInt64) -> Set<String> {
        let base = "/sys/dev/block/\(major):\(minor)"
        guard let dir = opendir(base) else { return [] }
        defer { closedir(dir) }
        var result: Set<String> = []
        var count = 0
        while let entry = readdir(dir), count < 4096 {
            count += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            if let dev = readSmallFile("\(base)/\(name)/dev"), readSmallFile("\(base)/\(name)/partition") != nil {
                result.insert(dev.trimmingNewlines())
            }
        }
        return result
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < (16 << 20) {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    func trimmingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
