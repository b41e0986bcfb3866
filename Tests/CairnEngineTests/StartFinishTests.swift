@_spi(EngineInternals) import CairnEngine
import CairnIO
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// The engine's two-step API: `startGet` and `startOperate` finish at once when no I/O is
/// needed (so a caller forms no continuation), and say `pending` only for a device read or a
/// commit-to-device wait, which `finishGet` and `finishOperate` complete.
@Suite struct StartFinishTests {
    /// Writes `count` records of about 1 KiB and waits until the first blocks are on the
    /// device; with no post-write cache their records are then read from the device.
    func fill(_ ns: Namespace, count: Int) throws {
        for k in 0..<count {
            try ns.put(testDigest(k), bins: [intBin("k", Int64(k)), blobBin("p", [UInt8](repeating: UInt8(k & 0xFF), count: 1000))])
        }
        waitUntil { ns.storage.devices[0].writer.statistics.fullWrites >= 2 }
        #expect(ns.storage.devices[0].writer.statistics.fullWrites >= 2)
    }

    func keyOf(_ record: EngineRecord?) -> Int64? {
        guard let b = record?.bins.first(where: { $0.name == "k" }) else { return nil }
        return Int64(bitPattern: b.bytes.reduce(0) { $0 << 8 | UInt64($1) })
    }

    @Test func memoryReadsAndBufferedWritesFinishAtOnce() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("s.dat")], fileSizeBytes: 16 << 20))
        defer { #expect(throws: Never.self) { try ns.close() } }
        guard case .finished(.success(let put)) = ns.startOperate(testDigest(1), operations: [.write(intBin("k", 1))]) else {
            Issue.record("a buffered write did not finish at once")
            return
        }
        #expect(put.generation == 1)
        guard case .finished(.success(let record)) = ns.startGet(testDigest(1)) else {
            Issue.record("a read from the write buffer did not finish at once")
            return
        }
        #expect(keyOf(record) == 1)
        guard case .finished(.success(nil)) = ns.startGet(testDigest(2)) else {
            Issue.record("a read of a missing record did not finish at once with nil")
            return
        }
        // An update of a record in memory merges at once.
        guard case .finished(.success) = ns.startOperate(testDigest(1), operations: [.write(intBin("m", 2))]) else {
            Issue.record("an update in memory did not finish at once")
            return
        }
        #expect(try ns.get(testDigest(1))?.bins.count == 2)
    }

    @Test func deviceReadsArePendingUntilFinished() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("d.dat")], fileSizeBytes: 16 << 20))
        defer { #expect(throws: Never.self) { try ns.close() } }
        try fill(ns, count: 400)
        guard case .pending(let read) = ns.startGet(testDigest(0)) else {
            Issue.record("a read of a record only the device holds finished without I/O")
            return
        }
        let found = waitForCallback { done in ns.finishGet(read, resume: .inline, completion: done) }
        #expect(keyOf(try found.get()) == 0)

        // An update of a record only the device holds reads it first, then merges.
        guard case .pending(let update) = ns.startOperate(testDigest(3), operations: [.write(intBin("m", 9))]) else {
            Issue.record("an update of a record on the device finished without reading it")
            return
        }
        let result = waitForCallback { done in ns.finishOperate(update, resume: .inline, completion: done) }
        #expect(try result.get().generation == 2)
        let merged = try ns.get(testDigest(3))
        #expect(keyOf(merged) == 3)
        #expect(merged?.bins.count == 3)
    }

    @Test func commitToDeviceWritesArePendingUntilDurable() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("c.dat")], fileSizeBytes: 16 << 20, commitToDevice: true))
        defer { #expect(throws: Never.self) { try ns.close() } }
        guard case .pending(let write) = ns.startOperate(testDigest(5), operations: [.write(intBin("k", 5))]) else {
            Issue.record("a commit-to-device write finished before it was durable")
            return
        }
        let result = waitForCallback { done in ns.finishOperate(write, resume: .inline, completion: done) }
        #expect(try result.get().generation == 1)
        #expect(keyOf(try ns.get(testDigest(5))) == 5)
    }
}
