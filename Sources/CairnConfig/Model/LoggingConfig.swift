/// How verbose a log sink is, with Aerospike's level names.
///
/// Ordered from least to most verbose: a sink at level `l` shows a line of level `m` when
/// `m <= l` (a sink at `info` shows critical, warning and info lines).
public enum LogLevel: String, Sendable, Equatable, CaseIterable, Comparable {
    /// Only failures that stop the daemon.
    case critical
    /// Problems the daemon survives.
    case warning
    /// Normal operation: start, restarts, progress, statistics. The default.
    case info
    /// Details for diagnosing a problem.
    case debug
    /// Everything, including per-transaction detail.
    case detail

    /// 0 for `critical` up to 4 for `detail`.
    public var verbosity: Int {
        switch self {
        case .critical: 0
        case .warning: 1
        case .info: 2
        case .debug: 3
        case .detail: 4
        }
    }

    /// Orders by `verbosity`.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        lhs.verbosity < rhs.verbosity
    }
}

/// Where a log sink writes.
public enum LogDestination: Sendable, Equatable, Hashable {
    /// Standard error of cairnd (journald collects it under systemd).
    case console
    /// A file, appended to; the path is kept as written until resolved.
    case file(String)
}

/// One sink of the `logging` stanza: a destination and the level of `context any LEVEL`.
public struct LogSink: Sendable, Equatable {
    /// Where the lines go.
    public var destination: LogDestination
    /// The most verbose level written; default `info`.
    public var level: LogLevel

    /// Makes a sink; the level defaults to `info`.
    public init(destination: LogDestination, level: LogLevel = .info) {
        self.destination = destination
        self.level = level
    }
}

/// The `logging` stanza.
///
/// ```
/// logging {
///     console {
///         context any info
///     }
///     file /var/log/cairn/cairn.log {
///         context any debug
///     }
/// }
/// ```
///
/// Without a `logging` stanza Cairn logs to the console at `info`. An empty `logging { }` has no
/// sinks and logs nothing. At most one console sink and 16 file sinks, each file once.
public struct LoggingConfig: Sendable, Equatable {
    /// The sinks, in file order.
    public var sinks: [LogSink]

    /// Makes a logging section; the default is one console sink at `info`.
    public init(sinks: [LogSink] = [LogSink(destination: .console, level: .info)]) {
        self.sinks = sinks
    }
}
