import CairnTesting
import Foundation
import Testing

@testable import CairnIO

/// Every refusal names the path and what is wrong, before the kernel sees the request.
@Suite struct BlockDeviceErrorTests {
    func expectIOError(_ expected: (IOError.Kind) -> Bool, _ body: () throws -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) -> IOError? {
        do {
            try body()
            Issue.record("expected an IOError, got success", sourceLocation: sourceLocation)
            return nil
        } catch let error as IOError {
            #expect(expected(error.kind), "unexpected kind: \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an IOError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func missingPath() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("nope/missing.dat")
        let error = expectIOError({ $0 == .notFound }) { _ = try BlockDevice.open(path: path) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("no such file") == true)
    }

    @Test func directory() throws {
        let dir = try TemporaryDirectory()
        let error = expectIOError({ $0 == .isDirectory }) { _ = try BlockDevice.open(path: dir.path) }
        #expect(error?.description.contains("is a directory") == true)
    }

    @Test func characterDevice() {
        let error = expectIOError({ if case .unsupportedFileType = $0 { true } else { false } }) {
            _ = try BlockDevice.open(path: "/dev/null")
        }
        #expect(error?.description.contains("character device") == true)
    }

    @Test func misalignedRequests() throws {
        let dir = try TemporaryDirectory()
        let device = try BlockDevice.open(path: dir.file("m.dat"), options: .init(fileSizeBytes: 1 << 20))
        let queue = try device.makeRingQueue(depth: 4)
        let aligned = AlignedBuffer(countBytes: 16384, alignmentBytes: 4096)
        let loose = AlignedBuffer(countBytes: 16384, alignmentBytes: 512)
        func isMisaligned(_ what: String) -> (IOError.Kind) -> Bool {
            { if case .misaligned(let w) = $0 { w.hasPrefix(what) } else { false } }
        }
        // Misaligned buffer: an offset into 512-aligned memory that is not 4096-aligned (which
        // offset that is depends on where the allocator put the memory).
        let base = loose.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
        let looseOffset = (base + 512) % 4096 == 0 ? 1024 : 512
        var e = expectIOError(isMisaligned("buffer address")) {
            try queue.enqueue(.write(from: loose, bufferOffset: looseOffset, lengthBytes: 4096, at: 0))
        }
        #expect(e?.description.contains(dir.file("m.dat")) == true)
        // Misaligned device offset.
        e = expectIOError(isMisaligned("offset")) { try queue.enqueue(.read(into: aligned, lengthBytes: 4096, at: 100)) }
        #expect(e?.offset == 100)
        // Misaligned length.
        _ = expectIOError(isMisaligned("length")) { try queue.enqueue(.read(into: aligned, lengthBytes: 1000, at: 0)) }
        // Buffer range overflow.
        _ = expectIOError({ if case .invalidArgument = $0 { true } else { false } }) {
            try queue.enqueue(.read(into: aligned, bufferOffset: 8192, lengthBytes: 16384, at: 0))
        }
        // Nothing was queued by any refusal.
        #expect(queue.inFlightCount == 0)
        #expect(queue.submissionReady == 0)
        // The synchronous path refuses the same way.
        _ = expectIOError(isMisaligned("offset")) { try device.readSync(into: aligned, at: 2048) }
    }

    @Test func offsetPastTheEnd() throws {
        let dir = try TemporaryDirectory()
        let device = try BlockDevice.open(path: dir.file("e.dat"), options: .init(fileSizeBytes: 1 << 20))
        let queue = try device.makeRingQueue(depth: 4)
        let buffer = AlignedBuffer(countBytes: 8192, alignmentBytes: 4096)
        let error = expectIOError({ $0 == .outOfBounds(deviceSizeBytes: 1 << 20) }) {
            try queue.enqueue(.read(into: buffer, at: (1 << 20) - 4096))  // 8 KiB from 4 KiB before the end
        }
        #expect(error?.description.contains("past the end") == true)
        _ = expectIOError({ $0 == .outOfBounds(deviceSizeBytes: 1 << 20) }) {
            try queue.enqueue(.write(from: buffer, at: 1 << 30))
        }
        #expect(queue.inFlightCount == 0)
    }

    @Test func queueFullAndPoolExhausted() throws {
        let dir = try TemporaryDirectory()
        let device = try BlockDevice.open(path: dir.file("q.dat"), options: .init(fileSizeBytes: 1 << 20))
        let queue = try device.makeRingQueue(depth: 2)
        let pool = AlignedBufferPool(bufferSizeBytes: 4096, alignmentBytes: 4096, capacity: 2)
        let a = try pool.take()
        let b = try pool.take()
        _ = expectIOError({ $0 == .poolExhausted(capacity: 2) }) { _ = try pool.take() }
        try queue.enqueue(.read(into: a, at: 0))
        try queue.enqueue(.read(into: b, at: 4096))
        _ = expectIOError({ $0 == .queueFull(depth: 2) }) { try queue.enqueue(.read(into: a, at: 8192)) }
        var completions: [IOCompletion] = []
        try queue.drain(into: &completions)
        for c in completions {
            try c.get()
            pool.recycle(c.request.buffer!)
        }
        #expect(pool.outstandingCount == 0)
    }

    /// A request the kernel fails (the file was cut short behind Cairn's back, so the read hits
    /// end-of-file) comes back as an error with its buffer, and leaves no SQE, slot or buffer.
    @Test func failedRequestLeavesNothingBehind() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f.dat")
        let device = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20))
        let queue = try device.makeRingQueue(depth: 8)
        let sqEntries = queue.submissionSpaceLeft
        let pool = AlignedBufferPool(bufferSizeBytes: 65536, alignmentBytes: 4096, capacity: 8)
        #expect(truncate(path, 256 << 10) == 0)  // the device still believes it has 1 MiB
        var failures: [IOError] = []
        var successes = 0
        let requests = (0..<16).lazy.map { i -> IORequest in
            .read(into: try! pool.take(), at: UInt64(i) * 65536, tag: UInt64(i))
        }
        try queue.execute(requests) { completion in
            if let error = completion.error { failures.append(error) } else { successes += 1 }
            pool.recycle(completion.request.buffer!)
        }
        #expect(successes == 4)  // the first 256 KiB still exist
        #expect(failures.count == 12)
        for f in failures {
            #expect(f.kind == .shortTransfer(transferredBytes: 0))
            #expect(f.path == path)
            #expect(f.offset.map { $0 >= 256 << 10 } == true)
        }
        #expect(queue.inFlightCount == 0)
        #expect(queue.submissionReady == 0)
        #expect(queue.submissionSpaceLeft == sqEntries)
        #expect(pool.outstandingCount == 0)
        // The queue keeps working after the failures.
        let buffer = try pool.take()
        var completions: [IOCompletion] = []
        try queue.enqueue(.read(into: buffer, at: 0))
        try queue.drain(into: &completions)
        #expect(completions.count == 1 && completions[0].error == nil)
        pool.recycle(buffer)
    }

    @Test func mountedBlockDeviceIsRefused() throws {
        let dir = try TemporaryDirectory()
        guard let loop = LoopDevice.forTest(backingFile: dir.file("mnt.img"), sizeBytes: 32 << 20) else {
            try Test.cancel("loop device unavailable")
        }
        defer { #expect(throws: Never.self) { try loop.detach() } }
        let mkfs = try Shell.run("/usr/sbin/mkfs.ext4", ["-q", "-F", loop.path])
        guard mkfs.status == 0 else {
            print("MKFS UNAVAILABLE: \(mkfs.stderr) — the mounted-device test could not run here")
            try Test.cancel("mkfs.ext4 failed: \(mkfs.stderr)")
        }
        let mountPoint = dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let mount = try Shell.run("/usr/bin/mount", [loop.path, mountPoint])
        guard mount.status == 0 else {
            print("MOUNT UNAVAILABLE: \(mount.stderr) — the mounted-device test could not run here")
            try Test.cancel("mount failed: \(mount.stderr)")
        }
        defer { _ = try? Shell.run("/usr/bin/umount", [mountPoint]) }
        let error = expectIOError({ if case .inUse = $0 { true } else { false } }) {
            _ = try BlockDevice.open(path: loop.path)
        }
        #expect(error?.description.contains(mountPoint) == true)
        #expect(error?.description.contains(loop.path) == true)
    }
}
