extension ConfigInterpreter {
    /// The `logging` stanza: `console { … }` and `file PATH { … }` sinks.
    func loggingSection(_ stanza: ConfigNode) throws(ConfigError) -> LoggingConfig {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in logging",
            knownNames: ["console", "file"],
            unsupported: UnsupportedNames.logging
        )
        var sinks: [LogSink] = []
        var fileLines: [String: Int] = [:]
        for node in stanza.children {
            switch node.name {
            case "console":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                let level = try sinkLevel(node, place: "in logging console")
                sinks.append(LogSink(destination: .console, level: level))
            case "file":
                try reader.requireStanza(node, argumentCount: 1, argumentName: "a log file path")
                let path = node.arguments[0]
                let key = ConfigPath.normalized(path)
                if let first = fileLines[key] {
                    throw reader.error(
                        node.line, "log file '\(path)' is given twice in logging (first on line \(first))")
                }
                guard fileLines.count < ConfigLimits.logFileSinkCountMax else {
                    throw reader.error(
                        node.line,
                        "too many log files: at most \(ConfigLimits.logFileSinkCountMax) are allowed"
                    )
                }
                fileLines[key] = node.line
                let level = try sinkLevel(node, place: "in logging file \(path)")
                sinks.append(LogSink(destination: .file(path), level: level))
            default:
                throw reader.unknown(node)
            }
        }
        return LoggingConfig(sinks: sinks)
    }

    /// The level of a sink's `context any LEVEL` line; `info` when the sink has none.
    private func sinkLevel(_ sink: ConfigNode, place: String) throws(ConfigError) -> LogLevel {
        var reader = StanzaReader(fileName: fileName, place: place, knownNames: ["context"], unsupported: [:])
        var level = LogLevel.info
        for node in sink.children {
            guard node.name == "context" else {
                throw reader.unknown(node)
            }
            try reader.requireParameter(node)
            guard node.arguments.count == 2 else {
                throw reader.error(node.line, "'context' \(place) takes a context and a level, like 'context any info'")
            }
            guard node.arguments[0] == "any" else {
                throw reader.error(
                    node.line,
                    "only 'context any LEVEL' is supported \(place): Cairn sets one level per sink, "
                        + "not one per context ('\(node.arguments[0])')"
                )
            }
            try reader.noteOnce(node)
            guard let parsed = LogLevel(rawValue: node.arguments[1].lowercased()) else {
                throw reader.badValue(
                    node,
                    node.arguments[1],
                    expected: "one of critical, warning, info, debug or detail"
                )
            }
            level = parsed
        }
        return level
    }
}
