import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// Device reads that a thread owning an io_uring ring (a network service thread) submits on its
/// own ring and completes on itself: no reader thread, no hand-off, no wait.
public protocol OwnedRingReads: AnyObject, Sendable {
    /// Reads the `sizeBytes` bytes at `byteOffset` of `device` (any alignment: with O_DIRECT the
    /// covering aligned range is read, through the page cache exactly those bytes) and calls
    /// `completion` on the owning thread with exactly those bytes, lent for the call only: they
    /// lie in the read's buffer, which the next read reuses, so `completion` decodes or copies
    /// what it keeps (no array is made per read). Callable from any thread; a call from another
    /// thread is forwarded to the owner. `completion` may run before the call returns (a read
    /// served from the page cache at once, or refused), or later from the ring.
    ///
    /// With `tryingPageCacheFirst` false a read through the page cache goes straight to the ring
    /// (its caller has just tried ``readCached(from:byteOffset:sizeBytes:_:)`` and missed).
    func read(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int, tryingPageCacheFirst: Bool,
              completion: @escaping @Sendable (Result<UnsafeRawBufferPointer, IOError>) -> Void)

    /// Reads the `sizeBytes` bytes at `byteOffset` of a device read through the page cache at
    /// once, when the page cache holds every one of them (`RWF_NOWAIT`): `body` gets them, lent
    /// for the call, and its result is returned. Nil, having waited for nothing, when some are
    /// not cached, when `device` is read with O_DIRECT, when the range is invalid (``read`` then
    /// reports it), or while the attempts pause. No escaping closure and no slot: the
    /// transaction that asks goes on inline. Owner thread only.
    func readCached<R>(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int,
                       _ body: (UnsafeRawBufferPointer) -> R) -> R?
}

/// The ``OwnedRingReads`` of one ring. A device opened with `readPageCache` is read through its
/// buffered descriptor (`read-page-cache`), any other with O_DIRECT.
///
/// Reads of up to ``registeredSlotBytes`` go into slots of one region registered with the ring
/// (`IORING_REGISTER_BUFFERS`, `READ_FIXED`): the kernel pinned its pages once, and does not pin
/// and unpin the pages of each read (fio here: 0.4–0.8 µs of CPU less per 4 KiB `O_DIRECT`
/// read). Larger reads, reads beyond the slots in use, and every read when the registration was
/// refused (RLIMIT_MEMLOCK; ``registrationError``) use buffers of their own, as before.
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

    /// Where a read's bytes land: a slot of the registered region, or a buffer of its own.
    private enum Memory {
        case registered(slot: Int)
        case buffer(AlignedBuffer)
    }

    private struct Slot {
        var device: BlockDevice
        /// The descriptor read: the buffered one with `read-page-cache`, else the O_DIRECT one.
        var fd: Int32
        var memory: Memory
        var address: UnsafeMutableRawPointer
        /// Start of the transfer (aligned unless through the page cache) and its length.
        var transferOffset: UInt64
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

    /// Bytes of one registered slot: a record of up to 12 KiB at any alignment.
    public static let registeredSlotBytes = 16 << 10
    /// Registered slots per ring by default (512 KiB pinned per service thread).
    public static let registeredSlotCountDefault = 32
    /// The registered region (nil: none asked for, or the registration was refused).
    private let registered: AlignedBuffer?
    @exclusivity(unchecked)
    private var freeRegisteredSlots: [Int] = []
    /// Why the ring has no registered region although one was asked for.
    public let registrationError: IOError?
    /// Reads that went into a registered slot, and reads that used a buffer of their own (the
    /// owner thread's, like every mutable property here: no runtime exclusivity check).
    @exclusivity(unchecked)
    public private(set) var registeredReadCount = 0
    @exclusivity(unchecked)
    public private(set) var unregisteredReadCount = 0
    /// Reads through the page cache served inside the call (`RWF_NOWAIT`), and attempts that
    /// found their bytes missing, wholly or in part, and went to the ring.
    @exclusivity(unchecked)
    public private(set) var inlineReadCount = 0
    @exclusivity(unchecked)
    public private(set) var inlineMissCount = 0
    @exclusivity(unchecked)
    private var inlineReadsEnabled: Bool
    @exclusivity(unchecked)
    private var inlineWindowAttempts = 0
    @exclusivity(unchecked)
    private var inlineWindowHits = 0
    @exclusivity(unchecked)
    private var inlinePausedReads = 0

    /// - Parameters:
    ///   - ring: the owner's ring (created on the calling thread, which becomes the owner).
    ///   - userDataTag: top byte that marks this object's completions (1...255).
    ///   - registeredSlots: slots of ``registeredSlotBytes`` to register with the ring (0: none).
    ///     The ring must have no registered buffers yet.
    ///   - inlineReads: try each read through the page cache at once (`RWF_NOWAIT`) before the
    ///     ring; a hit calls the completion inside ``read(from:byteOffset:sizeBytes:completion:)``.
    ///   - forward: runs work on the owner thread (its inbox), for calls from other threads.
    public init(ring: Ring, userDataTag: UInt64, registeredSlots: Int = RingReads.registeredSlotCountDefault,
                inlineReads: Bool = true,
                forward: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        precondition((1...255).contains(userDataTag), "user data tag \(userDataTag) outside 1...255")
        precondition(registeredSlots >= 0, "registered slots \(registeredSlots) < 0")
        self.ring = ring
        self.userDataTag = userDataTag
        self.ownerThread = UInt(pthread_self())
        self.forward = forward
        self.inlineReadsEnabled = inlineReads
        var region: AlignedBuffer?
        var refusal: IOError?
        if registeredSlots > 0 {
            let buffer = AlignedBuffer(countBytes: registeredSlots * Self.registeredSlotBytes, alignmentBytes: 4096)
            do throws(IOError) {
                try buffer.withUnsafeMutableBytes { raw throws(IOError) in try ring.registerBuffers([raw]) }
                region = buffer
            } catch {
                refusal = error
            }
        }
        registered = region
        registrationError = refusal
        if region != nil { freeRegisteredSlots = Array((0..<registeredSlots).reversed()) }
    }

    public func read(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int, tryingPageCacheFirst: Bool = true,
                     completion: @escaping @Sendable (Result<UnsafeRawBufferPointer, IOError>) -> Void) {
        guard UInt(pthread_self()) == ownerThread else {
            forward { [self] in
                read(from: device, byteOffset: byteOffset, sizeBytes: sizeBytes, tryingPageCacheFirst: tryingPageCacheFirst,
                     completion: completion)
            }
            return
        }
        // O_DIRECT reads the covering aligned range; through the page cache, exactly the bytes
        // asked for (the kernel copies only those: a 1 KiB record is no longer a 4-8 KiB copy).
        let cachedFD = device.pageCacheFD
        let throughPageCache = cachedFD >= 0
        let alignment = UInt64(device.alignmentBytes)
        let start = throughPageCache ? byteOffset : byteOffset / alignment * alignment
        let end = throughPageCache ? byteOffset + UInt64(sizeBytes)
            : (byteOffset + UInt64(sizeBytes) + alignment - 1) / alignment * alignment
        let length = Int(end - start)
        do throws(IOError) {
            try device.validateRead(lengthBytes: length, at: start, aligned: !throughPageCache)
        } catch {
            completion(.failure(error))
            return
        }
        let (memory, address) = takeMemory(lengthBytes: length, device: device)
        count(memory)
        device.countRead(lengthBytes: length)
        var inlineBytes = 0
        if throughPageCache && tryingPageCacheFirst {
            switch inlineAttemptAllowed() ? attemptInline(fd: cachedFD, into: address, lengthBytes: length, at: start) : .notTried {
            case .done:
                // Served from the page cache inside this call: no slot, no completion later.
                defer { release(memory) }
                completion(.success(UnsafeRawBufferPointer(start: address + Int(byteOffset - start), count: sizeBytes)))
                return
            case .partial(let bytes):
                inlineBytes = bytes
            case .notTried, .missed:
                break
            }
        }
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
        } else {
            slots.append(nil)
            index = slots.count - 1
        }
        slots[index] = Slot(device: device, fd: throughPageCache ? cachedFD : device.fd, memory: memory, address: address,
                            transferOffset: start, lengthBytes: length,
                            progress: TransferProgress(doneBytes: inlineBytes),
                            skipBytes: Int(byteOffset - start), sizeBytes: sizeBytes, completion: completion)
        inFlightCount += 1
        prepare(index)
    }

    public func readCached<R>(from device: BlockDevice, byteOffset: UInt64, sizeBytes: Int,
                              _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        precondition(UInt(pthread_self()) == ownerThread, "ring reads: readCached off the owner thread")
        let fd = device.pageCacheFD
        guard fd >= 0, inlineAttemptAllowed() else { return nil }
        // An invalid range is left to `read`, which reports it.
        guard (try? device.validateRead(lengthBytes: sizeBytes, at: byteOffset, aligned: false)) != nil else { return nil }
        let (memory, address) = takeMemory(lengthBytes: sizeBytes, device: device)
        defer { release(memory) }
        guard case .done = attemptInline(fd: fd, into: address, lengthBytes: sizeBytes, at: byteOffset) else { return nil }
        count(memory)
        device.countRead(lengthBytes: sizeBytes)
        return body(UnsafeRawBufferPointer(start: address, count: sizeBytes))
    }

    /// Memory for a read of `lengthBytes`: a free registered slot when it fits, else a buffer of
    /// whole alignment units (reused by length, or new).
    private func takeMemory(lengthBytes length: Int, device: BlockDevice) -> (Memory, UnsafeMutableRawPointer) {
        if let region = registered, length <= Self.registeredSlotBytes, device.alignmentBytes <= 4096,
           let slot = freeRegisteredSlots.popLast() {
            return (.registered(slot: slot), region.unsafeBaseAddress + slot * Self.registeredSlotBytes)
        }
        let alignment = device.alignmentBytes
        let bufferBytes = (length + alignment - 1) / alignment * alignment
        let buffer: AlignedBuffer
        if bufferBytes <= Self.reusedBufferBytesMax, let reused = freeBuffers[bufferBytes / 512].popLast(),
           reused.alignmentBytes == alignment {
            buffer = reused
        } else {
            buffer = AlignedBuffer(countBytes: bufferBytes, alignmentBytes: alignment)
        }
        return (.buffer(buffer), buffer.unsafeBaseAddress)
    }

    private func count(_ memory: Memory) {
        if case .registered = memory { registeredReadCount += 1 } else { unregisteredReadCount += 1 }
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
                                   describe: { "read \(slot.device.path) at \(slot.transferOffset)" }) {
        case .resubmit:
            slots[index] = slot
            prepare(index)
            return
        case .done:
            break
        case .failed(let kind, let code):
            failure = IOError(kind, operation: .read, path: slot.device.path,
                              offset: slot.transferOffset + UInt64(slot.progress.doneBytes),
                              lengthBytes: slot.lengthBytes - slot.progress.doneBytes, errno: code)
        }
        slots[index] = nil
        freeSlots.append(index)
        inFlightCount -= 1
        // The slot keeps its buffer alive through the call; the memory is reused only after it.
        defer { release(slot.memory) }
        if let failure {
            slot.completion(.failure(failure))
            return
        }
        // Lent, not copied.
        slot.completion(.success(UnsafeRawBufferPointer(start: slot.address + slot.skipBytes, count: slot.sizeBytes)))
    }

    private func release(_ memory: Memory) {
        switch memory {
        case .registered(let registeredSlot): freeRegisteredSlots.append(registeredSlot)
        case .buffer(let buffer): recycle(buffer)
        }
    }

    private enum InlineOutcome {
        case notTried
        case missed
        case partial(Int)
        case done
    }

    /// A read through the page cache is first tried at once, with `RWF_NOWAIT`: a record whose
    /// pages are cached is copied inside the call and its transaction finishes in the same pass,
    /// without a submission, a completion to reap and a resumption. A miss costs that one
    /// system call and goes to the ring, which waits for the device (the kernel has already
    /// started the read-ahead). When most reads miss (a file much larger than memory), the
    /// attempts pause for a while and then probe again. The window, the pause and the refusal
    /// below are this thread's, over all the devices it reads.
    ///
    /// Whether the next read may be tried at once (a read during a pause counts it down).
    private func inlineAttemptAllowed() -> Bool {
        guard inlineReadsEnabled else { return false }
        guard inlinePausedReads == 0 else {
            inlinePausedReads -= 1
            return false
        }
        return true
    }

    /// One attempt at once, counted in the window (after ``inlineAttemptAllowed()``).
    private func attemptInline(fd: Int32, into address: UnsafeMutableRawPointer, lengthBytes: Int, at offset: UInt64) -> InlineOutcome {
        let result = cairn_pread_nowait(fd, address, lengthBytes, offset)
        inlineWindowAttempts += 1
        let outcome: InlineOutcome
        if result == lengthBytes {
            inlineReadCount += 1
            inlineWindowHits += 1
            outcome = .done
        } else if result > 0 {
            inlineMissCount += 1
            outcome = .partial(result)
        } else {
            inlineMissCount += 1
            // A file system without RWF_NOWAIT says so for every read: this thread stops asking.
            if result == -Int(EOPNOTSUPP) { inlineReadsEnabled = false }
            outcome = .missed
        }
        if inlineWindowAttempts == Self.inlineWindowReads {
            if inlineWindowHits < Self.inlineWindowHitsMin { inlinePausedReads = Self.inlinePauseReads }
            inlineWindowAttempts = 0
            inlineWindowHits = 0
        }
        return outcome
    }

    /// The inline attempts pause for ``inlinePauseReads`` reads when fewer than
    /// ``inlineWindowHitsMin`` of the last ``inlineWindowReads`` attempts hit the page cache.
    static let inlineWindowReads = 64
    static let inlineWindowHitsMin = 16
    static let inlinePauseReads = 1024

    private func recycle(_ buffer: AlignedBuffer) {
        guard buffer.countBytes <= Self.reusedBufferBytesMax else { return }
        // Lengths are multiples of the alignment (at least 512), so length / 512 names the class.
        let lengthClass = buffer.countBytes / 512
        guard freeBuffers[lengthClass].count < Self.reusedBuffersPerLengthMax else { return }
        freeBuffers[lengthClass].append(buffer)
    }

    private func prepare(_ index: Int) {
        let slot = slots[index]!
        let address = slot.address + slot.progress.doneBytes
        let userData = userDataTag << 56 | UInt64(index)
        // `read-page-cache`: record reads go through the device's buffered descriptor (before,
        // these reads, the service threads' only ones, used the O_DIRECT one regardless); the
        // slot took it when the read began, with the transfer's range.
        let fd = slot.fd
        let length = UInt32(slot.lengthBytes - slot.progress.doneBytes)
        let offset = slot.transferOffset + UInt64(slot.progress.doneBytes)
        let isRegistered = if case .registered = slot.memory { true } else { false }
        func prepared() -> Bool {
            isRegistered
                ? ring.unsafePrepareReadFixed(fd: fd, address: address, lengthBytes: length, offset: offset, bufferIndex: 0, userData: userData)
                : ring.unsafePrepareRead(fd: fd, address: address, lengthBytes: length, offset: offset, userData: userData)
        }
        if prepared() { return }
        // Submission queue full: hand what is prepared to the kernel, then there is room.
        do { try ring.submit() } catch {
            preconditionFailure("io_uring submit failed with a full submission queue: \(error)")
        }
        precondition(prepared(), "submission queue full right after a submit")
    }
}
