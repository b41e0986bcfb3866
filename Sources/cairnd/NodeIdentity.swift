import CairnConfig
import Foundation
import Glibc
import Logging

/// The node id when the config names none, as Aerospike derives it: the MAC address of the first
/// non-loopback interface (lowest interface index with a non-zero address) in the low 48 bits and
/// the service port in the high 16 bits. So two nodes on one machine (different ports) never share
/// an id, and the id stays the same across restarts (its shared-memory index stays warm).
///
/// A machine without such an interface gets a random id persisted in
/// `<work-directory>/node-id` (hex), created on first start.
enum NodeIdentity {
    struct Derived {
        let nodeID: UInt64
        /// How it was found, for the start log: "interface eth0 MAC 02:fc:… and port 3000".
        let source: String
    }

    static func resolve(_ config: CairnConfiguration) throws -> Derived {
        if let id = config.service.nodeID { return Derived(nodeID: id, source: "service node-id") }
        let port = UInt64(config.network.service.port)
        if let (interface, mac) = firstInterfaceMAC() {
            return Derived(nodeID: port << 48 | mac, source: "interface \(interface) MAC \(macText(mac)) and port \(port)")
        }
        return try persistedRandom(workDirectory: config.service.workDirectory)
    }

    /// (name, MAC) of the non-loopback interface with the lowest index and a non-zero MAC.
    static func firstInterfaceMAC(sysfs: String = "/sys/class/net") -> (String, UInt64)? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: sysfs) else { return nil }
        var best: (index: Int, name: String, mac: UInt64)?
        for name in names where name != "lo" {
            func read(_ file: String) -> String? {
                (try? String(contentsOfFile: "\(sysfs)/\(name)/\(file)", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let type = read("type"), type == "1",  // ARPHRD_ETHER
                  let text = read("address"), let mac = parseMAC(text), mac != 0,
                  let index = read("ifindex").flatMap({ Int($0) }) else { continue }
            if best == nil || index < best!.index { best = (index, name, mac) }
        }
        return best.map { ($0.name, $0.mac) }
    }

    static func parseMAC(_ text: String) -> UInt64? {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard let byte = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    static func macText(_ mac: UInt64) -> String {
        (0..<6).map { String(format: "%02x", (mac >> (40 - 8 * UInt64($0))) & 0xFF) }.joined(separator: ":")
    }

    private static func persistedRandom(workDirectory: String) throws -> Derived {
        let path = (workDirectory as NSString).appendingPathComponent("node-id")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let id = UInt64(hex, radix: 16), id != 0 else {
                throw NodeIDFileError(path: path, text: hex)
            }
            return Derived(nodeID: id, source: "\(path)")
        }
        var id: UInt64 = 0
        while id == 0 { id = UInt64.random(in: 1...UInt64.max) }
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        try (String(id, radix: 16).uppercased() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return Derived(nodeID: id, source: "\(path) (new random id: no network interface with a MAC address)")
    }

    struct NodeIDFileError: Error, CustomStringConvertible {
        let path: String
        let text: String
        var description: String {
            "\(path): '\(text)' is not a non-zero hexadecimal node id: fix or remove the file, or set 'service { node-id … }'"
        }
    }
}

/// The shared-memory segments of one namespace of this node: an exclusive `flock` on
/// `<shm-directory>/<name>.lock`, held for the process's life, so a node never attaches to or
/// deletes segments another live node holds (two nodes given the same node-id and namespace).
/// The holder writes its pid into the file so the refusal can name it.
final class SharedMemoryLock: Sendable {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    struct Held: Error, CustomStringConvertible {
        let path: String
        let pid: String
        var description: String {
            "shared-memory segments \(path) are held by another live cairnd (pid \(pid)) with the same namespace and node-id "
                + "in this shm-directory: give each node its own node-id (or leave node-id unset to derive one) "
                + "or its own shm-directory"
        }
    }

    static func claim(directory: String, name: String) throws -> SharedMemoryLock {
        let path = "\(directory)/\(name).lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                          NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(errno)))"])
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw Held(path: "\(directory)/\(name).*", pid: holder.isEmpty ? "unknown" : holder)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return SharedMemoryLock(fd: fd)
    }

    /// True when `directory` is on a tmpfs (the file system type of its longest mount point in
    /// /proc/self/mounts), nil when that cannot be told.
    static func isTmpfs(_ directory: String) -> Bool? {
        let resolved = (directory as NSString).resolvingSymlinksInPath
        guard let text = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var best: (mount: String, type: String)?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mount = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let inside = mount == "/" || resolved == mount || resolved.hasPrefix(mount + "/")
            if inside, best == nil || mount.count >= best!.mount.count { best = (mount, String(fields[2])) }
        }
        return best.map { $0.type == "tmpfs" }
    }
}
