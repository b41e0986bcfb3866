import CairnIO
import CairnParticle
import CairnIndex
import Foundation
import CairnStorage
import Synchronization

/// One namespace: the primary index over a set of devices, with Aerospike's record semantics
/// (existence and generation policies, TTL and void time, bin operations, durable deletes,
/// truncation).
///
/// Thread-safety: every public method may be called from any thread concurrently. A write
/// reads the current record without locks, computes the new one, and commits it under the
/// record's sprig lock only if the index still holds the record it read (else it retries), so
/// no device I/O ever happens under an index lock.
public final class Namespace: Sendable {
    public let options: NamespaceOptions
    // The engine's insides: the server goes through the engine's API (Namespace+Introspection
    // and the record operations); tests, tools and the simulator import this SPI.
    @_spi(EngineInternals) public let index: PrimaryIndex
    @_spi(EngineInternals) public let storage: NamespaceStorage
    @_spi(EngineInternals) public let sets: NameRegistry
    /// The bin names the index entries' ``BinNameIDs`` refer to (kept across a warm restart).
    @_spi(EngineInternals) public let binNames: NameRegistry
    /// `stop-writes-count` of the sets that have one (SetLimits.swift).
    public let setLimits = SetLimits()
    /// Secondary-index definitions (`sindex-*` info commands; queries walk the primary index).
    public let secondaryIndexes = SecondaryIndexCatalog()
    /// How the namespace came up.
    public let startReport: StartReport
    private let closed = Atomic<Bool>(false)
    private let layout: SharedMemoryLayout?
    /// Truncate sweeps still running; `close` waits for them (the index must not change after
    /// it is marked clean).
    private let runningSweeps = ConditionLock(0)
    /// The highest LUT given to a record ahead of the clock (a record written just after a
    /// truncation or above the eviction mark, or one whose generation cannot order it above the
    /// copy it replaces, gets a LUT 1 ms past theirs: `successorLut`). A truncation
    /// "now" covers at least this, so every write acknowledged before it is truncated (the
    /// simulator found a same-millisecond overwrite surviving a truncation). Written only when
    /// a LUT runs ahead, so the common write does not touch it. A start raises it to the newest
    /// LUT among the records it found: a write just ahead of the clock before a crash or a stop
    /// must be covered by a truncation right after the restart too (the simulator found that
    /// one, seed 900263 of an eviction swarm).
    private let lutAheadOfClock = Atomic<UInt64>(0)
    /// LUTs of copies left on the device when their index entries went (plain deletes, the tomb
    /// raider): a record created again commits above them.
    let removedCopyLuts: RemovedCopyLuts
    /// Truncation sweeps waiting for `runDeferredSweeps` (`options.deferTruncationSweeps`).
    private let deferredSweeps = Mutex<[(setID: UInt16?, lutMs: UInt64)]>([])
    private let priorCleanStopSequence: UInt64
    let defragger: Defragger
    let supervisor: ExpirySupervisor
    /// Truncate LUTs by set id, read by every visibility check without a lock.
    let truncationLuts: TruncationLuts
    /// The eviction mark, read by every visibility check without a lock (Eviction.swift).
    let evictionMark: EvictionMark
    /// Eviction and nsup-cycle figures.
    let evictionTotals = Mutex(EvictionStatistics())
    /// Record reads that had to go to the device (the rest were answered from memory).
    let deviceReadsStarted = Atomic<UInt64>(0)
    /// Of those, the reads the page cache served at once (``readWithoutWaiting(_:digest:scratch:)``).
    let deviceReadsAtOnce = Atomic<UInt64>(0)
    /// Touches started by reads (`readTouch`).
    let readTouches = Atomic<UInt64>(0)
    /// Updates that set every bin of their record and so did not read its old copy.
    let updatesWithoutRead = Atomic<UInt64>(0)
    /// How the nsup thread reaches this namespace (set when space management starts).
    let nsupLink = Mutex<NamespaceLink?>(nil)

    /// Attempts of the optimistic read-compute-commit loop before giving up (contention).
    static let commitAttemptsMax = 64

    public struct StartReport: Sendable {
        public enum Mode: String, Sendable { case fresh, cold, warm }
        public var mode: Mode
        /// Why this mode ran (for a cold or fresh start: why not warm).
        public var reason: String
        public var priorShutdownClean: Bool
        public var notCleanDevices: [String]
        public var coldStart: ColdStartReport?
        public var seconds: Double
        /// Device reads beyond the header regions during the start (a warm start reads none).
        public var recordDataReads: UInt64 = 0
        public var recordDataBytesRead: UInt64 = 0
    }

    // MARK: - open and close

    /// Opens the devices and brings the index up: warm (re-attached from shared memory, no record
    /// data read) when every condition holds, else cold (device scan) or fresh; then starts the
    /// writers and readers.
    public static func open(_ options: NamespaceOptions) throws -> Namespace {
        let startNs = MonotonicClock.nowNs()
        let layout = options.sharedMemory.map { SharedMemoryLayout($0) }
        var storageOptions = options.storage
        var emptyReason: String?
        if case .unpersisted(let dataSize) = options.memory {
            guard let layout else {
                throw StorageError.refused(path: options.name,
                                           reason: "a memory namespace without persistence needs a shared-memory directory")
            }
            storageOptions.devices = [.init(path: layout.dataPath, fileSizeBytes: dataSize)]
            // Nothing to keep unless a warm restart may use it.
            let stateExists = FileManager.default.fileExists(atPath: layout.statePath)
            if options.coldStart || !stateExists {
                if options.coldStart {
                    emptyReason = "cold start requested (--cold-start)"
                } else if FileManager.default.fileExists(atPath: layout.dataPath) {
                    emptyReason = "prior shutdown not clean (no shared-memory state)"
                } else {
                    emptyReason = "shared memory not found in \(layout.directory)"
                }
                try layout.removeAll(deviceCount: 1)
            }
        }
        var storage = try NamespaceStorage.open(storageOptions)
        var decision = WarmStart.decide(options, storage: storage, layout: layout)
        if case .unpersisted = options.memory, case .cold(let reason) = decision, !storage.openReport.fresh, let layout {
            try storage.close(clean: false)
            try layout.removeAll(deviceCount: 1)
            storage = try NamespaceStorage.open(storageOptions)
            decision = .cold("memory namespace without persistence starts empty: \(reason)")
        }
        if let emptyReason, case .cold = decision {
            decision = .cold("memory namespace without persistence starts empty: \(emptyReason)")
        }
        let indexConfiguration = IndexConfiguration(
            sprigsPerPartition: options.storage.partitionTreeSprigs, entryCountMax: options.indexEntryCountMax)
        let priorCleanStopSequence = storage.openReport.headers.compactMap(\.sharedIndex).map(\.cleanStopSequence).max() ?? 0
        let evictVoidTimeAtOpen = storage.truncation.evictVoidTime
        do {
            var warm: (PrimaryIndex, WarmState, [MemoryMirror]?)?
            if case .warm(let state) = decision, let layout {
                do {
                    warm = try attachWarm(options, layout: layout, state: state, configuration: indexConfiguration,
                                          deviceSizes: storage.devices.map { Int($0.device.sizeBytes) })
                } catch {
                    decision = .cold("shared memory unusable: \(error)")
                }
            }
            var report = StartReport(mode: .fresh, reason: "", priorShutdownClean: storage.openReport.priorShutdownClean,
                                     notCleanDevices: storage.openReport.notCleanDevices, coldStart: nil, seconds: 0)
            let index: PrimaryIndex
            let sets: NameRegistry
            let binNames: NameRegistry
            // The newest last-update time among the records found (see `lutAheadOfClock`).
            var newestLastUpdateMs: UInt64 = 0
            // The newest LUT of a copy whose entry was removed before a clean stop.
            var removedCopyLutMs: UInt64 = 0
            if let (attached, state, mirrors) = warm {
                report.mode = .warm
                report.reason = "clean shutdown, shared memory \(layout!.directory)/\(layout!.name) matches the devices"
                options.onStartDecision(.warm, report.reason)
                index = attached
                sets = NameRegistry(capacity: NameRegistry.setCountMax, names: state.setNames)
                binNames = NameRegistry(capacity: NameRegistry.binNameCountMax, names: state.binNames)
                // From here a crash must force a cold start: the index is in use, the devices
                // not clean (open), and the state file that completed the pair is gone.
                try WarmState.remove(path: layout!.statePath)
                let space = WarmStart.rebuildSpace(storage: storage, index: index, state: state)
                newestLastUpdateMs = space.newestLastUpdateMs
                removedCopyLutMs = state.removedCopyLutMs
                storage.start(firstPristineBlocks: space.firstPristine, freeBlocks: space.free, mirrors: mirrors)
            } else {
                guard case .cold(let reason) = decision else { preconditionFailure("warm decision without an index") }
                report.reason = reason
                options.onStartDecision(storage.needsColdStart ? .cold : .fresh, reason)
                if let layout { try layout.removeSegments(deviceCount: storage.devices.count) }
                index = try PrimaryIndex(
                    configuration: indexConfiguration,
                    backing: layout.map { .sharedFiles(directory: $0.directory, name: $0.name) } ?? .anonymous,
                    random: options.storage.simulation?.random)
                sets = NameRegistry(capacity: NameRegistry.setCountMax)
                // The cold start fills it with the names of the records whose entries learn them.
                binNames = NameRegistry(capacity: NameRegistry.binNameCountMax)
                var firstPristine: [UInt32]?
                var free: [[UInt32]]?
                if storage.needsColdStart {
                    report.mode = .cold
                    let result = options.coldStartEmpty
                        ? try emptyColdStart(options, storage: storage, index: index)
                        : try coldStart(options, storage: storage, index: index, sets: sets, binNames: binNames)
                    if result.report.evicted > 0 || result.report.evictionRaises > 0 {
                        storage.options.log("cold start: namespace \(options.name): evicted \(result.report.evicted) records "
                            + "during the scan (\(result.report.evictionRaises) raises of the eviction mark), evict void time "
                            + "\(storage.truncation.evictVoidTime)")
                    }
                    report.coldStart = result.report
                    newestLastUpdateMs = result.report.newestLastUpdateMs
                    firstPristine = result.firstPristineBlocks
                    free = result.freeBlocks
                }
                var mirrors: [MemoryMirror]?
                if case .persisted = options.memory, let layout {
                    mirrors = try storage.devices.map { d in
                        try MemoryMirror.create(path: layout.mirrorPath(d.index), sizeBytes: Int(d.device.sizeBytes))
                    }
                    if let firstPristine { try storage.fillMirrors(mirrors!, firstPristineBlocks: firstPristine) }
                }
                storage.start(firstPristineBlocks: firstPristine, freeBlocks: free, mirrors: mirrors)
            }
            let reads = storage.deviceReads
            let headerReads = UInt64(storage.devices.count)
            report.recordDataReads = reads.count - min(reads.count, headerReads)
            report.recordDataBytesRead = reads.bytes - min(reads.bytes, headerReads * UInt64(DeviceHeaderFormat.regionSizeBytes))
            report.seconds = Double(MonotonicClock.nowNs() - startNs) / 1e9
            let ns = Namespace(options: options, index: index, storage: storage, sets: sets, binNames: binNames, report: report,
                               layout: layout, priorCleanStopSequence: priorCleanStopSequence)
            // A record may have committed ahead of the clock before this start, and the clock
            // may not have passed it yet (a quick restart, a clock stepped back): a truncation
            // from now on must still cover it.
            if options.storage.simulation?.bugs.contains(.restartForgetsLutAhead) != true {
                ns.lutAheadOfClock.raise(to: newestLastUpdateMs)
            }
            // Copies deleted before a warm restart are still on the device, and the clock may
            // not have passed their LUTs (a quick restart, a LUT ahead of the clock).
            if options.storage.simulation?.bugs.contains(.warmRestartForgetsRemovedCopies) != true {
                ns.removedCopyLuts.raiseAll(to: removedCopyLutMs)
            }
            if let evicted = report.coldStart?.evicted, evicted > 0 {
                // What the cold start evicted counts as this run's evictions (`evicted_objects`).
                ns.evictionTotals.withLock { $0.evictedObjects = UInt64(evicted) }
            }
            ns.startSpaceManagement()
            return ns
        } catch {
            let markAfter = storage.truncation.evictVoidTime
            if markAfter > evictVoidTimeAtOpen {
                // The raises are durable: their records stay evicted, and the next start (which
                // finds them below the mark) does not count them again. Say so with the failure.
                storage.options.log("namespace \(options.name): the start failed after the cold start raised the eviction "
                    + "mark from void time \(evictVoidTimeAtOpen) to \(markAfter); the records it evicted (counted in the "
                    + "cold start's log lines above) stay evicted")
            }
            try? storage.close(clean: false)
            throw error
        }
    }

    /// Attaches the index and the memory copies (one per device, of the device's size) a clean
    /// stop left.
    private static func attachWarm(_ options: NamespaceOptions, layout: SharedMemoryLayout, state: WarmState,
                                   configuration: IndexConfiguration, deviceSizes: [Int]) throws
        -> (PrimaryIndex, WarmState, [MemoryMirror]?)
    {
        let index = try PrimaryIndex.attach(configuration: configuration, directory: layout.directory, name: layout.name)
        guard index.instanceID == state.identity.instanceId else {
            throw StorageError.refused(path: layout.statePath, reason:
                "index instance \(index.instanceID) is not the one the state names (\(state.identity.instanceId))")
        }
        var mirrors: [MemoryMirror]?
        if case .persisted = options.memory {
            mirrors = try deviceSizes.enumerated().map { i, size in
                try MemoryMirror.attach(path: layout.mirrorPath(i), sizeBytes: size)
            }
        }
        return (index, state, mirrors)
    }

    /// `cold-start-empty`: no device is read. Every record on the devices is truncated durably
    /// (a namespace truncate at now), so no later start brings one back, and every block below
    /// the devices' blocks-written marks is free for reuse.
    private static func emptyColdStart(_ options: NamespaceOptions, storage: NamespaceStorage,
                                       index: PrimaryIndex) throws -> ColdStartResult {
        let startNs = MonotonicClock.nowNs()
        try storage.truncate(setName: nil, lutMs: max(options.clockMs(), 1))
        let firstData = Int(DeviceGeometry.firstDataBlockIndex)
        let ends = storage.devices.map { UInt32(max(firstData, $0.scanEndBlock)) }
        let rebuilt = storage.rebuildSpace(from: index, firstPristineBlocks: ends)
        storage.options.log("cold-start-empty: namespace \(options.name) starts EMPTY: the records on its devices "
            + "were not read and are truncated (gone for good)")
        var report = ColdStartReport()
        report.seconds = Double(MonotonicClock.nowNs() - startNs) / 1e9
        return ColdStartResult(report: report, firstPristineBlocks: rebuilt.firstPristine, freeBlocks: rebuilt.free)
    }

    /// The cold start: every device scanned into `index`.
    private static func coldStart(_ options: NamespaceOptions, storage: NamespaceStorage, index: PrimaryIndex,
                                  sets: NameRegistry, binNames: NameRegistry) throws -> ColdStartResult {
        let truncation = storage.truncation
        let setTruncations = Mutex<[UInt16: UInt64]>([:])
        var context = ColdStartContext(
            setID: { bytes in
                let name = String(decoding: bytes, as: UTF8.self)
                guard let id = sets.id(for: name) else { return 0 }
                return id
            },
            truncateLutMs: { id in
                if id == 0 { return truncation.namespaceLutMs }
                if let cached = setTruncations.withLock({ $0[id] }) { return cached }
                let lut = truncation.truncateLutMs(forSet: sets.name(for: id))
                setTruncations.withLock { $0[id] = lut }
                return lut
            },
            nowVoidTimeSeconds: UInt32(truncatingIfNeeded: options.clockMs() / 1000),
            progressIntervalMs: options.progressIntervalMs, progress: options.onColdStartProgress)
        context.eviction = coldStartEvictionPolicy(options, storage: storage, sets: sets)
        context.binNameID = { binNames.id(for: $0) }
        return try storage.coldStart(into: index, context: context)
    }

    private init(options: NamespaceOptions, index: PrimaryIndex, storage: NamespaceStorage, sets: NameRegistry,
                 binNames: NameRegistry, report: StartReport, layout: SharedMemoryLayout?, priorCleanStopSequence: UInt64) {
        self.layout = layout
        self.priorCleanStopSequence = priorCleanStopSequence
        self.options = options
        self.index = index
        self.storage = storage
        self.sets = sets
        self.binNames = binNames
        startReport = report
        truncationLuts = TruncationLuts(setCountMax: NameRegistry.setCountMax, table: { storage.truncation },
                                        setName: { sets.name(for: $0) })
        evictionMark = EvictionMark(storage.truncation)
        defragger = Defragger(index: index, storage: storage)
        let removed = RemovedCopyLuts()
        removedCopyLuts = removed
        let clock = options.clockMs
        supervisor = ExpirySupervisor(index: index, storage: storage, removedCopyLuts: removed,
                                      periodSeconds: options.nsupPeriodSeconds,
                                      currentPeriodSeconds: { [options] in options.currentNsupPeriodSeconds },
                                      nowVoidTime: { UInt32(truncatingIfNeeded: clock() / 1000) })
    }

    deinit {
        // The nsup thread holds this namespace unowned(unsafe) (NamespaceLink): wait for a
        // cycle it is running, and let no other start.
        nsupLink.withLock { $0?.sever() }
    }

    /// Graceful close: flush every buffer, wait for the devices, mark the headers clean. With
    /// shared memory, the headers name the index (instance and a new clean-stop sequence), the
    /// index is marked clean, and the state file is written last: all three must agree for the
    /// next start to be warm. Every user of the namespace must have stopped.
    public func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopSpaceManagement()
        runningSweeps.wait(until: { $0 == 0 }) { _ in }
        guard let layout else {
            try storage.close(clean: true)
            return
        }
        let identity = SharedIndexIdentity(instanceId: index.instanceID, cleanStopSequence: priorCleanStopSequence + 1)
        try storage.close(clean: true, sharedIndex: identity)
        let mirrored = storage.devices.allSatisfy { $0.mirror != nil }
        let state = WarmState(
            sprigsPerPartition: options.storage.partitionTreeSprigs, identity: identity,
            namespaceInstanceId: storage.instanceId, nextPristineBlocks: storage.devices.map { $0.writer.nextPristineBlock },
            mirrored: mirrored, setNames: sets.all.map(\.name), binNames: binNames.all.map(\.name),
            removedCopyLutMs: removedCopyLuts.maximum)
        index.markCleanShutdown()
        try state.write(to: layout.statePath)
    }

    /// Stops without marking the devices clean (tests: the next open must cold start as after a
    /// crash). Buffers are still flushed.
    public func closeWithoutCleanShutdown() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopSpaceManagement()
        try storage.close(clean: false)
    }

    // MARK: - time and visibility

    @inline(__always) var nowMs: UInt64 { options.clockMs() }
    @inline(__always) var nowVoidTime: UInt32 { UInt32(truncatingIfNeeded: options.clockMs() / 1000) }

    /// The truncate LUT that applies to a record of `setID` (lock-free: ``TruncationLuts``).
    @inline(__always)
    func truncateLutMs(setID: UInt16) -> UInt64 {
        truncationLuts.lutMs(setID: setID)
    }

    /// Whether an index record is a live record a client can see. Takes no lock.
    @inline(__always)
    func isVisible(_ r: IndexRecord, nowVoidTime: UInt32) -> Bool {
        if r.isTombstone { return false }
        if r.hasExpired(at: nowVoidTime) { return false }
        if isEvicted(r) { return false }
        return r.lastUpdateTimeMs > truncateLutMs(setID: r.setID)
    }

    // MARK: - reads
    //
    // Every operation has a completion form and a blocking form. The completion form never waits:
    // what memory can answer (the index, a buffered block, the post-write cache, a memory copy)
    // completes before it returns, on the caller's thread; what needs the device is submitted to
    // the device's reader and continues through `resume` when the read completes, so no thread
    // is parked meanwhile. With commit-to-device a write completes from the durability
    // completion. The blocking forms (tests, tools, scans) wait for the completion form.

    /// The record of `digest` with the named bins (all bins when `binNames` is nil), or nil.
    /// Brings into cache what the index operations on `digests` (at most 32) will touch, so
    /// that the operations that follow find it there: a hint, which takes no lock and changes
    /// nothing. A service thread calls it with the digests of the requests it is about to run,
    /// whose cache misses then overlap instead of coming one request at a time.
    public func warmIndexPaths(_ digests: UnsafeBufferPointer<Digest>) {
        index.warmPaths(digests)
    }

    public func get(_ digest: Digest, binNames: [String]? = nil) throws(EngineError) -> EngineRecord? {
        try waitForCallback { done in get(digest, binNames: binNames, resume: Resume.inline, completion: done) }.get()
    }

    /// The record of `digest`, or nil, through `completion`: before this returns when memory
    /// holds it, else after a device read, continued through `resume`.
    public func get(_ digest: Digest, binNames: [String]? = nil, resume: Resume,
                    completion: @escaping EngineCompletion<EngineRecord?>) {
        getAttempt(digest, binNames: binNames, attempt: 0, resume: resume, completion: completion)
    }

    /// What a read found before any I/O (``startGet(_:binNames:)``).
    public enum GetStart: Sendable {
        /// Memory held the record, or there is none, or the read failed.
        case finished(Result<EngineRecord?, EngineError>)
        /// Only the device holds the record: continue with ``finishGet(_:resume:completion:)``.
        case pending(PendingGet)
    }

    /// A read that must go to the device, as ``startGet(_:binNames:)`` left it.
    public struct PendingGet: Sendable {
        fileprivate let digest: Digest
        fileprivate let binNames: [String]?
        fileprivate let current: IndexRecord
        fileprivate let attempt: Int
        /// The page cache was just tried at once (``readWithoutWaiting(_:digest:scratch:)``).
        fileprivate let pageCacheTried: Bool
    }

    /// The record of `digest` when memory holds it (or that there is none), with no I/O and no
    /// continuation: a caller forms its escaping continuation, and pays its allocation, only
    /// for a ``GetStart/pending(_:)`` read.
    ///
    /// With a `scratch` of the calling thread, a record read from memory is decoded into it
    /// (``RecordScratch``): no allocation for its bins.
    public func startGet(_ digest: Digest, binNames: [String]? = nil, scratch: RecordScratch? = nil) -> GetStart {
        getStep(digest, binNames: binNames, attempt: 0, scratch: scratch)
    }

    /// Reads a pending record from the device; `completion` runs through `resume`.
    public func finishGet(_ pending: PendingGet, resume: Resume, completion: @escaping EngineCompletion<EngineRecord?>) {
        let digest = pending.digest
        let current = pending.current
        readFromDevice(current.location, digest: digest, pageCacheTried: pending.pageCacheTried, resume: resume) { [self] result in
            switch result {
            case .success(let stored):
                completion(.success(engineRecord(stored, current: current, binNames: pending.binNames)))
            case .failure(let error):
                // Moved meanwhile (defrag, an overwrite and block reuse): look it up again.
                if index.lookup(digest) != current {
                    getAttempt(digest, binNames: pending.binNames, attempt: pending.attempt + 1, resume: resume,
                               completion: completion)
                } else {
                    completion(.failure(readFailure(error, at: current.location)))
                }
            }
        }
    }

    /// A read of `location` that failed for good (the index still points at it, so it is not
    /// a record that moved under the read): counted as its device's read error
    /// (`storage-engine.file[i].read_errors`), and the error the transaction ends with.
    private func readFailure(_ error: StorageError, at location: RecordLocation) -> EngineError {
        storage.countReadError(location, error)
        return EngineError.from(error)
    }

    private func getAttempt(_ digest: Digest, binNames: [String]?, attempt: Int, resume: Resume,
                            completion: @escaping EngineCompletion<EngineRecord?>) {
        switch getStep(digest, binNames: binNames, attempt: attempt, scratch: resume.records) {
        case .finished(let result): completion(result)
        case .pending(let pending): finishGet(pending, resume: resume, completion: completion)
        }
    }

    /// Looks `digest` up and reads it from memory, again while it moves under the reader.
    private func getStep(_ digest: Digest, binNames: [String]?, attempt firstAttempt: Int, scratch: RecordScratch?) -> GetStart {
        var attempt = firstAttempt
        while true {
            guard attempt < Namespace.commitAttemptsMax else {
                return .finished(.failure(EngineError(.serverError, "record \(digest) kept moving while being read")))
            }
            guard let current = index.lookup(digest), isVisible(current, nowVoidTime: nowVoidTime) else {
                return .finished(.success(nil))
            }
            let inMemory: Result<StoredRecord, StorageError>
            switch readWithoutWaiting(current.location, digest: digest, scratch: scratch) {
            case .onlyOnDevice(let pageCacheTried):
                return .pending(PendingGet(digest: digest, binNames: binNames, current: current, attempt: attempt,
                                           pageCacheTried: pageCacheTried))
            case .read(let result): inMemory = result
            }
            switch inMemory {
            case .success(let stored):
                return .finished(.success(engineRecord(stored, current: current, binNames: binNames)))
            case .failure(let error):
                // Moved meanwhile (defrag, an overwrite and block reuse): look it up again.
                guard index.lookup(digest) != current else { return .finished(.failure(readFailure(error, at: current.location))) }
                attempt += 1
            }
        }
    }

    /// The engine's view of a stored copy whose index entry is `current`.
    private func engineRecord(_ stored: StoredRecord, current: IndexRecord, binNames: [String]?) -> EngineRecord {
        var bins = stored.bins
        if let names = binNames { bins = bins.filter { names.contains($0.name) } }
        return EngineRecord(generation: current.generation, voidTime: current.voidTimeSeconds,
                            lastUpdateMs: current.lastUpdateTimeMs, setName: stored.setName,
                            userKey: stored.userKey, bins: bins)
    }

    /// What ``readWithoutWaiting(_:digest:scratch:)`` found.
    private enum ReadWithoutWaiting {
        /// The record copy (or its failed check), from memory or the page cache.
        case read(Result<StoredRecord, StorageError>)
        /// Only the device has it; `pageCacheTried`: the page cache was asked at once and did not
        /// hold all of it (or this thread's attempts are paused), so the ring read does not ask again.
        case onlyOnDevice(pageCacheTried: Bool)
    }

    /// The record copy at `location` if memory holds it (or its check failed), or, with a
    /// `scratch` that carries its thread's ring reads, if the page cache holds all of it (read at
    /// once). Never waits for the device.
    private func readWithoutWaiting(_ location: RecordLocation, digest: Digest,
                                    scratch: RecordScratch? = nil) -> ReadWithoutWaiting {
        do {
            if let stored = try storage.readFromMemory(location, expecting: digest, scratch: scratch) { return .read(.success(stored)) }
            // The device first: an O_DIRECT device's reads take no copy of the thread's reads.
            guard let scratch, storage.readsThroughPageCache(location), let reads = scratch.pageCacheReads else {
                return .onlyOnDevice(pageCacheTried: false)
            }
            guard let stored = try storage.readCached(location, expecting: digest, through: reads, scratch: scratch) else {
                return .onlyOnDevice(pageCacheTried: true)
            }
            // A record read from the device's page cache: a device record read, as through the ring.
            deviceReadsStarted.add(1, ordering: .relaxed)
            deviceReadsAtOnce.add(1, ordering: .releasing)
            return .read(.success(stored))
        } catch {
            return .read(.failure(error))
        }
    }

    /// Reads a record copy from the device; `finish` runs through `resume` once it is read.
    private func readFromDevice(_ location: RecordLocation, digest: Digest, pageCacheTried: Bool, resume: Resume,
                                _ finish: @escaping @Sendable (Result<StoredRecord, StorageError>) -> Void) {
        deviceReadsStarted.add(1, ordering: .relaxed)
        if let reads = resume.deviceReads {
            // Submitted on the continuing thread's own ring; completes on that thread.
            storage.read(location, expecting: digest, through: reads, pageCacheTried: pageCacheTried, scratch: resume.records,
                         callback: finish)
            return
        }
        storage.read(location, expecting: digest) { result in
            resume.run { finish(result) }
        }
    }

    /// Generation and void time of a visible record, or nil (reads no record data).
    public func exists(_ digest: Digest) -> (generation: UInt16, voidTime: UInt32)? {
        guard let current = index.lookup(digest), isVisible(current, nowVoidTime: nowVoidTime) else { return nil }
        return (current.generation, current.voidTimeSeconds)
    }

    // MARK: - writes

    /// Writes `bins` (a bin with `nil` bytes deletes it) with `options`; returns the new
    /// generation and void time.
    @discardableResult
    public func put(_ digest: Digest, setName: String? = nil, userKey: StoredKey? = nil, bins: [StoredBin],
                    options writeOptions: WriteOptions = WriteOptions()) throws(EngineError) -> OperateResult {
        try operate(digest, setName: setName, userKey: userKey, operations: bins.map { .write($0) }, options: writeOptions)
    }

    /// Resets the TTL and bumps the generation of an existing record.
    @discardableResult
    public func touch(_ digest: Digest, options writeOptions: WriteOptions = WriteOptions()) throws(EngineError) -> OperateResult {
        var o = writeOptions
        o.exists = .updateOnly
        return try operate(digest, operations: [.touch], options: o)
    }

    /// Deletes a record: a tombstone when durable (or forced by the namespace), else the index
    /// entry only. Throws `keyNotFound` when there is no visible record.
    public func delete(_ digest: Digest, options writeOptions: WriteOptions = WriteOptions()) throws(EngineError) {
        _ = try operate(digest, operations: [.deleteRecord], options: writeOptions)
    }

    /// Runs `operations` on one record atomically, in order (Aerospike's operate), and waits.
    public func operate(_ digest: Digest, setName: String? = nil, userKey: StoredKey? = nil,
                        operations: [BinOperation], options writeOptions: WriteOptions = WriteOptions()) throws(EngineError) -> OperateResult {
        try waitForCallback { done in
            operate(digest, setName: setName, userKey: userKey, operations: operations, options: writeOptions,
                    resume: Resume.inline, completion: done)
        }.get()
    }

    /// Runs `operations` on one record atomically, in order, and reports through `completion`:
    /// before this returns when no device I/O is needed (the old record in memory, or not
    /// needed; no commit-to-device), else from the device read's or the durability completion,
    /// continued through `resume`.
    ///
    /// The optimistic rule holds across the wait: the old record is read with no lock held, the
    /// new one is committed under the sprig lock only if the index still holds what was read,
    /// else the whole attempt runs again. The old record is decoded into `resume`'s scratch
    /// when it carries one.
    public func operate(_ digest: Digest, setName: String? = nil, userKey: StoredKey? = nil,
                        operations: [BinOperation], options writeOptions: WriteOptions = WriteOptions(),
                        resume: Resume, completion: @escaping EngineCompletion<OperateResult>) {
        let start = startOperate(digest, setName: setName, userKey: userKey, operations: operations, options: writeOptions,
                                 scratch: resume.records)
        continueOperate(start, resume: resume, completion: completion)
    }

    /// What an operate did before any I/O (``startOperate(_:setName:userKey:operations:options:)``).
    public enum OperateStart: Sendable {
        /// Done: committed (no commit-to-device), refused, or a read answered from memory.
        case finished(Result<OperateResult, EngineError>)
        /// Waits for a device read or for durability: continue with
        /// ``finishOperate(_:resume:completion:)``.
        case pending(PendingOperate)
    }

    /// An operate that waits for I/O, as ``startOperate(_:setName:userKey:operations:options:)``
    /// left it.
    public struct PendingOperate: Sendable {
        fileprivate enum Wait: Sendable {
            /// The old record must be read from the device before the operations apply.
            case existing(WriteRequest, current: IndexRecord?, visible: IndexRecord, attempt: Int, pageCacheTried: Bool)
            /// Committed; commit-to-device replies once the copy at `location` is durable.
            case durable(OperateResult, location: RecordLocation)
            /// Reads only, of a record not in memory.
            case readOnly(WriteRequest, PendingGet)
        }
        fileprivate let wait: Wait
    }

    /// Runs an operate as far as it goes with no I/O and no continuation: a caller forms its
    /// escaping continuation, and pays its allocation, only for a ``OperateStart/pending(_:)``
    /// one. The optimistic rule is that of ``operate(_:setName:userKey:operations:options:resume:completion:)``.
    /// With a `scratch` of the calling thread, the old record, when memory holds it, is
    /// decoded into it (``RecordScratch``).
    public func startOperate(_ digest: Digest, setName: String? = nil, userKey: StoredKey? = nil,
                             operations: [BinOperation], options writeOptions: WriteOptions = WriteOptions(),
                             scratch: RecordScratch? = nil) -> OperateStart {
        guard !operations.isEmpty else {
            return .finished(.failure(EngineError(.parameterError, "no operations")))
        }
        var request = WriteRequest(digest: digest, setName: setName, userKey: userKey, operations: operations,
                                   options: writeOptions)
        request.scratch = scratch
        if !operations.contains(where: \.isWrite) {
            return readOnlyStep(request)
        }
        return writeStep(request, attempt: 0)
    }

    /// Continues a pending operate through its I/O; `completion` runs through `resume`.
    public func finishOperate(_ pending: PendingOperate, resume: Resume, completion: @escaping EngineCompletion<OperateResult>) {
        switch pending.wait {
        case .existing(let r, let current, let visible, let attempt, let pageCacheTried):
            readFromDevice(visible.location, digest: r.digest, pageCacheTried: pageCacheTried, resume: resume) { [self] result in
                switch result {
                case .success(let existing):
                    let step = commitStep(r, current: current, visible: visible, existing: existing, attempt: attempt)
                    continueOperate(step, resume: resume, completion: completion)
                case .failure(let error):
                    if index.lookup(r.digest) != current {
                        continueOperate(writeStep(r, attempt: attempt + 1), resume: resume, completion: completion)
                    } else {
                        completion(.failure(readFailure(error, at: visible.location)))
                    }
                }
            }
        case .durable(let result, let location):
            // Delivered through `resume` as callback and outcome: one closure per write, not two.
            storage.whenDurable(location, via: resume.deliverDurable) { error in
                if let error { completion(.failure(EngineError.from(error))) } else { completion(.success(result)) }
            }
        case .readOnly(let r, let read):
            finishGet(read, resume: resume) { [self] found in completion(found.flatMap { readOnlyResult(r, record: $0) }) }
        }
    }

    private func continueOperate(_ start: OperateStart, resume: Resume, completion: @escaping EngineCompletion<OperateResult>) {
        switch start {
        case .finished(let result): completion(result)
        case .pending(let pending): finishOperate(pending, resume: resume, completion: completion)
        }
    }

    /// Runs `transform` (a record UDF) on one record as a write: it sees the record as it is
    /// (or that there is none) and decides its new bins; they are committed like an operate's,
    /// with the same policies, generation, TTL and durability (commit-to-device waits for the
    /// device). Reports through `completion` like ``operate(_:setName:userKey:operations:options:resume:completion:)``.
    public func apply(_ digest: Digest, setName: String? = nil, userKey: StoredKey? = nil,
                      options writeOptions: WriteOptions = WriteOptions(), transform: RecordTransform,
                      resume: Resume, completion: @escaping EngineCompletion<OperateResult>) {
        var request = WriteRequest(digest: digest, setName: setName, userKey: userKey, operations: [], options: writeOptions)
        request.transform = transform
        continueOperate(writeStep(request, attempt: 0), resume: resume, completion: completion)
    }

    /// What one write asks for, kept across its attempts.
    struct WriteRequest: Sendable {
        var digest: Digest
        var setName: String?
        var userKey: StoredKey?
        var operations: [BinOperation]
        var options: WriteOptions
        /// A record UDF in place of `operations`.
        var transform: RecordTransform?
        /// The record memory of the thread that started the write (checked on each use).
        var scratch: RecordScratch?
    }

    /// A read-only operate answered from the index or memory, or pending its record's read.
    private func readOnlyStep(_ r: WriteRequest) -> OperateStart {
        let digest = r.digest
        guard r.options.filter == nil && !r.operations.contains(where: \.needsExistingBins) else {
            switch startGet(digest, scratch: r.scratch) {
            case .finished(let found): return .finished(found.flatMap { readOnlyResult(r, record: $0) })
            case .pending(let read): return .pending(PendingOperate(wait: .readOnly(r, read)))
            }
        }
        guard let e = exists(digest) else {
            return .finished(.failure(EngineError(.keyNotFound, "no record \(digest)")))
        }
        return .finished(.success(OperateResult(generation: e.generation, voidTime: e.voidTime, bins: [])))
    }

    /// The results of read-only operations on `record` (nil: there is none).
    private func readOnlyResult(_ r: WriteRequest, record found: EngineRecord?) -> Result<OperateResult, EngineError> {
        let digest = r.digest
        guard let record = found else { return .failure(EngineError(.keyNotFound, "no record \(digest)")) }
        var results: [(String, StoredBin?)] = []
        do {
            if let filter = r.options.filter, try !filter.passes(record, digest: digest, nowMs: nowMs, storage: expressionStorage) {
                throw EngineError(.filteredOut, "record \(digest) is filtered out")
            }
            for op in r.operations {
                switch op {
                case .read(let name): results.append((name, record.bins.first { $0.name == name }))
                case .readAll: for b in record.bins { results.append((b.name, b)) }
                case .cdt(let name, _, _), .bits(let name, _, _), .hll(let name, _, _), .expression(let name, _, _):
                    var bins = record.bins
                    let scope = RecordScope(setName: record.setName, userKey: record.userKey, digest: digest,
                                            lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs,
                                            storage: expressionStorage)
                    results.append((name, try OperationLayer.apply(op, to: &bins, scope: scope)))
                default: break
                }
            }
        } catch {
            return .failure(EngineError.from(error))
        }
        return .success(OperateResult(generation: record.generation, voidTime: record.voidTime, bins: results))
    }

    /// One optimistic attempt: policies on the index entry, then the old record when needed
    /// (from memory here, or pending a device read), then `commitStep`.
    private func writeStep(_ r: WriteRequest, attempt: Int) -> OperateStart {
        guard attempt < Namespace.commitAttemptsMax else {
            return .finished(.failure(EngineError(.serverError, "record \(r.digest) is being written too often to commit (contention)")))
        }
        let digest = r.digest
        let o = r.options
        let current = index.lookup(digest)
        let visible = current.flatMap { isVisible($0, nowVoidTime: nowVoidTime) ? $0 : nil }

        // Existence and generation policies.
        do throws(EngineError) {
            switch o.exists {
            case .updateOnly, .replaceOnly:
                if visible == nil { throw EngineError(.keyNotFound, "record \(digest) does not exist") }
            case .createOnly:
                if visible != nil { throw EngineError(.keyExists, "record \(digest) already exists") }
            case .update, .replace:
                break
            }
            let generation = visible?.generation ?? 0
            // Aerospike answers a generation check on a missing record with not-found.
            if visible == nil && o.generation != .none { throw EngineError(.keyNotFound, "record \(digest) does not exist") }
            switch o.generation {
            case .none: break
            case .expectEqual(let g):
                if generation != g { throw EngineError(.generationError, "generation is \(generation), expected \(g)") }
            case .expectGreater(let g):
                if g <= generation { throw EngineError(.generationError, "generation \(g) is not above \(generation)") }
            }
            if case .invalid(let wire) = o.ttl {
                throw EngineError(.parameterError, "TTL \(wire) is above 10 years or not a TTL")
            }
        } catch {
            return .finished(.failure(error))
        }

        // The existing record, when the operations, the policy, a filter or a predicate need its bins or key.
        let replaces = o.exists == .replace || o.exists == .replaceOnly || o.exists == .createOnly
        guard let visible,
              !replaces || r.operations.contains(where: \.needsExistingBins) || visible.flags.contains(.keyStored)
                || o.filter != nil || r.transform != nil || o.predicate != nil
        else {
            // A replace takes nothing from the old copy but what the index holds (a stored
            // key is kept, and checked against the request's, as Aerospike does: that reads it).
            return commitStep(r, current: current, visible: visible, existing: nil, attempt: attempt)
        }
        if !replaces && setsEveryBin(r, of: visible) {
            return commitStep(r, current: current, visible: visible, existing: nil, attempt: attempt)
        }
        switch readWithoutWaiting(visible.location, digest: digest, scratch: r.scratch) {
        case .onlyOnDevice(let pageCacheTried):
            return .pending(PendingOperate(wait: .existing(r, current: current, visible: visible, attempt: attempt,
                                                           pageCacheTried: pageCacheTried)))
        case .read(.success(let existing)):
            return commitStep(r, current: current, visible: visible, existing: existing, attempt: attempt)
        case .read(.failure(let error)):
            guard index.lookup(digest) != current else { return .finished(.failure(readFailure(error, at: visible.location))) }
            return writeStep(r, attempt: attempt + 1)
        }
    }

    /// Applies the operations to the old record and commits the new copy if the index still
    /// holds `current` (else a new attempt); with commit-to-device, pending its durability.
    private func commitStep(_ r: WriteRequest, current: IndexRecord?, visible: IndexRecord?, existing: StoredRecord?,
                            attempt: Int) -> OperateStart {
        let outcome: WriteOutcome
        // The new record's bins are built in the thread's kept array when it has one.
        var bins = r.scratch?.takeRecordBins() ?? []
        defer { r.scratch?.keep(recordBins: &bins) }
        do {
            outcome = try applyAndCommit(r, current: current, visible: visible, existing: existing, bins: &bins)
        } catch {
            return .finished(.failure(EngineError.from(error)))
        }
        switch outcome {
        case .retry:
            return writeStep(r, attempt: attempt + 1)
        case .done(let result, nil):
            return .finished(.success(result))
        case .done(let result, let location?):
            return .pending(PendingOperate(wait: .durable(result, location: location)))
        }
    }

    /// The result of one commit: retry (the record changed), or done, with the location to wait
    /// for when the namespace commits to the device.
    private enum WriteOutcome {
        case retry
        case done(OperateResult, durableAt: RecordLocation?)
    }

    /// `bins` is an empty array to build the new record's bins in.
    private func applyAndCommit(_ r: WriteRequest, current: IndexRecord?, visible: IndexRecord?,
                                existing: StoredRecord?, bins: inout [StoredBin]) throws -> WriteOutcome {
        let digest = r.digest
        let o = r.options
        let now = nowMs
        let nowVT = UInt32(truncatingIfNeeded: now / 1000)
        let generation = visible?.generation ?? 0
        if let key = r.userKey, let storedKey = existing?.userKey, storedKey != key {
            throw EngineError(.keyMismatch, "record \(digest) was stored with another key")
        }
        if let predicate = o.predicate {
            // writeAttempt reads the existing record whenever a predicate is given.
            let selected = visible != nil
                && existing.map { predicate.matchCount($0, digest: digest, nowMs: now, storage: expressionStorage) > 0 } == true
            if !selected { throw EngineError(.keyNotFound, "record \(digest) is not selected by the query's index predicate") }
        }
        if let filter = o.filter, visible != nil, let existing, try !filter.passes(existing, digest: digest, nowMs: now, storage: expressionStorage) {
            throw EngineError(.filteredOut, "record \(digest) is filtered out")
        }

        // Apply the operations.
        let replaces = o.exists == .replace || o.exists == .replaceOnly || o.exists == .createOnly
        if !replaces, let old = existing?.bins {
            // Into kept memory when there is some; else share the old array until it changes.
            if bins.capacity == 0 { bins = old } else { bins.append(contentsOf: old) }
        }
        var results: [(String, StoredBin?)] = []
        var deleteRecord = false
        var touched = false
        var ttlRequest = o.ttl
        if let transform = r.transform {
            let input = TransformInput(
                digest: digest, exists: visible != nil, bins: visible == nil ? [] : (existing?.bins ?? []),
                generation: visible?.generation ?? 0, voidTime: visible?.voidTimeSeconds ?? 0,
                lastUpdateMs: visible == nil ? 0 : (existing?.lastUpdateMs ?? 0), nowMs: now,
                setName: existing?.setName ?? r.setName, userKey: existing?.userKey ?? (o.storeKey ? r.userKey : nil))
            let decision = transform.body(input)
            results = decision.reply.map { ($0.name, $0) }
            guard decision.failure == nil, case .write(let newBins) = decision.change else {
                let result = OperateResult(generation: visible?.generation ?? 0, voidTime: visible?.voidTimeSeconds ?? 0,
                                           bins: results, failure: decision.failure)
                return .done(result, durableAt: nil)
            }
            for bin in newBins { try BinMath.checkName(bin.name) }
            bins = newBins
            if let ttl = decision.ttl { ttlRequest = ttl }
            // A keep-the-TTL write of a new record gets the default TTL (as any write).
            if case .invalid(let wire) = ttlRequest { throw EngineError(.parameterError, "TTL \(wire) is above 10 years or not a TTL") }
        }
        for op in r.operations {
            switch op {
            case .read(let name):
                // Operations apply in order: a read sees the writes before it in this call.
                results.append((name, bins.first { $0.name == name }))
            case .readAll:
                for b in bins { results.append((b.name, b)) }
            case .readHeader:
                break
            case .write(let bin):
                try BinMath.checkName(bin.name)
                BinMath.set(&bins, bin)
            case .deleteBin(let name):
                bins.removeAll { $0.name == name }
            case .incrementInteger(let name, let delta):
                try BinMath.increment(&bins, name: name, by: delta)
            case .incrementFloat(let name, let delta):
                try BinMath.increment(&bins, name: name, by: delta)
            case .append(let name, let type, let bytes):
                try BinMath.concatenate(&bins, name: name, type: type, bytes: bytes, prepend: false)
            case .prepend(let name, let type, let bytes):
                try BinMath.concatenate(&bins, name: name, type: type, bytes: bytes, prepend: true)
            case .touch:
                touched = true
            case .deleteRecord:
                deleteRecord = true
                bins.removeAll()
            case .cdt(let name, _, _), .bits(let name, _, _), .hll(let name, _, _), .expression(let name, _, _):
                let scope = RecordScope(setName: existing?.setName ?? r.setName, userKey: existing?.userKey ?? (o.storeKey ? r.userKey : nil),
                                        digest: digest, lastUpdateMs: existing?.lastUpdateMs ?? now, voidTime: existing?.voidTime ?? 0, nowMs: now,
                                        storage: expressionStorage)
                results.append((name, try OperationLayer.apply(op, to: &bins, scope: scope)))
            }
        }
        if touched && visible == nil { throw EngineError(.keyNotFound, "cannot touch missing record \(digest)") }
        // The record's set: its copy's when read, else the index's (a request by digest alone
        // names none, and the record stays in its set).
        func storedSetName() -> String? { existing == nil ? visible.flatMap { sets.name(for: $0.setID) } : existing?.setName }
        let unread = !replaces && existing == nil && visible != nil
        // The new copy's bin names, when already known: an update that set exactly the bins it
        // had, without reading them, has the names it had.
        var knownNames: BinNameIDs?
        if unread, let visible {
            // An update that set every bin without reading them (`setsEveryBin`): keep the
            // record's bin order, as a merge would (its bins first, where they were; new ones after).
            let placed = keepStoredOrder(&bins, of: visible.binNameIDs, scratch: r.scratch)
            if placed == bins.count && placed == visible.binNameIDs.count { knownNames = visible.binNameIDs }
        }
        if bins.isEmpty {
            // A write that leaves no bins deletes the record (Aerospike semantics).
            guard let visible, let current else {
                if deleteRecord { throw EngineError(.keyNotFound, "no record \(digest) to delete") }
                throw EngineError(.keyNotFound, "record \(digest) does not exist and the write leaves no bins")
            }
            // A copy written over a durable delete keeps its barrier: deleting it writes a
            // tombstone, or the copy the first delete hid could come back after a cold start.
            let durable = o.durableDelete || options.forceDurableDeletes || current.flags.contains(.barrier)
            guard let tombstoneAt = try commitDelete(digest, current: current, visible: visible, durable: durable, now: now,
                                                     setName: storedSetName() ?? r.setName, userKey: existing?.userKey)
            else { return .retry }
            let result = OperateResult(generation: 0, voidTime: 0, bins: results)
            return .done(result, durableAt: options.storage.commitToDevice ? tombstoneAt : nil)
        }

        // Metadata of the new copy. Its (LUT, generation) is above the old copy's and its LUT
        // above any truncation, so resolution and truncation never mistake a new write for an
        // old one (`successorLut`).
        var newGeneration = generation &+ 1
        if newGeneration == 0 { newGeneration = 1 }
        let effectiveSet = r.setName ?? storedSetName()
        let setID: UInt16
        if let effectiveSet {
            guard let id = sets.id(for: effectiveSet) else {
                throw EngineError(.parameterError, "too many sets (\(NameRegistry.setCountMax) at most)")
            }
            setID = id
        } else {
            setID = 0
        }
        // Above the eviction mark's LUT too (checked again as it commits, against a running nsup
        // cycle's fence): a new copy is never hidden by an eviction that did not count it.
        let lut = successorLut(now: now, floor: max(truncateLutMs(setID: setID), evictionMark.lutMs) + 1,
                               replacing: current, generation: newGeneration)
        let voidTime: UInt32
        switch ttlRequest {
        case .never: voidTime = 0
        case .seconds(let s): voidTime = nowVT &+ s
        case .keepExisting: voidTime = visible?.voidTimeSeconds ?? defaultVoidTime(nowVT, set: effectiveSet, setID: setID)
        case .namespaceDefault: voidTime = defaultVoidTime(nowVT, set: effectiveSet, setID: setID)
        case .invalid(let wire): preconditionFailure("TTL \(wire) reached the commit: writeAttempt refuses it")
        }
        if visible == nil, let effectiveSet { try setLimits.admitCreate(setName: effectiveSet, setID: setID, namespace: self) }
        let device = storage.deviceIndex(for: digest)
        switch storage.writeAdmission(deviceIndex: device) {
        case .accept: break
        case .yieldFirst: sched_yield()  // let defrag catch up
        case .stopWrites:
            throw EngineError(.outOfSpace, "namespace \(options.name): device \(device) below stop-writes-avail-pct \(options.storage.currentStopWritesAvailPct)")
        }
        let key = (o.storeKey ? r.userKey : nil) ?? existing?.userKey
        // Written over a durable delete (the tombstone, or a copy that keeps its barrier), the
        // new copy keeps the barrier: the tombstone stops counting once it is replaced, and its
        // block may be reused while older copies of the digest remain (FORMAT.md "Durable-delete barrier").
        let barrier = current?.passesOnBarrier == true && options.storage.simulation?.bugs.contains(.lostDeleteBarrier) != true
        if barrier { try storage.allowBarrierRecords() }
        // The record is a temporary: once committed, `bins` is again its caller's alone.
        let record = StoredRecord(digest: digest, lastUpdateMs: lut, generation: newGeneration, voidTime: voidTime,
                                  setName: effectiveSet, userKey: key, bins: bins, barrier: barrier)
        let names = knownNames ?? (bins.count <= BinNameIDs.laneCount ? binNameIDs(of: bins, scratch: r.scratch) : .unknown)
        guard let location = try commit(record, digest: digest, expected: current, setID: setID, binNameIDs: names) else {
            return .retry
        }
        if unread { updatesWithoutRead.add(1, ordering: .relaxed) }
        let result = OperateResult(generation: newGeneration, voidTime: voidTime, bins: results)
        return .done(result, durableAt: options.storage.commitToDevice ? location : nil)
    }

    /// Whether an update leaves nothing of the old copy but its metadata, which the index holds:
    /// every operation is a plain bin write, the index knows the record's bin names and the
    /// writes set each of them, and the record keeps no user key (its set is in the index too).
    /// The write then commits without reading the old copy, and the index's
    /// compare-and-set on `visible` still refuses it if the record changed meanwhile.
    private func setsEveryBin(_ r: WriteRequest, of visible: IndexRecord) -> Bool {
        guard visible.binNameIDs.isKnown, !visible.flags.contains(.keyStored), !r.operations.isEmpty,
              r.options.filter == nil, r.options.predicate == nil, r.transform == nil
        else { return false }
        for op in r.operations {
            guard case .write = op else { return false }
        }
        // Each of the record's bins is among the written ones (a record has at most four here).
        for lane in 0..<BinNameIDs.laneCount {
            let id = visible.binNameIDs.id(inLane: lane)
            if id == 0 { break }
            var written = false
            for case .write(let bin) in r.operations where binNameID(bin.name, scratch: r.scratch) == id {
                written = true
                break
            }
            if !written { return false }
        }
        return true
    }

    /// Moves the bins named in `stored` (in the record's order: ``binNameIDs(of:scratch:)`` fills
    /// the lanes in bin order) to the front, in that order; the others keep theirs after them.
    /// Returns how many bins it placed (the stored ones among `bins`).
    private func keepStoredOrder(_ bins: inout [StoredBin], of stored: BinNameIDs, scratch: RecordScratch?) -> Int {
        var position = 0
        for lane in 0..<BinNameIDs.laneCount {
            let id = stored.id(inLane: lane)
            if id == 0 || position >= bins.count { return position }
            guard let at = bins[position...].firstIndex(where: { binNameID($0.name, scratch: scratch) == id }) else { continue }
            if at != position { bins.insert(bins.remove(at: at), at: position) }
            position += 1
        }
        return position
    }

    /// The ids of `bins`' names (at most ``BinNameIDs/laneCount``), or unknown when the table is full.
    private func binNameIDs(of bins: [StoredBin], scratch: RecordScratch?) -> BinNameIDs {
        var ids = BinNameIDs.unknown
        for bin in bins {
            guard let id = binNameID(bin.name, scratch: scratch), ids.insert(id) else { return .unknown }
        }
        return ids
    }

    /// The id of bin name `name`, assigned if new, from the thread's cache when it has it; nil
    /// when the table is full.
    @inline(__always)
    private func binNameID(_ name: String, scratch: RecordScratch?) -> UInt16? {
        let table = binNames.serial
        if let id = scratch?.withNameIDs({ $0.id(table: table, name: name) }) ?? nil { return id }
        guard let id = binNames.id(for: name) else { return nil }
        scratch?.withNameIDs { $0.remember(table: table, name: name, id: id) }
        return id
    }

    private func defaultVoidTime(_ nowVT: UInt32, set: String?, setID: UInt16) -> UInt32 {
        let ttl = options.defaultTTLSeconds(forSet: set, setID: setID)  // the set's default-ttl, else the namespace's
        return ttl == 0 ? 0 : nowVT &+ ttl
    }

    /// Appends `record` and points the index at it, if the index still holds `expected`.
    ///
    /// The record is borrowed all the way to its encoding: a copy of it cost a retain and a
    /// release of each of its arrays and strings per write. Only the rare write below an nsup
    /// cycle's fence is copied, to raise its last-update time.
    private func commit(_ record: borrowing StoredRecord, digest: Digest, expected: IndexRecord?, setID: UInt16,
                        binNameIDs: BinNameIDs = .unknown) throws -> RecordLocation? {
        let device = storage.deviceIndex(for: digest)
        return try index.withRecord(digest) { entry -> RecordLocation? in
            guard entry == expected else { return nil }
            let purpose: DeviceWriter.Purpose = record.isTombstone ? .delete : .client
            let location: RecordLocation
            var lastUpdateMs = record.lastUpdateMs
            // An nsup cycle may have counted this sprig before this write landed: commit above
            // its fence, so its raise cannot hide a record it did not count.
            if record.voidTime != 0, case let floor = evictionMark.lutFloorMs, lastUpdateMs <= floor {
                lastUpdateMs = floor + 1
            }
            // A create (generation 1) goes above a removed copy of the digest that may still be
            // on the device (`RemovedCopyLuts`). Read here, under the stripe, so that a delete
            // of this digest between the write's index read and now is seen.
            if expected == nil, case let removed = removedCopyLuts.lutMs(digest), lastUpdateMs <= removed,
               options.storage.simulation?.bugs.contains(.removedCopyLutIgnored) != true {
                lastUpdateMs = removed + 1
            }
            if lastUpdateMs != record.lastUpdateMs {
                lutAheadOfClock.raise(to: lastUpdateMs)
                var raised = copy record
                raised.lastUpdateMs = lastUpdateMs
                location = try storage.append(raised, deviceIndex: device, purpose: purpose)
            } else {
                location = try storage.append(record, deviceIndex: device, purpose: purpose)
            }
            var flags: IndexRecord.Flags = []
            if record.isTombstone { flags.insert(.tombstone) }
            if record.userKey != nil { flags.insert(.keyStored) }
            if record.barrier { flags.insert(.barrier) }
            entry = IndexRecord(digest: digest, generation: record.generation, lastUpdateTimeMs: lastUpdateMs,
                                voidTimeSeconds: record.voidTime, setID: setID, location: location, flags: flags,
                                binNameIDs: binNameIDs)
            if let old = expected { storage.release(old.location) }
            return location
        }
    }

    /// The last-update time of a new copy of a record whose index entry is `current`, to be
    /// written with `generation`: the clock, at least `floor` (above a truncation or the eviction
    /// mark), and ordered above `current`. A cold start orders a record's copies by LUT, then by
    /// generation, so an overwrite keeps the old LUT when the clock has not passed it and its
    /// generation is the higher; only when it is not (a record written over a tombstone or an
    /// expired copy starts again at generation 1, and the generation wraps after 65,535) does the
    /// LUT go 1 ms past the old one. As in Aerospike, a record written many times within one
    /// millisecond keeps that millisecond: a hot key's LUT does not run ahead of the clock.
    /// A LUT given ahead of the clock raises `lutAheadOfClock`.
    @inline(__always)
    private func successorLut(now: UInt64, floor: UInt64, replacing current: IndexRecord?, generation: UInt16) -> UInt64 {
        var lut = max(now, floor)
        if let current {
            let generationOrders = generation > current.generation
                || options.storage.simulation?.bugs.contains(.lutTieWithoutGenerationOrder) == true
            lut = max(lut, generationOrders ? current.lastUpdateTimeMs : current.lastUpdateTimeMs + 1)
        }
        if lut > now { lutAheadOfClock.raise(to: lut) }
        return lut
    }

    /// Deletes: a tombstone (durable) or just the index entry. Nil when the record changed;
    /// else the tombstone's location (nil for a plain delete).
    private func commitDelete(_ digest: Digest, current: IndexRecord, visible: IndexRecord, durable: Bool, now: UInt64,
                              setName: String?, userKey: StoredKey?) throws -> RecordLocation?? {
        if durable {
            var generation = visible.generation &+ 1
            if generation == 0 { generation = 1 }
            let lut = successorLut(now: now, floor: truncateLutMs(setID: visible.setID) + 1, replacing: current,
                                   generation: generation)
            let tombstone = StoredRecord.tombstone(digest: digest, lastUpdateMs: lut, generation: generation,
                                                   setName: setName, userKey: userKey)
            guard let location = try commit(tombstone, digest: digest, expected: current, setID: visible.setID) else {
                return nil
            }
            return .some(location)
        }
        return try index.withRecord(digest) { entry -> RecordLocation?? in
            guard entry == current else { return nil }
            removedCopyLuts.removed(digest, lutMs: current.lastUpdateTimeMs)
            entry = nil
            storage.release(current.location)
            return .some(nil)
        }
    }

    // MARK: - truncation

    /// Truncates the namespace (set nil) or one set: records last updated at or before `lutMs`
    /// (default: now, or the highest LUT a write was given ahead of the clock, so that every
    /// write acknowledged before the call is covered) disappear. Durable on every device before this returns, and honoured by
    /// reads, scans and every restart from then on (they compare each record's LUT with the
    /// truncate LUT). The index entries are then removed by a background sweep, so the caller
    /// (an info `truncate`) is answered without waiting for a walk of the whole index.
    public func truncate(setName: String?, lutMs: UInt64? = nil) throws(EngineError) {
        let lut = lutMs ?? max(nowMs, lutAheadOfClock.load(ordering: .relaxed))
        do { try storage.truncate(setName: setName, lutMs: lut) } catch { throw EngineError.from(error) }
        let setID = setName.flatMap { sets.existingID(for: $0) }
        truncationLuts.raise(setID: setID)
        if setName != nil && setID == nil { return }
        if options.deferTruncationSweeps {
            deferredSweeps.withLock { $0.append((setID, lut)) }
            return
        }
        runningSweeps.withLock { $0 += 1 }
        NamedThread.start("cairn-truncate") { [self] in
            self.sweepTruncated(setID: setID, lutMs: lut)
            runningSweeps.withLock { $0 -= 1 }
            runningSweeps.broadcast()
        }
    }

    /// Runs the truncation sweeps waiting since `truncate` (the simulator interleaves them with
    /// client work instead of sweep threads), in the order of their LUTs and sets, not of the
    /// truncations' returns: two truncations on two threads return in either order, and the
    /// order of the sweeps' releases decides which blocks are reused first. Returns how many ran.
    @discardableResult
    public func runDeferredSweeps() -> Int {
        let sweeps = deferredSweeps.withLock { s in
            defer { s.removeAll() }
            return s.sorted { ($0.lutMs, $0.setID ?? 0) < ($1.lutMs, $1.setID ?? 0) }
        }
        for sweep in sweeps { sweepTruncated(setID: sweep.setID, lutMs: sweep.lutMs) }
        return sweeps.count
    }

    /// Removes the index entries a truncation hid (and releases their space).
    func sweepTruncated(setID: UInt16?, lutMs lut: UInt64) {
        var doomed: [IndexRecord] = []
        index.forEachRecord { r in
            if (setID == nil || r.setID == setID) && r.lastUpdateTimeMs <= lut { doomed.append(r) }
        }
        do {
            for r in doomed {
                try index.withRecord(r.digest) { entry in
                    guard entry == r else { return }
                    entry = nil
                    storage.release(r.location)
                }
            }
        } catch {
            // Removal never allocates, so the index cannot fail here; the records stay hidden
            // by their LUT whatever happens to the sweep.
            preconditionFailure("truncate sweep: \(error)")
        }
    }

    // MARK: - statistics

    public struct Statistics: Sendable {
        public var objects: Int
        public var tombstones: Int
        public var liveBytes: UInt64
        public var deviceTotalBytes: UInt64
        /// How this namespace came up (warm, cold or fresh), why, and how long it took.
        public var startMode: StartReport.Mode
        public var startReason: String
        public var startSeconds: Double
        /// Space management (every device summed; available pct is the lowest device's).
        public var space: SpaceStatistics
        /// Record reads that went to the device (not answered from memory).
        public var deviceReads: UInt64 = 0
        /// Of ``deviceReads``, those the page cache served at once, inside the transaction's
        /// first step (`read-page-cache`); the rest went to a service thread's ring.
        public var deviceReadsAtOnce: UInt64 = 0
        /// Touches started by reads within the read-touch window.
        public var readTouches: UInt64 = 0
        /// Updates that set every bin their record had (its bin names were in the index), and
        /// so committed without reading the old copy.
        public var updatesWithoutRead: UInt64 = 0
    }

    public var statistics: Statistics {
        // The part before the whole: a read counts in both, the whole first, so a snapshot
        // never shows more reads at once than device reads.
        let atOnce = deviceReadsAtOnce.load(ordering: .acquiring)
        let deviceReads = deviceReadsStarted.load(ordering: .acquiring)
        let tombstones = index.tombstoneCount
        return Statistics(objects: index.entryCount - tombstones, tombstones: tombstones,
                          liveBytes: storage.devices.reduce(0) { $0 + $1.usage.totalLiveBytes },
                          deviceTotalBytes: storage.devices.reduce(0) { $0 + $1.device.sizeBytes },
                          startMode: startReport.mode, startReason: startReport.reason, startSeconds: startReport.seconds,
                          space: spaceStatistics, deviceReads: deviceReads, deviceReadsAtOnce: atOnce,
                          readTouches: readTouches.load(ordering: .relaxed),
                          updatesWithoutRead: updatesWithoutRead.load(ordering: .relaxed))
    }
}

extension Namespace {
    /// The storage engine as the expression ops device_size and memory_size see it.
    public var expressionStorage: ExpressionRecord.Storage {
        switch options.memory {
        case .none: .device
        case .persisted: .memoryPersisted
        case .unpersisted: .memoryOnly
        }
    }
}
