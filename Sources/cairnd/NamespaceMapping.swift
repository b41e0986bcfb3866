import CairnConfig
import CairnEngine
import CairnStorage

/// Turns a parsed `namespace` stanza into what the engine opens.
enum NamespaceMapping {
    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// The engine options for `config`, with cold-start progress going to `progress`.
    static func options(for config: NamespaceConfig, coldStart: Bool,
                        progress: @escaping @Sendable (ColdStartProgress) -> Void) throws -> NamespaceOptions {
        guard case .device(let device) = config.storage else {
            throw Unsupported(description:
                "namespace \(config.name): storage-engine memory is not supported by this version (use storage-engine device)")
        }
        let paths: [StorageOptions.DevicePath]
        switch device.backing {
        case .devices(let list): paths = list.map { StorageOptions.DevicePath(path: $0) }
        case .files(let list, let size): paths = list.map { StorageOptions.DevicePath(path: $0, fileSizeBytes: UInt64(size)) }
        }
        var storage = StorageOptions(
            namespaceName: config.name, devices: paths, writeBlockSizeBytes: device.writeBlockSizeBytes,
            partitionTreeSprigs: config.partitionTreeSprigCount, flushMaxMs: device.flushMaxMs,
            commitToDevice: device.commitToDevice, maxWriteCacheBytes: device.writeCacheBytesMax)
        storage.defragLWMPct = device.defragLWMPct
        storage.defragSleepUs = device.defragSleepUs
        storage.postWriteCacheBytes = device.postWriteCacheBytes
        storage.stopWritesAvailPct = device.stopWritesAvailPct
        var options = NamespaceOptions(
            storage: storage, defaultTTLSeconds: UInt32(clamping: config.defaultTTLSeconds),
            forceDurableDeletes: config.forceDurableDeletes, coldStart: coldStart, progressIntervalMs: 5000,
            onColdStartProgress: progress)
        options.nsupPeriodSeconds = config.nsupPeriodSeconds
        return options
    }
}
