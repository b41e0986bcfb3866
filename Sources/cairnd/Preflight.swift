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
