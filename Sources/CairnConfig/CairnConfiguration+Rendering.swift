extension CairnConfiguration {
    /// This configuration as configuration-file text, every parameter written out.
    ///
    /// Paths are written as they are held (resolved or not). Sizes and times use the largest
    /// suffix that divides them exactly. For every configuration `parse` returns,
    /// `parse(text: rendered(), fileName: …) == self`. Rendering a value that `parse` could not
    /// have returned (a path with a blank, say) is a programming error and traps.
    public func rendered() -> String {
        var writer = ConfigTextWriter()
        writer.comment("Cairn configuration (aerospike.conf syntax): every parameter, defaults included.")
        writer.comment("Reference: docs/configuration.md.")
        writer.blankLine()
        renderService(into: &writer)
        writer.blankLine()
        renderLogging(into: &writer)
        writer.blankLine()
        renderNetwork(into: &writer)
        if let metrics {
            writer.blankLine()
            writer.open("metrics")
            writer.parameter("address", metrics.address)
            writer.parameter("port", String(metrics.port))
            writer.close()
        }
        if let modLuaUserPath {
            writer.blankLine()
            writer.open("mod-lua")
            writer.parameter("user-path", modLuaUserPath)
            writer.close()
        }
        for namespace in namespaces {
            writer.blankLine()
            Self.renderNamespace(namespace, into: &writer)
        }
        return writer.text
    }

    // MARK: Private

    private func renderService(into writer: inout ConfigTextWriter) {
        writer.open("service")
        writer.parameter("work-directory", service.workDirectory)
        if let pidFile = service.pidFile {
            writer.parameter("pidfile", pidFile)
        }
        if let clusterName = service.clusterName {
            writer.parameter("cluster-name", clusterName)
        }
        if let nodeID = service.nodeID {
            writer.parameter("node-id", ConfigValue.formatHex64(nodeID))
        }
        writer.parameter("proto-fd-max", String(service.protoFDCountMax))
        writer.parameter("shm-directory", service.shmDirectory)
        if let serviceThreads = service.serviceThreads {
            writer.parameter("service-threads", String(serviceThreads))
        }
        writer.parameter("network-io-model", service.networkIOModel.rawValue)
        writer.parameter("auto-pin", service.autoPin.rawValue)
        writer.close()
    }

    private func renderLogging(into writer: inout ConfigTextWriter) {
        writer.open("logging")
        for sink in logging.sinks {
            switch sink.destination {
            case .console: writer.open("console")
            case .file(let path): writer.open("file", path)
            }
            writer.parameter("context", "any", sink.level.rawValue)
            writer.close()
        }
        writer.close()
    }

    private func renderNetwork(into writer: inout ConfigTextWriter) {
        writer.open("network")
        writer.open("service")
        writer.parameter("address", network.service.address)
        writer.parameter("port", String(network.service.port))
        writer.close()
        if let info = network.info {
            writer.open("info")
            writer.parameter("address", info.address)
            writer.parameter("port", String(info.port))
            writer.close()
        }
        writer.close()
    }

    private static func renderNamespace(_ namespace: NamespaceConfig, into writer: inout ConfigTextWriter) {
        writer.open("namespace", namespace.name)
        writer.parameter("replication-factor", String(namespace.replicationFactor))
        writer.parameter("default-ttl", ConfigValue.formatSeconds(namespace.defaultTTLSeconds))
        writer.parameter("nsup-period", ConfigValue.formatSeconds(namespace.nsupPeriodSeconds))
        writer.parameter("partition-tree-sprigs", String(namespace.partitionTreeSprigCount))
        writer.parameter("force-durable-deletes", ConfigValue.formatBoolean(namespace.forceDurableDeletes))
        writer.parameter("default-read-touch-ttl-pct", String(namespace.readTouchTTLPercent))
        writer.parameter("evict-indexes-memory-pct", String(namespace.evictIndexesMemoryPct))
        writer.parameter("evict-sys-memory-pct", String(namespace.evictSysMemoryPct))
        writer.parameter("evict-tenths-pct", String(namespace.evictTenthsPct))
        writer.parameter("evict-hist-buckets", String(namespace.evictHistBuckets))
        writer.parameter("disable-cold-start-eviction", ConfigValue.formatBoolean(namespace.disableColdStartEviction))
        writer.parameter("enable-benchmarks-read", ConfigValue.formatBoolean(namespace.enableBenchmarksRead))
        writer.parameter("enable-benchmarks-write", ConfigValue.formatBoolean(namespace.enableBenchmarksWrite))
        writer.parameter("enable-benchmarks-udf", ConfigValue.formatBoolean(namespace.enableBenchmarksUDF))
        switch namespace.storage {
        case .device(let device):
            writer.open("storage-engine", "device")
            renderBacking(device.backing, into: &writer)
            writer.parameter("write-block-size", ConfigValue.formatSize(device.writeBlockSizeBytes))
            writer.parameter("flush-max-ms", String(device.flushMaxMs))
            writer.parameter("commit-to-device", ConfigValue.formatBoolean(device.commitToDevice))
            writer.parameter("defrag-lwm-pct", String(device.defragLWMPct))
            writer.parameter("defrag-sleep", String(device.defragSleepUs))
            writer.parameter("max-write-cache", ConfigValue.formatSize(device.writeCacheBytesMax))
            writer.parameter("post-write-cache", ConfigValue.formatSize(device.postWriteCacheBytes))
            writer.parameter("stop-writes-avail-pct", String(device.stopWritesAvailPct))
            writer.parameter("evict-used-pct", String(device.evictUsedPct))
            writer.parameter("cold-start-empty", ConfigValue.formatBoolean(device.coldStartEmpty))
            // Only when set: without the line the default depends on the backing (files read
            // through the page cache, devices not), and a rendering parses back to the same value.
            if let readPageCache = device.readPageCacheSetting {
                writer.parameter("read-page-cache", ConfigValue.formatBoolean(readPageCache))
            }
            if let fillPageCache = device.fillPageCacheSetting {
                writer.parameter("fill-page-cache", ConfigValue.formatBoolean(fillPageCache))
            }
            writer.close()
        case .memory(let memory):
            writer.open("storage-engine", "memory")
            if let dataSizeBytes = memory.dataSizeBytes {
                writer.parameter("data-size", ConfigValue.formatSize(dataSizeBytes))
            }
            if let persistence = memory.persistence {
                renderBacking(persistence, into: &writer)
            }
            writer.parameter("evict-used-pct", String(memory.evictUsedPct))
            writer.close()
        }
        for set in namespace.sets {
            writer.open("set", set.name)
            if let defaultTTLSeconds = set.defaultTTLSeconds {
                writer.parameter("default-ttl", ConfigValue.formatSeconds(defaultTTLSeconds))
            }
            writer.parameter("stop-writes-count", String(set.stopWritesCount))
            writer.parameter("disable-eviction", ConfigValue.formatBoolean(set.disableEviction))
            writer.close()
        }
        writer.close()
    }

    private static func renderBacking(_ backing: StorageBacking, into writer: inout ConfigTextWriter) {
        switch backing {
        case .devices(let paths):
            for path in paths {
                writer.parameter("device", path)
            }
        case .files(let paths, let sizeBytes):
            for path in paths {
                writer.parameter("file", path)
            }
            writer.parameter("filesize", ConfigValue.formatSize(sizeBytes))
        }
    }
}

/// Builds configuration text line by line with four-space indentation per stanza level.
struct ConfigTextWriter {
    /// The text so far.
    private(set) var text = ""
    /// Open stanzas.
    private var depth = 0

    /// `# text`.
    mutating func comment(_ comment: String) {
        precondition(!comment.contains("\n"), "a comment is one line")
        append("# " + comment)
    }

    /// An empty line.
    mutating func blankLine() {
        text += "\n"
    }

    /// `words… {` and one level deeper.
    mutating func open(_ words: String...) {
        append(checked(words).joined(separator: " ") + " {")
        depth += 1
    }

    /// `}` and one level shallower.
    mutating func close() {
        precondition(depth > 0, "close() without open()")
        depth -= 1
        append("}")
    }

    /// `name value…`.
    mutating func parameter(_ name: String, _ values: String...) {
        append(checked([name] + values).joined(separator: " "))
    }

    // MARK: Private

    private mutating func append(_ line: String) {
        text += String(repeating: "    ", count: depth) + line + "\n"
    }

    /// `words`, after checking that each would read back as the same single word.
    private func checked(_ words: [String]) -> [String] {
        for word in words {
            let readsBack =
                !word.isEmpty
                && word.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "#") }
                && word != "{" && word != "}" && !word.contains("{") && !word.contains("}")
            precondition(readsBack, "configuration word '\(word)' cannot be written: it would not read back")
        }
        return words
    }
}
