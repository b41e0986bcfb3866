extension ConfigInterpreter {
    /// The `service` stanza.
    func serviceSection(_ stanza: ConfigNode) throws(ConfigError) -> ServiceConfig {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in service",
            knownNames: ["work-directory", "pidfile", "cluster-name", "node-id", "proto-fd-max", "shm-directory",
                         "service-threads", "network-io-model", "auto-pin"],
            unsupported: UnsupportedNames.service
        )
        var service = ServiceConfig()
        for node in stanza.children {
            switch node.name {
            case "work-directory":
                try reader.noteOnce(node)
                service.workDirectory = try reader.path(node)
            case "pidfile":
                try reader.noteOnce(node)
                service.pidFile = try reader.path(node)
            case "cluster-name":
                try reader.noteOnce(node)
                let text = try reader.word(node)
                service.clusterName = try reader.name(
                    text,
                    line: node.line,
                    of: "cluster",
                    bytesMax: ConfigLimits.clusterNameBytesMax
                )
            case "node-id":
                try reader.noteOnce(node)
                let text = try reader.word(node)
                guard let nodeID = ConfigValue.hex64(text), nodeID != 0 else {
                    throw reader.badValue(node, text, expected: "1 to 16 hex digits, not all zero (like a1b2c3)")
                }
                service.nodeID = nodeID
            case "proto-fd-max":
                try reader.noteOnce(node)
                service.protoFDCountMax = try reader.integer(node, range: ConfigLimits.protoFDCountMaxRange)
            case "shm-directory":
                try reader.noteOnce(node)
                service.shmDirectory = try reader.path(node)
            case "service-threads":
                try reader.noteOnce(node)
                service.serviceThreads = try reader.integer(node, range: ConfigLimits.serviceThreadsRange)
            case "network-io-model":
                try reader.noteOnce(node)
                let text = try reader.word(node)
                guard let model = ServiceConfig.NetworkIOModel(rawValue: text) else {
                    throw reader.badValue(node, text, expected: "epoll or io_uring")
                }
                service.networkIOModel = model
            case "auto-pin":
                try reader.noteOnce(node)
                let text = try reader.word(node)
                guard let pin = ServiceConfig.AutoPin(rawValue: text) else {
                    let why = text == "numa" || text == "adq"
                        ? "cpu or none (Cairn pins service threads per CPU; it has no '\(text)' placement)" : "cpu or none"
                    throw reader.badValue(node, text, expected: why)
                }
                service.autoPin = pin
            default:
                throw reader.unknown(node)
            }
        }
        return service
    }
}
