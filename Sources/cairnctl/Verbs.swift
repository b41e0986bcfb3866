import Foundation
import Glibc

/// What `start`, `coldstart`, `stop` and `restart` do (DESIGN.md "Operations"; docs/operations.md).
enum Verbs {
    /// Starts cairnd detached and waits until info `status` answers `ok`.
    static func start(_ node: Node, coldStart: Bool, cairnd: String, timeoutSeconds: Int) throws(CtlFailure) {
        switch try node.state() {
        case .running(let pid):
            throw CtlFailure(message: "cairnd is already running (pid \(pid), pid file \(node.pidFile)); not starting a second one",
                             code: LSB.genericFailure)
        case .deadWithPidFile(let pid):
            Console.say("pid file \(node.pidFile) names pid \(pid), which is gone: the last stop was not clean, so this start is a cold start")
        case .notRunning:
            break
        }
        guard FileManager.default.isExecutableFile(atPath: cairnd) else {
            throw CtlFailure(message: "cairnd executable not found at \(cairnd) (give --cairnd PATH or set CAIRND)", code: LSB.notInstalled)
        }
        if node.logFileIsDefaultWorkDirectory {
            let directory = (node.logFile as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CtlFailure(message: "\(node.configPath ?? "the configuration") has no 'logging { file PATH { … } }' sink and no 'service { work-directory … }', "
                                 + "and the default work directory \(directory) does not exist: cairnctl would put cairnd's output in \(node.logFile); "
                                 + "add a file sink or a work-directory (or create \(directory))", code: LSB.notConfigured)
            }
            Console.say("no file sink and no work-directory in the configuration: cairnd's output goes to \(node.logFile)")
        }
        let logDirectory = (node.logFile as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw CtlFailure(message: "cannot create the log directory \(logDirectory): \(error.localizedDescription)", code: LSB.insufficientPrivilege)
        }
        let log = LogFollower(path: node.logFile)
        var arguments = ["--foreground"]
        if let path = node.configPath { arguments += ["--config-file", path] }
        if coldStart { arguments.append("--cold-start") }
        let child: DetachedChild
        do { child = try DetachedChild.spawn(executable: cairnd, arguments: arguments, logPath: node.logFile) } catch {
            throw CtlFailure(message: "\(error)", code: LSB.genericFailure)
        }
        Console.say("starting cairnd\(coldStart ? " (cold start)" : "") as pid \(child.pid); log: \(node.logFile)")
        Console.say("waiting for info status ok on \(node.probeHost):\(node.probePort)", terminator: "")
        var waited = 0.0
        let step = 0.2
        var nextDot = 1.0
        var nextProgress = 10.0
        while true {
            if let exit = child.exitStatus() {
                Console.say("")
                throw CtlFailure(message: "cairnd exited (\(exit)) before it was ready; last lines of \(node.logFile):\n"
                                 + indent(log.lastLines(20)), code: LSB.genericFailure)
            }
            let probe = node.readiness(timeoutSeconds: 1)
            if probe.ready, ProcessProbe.isLiveCairnd(child.pid), (try? node.state()) == .running(pid: child.pid) {
                Console.say("")
                Console.say("cairnd is ready (pid \(child.pid), \(node.probeHost):\(node.probePort))")
                return
            }
            if timeoutSeconds > 0, waited >= Double(timeoutSeconds) {
                Console.say("")
                throw CtlFailure(message: "cairnd (pid \(child.pid)) did not become ready within \(timeoutSeconds) s; it is left running (cairnctl stop stops it); last lines of \(node.logFile):\n"
                                 + indent(log.lastLines(20)), code: LSB.genericFailure)
            }
            usleep(useconds_t(step * 1e6))
            waited += step
            if waited >= nextProgress {
                nextProgress += 10
                if let progress = node.startupProgress() {
                    Console.say("\n  \(progress)", terminator: "")
                } else if let line = log.lastLines(200).last(where: { $0.contains("cold start") }) {
                    Console.say("\n  \(line)", terminator: "")
                }
            } else if waited >= nextDot {
                nextDot += 1
                Console.say(".", terminator: "")
            }
        }
    }

    /// SIGTERM to the pid in the pid file, then waits for the process to be gone. Never SIGKILL.
    static func stop(_ node: Node, timeoutSeconds: Int) throws(CtlFailure) {
        let pid: Int32
        switch try node.state() {
        case .notRunning:
            Console.say("cairnd is not running (no pid file \(node.pidFile)); nothing to stop")
            return
        case .deadWithPidFile(let gone):
            Console.say("cairnd is not running: pid file \(node.pidFile) names pid \(gone), which is gone (it did not stop cleanly: the next start is a cold start); nothing to stop")
            return
        case .running(let live):
            pid = live
        }
        let log = LogFollower(path: node.logFile)
        guard kill(pid, SIGTERM) == 0 else {
            let code = errno
            throw CtlFailure(message: "cannot signal cairnd (pid \(pid)): \(InfoConnection.errnoText(code))",
                             code: code == EPERM ? LSB.insufficientPrivilege : LSB.genericFailure)
        }
        Console.say("stopping cairnd (pid \(pid)): SIGTERM sent, waiting for the clean shutdown", terminator: "")
        var waited = 0.0
        var nextDot = 1.0
        while ProcessProbe.isLiveCairnd(pid) {
            if timeoutSeconds > 0, waited >= Double(timeoutSeconds) {
                Console.say("")
                throw CtlFailure(message: "cairnd (pid \(pid)) is still shutting down after \(timeoutSeconds) s; it is left running (cairnctl never sends SIGKILL): wait, or run cairnctl stop again",
                                 code: LSB.genericFailure)
            }
            usleep(100_000)
            waited += 0.1
            if waited >= nextDot {
                nextDot += 1
                Console.say(".", terminator: "")
            }
        }
        Console.say("")
        // cairnd's own record of how it ended (independent of the log level).
        let exitRecord = node.pidFile + ".exit"
        if let record = try? String(contentsOfFile: exitRecord, encoding: .utf8) {
            let line = record.trimmingCharacters(in: .whitespacesAndNewlines)
            if line == "clean \(pid)" {
                Console.say("cairnd stopped: finished clean shutdown (pid \(pid), recorded in \(exitRecord))")
                return
            }
            if line.hasPrefix("failed \(pid):") {
                throw CtlFailure(message: "cairnd (pid \(pid)) did not stop cleanly (the next start is a cold start): "
                                 + line.dropFirst("failed \(pid): ".count) + "; last lines of \(node.logFile):\n"
                                 + indent(log.lastLines(20)), code: LSB.genericFailure)
            }
        }
        let text = log.newText()
        if text.contains("finished clean shutdown") {
            Console.say("cairnd stopped: finished clean shutdown")
            return
        }
        if !FileManager.default.fileExists(atPath: node.pidFile) {
            if text.isEmpty {
                Console.say("cairnd (pid \(pid)) has exited; its log is not in \(node.logFile), so look there for 'finished clean shutdown'")
                return
            }
            throw CtlFailure(message: "cairnd (pid \(pid)) exited without 'finished clean shutdown'; last lines of \(node.logFile):\n"
                             + indent(log.lastLines(20)), code: LSB.genericFailure)
        }
        throw CtlFailure(message: "cairnd (pid \(pid)) ended without a clean shutdown (its pid file is still there: the next start is a cold start); last lines of \(node.logFile):\n"
                         + indent(log.lastLines(20)), code: LSB.genericFailure)
    }

    /// LSB status: 0 running (with readiness), 1 dead with pid file, 3 not running.
    static func status(_ node: Node) throws(CtlFailure) -> Int32 {
        switch try node.state() {
        case .notRunning:
            Console.say("cairnd is not running")
            return LSB.statusNotRunning
        case .deadWithPidFile(let pid):
            Console.say("cairnd is dead but pid file \(node.pidFile) exists (pid \(pid)); the next start is a cold start")
            return LSB.statusDeadWithPidFile
        case .running(let pid):
            let probe = node.readiness()
            if probe.ready {
                Console.say("cairnd is running (pid \(pid)) and ready: \(probe.detail)")
            } else {
                if let progress = node.startupProgress() {
                    Console.say("cairnd is running (pid \(pid)) and starting: \(progress)")
                } else {
                    Console.say("cairnd is running (pid \(pid)) but not ready (starting or stopping): \(probe.detail)")
                }
            }
            return LSB.success
        }
    }

    static func indent(_ lines: [String]) -> String {
        lines.isEmpty ? "    (nothing was written)" : lines.map { "    " + $0 }.joined(separator: "\n")
    }
}
