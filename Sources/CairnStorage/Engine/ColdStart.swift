import CairnIO
import CairnIndex
import Foundation
import Synchronization

/// What the cold start found, per outcome (DESIGN.md "Restarts").
public struct ColdStartReport: Sendable, Equatable, CustomStringConvertible {
    /// Records whose digest was seen for the first time.
    public var unique = 0
    /// Records that replaced an older copy already in the index.
    public var replaced = 0
    /// Records older than the copy already in the index (skipped).
    public var older = 0
    /// Winners that had expired, dropped after the scan.
    public var expired = 0
    /// Records at or below their namespace's or set's truncate LUT (skipped).
    public var truncated = 0
    /// Records evicted during the scan because the namespace went above an eviction threshold
    /// (what the final eviction mark hides; they stay in the index, invisible, like expired winners).
    public var evicted = 0
    /// Times the scan raised the eviction mark (each a durable header write).
    public var evictionRaises = 0
    /// Tombstones read (they take part like records).
    public var tombstones = 0
    /// Damaged regions: bytes that held no verifiable record (counted and skipped, never trusted).
    public var unparsable = 0
    /// Records left by an older write of a reused block (skipped).
    public var stale = 0
    /// Blocks whose header was damaged or not ours.
    public var badBlocks = 0
    /// Blocks with a valid header of this namespace instance.
    public var blocksScanned = 0
    public var bytesRead: UInt64 = 0
    /// Whole cold start, until the index and block usage are ready.
    public var seconds: Double = 0
    /// The device scan alone (reading and resolving every block).
    public var scanSeconds: Double = 0
    /// Records left in the index (tombstones included) after the scan.
    public var indexedRecords = 0
    /// The newest last-update time (ms) of any record the scan read, truncated, older and
    /// tombstones included. A write can commit a little ahead of the clock (above a truncation
    /// or the eviction mark); a truncation after the start must still cover it.
    public var newestLastUpdateMs: UInt64 = 0

    public init() {}

    public var recordsPerSecond: Double { seconds > 0 ? Double(unique + replaced + older + truncated) / seconds : 0 }
    public var bytesPerSecond: Double { seconds > 0 ? Double(bytesRead) / seconds : 0 }

    mutating func merge(_ o: ColdStartReport) {
        unique += o.unique; replaced += o.replaced; older += o.older; expired += o.expired
        truncated += o.truncated; tombstones += o.tombstones; unparsable += o.unparsable; stale += o.stale
        badBlocks += o.badBlocks; blocksScanned += o.blocksScanned
        newestLastUpdateMs = max(newestLastUpdateMs, o.newestLastUpdateMs)
    }

    public var description: String {
        "unique=\(unique) replaced=\(replaced) older=\(older) expired=\(expired) truncated=\(truncated) evicted=\(evicted) "
            + "eviction_raises=\(evictionRaises) tombstones=\(tombstones) unparsable=\(unparsable) stale=\(stale) bad_blocks=\(badBlocks) "
            + "blocks=\(blocksScanned) indexed=\(indexedRecords) bytes=\(bytesRead) "
            + String(format: "seconds=%.3f scan_seconds=%.3f records_per_s=%.0f mb_per_s=%.1f", seconds, scanSeconds,
                     recordsPerSecond, bytesPerSecond / 1e6)
    }
}

/// Progress of a running cold start, reported every few seconds.
public struct ColdStartProgress: Sendable {
    public var fraction: Double
    public var records: Int
    public var recordsPerSecond: Double
    public var bytesPerSecond: Double
    public var etaSeconds: Double
}

/// How the scanner learns set ids and truncation (provided by the engine).
public struct ColdStartContext: Sendable {
    /// Set id for a set name (0 is the null set); called with the name's UTF-8 bytes.
    public var setID: @Sendable (UnsafeRawBufferPointer) -> UInt16
    /// Truncate LUT (ms) that applies to records of a set id (max of namespace and set).
    public var truncateLutMs: @Sendable (UInt16) -> UInt64
    /// Now, in seconds since 2010-01-01 (void times at or before it are expired).
    public var nowVoidTimeSeconds: UInt32
    public var progressIntervalMs: Int
    public var progress: @Sendable (ColdStartProgress) -> Void
    /// Eviction during the scan (nil, or no threshold: none; `disable-cold-start-eviction`).
    public var eviction: ColdStartEvictionPolicy?
    /// The id of a bin name, assigned if new (nil when the table is full): when set, each entry
    /// of a record of up to four bins and no stored key learns its bin names (``BinNameIDs``), so
    /// the first update after the cold start can skip its read as after a warm restart.
    public var binNameID: (@Sendable (String) -> UInt16?)?

    public init(setID: @escaping @Sendable (UnsafeRawBufferPointer) -> UInt16,
                truncateLutMs: @escaping @Sendable (UInt16) -> UInt64, nowVoidTimeSeconds: UInt32,
                progressIntervalMs: Int = 5000, progress: @escaping @Sendable (ColdStartProgress) -> Void = { _ in }) {
        self.setID = setID
        self.truncateLutMs = truncateLutMs
        self.nowVoidTimeSeconds = nowVoidTimeSeconds
        self.progressIntervalMs = progressIntervalMs
        self.progress = progress
    }
}

/// The result a cold start hands to `NamespaceStorage.start`.
public struct ColdStartResult: Sendable {
    public var report: ColdStartReport
    public var firstPristineBlocks: [UInt32]
    public var freeBlocks: [[UInt32]]

    public init(report: ColdStartReport, firstPristineBlocks: [UInt32], freeBlocks: [[UInt32]]) {
        self.report = report
        self.firstPristineBlocks = firstPristineBlocks
        self.freeBlocks = freeBlocks
    }
}

/// Block sequence of every scanned block, written once per block by the parser that scans it
/// (before any of its records enter the index) and read by parsers comparing against an index
/// entry in that block (under the entry's sprig lock, which orders the two).
final class BlockSequenceTable: @unchecked Sendable {
    // @unchecked: each element is written once, before the sprig lock that publishes records of
    // its block; readers only read elements of blocks whose records they found in the index.
    private let sequences: [UnsafeMutableBufferPointer<UInt64>]

    init(blockCounts: [Int]) {
        sequences = blockCounts.map {
            let b = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: $0)
            b.initialize(repeating: 0)
            return b
        }
    }

    deinit { for s in sequences { s.deallocate() } }

    @inline(__always) func set(device: Int, block: Int, _ sequence: UInt64) { sequences[device][block] = sequence }
    @inline(__always) func get(device: Int, block: Int) -> UInt64 { sequences[device][block] }
}

extension NamespaceStorage {
    /// Rebuilds `index` by reading every block of every device with `scanQueueDepth` reads in
    /// flight per device, parsing and inserting on `scanThreadCount` threads at once (under a
    /// ``StorageSimulation``, serially: see `serial`).
    ///
    /// Resolution of two copies of one digest: higher LUT, then higher generation, then higher
    /// block sequence, then (same block) the later one. Records at or below their truncate LUT
    /// are skipped; tombstones take part; an expired winner stays until the scan ends and is then
    /// dropped, so an older unexpired copy can never come back.
    public func coldStart(into index: PrimaryIndex, context: ColdStartContext) throws -> ColdStartResult {
        let start = MonotonicClock.nowNs()
        let blockSize = options.writeBlockSizeBytes
        let sequences = BlockSequenceTable(blockCounts: devices.map(\.blockCount))
        // Only blocks below each device's blocks-written mark can hold records (FORMAT.md).
        let firstData = Int(DeviceGeometry.firstDataBlockIndex)
        let scanEnds: [Int] = devices.map { max(firstData, $0.scanEndBlock) }
        var totalBytes: UInt64 = 0
        for end in scanEnds { totalBytes += UInt64(end - firstData) * UInt64(blockSize) }
        let evictor: ColdStartEvictor? = context.eviction.flatMap { policy in
            guard policy.isActive else { return nil }
            return ColdStartEvictor(policy: policy, prior: truncation, namespaceName: options.namespaceName, log: options.log) {
                [self] voidTime, lutMs in try self.raiseEvictionMark(voidTime: voidTime, lutMs: lutMs)
            }
        }
        // Under a simulator the scan is serial, so that a seed replays: one device's reader after
        // another's, each with one buffer, and one parser, which takes the blocks in the order
        // they were read (the device's fault generator draws for them in that order too).
        let serial = options.simulation != nil
        let parserCount = serial ? 1
            : options.scanThreadCount > 0 ? options.scanThreadCount : max(1, ProcessInfo.processInfo.activeProcessorCount)

        struct Work { let device: Int; let block: UInt32; let buffer: AlignedBuffer }
        struct Shared {
            var work: [Work] = []
            var readersRunning: Int
            var failure: (any Error)?
            var bytesRead: UInt64 = 0
            var records = 0
            var report = ColdStartReport()
            var maxScannedBlock: [UInt32]
            var highestSequence: UInt64 = 0
            var parsersRunning: Int
            var tallies: [ScanTally] = []
        }
        let shared = ConditionLock(Shared(readersRunning: devices.count, maxScannedBlock: Array(repeating: 0, count: devices.count),
                                          parsersRunning: parserCount))
        let depth = options.scanQueueDepth
        // Buffers per device: the reads in flight plus as many again and more waiting for a parser,
        // so a slow parse does not stall the reads (at most 256 MiB per device).
        let buffersPerDevice = serial ? 1 : max(2 * depth, min(4 * depth, (256 << 20) / blockSize))
        let freeLists = devices.map { d in
            ConditionLock((0..<buffersPerDevice).map { _ in AlignedBuffer(countBytes: blockSize, alignmentBytes: d.device.alignmentBytes) })
        }
        // Set with the first failure (``fail``), for a reader waiting on its free list, whose lock
        // is not `shared`'s.
        let failed = Atomic<Bool>(false)
        /// Records the scan's first failure and wakes every thread that waits: the parsers stop,
        /// and so does a reader waiting for a buffer that no parser will now hand back (the
        /// failing parser hands back one, of one device; a reader used to wait for ever). Each
        /// free list's lock is taken before its broadcast, so a reader between its look at
        /// `failed` and its wait still wakes.
        @Sendable func fail(_ error: any Error) {
            shared.withLock { s in if s.failure == nil { s.failure = error } }
            failed.store(true, ordering: .releasing)
            shared.broadcast()
            for list in freeLists {
                list.withLock { _ in }
                list.broadcast()
            }
        }

        // Readers: one thread per device, whole blocks, `depth` in flight.
        for d in devices {
            NamedThread.start("cairn-scan-\(d.index)") { [self] in
                let free = freeLists[d.index]
                if serial {
                    let before = devices.count - d.index
                    shared.wait(until: { $0.readersRunning == before }) { _ in }
                }
                do {
                    let queue = try d.device.makeQueue(depth: depth)
                    var next = UInt32(DeviceGeometry.firstDataBlockIndex)
                    var completions: [IOCompletion] = []
                    let end = scanEnds[d.index]
                    while Int(next) < end || queue.inFlightCount > 0 {
                        if failed.load(ordering: .acquiring) { break }
                        while queue.inFlightCount < depth && Int(next) < end {
                            // With reads in flight, go reap instead of waiting for a free buffer.
                            // A failed scan reads no further block, even if a buffer came back
                            // meanwhile (a parser that failed hands its buffer back after saying so;
                            // taking it first read one block more in some runs of a seed).
                            let buffer: AlignedBuffer? = free.withLockedScope { scope in
                                while true {
                                    if failed.load(ordering: .acquiring) { return nil }
                                    if let b = scope.access({ $0.popLast() }) { return b }
                                    if queue.inFlightCount > 0 { return nil }
                                    scope.wait()
                                }
                            }
                            guard let buffer else { break }
                            try queue.enqueue(.read(into: buffer, at: self.geometry.byteOffset(ofBlock: next), tag: UInt64(next)))
                            next += 1
                        }
                        if failed.load(ordering: .acquiring) { break }  // the reads in flight drain below
                        completions.removeAll(keepingCapacity: true)
                        try queue.submit()
                        try queue.reap(minimum: 1, into: &completions)
                        var ready: [Work] = []
                        for c in completions {
                            try c.get()
                            ready.append(Work(device: d.index, block: UInt32(c.request.tag), buffer: c.request.buffer!))
                        }
                        shared.withLock { s in
                            s.work.append(contentsOf: ready)
                            s.bytesRead += UInt64(ready.count * blockSize)
                        }
                        shared.broadcast()
                    }
                    var rest: [IOCompletion] = []
                    try queue.drain(into: &rest)
                } catch {
                    fail(error)
                }
                if serial {  // the next device's reader starts once this device's last block is parsed
                    free.wait(until: { $0.count == buffersPerDevice || failed.load(ordering: .acquiring) }) { _ in }
                }
                shared.withLock { $0.readersRunning -= 1 }
                shared.broadcast()
            }
        }

        // Parsers: scan blocks and resolve every record into the index.
        let instance = instanceId
        @Sendable func giveBack(_ item: Work) {
            freeLists[item.device].withLock { $0.append(item.buffer) }
            freeLists[item.device].signal()
        }
        for _ in 0..<parserCount {
            NamedThread.start("cairn-parse") { [self] in
                var local = ColdStartReport()
                var records = 0
                var maxBlock = Array(repeating: UInt32(0), count: devices.count)
                var highest: UInt64 = 0
                var cache = ParserNameCache()
                cache.binNames.dropsNames = options.simulation?.bugs.contains(.coldStartDropsBinNames) ?? false
                var delta = ColdStartEvictor.Delta()
                var tally = ScanTally(blockCounts: self.devices.map(\.blockCount))
                while true {
                    let item: Work? = shared.wait(until: { s in
                        !s.work.isEmpty || s.readersRunning == 0 || s.failure != nil
                    }) { s in
                        s.failure != nil ? nil : s.work.popLast()
                    }
                    guard let item else { break }
                    do {
                        let scanned = try self.scanBlock(
                            (item.device, item.block, item.buffer), instance: instance, index: index, sequences: sequences,
                            context: context, report: &local, cache: &cache, evictor: evictor, delta: &delta,
                            tally: &tally)
                        records += scanned.records
                        if scanned.sequence > 0 {
                            maxBlock[item.device] = max(maxBlock[item.device], item.block)
                            highest = max(highest, scanned.sequence)
                        }
                    } catch {
                        fail(error)
                    }
                    // Handed back before the merge, so the reader need not wait for it; under a
                    // simulator after it, so the next read follows the merge's header writes.
                    if !serial { giveBack(item) }
                    var scannedSoFar = 0
                    if records > 0 {  // per block: progress counts records as they are found
                        let n = records
                        records = 0
                        scannedSoFar = shared.withLock { $0.records += n; return $0.records }
                    }
                    if let evictor, !delta.isEmpty {
                        do {
                            try evictor.merge(&delta, scanned: scannedSoFar)
                        } catch {
                            fail(error)
                        }
                    }
                    if serial { giveBack(item) }
                }
                shared.withLock { s in
                    s.records += records
                    s.report.merge(local)
                    for i in 0..<maxBlock.count { s.maxScannedBlock[i] = max(s.maxScannedBlock[i], maxBlock[i]) }
                    s.highestSequence = max(s.highestSequence, highest)
                    s.tallies.append(tally)
                    s.parsersRunning -= 1
                }
                shared.broadcast()
            }
        }

        // Index memory: faulted in ahead of the parsers by a thread of its own, so their first
        // touches of new entries find the pages there (the faults were 17-19% of the scan's CPU,
        // on cores the scan did not otherwise fill).
        let prefaulting = Atomic<Bool>(options.scanPrefaultEntries > 0)
        let prefaulterDone = ConditionLock(options.scanPrefaultEntries <= 0)
        if options.scanPrefaultEntries > 0 {
            let window = options.scanPrefaultEntries
            NamedThread.start("cairn-prefault") {
                while prefaulting.load(ordering: .relaxed) {
                    if index.prefault(window: window) == 0 { usleep(200) }
                }
                prefaulterDone.withLock { $0 = true }
                prefaulterDone.broadcast()
            }
        }

        // Wait, reporting progress, until every parser and every reader has stopped (after a
        // failure too: no thread of the scan outlives it).
        let intervalNs = UInt64(max(100, context.progressIntervalMs)) * 1_000_000
        var lastReportNs = start
        while true {
            let (done, bytes, records) = shared.withLockedScope { scope in
                let running = { (s: inout Shared) in s.parsersRunning > 0 || s.readersRunning > 0 }
                if scope.access(running) { scope.wait(timeoutNs: intervalNs / 4) }
                return scope.access { s in (!running(&s), s.bytesRead, s.records) }
            }
            if done { break }
            let now = MonotonicClock.nowNs()
            if now - lastReportNs >= intervalNs {
                lastReportNs = now
                let seconds = Double(now - start) / 1e9
                let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : 1
                let bps = Double(bytes) / seconds
                context.progress(ColdStartProgress(
                    fraction: fraction, records: records, recordsPerSecond: Double(records) / seconds, bytesPerSecond: bps,
                    etaSeconds: bps > 0 ? Double(totalBytes - bytes) / bps : 0))
            }
        }
        prefaulting.store(false, ordering: .relaxed)
        prefaulterDone.wait(until: { $0 }) { _ in }
        let final = shared.withLock { $0 }
        if let failure = final.failure { throw failure }
        try evictor?.finish(scanned: final.records)
        // The scan's last word (the index pass below can still take a while).
        let scanSeconds = max(1e-9, Double(MonotonicClock.nowNs() - start) / 1e9)
        context.progress(ColdStartProgress(
            fraction: 1, records: final.records, recordsPerSecond: Double(final.records) / scanSeconds,
            bytesPerSecond: Double(final.bytesRead) / scanSeconds, etaSeconds: 0))
        sequencer.advance(to: final.highestSequence)

        var report = final.report
        report.bytesRead = final.bytesRead
        if let evictor {
            let outcome = evictor.outcome
            report.evicted = outcome.evicted
            report.evictionRaises = outcome.raises
        }
        report.scanSeconds = Double(MonotonicClock.nowNs() - start) / 1e9

        // No pass over the index: the parsers counted, as winners came and went, every block's
        // live bytes and the expired winners (counted; they stay in the index, invisible, until
        // the expiry supervisor finds no older copy on the devices). Their sums give the free
        // blocks and defrag candidates.
        var total = ScanTally(blockCounts: devices.map(\.blockCount))
        for t in final.tallies { total.add(t) }
        let counts = try total.liveBytes(blockSizeBytes: blockSize, devicePaths: devices.map(\.device.path))
        let space = applySpace(liveBytes: counts, firstPristineBlocks: final.maxScannedBlock.map { $0 + 1 })
        report.expired = total.expired
        report.indexedRecords = total.winners
        report.seconds = Double(MonotonicClock.nowNs() - start) / 1e9
        return ColdStartResult(report: report, firstPristineBlocks: space.firstPristine, freeBlocks: space.free)
    }

    /// Rebuilds the space state of every device from `index` (for `cold-start-empty`, which
    /// reads no device into it): every block's live bytes, the free blocks (no live bytes,
    /// below the first pristine block — everything on the devices is durable at startup, so they
    /// may be reused at once) and the defrag queue (live bytes below the low-water mark). One
    /// thread walks the index: a cold start counts while it scans and a warm restart walks its
    /// arena (``applySpace(liveBytes:firstPristineBlocks:)`` installs both). Call before `start`,
    /// and pass the returned `firstPristine` and `free` to it. Expired records count like any
    /// other: they keep their bytes until the expiry supervisor has checked that no older copy
    /// could come back in their place (FORMAT.md "Tomb raider").
    public func rebuildSpace(from index: PrimaryIndex, firstPristineBlocks: [UInt32])
        -> (firstPristine: [UInt32], free: [[UInt32]])
    {
        let blockSize = UInt64(options.writeBlockSizeBytes)
        var counts = devices.map { [UInt32](repeating: 0, count: $0.blockCount) }
        index.forEachRecord { r in
            counts[Int(r.location.deviceIndex)][Int(r.location.offsetBytes / blockSize)] += UInt32(r.location.sizeBytes)
        }
        return applySpace(liveBytes: counts, firstPristineBlocks: firstPristineBlocks)
    }

    /// Installs every device's per-block live bytes (`liveBytes[device][block]`, however they
    /// were counted: a cold start's digest-order walk or a warm start's arena walk) and derives
    /// the free blocks and the defrag queue from them. Returns what `start` needs.
    public func applySpace(liveBytes counts: [[UInt32]], firstPristineBlocks: [UInt32])
        -> (firstPristine: [UInt32], free: [[UInt32]])
    {
        var firstPristine: [UInt32] = []
        var free: [[UInt32]] = []
        for d in devices {
            var pristine = max(firstPristineBlocks[d.index], DeviceGeometry.firstDataBlockIndex)
            // A live record beyond the scanned range cannot be, but never hand out its block.
            if let lastLive = counts[d.index].lastIndex(where: { $0 > 0 }) { pristine = max(pristine, UInt32(lastLive + 1)) }
            d.usage.replaceAll(counts[d.index])
            firstPristine.append(pristine)
            free.append((DeviceGeometry.firstDataBlockIndex..<pristine).filter { counts[d.index][Int($0)] == 0 })
            let lwm = defragLWMBytes
            d.defragQueue.replaceAll(Set((DeviceGeometry.firstDataBlockIndex..<pristine).filter {
                let live = Int(counts[d.index][Int($0)])
                return live > 0 && live < lwm
            }))
        }
        return (firstPristine, free)
    }

    private struct ScannedBlock { var records: Int; var sequence: UInt64 }

    /// A parser thread's own memo of set names → (set id, truncate LUT), and of bin names → ids,
    /// so resolving a record takes no shared lock and allocates nothing once its names were seen.
    struct ParserNameCache {
        var binNames = BinNameMemo()
        var names: [[UInt8]] = []
        var ids: [UInt16] = []
        var truncateLuts: [UInt64] = []
        var last = -1
        var namespaceLut: UInt64?

        mutating func lookup(_ bytes: UnsafeRawBufferPointer, context: ColdStartContext) -> (UInt16, UInt64) {
            if last >= 0, Self.same(names[last], bytes) { return (ids[last], truncateLuts[last]) }
            if let i = names.firstIndex(where: { Self.same($0, bytes) }) {
                last = i
                return (ids[i], truncateLuts[i])
            }
            let id = context.setID(bytes)
            let lut = context.truncateLutMs(id)
            names.append(Array(bytes))
            ids.append(id)
            truncateLuts.append(lut)
            last = names.count - 1
            return (id, lut)
        }

        /// A length check and one memcmp (the generic `elementsEqual` compared byte by byte
        /// through iterators: 1.5% of a cold start's parser time).
        @inline(__always)
        static func same(_ name: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
            name.count == bytes.count && name.withUnsafeBytes { stored in
                stored.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, stored.count) == 0
            }
        }

        mutating func nullSetLut(context: ColdStartContext) -> UInt64 {
            if let l = namespaceLut { return l }
            let l = context.truncateLutMs(0)
            namespaceLut = l
            return l
        }
    }

    /// Bin names → ids, in 256 slots addressed by a hash of the name. A bin name is at most 15
    /// bytes, so a slot holds it inline in two words (the length in the last byte): a hit is a
    /// hash and two compares, and a name that shares its slot with another replaces it.
    struct BinNameMemo {
        static let slotCount = 256
        private var words = [UInt64](repeating: 0, count: 2 * slotCount)
        /// 0: an empty slot (ids start at 1).
        private var ids = [UInt16](repeating: 0, count: slotCount)
        /// ``ReintroducedBugs/coldStartDropsBinNames`` (simulation only).
        var dropsNames = false

        /// The names of the record `summary` describes when it has one to
        /// ``BinNameIDs/laneCount`` bins and no stored key (the only records whose updates may
        /// skip their read), else unknown; unknown too when a name is not valid or the table
        /// (`lookup`, nil when full) refuses it.
        mutating func names(of summary: RecordSummary, in block: UnsafeRawBufferPointer,
                            lookup: (String) -> UInt16?) -> BinNameIDs {
            guard !summary.isTombstone, !summary.hasKey, summary.binCount <= BinNameIDs.laneCount else { return .unknown }
            var ids = BinNameIDs.unknown
            let blockEnd = block.baseAddress! + block.count
            let complete = RecordFormat.forEachBinName(of: summary, in: block) { name in
                guard let id = id(of: name, blockEnd: blockEnd, lookup: lookup) else { return false }
                if dropsNames && ids.count == 2 { return true }
                return ids.insert(id)
            }
            return complete ? ids : .unknown
        }

        /// `name` (at most 15 bytes) as two little-endian words, the length in the top byte.
        /// Loads 16 bytes and masks them when the block has them (every name but one at the very
        /// end of a block), rather than copying a variable count.
        @inline(__always)
        static func packed(_ name: UnsafeRawBufferPointer, blockEnd: UnsafeRawPointer) -> (UInt64, UInt64) {
            let count = name.count
            guard count > 0 else { return (0, 0) }
            var words: (UInt64, UInt64)
            let start = name.baseAddress!
            if blockEnd - start >= 16 {
                // The 16 bytes lie inside the block (checked just above), past the name's end.
                words = (UInt64(littleEndian: start.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                         UInt64(littleEndian: start.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                if count < 8 {
                    words = (words.0 & ((1 << (8 * UInt64(count))) - 1), 0)
                } else {
                    words.1 &= (1 << (8 * UInt64(count - 8))) - 1
                }
            } else {
                words = (0, 0)
                withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: name) }
                words = (UInt64(littleEndian: words.0), UInt64(littleEndian: words.1))
            }
            return (words.0, words.1 | UInt64(count) << 56)
        }

        @inline(__always)
        private mutating func id(of name: UnsafeRawBufferPointer, blockEnd: UnsafeRawPointer,
                                 lookup: (String) -> UInt16?) -> UInt16? {
            guard name.count <= FormatLimits.binNameBytesMax else { return nil }
            let packed = Self.packed(name, blockEnd: blockEnd)
            let slot = Int(((packed.0 ^ (packed.1 &* 0xff51_afd7_ed55_8ccd)) &* 0x9e37_79b9_7f4a_7c15) >> 56)
            if ids[slot] != 0, words[2 * slot] == packed.0, words[2 * slot + 1] == packed.1 { return ids[slot] }
            // Checked as a full decode checks a bin name, so the id is for the name a read decodes.
            guard case .success(let decoded) = decodeName(name, bytesMax: FormatLimits.binNameBytesMax, allowsEmpty: true),
                  let id = lookup(decoded), id != 0 else { return nil }
            (words[2 * slot], words[2 * slot + 1], ids[slot]) = (packed.0, packed.1, id)
            return id
        }
    }

    private func scanBlock(_ item: (device: Int, block: UInt32, buffer: AlignedBuffer), instance: UInt64, index: PrimaryIndex,
                           sequences: BlockSequenceTable, context: ColdStartContext,
                           report: inout ColdStartReport, cache: inout ParserNameCache, evictor: ColdStartEvictor?,
                           delta: inout ColdStartEvictor.Delta, tally: inout ScanTally) throws -> ScannedBlock {
        let expectation = BlockScanExpectation(namespaceInstanceId: instance, deviceIndex: UInt16(item.device),
                                               blockIndex: item.block, writeBlockSizeBytes: options.writeBlockSizeBytes)
        let blockBase = UInt64(item.block) * UInt64(options.writeBlockSizeBytes)
        var records = 0
        var failure: (any Error)?
        var sequence: UInt64 = 0
        // Records are indexed in batches: first the index loads every batch member's sprig slot
        // and root entry (their cache misses overlap), then each is resolved in block order.
        var pending: [RecordSummary] = []
        pending.reserveCapacity(Self.indexBatchCount)
        let scanReport = item.buffer.withUnsafeBytes { block in
            func resolvePending() {
                guard !pending.isEmpty else { return }
                defer { pending.removeAll(keepingCapacity: true) }
                guard failure == nil else { return }
                pending.withUnsafeBufferPointer { batch in index.warmPaths(count: batch.count) { batch[$0].digest } }
                for summary in pending {
                    do {
                        try resolve(summary, block: block, location: RecordLocation(
                            deviceIndex: item.device, byteOffset: blockBase + UInt64(summary.offset), sizeBytes: summary.sizeBytes),
                            sequence: sequence, index: index, sequences: sequences, context: context, report: &report,
                            cache: &cache, evictor: evictor, delta: &delta, tally: &tally)
                    } catch {
                        failure = error
                        return
                    }
                }
            }
            let scanned = BlockScanner.scan(blockUntrusted: block, expecting: expectation) { event in
                guard failure == nil else { return }
                switch event {
                case .damaged:
                    report.unparsable += 1
                case .record(let summary):
                    if sequence == 0, let s = headerSequence(block) {
                        sequence = s
                        sequences.set(device: item.device, block: Int(item.block), s)
                    }
                    records += 1
                    pending.append(summary)
                    if pending.count == Self.indexBatchCount { resolvePending() }
                }
            }
            resolvePending()
            return scanned
        }
        if let failure { throw failure }
        switch scanReport.outcome {
        case .scanned(let header):
            report.blocksScanned += 1
            if sequence == 0 {
                sequence = header.sequence
                sequences.set(device: item.device, block: Int(item.block), header.sequence)
            }
        case .unwritten:
            break
        case .otherInstance, .misplaced, .badHeader:
            report.badBlocks += 1
        }
        report.stale += scanReport.staleRecordCount
        report.tombstones += scanReport.tombstoneCount
        return ScannedBlock(records: records, sequence: sequence)
    }

    /// Records indexed per batch (see `PrimaryIndex.warmPaths`).
    static let indexBatchCount = 16

    private func headerSequence(_ block: UnsafeRawBufferPointer) -> UInt64? {
        do { return try BlockHeader(decodingUntrusted: block, at: 0).sequence } catch { return nil }
    }

    @inline(__always)
    private func resolve(_ summary: RecordSummary, block: UnsafeRawBufferPointer, location: RecordLocation, sequence: UInt64,
                         index: PrimaryIndex, sequences: BlockSequenceTable, context: ColdStartContext,
                         report: inout ColdStartReport, cache: inout ParserNameCache, evictor: ColdStartEvictor?,
                         delta: inout ColdStartEvictor.Delta, tally: inout ScanTally) throws {
        report.newestLastUpdateMs = max(report.newestLastUpdateMs, summary.lastUpdateMs)
        var setID: UInt16 = 0
        var truncateLut: UInt64
        if let range = summary.setNameRange {
            (setID, truncateLut) = cache.lookup(UnsafeRawBufferPointer(rebasing: block[range]), context: context)
        } else {
            truncateLut = cache.nullSetLut(context: context)
        }
        if summary.lastUpdateMs <= truncateLut {
            report.truncated += 1
            return
        }
        let digest = summary.digest
        let blockSize = UInt64(options.writeBlockSizeBytes)
        var flags: IndexRecord.Flags = []
        if summary.isTombstone { flags.insert(.tombstone) }
        if summary.hasKey { flags.insert(.keyStored) }
        if summary.hasBarrier { flags.insert(.barrier) }
        var names = BinNameIDs.unknown
        // Unwrapped, not through `Optional.map`, whose reabstraction allocated twice per record.
        if let lookup = context.binNameID { names = cache.binNames.names(of: summary, in: block, lookup: lookup) }
        let candidate = IndexRecord(digest: digest, generation: summary.generation, lastUpdateTimeMs: summary.lastUpdateMs,
                                    voidTimeSeconds: summary.voidTime, setID: setID, location: location, flags: flags,
                                    binNameIDs: names)
        let (outcome, previous): (Int, IndexRecord?) = try index.withRecord(digest) { current in
            guard let c = current else {
                current = candidate
                return (0, nil)
            }
            let cSeq = sequences.get(device: Int(c.location.deviceIndex), block: Int(c.location.offsetBytes / blockSize))
            let newer: Bool
            if candidate.lastUpdateTimeMs != c.lastUpdateTimeMs {
                newer = candidate.lastUpdateTimeMs > c.lastUpdateTimeMs
            } else if candidate.generation != c.generation {
                newer = candidate.generation > c.generation
            } else if sequence != cSeq {
                newer = sequence > cSeq
            } else {
                newer = location.offsetBytes > c.location.offsetBytes
            }
            if newer { current = candidate }
            return newer ? (1, c) : (2, nil)
        }
        if outcome != 2 {
            let now = context.nowVoidTimeSeconds
            if let previous {
                tally.note(previous, sign: -1, blockSizeBytes: blockSize, now: now)
            } else {
                tally.winners += 1
            }
            tally.note(candidate, sign: 1, blockSizeBytes: blockSize, now: now)
            if let evictor {
                if let previous { evictor.note(previous, sign: -1, &delta) }
                evictor.note(candidate, sign: 1, &delta)
            }
        }
        switch outcome {
        case 0: report.unique += 1
        case 1: report.replaced += 1
        default: report.older += 1
        }
    }
}

/// What one parser's winners add to and take from each block's live bytes (a winner replaced by
/// a newer copy takes its bytes back), and the expired winners: summed over the parsers when the
/// scan ends, they are the live bytes an index pass would count, without the pass.
struct ScanTally {
    /// Per device, per block: signed bytes (one parser's sum for a block stays within a block).
    var live: [[Int32]]
    var winners = 0
    var expired = 0

    init(blockCounts: [Int]) { live = blockCounts.map { [Int32](repeating: 0, count: $0) } }

    @inline(__always)
    mutating func note(_ r: IndexRecord, sign: Int32, blockSizeBytes: UInt64, now: UInt32) {
        live[Int(r.location.deviceIndex)][Int(r.location.offsetBytes / blockSizeBytes)] += sign * Int32(r.location.sizeBytes)
        if r.hasExpired(at: now) { expired += Int(sign) }
    }

    mutating func add(_ o: ScanTally) {
        winners += o.winners
        expired += o.expired
        for d in live.indices { for b in live[d].indices { live[d][b] += o.live[d][b] } }
    }

    /// The summed live bytes; a negative or oversized block is a bug, reported with its place.
    func liveBytes(blockSizeBytes: Int, devicePaths: [String]) throws -> [[UInt32]] {
        try live.enumerated().map { d, blocks in
            try blocks.enumerated().map { b, bytes in
                guard bytes >= 0, Int(bytes) <= blockSizeBytes else {
                    throw StorageError.refused(path: devicePaths[d], reason:
                        "cold start counted \(bytes) live bytes in block \(b) (of \(blockSizeBytes)): internal error")
                }
                return UInt32(bytes)
            }
        }
    }
}
