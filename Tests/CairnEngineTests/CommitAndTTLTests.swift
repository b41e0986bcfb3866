@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization
import Testing

@Suite struct CommitAndTTLTests {
    /// Concurrent commit-to-device writes share device writes (group commit): far fewer durable
    /// writes than acknowledged puts, and every put is readable afterwards.
    @Test func concurrentCommitsShareDeviceWrites() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("g.dat")], fileSizeBytes: 32 << 20, commitToDevice: true))
        let threads = 8
        let putsPerThread = 150
        let failures = Mutex(0)
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread {
                for i in 0..<putsPerThread {
                    do { try ns.put(testDigest(t * 10_000 + i), bins: [intBin("v", Int64(i))]) } catch {
                        failures.withLock { $0 += 1 }
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.withLock { $0 } == 0)
        let stats = ns.storage.devices[0].writer.statistics
        let deviceWrites = stats.partialWrites + stats.fullWrites
        print("group commit: \(threads * putsPerThread) acknowledged puts in \(deviceWrites) device writes; \(stats)")
        // Puts already covered by a completed group write are acknowledged without waiting.
        #expect(stats.commitWaitersServed <= threads * putsPerThread)
        #expect(deviceWrites < threads * putsPerThread)
        for t in 0..<threads { for i in 0..<putsPerThread { #expect(try ns.get(testDigest(t * 10_000 + i)) != nil) } }
        try ns.close()
    }

    @Test func expiredRecordsAreInvisibleAndStayGoneAfterColdStart() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let options = namespaceOptions([dir.file("t.dat")], fileSizeBytes: 16 << 20, clock: clock)
        do {
            let ns = try Namespace.open(options)
            let r = try ns.put(testDigest(1), bins: [intBin("v", 1)], options: WriteOptions(ttl: .seconds(10)))
            #expect(r.voidTime == UInt32(clock.now() / 1000) + 10)
            try ns.put(testDigest(2), bins: [intBin("v", 2)], options: WriteOptions(ttl: .never))
            try ns.put(testDigest(3), bins: [intBin("v", 3)], options: WriteOptions(ttl: .seconds(1000)))
            // -2: keep the existing void time on update.
            let kept = try ns.put(testDigest(3), bins: [intBin("w", 4)], options: WriteOptions(ttl: .keepExisting))
            #expect(kept.voidTime == r.voidTime + 990)
            // Live through its void-time second (Aerospike's rule), gone after it.
            clock.advance(seconds: 10)
            #expect(try ns.get(testDigest(1)) != nil)
            #expect(ns.exists(testDigest(1)) != nil)
            clock.advance(seconds: 1)
            #expect(try ns.get(testDigest(1)) == nil)
            #expect(ns.exists(testDigest(1)) == nil)
            #expect(try ns.get(testDigest(2)) != nil)
            // Touch of an expired record is a not-found, not a resurrection.
            #expect { try ns.touch(testDigest(1)) } throws: { ($0 as? EngineError)?.result == .keyNotFound }
            try ns.close()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.coldStart?.expired == 1)
        #expect(try ns.get(testDigest(1)) == nil)
        #expect(try ns.get(testDigest(3))?.bins.count == 2)
        try ns.close()
    }

    @Test func writePoliciesAndGenerationChecks() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(7)
        func code(_ body: () throws -> Void) -> EngineResult? {
            do { try body(); return nil } catch let e as EngineError { return e.result } catch { return .serverError }
        }
        #expect(code { try ns.put(d, bins: [intBin("a", 1)], options: WriteOptions(exists: .updateOnly)) } == .keyNotFound)
        #expect(code { try ns.put(d, bins: [intBin("a", 1)], options: WriteOptions(exists: .createOnly)) } == nil)
        #expect(code { try ns.put(d, bins: [intBin("a", 1)], options: WriteOptions(exists: .createOnly)) } == .keyExists)
        #expect(code { try ns.put(d, bins: [intBin("b", 2)], options: WriteOptions(generation: .expectEqual(5))) } == .generationError)
        #expect(code { try ns.put(d, bins: [intBin("b", 2)], options: WriteOptions(generation: .expectEqual(1))) } == nil)
        #expect(try ns.get(d)?.bins == [intBin("a", 1), intBin("b", 2)])
        #expect(code { try ns.put(d, bins: [intBin("c", 3)], options: WriteOptions(exists: .replaceOnly)) } == nil)
        #expect(try ns.get(d)?.bins == [intBin("c", 3)])
        #expect(code { _ = try ns.operate(d, operations: [.append("c", .string, [65])]) } == .binTypeError)
        #expect(code { _ = try ns.operate(d, operations: [.write(intBin("a-very-long-bin-name", 1))]) } == .binNameTooLong)
        // Deleting the last bin deletes the record.
        #expect(code { _ = try ns.operate(d, operations: [.deleteBin("c")]) } == nil)
        #expect(try ns.get(d) == nil)
        #expect(code { try ns.delete(d) } == .keyNotFound)
        try ns.close()
    }
}
