// cairn-bench-io: sequential write or read bandwidth of CairnIO on one device.
//
//   cairn-bench-io --device PATH --mode write|read --queue-depth N --size BYTES [--block-size BYTES]
//
// Prints one line: `mode=<m> qd=<n> bytes=<n> seconds=<s> bw_bytes_per_s=<n>`.
import CairnIO
import Foundation

struct Options {
    var device = ""
    var mode = "write"
    var queueDepth = 1
    var sizeBytes: UInt64 = 1 << 30
    var blockSizeBytes = 1 << 20
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
        default: fail("unknown argument \(a)")
        }
    }
    guard !o.device.isEmpty, ["write", "read"].contains(o.mode), o.queueDepth > 0, o.blockSizeBytes > 0,
          o.sizeBytes >= UInt64(o.blockSizeBytes) else {
        fail("usage: cairn-bench-io --device PATH --mode write|read --queue-depth N --size BYTES [--block-size BYTES]")
    }
    return o
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cairn-bench-io: \(message)\n".utf8))
    exit(2)
}

let options = parse()
do {
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
