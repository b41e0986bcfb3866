import CairnIO
import CairnIndex
import CairnStorage
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a namespace keeps what survives a clean stop (DESIGN.md "Restarts").
public struct SharedMemoryOptions: Sendable, Equatable {
    /// Normally /dev/shm (`shm-directory`); any tmpfs or persistent-memory mount works.
    public var directory: String
    /// Prefix of every file: `[A-Za-z0-9._-]`, 1...64 characters (derived from namespace + node).
    public var name: String

    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    /// `cairn-<namespace>-<node id hex>`, with characters a file name cannot hold replaced by `_`.
    public static func name(namespace: String, nodeID: UInt64) -> String {
        let safe = String(namespace.unicodeScalars.map { c -> Character in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "-" || c == "_") ? Character(c) : "_"
        })
        return String("cairn-\(safe)-\(String(nodeID, radix: 16))".prefix(64))
    }
}

/// Where a namespace's records live when it is a `storage-engine memory` namespace.
public enum MemoryStorageMode: Sendable, Equatable {
    /// `storage-engine device`: records on the devices only (reads go to the device).
    case none
    /// Memory with `file`/`device` persistence: every write also goes to the devices through the
    /// normal write path; reads are served from a shared-memory copy of each device.
    case persisted
    /// Memory without persistence: the only copy is a shared-memory file of `dataSizeBytes`,
    /// written through the same block format (so a warm restart keeps it); any other restart
    /// starts empty.
    case unpersisted(dataSizeBytes: UInt64)
}

/// The files of one namespace in the shared-memory directory.
///
/// ```
/// <name>.header / .sprigs / .stage-NNNN   the primary index (PrimaryIndex .sharedFiles)
/// <name>.state                             WarmState: set table, next pristine block per device,
///                                          identity; written last at a clean stop, removed at start
/// <name>.mirror-N                          memory copy of persisted device N (memory namespaces)
/// <name>.data                              the data of a memory namespace without persistence
/// ```
struct SharedMemoryLayout: Sendable {
    let directory: String
    let name: String

    init(_ options: SharedMemoryOptions) {
        directory = options.directory
        name = options.name
    }

    var statePath: String { "\(directory)/\(name).state" }
    var dataPath: String { "\(directory)/\(name).data" }
    func mirrorPath(_ device: Int) -> String { "\(directory)/\(name).mirror-\(device)" }

    /// Removes the index, the state and every memory copy (not the unpersisted data file).
    func removeSegments(deviceCount: Int) throws {
        try PrimaryIndex.removeSharedFiles(directory: directory, name: name)
        try WarmState.remove(path: statePath)
        for device in 0..<max(deviceCount, FormatLimits.deviceCountMax) {
            try MemoryMirror.remove(path: mirrorPath(device))
        }
    }

    /// Also the data file of an unpersisted memory namespace.
    func removeAll(deviceCount: Int) throws {
        try removeSegments(deviceCount: deviceCount)
        try MemoryMirror.remove(path: dataPath)
    }
}

/// The small shared file that completes the shared index for a warm restart: what is not in
/// the index arena (set names, where each device's never-written space starts) and the
/// identity the device headers were stamped with. Written last at a clean stop, so its presence
/// with a good CRC means the stop finished; removed as soon as a start used (or rejected) it.
///
/// Layout (little-endian): magic u64 "CAIRNWST", version u32, partition-tree-sprigs u32, index
/// instance id u64, clean-stop sequence u64, namespace instance id u64, device count u32,
/// flags u32 (bit 0: devices mirrored in memory), next pristine block u32 × device count, set
/// count u32, per set (u16 length, UTF-8 bytes), bin-name count u32, per bin name (u16 length,
/// UTF-8 bytes), removed-copy LUT u64 (ms), CRC32C u32 of everything before it. Versions 1
/// (before the bin names: its index entries were written with unknown bin names, so its table
/// is empty) and 2 (before the removed-copy LUT: 0) are still read.
public struct WarmState: Sendable, Equatable {
    public var sprigsPerPartition: Int
    public var identity: SharedIndexIdentity
    public var namespaceInstanceId: UInt64
    public var nextPristineBlocks: [UInt32]
    public var mirrored: Bool
    /// Set names in id order (id 1 first).
    public var setNames: [String]
    /// Bin names in id order (id 1 first): what the index entries' ``BinNameIDs`` mean.
    public var binNames: [String]
    /// The newest LUT of a copy left on the device when its index entry went (a plain delete,
    /// the tomb raider): a record created again after the restart commits above it, as before
    /// (`RemovedCopyLuts`; the digests are not kept, so every create is held to it).
    public var removedCopyLutMs: UInt64

    public init(sprigsPerPartition: Int, identity: SharedIndexIdentity, namespaceInstanceId: UInt64,
                nextPristineBlocks: [UInt32], mirrored: Bool, setNames: [String], binNames: [String] = [],
                removedCopyLutMs: UInt64 = 0) {
        self.sprigsPerPartition = sprigsPerPartition
        self.identity = identity
        self.namespaceInstanceId = namespaceInstanceId
        self.nextPristineBlocks = nextPristineBlocks
        self.mirrored = mirrored
        self.setNames = setNames
        self.binNames = binNames
        self.removedCopyLutMs = removedCopyLutMs
    }

    static let magic: UInt64 = 0x4341_4952_4E57_5354  // "CAIRNWST"
    static let version: UInt32 = 3
    /// The version before the bin-name table, still read.
    static let versionWithoutBinNames: UInt32 = 1
    /// The version before the removed-copy LUT, still read.
    static let versionWithoutRemovedCopyLut: UInt32 = 2
    /// Larger than the fullest state: 1,023 set names of 63 bytes and 65,535 bin names of 15
    /// bytes, each with its length, come to about 1.2 MB.
    static let sizeBytesMax = 4 << 20

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(WarmState.magic)
        put(WarmState.version)
        put(UInt32(sprigsPerPartition))
        put(identity.instanceId)
        put(identity.cleanStopSequence)
        put(namespaceInstanceId)
        put(UInt32(nextPristineBlocks.count))
        put(UInt32(mirrored ? 1 : 0))
        for b in nextPristineBlocks { put(b) }
        for table in [setNames, binNames] {
            put(UInt32(table.count))
            for name in table {
                let bytes = Array(name.utf8)
                put(UInt16(bytes.count))
                out.append(contentsOf: bytes)
            }
        }
        put(removedCopyLutMs)
        put(CRC32C.checksum(out))
        return out
    }

    /// Decodes `bytes` read from `path`; every problem names the path and the offset.
    public static func decode(_ bytes: [UInt8], path: String) throws -> WarmState {
        struct Failure: Error, CustomStringConvertible { let description: String }
        var at = 0
        func fail(_ what: String) -> Failure { Failure(description: "\(path): \(what) at offset \(at)") }
        func get<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard at + n <= bytes.count else { throw fail("file ends early (\(bytes.count) bytes)") }
            var v: T = 0
            for i in 0..<n { v |= T(bytes[at + i]) << (8 * i) }
            at += n
            return v
        }
        guard bytes.count >= 4 else { throw fail("file of \(bytes.count) bytes is too short") }
        let stored = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8
            | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        let computed = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
        guard stored == computed else {
            at = bytes.count - 4
            throw fail("CRC32C \(String(stored, radix: 16)) does not match contents \(String(computed, radix: 16))")
        }
        guard try get(UInt64.self) == magic else { at = 0; throw fail("bad magic") }
        let version = try get(UInt32.self)
        guard (WarmState.versionWithoutBinNames...WarmState.version).contains(version) else {
            at -= 4
            throw fail("unsupported version \(version) (this build reads \(WarmState.versionWithoutBinNames) to \(WarmState.version))")
        }
        let sprigs = Int(try get(UInt32.self))
        let identity = SharedIndexIdentity(instanceId: try get(UInt64.self), cleanStopSequence: try get(UInt64.self))
        let namespaceInstance = try get(UInt64.self)
        let deviceCount = Int(try get(UInt32.self))
        guard deviceCount <= FormatLimits.deviceCountMax else { throw fail("device count \(deviceCount)") }
        let flags = try get(UInt32.self)
        var pristine: [UInt32] = []
        for _ in 0..<deviceCount { pristine.append(try get(UInt32.self)) }
        func table(of what: String, countMax: Int) throws -> [String] {
            let count = Int(try get(UInt32.self))
            guard count <= countMax else { throw fail("\(what) count \(count) above \(countMax)") }
            var names: [String] = []
            var seen = Set<String>()
            for _ in 0..<count {
                let length = Int(try get(UInt16.self))
                guard at + length <= bytes.count - 4 else { throw fail("\(what) of \(length) bytes runs past the end") }
                guard let name = String(validating: bytes[at..<(at + length)], as: UTF8.self) else {
                    throw fail("\(what) is not UTF-8")
                }
                guard seen.insert(name).inserted else { throw fail("\(what) '\(name)' twice") }
                names.append(name)
                at += length
            }
            return names
        }
        let setNames = try table(of: "set name", countMax: NameRegistry.setCountMax)
        let binNames = version == WarmState.versionWithoutBinNames
            ? [] : try table(of: "bin name", countMax: NameRegistry.binNameCountMax)
        let removedCopyLutMs = version >= WarmState.version ? try get(UInt64.self) : 0
        guard at == bytes.count - 4 else { throw fail("\(bytes.count - 4 - at) unexpected bytes before the CRC") }
        return WarmState(sprigsPerPartition: sprigs, identity: identity, namespaceInstanceId: namespaceInstance,
                         nextPristineBlocks: pristine, mirrored: flags & 1 != 0, setNames: setNames, binNames: binNames,
                         removedCopyLutMs: removedCopyLutMs)
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        let bytes = encoded()
        let temporary = path + ".tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw StorageError.refused(path: temporary, reason: "cannot create warm-restart state: \(String(cString: strerror(errno)))")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                _ = Glibc.close(fd)
                throw StorageError.refused(path: temporary, reason: "cannot write warm-restart state: \(message)")
            }
            written += n
        }
        let synced = fsync(fd) == 0
        _ = Glibc.close(fd)
        guard synced, rename(temporary, path) == 0 else {
            throw StorageError.refused(path: path, reason: "cannot store warm-restart state: \(String(cString: strerror(errno)))")
        }
    }

    /// The state at `path`; nil when the file does not exist.
    public static func read(path: String) throws -> WarmState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError.refused(path: path, reason: "cannot read warm-restart state")
        }
        guard data.count <= sizeBytesMax else {
            throw StorageError.refused(path: path, reason: "warm-restart state of \(data.count) bytes is too big")
        }
        return try decode(Array(data), path: path)
    }

    static func remove(path: String) throws {
        for p in [path, path + ".tmp"] where unlink(p) != 0 && errno != ENOENT {
            throw StorageError.refused(path: p, reason: "cannot remove warm-restart state: \(String(cString: strerror(errno)))")
        }
    }
}

/// The warm-or-cold decision of `Namespace.open` (DESIGN.md "Restarts").
enum WarmStart {
    enum Decision {
        case warm(WarmState)
        /// Cold (or fresh), with the reason for the log.
        case cold(String)
    }

    /// Checks every condition for a warm restart, in the order an operator would look for them.
    static func decide(_ options: NamespaceOptions, storage: NamespaceStorage, layout: SharedMemoryLayout?) -> Decision {
        if storage.openReport.fresh { return .cold("new namespace (devices empty)") }
        if options.coldStart { return .cold("cold start requested (--cold-start)") }
        guard let layout else { return .cold("no shared-memory directory configured") }
        if !storage.openReport.priorShutdownClean {
            return .cold("prior shutdown not clean (" + storage.openReport.notCleanDevices.joined(separator: "; ") + ")")
        }
        let state: WarmState
        do {
            guard let found = try WarmState.read(path: layout.statePath),
                PrimaryIndex.sharedFilesExist(directory: layout.directory, name: layout.name)
            else {
                return .cold("shared memory not found in \(layout.directory) (\(layout.name).state / .header)")
            }
            state = found
        } catch {
            return .cold("shared memory state damaged: \(error)")
        }
        if state.sprigsPerPartition != options.storage.partitionTreeSprigs {
            return .cold("partition-tree-sprigs \(state.sprigsPerPartition) doesn't match config \(options.storage.partitionTreeSprigs)")
        }
        if state.namespaceInstanceId != storage.instanceId {
            return .cold("shared memory belongs to namespace instance \(state.namespaceInstanceId), devices to \(storage.instanceId)")
        }
        if state.nextPristineBlocks.count != storage.devices.count {
            return .cold("shared memory describes \(state.nextPristineBlocks.count) devices, config has \(storage.devices.count)")
        }
        for (i, header) in storage.openReport.headers.enumerated() where header.sharedIndex != state.identity {
            let named = header.sharedIndex.map { "\($0.instanceId)/\($0.cleanStopSequence)" } ?? "none"
            return .cold("device \(storage.devices[i].device.path) names shared index \(named), shared memory holds "
                         + "\(state.identity.instanceId)/\(state.identity.cleanStopSequence)")
        }
        for (i, d) in storage.devices.enumerated() where Int(state.nextPristineBlocks[i]) > d.blockCount {
            return .cold("shared memory says device \(d.device.path) is written up to block \(state.nextPristineBlocks[i]), it has \(d.blockCount)")
        }
        if case .persisted = options.memory {
            guard state.mirrored else { return .cold("shared memory holds no memory copy of the devices") }
            for i in storage.devices.indices where !FileManager.default.fileExists(atPath: layout.mirrorPath(i)) {
                return .cold("memory copy \(layout.mirrorPath(i)) not found")
            }
        }
        return .warm(state)
    }

    /// Space bookkeeping of a warm start: live bytes per block and the free list, from the index
    /// alone (no record data is read). The one place a warm start rebuilds space usage.
    ///
    /// Same result as `NamespaceStorage.rebuildUsage` (blocks below the first pristine block with
    /// no live bytes are free), but it walks the index in arena order on every core
    /// (`forEachRecordInArenaOrder`): the digest-ordered walk costs a cache miss per record,
    /// ~1 µs, which would make a warm start of 10 million records take seconds. Expired records
    /// are left to the expiry supervisor (they are invisible already).
    ///
    /// Also returns the newest last-update time in the index (see
    /// `ColdStartReport.newestLastUpdateMs`), found in the same walk.
    static func rebuildSpace(storage: NamespaceStorage, index: PrimaryIndex, state: WarmState)
        -> (firstPristine: [UInt32], free: [[UInt32]], newestLastUpdateMs: UInt64)
    {
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let blockSize = UInt64(storage.options.writeBlockSizeBytes)
        let blockCounts = storage.devices.map(\.blockCount)
        let partials = Mutex<[(counts: [[UInt32]], newestLastUpdateMs: UInt64)]>([])
        let group = DispatchGroup()
        for part in 0..<threads {
            group.enter()
            Thread {
                var counts = blockCounts.map { [UInt32](repeating: 0, count: $0) }
                var newest: UInt64 = 0
                index.forEachRecordInArenaOrder(part: part, of: threads) { r in
                    counts[Int(r.location.deviceIndex)][Int(r.location.offsetBytes / blockSize)] += UInt32(r.location.sizeBytes)
                    newest = max(newest, r.lastUpdateTimeMs)
                }
                partials.withLock { $0.append((counts, newest)) }
                group.leave()
            }.start()
        }
        group.wait()
        let all = partials.withLock { $0 }
        var counts = all[0].counts
        for p in all.dropFirst() {
            for d in counts.indices { for b in counts[d].indices { counts[d][b] += p.counts[d][b] } }
        }
        // Usage, free blocks and the defrag queue, as a cold start derives them.
        let space = storage.applySpace(liveBytes: counts, firstPristineBlocks: state.nextPristineBlocks)
        return (space.firstPristine, space.free, all.map(\.newestLastUpdateMs).max() ?? 0)
    }
}
