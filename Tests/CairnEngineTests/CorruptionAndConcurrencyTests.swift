@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization
import Testing

/// Overwrites `count` bytes at `offset` of a file behind Cairn's back.
func scribble(_ path: String, at offset: UInt64, count: Int, byte: UInt8 = 0x5A) throws {
    let fd = open(path, O_WRONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    let bytes = [UInt8](repeating: byte, count: count)
    let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, count, off_t(offset)) }
    try #require(n == count)
    fsync(fd)
}

@Suite struct CorruptionTests {
    @Test func corruptRecordIsCountedUnparsableAndReadsFailInsteadOfLying() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.dat")
        var options = namespaceOptions([path], fileSizeBytes: 16 << 20, blockSize: 128 << 10)
        options.backgroundDefrag = false  // the records must stay where the scribbles hit them
        var victimLocation: RecordLocation?
        do {
            let ns = try Namespace.open(options)
            for i in 0..<500 { try ns.put(testDigest(i), bins: [intBin("v", Int64(i)), stringBin("s", "record \(i)")]) }
            victimLocation = ns.index.lookup(testDigest(250))?.location
            try ns.close()
        }
        let victim = try #require(victimLocation)
        try scribble(path, at: victim.offsetBytes + 24, count: 8)  // inside the digest
        let ns = try Namespace.open(options)
        let report = try #require(ns.startReport.coldStart)
        print("after corrupting one record: \(report)")
        #expect(report.unparsable == 1)
        #expect(try ns.get(testDigest(250)) == nil)
        for i in 0..<500 where i != 250 { #expect(try ns.get(testDigest(i))?.bins.first == intBin("v", Int64(i))) }

        // Corrupt another record while the namespace runs: the read fails, it never returns other
        // data, and each failed read counts as its device's read error.
        #expect(ns.spaceStatistics.devices[0].readErrors == 0)
        let other = try #require(ns.index.lookup(testDigest(100))?.location)
        try scribble(path, at: other.offsetBytes + 60, count: 4, byte: 0x11)
        #expect(throws: EngineError.self) { _ = try ns.get(testDigest(100)) }
        do { _ = try ns.get(testDigest(100)) } catch {
            #expect(error.result == .serverError)
            #expect(error.message.contains(path))
        }
        // An update must read the old copy too (it keeps the other bin), and fails the same way.
        #expect(throws: EngineError.self) { try ns.put(testDigest(100), bins: [intBin("v", -1)]) }
        #expect(ns.spaceStatistics.devices[0].readErrors == 3)
        try ns.close()
    }

    @Test func deviceOfAnotherNamespaceOrForeignDataIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f.dat")
        // Foreign data: refused, never overwritten.
        try Data(repeating: 0xEE, count: 1 << 20).write(to: URL(fileURLWithPath: path))
        #expect(truncate(path, 16 << 20) == 0)
        #expect { _ = try Namespace.open(namespaceOptions([path], fileSizeBytes: 16 << 20)) } throws: { error in
            "\(error)".contains(path) && "\(error)".lowercased().contains("not")
        }
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).readData(ofLength: 16)
        #expect(head == Data(repeating: 0xEE, count: 16))
        // Another namespace's device.
        let other = dir.file("o.dat")
        var o = namespaceOptions([other], fileSizeBytes: 16 << 20)
        try Namespace.open(o).close()
        o.storage.namespaceName = "bar"
        #expect { _ = try Namespace.open(o) } throws: { "\($0)".contains("belongs to namespace 'test'") }
        // Another block size.
        var b = namespaceOptions([other], fileSizeBytes: 16 << 20, blockSize: 256 << 10)
        b.storage.namespaceName = "test"
        #expect { _ = try Namespace.open(b) } throws: { "\($0)".contains("write-block-size") }
    }

    @Test func fullDeviceFailsWritesWithOutOfSpaceAndKeepsReads() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("full.dat")], fileSizeBytes: 1 << 20, blockSize: 128 << 10))
        var written = 0
        var failure: EngineError?
        for i in 0..<10_000 {
            do {
                try ns.put(testDigest(i), bins: [blobBin("b", [UInt8](repeating: 1, count: 3000))])
                written += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.result == .outOfSpace)
        #expect(written > 100)
        for i in 0..<written { #expect(try ns.get(testDigest(i)) != nil) }
        try ns.close()
    }
}

@Suite struct ConcurrencyTests {
    /// Many threads write, read, increment and durably delete overlapping keys; then the index
    /// must agree with a cold start of the same devices, record by record.
    @Test func concurrentWorkAgreesWithColdStart() throws {
        let seed = SplitMix64.seedFromEnvironment()
        print("concurrentWorkAgreesWithColdStart seed=\(seed) (replay: CAIRN_TEST_SEED=\(seed))")
        let dir = try TemporaryDirectory()
        let options = namespaceOptions([dir.file("x1.dat"), dir.file("x2.dat")], fileSizeBytes: 64 << 20,
                                       blockSize: 128 << 10, forceDurableDeletes: true)
        let ns = try Namespace.open(options)
        let errors = Mutex<[String]>([])
        let threads = 6
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                for _ in 0..<3000 {
                    let key = Int(rng.next() % 300)
                    let d = testDigest(key)
                    do {
                        switch rng.next() % 6 {
                        case 0: try ns.put(d, bins: [intBin("a", Int64(key)), stringBin("t", "thread \(t)")])
                        case 1: _ = try ns.operate(d, operations: [.incrementInteger("n", 1), .read("n")])
                        case 2: try ns.delete(d)
                        case 3: _ = try ns.operate(d, operations: [.append("t", .string, Array("+".utf8))])
                        default:
                            if let r = try ns.get(d), r.bins.isEmpty { errors.withLock { $0.append("empty record \(key)") } }
                        }
                    } catch let e as EngineError where e.result == .keyNotFound || e.result == .binTypeError {
                        continue
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                    }
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0.prefix(5) })")
        var before: [Int: EngineRecord] = [:]
        for key in 0..<300 { before[key] = try ns.get(testDigest(key)) }
        let tombstonesBefore = ns.statistics.tombstones
        try ns.close()
        let again = try Namespace.open(options)
        print("cold start after concurrent work: \(again.startReport.coldStart!)")
        var mismatches: [Int] = []
        for key in 0..<300 where try again.get(testDigest(key)) != before[key] { mismatches.append(key) }
        #expect(mismatches.isEmpty, "keys that differ after cold start: \(mismatches.prefix(10))")
        #expect(again.statistics.tombstones == tombstonesBefore)
        try again.close()
    }
}
