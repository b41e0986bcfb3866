import CairnConfig
import CairnEngine
import CairnServer
import CairnStorage

/// Turns a parsed `namespace` stanza into what the engine opens.
enum NamespaceMapping {
    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// The engine options for `config`, with cold-start progress going to `progress`. The index
    /// (and a memory namespace's data) lives in `shmDirectory` under a name derived from the
    /// namespace and `nodeID`, so a clean restart can be warm.
    static func options(for config: NamespaceConfig, coldStart: Bool, shmDirectory: String, nodeID: UInt64,
                        progress: @escaping @Sendable (ColdStartProgress) -> Void) throws -> NamespaceOptions {
        var paths: [StorageOptions.DevicePath] = []
        var memory = MemoryStorageMode.none
        let writeBlockSizeBytes: Int
        let flushMaxMs: Int
        let commitToDevice: Bool
        let writeCacheBytesMax: Int
        func devicePaths(_ backing: StorageBacking) -> [StorageOptions.DevicePath] {
            switch backing {
            case .devices(let list): return list.map { StorageOptions.DevicePath(path: $0) }
            case .files(let list, let size): return list.map { StorageOptions.DevicePath(path: $0, fileSizeBytes: UInt64(size)) }
            }
        }
        // Defrag, post-write cache and stop-writes settings: the device stanza's, or Aerospike's
        // defaults for a memory namespace's write path.
        let space: DeviceStorageConfig
        switch config.storage {
        case .device(let device):
            space = device
            paths = devicePaths(device.backing).map { p in
                var p = p
                p.readPageCache = device.readPageCache
                return p
            }
            writeBlockSizeBytes = device.writeBlockSizeBytes
            flushMaxMs = device.flushMaxMs
            commitToDevice = device.commitToDevice
            writeCacheBytesMax = device.writeCacheBytesMax
        case .memory(let memoryConfig):
            // The block format and write path of device namespaces, with Aerospike's defaults.
            let defaults = DeviceStorageConfig(backing: .devices([]))
            space = defaults
            writeBlockSizeBytes = defaults.writeBlockSizeBytes
            flushMaxMs = defaults.flushMaxMs
            commitToDevice = false
            writeCacheBytesMax = defaults.writeCacheBytesMax
            if let persistence = memoryConfig.persistence {
                paths = devicePaths(persistence)
                memory = .persisted
            } else if let size = memoryConfig.dataSizeBytes {
                memory = .unpersisted(dataSizeBytes: UInt64(size))
            } else {
                throw Unsupported(description: "namespace \(config.name): storage-engine memory without data-size or persistence")
            }
        }
        var storage = StorageOptions(
            namespaceName: config.name, devices: paths, writeBlockSizeBytes: writeBlockSizeBytes,
            partitionTreeSprigs: config.partitionTreeSprigCount, flushMaxMs: flushMaxMs,
            commitToDevice: commitToDevice, maxWriteCacheBytes: writeCacheBytesMax)
        storage.defragLWMPct = space.defragLWMPct
        storage.defragSleepUs = space.defragSleepUs
        storage.postWriteCacheBytes = space.postWriteCacheBytes
        // Only a device stanza reads through the page cache (a memory namespace's files do not).
        if case .device(let device) = config.storage { storage.fillPageCache = device.fillPageCache }
        storage.stopWritesAvailPct = space.stopWritesAvailPct
        var options = NamespaceOptions(
            storage: storage, defaultTTLSeconds: UInt32(clamping: config.defaultTTLSeconds),
            forceDurableDeletes: config.forceDurableDeletes, coldStart: coldStart, progressIntervalMs: 1000,
            onColdStartProgress: progress,
            sharedMemory: SharedMemoryOptions(directory: shmDirectory,
                                              name: SharedMemoryOptions.name(namespace: config.name, nodeID: nodeID)),
            memory: memory)
        options.nsupPeriodSeconds = config.nsupPeriodSeconds
        options.readTouchTTLPercent = UInt32(config.readTouchTTLPercent)
        var evictUsedPct = 0
        switch config.storage {
        case .device(let device):
            evictUsedPct = device.evictUsedPct
            options.coldStartEmpty = device.coldStartEmpty
        case .memory(let memory): evictUsedPct = memory.evictUsedPct
        }
        options.eviction = EvictionOptions(
            usedPct: evictUsedPct, indexesMemoryPct: config.evictIndexesMemoryPct, sysMemoryPct: config.evictSysMemoryPct,
            tenthsPct: config.evictTenthsPct, histBuckets: config.evictHistBuckets)
        options.eviction.disableColdStartEviction = config.disableColdStartEviction
        for set in config.sets {
            options.setPolicies[set.name] = SetPolicy(defaultTTLSeconds: set.defaultTTLSeconds.map { UInt32(clamping: $0) },
                                                      stopWritesCount: set.stopWritesCount,
                                                      disableEviction: set.disableEviction)
        }
        return options
    }

    /// The `enable-benchmarks-*` groups each namespace turns on in the configuration file.
    static func enabledBenchmarks(_ namespaces: [NamespaceConfig]) -> [String: Set<ServerConfiguration.BenchmarkGroupName>] {
        var result: [String: Set<ServerConfiguration.BenchmarkGroupName>] = [:]
        for ns in namespaces {
            var groups: Set<ServerConfiguration.BenchmarkGroupName> = []
            if ns.enableBenchmarksRead { groups.insert(.read) }
            if ns.enableBenchmarksWrite { groups.insert(.write) }
            if ns.enableBenchmarksUDF { groups.insert(.udf) }
            if !groups.isEmpty { result[ns.name] = groups }
        }
        return result
    }
}
