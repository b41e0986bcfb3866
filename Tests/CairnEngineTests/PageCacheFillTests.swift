@_spi(EngineInternals) import CairnEngine
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// `fill-page-cache`: a block that leaves the post-write cache is read into the page cache, so
/// its records stay in memory although the block was written O_DIRECT; and a block reused after
/// such a fill is never read stale.
@Suite struct PageCacheFillTests {
    static let blockBytes = 128 << 10

    func options(_ dir: TemporaryDirectory, fill: Bool, cacheBlocks: Int = 1) -> NamespaceOptions {
        var o = namespaceOptions([dir.file("fill.dat")], fileSizeBytes: 16 << 20, blockSize: Self.blockBytes)
        o.storage.devices[0].readPageCache = true
        o.storage.postWriteCacheBytes = cacheBlocks * Self.blockBytes  // the older blocks leave it
        o.storage.fillPageCache = fill
        return o
    }

    func value(_ key: Int, round: Int) -> [StoredBin] {
        [intBin("r", Int64(round)), blobBin("p", [UInt8](repeating: UInt8(truncatingIfNeeded: key &+ round), count: 300))]
    }

    func roundOf(_ record: EngineRecord?) -> Int64? {
        guard let b = record?.bins.first(where: { $0.name == "r" }) else { return nil }
        return Int64(bitPattern: b.bytes.reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// With the setting, the first data block (written whole, then pushed out of the one-block
    /// post-write cache, or out of memory at once without one) comes into the page cache with
    /// no read of it; without it, the block's O_DIRECT write left none of it cached. Its records
    /// read back right either way.
    @Test(arguments: [(true, 1), (false, 1), (true, 0)])
    func blocksLeavingThePostWriteCacheAreReadIntoThePageCache(fill: Bool, cacheBlocks: Int) throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(options(dir, fill: fill, cacheBlocks: cacheBlocks))
        let writer = ns.storage.devices[0].writer
        // About 380 records a block: five blocks, the first four written whole and evicted.
        for k in 0..<2000 { try ns.put(testDigest(k), bins: value(k, round: 1)) }
        #expect(waitUntil { writer.statistics.fullWrites >= 4 }, "blocks written whole: \(writer.statistics.fullWrites)")
        let firstBlock = Int(DeviceGeometry.firstDataBlockIndex) * Self.blockBytes
        let pages = Self.blockBytes / 4096
        if fill {
            let fills = 4 - cacheBlocks
            #expect(waitUntil { writer.statistics.pageCacheFills >= fills }, "fills: \(writer.statistics.pageCacheFills)")
            let cached = waitUntil { residentPageCount(path: dir.file("fill.dat"), offsetBytes: firstBlock, lengthBytes: Self.blockBytes) == pages }
            #expect(cached, "the filled block has \(residentPageCount(path: dir.file("fill.dat"), offsetBytes: firstBlock, lengthBytes: Self.blockBytes)) of \(pages) pages cached")
            #expect(ns.spaceStatistics.pageCacheFills == writer.statistics.pageCacheFills)
        } else {
            usleep(100_000)
            #expect(writer.statistics.pageCacheFills == 0)
            #expect(residentPageCount(path: dir.file("fill.dat"), offsetBytes: firstBlock, lengthBytes: Self.blockBytes) == 0)
        }
        for k in 0..<2000 { #expect(roundOf(try ns.get(testDigest(k))) == 1, "key \(k)") }
        try ns.close()
    }

    /// Overwrites that empty blocks, defrag and block reuse, with every evicted block filled:
    /// a fill is asked for before the block's next write is submitted, and that write drops
    /// what the fill brought in, so every read, through the page cache, sees the last round. On
    /// a file and on a raw (loop) device, where Linux drops a range's cached pages before an
    /// asynchronous O_DIRECT write but not after it.
    @Test(arguments: [false, true])
    func reusedBlocksAreNeverReadStale(onLoopDevice: Bool) throws {
        let dir = try TemporaryDirectory()
        var o = options(dir, fill: true)
        o.storage.devices[0].fileSizeBytes = 4 << 20  // 31 data blocks: reuse comes soon
        o.backgroundDefrag = false
        var loop: LoopDevice?
        if onLoopDevice {
            guard let attached = LoopDevice.forTest(backingFile: dir.file("fill.img"), sizeBytes: 4 << 20) else {
                try Test.cancel("loop device unavailable")
            }
            loop = attached
            o.storage.devices[0] = .init(path: attached.path, readPageCache: true)
        }
        defer { if let loop { #expect(throws: Never.self) { try loop.detach() } } }
        let ns = try Namespace.open(o)
        for round in 1...25 {
            for k in 0..<600 { try ns.put(testDigest(k), bins: value(k, round: round)) }
            ns.defragmentOnce()
            for k in stride(from: round % 7, to: 600, by: 7) {
                #expect(roundOf(try ns.get(testDigest(k))) == Int64(round), "key \(k) in round \(round)")
            }
        }
        #expect(ns.spaceStatistics.blocksReused > 0)
        #expect(ns.spaceStatistics.pageCacheFills > 0)
        for k in 0..<600 { #expect(roundOf(try ns.get(testDigest(k))) == 25, "key \(k)") }
        try ns.close()
    }
}
