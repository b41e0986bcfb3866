// cairn-bench-io: sequential write or read bandwidth of CairnIO on one device, or random reads
// through the service threads' RingReads.
//
//   cairn-bench-io --device PATH --mode write|read --queue-depth N --size BYTES [--block-size BYTES]
//   cairn-bench-io --device PATH --mode randread --queue-depth N --size BYTES [--block-size 4096]
//                  [--seconds 5] [--registered-slots N] [--page-cache [--no-inline]]
//
// With --page-cache a read is first tried at once (RWF_NOWAIT), as a service thread tries it;
// --no-inline sends every read to the ring.
//
// Prints one line: `mode=<m> qd=<n> bytes=<n> seconds=<s> bw_bytes_per_s=<n>`; randread adds
// `reads=<n> iops=<n> cpu_us_per_read=<x> registered=<n> inline=<n>` (CPU: this process's user + system time).
import CairnIO
import CLiburing
import Foundation

struct Options {
    var device = ""
    var mode = "write"
    var queueDepth = 1
    var sizeBytes: UInt64 = 1 << 30
    var blockSizeBytes = 1 << 20
    var seconds = 5.0
    var registeredSlots = RingReads.registeredSlotCountDefault
    var pageCache = false
    var inline = true
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ name: String) -> String {
        guard let v = args.next() else { fail("\(name) needs a value") }
        return v
    }
    while let a = args.next() {
        switch a {
        case "--device": o.device = value(a)
        case "--mode": o.mode = value(a)
        case "--queue-depth": o.queueDepth = Int(value(a)) ?? 0
        case "--size": o.sizeBytes = UInt64(value(a)) ?? 0
        case "--block-size": o.blockSizeBytes = Int(value(a)) ?? 0
        case "--seconds": o.seconds = Double(value(a)) ?? 0
        case "--registered-slots": o.registeredSlots = Int(value(a)) ?? -1
        case "--page-cache": o.pageCache = true
        case "--no-inline": o.inline = false
        default: fail("unknown argument \(a)")
        }
    }
    guard !o.device.isEmpty, ["write", "read", "randread"].contains(o.mode), o.queueDepth > 0, o.blockSizeBytes > 0,
          o.sizeBytes >= UInt64(o.blockSizeBytes), o.seconds > 0, o.registeredSlots >= 0 else {
        fail("usage: cairn-bench-io --device PATH --mode write|read|randread --queue-depth N --size BYTES [--block-size BYTES] "
             + "[--seconds S] [--registered-slots N] [--page-cache [--no-inline]]")
    }
    return o
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-io: \(message)\n".utf8))
    exit(2)
}

/// User + system CPU seconds of this process.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// `--queue-depth` reads of `--block-size` at random aligned offsets kept in flight for
/// `--seconds` through one thread's RingReads, completed on that thread as a service thread does.
func randomReads(_ o: Options) throws {
    let device = try BlockDevice.open(path: o.device, options: .init(readPageCache: o.pageCache))
    let blocks = min(o.sizeBytes, device.sizeBytes) / UInt64(o.blockSizeBytes)
    let ring = try Ring(entries: max(64, o.queueDepth * 2))
    let reads = RingReads(ring: ring, userDataTag: 1, registeredSlots: o.registeredSlots, inlineReads: o.inline) { work in work() }
    if let refusal = reads.registrationError { fail("registering the read slots: \(refusal)") }
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    let completed = Counter()
    func issue() {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        let offset = (seed >> 11) % blocks * UInt64(o.blockSizeBytes)
        reads.read(from: device, byteOffset: offset, sizeBytes: o.blockSizeBytes) { result in
            if case .failure(let error) = result { fail("read at \(offset): \(error)") }
            completed.value += 1
        }
    }
    let cqes = UnsafeMutableBufferPointer<cairn_cqe>.allocate(capacity: 256)
    defer { cqes.deallocate() }
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let end = start + UInt64(o.seconds * 1e9)
    while DispatchTime.now().uptimeNanoseconds < end {
        // Top up to the queue depth.
        for _ in reads.inFlightCount..<o.queueDepth { issue() }
        guard reads.inFlightCount > 0 else { continue }
        _ = try ring.submit(waitCount: 1)
        for i in 0..<ring.reap(into: cqes) { reads.complete(userData: cqes[i].user_data, result: cqes[i].res) }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let cpu = cpuSeconds() - cpuStart
    let count = completed.value
    print("mode=randread qd=\(o.queueDepth) bytes=\(count * o.blockSizeBytes) seconds=\(String(format: "%.3f", seconds)) "
          + "bw_bytes_per_s=\(Int(Double(count * o.blockSizeBytes) / seconds)) reads=\(count) iops=\(Int(Double(count) / seconds)) "
          + "cpu_us_per_read=\(String(format: "%.2f", cpu * 1e6 / Double(max(count, 1)))) registered=\(reads.registeredReadCount) inline=\(reads.inlineReadCount)")
}

/// A count the read callbacks bump (they run on this thread).
final class Counter: @unchecked Sendable {
    var value = 0
}

let options = parse()
do {
    if options.mode == "randread" {
        try randomReads(options)
        exit(0)
    }
    let device = try BlockDevice.open(path: options.device)
    let size = min(options.sizeBytes, device.sizeBytes) / UInt64(options.blockSizeBytes) * UInt64(options.blockSizeBytes)
    let pool = AlignedBufferPool(bufferSizeBytes: options.blockSizeBytes, alignmentBytes: device.alignmentBytes,
                                 capacity: options.queueDepth)
    // Fill every buffer once with non-zero bytes (as fio does), so writes carry real data.
    var warm: [AlignedBuffer] = []
    for _ in 0..<options.queueDepth { warm.append(try pool.take()) }
    var seed: UInt64 = 0x1234_5678_9ABC_DEF1
    for b in warm {
        b.withUnsafeMutableBytes { raw in
            for i in raw.bindMemory(to: UInt64.self).indices {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                raw.storeBytes(of: seed, toByteOffset: i * 8, as: UInt64.self)
            }
        }
        pool.recycle(b)
    }
    warm.removeAll()
    let queue = try device.makeQueue(depth: options.queueDepth)
    let count = Int(size / UInt64(options.blockSizeBytes))
    let isWrite = options.mode == "write"
    let requests = (0..<count).lazy.map { i -> IORequest in
        let buffer = try! pool.take()  // capacity == depth: one is always free when the queue has room
        let offset = UInt64(i) * UInt64(options.blockSizeBytes)
        return isWrite ? .write(from: buffer, at: offset) : .read(into: buffer, at: offset)
    }
    let start = DispatchTime.now().uptimeNanoseconds
    try queue.execute(requests) { completion in
        try completion.get()
        pool.recycle(completion.request.buffer!)
    }
    if isWrite { try device.dataSyncSync() }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let bw = Double(size) / seconds
    print("mode=\(options.mode) qd=\(options.queueDepth) bytes=\(size) seconds=\(String(format: "%.3f", seconds)) bw_bytes_per_s=\(Int(bw))")
} catch {
    fail("\(error)")
}
