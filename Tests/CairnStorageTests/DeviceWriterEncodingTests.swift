import CairnIO
import CairnIndex
import CairnTesting
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import CairnStorage

/// `DeviceWriter.append` reserves bytes under the device's lock and encodes them outside it.
/// These tests hold an encoder inside its encoding and check what the rest of the writer does
/// meanwhile: other appends proceed, and no flush writes the half-encoded bytes.
@Suite struct DeviceWriterEncodingTests {
    static let blockSize = 128 << 10

    /// A writer on a fresh 8 MiB file; the block header is a fixed pattern.
    static func makeWriter(_ path: String, commitToDevice: Bool, flushMaxMs: Int = 1000) throws -> (BlockDevice, DeviceWriter) {
        let device = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 8 << 20))
        let config = DeviceWriter.Configuration(writeBlockSizeBytes: blockSize, flushMaxMs: flushMaxMs,
                                                commitToDevice: commitToDevice)
        let writer = DeviceWriter(device: device, deviceIndex: 0, configuration: config,
                                  sequencer: BlockSequencer(after: 0), blockHeaderSizeBytes: 64,
                                  firstPristineBlock: 1) { raw, _, _ in
            raw.initializeMemory(as: UInt8.self, repeating: 0xB5)
        }
        writer.start()
        return (device, writer)
    }

    /// Fills a record's bytes with a pattern derived from `id`.
    static func fill(_ raw: UnsafeMutableRawBufferPointer, id: Int) {
        for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: id &* 31 &+ i &* 7 &+ 1) }
    }

    static func deviceBytes(_ device: BlockDevice, _ location: RecordLocation) throws -> [UInt8] {
        let alignment = device.alignmentBytes
        let start = location.byteOffset / UInt64(alignment) * UInt64(alignment)
        let skip = Int(location.byteOffset - start)
        let length = (skip + location.sizeBytes + alignment - 1) / alignment * alignment
        let buffer = AlignedBuffer(countBytes: length, alignmentBytes: alignment)
        try device.readSync(into: buffer, at: start)
        return buffer.withUnsafeBytes { [UInt8]($0[skip..<(skip + location.sizeBytes)]) }
    }

    static func expected(id: Int, size: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { fill($0, id: id) }
        return bytes
    }

    @Test func anAppendEncodingHoldsNoLockAndNoFlushWritesItsBytesEarly() throws {
        let dir = try TemporaryDirectory()
        let (device, writer) = try Self.makeWriter(dir.file("w.dat"), commitToDevice: true)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let slow = Mutex<RecordLocation?>(nil)
        let slowDone = DispatchSemaphore(value: 0)
        Thread {
            let location = try! writer.append(sizeBytes: 512) { raw, _ in
                entered.signal()
                release.wait()  // held inside its encoding
                Self.fill(raw, id: 1)
            }
            slow.withLock { $0 = location }
            slowDone.signal()
        }.start()
        entered.wait()

        // Another append to the same device completes while the first is still encoding.
        let fastDone = DispatchSemaphore(value: 0)
        let fast = Mutex<RecordLocation?>(nil)
        Thread {
            let location = try! writer.append(sizeBytes: 256) { raw, _ in Self.fill(raw, id: 2) }
            fast.withLock { $0 = location }
            fastDone.signal()
        }.start()
        #expect(fastDone.wait(timeout: .now() + 30) == .success, "an append waited for another append's encoding")
        let fastLocation = try #require(fast.withLock { $0 })

        // Its commit cannot complete: the flush would carry the half-encoded record before it.
        let durable = DispatchSemaphore(value: 0)
        writer.whenDurable(fastLocation) { error in
            #expect(error == nil)
            durable.signal()
        }
        #expect(durable.wait(timeout: .now() + 0.3) == .timedOut, "a flush ran while a record was half encoded")
        release.signal()
        #expect(durable.wait(timeout: .now() + 30) == .success)
        slowDone.wait()
        let slowLocation = try #require(slow.withLock { $0 })
        #expect(slowLocation.byteOffset < fastLocation.byteOffset)
        #expect(try Self.deviceBytes(device, slowLocation) == Self.expected(id: 1, size: 512))
        #expect(try Self.deviceBytes(device, fastLocation) == Self.expected(id: 2, size: 256))
        try writer.close()
    }

    @Test func concurrentAppendsAllReachTheDeviceIntact() throws {
        let dir = try TemporaryDirectory()
        let (device, writer) = try Self.makeWriter(dir.file("c.dat"), commitToDevice: false, flushMaxMs: 1)
        let threads = 6
        let perThread = 1500
        let locations = Mutex<[(id: Int, location: RecordLocation)]>([])
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread {
                var mine: [(id: Int, location: RecordLocation)] = []
                for i in 0..<perThread {
                    let id = t * perThread + i
                    let size = 16 * (1 + (id * 7919) % 40)
                    let location = try! writer.append(sizeBytes: size) { raw, _ in Self.fill(raw, id: id) }
                    mine.append((id, location))
                    // Some read back from memory at once, as the engine's readers do.
                    if i % 97 == 0 {
                        let copy = writer.memoryCopy(location)
                        #expect(copy == nil || copy! == Self.expected(id: id, size: size))
                    }
                }
                locations.withLock { $0.append(contentsOf: mine) }
                group.leave()
            }.start()
        }
        group.wait()
        try writer.close()
        let all = locations.withLock { $0 }
        #expect(all.count == threads * perThread)
        #expect(Set(all.map(\.location.byteOffset)).count == all.count, "two appends were given the same bytes")
        for (id, location) in all {
            #expect(try Self.deviceBytes(device, location) == Self.expected(id: id, size: location.sizeBytes), "record \(id)")
        }
    }
}
