/// Why an info request could not be parsed or a reply could not be built (PROTOCOL.md §2).
public enum InfoError: Error, Sendable, Equatable {
    case commandCountAboveLimit(count: Int, max: Int)
    case lineTooLong(line: Int, sizeBytes: Int, max: Int)
    /// Request line `line` is not valid UTF-8.
    case invalidUTF8(line: Int)
    /// Reply answer `answer` has a TAB or LF in its value, or an LF in its echoed line.
    case separatorInAnswer(answer: Int)
}

/// Limits for info requests.
public struct InfoLimits: Sendable, Equatable {
    public static let commandCountMaxDefault: Int = 1024
    /// Room for a `udf-put` of Aerospike's largest module (1 MiB, base64 in the line).
    public static let lineSizeBytesMaxDefault: Int = 2 * 1024 * 1024

    public var commandCountMax: Int
    public var lineSizeBytesMax: Int

    public init(
        commandCountMax: Int = InfoLimits.commandCountMaxDefault,
        lineSizeBytesMax: Int = InfoLimits.lineSizeBytesMaxDefault
    ) {
        precondition(commandCountMax >= 0 && lineSizeBytesMax >= 0, "negative info limit")
        self.commandCountMax = commandCountMax
        self.lineSizeBytesMax = lineSizeBytesMax
    }
}

/// One `key=value` parameter of an info command.
public struct InfoParameter: Sendable, Equatable {
    public var key: String
    /// Text after the first `=`; empty when the item has no `=`.
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One info request line (PROTOCOL.md §2.1):
/// `name[/arg0[/arg1...]][:key=value[;key=value...]]`.
///
/// The name ends at the first `/`, `:` or `;` (the server also accepts `name;` and `name;k=v`).
/// Arguments run from the first `/` to the first `:`; parameters follow the `:` (or the `;`),
/// separated by `;`, each split at its *first* `=` (base64 values end in `=`). Empty arguments and
/// parameters are dropped. ``line`` keeps the exact text for the reply's echo.
public struct InfoCommand: Sendable, Equatable {
    /// The exact request line, echoed in the reply.
    public var line: String
    public var name: String
    public var arguments: [String]
    public var parameters: [InfoParameter]

    /// Parses one line (without its terminating LF).
    public init(line: String) {
        self.line = line
        let scalars = line.unicodeScalars
        guard let nameEnd = scalars.firstIndex(where: { $0 == "/" || $0 == ":" || $0 == ";" }) else {
            name = line
            arguments = []
            parameters = []
            return
        }
        name = String(scalars[scalars.startIndex..<nameEnd])
        var parametersStart: String.UnicodeScalarView.Index?
        if scalars[nameEnd] == "/" {
            let argumentsStart = scalars.index(after: nameEnd)
            let argumentsEnd = scalars[argumentsStart...].firstIndex(of: ":") ?? scalars.endIndex
            arguments = scalars[argumentsStart..<argumentsEnd].split(separator: "/").map { String($0) }
            if argumentsEnd < scalars.endIndex {
                parametersStart = scalars.index(after: argumentsEnd)
            }
        } else {
            arguments = []
            parametersStart = scalars.index(after: nameEnd)
        }
        guard let parametersStart else {
            parameters = []
            return
        }
        parameters = scalars[parametersStart...].split(separator: ";").map { item in
            if let equals = item.firstIndex(of: "=") {
                return InfoParameter(key: String(item[item.startIndex..<equals]), value: String(item[item.index(after: equals)...]))
            }
            return InfoParameter(key: String(item), value: "")
        }
    }

    /// The value of the first parameter named `key`.
    public func parameter(_ key: String) -> String? {
        parameters.first { $0.key == key }?.value
    }
}

/// A parsed info request body (PROTOCOL.md §2.1).
///
/// Lines are split on LF; an unterminated last line is processed (clients always terminate it,
/// the real server silently drops it — being lenient costs nothing). Empty lines in the middle
/// are kept as commands with an empty name so the reply has one line per request line, as the
/// real server does (it answers them `ERROR:4:unrecognized command`). An empty body asks for the
/// "summary" (``isSummary``): answer ``summaryCommandNames`` in order.
public struct InfoRequest: Sendable, Equatable {
    public var commands: [InfoCommand]

    /// The commands the real server answers for an empty request, in its order
    /// [SRV thr_info.c `info_summary`, entries with `in_summary`].
    public static let summaryCommandNames: [String] = [
        "features", "node", "compatibility-id", "edition", "build_ee_sha", "build_sha", "build_arch",
        "build_time", "build_os", "build", "version", "statistics", "services-alumni", "services",
        "partition-generation",
    ]

    public init(commands: [InfoCommand]) {
        self.commands = commands
    }

    /// Whether the body was empty (a summary request).
    public var isSummary: Bool { commands.isEmpty }

    /// Parses a type-1 request body.
    public static func parse(body: UnsafeRawBufferPointer, limits: InfoLimits = InfoLimits()) throws(InfoError) -> InfoRequest {
        let newline = UInt8(ascii: "\n")
        var commands: [InfoCommand] = []
        var lineStart = 0
        var lineIndex = 0
        while lineStart < body.count {
            var lineEnd = lineStart
            while lineEnd < body.count, loadUInt8(body, at: lineEnd) != newline {
                lineEnd += 1
            }
            guard lineIndex < limits.commandCountMax else {
                throw .commandCountAboveLimit(count: lineIndex + 1, max: limits.commandCountMax)
            }
            let lineSizeBytes = lineEnd - lineStart
            guard lineSizeBytes <= limits.lineSizeBytesMax else {
                throw .lineTooLong(line: lineIndex, sizeBytes: lineSizeBytes, max: limits.lineSizeBytesMax)
            }
            guard let line = String(validating: rebased(body, lineStart..<lineEnd), as: UTF8.self) else {
                throw .invalidUTF8(line: lineIndex)
            }
            commands.append(InfoCommand(line: line))
            lineIndex += 1
            lineStart = lineEnd + 1
        }
        return InfoRequest(commands: commands)
    }

    /// Parses a request body held in an array or slice.
    public static func parse<Bytes: Collection<UInt8>>(body: Bytes, limits: InfoLimits = InfoLimits()) throws(InfoError) -> InfoRequest {
        try withRawBytes(body) { (raw) throws(InfoError) -> InfoRequest in try parse(body: raw, limits: limits) }
    }
}

/// One reply line: the request line echoed exactly, and its value (PROTOCOL.md §2.2).
public struct InfoAnswer: Sendable, Equatable {
    public var line: String
    public var value: String

    public init(line: String, value: String) {
        self.line = line
        self.value = value
    }
}

/// Helpers for info reply values (PROTOCOL.md §2.2).
public enum InfoReply {
    /// Success-without-data value.
    public static let ok = "ok"

    /// `ERROR:<code>:<message>`; generic error 1 omits the code (`ERROR::<message>`), as the
    /// real server does.
    public static func errorValue(_ code: ResultCode, message: String) -> String {
        code == .serverError ? "ERROR::\(message)" : "ERROR:\(code.rawValue):\(message)"
    }

    /// The value for a command the server does not know (SRV 8.1 wording).
    public static let unrecognizedCommand = errorValue(.parameter, message: "unrecognized command")

    /// Whether `value` may be sent: it must not contain TAB or LF.
    public static func isValidValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") }
    }

    /// Builds a reply body: `line TAB value LF` per answer, in the given (request) order.
    /// Nothing is written if any answer is invalid.
    public static func body(_ answers: [InfoAnswer]) throws(InfoError) -> [UInt8] {
        var writer = WireWriter()
        try writer.appendInfoReplyBody(answers)
        return writer.bytes
    }
}

extension WireWriter {
    /// Appends info reply lines (no frame). Validates every answer before writing any byte.
    public mutating func appendInfoReplyBody(_ answers: [InfoAnswer]) throws(InfoError) {
        try validateInfoAnswers(answers)
        appendInfoLines(answers)
    }

    /// Appends a type-1 reply frame (PROTOCOL.md §2.2). Nothing is written on error.
    public mutating func appendInfoReplyFrame(_ answers: [InfoAnswer]) throws(InfoError) {
        try validateInfoAnswers(answers)
        beginFrame(.info)
        appendInfoLines(answers)
        endFrame()
    }

    /// Appends a type-1 request frame: each command followed by LF (PROTOCOL.md §2.1).
    /// Commands must not contain LF (a caller bug).
    public mutating func appendInfoRequestFrame(_ commands: [String]) {
        beginFrame(.info)
        for command in commands {
            precondition(!command.utf8.contains(UInt8(ascii: "\n")), "info command contains LF")
            appendBytes(command.utf8)
            appendUInt8(UInt8(ascii: "\n"))
        }
        endFrame()
    }

    private func validateInfoAnswers(_ answers: [InfoAnswer]) throws(InfoError) {
        for (index, answer) in answers.enumerated() {
            guard InfoReply.isValidValue(answer.value), !answer.line.utf8.contains(UInt8(ascii: "\n")) else {
                throw .separatorInAnswer(answer: index)
            }
        }
    }

    /// Writes `line TAB value LF` per answer; answers were validated.
    private mutating func appendInfoLines(_ answers: [InfoAnswer]) {
        for answer in answers {
            appendBytes(answer.line.utf8)
            appendUInt8(UInt8(ascii: "\t"))
            appendBytes(answer.value.utf8)
            appendUInt8(UInt8(ascii: "\n"))
        }
    }
}
