/// Turns the stanza tree of a file into a `CairnConfiguration`, checking every name, value and
/// range. One interpreter per parse; not shared between threads.
///
/// Facets: `ConfigInterpreter+Service.swift`, `+Logging`, `+Network`, `+Namespace`, `+Storage`.
struct ConfigInterpreter {
    /// The file name used in errors.
    let fileName: String
    /// The last line of the file, where errors about something missing are reported.
    let lastLineNumber: Int

    /// Who uses each storage path so far, so no path serves two engines.
    var storagePaths = StoragePathRegistry()

    /// Makes an interpreter for one file; `lastLineNumber` is where "missing" errors point.
    init(fileName: String, lastLineNumber: Int) {
        self.fileName = fileName
        self.lastLineNumber = lastLineNumber
    }

    /// The configuration the top-level `nodes` describe.
    mutating func configuration(from nodes: [ConfigNode]) throws(ConfigError) -> CairnConfiguration {
        var reader = StanzaReader(
            fileName: fileName,
            place: "at top level",
            knownNames: ["service", "logging", "network", "namespace", "metrics", "mod-lua"],
            unsupported: UnsupportedNames.topLevel
        )
        var service = ServiceConfig()
        var logging = LoggingConfig()
        var network: NetworkConfig?
        var metrics: NetworkEndpoint?
        var namespaces: [NamespaceConfig] = []
        var namespaceLines: [String: Int] = [:]
        var modLuaUserPath: String?
        for node in nodes {
            switch node.name {
            case "mod-lua":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                modLuaUserPath = try modLuaSection(node)
            case "service":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                service = try serviceSection(node)
            case "logging":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                logging = try loggingSection(node)
            case "network":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                network = try networkSection(node)
            case "metrics":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                metrics = try endpoint(node, place: "in metrics")
            case "namespace":
                try reader.requireStanza(node, argumentCount: 1, argumentName: "a namespace name")
                let name = try reader.name(
                    node.arguments[0],
                    line: node.line,
                    of: "namespace",
                    bytesMax: ConfigLimits.namespaceNameBytesMax
                )
                if let first = namespaceLines[name] {
                    throw reader.error(node.line, "duplicate namespace '\(name)' (first defined on line \(first))")
                }
                guard namespaces.count < ConfigLimits.namespaceCountMax else {
                    throw reader.error(
                        node.line,
                        "too many namespaces: at most \(ConfigLimits.namespaceCountMax) are allowed"
                    )
                }
                namespaceLines[name] = node.line
                namespaces.append(try namespaceSection(node, name: name))
            default:
                if !node.isStanza, UnsupportedNames.topLevel[node.name] == nil {
                    throw reader.error(
                        node.line,
                        "unexpected parameter '\(node.name)' at top level: only the stanzas service, "
                            + "logging, network, metrics and namespace may appear here"
                    )
                }
                throw reader.unknown(node)
            }
        }
        guard let network else {
            throw ConfigError(
                file: fileName,
                line: lastLineNumber,
                message: "no 'network' stanza: at least 'network { service { port 3000 } }' is required"
            )
        }
        guard !namespaces.isEmpty else {
            throw ConfigError(
                file: fileName,
                line: lastLineNumber,
                message: "no namespace: at least one 'namespace NAME { … }' stanza is required"
            )
        }
        if let metrics, metrics.port == network.service.port,
           metrics.address == network.service.address || [metrics.address, network.service.address].contains(ConfigLimits.addressDefault) {
            throw ConfigError(
                file: fileName, line: lastLineNumber,
                message: "metrics port \(metrics.port) is the service port: give the metrics endpoint a port of its own")
        }
        return CairnConfiguration(service: service, logging: logging, network: network, namespaces: namespaces, metrics: metrics,
                                  modLuaUserPath: modLuaUserPath)
    }

    /// The `mod-lua` stanza: `user-path DIR` (where registered UDF modules are kept); nil when
    /// the stanza does not set it.
    func modLuaSection(_ stanza: ConfigNode) throws(ConfigError) -> String? {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in mod-lua",
            knownNames: ["user-path"],
            unsupported: UnsupportedNames.modLua
        )
        var userPath: String?
        for node in stanza.children {
            switch node.name {
            case "user-path":
                try reader.noteOnce(node)
                userPath = try reader.path(node)
            default:
                throw reader.unknown(node)
            }
        }
        return userPath
    }
}

/// Which engine uses each `device` or `file` path, so a path is never given to two engines
/// (nor twice to one). Paths are compared after lexical normalisation (`./a/b` is `a/b`).
struct StoragePathRegistry {
    /// Normalised path -> namespace and line that claimed it.
    private var owners: [String: (namespace: String, line: Int)] = [:]

    /// Records that `namespace` uses `path` (read on `line`), or explains why it cannot.
    mutating func claim(
        _ path: String,
        namespace: String,
        line: Int,
        reader: StanzaReader
    ) throws(ConfigError) {
        let key = ConfigPath.normalized(path)
        if let owner = owners[key] {
            if owner.namespace == namespace {
                throw reader.error(line, "'\(path)' is listed twice \(reader.place) (first on line \(owner.line))")
            }
            throw reader.error(
                line,
                "'\(path)' is already used by namespace \(owner.namespace) (line \(owner.line)); "
                    + "a device or file belongs to one namespace"
            )
        }
        owners[key] = (namespace, line)
    }
}
