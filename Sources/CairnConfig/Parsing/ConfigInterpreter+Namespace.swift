extension ConfigInterpreter {
    /// A `namespace NAME { … }` stanza.
    mutating func namespaceSection(_ stanza: ConfigNode, name: String) throws(ConfigError) -> NamespaceConfig {
        let place = "in namespace \(name)"
        var reader = StanzaReader(
            fileName: fileName,
            place: place,
            knownNames: [
                "replication-factor", "default-ttl", "nsup-period", "partition-tree-sprigs",
                "force-durable-deletes", "storage-engine", "set", "default-read-touch-ttl-pct",
                "evict-indexes-memory-pct", "evict-sys-memory-pct", "evict-tenths-pct", "evict-hist-buckets",
                "disable-cold-start-eviction", "enable-benchmarks-read", "enable-benchmarks-write",
                "enable-benchmarks-udf",
            ],
            unsupported: UnsupportedNames.namespace
        )
        var storage: StorageConfig?
        var replicationFactor = ConfigLimits.replicationFactorRange.lowerBound
        var defaultTTLSeconds = ConfigLimits.defaultTTLSecondsDefault
        var nsupPeriodSeconds = ConfigLimits.nsupPeriodSecondsDefault
        var partitionTreeSprigCount = ConfigLimits.partitionTreeSprigCountDefault
        var forceDurableDeletes = ConfigLimits.forceDurableDeletesDefault
        var readTouchTTLPercent = 0
        var evictIndexesMemoryPct = ConfigLimits.evictMemoryPctDefault
        var evictSysMemoryPct = ConfigLimits.evictMemoryPctDefault
        var evictTenthsPct = ConfigLimits.evictTenthsPctDefault
        var evictHistBuckets = ConfigLimits.evictHistBucketsDefault
        var disableColdStartEviction = false
        var benchmarks: [String: Bool] = [:]
        var sets: [SetConfig] = []
        var setLines: [String: Int] = [:]
        var nsupPeriodLine: Int?
        var evictionLines: [(name: String, line: Int)] = []
        for node in stanza.children {
            switch node.name {
            case "replication-factor":
                try reader.noteOnce(node)
                replicationFactor = try reader.integer(
                    node,
                    range: ConfigLimits.replicationFactorRange,
                    note: " (Cairn runs as a single node)"
                )
            case "default-ttl":
                try reader.noteOnce(node)
                defaultTTLSeconds = try reader.seconds(node, range: ConfigLimits.defaultTTLSecondsRange)
            case "nsup-period":
                try reader.noteOnce(node)
                nsupPeriodSeconds = try reader.seconds(node, range: ConfigLimits.nsupPeriodSecondsRange)
                nsupPeriodLine = node.line
            case "partition-tree-sprigs":
                try reader.noteOnce(node)
                partitionTreeSprigCount = try partitionTreeSprigs(node, reader: reader)
            case "force-durable-deletes":
                try reader.noteOnce(node)
                forceDurableDeletes = try reader.boolean(node)
            case "default-read-touch-ttl-pct":
                try reader.noteOnce(node)
                readTouchTTLPercent = try reader.integer(node, range: ConfigLimits.readTouchTTLPercentRange)
            case "evict-indexes-memory-pct":
                try reader.noteOnce(node)
                evictIndexesMemoryPct = try reader.integer(node, range: ConfigLimits.evictMemoryPctRange)
                if evictIndexesMemoryPct > 0 { evictionLines.append((node.name, node.line)) }
            case "evict-sys-memory-pct":
                try reader.noteOnce(node)
                evictSysMemoryPct = try reader.integer(node, range: ConfigLimits.evictMemoryPctRange)
                if evictSysMemoryPct > 0 { evictionLines.append((node.name, node.line)) }
            case "evict-tenths-pct":
                try reader.noteOnce(node)
                evictTenthsPct = try reader.integer(node, range: ConfigLimits.evictTenthsPctRange)
            case "evict-hist-buckets":
                try reader.noteOnce(node)
                evictHistBuckets = try reader.integer(node, range: ConfigLimits.evictHistBucketsRange)
            case "disable-cold-start-eviction":
                try reader.noteOnce(node)
                disableColdStartEviction = try reader.boolean(node)
            case "enable-benchmarks-read", "enable-benchmarks-write", "enable-benchmarks-udf":
                try reader.noteOnce(node)
                benchmarks[node.name] = try reader.boolean(node)
            case "storage-engine":
                try reader.requireStanza(node, argumentCount: 1, argumentName: "an engine (device or memory)")
                try reader.noteOnce(node)
                storage = try storageSection(node, namespace: name, reader: reader)
                for child in node.children where child.name == "evict-used-pct" && child.arguments != ["0"] {
                    evictionLines.append((child.name, child.line))
                }
            case "set":
                try reader.requireStanza(node, argumentCount: 1, argumentName: "a set name")
                let setName = try reader.name(
                    node.arguments[0],
                    line: node.line,
                    of: "set",
                    bytesMax: ConfigLimits.setNameBytesMax
                )
                if let first = setLines[setName] {
                    throw reader.error(
                        node.line, "duplicate set '\(setName)' \(place) (first defined on line \(first))")
                }
                guard setLines.count < ConfigLimits.setCountMax else {
                    throw reader.error(
                        node.line, "too many sets \(place): at most \(ConfigLimits.setCountMax) are allowed")
                }
                setLines[setName] = node.line
                sets.append(try setSection(node, name: setName, namespace: name))
            default:
                throw reader.unknown(node)
            }
        }
        if nsupPeriodSeconds == 0, let first = evictionLines.min(by: { $0.line < $1.line }) {
            throw reader.error(
                first.line,
                "'\(first.name)' \(reader.place) needs a non-zero 'nsup-period' (eviction runs in the nsup cycle; "
                    + "'nsup-period 0' is on line \(nsupPeriodLine ?? stanza.line))"
            )
        }
        guard let storage else {
            throw reader.error(
                stanza.line,
                "namespace \(name) has no 'storage-engine': add 'storage-engine device { … }' or "
                    + "'storage-engine memory { … }'"
            )
        }
        var namespace = NamespaceConfig(
            name: name,
            replicationFactor: replicationFactor,
            defaultTTLSeconds: defaultTTLSeconds,
            nsupPeriodSeconds: nsupPeriodSeconds,
            partitionTreeSprigCount: partitionTreeSprigCount,
            forceDurableDeletes: forceDurableDeletes,
            storage: storage,
            sets: sets,
            readTouchTTLPercent: readTouchTTLPercent
        )
        namespace.evictIndexesMemoryPct = evictIndexesMemoryPct
        namespace.evictSysMemoryPct = evictSysMemoryPct
        namespace.evictTenthsPct = evictTenthsPct
        namespace.evictHistBuckets = evictHistBuckets
        namespace.disableColdStartEviction = disableColdStartEviction
        namespace.enableBenchmarksRead = benchmarks["enable-benchmarks-read"] ?? false
        namespace.enableBenchmarksWrite = benchmarks["enable-benchmarks-write"] ?? false
        namespace.enableBenchmarksUDF = benchmarks["enable-benchmarks-udf"] ?? false
        return namespace
    }

    // MARK: Private

    /// `partition-tree-sprigs`: an integer that is a power of two within its range.
    private func partitionTreeSprigs(_ node: ConfigNode, reader: StanzaReader) throws(ConfigError) -> Int {
        let range = ConfigLimits.partitionTreeSprigCountRange
        let value = try reader.integer(node, range: range)
        guard ConfigValue.isPowerOfTwo(value) else {
            throw reader.error(
                node.line,
                "'\(node.name)' \(value) is out of range \(reader.place): allowed a power of two from "
                    + "\(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    /// A `set NAME { … }` stanza.
    private func setSection(_ stanza: ConfigNode, name: String, namespace: String) throws(ConfigError) -> SetConfig {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in namespace \(namespace) set \(name)",
            knownNames: ["default-ttl", "stop-writes-count", "disable-eviction"],
            unsupported: UnsupportedNames.set
        )
        var set = SetConfig(name: name)
        for node in stanza.children {
            switch node.name {
            case "default-ttl":
                try reader.noteOnce(node)
                set.defaultTTLSeconds = try reader.seconds(node, range: ConfigLimits.defaultTTLSecondsRange)
            case "stop-writes-count":
                try reader.noteOnce(node)
                set.stopWritesCount = try reader.integer(node, range: ConfigLimits.stopWritesCountRange)
            case "disable-eviction":
                try reader.noteOnce(node)
                set.disableEviction = try reader.boolean(node)
            default:
                throw reader.unknown(node)
            }
        }
        return set
    }
}
