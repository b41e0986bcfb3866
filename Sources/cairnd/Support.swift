import CairnConfig
import Foundation
import Logging

/// The pid file: written once the config is valid, refused when a live daemon holds it, removed
/// on a clean exit.
enum PidFile {
    struct Held: Error, CustomStringConvertible {
        let path: String
        let pid: Int32
        var description: String { "\(path): cairnd is already running as pid \(pid)" }
    }

    static func claim(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 {
                throw Held(path: path, pid: pid)
            }
            // A pid file left by a daemon that is gone: taken over below.
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try "\(getpid())\n".write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func remove(_ path: String) {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            FileHandle.standardError.write(Data("warning: could not remove pid file \(path): \(error)\n".utf8))
        }
    }
}

extension Daemon {
    /// swift-log to the configured sinks (console: stderr; file: appended), at the most verbose
    /// level any sink asks for.
    static func bootstrapLogging(_ logging: LoggingConfig) -> Logger {
        let level: Logger.Level = logging.sinks.map { sink -> Logger.Level in
            switch sink.level {
            case .critical: return .critical
            case .warning: return .warning
            case .info: return .info
            case .debug: return .debug
            case .detail: return .trace
            }
        }.min() ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "cairnd")
    }
}
