import CairnIO
import CairnIndex
import Synchronization

/// The devices of one namespace: opened, checked and marked in use at `open`, scanned by a cold
/// start, written and read while running, and marked clean by `close`.
///
/// Lifecycle: `open` → (`coldStart` when `needsColdStart`) → `start` → append/read/… → `close`.
/// Thread-safety: every method may be called from any thread once started.
public final class NamespaceStorage: Sendable {
    public let options: StorageOptions
    public let devices: [StorageDevice]
    /// `devices` again, borrowed: the per-transaction paths reach their device through these,
    /// with no retain of an object every service thread shares (`devices` keeps them alive).
    /// Reach the object inside `with { }`: a `let` of the object is a retain again.
    let deviceRefs: [Unretained<StorageDevice>]
    public let instanceId: UInt64
    public let geometry: DeviceGeometry
    public let sequencer: BlockSequencer
    /// Bytes appended by clients and by defrag.
    public let appended = AppendCounters()
    /// What `open` found.
    public let openReport: OpenReport
    private let truncationTable: Mutex<TruncationTable>
    /// Whether the headers say records may carry `RecordFlags.barrier` (see `allowBarrierRecords`).
    private let barrierRecordsCell: Atomic<Bool>
    private let started = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)

    public struct OpenReport: Sendable {
        /// Every device was zeroed: a new namespace instance was created.
        public var fresh: Bool
        /// Every previously used device was closed cleanly.
        public var priorShutdownClean: Bool
        /// One line per device that was not clean, for the log.
        public var notCleanDevices: [String]
        /// Devices initialised in this open (zeroed, or foreign with explicit initialisation).
        public var initializedDevices: [String]
        /// Header copies found damaged (the other copy was used), for the log.
        public var damagedHeaderCopies: [String]
        /// The shared-index identity and flags of the headers as found (for warm restart).
        public var headers: [DeviceHeader]
    }

    private init(options: StorageOptions, devices: [StorageDevice], instanceId: UInt64, geometry: DeviceGeometry,
                 highestSequence: UInt64, truncation: TruncationTable, report: OpenReport) {
        barrierRecordsCell = Atomic(devices.contains { $0.header.barrierRecords })
        self.options = options
        self.devices = devices
        deviceRefs = devices.map { Unretained($0) }
        self.instanceId = instanceId
        self.geometry = geometry
        sequencer = BlockSequencer(after: highestSequence)
        truncationTable = Mutex(truncation)
        openReport = report
    }

    /// Whether the devices hold data that must be scanned to rebuild the index.
    public var needsColdStart: Bool { !openReport.fresh }

    // MARK: - open

    /// Opens every device, reads and checks its header, and marks every device "in use, not
    /// clean" (durably, before any data write), so a crash from here on forces a cold start.
    ///
    /// Refuses, naming the device and the reason: a device of another namespace, another
    /// namespace instance or another block size; a device at another position in the list; a
    /// device with both header copies damaged; foreign data (unless `initializeForeignDevices`).
    public static func open(_ options: StorageOptions) throws -> NamespaceStorage {
        guard !options.devices.isEmpty, options.devices.count <= FormatLimits.deviceCountMax else {
            throw StorageError.refused(path: options.namespaceName,
                                       reason: "a namespace needs 1...\(FormatLimits.deviceCountMax) devices")
        }
        let geometry: DeviceGeometry
        do { geometry = try DeviceGeometry(writeBlockSizeBytes: options.writeBlockSizeBytes) } catch {
            throw StorageError.refused(path: options.namespaceName, reason: "\(error)")
        }
        struct Found {
            let device: BlockDevice
            let classification: DeviceClassification
        }
        var found: [Found] = []
        for spec in options.devices {
            let device: BlockDevice
            do {
                device = try options.openDevice(spec)
            } catch {
                throw StorageError.io(error)
            }
            guard options.writeBlockSizeBytes % device.alignmentBytes == 0 else {
                throw StorageError.refused(path: spec.path, reason:
                    "write-block-size \(options.writeBlockSizeBytes) is not a multiple of the device's alignment \(device.alignmentBytes)")
            }
            let blocks = geometry.blockCount(deviceSizeBytes: device.sizeBytes)
            guard blocks >= 2 else {
                throw StorageError.refused(path: spec.path, reason:
                    "device of \(device.sizeBytes) bytes holds no data block of \(options.writeBlockSizeBytes) bytes after the header block")
            }
            let region = AlignedBuffer(countBytes: DeviceHeaderFormat.regionSizeBytes, alignmentBytes: device.alignmentBytes)
            do { try device.readSync(into: region, at: 0) } catch { throw StorageError.io(error) }
            let classification = region.withUnsafeBytes { DeviceHeaderFormat.classify(headerRegionUntrusted: $0) }
            found.append(Found(device: device, classification: classification))
        }

        var report = OpenReport(fresh: true, priorShutdownClean: true, notCleanDevices: [], initializedDevices: [],
                                damagedHeaderCopies: [], headers: [])
        var instanceId: UInt64?
        var highestSequence: UInt64 = 0
        var truncation = TruncationTable()
        var barrierRecords = false
        var readings: [DeviceHeaderReading?] = []
        for (position, f) in found.enumerated() {
            let path = f.device.path
            switch f.classification {
            case .zeroed:
                readings.append(nil)
            case .foreign:
                guard options.initializeForeignDevices else {
                    throw StorageError.refused(path: path, reason: f.classification.refusalMessage(devicePath: path)
                        ?? "not a Cairn device and not zeroed")
                }
                readings.append(nil)
            case .damaged:
                throw StorageError.refused(path: path, reason: f.classification.refusalMessage(devicePath: path)
                    ?? "both header copies are damaged")
            case .cairn(let reading):
                let h = reading.header
                if h.namespaceName != options.namespaceName {
                    throw StorageError.refused(path: path, reason:
                        "device belongs to namespace '\(h.namespaceName)', not '\(options.namespaceName)'")
                }
                if Int(h.writeBlockSizeBytes) != options.writeBlockSizeBytes {
                    throw StorageError.refused(path: path, reason:
                        "device was written with write-block-size \(h.writeBlockSizeBytes), config says \(options.writeBlockSizeBytes)")
                }
                if Int(h.deviceIndex) != position || Int(h.deviceCount) != options.devices.count {
                    throw StorageError.refused(path: path, reason:
                        "device was device \(h.deviceIndex) of \(h.deviceCount) in this namespace; config lists it as \(position) of \(options.devices.count) (device order or count changed)")
                }
                if let id = instanceId, id != h.namespaceInstanceId {
                    throw StorageError.refused(path: path, reason:
                        "device belongs to another instance of namespace '\(h.namespaceName)' (instance \(h.namespaceInstanceId), others \(id))")
                }
                instanceId = h.namespaceInstanceId
                report.fresh = false
                if !h.cleanShutdown {
                    report.priorShutdownClean = false
                    report.notCleanDevices.append("device \(path) prior shutdown not clean")
                }
                if reading.hasDamagedCopy {
                    report.damagedHeaderCopies.append("\(path): one header copy damaged (\(reading.copyA); \(reading.copyB)); using the other")
                }
                highestSequence = max(highestSequence, h.highestBlockSequence)
                barrierRecords = barrierRecords || h.barrierRecords
                if h.truncation.namespaceLutMs > truncation.namespaceLutMs || !h.truncation.sets.isEmpty
                    || h.truncation.hasEvictionMark
                {
                    truncation = mergeTruncation(truncation, h.truncation)
                }
                report.headers.append(h)
                readings.append(reading)
            }
        }
        if report.fresh { report.priorShutdownClean = true }
        let id = instanceId ?? newInstanceId(options.simulation?.random)
        var devices: [StorageDevice] = []
        for (position, f) in found.enumerated() {
            let header = DeviceHeader(
                namespaceName: options.namespaceName, namespaceInstanceId: id, deviceIndex: UInt16(position),
                deviceCount: UInt16(options.devices.count), writeBlockSizeBytes: UInt32(options.writeBlockSizeBytes),
                partitionTreeSprigs: UInt32(options.partitionTreeSprigs), cleanShutdown: false,
                // Sticky and namespace-wide: once one device's records may carry the flag, every
                // header says so (one copy here; `allowBarrierRecords` writes both).
                barrierRecords: barrierRecords,
                highestBlockSequence: highestSequence,
                // Kept from the device; a new device has nothing written past its header block.
                blocksWrittenMark: readings[position]?.header.blocksWrittenMark ?? UInt32(DeviceGeometry.firstDataBlockIndex),
                truncation: truncation, sharedIndex: readings[position]?.header.sharedIndex)
            let slot = readings[position]?.nextWriteSlot ?? .a
            let generation = readings[position]?.nextWriteGeneration ?? 1
            let blocks = Int(geometry.blockCount(deviceSizeBytes: f.device.sizeBytes))
            let sd = StorageDevice(index: position, device: f.device, blockCount: blocks, header: header,
                                   nextSlot: slot, nextGeneration: generation, bugs: options.simulation?.bugs ?? [],
                                   markStep: options.simulation?.headerStep.map(UInt32.init) ?? StorageDevice.blocksWrittenMarkStep)
            if readings[position] == nil {
                // A fresh (or explicitly initialised) device: both copies are written, so no stale
                // or foreign copy can ever win over the new header.
                try sd.writeHeader { _ in }
                try sd.writeHeader { _ in }
                report.initializedDevices.append(f.device.path)
            } else {
                try sd.writeHeader { _ in }  // not clean from now on
            }
            devices.append(sd)
        }
        return NamespaceStorage(options: options, devices: devices, instanceId: id, geometry: geometry,
                                highestSequence: highestSequence, truncation: truncation, report: report)
    }

    private static func newInstanceId(_ random: (@Sendable () -> UInt64)?) -> UInt64 {
        var g = SystemRandomNumberGenerator()
        var id: UInt64 = 0
        while id == 0 { id = random?() ?? g.next() }
        return id
    }

    private static func mergeTruncation(_ a: TruncationTable, _ b: TruncationTable) -> TruncationTable {
        var merged = a
        merged.namespaceLutMs = max(a.namespaceLutMs, b.namespaceLutMs)
        merged.raiseEvictionMark(voidTime: b.evictVoidTime, lutMs: b.evictLutMs)
        for set in b.sets where set.lutMs > merged.truncateLutMs(forSet: set.setName) {
            do { try merged.setLutMs(set.lutMs, forSet: set.setName) } catch {
                preconditionFailure("truncation table read from a device no longer fits: \(error)")
            }
        }
        return merged
    }

    // MARK: - running

    /// Starts the writers and readers. `firstPristineBlock[i]` and `freeBlocks[i]` tell device i
    /// where it may write (from a cold start or a rebuild); fresh devices start at block 1.
    /// `mirrors[i]`, when given, is device i's memory copy: reads are served from it.
    public func start(firstPristineBlocks: [UInt32]? = nil, freeBlocks: [[UInt32]]? = nil, mirrors: [MemoryMirror]? = nil) {
        precondition(!started.exchange(true, ordering: .acquiringAndReleasing), "storage started twice")
        // Weak: the sequencer is the storage's own (a strong reference would be a cycle through
        // the writers, keeping every device open, and its exclusive claim, after the namespace).
        let reservationStep = options.simulation?.headerStep.map(UInt64.init) ?? NamespaceStorage.sequenceReservationStep
        sequencer.reserveDurably(step: reservationStep, bugs: options.simulation?.bugs ?? []) { [weak self] through in
            guard let self else { throw StorageError.closed }
            for d in self.devices {
                try d.writeHeader(bothCopies: true) { $0.highestBlockSequence = max($0.highestBlockSequence, through) }
            }
        }
        let instance = instanceId
        let blockSize = options.writeBlockSizeBytes
        for d in devices {
            var config = DeviceWriter.Configuration(
                writeBlockSizeBytes: blockSize, flushMaxMs: options.flushMaxMs, commitToDevice: options.commitToDevice,
                queueDepth: options.writeQueueDepth, maxWriteCacheBytes: options.maxWriteCacheBytes,
                postWriteCacheBytes: options.postWriteCacheBytes,
                defragReserveBlocks: NamespaceStorage.defragReserveBlocks(dataBlocks: d.blockCount - Int(DeviceGeometry.firstDataBlockIndex)))
            config.tunables = options.tunables
            config.simulation = options.simulation
            config.fillPageCache = options.fillPageCache
            let deviceIndex = UInt16(d.index)
            let usage = d.usage
            let writer = DeviceWriter(
                device: d.device, deviceIndex: d.index, configuration: config, sequencer: sequencer,
                blockHeaderSizeBytes: BlockHeader.sizeBytes,
                firstPristineBlock: firstPristineBlocks?[d.index] ?? DeviceGeometry.firstDataBlockIndex,
                mirror: mirrors?[d.index],
                isBlockEmpty: { usage.liveBytes(block: $0) == 0 },
                // Unowned, not weak: d owns the writer, which calls this only while an append
                // (holding d) opens a block. A weak reference would give d a side table, and every
                // retain of d on the write path (two per put) would take the runtime's slow path.
                beforeFirstUse: { [unowned d] block in try d.coverWithMark(block) },
                // Weak, like the sequencer's: the flusher runs this, not an append holding d.
                headerUpkeep: { [weak self, sequencer] nextPristineBlock in
                    guard let self else { return }
                    try sequencer.renewAhead()
                    try self.devices[Int(deviceIndex)].coverAhead(nextPristineBlock: nextPristineBlock)
                }
            ) { raw, sequence, block in
                let header = BlockHeader(
                    sequence: sequence, namespaceInstanceId: instance, blockIndex: block, deviceIndex: deviceIndex,
                    writeBlockSizeBytes: UInt32(blockSize), usedBytes: UInt32(blockSize - BlockHeader.sizeBytes),
                    recordCount: 0)
                do { try header.encode(into: raw) } catch {
                    preconditionFailure("block header built by the writer does not encode: \(error)")
                }
            }
            if let free = freeBlocks?[d.index] { writer.addFreeBlocks(free) }
            let reader = DeviceReader(device: d.device, queueDepth: options.readQueueDepth)
            d.runtime.publish(StorageDevice.Runtime(writer: writer, reader: reader))
            writer.start()
            reader.start()
        }
    }

    /// Block sequences made durable at a time (two header writes per device per this many
    /// block opens; see ``BlockSequencer``).
    static let sequenceReservationStep: UInt64 = 64

    /// The device a digest's records are written to (digest bits not used by partition or sprig).
    @inline(__always)
    public func deviceIndex(for digest: Digest) -> Int {
        return Int(digest.word1 % UInt64(devices.count))
    }

    /// Encodes `record` into the current buffer of `deviceIndex`; returns where it went and
    /// counts its bytes live in that block.
    public func append(_ record: borrowing StoredRecord, deviceIndex: Int,
                       purpose: DeviceWriter.Purpose = .client) throws -> RecordLocation {
        let maxSize = geometry.recordSizeBytesMax
        let size: Int
        do { size = try RecordFormat.encodedSize(of: record, recordSizeBytesMax: maxSize) } catch {
            if case .recordTooLarge(let s, let m) = error { throw StorageError.recordTooBig(sizeBytes: s, maxBytes: m) }
            throw error
        }
        return try append(sizeBytes: size, deviceIndex: deviceIndex, purpose: purpose) { raw, sequence in
            RecordFormat.encode(record, sizeBytes: size, blockSequence: sequence, into: raw)
        }
    }

    /// Appends a verbatim copy of a stored record (defrag): `record`, a whole record the block
    /// scanner verified, with the tag of its new block and a new CRC (`RecordFormat.copy`).
    /// Returns where it went and counts its bytes live in that block. (A record that came from a
    /// block fits one; the writer refuses any that does not.)
    public func appendCopy(of record: UnsafeRawBufferPointer, deviceIndex: Int,
                           purpose: DeviceWriter.Purpose = .defrag) throws -> RecordLocation {
        try append(sizeBytes: record.count, deviceIndex: deviceIndex, purpose: purpose) { raw, sequence in
            RecordFormat.copy(record: record, blockSequence: sequence, into: raw)
        }
    }

    /// Reserves `sizeBytes` in the current buffer of `deviceIndex`, lets `fill` write the record
    /// there, and counts its bytes live in that block.
    private func append(sizeBytes size: Int, deviceIndex: Int, purpose: DeviceWriter.Purpose,
                        fill: DeviceWriter.Encoder) throws -> RecordLocation {
        let location = try deviceRefs[deviceIndex].with { device in
            let location = try device.withWriter { writer in try writer.append(sizeBytes: size, purpose: purpose, encode: fill) }
            device.usage.add(block: location.blockIndex(writeBlockSizeBytes: options.writeBlockSizeBytes), bytes: size)
            return location
        }
        appended.count(UInt64(size), defrag: purpose == .defrag)
        return location
    }

    /// Releases the bytes of a record copy the index no longer points at.
    /// A block left with no live bytes goes the free-block way (reused once what replaced its
    /// records is durable); one left below the defrag low-water mark is queued for defrag.
    public func release(_ location: RecordLocation) {
        let block = location.blockIndex(writeBlockSizeBytes: options.writeBlockSizeBytes)
        deviceRefs[Int(location.deviceIndex)].with { d in
            let live = d.usage.remove(block: block, bytes: location.sizeBytes)
            if live == 0 {
                d.defragQueue.remove(block)
                d.withWriter { $0.blockEmptied(block) }
            } else if live < defragLWMBytes {
                d.defragQueue.insert(block)
            }
        }
    }

    /// Calls `callback` once the record at `location` is durable (commit-to-device).
    public func whenDurable(_ location: RecordLocation, via delivery: DeviceWriter.DurableDelivery? = nil,
                            _ callback: @escaping DeviceWriter.DurableCallback) {
        deviceRefs[Int(location.deviceIndex)].with { $0.withWriter { $0.whenDurable(location, via: delivery, callback) } }
    }

    /// Waits until the record at `location` is durable.
    public func waitDurable(_ location: RecordLocation) throws(StorageError) {
        let outcome: StorageError? = waitForCallback { done in whenDurable(location, done) }
        if let error = outcome { throw error }
    }

    /// Reads and fully checks the record at `location`: CRC, format, and that it is the record
    /// the index expects (digest). From memory when its block is still buffered.
    public func read(_ location: RecordLocation, expecting digest: Digest) throws(StorageError) -> StoredRecord {
        if let bytes = memoryCopy(location) { return try decode(bytes, location: location, expecting: digest) }
        let bytes = try devices[Int(location.deviceIndex)].reader.readSync(location)
        return try decode(bytes, location: location, expecting: digest)
    }

    /// The checked record at `location` if its bytes are in memory (its buffered block, the
    /// post-write cache, or a memory namespace's copy); nil when only the device has them. Never
    /// does device I/O, so a transaction can run to completion on the thread that asks.
    ///
    /// The bytes are copied out under the writer's lock into a buffer on the stack (records up to
    /// ``stackCopyBytesMax``) and decoded from there: decoding copies the values out anyway, so a
    /// heap array of the whole record would be a second copy and an allocation per read.
    ///
    /// With a `scratch` of the calling thread, the bins are decoded into its kept memory (see
    /// ``RecordScratch``).
    public func readFromMemory(_ location: RecordLocation, expecting digest: Digest,
                               scratch records: RecordScratch? = nil) throws(StorageError) -> StoredRecord? {
        let size = location.sizeBytes
        if size <= 1024 {  // always on the stack (Swift's own limit for temporary allocations)
            return try withUnsafeTemporaryAllocation(byteCount: size, alignment: 16) {
                (scratch) throws(StorageError) -> StoredRecord? in try decodeFromMemory(location, digest, scratch, records)
            }
        }
        if size <= Self.stackCopyBytesMax {
            // Larger temporary allocations go to the heap when Swift cannot prove the stack has
            // room, so a fixed-size stack buffer instead (its zeroing costs less than a malloc).
            var scratch = InlineArray<4096, UInt8>(repeating: 0)
            var span = scratch.mutableSpan
            return try span.withUnsafeMutableBytes { (raw) throws(StorageError) -> StoredRecord? in
                try decodeFromMemory(location, digest, UnsafeMutableRawBufferPointer(rebasing: raw[0..<size]), records)
            }
        }
        guard let bytes = memoryCopy(location) else { return nil }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(StorageError) -> StoredRecord in try decode(raw, location: location, expecting: digest, scratch: records) }
        }
        return try result.get()
    }

    /// Records up to this size are read from memory through a stack buffer, not an array.
    static let stackCopyBytesMax = 4096

    private func decodeFromMemory(_ location: RecordLocation, _ digest: Digest,
                                  _ scratch: UnsafeMutableRawBufferPointer, _ records: RecordScratch?) throws(StorageError) -> StoredRecord? {
        guard copyFromMemory(location, into: scratch) else { return nil }
        return try decode(UnsafeRawBufferPointer(scratch), location: location, expecting: digest, scratch: records)
    }

    /// Copies the record's bytes from memory into `destination` (exactly its size); false when
    /// only the device has them.
    private func copyFromMemory(_ location: RecordLocation, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        deviceRefs[Int(location.deviceIndex)].with { device in
            device.withWriter { writer in
                if writer.readFromMemory(location, into: destination) { return true }
                guard let mirror = writer.mirror else { return false }
                mirror.read(location, into: destination)
                return true
            }
        }
    }

    /// The record's bytes from memory (its buffered block, the post-write cache, or a memory
    /// namespace's copy), or nil when only the device has them.
    private func memoryCopy(_ location: RecordLocation) -> [UInt8]? {
        let writer = devices[Int(location.deviceIndex)].writer
        if let bytes = writer.memoryCopy(location) { return bytes }
        guard let mirror = writer.mirror else { return nil }
        return [UInt8](unsafeUninitializedCapacity: location.sizeBytes) { destination, initialized in
            mirror.read(location, into: UnsafeMutableRawBufferPointer(destination))
            initialized = location.sizeBytes
        }
    }

    /// Asynchronous read: `callback` gets the checked record (on a reader thread, or inline
    /// when the block is in memory).
    public func read(_ location: RecordLocation, expecting digest: Digest,
                     callback: @escaping @Sendable (Result<StoredRecord, StorageError>) -> Void) {
        if let bytes = memoryCopy(location) {
            callback(Result { () throws(StorageError) in try self.decode(bytes, location: location, expecting: digest) })
            return
        }
        devices[Int(location.deviceIndex)].reader.read(location) { result in
            switch result {
            case .failure(let e): callback(.failure(e))
            case .success(let raw):
                callback(Result { () throws(StorageError) in try self.decode(raw, location: location, expecting: digest) })
            }
        }
    }

    /// The checked record at `location` when the page cache holds all its bytes, read at once
    /// on the calling thread through `reads`, the ring reads `scratch` carries for that thread
    /// (``RecordScratch/pageCacheReads``, which the caller took on it), and decoded into
    /// `scratch`; nil when it does not. For a location ``readsThroughPageCache(_:)`` says yes to
    /// (the caller asks once; an O_DIRECT device has no page-cache descriptor, so its read would
    /// only answer nil). Never waits for the device, and makes no escaping closure.
    public func readCached(_ location: RecordLocation, expecting digest: Digest, through reads: any OwnedRingReads,
                           scratch: RecordScratch) throws(StorageError) -> StoredRecord? {
        let device = devices[Int(location.deviceIndex)].device
        let result = reads.readCached(from: device, byteOffset: location.byteOffset, sizeBytes: location.sizeBytes) { raw in
            Result { () throws(StorageError) -> StoredRecord in
                try decode(raw, location: location, expecting: digest, scratch: scratch)
            }
        }
        return try result?.get()
    }

    /// Whether the record at `location` is read through the page cache (a real device with
    /// `read-page-cache`), so ``readCached(_:expecting:through:scratch:)`` may serve it.
    public func readsThroughPageCache(_ location: RecordLocation) -> Bool {
        // Borrowed for the check: an O_DIRECT device's reads pay no reference counting here.
        deviceRefs[Int(location.deviceIndex)].with { $0.device.medium == nil && $0.device.readsThroughPageCache }
    }

    /// Asynchronous read from the device on a thread's own ring, for a record that
    /// ``readFromMemory(_:expecting:scratch:)`` did not find (a block never comes back into
    /// memory once it left): `callback` gets the checked record on the thread that owns
    /// `reads`. With a `scratch` of that thread, the record is decoded into it
    /// (``RecordScratch``). `pageCacheTried`: ``readCached(_:expecting:through:scratch:)`` was tried
    /// just before, so the ring read does not try the page cache at once again.
    public func read(_ location: RecordLocation, expecting digest: Digest, through reads: any OwnedRingReads,
                     pageCacheTried: Bool, scratch: RecordScratch? = nil,
                     callback: @escaping @Sendable (Result<StoredRecord, StorageError>) -> Void) {
        let device = devices[Int(location.deviceIndex)].device
        if device.medium != nil {  // a simulated device has no file descriptor for the ring
            read(location, expecting: digest, callback: callback)
            return
        }
        reads.read(from: device, byteOffset: location.byteOffset, sizeBytes: location.sizeBytes,
                   tryingPageCacheFirst: !pageCacheTried) { result in
            switch result {
            case .failure(let e): callback(.failure(.io(e)))
            case .success(let raw):
                callback(Result { () throws(StorageError) in
                    try self.decode(raw, location: location, expecting: digest, scratch: scratch)
                })
            }
        }
    }

    private func decode(_ bytes: [UInt8], location: RecordLocation, expecting digest: Digest) throws(StorageError) -> StoredRecord {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(StorageError) -> StoredRecord in try decode(raw, location: location, expecting: digest) }
        }
        return try result.get()
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, location: RecordLocation, expecting digest: Digest,
                        scratch: RecordScratch? = nil) throws(StorageError) -> StoredRecord {
        let decoded: DecodedRecord
        do throws(FormatDecodingError) {
            if let kept = try scratch?.withBins({ (bins) throws(FormatDecodingError) in
                try RecordFormat.decode(recordUntrusted: bytes, reusing: &bins)
            }) {
                decoded = kept
            } else {
                decoded = try RecordFormat.decode(recordUntrusted: bytes)
            }
        } catch {
            throw .corruptRecord(location: location, path: devices[Int(location.deviceIndex)].device.path, reason: error.description)
        }
        var path: String { devices[Int(location.deviceIndex)].device.path }
        guard decoded.sizeBytes == location.sizeBytes else {
            throw .corruptRecord(location: location, path: path,
                                 reason: "record is \(decoded.sizeBytes) bytes, index says \(location.sizeBytes)")
        }
        guard decoded.record.digest == digest else {
            throw .corruptRecord(location: location, path: path,
                                 reason: "digest \(decoded.record.digest) is not the expected \(digest)")
        }
        return decoded.record
    }

    /// Counts a record read of `location` that failed for good (the device's error, or a copy
    /// that fails its checks while the index still points at it), not one that failed because
    /// the record moved meanwhile and is read again: Aerospike's per-device `read_errors`.
    public func countReadError(_ location: RecordLocation, _ error: StorageError) {
        switch error {
        case .io, .corruptRecord:
            deviceRefs[Int(location.deviceIndex)].with { _ = $0.readErrors.add(1, ordering: .relaxed) }
        case .deviceFull, .overloaded, .recordTooBig, .closed, .refused:
            break
        }
    }

    /// Record reads that failed for good on every device since open (``countReadError(_:_:)``).
    public var readErrorCount: UInt64 { devices.reduce(0) { $0 + $1.readErrors.load(ordering: .relaxed) } }

    /// Reads issued on every device since open (headers included) and their bytes.
    public var deviceReads: (count: UInt64, bytes: UInt64) {
        devices.reduce((UInt64(0), UInt64(0))) { ($0.0 + $1.device.readCount, $0.1 + $1.device.readBytes) }
    }

    // MARK: - truncation

    public var truncation: TruncationTable { truncationTable.withLock { $0 } }

    /// Records a truncation and writes it to every device's header durably before returning.
    public func truncate(setName: String?, lutMs: UInt64) throws {
        try truncationTable.withLock { t in
            if let setName {
                if lutMs > t.truncateLutMs(forSet: setName) { try t.setLutMs(lutMs, forSet: setName) }
            } else {
                t.namespaceLutMs = max(t.namespaceLutMs, lutMs)
            }
        }
        // The table is read inside each (serialised) header write, so of two truncations racing,
        // the last header written holds both. Both copies: a truncation must survive damage to
        // either one, or its records would come back.
        for d in devices { try d.writeHeader(bothCopies: true) { $0.truncation = self.truncation } }
    }

    /// Raises the eviction mark (records with a void time at or below `voidTime`, last updated at
    /// or before `lutMs`, are evicted) and writes it to every device's header durably, both
    /// copies, before returning: from then on no restart brings those records back.
    public func raiseEvictionMark(voidTime: UInt32, lutMs: UInt64) throws {
        precondition(voidTime != 0 && lutMs != 0, "an eviction mark is nonzero")
        let before = truncationTable.withLock { t -> (voidTime: UInt32, lutMs: UInt64) in
            let old = (t.evictVoidTime, t.evictLutMs)
            t.raiseEvictionMark(voidTime: voidTime, lutMs: lutMs)
            return old
        }
        if options.simulation?.bugs.contains(.volatileEvictionMark) == true { return }
        do {
            for d in devices { try d.writeHeader(bothCopies: true) { $0.truncation = self.truncation } }
        } catch {
            // The caller counts nothing evicted: put the mark back in memory, so that no later
            // header write (a truncation, a clean stop) makes this raise durable unannounced, and
            // on every device that took it (best effort: the device that failed may fail again).
            truncationTable.withLock { t in
                t.evictVoidTime = before.voidTime
                t.evictLutMs = before.lutMs
            }
            for d in devices { try? d.writeHeader(bothCopies: true) { $0.truncation = self.truncation } }
            throw error
        }
    }

    // MARK: - durable-delete barrier

    /// Whether records may carry `RecordFlags.barrier` (the headers say so durably).
    public var barrierRecordsAllowed: Bool { barrierRecordsCell.load(ordering: .acquiring) }

    /// Makes every device's header say that records may carry `RecordFlags.barrier` (both
    /// copies, durably) before the first such record is appended, so a Cairn build that does
    /// not know the flag refuses the devices rather than skip those records as damage. Once per
    /// namespace: a synchronous header write on the caller's thread, which holds no lock. A
    /// failure leaves it not allowed and is thrown (the write that needed it fails).
    public func allowBarrierRecords() throws {
        if barrierRecordsAllowed { return }
        for d in devices { try d.writeHeader(bothCopies: true) { $0.barrierRecords = true } }
        barrierRecordsCell.store(true, ordering: .releasing)
    }

    // MARK: - close

    /// Flushes every buffer, waits for the devices, then writes both header copies' next slot
    /// with the clean flag and the highest block sequence. With `clean: false` (tests simulating
    /// a crash) the headers are left not clean.
    public func close(clean: Bool = true, sharedIndex: SharedIndexIdentity? = nil) throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var firstError: (any Error)?
        if started.load(ordering: .acquiring) {
            for d in devices {
                do { try d.writer.close() } catch { firstError = firstError ?? error }
                d.reader.close()
            }
        }
        if let firstError { throw firstError }
        guard clean else { return }
        let highest = sequencer.highest
        let table = truncation
        for d in devices {
            try d.writeHeader { h in
                h.cleanShutdown = true
                h.highestBlockSequence = highest
                h.truncation = table
                h.sharedIndex = sharedIndex
            }
        }
    }
}
