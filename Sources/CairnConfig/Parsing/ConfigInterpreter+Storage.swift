extension ConfigInterpreter {
    /// A `storage-engine device { … }` or `storage-engine memory { … }` stanza.
    mutating func storageSection(
        _ stanza: ConfigNode,
        namespace: String,
        reader namespaceReader: StanzaReader
    ) throws(ConfigError) -> StorageConfig {
        let engine = stanza.arguments[0]
        switch engine {
        case "device":
            return .device(try deviceStorage(stanza, namespace: namespace))
        case "memory":
            return .memory(try memoryStorage(stanza, namespace: namespace))
        case "pmem":
            throw namespaceReader.error(
                stanza.line,
                "unsupported storage engine 'pmem' \(namespaceReader.place): use 'device' or 'memory'"
            )
        default:
            throw namespaceReader.error(
                stanza.line,
                "unknown storage engine '\(engine)' \(namespaceReader.place): expected 'device' or 'memory'"
            )
        }
    }

    // MARK: Private

    /// `storage-engine device { … }`.
    private mutating func deviceStorage(_ stanza: ConfigNode, namespace: String) throws(ConfigError)
        -> DeviceStorageConfig
    {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in namespace \(namespace) storage-engine device",
            knownNames: [
                "device", "file", "filesize", "write-block-size", "flush-max-ms", "commit-to-device",
                "defrag-lwm-pct", "defrag-sleep", "max-write-cache", "post-write-cache", "stop-writes-avail-pct",
                "evict-used-pct", "post-write-queue", "cold-start-empty", "read-page-cache", "fill-page-cache",
            ],
            unsupported: UnsupportedNames.deviceStorage
        )
        var backing = BackingLines()
        // The backing is set from the gathered device/file lines once the stanza is read.
        var config = DeviceStorageConfig(backing: .devices([]))
        var postWriteQueue: (blocks: Int, line: Int)?
        var postWriteCacheLine: Int?
        var fillPageCacheLine: Int?
        var readPageCacheLine: Int?
        for node in stanza.children {
            if try backing.take(node, reader: &reader, namespace: namespace, registry: &storagePaths) {
                continue
            }
            switch node.name {
            case "write-block-size":
                try reader.noteOnce(node)
                config.writeBlockSizeBytes = try reader.sizeBytes(
                    node,
                    range: ConfigLimits.writeBlockSizeBytesRange,
                    powerOfTwo: true
                )
            case "flush-max-ms":
                try reader.noteOnce(node)
                config.flushMaxMs = try reader.integer(node, range: ConfigLimits.flushMaxMsRange)
            case "commit-to-device":
                try reader.noteOnce(node)
                config.commitToDevice = try reader.boolean(node)
            case "defrag-lwm-pct":
                try reader.noteOnce(node)
                config.defragLWMPct = try reader.integer(node, range: ConfigLimits.defragLWMPctRange)
            case "defrag-sleep":
                try reader.noteOnce(node)
                config.defragSleepUs = try reader.integer(node, range: ConfigLimits.defragSleepUsRange)
            case "max-write-cache":
                try reader.noteOnce(node)
                config.writeCacheBytesMax = try reader.sizeBytes(node, range: ConfigLimits.writeCacheBytesMaxRange)
            case "post-write-cache":
                try reader.noteOnce(node)
                config.postWriteCacheBytes = try reader.sizeBytes(node, range: ConfigLimits.postWriteCacheBytesRange)
                postWriteCacheLine = node.line
            case "cold-start-empty":
                try reader.noteOnce(node)
                config.coldStartEmpty = try reader.boolean(node)
            case "read-page-cache":
                try reader.noteOnce(node)
                config.readPageCache = try reader.boolean(node)
                readPageCacheLine = node.line
            case "fill-page-cache":
                try reader.noteOnce(node)
                config.fillPageCache = try reader.boolean(node)
                fillPageCacheLine = node.line
            case "post-write-queue":
                try reader.noteOnce(node)
                postWriteQueue = (try reader.integer(node, range: ConfigLimits.postWriteQueueBlocksRange), node.line)
            case "stop-writes-avail-pct":
                try reader.noteOnce(node)
                config.stopWritesAvailPct = try reader.integer(node, range: ConfigLimits.stopWritesAvailPctRange)
            case "evict-used-pct":
                try reader.noteOnce(node)
                config.evictUsedPct = try reader.integer(node, range: ConfigLimits.evictUsedPctRange)
            default:
                throw reader.unknown(node)
            }
        }
        if let postWriteQueue {
            // The older name of the post-write cache, counted in write blocks (Aerospike before 7.1).
            if let postWriteCacheLine {
                throw reader.error(
                    max(postWriteQueue.line, postWriteCacheLine),
                    "'post-write-queue' and 'post-write-cache' \(reader.place) set the same cache: keep one "
                        + "(lines \(min(postWriteQueue.line, postWriteCacheLine)) and \(max(postWriteQueue.line, postWriteCacheLine)))"
                )
            }
            config.postWriteCacheBytes = postWriteQueue.blocks * config.writeBlockSizeBytes
        }
        guard let resolved = try backing.backing(reader: reader) else {
            throw reader.error(
                stanza.line,
                "no 'device' or 'file' line \(reader.place) (opened here): add at least one, like "
                    + "'device /dev/nvme0n1' or 'file /var/lib/cairn/\(namespace).dat' with 'filesize 4G'"
            )
        }
        config.backing = resolved
        if let fillPageCacheLine, config.fillPageCache, !config.readPageCache {
            let why = readPageCacheLine.map { "'read-page-cache false' on line \($0)" }
                ?? "raw devices read O_DIRECT unless 'read-page-cache true'"
            throw reader.error(
                fillPageCacheLine,
                "'fill-page-cache true' \(reader.place) fills the page cache for reads that do not use it (\(why)): "
                    + "add 'read-page-cache true' or drop the line"
            )
        }
        return config
    }

    /// `storage-engine memory { … }`.
    private mutating func memoryStorage(_ stanza: ConfigNode, namespace: String) throws(ConfigError)
        -> MemoryStorageConfig
    {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in namespace \(namespace) storage-engine memory",
            knownNames: ["data-size", "device", "file", "filesize", "evict-used-pct"],
            unsupported: UnsupportedNames.memoryStorage
        )
        var backing = BackingLines()
        var dataSize: (bytes: Int, line: Int)?
        var evictUsedPct = ConfigLimits.evictUsedPctDefault
        for node in stanza.children {
            if try backing.take(node, reader: &reader, namespace: namespace, registry: &storagePaths) {
                continue
            }
            switch node.name {
            case "data-size":
                try reader.noteOnce(node)
                dataSize = (try reader.sizeBytes(node, range: ConfigLimits.dataSizeBytesRange), node.line)
            case "evict-used-pct":
                try reader.noteOnce(node)
                evictUsedPct = try reader.integer(node, range: ConfigLimits.evictUsedPctRange)
            default:
                throw reader.unknown(node)
            }
        }
        let persistence = try backing.backing(reader: reader)
        if persistence == nil {
            try backing.checkNoStrayFileSize(reader: reader)
        }
        switch (dataSize, persistence) {
        case (let dataSize?, nil):
            var config = MemoryStorageConfig(dataSizeBytes: dataSize.bytes)
            config.evictUsedPct = evictUsedPct
            return config
        case (nil, let persistence?):
            var config = MemoryStorageConfig(persistence: persistence)
            config.evictUsedPct = evictUsedPct
            return config
        case (let dataSize?, .some):
            throw reader.error(
                dataSize.line,
                "'data-size' cannot be used with 'file' or 'device' persistence \(reader.place): "
                    + "the data size is then the size of the files or devices"
            )
        case (nil, nil):
            throw reader.error(
                stanza.line,
                "no 'data-size' \(reader.place) (opened here): a memory namespace without 'file' or "
                    + "'device' persistence needs one, like 'data-size 4G'"
            )
        }
    }
}

/// The `device`, `file` and `filesize` lines of one storage engine, gathered while its stanza
/// is read and checked together at its end.
private struct BackingLines {
    private var devices: [(path: String, line: Int)] = []
    private var files: [(path: String, line: Int)] = []
    private var fileSize: (bytes: Int, line: Int)?

    /// Takes `node` when it is a `device`, `file` or `filesize` line; false for any other name.
    mutating func take(
        _ node: ConfigNode,
        reader: inout StanzaReader,
        namespace: String,
        registry: inout StoragePathRegistry
    ) throws(ConfigError) -> Bool {
        switch node.name {
        case "device", "file":
            try reader.requireParameter(node)
            if node.arguments.count == 2 {
                throw reader.error(node.line, "shadow devices ('\(node.name) PRIMARY SHADOW') are not supported")
            }
            let path = try reader.path(node)
            guard devices.count + files.count < ConfigLimits.storagePathCountMax else {
                throw reader.error(
                    node.line,
                    "too many devices and files \(reader.place): at most \(ConfigLimits.storagePathCountMax) are allowed"
                )
            }
            try registry.claim(path, namespace: namespace, line: node.line, reader: reader)
            if node.name == "device" {
                devices.append((path, node.line))
            } else {
                files.append((path, node.line))
            }
            return true
        case "filesize":
            try reader.noteOnce(node)
            fileSize = (try reader.sizeBytes(node, range: ConfigLimits.fileSizeBytesRange), node.line)
            return true
        default:
            return false
        }
    }

    /// The backing the lines describe, `nil` when there were no `device` or `file` lines.
    func backing(reader: StanzaReader) throws(ConfigError) -> StorageBacking? {
        if let firstDevice = devices.first, let firstFile = files.first {
            let deviceFirst = firstDevice.line < firstFile.line
            let (earlierName, earlierLine) = deviceFirst ? ("device", firstDevice.line) : ("file", firstFile.line)
            let laterLine = deviceFirst ? firstFile.line : firstDevice.line
            throw reader.error(
                laterLine,
                "cannot mix 'device' and 'file' lines \(reader.place) (first '\(earlierName)' on line \(earlierLine)): "
                    + "one storage engine uses devices or files"
            )
        }
        if !devices.isEmpty {
            if let fileSize {
                throw reader.error(
                    fileSize.line, "'filesize' \(reader.place) applies to 'file' lines, and there are none")
            }
            return .devices(devices.map(\.path))
        }
        if let firstFile = files.first {
            guard let fileSize else {
                throw reader.error(
                    firstFile.line,
                    "'file' needs a 'filesize' \(reader.place): add a line like 'filesize 4G'"
                )
            }
            return .files(files.map(\.path), sizeBytes: fileSize.bytes)
        }
        return nil
    }

    /// Refuses a `filesize` line in an engine that has no `file` or `device` lines at all.
    func checkNoStrayFileSize(reader: StanzaReader) throws(ConfigError) {
        if let fileSize {
            throw reader.error(fileSize.line, "'filesize' \(reader.place) applies to 'file' lines, and there are none")
        }
    }
}
