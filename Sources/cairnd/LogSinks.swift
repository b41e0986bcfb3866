import CairnConfig
import CairnServer
import Foundation
import Glibc
import Logging
import Synchronization

/// The open destinations of the `logging` stanza: stderr for `console`, an appended file for
/// each `file PATH`. `reopen()` (SIGHUP) opens every file again by path, so that after
/// logrotate renamed a file the next lines go to a new file of the configured name.
///
/// Lines are written whole with one write(2) under a lock, so lines from different threads
/// never interleave.
final class LogSinks: Sendable {
    struct OpenFailure: Error, CustomStringConvertible {
        let path: String
        let errno: Int32
        var description: String {
            "cannot open log file \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    private struct Sink {
        let destination: LogDestination
        /// The configured level (`log-set` changes it).
        var level: LogLevel
        /// The least severe level written.
        var threshold: Logger.Level
        var fd: Int32
    }

    private let sinks: Mutex<[Sink]>
    /// The least severe level any sink writes (the index in ``levels``): the handler's
    /// `logLevel`, read on every log call, changed by `log-set`.
    private let mostVerboseIndex: Atomic<Int>
    var mostVerbose: Logger.Level { Self.levels[mostVerboseIndex.load(ordering: .relaxed)] }
    /// swift-log's levels, least severe first (made once: a log call reads it).
    private static let levels = Logger.Level.allCases
    /// Whether one sink is the console (stderr).
    let hasConsole: Bool
    /// Standard output and error when they are a log file by path (cairnctl points them at the
    /// first file sink or `<work-directory>/cairnd.log`, and says which in `CAIRND_STDIO_LOG`):
    /// `reopen()` points them at a new file of that name too, so nothing keeps writing into a
    /// rotated file.
    let stdioTargets: [(fd: Int32, path: String)]

    init(_ config: LoggingConfig) throws {
        var opened: [Sink] = []
        do {
            for sink in config.sinks {
                let threshold = Self.threshold(sink.level)
                switch sink.destination {
                case .console:
                    opened.append(Sink(destination: .console, level: sink.level, threshold: threshold, fd: STDERR_FILENO))
                case .file(let path):
                    opened.append(Sink(destination: .file(path), level: sink.level, threshold: threshold, fd: try Self.open(path)))
                }
            }
        } catch {
            for sink in opened where sink.fd != STDERR_FILENO { _ = Glibc.close(sink.fd) }
            throw error
        }
        mostVerboseIndex = Atomic(Self.verbosityIndex(opened))
        hasConsole = opened.contains { $0.destination == .console }
        sinks = Mutex(opened)
        var candidates: [String] = config.sinks.compactMap {
            if case .file(let path) = $0.destination { return path } else { return nil }
        }
        if let path = ProcessInfo.processInfo.environment["CAIRND_STDIO_LOG"], !path.isEmpty { candidates.append(path) }
        var targets: [(fd: Int32, path: String)] = []
        for fd in [STDOUT_FILENO, STDERR_FILENO] {
            var st = Glibc.stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            for path in candidates {
                var other = Glibc.stat()
                if stat(path, &other) == 0, other.st_dev == st.st_dev, other.st_ino == st.st_ino {
                    targets.append((fd, path))
                    break
                }
            }
        }
        stdioTargets = targets
    }

    deinit {
        sinks.withLock { list in
            for sink in list where sink.fd != STDERR_FILENO { _ = Glibc.close(sink.fd) }
        }
    }

    /// Writes `line` (with its newline) to every sink that shows `level`.
    func write(_ line: String, level: Logger.Level) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        sinks.withLock { list in
            for sink in list where level >= sink.threshold {
                Self.writeAll(sink.fd, bytes)
            }
        }
    }

    // MARK: - Info commands (logs, log/<id>, log-set, log-rotate)

    /// Each sink as `logs` names it: `stderr` for the console, else the file's path.
    func sinkNames() -> [String] {
        sinks.withLock { list in
            list.map { sink in
                if case .file(let path) = sink.destination { return path }
                return "stderr"
            }
        }
    }

    /// The level of sink `id`, or nil when there is none.
    func level(ofSink id: Int) -> LogLevel? {
        sinks.withLock { list in list.indices.contains(id) ? list[id].level : nil }
    }

    /// Sets the level of sink `id`; false when there is no such sink.
    func setLevel(ofSink id: Int, to level: LogLevel) -> Bool {
        sinks.withLock { list in
            guard list.indices.contains(id) else { return false }
            list[id].level = level
            list[id].threshold = Self.threshold(level)
            mostVerboseIndex.store(Self.verbosityIndex(list), ordering: .relaxed)
            return true
        }
    }

    /// Opens every file sink again by its path. A file that cannot be opened keeps its old
    /// descriptor; the failures are returned so that they can be logged.
    func reopen() -> [OpenFailure] {
        sinks.withLock { list in
            var failures: [OpenFailure] = []
            for index in list.indices {
                guard case .file(let path) = list[index].destination else { continue }
                do {
                    let fd = try Self.open(path)
                    _ = Glibc.close(list[index].fd)
                    list[index].fd = fd
                } catch let failure as OpenFailure {
                    failures.append(failure)
                } catch {
                    failures.append(OpenFailure(path: path, errno: EIO))
                }
            }
            for (target, path) in stdioTargets {
                do {
                    let fd = try Self.open(path)
                    if dup2(fd, target) < 0 { failures.append(OpenFailure(path: path, errno: errno)) }
                    _ = Glibc.close(fd)
                } catch let failure as OpenFailure {
                    failures.append(failure)
                } catch {
                    failures.append(OpenFailure(path: path, errno: EIO))
                }
            }
            return failures
        }
    }

    private static func open(_ path: String) throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OpenFailure(path: path, errno: errno) }
        return fd
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // A log sink that cannot be written loses the line; the daemon goes on.
                }
                offset += n
            }
        }
    }

    private static func verbosityIndex(_ sinks: [Sink]) -> Int {
        levels.firstIndex(of: sinks.map(\.threshold).min() ?? .critical) ?? 0
    }

    /// Aerospike's level names onto swift-log's: a sink at `info` shows notice and above too,
    /// `warning` shows error, `detail` shows trace.
    static func threshold(_ level: LogLevel) -> Logger.Level {
        switch level {
        case .critical: .critical
        case .warning: .warning
        case .info: .info
        case .debug: .debug
        case .detail: .trace
        }
    }
}

/// swift-log handler writing `2026-11-22T02:10:00.123Z INFO cairnd: message key=value` lines
/// to the configured sinks.
struct SinkLogHandler: LogHandler {
    let label: String
    let sinks: LogSinks
    var metadata: Logger.Metadata = [:]
    /// The most verbose sink's level, now (`log-set` changes it while running); not settable.
    var logLevel: Logger.Level {
        get { sinks.mostVerbose }
        set {}
    }

    init(label: String, sinks: LogSinks) {
        self.label = label
        self.sinks = sinks
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var text = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) \(label): \(event.message)"
        if let error = event.error { text += " error=\(error)" }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        sinks.write(text, level: event.level)
    }

    /// UTC, millisecond precision.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), now.tv_nsec / 1_000_000)
    }
}

extension LogSinks: LogControl {
    func rotate() -> [String] { reopen().map(\.description) }
}
