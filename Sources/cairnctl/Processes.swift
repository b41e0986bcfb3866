import Foundation
import Glibc

/// What the pid file says about cairnd.
enum DaemonState: Equatable {
    /// No pid file: not running (LSB status 3).
    case notRunning
    /// The pid file names a live cairnd (LSB status 0).
    case running(pid: Int32)
    /// The pid file names a process that is gone, or not cairnd (LSB status 1).
    case deadWithPidFile(pid: Int32)
}

enum PidFileReader {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads `path` and tells whether the process it names is a live cairnd.
    static func state(of path: String) throws -> DaemonState {
        guard FileManager.default.fileExists(atPath: path) else { return .notRunning }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Unreadable(description: "cannot read pid file \(path): \(error.localizedDescription)")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(trimmed), pid > 0 else {
            throw Unreadable(description: "pid file \(path) does not hold a process id (it holds '\(trimmed.prefix(40))')")
        }
        return ProcessProbe.isLiveCairnd(pid) ? .running(pid: pid) : .deadWithPidFile(pid: pid)
    }
}

enum ProcessProbe {
    /// True when `pid` exists, is not a zombie, and (where /proc tells) runs cairnd.
    ///
    /// A zombie counts as gone: it has exited, and whoever reaps it may be slow (PID 1 in a
    /// container often never does). A pid reused by another program counts as gone too.
    static func isLiveCairnd(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("Z") || rest.hasPrefix("X") { return false }
        }
        if let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) {
            return comm.contains("cairnd")  // an installed copy may be renamed, e.g. cairnd-0.1
        }
        return true
    }
}

/// Starts cairnd detached: its own session (setsid), stdin from /dev/null, stdout and stderr
/// appended to the log file. The caller stays its parent until it exits, so it can see an
/// early death with `exitStatus()`.
struct DetachedChild {
    let pid: Int32

    /// glibc's POSIX_SPAWN_SETSID (<spawn.h>, glibc 2.26+), which Swift does not import because
    /// the header declares it only under _GNU_SOURCE.
    static let posixSpawnSetsid: Int32 = 0x80

    struct SpawnFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func spawn(executable: String, arguments: [String], logPath: String) throws -> DetachedChild {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(Self.posixSpawnSetsid | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = [executable] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        // CAIRND_STDIO_LOG: the file stdout and stderr go to, which cairnd reopens by this name on
        // SIGHUP (log rotation), as it does its file sinks.
        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !text.hasPrefix("CAIRND_STDIO_LOG=") { environment.append(text) }
            entry += 1
        }
        environment.append("CAIRND_STDIO_LOG=\(logPath)")
        var cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        cEnv.append(nil)
        defer { for p in cEnv { free(p) } }
        let rc = posix_spawn(&pid, executable, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            throw SpawnFailure(description: "cannot start \(executable): \(InfoConnection.errnoText(rc))")
        }
        return DetachedChild(pid: pid)
    }

    /// The child's exit, if it has exited: a description such as "exit status 1" or
    /// "signal 9". Nil while it runs.
    func exitStatus() -> String? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        let low = status & 0x7f
        if low == 0 { return "exit status \((status >> 8) & 0xff)" }
        return "signal \(low)"
    }
}

/// Reading what cairnd wrote to its log after a given point.
struct LogFollower {
    let path: String
    let startOffset: UInt64

    /// Starts following at the current end of `path` (0 when it does not exist yet).
    init(path: String) {
        self.path = path
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value
        startOffset = size ?? 0
    }

    /// Everything written since the start (or the whole file if it shrank: it was rotated).
    func newText() -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let from = end >= startOffset ? startOffset : 0
        do {
            try handle.seek(toOffset: from)
            let data = try handle.readToEnd() ?? Data()
            return String(decoding: data, as: UTF8.self)
        } catch {
            return ""
        }
    }

    /// The last `count` lines written since the start.
    func lastLines(_ count: Int) -> [String] {
        Array(newText().split(separator: "\n", omittingEmptySubsequences: true).suffix(count).map(String.init))
    }
}
