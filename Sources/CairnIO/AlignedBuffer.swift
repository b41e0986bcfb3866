#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size block of memory whose address is aligned for O_DIRECT I/O.
///
/// Ownership: a buffer has one logical owner at a time (a write buffer under its lock, a request
/// in flight, a scanner slot); the owner synchronises access to the bytes. The base address and
/// size never change, so sharing the reference across threads is safe as long as the owner
/// hand-off is synchronised (a lock or a queue), hence `@unchecked Sendable`.
///
/// Invariant: `baseAddress % alignmentBytes == 0`, `countBytes % alignmentBytes == 0`, memory is
/// zero on allocation (written, or mapped zero-filled) and freed on deinit.
public final class AlignedBuffer: @unchecked Sendable {
    /// Size in bytes.
    public let countBytes: Int
    /// Alignment in bytes of the base address and of the size.
    public let alignmentBytes: Int
    @usableFromInline let base: UnsafeMutableRawPointer

    /// Allocates a zeroed buffer. Traps if the size or alignment is invalid (a programmer error).
    public init(countBytes: Int, alignmentBytes: Int) {
        precondition(alignmentBytes >= 512 && alignmentBytes & (alignmentBytes - 1) == 0,
                     "alignment \(alignmentBytes) must be a power of two >= 512")
        precondition(countBytes > 0 && countBytes % alignmentBytes == 0,
                     "size \(countBytes) must be a positive multiple of the alignment \(alignmentBytes)")
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, alignmentBytes, countBytes)
        precondition(rc == 0 && raw != nil, "posix_memalign(\(alignmentBytes), \(countBytes)) failed: \(rc)")
        base = raw!
        memset(base, 0, countBytes)
        self.countBytes = countBytes
        self.alignmentBytes = alignmentBytes
        isMapped = false
        freshZeroes = false
    }

    /// Allocates a zeroed buffer in a private anonymous mapping of its own, for long-lived
    /// buffers (a writer's pool): nothing is written here, and the kernel gives each page, zero,
    /// on its first touch. The buffer's first user can skip zeroing it (``takeFreshZeroes()``).
    ///
    /// Why: the first fill of a new node's post-write cache wrote 1 MiB of fresh memory per
    /// block in one go (the zeroing of each new buffer). On a VM whose host backs guest memory
    /// on first touch that was about 2 ms of faults at a time on the flusher, and inserts into a
    /// fresh node had a p99 half as high again as once the cache was full. Touched by the
    /// appends instead, the faults come one page at a time (`docs/architecture.md`).
    public init(mappedCountBytes countBytes: Int, alignmentBytes: Int) {
        precondition(alignmentBytes >= 512 && alignmentBytes & (alignmentBytes - 1) == 0,
                     "alignment \(alignmentBytes) must be a power of two >= 512")
        precondition(alignmentBytes <= Self.mappedAlignmentBytesMax,
                     "a mapping is aligned to \(Self.mappedAlignmentBytesMax) bytes only")
        precondition(countBytes > 0 && countBytes % alignmentBytes == 0,
                     "size \(countBytes) must be a positive multiple of the alignment \(alignmentBytes)")
        let p = mmap(nil, countBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(p != MAP_FAILED && p != nil, "mmap of \(countBytes) bytes failed: \(String(cString: strerror(errno)))")
        base = p!
        self.countBytes = countBytes
        self.alignmentBytes = alignmentBytes
        isMapped = true
        freshZeroes = true
    }

    deinit {
        if isMapped { munmap(base, countBytes) } else { free(base) }
    }

    private let isMapped: Bool
    /// True from a mapped allocation until ``takeFreshZeroes()``.
    private var freshZeroes: Bool
    /// The largest alignment a mapped buffer has: the page size.
    public static let mappedAlignmentBytesMax = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Whether this is the buffer's first use since a mapped allocation, so every byte is still
    /// zero and no page has been touched: true once at most. The owner asks before it writes.
    public func takeFreshZeroes() -> Bool {
        defer { freshZeroes = false }
        return freshZeroes
    }

    /// Read access to the whole buffer.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: countBytes))
    }

    /// Write access to the whole buffer.
    @inlinable
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: countBytes))
    }

    /// Copies `bytes` into the buffer at `offset`. Traps when the range is outside the buffer.
    public func copyBytes(from bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset <= countBytes && bytes.count <= countBytes - offset,
                     "copy of \(bytes.count) bytes at \(offset) overflows a \(countBytes)-byte buffer")
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        (base + offset).copyMemory(from: src, byteCount: bytes.count)
    }

    /// Fills `range` with zero bytes.
    public func zero(_ range: Range<Int>? = nil) {
        let r = range ?? 0..<countBytes
        precondition(r.lowerBound >= 0 && r.upperBound <= countBytes, "zero range \(r) outside \(countBytes) bytes")
        memset(base + r.lowerBound, 0, r.count)
    }

    /// Whether `byteOffset` within this buffer is aligned (for sub-range I/O).
    @inlinable
    public func isAligned(byteOffset: Int) -> Bool { byteOffset % alignmentBytes == 0 }

    /// The raw address for the I/O layer. Unsafe: valid only while the buffer is alive.
    @usableFromInline
    var unsafeBaseAddress: UnsafeMutableRawPointer { base }
}
