/// One parameter line or one `{ … }` stanza of a configuration file.
///
/// ```
/// namespace test {          <- stanza: name "namespace", arguments ["test"], line 1
///     default-ttl 30d       <- parameter: name "default-ttl", arguments ["30d"], line 2
/// }                         <- closingLine 3
/// ```
struct ConfigNode: Sendable, Equatable {
    /// Whether the node is a parameter or a stanza, and a stanza's contents.
    enum Kind: Sendable, Equatable {
        /// A line `name value…`.
        case parameter
        /// A stanza `name argument… {` … `}`.
        case stanza(children: [ConfigNode])
    }

    /// The line of the parameter, or the line where the stanza opens.
    let line: Int
    /// The first word.
    let name: String
    /// The words after the name (without a stanza's `{`).
    let arguments: [String]
    /// Parameter or stanza.
    let kind: Kind

    /// `name argument…` as written, as errors quote it (`namespace test`).
    var title: String {
        ([name] + arguments).joined(separator: " ")
    }

    /// The children of a stanza; empty for a parameter.
    var children: [ConfigNode] {
        switch kind {
        case .parameter: []
        case .stanza(let children): children
        }
    }

    /// True for a stanza.
    var isStanza: Bool {
        if case .stanza = kind {
            return true
        }
        return false
    }
}

/// Builds the tree of stanzas from the lines of a file, checking only the braces.
///
/// Brace rules (Aerospike's, stated strictly): a stanza opens with `name [argument…] {` where
/// `{` is the last word of its line; it closes with a line holding only `}`. A brace is a word
/// of its own, separated by blanks. `namespace`, `logging` and `network` may only open at the
/// top level, which catches the commonest missing `}` at the next stanza rather than at the end
/// of the file.
enum ConfigTreeBuilder {
    /// The top-level nodes of the file.
    static func build(
        lines: [ConfigLine],
        lastLineNumber: Int,
        fileName: String
    ) throws(ConfigError) -> [ConfigNode] {
        var stack: [OpenStanza] = [OpenStanza(line: 0, name: "", arguments: [])]
        for line in lines {
            try checkBraceWords(line, fileName: fileName)
            let words = line.words
            if words == ["}"] {
                guard stack.count > 1, let closing = stack.popLast() else {
                    throw ConfigError(
                        file: fileName,
                        line: line.number,
                        message: "unexpected '}': no stanza is open here"
                    )
                }
                stack[stack.count - 1].children.append(closing.node())
            } else if words.contains("}") {
                throw ConfigError(
                    file: fileName,
                    line: line.number,
                    message: "'}' must be alone on its line"
                )
            } else if words.last == "{" {
                let opening = try openingStanza(line, stack: stack, fileName: fileName)
                stack.append(opening)
            } else if words.contains("{") {
                throw ConfigError(
                    file: fileName,
                    line: line.number,
                    message: "'{' must be the last word of its line, after the stanza name"
                )
            } else {
                let parameter = ConfigNode(
                    line: line.number,
                    name: words[0],
                    arguments: Array(words.dropFirst()),
                    kind: .parameter
                )
                stack[stack.count - 1].children.append(parameter)
            }
        }
        if stack.count > 1, let innermost = stack.last {
            let enclosing = stack.count - 2
            let note =
                enclosing == 0 ? "" : " (and \(enclosing) enclosing stanza\(enclosing == 1 ? " is" : "s are") open too)"
            throw ConfigError(
                file: fileName,
                line: innermost.line,
                message: "'\(innermost.title)' opened here is never closed: '}' missing before "
                    + "the end of the file at line \(lastLineNumber)\(note)"
            )
        }
        return stack[0].children
    }

    // MARK: Private

    /// Stanza names that may only open at the top level.
    private static let topLevelOnlyNames: Set<String> = ["namespace", "logging", "network"]

    /// A stanza whose `}` has not been read yet.
    private struct OpenStanza {
        let line: Int
        let name: String
        let arguments: [String]
        var children: [ConfigNode] = []

        var title: String {
            ([name] + arguments).joined(separator: " ")
        }

        func node() -> ConfigNode {
            ConfigNode(line: line, name: name, arguments: arguments, kind: .stanza(children: children))
        }
    }

    /// Refuses words that glue a brace to something else (`test{`).
    private static func checkBraceWords(_ line: ConfigLine, fileName: String) throws(ConfigError) {
        for word in line.words where word != "{" && word != "}" {
            if word.contains("{") || word.contains("}") {
                throw ConfigError(
                    file: fileName,
                    line: line.number,
                    message: "'\(word)': a brace must be separated from other words by blanks"
                )
            }
        }
    }

    /// The stanza a line ending in `{` opens, after checking where it may open.
    private static func openingStanza(
        _ line: ConfigLine,
        stack: [OpenStanza],
        fileName: String
    ) throws(ConfigError) -> OpenStanza {
        let words = line.words.dropLast()
        guard let name = words.first else {
            throw ConfigError(
                file: fileName,
                line: line.number,
                message: "'{' must follow a stanza name on the same line"
            )
        }
        guard !words.contains("{") else {
            throw ConfigError(
                file: fileName,
                line: line.number,
                message: "only one '{' may open a stanza on a line"
            )
        }
        let opening = OpenStanza(line: line.number, name: name, arguments: Array(words.dropFirst()))
        if topLevelOnlyNames.contains(name), stack.count > 1 {
            let outermost = stack[1]
            throw ConfigError(
                file: fileName,
                line: outermost.line,
                message: "'\(outermost.title)' opened here is not closed before line \(line.number) "
                    + "opens '\(opening.title)', which belongs at the top level: '}' missing"
            )
        }
        guard stack.count <= ConfigLimits.stanzaDepthMax else {
            throw ConfigError(
                file: fileName,
                line: line.number,
                message: "stanzas are nested more than \(ConfigLimits.stanzaDepthMax) deep"
            )
        }
        return opening
    }
}
