import CairnConfig
import Dispatch
import Foundation
import Glibc
import Logging

/// Checks, before the pid file is claimed or anything is read or written, that every device and
/// file of every namespace can be opened for reading and writing by this user: a non-root
/// cairnd without access to a device gets an error naming the path and the errno.
enum DeviceAccess {
    struct Denied: Error, CustomStringConvertible {
        let namespace: String
        let path: String
        let errno: Int32
        let what: String

        var description: String {
            let name = Self.errnoName(errno)
            var text = "namespace \(namespace): cannot open \(what) \(path) for reading and writing: \(String(cString: strerror(errno))) (\(name), errno \(errno))"
            if errno == EACCES || errno == EPERM {
                text += "; run cairnd as root or give user \(getuid()) read-write access to it (for a block device, e.g. the 'disk' group or a udev rule)"
            }
            return text
        }

        static func errnoName(_ code: Int32) -> String {
            switch code {
            case EACCES: "EACCES"
            case EPERM: "EPERM"
            case ENOENT: "ENOENT"
            case EROFS: "EROFS"
            case EBUSY: "EBUSY"
            case ENOTDIR: "ENOTDIR"
            case EISDIR: "EISDIR"
            default: "errno"
            }
        }
    }

    static func check(_ config: CairnConfiguration) throws {
        for namespace in config.namespaces {
            guard let backing = namespace.storage.backing else { continue }
            switch backing {
            case .devices(let paths):
                for path in paths { try probe(path, namespace: namespace.name, what: "device", create: false) }
            case .files(let paths, _):
                for path in paths { try probe(path, namespace: namespace.name, what: "file", create: true) }
            }
        }
    }

    /// Opens `path` read-write and closes it again: nothing is read or written. A file that does
    /// not exist yet needs a directory this user may create it in.
    private static func probe(_ path: String, namespace: String, what: String, create: Bool) throws {
        if create, !FileManager.default.fileExists(atPath: path) {
            let directory = (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                let code = access((directory as NSString).deletingLastPathComponent, W_OK) == 0 ? EIO : errno
                throw Denied(namespace: namespace, path: directory, errno: code, what: "the directory of")
            }
            if access(directory, W_OK | X_OK) != 0 {
                throw Denied(namespace: namespace, path: directory, errno: errno, what: "the directory of \(what)s")
            }
            return
        }
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw Denied(namespace: namespace, path: path, errno: errno, what: what) }
        _ = close(fd)
    }
}

/// SIGHUP: reopen the log files (logrotate's `postrotate` sends it).
enum LogReopener {
    static func install(sinks: LogSinks, logger: Logger) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            let failures = sinks.reopen()
            for failure in failures { logger.error("SIGHUP: \(failure); still writing to the old file") }
            logger.info("SIGHUP: log files reopened")
        }
        source.resume()
        return source
    }
}

/// proto-fd-max connections need as many open files. Before anything is opened, the soft
/// RLIMIT_NOFILE is raised (up to the hard limit) to proto-fd-max plus a reserve for devices,
/// rings, logs and info sockets; a limit that stays below proto-fd-max refuses the start, as
/// Aerospike's does (`N system file descriptors not enough, config specified M`), instead of
/// accepting a setting that the first thousand connections would break.
enum FileLimit {
    static let reserve: rlim_t = 512

    struct TooLow: Error, CustomStringConvertible {
        let protoFDMax: Int
        let soft: rlim_t
        let hard: rlim_t

        var description: String {
            "proto-fd-max \(protoFDMax) needs as many open files, but this process may open \(soft) (hard limit \(FileLimit.text(hard))); "
                + "raise the limit (ulimit -n, LimitNOFILE= in the systemd unit) or lower proto-fd-max"
        }
    }

    /// RLIM_INFINITY (all bits set; Glibc's macro does not import).
    static let unlimited = rlim_t.max

    static func text(_ value: rlim_t) -> String { value == unlimited ? "unlimited" : "\(value)" }

    static func ensure(protoFDMax: Int, logger: Logger) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            // Nothing to compare with (it cannot fail on Linux for this resource); said, not hidden.
            logger.warning("cannot read the open-file limit (\(String(cString: strerror(errno)))); proto-fd-max \(protoFDMax) is not checked")
            return
        }
        let wanted = rlim_t(protoFDMax) + reserve
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == unlimited ? wanted : min(wanted, limit.rlim_max)
            if raised.rlim_cur > limit.rlim_cur, setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                logger.info("open-file limit raised from \(limit.rlim_cur) to \(raised.rlim_cur) for proto-fd-max \(protoFDMax)")
                limit = raised
            }
        }
        guard limit.rlim_cur >= rlim_t(protoFDMax) else {
            throw TooLow(protoFDMax: protoFDMax, soft: limit.rlim_cur, hard: limit.rlim_max)
        }
        logger.info("open-file limit \(text(limit.rlim_cur)), proto-fd-max \(protoFDMax)")
    }
}
