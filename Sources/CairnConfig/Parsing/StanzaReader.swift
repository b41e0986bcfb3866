/// Reads the lines of one stanza into typed values, with errors that name the stanza.
///
/// One reader per stanza being interpreted; it remembers which parameters it has seen so a
/// repeated one is refused with the line of the first. Not shared between threads.
struct StanzaReader {
    /// The file name used in errors.
    let fileName: String
    /// Where the stanza is, as messages say it: `in namespace test storage-engine device`.
    let place: String
    /// The parameters and sub-stanzas this stanza accepts (for "did you mean" suggestions).
    let knownNames: [String]
    /// Names Aerospike accepts here that Cairn refuses, with the reason given to the operator.
    let unsupported: [String: String]

    /// The line each once-only name was first seen on.
    private var firstLines: [String: Int] = [:]

    /// Makes a reader for one stanza; see the properties for what each argument is.
    init(fileName: String, place: String, knownNames: [String], unsupported: [String: String]) {
        self.fileName = fileName
        self.place = place
        self.knownNames = knownNames
        self.unsupported = unsupported
    }

    // MARK: Errors

    /// An error at `line` with `message`.
    func error(_ line: Int, _ message: String) -> ConfigError {
        ConfigError(file: fileName, line: line, message: message)
    }

    /// The error for a name this stanza does not accept: the reason when Aerospike knows the name,
    /// else a suggestion when a known name is close.
    func unknown(_ node: ConfigNode) -> ConfigError {
        let kind = node.isStanza ? "stanza" : "parameter"
        if let reason = unsupported[node.name] {
            return error(node.line, "unsupported \(kind) '\(node.name)' \(place): \(reason)")
        }
        var message = "unknown \(kind) '\(node.name)' \(place)"
        if let suggestion = NameSuggester.closest(to: node.name, among: knownNames) {
            message += " (did you mean '\(suggestion)'?)"
        }
        return error(node.line, message)
    }

    // MARK: Shape checks

    /// Refuses a second occurrence of a once-only parameter or stanza.
    mutating func noteOnce(_ node: ConfigNode) throws(ConfigError) {
        if let first = firstLines[node.name] {
            throw error(node.line, "'\(node.name)' is given twice \(place) (first on line \(first))")
        }
        firstLines[node.name] = node.line
    }

    /// Checks that `node` is a parameter line, not a stanza.
    func requireParameter(_ node: ConfigNode) throws(ConfigError) {
        if node.isStanza {
            throw error(node.line, "'\(node.name)' \(place) is a parameter and takes no '{ … }' block")
        }
    }

    /// Checks that `node` is a stanza with `argumentCount` words between its name and `{`;
    /// `argumentName` says what those words are.
    func requireStanza(_ node: ConfigNode, argumentCount: Int, argumentName: String) throws(ConfigError) {
        guard node.isStanza else {
            throw error(
                node.line,
                "'\(node.title)' \(place) needs a '{ … }' block: end the line with '{' and close the "
                    + "block with a '}' line"
            )
        }
        guard node.arguments.count == argumentCount else {
            if argumentCount == 0 {
                throw error(node.line, "'\(node.name)' \(place) takes no words before '{'")
            }
            if node.arguments.isEmpty {
                throw error(node.line, "'\(node.name)' \(place) needs \(argumentName) before '{'")
            }
            throw error(
                node.line,
                "'\(node.name)' \(place) takes one \(argumentName) before '{', not \(node.arguments.count) words"
            )
        }
    }

    // MARK: Values

    /// The single value word of a parameter line.
    func word(_ node: ConfigNode) throws(ConfigError) -> String {
        try requireParameter(node)
        guard let first = node.arguments.first else {
            throw error(node.line, "'\(node.name)' \(place) needs a value")
        }
        guard node.arguments.count == 1 else {
            throw error(
                node.line,
                "'\(node.name)' \(place) takes one value, not \(node.arguments.count): "
                    + "'\(node.arguments.joined(separator: " "))'"
            )
        }
        return first
    }

    /// A non-negative integer within `range`.
    func integer(_ node: ConfigNode, range: ClosedRange<Int>, note: String = "") throws(ConfigError) -> Int {
        let text = try word(node)
        guard let value = ConfigValue.integer(text) else {
            throw badValue(node, text, expected: "a whole number (digits only, like 100)")
        }
        try check(node, text, value, within: range, format: String.init, note: note)
        return value
    }

    /// A size in bytes within `range`, and a power of two when `powerOfTwo`.
    func sizeBytes(_ node: ConfigNode, range: ClosedRange<Int>, powerOfTwo: Bool = false) throws(ConfigError) -> Int {
        let text = try word(node)
        guard let value = ConfigValue.sizeBytes(text) else {
            throw badValue(
                node,
                text,
                expected: "a whole number of bytes with an optional K, M, G or T suffix (like 4G or 128K)"
            )
        }
        try check(node, text, value, within: range, format: ConfigValue.formatSize, powerOfTwo: powerOfTwo)
        return value
    }

    /// A duration in seconds within `range`.
    func seconds(_ node: ConfigNode, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try word(node)
        guard let value = ConfigValue.seconds(text) else {
            throw badValue(
                node,
                text,
                expected: "a whole number of seconds with an optional s, m, h or d suffix (like 30d or 10m)"
            )
        }
        try check(node, text, value, within: range, format: ConfigValue.formatSeconds)
        return value
    }

    /// A boolean; a parameter line without a value means `true`, as in Aerospike.
    func boolean(_ node: ConfigNode) throws(ConfigError) -> Bool {
        try requireParameter(node)
        if node.arguments.isEmpty {
            return true
        }
        let text = try word(node)
        guard let value = ConfigValue.boolean(text) else {
            throw badValue(node, text, expected: "true or false (yes and no are accepted too)")
        }
        return value
    }

    /// A path: any single word. Paths cannot contain blanks or `#`.
    func path(_ node: ConfigNode) throws(ConfigError) -> String {
        try word(node)
    }

    /// A name for a namespace or a set: 1 to `bytesMax` bytes of printable ASCII other than
    /// `:`, `;` and `=` (which the info protocol uses as separators).
    func name(_ text: String, line: Int, of what: String, bytesMax: Int) throws(ConfigError) -> String {
        let forbidden: Set<UInt8> = [UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "=")]
        let printable = text.utf8.allSatisfy { (0x21...0x7E).contains($0) && !forbidden.contains($0) }
        guard printable, (1...bytesMax).contains(text.utf8.count) else {
            throw error(
                line,
                "bad \(what) name '\(text)' \(place): expected 1 to \(bytesMax) bytes of printable ASCII "
                    + "without ':', ';' or '='"
            )
        }
        return text
    }

    /// The error for a value word of the wrong form.
    func badValue(_ node: ConfigNode, _ text: String, expected: String) -> ConfigError {
        error(node.line, "bad value '\(text)' for '\(node.name)' \(place): expected \(expected)")
    }

    // MARK: Private

    /// Refuses `value` outside `range` (or not a power of two when required), quoting the word
    /// as written and the range formatted like the parameter's values.
    private func check(
        _ node: ConfigNode,
        _ text: String,
        _ value: Int,
        within range: ClosedRange<Int>,
        format: (Int) -> String,
        powerOfTwo: Bool = false,
        note: String = ""
    ) throws(ConfigError) {
        if range.contains(value), !powerOfTwo || ConfigValue.isPowerOfTwo(value) {
            return
        }
        var allowed: String
        if range.lowerBound == range.upperBound {
            allowed = "only \(format(range.lowerBound))"
        } else if range.upperBound == Int.max {
            allowed = "\(format(range.lowerBound)) or more"
        } else {
            allowed = "\(format(range.lowerBound)) to \(format(range.upperBound))"
        }
        if powerOfTwo {
            allowed = "a power of two from " + allowed
        }
        throw error(node.line, "'\(node.name)' \(text) is out of range \(place): allowed \(allowed)\(note)")
    }
}
