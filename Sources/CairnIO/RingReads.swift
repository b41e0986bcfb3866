import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// Device reads that a thread owning an io_uring ring (a network service thread) submits on its
/// own ring and completes on itself: no reader thread, no hand-off, no wait.
public protocol OwnedRingReads: AnyObject, Sendable {
    /// Reads the `sizeBytes` bytes at `byteOffset` of `device` (any alignment: the covering
    /// aligned range is read) and calls `completion` on the owning thread with exactly those
    /// bytes, lent for the call only: they lie in the read's buffer, which the next read reuses,
    /// so `completion` decodes or copies what it keeps (no array is made per read). Callable
    /// from any thread; a call from another thread is forwarded to the owner.
    func read(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int,
              completion: @escaping @Sendable (Result<UnsafeRawBufferPointer, IOError>) -> Void)
}

/// The ``OwnedRingReads`` of one ring. A device opened with `readPageCache` is read through its
/// buffered descriptor (`read-page-cache`), any other with O_DIRECT.
///
/// Ownership: the thread that owns `ring`; every method but `read` must run there. The owner
/// gives each completion whose user data has ``userDataTag`` in its top byte to `complete`.
/// Requests in flight occupy slots; a short read or EINTR/EAGAIN is resubmitted for the rest
/// (bounded), so only final outcomes reach the callbacks.
public final class RingReads: OwnedRingReads, @unchecked Sendable {
    /// The top byte of the user data of this object's requests.
    public let userDataTag: UInt64
    private let ring: Ring
    private let ownerThread: UInt
    private let forward: @Sendable (@escaping @Sendable () -> Void) -> Void

    private struct Slot {
        var device: BlockDevice
        var buffer: AlignedBuffer
        /// Aligned start of the transfer and its length.
        var alignedOffset: UInt64
        var lengthBytes: Int
        var progress = TransferProgress()
        /// What the caller asked for, within the transfer.
        var skipBytes: Int
        var sizeBytes: Int
        var completion: @Sendable (Result<UnsafeRawBufferPointer, IOError>) -> Void
    }

    @exclusivity(unchecked)
    private var slots: [Slot?] = []
    @exclusivity(unchecked)
    private var freeSlots: [Int] = []
    /// Buffers of finished reads, by length / 512 (an array: a dictionary's in-place mutation
    /// allocates its accessor's frame), reused by the next reads of that length (at most
    /// ``reusedBuffersPerLengthMax`` each, for lengths up to ``reusedBufferBytesMax``).
    @exclusivity(unchecked)
    private var freeBuffers = [[AlignedBuffer]](repeating: [], count: RingReads.reusedBufferBytesMax / 512 + 1)
    static let reusedBuffersPerLengthMax = 32
    static let reusedBufferBytesMax = 128 << 10
    public private(set) var inFlightCount = 0

    /// - Parameters:
    ///   - ring: the owner's ring (created on the calling thread, which becomes the owner).
    ///   - userDataTag: top byte that marks this object's completions (1...255).
    ///   - forward: runs work on the owner thread (its inbox), for calls from other threads.
    public init(ring: Ring, userDataTag: UInt64, forward: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        precondition((1...255).contains(userDataTag), "user data tag \(userDataTag) outside 1...255")
        self.ring = ring
        self.userDataTag = userDataTag
        self.ownerThread = UInt(pthread_self())
        self.forward = forward
    }

    public func read(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int,
                     completion: @escaping @Sendable (Result<UnsafeRawBufferPointer, IOError>) -> Void) {
        guard UInt(pthread_self()) == ownerThread else {
            forward { [self] in read(from: device, byteOffset: byteOffset, sizeBytes: sizeBytes, completion: completion) }
            return
        }
        let alignment = UInt64(device.alignmentBytes)
        let start = byteOffset / alignment * alignment
        let end = (byteOffset + UInt64(sizeBytes) + alignment - 1) / alignment * alignment
        let length = Int(end - start)
        let buffer: AlignedBuffer
        if length <= Self.reusedBufferBytesMax, let reused = freeBuffers[length / 512].popLast(),
           reused.alignmentBytes == device.alignmentBytes {
            buffer = reused
        } else {
            buffer = AlignedBuffer(countBytes: length, alignmentBytes: device.alignmentBytes)
        }
        let request = IORequest.read(into: buffer, lengthBytes: length, at: start)
        do throws(IOError) {
            try device.validate(request)
        } catch {
            completion(.failure(error))
            return
        }
        device.countRead(lengthBytes: length)
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
        } else {
            slots.append(nil)
            index = slots.count - 1
        }
        slots[index] = Slot(device: device, buffer: buffer, alignedOffset: start, lengthBytes: length, skipBytes: Int(byteOffset - start), sizeBytes: sizeBytes, completion: completion)
        inFlightCount += 1
        prepare(index)
    }

    /// Handles a completion of this object (its user data carries ``userDataTag``).
    public func complete(userData: UInt64, result: Int32) {
        precondition(UInt(pthread_self()) == ownerThread, "ring reads completed off their owner thread")
        let index = Int(userData & 0xFFFF_FFFF)
        guard index < slots.count, var slot = slots[index] else {
            preconditionFailure("device read completion for empty slot \(index)")
        }
        var failure: IOError?
        switch slot.progress.apply(result: result, lengthBytes: slot.lengthBytes,
                                   describe: { "read \(slot.device.path) at \(slot.alignedOffset)" }) {
        case .resubmit:
            slots[index] = slot
            prepare(index)
            return
        case .done:
            break
        case .failed(let kind, let code):
            failure = IOError(kind, operation: .read, path: slot.device.path,
                              offset: slot.alignedOffset + UInt64(slot.progress.doneBytes),
                              lengthBytes: slot.lengthBytes - slot.progress.doneBytes, errno: code)
        }
        slots[index] = nil
        freeSlots.append(index)
        inFlightCount -= 1
        defer { recycle(slot.buffer) }
        if let failure {
            slot.completion(.failure(failure))
            return
        }
        let skip = slot.skipBytes
        let count = slot.sizeBytes
        // Lent, not copied: the buffer is recycled (by the defer above) only after the call.
        slot.buffer.withUnsafeBytes { raw in
            slot.completion(.success(UnsafeRawBufferPointer(rebasing: raw[skip..<(skip + count)])))
        }
    }

    private func recycle(_ buffer: AlignedBuffer) {
        guard buffer.countBytes <= Self.reusedBufferBytesMax else { return }
        // Lengths are multiples of the alignment (at least 512), so length / 512 names the class.
        let lengthClass = buffer.countBytes / 512
        guard freeBuffers[lengthClass].count < Self.reusedBuffersPerLengthMax else { return }
        freeBuffers[lengthClass].append(buffer)
    }

    private func prepare(_ index: Int) {
        let slot = slots[index]!
        let address = slot.buffer.unsafeBaseAddress + slot.progress.doneBytes
        let userData = userDataTag << 56 | UInt64(index)
        // `read-page-cache`: record reads go through the device's buffered descriptor (before,
        // these reads, the service threads' only ones, used the O_DIRECT one regardless).
        let cached = slot.device.pageCacheFD
        let fd = cached >= 0 ? cached : slot.device.fd
        let length = UInt32(slot.lengthBytes - slot.progress.doneBytes)
        let offset = slot.alignedOffset + UInt64(slot.progress.doneBytes)
        if ring.unsafePrepareRead(fd: fd, address: address, lengthBytes: length, offset: offset, userData: userData) { return }
        // Submission queue full: hand what is prepared to the kernel, then there is room.
        do { try ring.submit() } catch {
            preconditionFailure("io_uring submit failed with a full submission queue: \(error)")
        }
        let prepared = ring.unsafePrepareRead(fd: fd, address: address, lengthBytes: length, offset: offset, userData: userData)
        precondition(prepared, "submission queue full right after a submit")
    }
}
