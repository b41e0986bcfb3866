import CairnIO
import CairnStorage
import Foundation
import Glibc
import Synchronization

/// Where each namespace's start stands, for the log and for info while the node starts.
final class StartupProgress: Sendable {
    struct Entry: Sendable {
        var phase: String  // "waiting", "opening", "cold start", "ready"
        var progress: ColdStartProgress?
    }

    private let entries = Mutex<[(String, Entry)]>([])

    init(namespaces: [String]) {
        entries.withLock { $0 = namespaces.map { ($0, Entry(phase: "waiting")) } }
    }

    func update(_ namespace: String, phase: String, progress: ColdStartProgress? = nil) {
        entries.withLock { list in
            if let i = list.firstIndex(where: { $0.0 == namespace }) { list[i].1 = Entry(phase: phase, progress: progress) }
        }
    }

    /// The info value of `cold-start`: `ns=test:phase=cold start:percent=42.0:records=1234:records_per_s=5000:mb_per_s=16.5:eta_s=3`
    /// per namespace, `;`-separated.
    var infoValue: String {
        entries.withLock { list in
            list.map { name, entry in
                var items = ["ns=\(name)", "phase=\(entry.phase)"]
                if let p = entry.progress {
                    items += ["percent=\(String(format: "%.1f", p.fraction * 100))", "records=\(p.records)",
                              "records_per_s=\(Int(p.recordsPerSecond))", "mb_per_s=\(String(format: "%.1f", p.bytesPerSecond / 1e6))",
                              "eta_s=\(Int(p.etaSeconds.rounded(.up)))"]
                }
                return items.joined(separator: ":")
            }.joined(separator: ";")
        }
    }

    /// One log line: `{test} cold start: 42.0% of the written blocks read, 1234 records found (5000 records/s, 16.5 MB/s), eta 3 s`.
    static func logLine(_ namespace: String, _ p: ColdStartProgress) -> String {
        "{\(namespace)} cold start: \(String(format: "%.1f", p.fraction * 100))% of the written blocks read, "
            + "\(p.records) records found (\(Int(p.recordsPerSecond)) records/s, \(String(format: "%.1f", p.bytesPerSecond / 1e6)) MB/s), "
            + "eta \(Int(p.etaSeconds.rounded(.up))) s"
    }
}

/// While the namespaces open (a cold start can take long), the service port already listens and
/// answers info requests (the info protocol, as `asinfo` and `cairnctl` send them): `status`
/// answers `starting` (not `ok`: clients and `cairnctl start` keep waiting), `cold-start` the
/// progress per namespace, anything else `ERROR::starting`. It closes just before the server
/// binds the port. One blocking thread, one request at a time: for operators, not for load.
final class StartupInfoListener: Sendable {
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    private let done = Mutex<Bool>(false)
    private let progress: StartupProgress

    /// Binds `address`:`port` (an IPv4 or IPv6 literal) or throws `PortCheck.Unavailable`.
    init?(address: String, port: UInt16, progress: StartupProgress) throws {
        self.progress = progress
        fd = try PortCheck.listeningSocket(address: address, port: port)
        if fd < 0 { return nil }
        NamedThread.start("cairnd-startup") { [self] in self.serve() }
    }

    /// Stops answering and closes the port (before the server binds it).
    func close() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = shutdown(fd, Int32(SHUT_RDWR))
        // Wait for the thread to leave accept, then close: the port is free when this returns.
        var waited = 0
        while !done.withLock({ $0 }) && waited < 2000 {
            usleep(1000)
            waited += 1
        }
        _ = Glibc.close(fd)
    }

    private func serve() {
        defer { done.withLock { $0 = true } }
        while !stopped.load(ordering: .acquiring) {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            answer(client)
            _ = Glibc.close(client)
        }
    }

    /// Answers info frames on `client` until it closes or sends something else.
    private func answer(_ client: Int32) {
        while !stopped.load(ordering: .acquiring) {
            guard let header = readExactly(client, 8) else { return }
            let word = header.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let version = word >> 56, type = (word >> 48) & 0xFF, length = Int(word & 0xFFFF_FFFF_FFFF)
            guard version == 2, type == 1, length <= 65536, let body = readExactly(client, length) else { return }
            let text = String(decoding: body, as: UTF8.self)
            var reply = ""
            for name in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
                let value: String
                switch name {
                case "status": value = "starting"
                case "cold-start": value = progress.infoValue
                default: value = "ERROR::starting"
                }
                reply += "\(name)\t\(value)\n"
            }
            var bytes = Array(reply.utf8)
            let replyHeader = UInt64(2) << 56 | UInt64(1) << 48 | UInt64(bytes.count)
            bytes.insert(contentsOf: (0..<8).map { UInt8(truncatingIfNeeded: replyHeader >> (56 - 8 * UInt64($0))) }, at: 0)
            guard writeAll(client, bytes) else { return }
        }
    }

    private func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            done += n
        }
        return bytes
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}

/// Paces the cold-start log line to one per namespace every 5 s (progress comes every second).
final class ColdStartLogPacer: Sendable {
    static let shared = ColdStartLogPacer()
    private let last = Mutex<[String: UInt64]>([:])

    func due(_ namespace: String) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        return last.withLock { table in
            if let previous = table[namespace], ms - previous < 4_900 { return false }
            table[namespace] = ms
            return true
        }
    }
}
