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
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, pid != getpid(),
               isLiveCairnd(pid) {
                throw Held(path: path, pid: pid)
            }
            // A pid file left by a daemon that is gone: taken over below.
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try "\(getpid())\n".write(toFile: path, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: exitRecordPath(path))  // the previous daemon's
    }

    /// True when `pid` runs, is not a zombie (a killed daemon whose parent has not reaped it yet),
    /// and, where /proc tells, runs a program whose name contains "cairnd" (not a reused pid).
    static func isLiveCairnd(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if state.hasPrefix("Z") || state.hasPrefix("X") { return false }
        }
        if let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) {
            return comm.contains("cairnd")  // an installed copy may be renamed, e.g. cairnd-0.1
        }
        return true
    }

    /// `<pidfile>.exit`: how the daemon that had this pid file ended, written as it exits and
    /// read by `cairnctl stop` (so the confirmation does not depend on the log level):
    /// `clean <pid>` or `failed <pid>: <reason>`.
    static func exitRecordPath(_ pidFile: String) -> String { pidFile + ".exit" }

    static func writeExitRecord(_ pidFile: String, clean: Bool, reason: String = "") {
        let text = clean ? "clean \(getpid())\n" : "failed \(getpid()): \(reason.replacingOccurrences(of: "\n", with: " "))\n"
        do { try text.write(toFile: exitRecordPath(pidFile), atomically: true, encoding: .utf8) } catch {
            FileHandle.standardError.write(Data("warning: could not write \(exitRecordPath(pidFile)): \(error)\n".utf8))
        }
    }

    static func remove(_ path: String) {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            FileHandle.standardError.write(Data("warning: could not remove pid file \(path): \(error)\n".utf8))
        }
    }
}

extension Daemon {
    /// swift-log to the configured sinks (console: stderr; file: appended, reopened on SIGHUP).
    static func bootstrapLogging(_ logging: LoggingConfig) throws -> (Logger, LogSinks) {
        let sinks = try LogSinks(logging)
        LoggingSystem.bootstrap { label in SinkLogHandler(label: label, sinks: sinks) }
        return (Logger(label: "cairnd"), sinks)
    }
}
