import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// One io_uring instance: a thin, checked wrapper over the CLiburing shim.
///
/// Ownership: exactly one thread uses a `Ring` at a time (it is deliberately not `Sendable`);
/// other threads hand work to that owner through bounded queues (STYLE.md rule 9).
/// Higher layers use ``RingQueue``, which tracks every request in flight; `Ring` itself only
/// prepares SQEs, submits and reaps.
public final class Ring {
    /// Entries in the submission queue (a power of two chosen by the kernel, ≥ the requested count).
    public let submissionEntries: Int
    /// Entries in the completion queue.
    public let completionEntries: Int
    /// Attempts for a transient `io_uring_enter` failure (EINTR/EAGAIN/EBUSY) before giving up.
    public static let transientRetriesMax = 1000

    private let raw: OpaquePointer

    /// Setup flags (`IORING_SETUP_*`) asked for when the kernel supports them.
    public struct SetupFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Completions are run when the owner enters the kernel, not by interrupting it.
        public static let cooperativeTaskRun = SetupFlags(rawValue: cairn_IORING_SETUP_COOP_TASKRUN)
        /// Only the creating thread submits (the owner rule of this type, told to the kernel).
        public static let singleIssuer = SetupFlags(rawValue: cairn_IORING_SETUP_SINGLE_ISSUER)
        /// Completion work is deferred until the owner waits for completions.
        public static let deferTaskRun = SetupFlags(rawValue: cairn_IORING_SETUP_DEFER_TASKRUN)
        /// What Cairn uses: all three (kernels ≥ 6.1), falling back to none on older kernels.
        public static let preferred: SetupFlags = [.cooperativeTaskRun, .singleIssuer, .deferTaskRun]
    }

    /// Flags the ring was created with (the preferred set, or none on a kernel that refused it).
    public let setupFlags: SetupFlags

    /// Creates a ring with at least `entries` submission slots (1...32768), owned by the calling
    /// thread (with `.singleIssuer` the kernel refuses submissions from any other thread).
    public init(entries: Int, flags: SetupFlags = .preferred) throws(IOError) {
        guard (1...32768).contains(entries) else {
            throw IOError(.invalidArgument("ring size \(entries) outside 1...32768"), operation: .ringSetup, path: "io_uring")
        }
        var out: OpaquePointer?
        var rc = cairn_uring_create(UInt32(entries), flags.rawValue, &out)
        var used = flags
        if rc == -EINVAL && !flags.isEmpty {
            // An older kernel without these setup flags: a plain ring behaves the same, slower.
            rc = cairn_uring_create(UInt32(entries), 0, &out)
            used = []
        }
        guard rc == 0, let ring = out else {
            let code = -rc
            let kind: IOError.Kind = (code == ENOSYS || code == EPERM)
                ? .invalidArgument("io_uring is not available (disabled by kernel.io_uring_disabled or a seccomp policy)")
                : .system
            throw IOError(kind, operation: .ringSetup, path: "io_uring", errno: code)
        }
        raw = ring
        setupFlags = used
        submissionEntries = Int(cairn_uring_sq_entries(ring))
        completionEntries = Int(cairn_uring_cq_entries(ring))
    }

    deinit { cairn_uring_destroy(raw) }

    // MARK: - state

    /// Free SQE slots.
    public var submissionSpaceLeft: Int { Int(cairn_uring_sq_space_left(raw)) }
    /// SQEs prepared but not yet handed to the kernel.
    public var submissionReady: Int { Int(cairn_uring_sq_ready(raw)) }
    /// Completions waiting to be reaped.
    public var completionReady: Int { Int(cairn_uring_cq_ready(raw)) }

    /// Whether the kernel supports `opcode` (one of the `cairn_IORING_OP_*` values).
    public func supports(opcode: Int32) -> Bool { cairn_uring_probe_opcode(raw, opcode) == 1 }

    // MARK: - preparing (false when the submission queue is full: nothing was consumed)

    /// Prepares a read of `lengthBytes` into `address`. Unsafe: the memory must stay valid until completion.
    @inline(__always)
    func unsafePrepareRead(fd: Int32, address: UnsafeMutableRawPointer, lengthBytes: UInt32, offset: UInt64,
                           userData: UInt64) -> Bool {
        cairn_uring_prep_read(raw, fd, address, lengthBytes, offset, 0, 0, userData) == 0
    }

    /// Prepares a read of `lengthBytes` into `address`, which lies inside registered buffer
    /// `bufferIndex` (``registerBuffers(_:)``). Unsafe: the memory must stay valid until completion.
    @inline(__always)
    func unsafePrepareReadFixed(fd: Int32, address: UnsafeMutableRawPointer, lengthBytes: UInt32, offset: UInt64,
                                bufferIndex: UInt32, userData: UInt64) -> Bool {
        cairn_uring_prep_read_fixed(raw, fd, address, lengthBytes, offset, bufferIndex, userData) == 0
    }

    /// Prepares a write of `lengthBytes` from `address`, with RWF_DSYNC when `durable`.
    /// Unsafe: the memory must stay valid until completion.
    @inline(__always)
    func unsafePrepareWrite(fd: Int32, address: UnsafeRawPointer, lengthBytes: UInt32, offset: UInt64,
                            durable: Bool, userData: UInt64) -> Bool {
        cairn_uring_prep_write(raw, fd, address, lengthBytes, offset, durable ? cairn_RWF_DSYNC : 0, 0, userData) == 0
    }

    /// Prepares an fdatasync.
    @inline(__always)
    func prepareDataSync(fd: Int32, userData: UInt64) -> Bool {
        cairn_uring_prep_fsync(raw, fd, cairn_IORING_FSYNC_DATASYNC, 0, userData) == 0
    }

    /// Prepares an accept on listening socket `fd` (the completion's result is the new socket, with
    /// close-on-exec set).
    public func prepareAccept(fd: Int32, userData: UInt64) -> Bool {
        cairn_uring_prep_accept(raw, fd, userData) == 0
    }

    /// Prepares a `recv` of up to `lengthBytes` into `address`. With `pollFirst` the kernel
    /// waits for data before it tries (for a socket known to be drained: the attempt would fail
    /// and arm a poll anyway). Unsafe: the memory must stay valid and unmoved until the completion.
    /// With `fixedFile`, `fd` is an index in the ring's registered file table (``registerFile(_:at:)``).
    @inline(__always)
    public func unsafePrepareReceive(fd: Int32, fixedFile: Bool = false, address: UnsafeMutableRawPointer,
                                     lengthBytes: UInt32, pollFirst: Bool = false, userData: UInt64) -> Bool {
        cairn_uring_prep_recv(raw, fd, fixedFile ? 1 : 0, address, lengthBytes, pollFirst ? 1 : 0, userData) == 0
    }

    /// Whether a receive's completion `flags` say the socket still held data after it.
    @inline(__always)
    public static func socketHadMore(_ flags: UInt32) -> Bool { flags & cairn_IORING_CQE_F_SOCK_NONEMPTY != 0 }

    /// Prepares a `send` (MSG_NOSIGNAL) of `lengthBytes` from `address`. Unsafe: the memory must
    /// stay valid and unchanged until the completion.
    /// With `fixedFile`, `fd` is an index in the ring's registered file table.
    @inline(__always)
    public func unsafePrepareSend(fd: Int32, fixedFile: Bool = false, address: UnsafeRawPointer, lengthBytes: UInt32,
                                  userData: UInt64) -> Bool {
        cairn_uring_prep_send(raw, fd, fixedFile ? 1 : 0, address, lengthBytes, userData) == 0
    }

    /// Registers a file table of `count` empty entries, for sockets used by many requests: a
    /// request on a registered file skips the file lookup and its reference count.
    public func registerSparseFiles(count: Int) throws(IOError) {
        precondition(count > 0 && count <= Int(UInt32.max), "registered file table of \(count) entries")
        let rc = cairn_uring_register_files_sparse(raw, UInt32(count))
        if rc < 0 { throw IOError(.system, operation: .ringSetup, path: "io_uring registered files (\(count) entries)", errno: -rc) }
    }

    /// Puts `fd` in entry `index` of the registered file table; `nil` empties the entry (which
    /// must happen before the file's last close can release it).
    public func registerFile(_ fd: Int32?, at index: Int) throws(IOError) {
        precondition(index >= 0 && index <= Int(UInt32.max), "registered file index \(index)")
        let rc = cairn_uring_register_file_at(raw, UInt32(index), fd ?? -1)
        if rc < 0 { throw IOError(.system, operation: .ringSetup, path: "io_uring registered file \(index)", errno: -rc) }
    }

    /// Registers `regions` as the ring's fixed buffers, indexed in order: the kernel pins their
    /// pages once, and a read into one (``unsafePrepareReadFixed``) skips pinning and unpinning
    /// them. The memory must outlive the ring. Pinned pages count against RLIMIT_MEMLOCK for a
    /// process without CAP_IPC_LOCK: ENOMEM or EPERM then.
    public func registerBuffers(_ regions: [UnsafeMutableRawBufferPointer]) throws(IOError) {
        precondition(!regions.isEmpty && regions.allSatisfy { $0.baseAddress != nil && $0.count > 0 },
                     "registered buffers must be non-empty")
        let vectors = regions.map { cairn_iovec(base: $0.baseAddress, len: $0.count) }
        let rc = vectors.withUnsafeBufferPointer { cairn_uring_register_buffers(raw, $0.baseAddress, UInt32($0.count)) }
        if rc < 0 {
            throw IOError(.system, operation: .ringSetup,
                          path: "io_uring registered buffers (\(regions.count), \(regions.reduce(0) { $0 + $1.count }) bytes)", errno: -rc)
        }
    }

    /// Lets `io_uring_enter` find this ring without a file lookup. Belongs to the calling thread:
    /// only for a ring that one thread enters.
    public func registerRingDescriptor() throws(IOError) {
        let rc = cairn_uring_register_ring_fd(raw)
        if rc < 0 { throw IOError(.system, operation: .ringSetup, path: "io_uring ring descriptor registration", errno: -rc) }
    }

    /// Prepares a read of `lengthBytes` at the file's current position (an eventfd, a pipe).
    /// Unsafe: the memory must stay valid until the completion.
    @inline(__always)
    public func unsafePrepareStreamRead(fd: Int32, address: UnsafeMutableRawPointer, lengthBytes: UInt32,
                                        userData: UInt64) -> Bool {
        cairn_uring_prep_read(raw, fd, address, lengthBytes, UInt64.max, 0, 0, userData) == 0
    }

    /// Prepares a no-op (tests and wake-ups).
    public func prepareNop(userData: UInt64) -> Bool { cairn_uring_prep_nop(raw, 0, userData) == 0 }

    // MARK: - submit and reap

    /// Hands every prepared SQE to the kernel and, when `waitCount > 0`, waits until at least
    /// that many completions are ready. Retries EINTR, EAGAIN and EBUSY (bounded); anything else
    /// is a typed error. Returns the number of SQEs the kernel took.
    @discardableResult
    public func submit(waitCount: Int = 0) throws(IOError) -> Int {
        var attempts = 0
        while true {
            let rc = waitCount > 0
                ? cairn_uring_submit_and_wait(raw, UInt32(waitCount))
                : cairn_uring_submit(raw)
            if rc >= 0 { return Int(rc) }
            let code = -rc
            if code == EINTR || code == EAGAIN || code == EBUSY {
                attempts += 1
                if attempts >= Ring.transientRetriesMax {
                    throw IOError(.retriesExhausted(attempts: attempts), operation: .submit, path: "io_uring", errno: code)
                }
                if code != EINTR { sched_yield() }
                continue
            }
            throw IOError(.system, operation: .submit, path: "io_uring", errno: code)
        }
    }

    /// Copies up to `into.count` ready completions and consumes them. Never waits.
    @inline(__always)
    public func reap(into cqes: UnsafeMutableBufferPointer<cairn_cqe>) -> Int {
        Int(cairn_uring_reap(raw, cqes.baseAddress!, UInt32(cqes.count)))
    }

    /// Waits for one completion and returns it without consuming it (`consumeOne()` does).
    public func waitCompletion() throws(IOError) -> (userData: UInt64, result: Int32) {
        var cqe = cairn_cqe()
        while true {
            let rc = cairn_uring_wait_cqe(raw, &cqe)
            if rc == 0 { return (cqe.user_data, cqe.res) }
            if -rc == EINTR || -rc == EAGAIN { continue }
            throw IOError(.system, operation: .wait, path: "io_uring", errno: -rc)
        }
    }

    /// Returns the completion at the head of the queue without consuming it, or nil when none.
    public func peekCompletion() -> (userData: UInt64, result: Int32)? {
        var cqe = cairn_cqe()
        return cairn_uring_peek_cqe(raw, &cqe) == 0 ? (cqe.user_data, cqe.res) : nil
    }

    /// Consumes the completion returned by `peekCompletion`/`waitCompletion`.
    public func consumeOne() { cairn_uring_cqe_seen(raw) }
}
