@_spi(EngineInternals) import CairnEngine
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// A cold start reads only the blocks below each device's blocks-written mark: on a big file
/// with a few blocks written, far fewer blocks than the device has, and every record returns.
@Suite struct BlocksWrittenMarkEngineTests {
    @Test func coldStartScansOnlyBelowTheMark() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("big.dat")
        var options = namespaceOptions([path], fileSizeBytes: 1 << 30, blockSize: 128 << 10)  // 8192 blocks
        do {
            let ns = try Namespace.open(options)
            #expect(ns.storage.devices[0].header.blocksWrittenMark == 1)  // a new device: nothing written
            for i in 0..<2_000 { try ns.put(testDigest(i), bins: [blobBin("b", [UInt8](repeating: 7, count: 300))]) }
            let used = ns.storage.devices[0].writer.nextPristineBlock
            let mark = ns.storage.devices[0].header.blocksWrittenMark
            #expect(mark >= used && mark <= used + 64, "mark \(mark), first never-written block \(used)")
            try ns.close()
        }
        options.coldStart = true
        let ns = try Namespace.open(options)
        let report = try #require(ns.startReport.coldStart)
        #expect(report.blocksScanned <= 70, "\(report)")
        #expect(report.bytesRead <= 70 * (128 << 10), "\(report)")
        for i in 0..<2_000 { #expect(try ns.get(testDigest(i)) != nil) }
        try ns.close()
    }

    /// The flusher keeps the device header ahead of the writer: past half a step, the
    /// blocks-written mark and the durable sequence reservation move on before a block needs
    /// them, so that no append writes the header (FORMAT.md "Block sequences").
    @Test func headerStaysAheadOfTheWriter() throws {
        let dir = try TemporaryDirectory()
        let options = namespaceOptions([dir.file("ahead.dat")], fileSizeBytes: 1 << 30, blockSize: 128 << 10)
        let ns = try Namespace.open(options)
        let blob = [UInt8](repeating: 3, count: 60 << 10)  // two records a block
        for i in 0..<120 { try ns.put(testDigest(i), bins: [blobBin("b", blob)]) }
        let device = ns.storage.devices[0]
        let next = device.writer.nextPristineBlock
        let highest = ns.storage.sequencer.highest
        #expect(next > 40, "the puts opened \(next) blocks")
        var header = device.header
        waitUntil {
            header = device.header
            return header.blocksWrittenMark >= next + 32 && header.highestBlockSequence >= highest + 32
        }
        #expect(header.blocksWrittenMark >= next + 32, "mark \(header.blocksWrittenMark), next new block \(next)")
        #expect(header.highestBlockSequence >= highest + 32,
                "reserved through \(header.highestBlockSequence), highest handed out \(highest)")
        try ns.close()
    }
}
