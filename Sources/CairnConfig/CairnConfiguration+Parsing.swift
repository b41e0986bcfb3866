extension CairnConfiguration {
    /// Parses configuration text in Aerospike's syntax.
    ///
    /// `fileName` is used in errors only. Paths are kept as written (see
    /// `resolvingPaths(relativeTo:)`). The text is read in two passes: the first checks the
    /// braces and builds the stanza tree; the second checks every name, value and range and
    /// builds the typed value. The first error found is thrown.
    ///
    /// - Throws: `ConfigError` naming `fileName`, the line and what is wrong.
    public static func parse(text: String, fileName: String) throws(ConfigError) -> CairnConfiguration {
        let lines = try ConfigLexer.lines(of: text, fileName: fileName)
        let lastLineNumber = ConfigLexer.lastLineNumber(of: text)
        let nodes = try ConfigTreeBuilder.build(lines: lines, lastLineNumber: lastLineNumber, fileName: fileName)
        var interpreter = ConfigInterpreter(fileName: fileName, lastLineNumber: lastLineNumber)
        return try interpreter.configuration(from: nodes)
    }

    /// Reads and parses the configuration file at `path`, then resolves its relative paths against
    /// the file's own directory (made absolute with the current directory if need be).
    ///
    /// - Throws: `ConfigError` naming `path`: with line 0 and the errno when the file cannot be
    ///   opened or read (`cannot open the configuration file: No such file or directory (errno 2)`),
    ///   or the line of a parse error.
    public static func load(path: String) throws(ConfigError) -> CairnConfiguration {
        let text = try ConfigFileReader.text(ofFileAt: path)
        let parsed = try parse(text: text, fileName: path)
        let directory = try ConfigFileReader.absoluteDirectory(of: path)
        return parsed.resolvingPaths(relativeTo: directory)
    }
}
