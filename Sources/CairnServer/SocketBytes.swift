#if canImport(Glibc)
import Glibc
#endif

/// A connection's byte area: `[start, end)` holds data not yet consumed, and the space after
/// `end` is where the kernel writes the next receive (or where the next reply is appended).
///
/// Ownership: one event loop thread. While the kernel holds a pointer into it (a receive or a
/// send in flight), `isLent` is true and every operation that could move or change the lent
/// bytes traps; the owner clears it when the completion arrives.
final class SocketBytes {
    private var base: UnsafeMutableRawPointer
    private(set) var capacityBytes: Int
    private(set) var start = 0
    private(set) var end = 0
    /// The kernel holds a pointer into this area.
    var isLent = false

    init(capacityBytes: Int) {
        precondition(capacityBytes > 0, "socket buffer of \(capacityBytes) bytes")
        self.capacityBytes = capacityBytes
        base = UnsafeMutableRawPointer.allocate(byteCount: capacityBytes, alignment: 16)
    }

    deinit {
        precondition(!isLent, "socket buffer released while the kernel holds it")
        base.deallocate()
    }

    var countBytes: Int { end - start }
    var isEmpty: Bool { end == start }
    var freeBytes: Int { capacityBytes - end }

    /// The unconsumed bytes (valid until the next mutating call).
    var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: end - start) }

    /// Where the kernel may write `freeBytes` bytes.
    var writableTail: UnsafeMutableRawPointer { base + end }

    /// Makes room for at least `bytes` after `end`: moves the data to the front, then grows.
    func reserve(_ bytes: Int) {
        precondition(!isLent, "socket buffer moved while the kernel holds it")
        if freeBytes >= bytes { return }
        if start > 0 {
            let count = end - start
            if count > 0 { (base).copyMemory(from: base + start, byteCount: count) }
            start = 0
            end = count
            if freeBytes >= bytes { return }
        }
        var newCapacity = capacityBytes
        while newCapacity - end < bytes { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if end > 0 { grown.copyMemory(from: base, byteCount: end) }
        base.deallocate()
        base = grown
        capacityBytes = newCapacity
    }

    /// Shrinks an empty area back to `capacityBytes` after a large frame passed through.
    func trim(to capacity: Int) {
        guard !isLent, isEmpty, capacityBytes > capacity else { return }
        base.deallocate()
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        capacityBytes = capacity
        start = 0
        end = 0
    }

    /// The kernel wrote `bytes` at the tail.
    func didFill(_ bytes: Int) {
        precondition(bytes >= 0 && bytes <= freeBytes, "filled \(bytes) of \(freeBytes) free bytes")
        end += bytes
    }

    /// Appends a copy of `bytes` (making room as needed).
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + end).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        end += bytes.count
    }

    /// Drops `bytes` from the front.
    func consume(_ bytes: Int) {
        precondition(bytes >= 0 && bytes <= end - start, "consumed \(bytes) of \(end - start) bytes")
        start += bytes
        if start == end && !isLent {
            start = 0
            end = 0
        }
    }
}
