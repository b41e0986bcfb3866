import CairnIO
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

@_spi(EngineInternals) @testable import CairnEngine

/// Defrag reads a block, then rewrites the records the index still points at there. If the block
/// were freed and reused in between, and a newer copy of a digest landed at exactly the old
/// location (same size, same order: a delete-all-then-rewrite workload does this), the index
/// check `location == old location` would pass and defrag would put the stale copy back: a lost
/// update. A block defrag holds is therefore never freed until defrag lets it go.
@Suite struct DefragReuseRaceTests {
    @Test func aBlockBeingDefraggedIsNotReusedUnderIt() throws {
        let dir = try TemporaryDirectory()
        let blockSize = 128 << 10
        var options = namespaceOptions([dir.file("d.dat")], fileSizeBytes: 16 << 20, blockSize: blockSize, flushMaxMs: 600_000)
        options.backgroundDefrag = false
        let ns = try Namespace.open(options)
        let device = ns.storage.devices[0]
        let writer = device.writer
        func bins(_ version: UInt8) -> [StoredBin] { [blobBin("p", [UInt8](repeating: version, count: 1000))] }
        func location(_ k: Int) throws -> RecordLocation { try #require(ns.index.lookup(testDigest(k))).location }
        func block(_ l: RecordLocation) -> UInt32 { l.blockIndex(writeBlockSizeBytes: blockSize) }

        // Block b holds keys 0..<n (version 1); the first record of the next block seals it.
        try ns.put(testDigest(0), bins: bins(1))
        let b = block(try location(0))
        var keysInB = [0]
        var k = 1
        while true {
            try ns.put(testDigest(k), bins: bins(1))
            if block(try location(k)) != b { break }
            keysInB.append(k)
            k += 1
        }
        let original = try keysInB.map { try location($0) }
        waitUntil { !writer.isBuffered(b) }
        #expect(!writer.isBuffered(b), "block \(b) was never written whole")

        // The defragger picks b and reads it (as its thread does), holding it until it is done.
        #expect(writer.holdForDefrag([b]) == [b])
        let buffer = AlignedBuffer(countBytes: blockSize, alignmentBytes: device.device.alignmentBytes)
        _ = try ns.storage.readStoredBlock(deviceIndex: 0, block: b, into: buffer)

        // Meanwhile clients replace every record of b (version 2), durably: b empties. It would
        // be free once the flusher's sync has covered them (`waitDurable` waits for their write,
        // not for that sync; without the wait a slow sync would leave b unfreed anyway and the
        // checks below would pass even with no hold).
        for key in keysInB { try ns.put(testDigest(key), bins: bins(2)) }
        try ns.storage.waitDurable(try location(keysInB.last!))
        #expect(device.usage.liveBytes(block: b) == 0)
        waitUntil { writer.pendingFreeCount == 0 }
        #expect(writer.pendingFreeCount == 0, "the sync after the version-2 writes never came")
        #expect(!writer.freeBlockList.contains(b), "block \(b) freed while defrag holds it")

        // And write them all again (version 3), in the same order, with the same sizes: were b
        // reused, each would land at its version-1 location.
        var reusedAtOldLocations = false
        for _ in 0..<(3 * keysInB.count) {
            try ns.put(testDigest(keysInB[0]), bins: bins(3))
            if try location(keysInB[0]) == original[0] {
                reusedAtOldLocations = true
                break
            }
        }
        for key in keysInB.dropFirst() { try ns.put(testDigest(key), bins: bins(3)) }
        #expect(!reusedAtOldLocations, "block \(b) was reused while defrag held it")

        // The defragger goes on with what it read: nothing stale may come back.
        ns.defragger.rewrite(block: b, device: device, buffer: buffer)
        writer.releaseFromDefrag([b])
        for key in keysInB {
            let record = try #require(try ns.get(testDigest(key)))
            let version = record.bins.first?.bytes.first
            #expect(record.bins == bins(3), "key \(key) reads version \(version.map(String.init) ?? "none"), not 3")
        }
        // Let go, b is freed at once: its emptying was synced while defrag held it.
        #expect(writer.freeBlockList.contains(b), "block \(b) not freed when defrag let it go")
        try ns.close()
    }
}
