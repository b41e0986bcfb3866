import CairnIO
import CairnTesting
import Foundation
import Testing
@testable import CairnStorage

/// `fill-page-cache` at the writer: of the blocks that leave the post-write cache, those with a
/// live record are read into the page cache, and those with none are skipped (the writer asks
/// its `isBlockEmpty`, here true of every even block).
@Suite struct PageCacheFillWriterTests {
    @Test func liveBlocksAreFilledAndEmptyOnesSkipped() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("fill.dat")
        let blockBytes = 128 << 10
        let device = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 8 << 20, readPageCache: true))
        var config = DeviceWriter.Configuration(writeBlockSizeBytes: blockBytes, flushMaxMs: 1000, commitToDevice: false,
                                                postWriteCacheBytes: blockBytes)
        config.fillPageCache = true
        let writer = DeviceWriter(device: device, deviceIndex: 0, configuration: config, sequencer: BlockSequencer(after: 0),
                                  blockHeaderSizeBytes: 64, firstPristineBlock: 1, isBlockEmpty: { $0 % 2 == 0 }) { raw, _, _ in
            raw.initializeMemory(as: UInt8.self, repeating: 0xB5)
        }
        writer.start()
        // Three 40,000-byte records a block: blocks 1 to 10, the first nine sealed and written
        // whole, and all of them but the last to complete pushed out of the one-block cache
        // (writes in flight may complete out of order): odd blocks live, even ones empty.
        for id in 0..<30 {
            _ = try writer.append(sizeBytes: 40_000) { raw, _ in raw.initializeMemory(as: UInt8.self, repeating: UInt8(id)) }
        }
        let left = waitUntil { let s = writer.statistics; return s.pageCacheFills + s.pageCacheFillsSkipped >= 8 }
        let s = writer.statistics
        #expect(left, "\(s)")
        #expect(s.pageCacheFills + s.pageCacheFillsSkipped == 8 && (4...5).contains(s.pageCacheFills), "\(s)")
        let pages = blockBytes / 4096
        func resident(_ block: Int) -> Int { residentPageCount(path: path, offsetBytes: block * blockBytes, lengthBytes: blockBytes) }
        let odd = [1, 3, 5, 7, 9]
        #expect(waitUntil { odd.filter { resident($0) == pages }.count == s.pageCacheFills }, "\(odd.map(resident))")
        #expect([2, 4, 6, 8].map(resident) == [0, 0, 0, 0], "an empty block was read into the page cache")
        try writer.close()
    }
}
