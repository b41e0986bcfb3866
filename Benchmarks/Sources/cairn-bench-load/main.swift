// cairn-bench-load: an asbench-like load generator over Aerospike's wire protocol.
//
//   cairn-bench-load --host 127.0.0.1 --port 3000 --namespace test --set bench \
//       --connections 32 --keys 1000000 --record-size 500 --workload RU,50 --duration 30
//
// Workloads: `I` inserts keys 0..<keys once, split across the connections (stops when done or at
// --duration); `RU,<read%>` picks keys uniformly at random and reads (get, all bins) or
// overwrites them. One thread per connection, one request in flight per connection, blocking
// sockets: the latency measured is what a synchronous client sees (request written → reply read).
// Digests are derived from the key number (the server never needs the user key).
//
// Prints a progress line per second on stderr, then one summary line per operation kind and a
// final `load ...` line of key=value figures for scripts.
import CairnWire
import Foundation
import Histogram

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var host = "127.0.0.1"
    var port: UInt16 = 3000
    var namespace = "test"
    var setName = "bench"
    var connections = 16
    var keys = 100_000
    /// The key space is firstKey ..< firstKey + keys: a second insert phase with another first
    /// key writes new records (a node whose write buffers and post-write cache are already full).
    var firstKey = 0
    var recordSize = 500
    var readPercent = 50
    var insert = false
    var durationS = 10.0
    var timeoutMs: UInt32 = 5000
    /// The server's pid: its CPU time (utime + stime from /proc) per transaction is reported.
    var serverPid: Int?

    static func parse(_ arguments: [String]) -> Options {
        var o = Options()
        var i = 0
        func value(_ name: String) -> String {
            i += 1
            guard i < arguments.count else { fail("\(name) needs a value") }
            return arguments[i]
        }
        func int(_ name: String) -> Int {
            let text = value(name)
            guard let v = Int(text), v > 0 else { fail("\(name) wants a positive integer, got '\(text)'") }
            return v
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--host": o.host = value(a)
            case "--port": o.port = UInt16(clamping: int(a))
            case "--namespace": o.namespace = value(a)
            case "--set": o.setName = value(a)
            case "--connections": o.connections = int(a)
            case "--keys": o.keys = int(a)
            case "--first-key":
                let text = value(a)
                guard let v = Int(text), v >= 0 else { fail("--first-key wants a non-negative integer, got '\(text)'") }
                o.firstKey = v
            case "--record-size": o.recordSize = int(a)
            case "--duration": o.durationS = Double(int(a))
            case "--timeout-ms": o.timeoutMs = UInt32(clamping: int(a))
            case "--server-pid": o.serverPid = int(a)
            case "--workload":
                let w = value(a)
                if w == "I" {
                    o.insert = true
                } else if w.hasPrefix("RU,"), let r = Int(w.dropFirst(3)), (0...100).contains(r) {
                    o.readPercent = r
                } else {
                    fail("--workload wants I or RU,<read percent 0-100>, got '\(w)'")
                }
            case "-h", "--help":
                print("usage: cairn-bench-load [--host H] [--port P] [--namespace NS] [--set S] [--connections N] "
                    + "[--keys K] [--first-key N] [--record-size BYTES] [--workload I|RU,<read%>] [--duration S] [--timeout-ms MS] [--server-pid PID]")
                exit(0)
            default: fail("unknown argument '\(a)' (see --help)")
            }
            i += 1
        }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-load: error: \(message)\n".utf8))
    exit(2)
}

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The digest for key number `n`: a SplitMix64-style mix spread over 20 bytes (uniform over
/// partitions, like RIPEMD-160 digests).
func digest(forKey n: Int) -> Digest {
    func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let a = mix(UInt64(n)), b = mix(a), c = mix(b)
    return Digest(word0: a, word1: b, word2: UInt32(truncatingIfNeeded: c))
}

/// One blocking TCP connection with TCP_NODELAY.
final class Connection {
    let fd: Int32
    var header = [UInt8](repeating: 0, count: 8)
    var body = [UInt8](repeating: 0, count: 4096)

    init(host: String, port: UInt16) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            fail("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0, connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            fail("cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { fail("write: \(String(cString: strerror(errno)))") }
                done += n
            }
        }
    }

    private func readFully(_ buffer: UnsafeMutableRawBufferPointer) {
        var done = 0
        while done < buffer.count {
            let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { fail(n == 0 ? "server closed the connection" : "read: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Reads one message reply frame and returns its result code.
    func receiveResult() -> UInt8 {
        header.withUnsafeMutableBytes { readFully($0) }
        let size = header[2...7].reduce(0) { ($0 << 8) | Int($1) }
        guard header[0] == 2, header[1] == ProtoType.message.rawValue, size >= MessageHeader.sizeBytes else {
            fail("unexpected reply frame header \(header)")
        }
        if body.count < size { body = [UInt8](repeating: 0, count: size) }
        body.withUnsafeMutableBytes { readFully(UnsafeMutableRawBufferPointer(rebasing: $0[0..<size])) }
        return body[5]
    }
}

/// What one worker measured.
struct WorkerResult: Sendable {
    var reads = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var writes = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var errors: [UInt8: Int] = [:]
}

/// Counts shared with the progress printer.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var ops = 0
    func add(_ n: Int) { lock.lock(); ops += n; lock.unlock() }
    func take() -> Int { lock.lock(); defer { lock.unlock() }; let v = ops; ops = 0; return v }
}

/// Everything the workers share: read-only options, the progress counter, and one result slot
/// per worker (each written once, by its own worker, before `finished` is signalled).
final class Run: @unchecked Sendable {
    let options: Options
    let payload: [UInt8]
    let progress = Progress()
    let stopAt: UInt64
    private var results: [WorkerResult]
    private let lock = NSLock()

    init(_ options: Options) {
        self.options = options
        payload = [UInt8](repeating: 0x61, count: max(1, options.recordSize - 30))
        stopAt = nowNs() + UInt64(options.durationS * 1e9)
        results = Array(repeating: WorkerResult(), count: options.connections)
    }

    func store(_ result: WorkerResult, worker: Int) { lock.lock(); results[worker] = result; lock.unlock() }
    func allResults() -> [WorkerResult] { lock.lock(); defer { lock.unlock() }; return results }
}

func runWorker(_ w: Int, _ run: Run) {
    let options = run.options, payload = run.payload, progress = run.progress, stopAt = run.stopAt
    let connection = Connection(host: options.host, port: options.port)
    var result = WorkerResult()
    var writer = WireWriter(capacityBytes: options.recordSize + 256)
    var rng = SystemRandomNumberGenerator()
    var insertNext = w, pending = 0
    let bins = [Bin("payload", .blob(payload)), Bin("n", .integer(0))]
    while true {
        let n: Int, isRead: Bool
        if options.insert {
            guard insertNext < options.keys else { break }
            n = insertNext
            insertNext += options.connections
            isRead = false
        } else {
            n = Int.random(in: 0..<options.keys, using: &rng)
            isRead = Int.random(in: 0..<100, using: &rng) < options.readPercent
        }
        let key = RecordKey(namespace: options.namespace, setName: options.setName, digest: digest(forKey: options.firstKey + n))
        writer.removeAll()
        if isRead {
            writer.appendGetRequestFrame(key: key, timeoutMs: options.timeoutMs)
        } else {
            writer.appendPutRequestFrame(key: key, bins: bins, timeoutMs: options.timeoutMs)
        }
        let start = nowNs()
        connection.send(writer.bytes)
        let code = connection.receiveResult()
        let end = nowNs()
        let micros = (end - start) / 1000
        if isRead {
            result.reads.record(micros)
        } else {
            result.writes.record(micros)
        }
        // 2 (not found) is a normal answer for a read of a key not yet written.
        if code != 0 && !(isRead && code == 2) { result.errors[code, default: 0] += 1 }
        pending += 1
        if pending == 256 {
            progress.add(pending)
            pending = 0
            if end >= stopAt { break }
        }
    }
    progress.add(pending)
    run.store(result, worker: w)
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat (fields 14 and 15).
func processCPUSeconds(_ pid: Int) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name (which may hold spaces) start at field 3.
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
    return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let cpuBefore = options.serverPid.flatMap(processCPUSeconds)
if let pid = options.serverPid, cpuBefore == nil { fail("cannot read /proc/\(pid)/stat") }
let run = Run(options)
let begin = nowNs()
var threads: [Thread] = []
let finished = DispatchGroup()
for w in 0..<options.connections {
    finished.enter()
    let t = Thread { runWorker(w, run); finished.leave() }
    t.stackSize = 1 << 20
    threads.append(t)
    t.start()
}
var second = 0
while finished.wait(timeout: .now() + 1) == .timedOut {
    second += 1
    FileHandle.standardError.write(Data("  t=\(second)s ops/s=\(run.progress.take())\n".utf8))
}
let elapsedS = Double(nowNs() - begin) / 1e9
let cpuAfter = options.serverPid.flatMap(processCPUSeconds)

var reads = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
var writes = reads
var errors: [UInt8: Int] = [:]
for r in run.allResults() {
    reads.add(r.reads)
    writes.add(r.writes)
    errors.merge(r.errors, uniquingKeysWith: +)
}

func describe(_ name: String, _ h: Histogram<UInt64>) -> String {
    guard h.totalCount > 0 else { return "\(name)_ops=0" }
    let tps = Double(h.totalCount) / elapsedS
    return String(format: "%@_ops=%llu %@_tps=%.0f %@_p50_us=%llu %@_p99_us=%llu %@_p999_us=%llu %@_max_us=%llu",
                  name, h.totalCount, name, tps, name, h.valueAtPercentile(50), name, h.valueAtPercentile(99),
                  name, h.valueAtPercentile(99.9), name, h.max)
}

let total = reads.totalCount + writes.totalCount
let errorText = errors.isEmpty ? "0" : errors.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
let workload = options.insert ? "I" : "RU,\(options.readPercent)"
print(String(format: "load workload=%@ connections=%d record_size=%d seconds=%.2f tps=%.0f errors=%@ ",
             workload, options.connections, options.recordSize, elapsedS, Double(total) / elapsedS, errorText)
    + describe("read", reads) + " " + describe("write", writes)
    + ((cpuBefore != nil && cpuAfter != nil && total > 0)
        ? String(format: " server_cpu_s=%.2f server_cpu_us_per_tx=%.2f", cpuAfter! - cpuBefore!, (cpuAfter! - cpuBefore!) * 1e6 / Double(total))
        : ""))
