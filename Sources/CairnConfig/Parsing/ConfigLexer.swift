/// One line of a configuration file that holds something other than blanks and comments.
struct ConfigLine: Sendable, Equatable {
    /// The 1-based line number in the file.
    let number: Int
    /// The whitespace-separated words of the line before any `#` comment; never empty.
    let words: [String]
}

/// Splits configuration text into numbered lines of words, the way Aerospike does.
///
/// Rules: a leading UTF-8 byte order mark is skipped; a line ends at `\n` (a `\r` before it is
/// dropped); `#` starts a comment that runs to the end of the line, wherever it appears; words
/// are separated by spaces, tabs, vertical tabs and form feeds; there is no quoting, so a value
/// cannot contain blanks or `#`. Other control characters are refused, so nothing invisible can
/// hide in a path.
enum ConfigLexer {
    /// The non-empty lines of `text`, each with its words.
    ///
    /// Throws when the text is larger than `ConfigLimits.fileSizeBytesMax`, a line is longer than
    /// `ConfigLimits.lineLengthBytesMax` or holds a control character.
    static func lines(of text: String, fileName: String) throws(ConfigError) -> [ConfigLine] {
        let bytes = Array(text.utf8)
        guard bytes.count <= ConfigLimits.fileSizeBytesMax else {
            throw ConfigError(
                file: fileName,
                line: 0,
                message: "the configuration is \(bytes.count) bytes long; at most "
                    + "\(ConfigLimits.fileSizeBytesMax) are accepted"
            )
        }
        var content = bytes[...]
        // A UTF-8 byte order mark, as some editors write, is not part of the first word.
        if content.starts(with: utf8ByteOrderMark) {
            content = content.dropFirst(utf8ByteOrderMark.count)
        }
        var lines: [ConfigLine] = []
        var lineNumber = 0
        // Bounded: each pass consumes at least the line break, and bytes.count <= 1 MiB.
        for rawLine in content.split(separator: asciiNewline, omittingEmptySubsequences: false) {
            lineNumber += 1
            let words = try Self.words(of: rawLine, lineNumber: lineNumber, fileName: fileName)
            if !words.isEmpty {
                lines.append(ConfigLine(number: lineNumber, words: words))
            }
        }
        return lines
    }

    /// The number of the last line of `text` (1 for empty text): where errors about the file's
    /// end are reported.
    static func lastLineNumber(of text: String) -> Int {
        var count = 1
        for byte in text.utf8 where byte == asciiNewline {
            count += 1
        }
        // A final line break does not start a line of its own.
        if text.utf8.last == asciiNewline {
            count -= 1
        }
        return max(count, 1)
    }

    // MARK: Private

    private static let asciiNewline = UInt8(ascii: "\n")
    private static let asciiReturn = UInt8(ascii: "\r")
    private static let asciiHash = UInt8(ascii: "#")
    private static let asciiDelete: UInt8 = 0x7F
    private static let utf8ByteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Space, tab, vertical tab and form feed: Aerospike's word separators within a line.
    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C
    }

    /// The words of one line (without its `\n`).
    private static func words(
        of rawLine: ArraySlice<UInt8>,
        lineNumber: Int,
        fileName: String
    ) throws(ConfigError) -> [String] {
        var line = rawLine
        if line.last == asciiReturn {
            line = line.dropLast()
        }
        guard line.count <= ConfigLimits.lineLengthBytesMax else {
            throw ConfigError(
                file: fileName,
                line: lineNumber,
                message: "line is \(line.count) bytes long; at most "
                    + "\(ConfigLimits.lineLengthBytesMax) are accepted"
            )
        }
        if let hashIndex = line.firstIndex(of: asciiHash) {
            line = line[line.startIndex..<hashIndex]
        }
        if let bad = line.first(where: { ($0 < 0x20 && !isBlank($0)) || $0 == asciiDelete }) {
            let code = String(bad, radix: 16, uppercase: true)
            throw ConfigError(
                file: fileName,
                line: lineNumber,
                message: "control character 0x\(code.count == 1 ? "0" + code : code) is not "
                    + "allowed in a configuration line"
            )
        }
        // Splitting at ASCII bytes keeps every UTF-8 sequence whole, so decoding is lossless.
        return line.split(whereSeparator: isBlank).map { String(decoding: $0, as: UTF8.self) }
    }
}
