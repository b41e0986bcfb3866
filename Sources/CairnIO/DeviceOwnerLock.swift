import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One owner per device or file: an exclusive `flock` held, for as long as any writable
/// ``BlockDevice`` of this process has the path open, on a descriptor of its own (never handed
/// to io_uring, so the lock goes the moment the process exits, even after SIGKILL).
///
/// Within one process the lock is shared (reference counted per device and inode): reopening a
/// namespace in the same process, or an old ``BlockDevice`` not yet released, never locks the
/// process out of its own device. Another process gets `IOError.Kind.ownedByAnotherProcess`
/// with the holder's pid, read from `/proc/locks` (flock entries carry the pid that took them).
///
/// Thread-safety: the registry is behind a `Mutex`; a ``Claim`` is immutable.
public final class DeviceOwnerLock: Sendable {
    struct Key: Hashable, Sendable {
        let device: UInt64
        let inode: UInt64
    }

    private struct Entry {
        let fd: Int32
        var users: Int
    }

    private static let registry = Mutex<[Key: Entry]>([:])

    /// How long an open waits for a lock whose holder is already gone (a process being torn
    /// down) before it gives up.
    static let deadHolderWaitMs = 5_000

    let key: Key
    let path: String

    private init(key: Key, path: String) {
        self.key = key
        self.path = path
    }

    deinit {
        Self.registry.withLock { table in
            guard var entry = table[key] else { return }
            entry.users -= 1
            if entry.users == 0 {
                _ = Glibc.close(entry.fd)  // releases the flock
                table[key] = nil
            } else {
                table[key] = entry
            }
        }
    }

    /// Takes (or shares, within this process) the exclusive lock on `path`, opened once more
    /// (read-only) to hold it. `fd`, when given, is the descriptor the device was opened with:
    /// it must be the same file.
    static func claim(path: String, matching fd: Int32? = nil) throws(IOError) -> DeviceOwnerLock {
        var st = Glibc.stat()
        if let fd {
            guard fstat(fd, &st) == 0 else { throw IOError(.system, operation: .lock, path: path, errno: errno) }
        } else {
            guard stat(path, &st) == 0 else { throw IOError(.system, operation: .lock, path: path, errno: errno) }
        }
        let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        let result: Result<Void, IOError> = registry.withLock { table in
            if var entry = table[key] {
                entry.users += 1
                table[key] = entry
                return .success(())
            }
            let lockFD = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
            if lockFD < 0 { return .failure(IOError(.system, operation: .lock, path: path, errno: errno)) }
            var check = Glibc.stat()
            guard fstat(lockFD, &check) == 0, UInt64(check.st_dev) == key.device, UInt64(check.st_ino) == key.inode else {
                _ = Glibc.close(lockFD)
                return .failure(IOError(.invalidArgument("the path was replaced while it was being opened"),
                                        operation: .lock, path: path))
            }
            var waitedMs = 0
            while true {
                if flock(lockFD, LOCK_EX | LOCK_NB) == 0 { break }
                let code = errno
                if code == EINTR { continue }
                guard code == EWOULDBLOCK else {
                    _ = Glibc.close(lockFD)
                    return .failure(IOError(.system, operation: .lock, path: path, errno: code))
                }
                let holders = lockHolders(key)
                let live = holders.filter(isLive)
                if !live.isEmpty || waitedMs >= deadHolderWaitMs {
                    _ = Glibc.close(lockFD)
                    return .failure(IOError(.ownedByAnotherProcess(pid: live.first ?? holders.first),
                                            operation: .lock, path: path))
                }
                usleep(50_000)  // the holder has exited; its files are being released
                waitedMs += 50
            }
            table[key] = Entry(fd: lockFD, users: 1)
            return .success(())
        }
        try result.get()
        return DeviceOwnerLock(key: key, path: path)
    }

    /// Pids of the flock holders of `key` in `/proc/locks` (lines like
    /// `1: FLOCK  ADVISORY  WRITE 3867 fe:00:16220467 0 EOF`, major and minor in hex).
    static func lockHolders(_ key: Key) -> [Int32] {
        guard let text = MountTable.readSmallFile("/proc/locks") else { return [] }
        let major = (key.device >> 8) & 0xFFF | (key.device >> 32) & ~UInt64(0xFFF)
        let minor = key.device & 0xFF | (key.device >> 12) & ~UInt64(0xFF)
        var pids: [Int32] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "N:" FLOCK ADVISORY WRITE pid dev:ino start end ("->" marks a blocked waiter)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]) else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, let ma = UInt64(id[0], radix: 16), let mi = UInt64(id[1], radix: 16),
                  let ino = UInt64(id[2]) else { continue }
            if ma == major, mi == minor, ino == key.inode { pids.append(pid) }
        }
        return pids
    }

    /// True while `pid` runs and is not a zombie.
    static func isLive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        if let stat = MountTable.readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].drop(while: { $0 == " " })
            if state.hasPrefix("Z") || state.hasPrefix("X") { return false }
        }
        return true
    }
}
