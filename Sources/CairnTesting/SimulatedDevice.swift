import CairnIO
import Synchronization

/// Faults a ``SimulatedDevice`` injects, each chosen by its seed. Rates are per million
/// requests.
public struct SimulatedFaults: Sendable, Equatable, CustomStringConvertible {
    /// A read fails with EIO.
    public var readErrorPPM = 0
    /// A write fails with EIO or ENOSPC (nothing of it reaches the media).
    public var writeErrorPPM = 0
    /// A transfer completes in two parts (the queue's retry of a short count); a crash between
    /// them leaves the first part only.
    public var shortTransferPPM = 0
    /// A completed write has one random sector corrupted on the media.
    public var corruptSectorPPM = 0
    /// A write lands at another offset: its own place keeps stale data.
    public var misdirectedWritePPM = 0
    /// A queued request completes 0...this many steps after it was submitted, in any order.
    public var latencyStepsMax = 3
    /// At a crash, each write in flight is torn at a random sector (the sectors before it
    /// reach the media, the torn one holds garbage) instead of being lost whole.
    public var tearWritesInFlight = true
    /// At a power loss, the device's volatile cache kept any of the pages it had not made
    /// durable, each one or not, in no order (a device without power-loss protection); else it
    /// lost all of them. A write torn in flight then keeps any of its pages, not a prefix.
    public var unsyncedPagesInAnyOrder = false

    public init() {}

    /// Faults that destroy data the engine already wrote (a checker must tolerate the loss
    /// of what they hit, never a wrong value).
    public var destroysWrittenData: Bool { corruptSectorPPM > 0 || misdirectedWritePPM > 0 }

    public var description: String {
        "faults per million: read errors \(readErrorPPM), write errors \(writeErrorPPM), short transfers "
            + "\(shortTransferPPM), corrupt sectors \(corruptSectorPPM), misdirected writes \(misdirectedWritePPM); "
            + "latency up to \(latencyStepsMax) steps; writes in flight at a crash \(tearWritesInFlight ? "torn" : "lost")"
            + (unsyncedPagesInAnyOrder ? "; unsynced pages at a power loss kept in any order" : "")
    }
}

/// A simulated block device for the deterministic simulator: durable and volatile bytes kept
/// apart, a queue whose completion order and latency the seed picks, and seeded faults.
///
/// - A write that completes without RWF_DSYNC is volatile until a sync (`dataSync`, or a
///   durable synchronous write's fdatasync); `crash()` drops it.
/// - Reads see the newest bytes (volatile included), as the page cache and device cache do.
/// - Corruption and misdirection never touch the header region (the first `protectedBytes`):
///   two damaged header copies would only end a run, which a real-device test covers.
///
/// Thread-safety: every method takes the device's lock; the simulator drives it from one
/// thread (a header-race interleave briefly uses a second).
public final class SimulatedDevice: SimulatedMedium, @unchecked Sendable {
    // @unchecked: `state` is a Mutex; the rest is immutable.
    public static let sectorBytes = 512
    public let sizeBytes: UInt64
    public let alignmentBytes: Int
    public let faults: SimulatedFaults
    public let protectedBytes: Int
    private let baseSeed: UInt64
    private let state: Mutex<State>
    /// Called (outside the lock) after a synchronous write to the header region landed and
    /// before it returns: the simulator's point to interleave another header writer.
    private let headerHook = Mutex<(@Sendable () -> Void)?>(nil)

    struct InFlight {
        var request: IORequest
        var readyAtStep: UInt64
        var doneBytes: Int
        var splitAt: Int?
        var queueID: Int
    }

    struct State {
        var rng: SplitMix64
        var current: [UInt8]
        var durable: [UInt8]
        var dirtySectors: Set<Int> = []
        var step: UInt64 = 0
        var inFlight: [Int: InFlight] = [:]  // by ticket
        var nextTicket = 0
        var nextQueueID = 0
        var counters = SimulatedDeviceCounters()
    }

    public init(sizeBytes: UInt64, alignmentBytes: Int = 4096, seed: UInt64, faults: SimulatedFaults = SimulatedFaults(),
                protectedBytes: Int = 128 << 10) {
        precondition(sizeBytes % UInt64(alignmentBytes) == 0, "size vs alignment")
        self.sizeBytes = sizeBytes
        self.alignmentBytes = alignmentBytes
        self.faults = faults
        self.protectedBytes = protectedBytes
        baseSeed = seed
        let zero = [UInt8](repeating: 0, count: Int(sizeBytes))
        state = Mutex(State(rng: SplitMix64(seed: seed), current: zero, durable: zero))
    }

    public var counters: SimulatedDeviceCounters { state.withLock { $0.counters } }

    /// The current bytes of a range (tracing).
    public func bytes(at offset: Int, count: Int) -> [UInt8] {
        state.withLock { s in Array(s.current[offset..<(offset + count)]) }
    }

    /// Offsets where `needle` occurs in the current bytes (tracing a failing seed).
    public func offsets(of needle: [UInt8]) -> [Int] {
        state.withLock { s in
            var found: [Int] = []
            guard let first = needle.first else { return found }
            var i = 0
            while i + needle.count <= s.current.count {
                if s.current[i] == first && Array(s.current[i..<(i + needle.count)]) == needle { found.append(i) }
                i += 1
            }
            return found
        }
    }

    /// Requests in flight (step ready, kind, offset, length), for tracing a failing seed.
    public var inFlightDescription: String {
        state.withLock { s in
            "step \(s.step): " + s.inFlight.sorted { $0.key < $1.key }.map {
                "#\($0.key) q\($0.value.queueID) \($0.value.request.kind) @\($0.value.request.offset)+\($0.value.request.lengthBytes) ready \($0.value.readyAtStep) done \($0.value.doneBytes)"
            }.joined(separator: ", ")
        }
    }

    /// A checksum of the device's bytes, durable then current (two replays of one seed must agree).
    public var contentHash: UInt64 {
        state.withLock { s in
            let durable = s.durable.withUnsafeBytes { CRC32C.checksum($0) }
            return UInt64(durable) << 32 | UInt64(s.current.withUnsafeBytes { CRC32C.checksum($0) })
        }
    }

    /// A checksum of each `pageBytes` of the current bytes: where two replays' devices differ.
    public func pageHashes(pageBytes: Int = 4096) -> [UInt32] {
        state.withLock { s in
            s.current.withUnsafeBytes { raw in
                stride(from: 0, to: raw.count, by: pageBytes).map { at in
                    CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[at..<min(raw.count, at + pageBytes)]))
                }
            }
        }
    }

    /// Sets (or clears) the hook run after each synchronous header-region write.
    public func setHeaderWriteHook(_ hook: (@Sendable () -> Void)?) { headerHook.withLock { $0 = hook } }

    /// Restarts the fault generator at `epoch` of this device's seed. The simulator reseeds after
    /// every open, so that what an open drew (its scan's reads, stopped early by a failure)
    /// never shifts the choices of the steps after it.
    public func reseed(epoch: UInt64) {
        state.withLock { s in
            var g = SplitMix64(seed: baseSeed ^ (epoch &* 0xD6E8_FEB8_6659_FD93))
            s.rng = SplitMix64(seed: g.next())
        }
    }

    /// Moves the device's clock one step: queued requests become ready as their latency runs out.
    public func tick() { state.withLock { $0.step += 1 } }

    /// A crash: writes in flight are torn or lost and queues die. A power loss also drops the
    /// volatile bytes (completed writes never synced); a process crash (kill -9) keeps them, as
    /// the kernel and device finish what the process handed them, still volatile until a sync.
    /// Returns the torn writes.
    @discardableResult
    public func crash(powerLoss: Bool = true) -> Int {
        state.withLock { s in
            var torn = 0
            for ticket in s.inFlight.keys.sorted() {
                let f = s.inFlight[ticket]!
                guard f.request.kind == .write else { continue }
                if powerLoss && faults.unsyncedPagesInAnyOrder && faults.tearWritesInFlight {
                    // Any of its pages reached the media, in no order.
                    torn += 1
                    let pages = (f.request.lengthBytes - f.doneBytes + alignmentBytes - 1) / alignmentBytes
                    for page in 0..<pages where s.rng.next() % 2 == 0 {
                        let from = f.doneBytes + page * alignmentBytes
                        let length = min(alignmentBytes, f.request.lengthBytes - from)
                        apply(f.request, from: from, length: length, durable: true, &s)
                    }
                } else if faults.tearWritesInFlight && s.rng.next() % 2 == 0 {
                    torn += 1
                    let sectors = (f.request.lengthBytes - f.doneBytes) / Self.sectorBytes
                    let keep = Int(s.rng.next() % UInt64(sectors + 1))
                    apply(f.request, from: f.doneBytes, length: keep * Self.sectorBytes, durable: true, &s)
                    if keep < sectors {
                        let at = Int(f.request.offset) + f.doneBytes + keep * Self.sectorBytes
                        for i in at..<(at + Self.sectorBytes) {
                            s.durable[i] = UInt8(truncatingIfNeeded: s.rng.next())
                            s.current[i] = s.durable[i]
                        }
                    }
                }
            }
            s.inFlight.removeAll()
            s.nextQueueID += 1 << 20  // queues of before the crash are dead
            // A process crash leaves completed writes where they were: read back, and still
            // volatile (a power loss before the next sync loses them; a start's durable header
            // write syncs them).
            if powerLoss {
                if faults.unsyncedPagesInAnyOrder { keepSomeUnsyncedPages(&s) }
                for sector in s.dirtySectors {
                    let at = sector * Self.sectorBytes
                    for i in at..<(at + Self.sectorBytes) { s.current[i] = s.durable[i] }
                }
                s.dirtySectors.removeAll()
            }
            s.counters.crashes += 1
            s.counters.tornWrites += torn
            return torn
        }
    }

    // MARK: - SimulatedMedium

    public func transferSync(_ request: IORequest, path: String) throws(IOError) {
        defer {
            if request.kind == .write, Int(request.offset) < protectedBytes, let hook = headerHook.withLock({ $0 }) { hook() }
        }
        let result: IOError? = state.withLock { s in
            if let error = injectedError(request, path: path, &s) { return error }
            if request.kind == .read {
                copyOut(request, from: 0, length: request.lengthBytes, &s)
            } else {
                apply(request, from: 0, length: request.lengthBytes, durable: request.durable, &s)
            }
            return nil
        }
        if let result { throw result }
    }

    public func dataSync(path: String) throws(IOError) {
        state.withLock { s in sync(&s) }
    }

    public func makeQueue(depth: Int, path: String) -> any IOQueue {
        let id = state.withLock { s in
            s.nextQueueID += 1
            return s.nextQueueID
        }
        return SimulatedQueue(device: self, depth: depth, path: path, id: id)
    }

    // MARK: - queue support

    fileprivate func enqueue(_ request: IORequest, queueID: Int) -> Int {
        state.withLock { s in
            let latency = faults.latencyStepsMax > 0 ? s.rng.next() % UInt64(faults.latencyStepsMax + 1) : 0
            var split: Int?
            if request.kind != .dataSync, request.lengthBytes > Self.sectorBytes, chance(faults.shortTransferPPM, &s) {
                split = Int(1 + s.rng.next() % UInt64(request.lengthBytes / Self.sectorBytes - 1)) * Self.sectorBytes
            }
            let ticket = s.nextTicket
            s.nextTicket += 1
            s.inFlight[ticket] = InFlight(request: request, readyAtStep: s.step + latency, doneBytes: 0, splitAt: split,
                                          queueID: queueID)
            return ticket
        }
    }

    /// Completes at least `minimum` of the queue's requests (more when ready), in seeded order.
    fileprivate func reap(queueID: Int, minimum: Int, path: String) -> [(ticket: Int, completion: IOCompletion)] {
        state.withLock { s in
            var mine = s.inFlight.filter { $0.value.queueID == queueID }.map { ($0.key, $0.value.readyAtStep) }
            mine.sort { $0.0 < $1.0 }
            // Seeded shuffle, then ready ones first, then by readiness.
            for i in stride(from: mine.count - 1, to: 0, by: -1) {
                let j = Int(s.rng.next() % UInt64(i + 1))
                mine.swapAt(i, j)
            }
            let step = s.step
            let ready = mine.filter { $0.1 <= step }
            var chosen = ready.map(\.0)
            if chosen.count < minimum {
                let waiting = mine.filter { $0.1 > step }.sorted { $0.1 < $1.1 }
                chosen += waiting.prefix(minimum - chosen.count).map(\.0)
            }
            var out: [(Int, IOCompletion)] = []
            for ticket in chosen {
                guard var f = s.inFlight[ticket] else { continue }
                if let split = f.splitAt, f.doneBytes == 0 {
                    // First part of a short transfer: the rest is resubmitted, ready next step.
                    transferPart(f.request, from: 0, length: split, &s)
                    f.doneBytes = split
                    f.readyAtStep = step + 1
                    s.inFlight[ticket] = f
                    s.counters.shortTransfers += 1
                    if out.count >= minimum { continue }
                    // A caller that must make progress gets the rest now.
                }
                s.inFlight[ticket] = nil
                if let error = injectedError(f.request, path: path, &s) {
                    out.append((ticket, IOCompletion(request: f.request, error: error)))
                    continue
                }
                if f.request.kind == .dataSync {
                    sync(&s)
                } else {
                    transferPart(f.request, from: f.doneBytes, length: f.request.lengthBytes - f.doneBytes, &s)
                }
                out.append((ticket, IOCompletion(request: f.request, error: nil)))
            }
            return out
        }
    }

    fileprivate func inFlightCount(queueID: Int) -> Int {
        state.withLock { s in s.inFlight.values.reduce(0) { $0 + ($1.queueID == queueID ? 1 : 0) } }
    }

    // MARK: - under the lock

    private func chance(_ ppm: Int, _ s: inout State) -> Bool {
        ppm > 0 && Int(s.rng.next() % 1_000_000) < ppm
    }

    private func injectedError(_ request: IORequest, path: String, _ s: inout State) -> IOError? {
        switch request.kind {
        case .read:
            guard chance(faults.readErrorPPM, &s) else { return nil }
            s.counters.readErrors += 1
            return IOError(.system, operation: .read, path: path, offset: request.offset, lengthBytes: request.lengthBytes,
                           errno: 5)
        case .write:
            guard chance(faults.writeErrorPPM, &s) else { return nil }
            s.counters.writeErrors += 1
            return IOError(.system, operation: .write, path: path, offset: request.offset, lengthBytes: request.lengthBytes,
                           errno: s.rng.next() % 2 == 0 ? 5 : 28)
        case .dataSync:
            return nil
        }
    }

    private func transferPart(_ request: IORequest, from: Int, length: Int, _ s: inout State) {
        if request.kind == .read {
            copyOut(request, from: from, length: length, &s)
            return
        }
        var target = request
        if Int(request.offset) >= protectedBytes, chance(faults.misdirectedWritePPM, &s) {
            let slots = (Int(sizeBytes) - protectedBytes - request.lengthBytes) / alignmentBytes
            if slots > 0 {
                target.offset = UInt64(protectedBytes + Int(s.rng.next() % UInt64(slots)) * alignmentBytes)
                s.counters.misdirectedWrites += 1
            }
        }
        apply(target, from: from, length: length, durable: request.durable, &s)
        if Int(target.offset) >= protectedBytes, length >= Self.sectorBytes, chance(faults.corruptSectorPPM, &s) {
            let sector = Int(s.rng.next() % UInt64(length / Self.sectorBytes))
            let at = Int(target.offset) + from + sector * Self.sectorBytes + Int(s.rng.next() % UInt64(Self.sectorBytes))
            s.current[at] ^= 0xFF
            s.durable[at] ^= 0xFF
            s.counters.corruptedSectors += 1
        }
    }

    private func copyOut(_ request: IORequest, from: Int, length: Int, _ s: inout State) {
        let start = Int(request.offset) + from
        s.current.withUnsafeBytes { raw in
            request.buffer!.copyBytes(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]),
                                      at: request.bufferOffset + from)
        }
        s.counters.reads += 1
    }

    private func apply(_ request: IORequest, from: Int, length: Int, durable: Bool, _ s: inout State) {
        guard length > 0 else { return }
        let start = Int(request.offset) + from
        request.buffer!.withUnsafeBytes { raw in
            let src = UnsafeRawBufferPointer(rebasing: raw[(request.bufferOffset + from)..<(request.bufferOffset + from + length)])
            s.current.withUnsafeMutableBytes { dst in
                dst.baseAddress!.advanced(by: start).copyMemory(from: src.baseAddress!, byteCount: length)
            }
            if durable {
                s.durable.withUnsafeMutableBytes { dst in
                    dst.baseAddress!.advanced(by: start).copyMemory(from: src.baseAddress!, byteCount: length)
                }
            }
        }
        let first = start / Self.sectorBytes
        let end = (start + length) / Self.sectorBytes
        if durable {
            for sector in first..<end { s.dirtySectors.remove(sector) }
        } else {
            for sector in first..<end { s.dirtySectors.insert(sector) }
        }
        s.counters.writes += 1
    }

    /// A power loss on a device that persists its cache in any order: each page holding
    /// unsynced sectors keeps them (they become durable) or loses them, by the seed.
    private func keepSomeUnsyncedPages(_ s: inout State) {
        let sectorsPerPage = alignmentBytes / Self.sectorBytes
        var kept: Set<Int> = []
        for page in Set(s.dirtySectors.map { $0 / sectorsPerPage }).sorted() where s.rng.next() % 2 == 0 {
            kept.insert(page)
        }
        for sector in s.dirtySectors where kept.contains(sector / sectorsPerPage) {
            let at = sector * Self.sectorBytes
            for i in at..<(at + Self.sectorBytes) { s.durable[i] = s.current[i] }
        }
    }

    private func sync(_ s: inout State) {
        for sector in s.dirtySectors {
            let at = sector * Self.sectorBytes
            for i in at..<(at + Self.sectorBytes) { s.durable[i] = s.current[i] }
        }
        s.dirtySectors.removeAll()
        s.counters.syncs += 1
    }
}

/// What a simulated device did (for the simulator's report).
public struct SimulatedDeviceCounters: Sendable, Equatable {
    public var reads = 0
    public var writes = 0
    public var syncs = 0
    public var crashes = 0
    public var tornWrites = 0
    public var readErrors = 0
    public var writeErrors = 0
    public var shortTransfers = 0
    public var corruptedSectors = 0
    public var misdirectedWrites = 0

    public init() {}

    /// The sum over several devices.
    public static func + (a: Self, b: Self) -> Self {
        var s = a
        s.reads += b.reads; s.writes += b.writes; s.syncs += b.syncs; s.crashes += b.crashes
        s.tornWrites += b.tornWrites; s.readErrors += b.readErrors; s.writeErrors += b.writeErrors
        s.shortTransfers += b.shortTransfers; s.corruptedSectors += b.corruptedSectors
        s.misdirectedWrites += b.misdirectedWrites
        return s
    }
}

/// One thread's queue on a simulated device (validated by the ``BlockDevice`` in front of it).
final class SimulatedQueue: IOQueue {
    let device: SimulatedDevice
    let depth: Int
    let path: String
    let id: Int

    init(device: SimulatedDevice, depth: Int, path: String, id: Int) {
        self.device = device
        self.depth = depth
        self.path = path
        self.id = id
    }

    var inFlightCount: Int { device.inFlightCount(queueID: id) }

    func enqueue(_ request: IORequest) throws(IOError) {
        guard inFlightCount < depth else {
            throw IOError(.queueFull(depth: depth), operation: .write, path: path)
        }
        _ = device.enqueue(request, queueID: id)
    }

    func submit() throws(IOError) {}

    func reap(minimum: Int, into completions: inout [IOCompletion]) throws(IOError) {
        let target = min(max(0, minimum), inFlightCount)
        var got = 0
        repeat {
            let done = device.reap(queueID: id, minimum: target - got, path: path)
            got += done.count
            completions.append(contentsOf: done.map(\.completion))
        } while got < target
    }
}
