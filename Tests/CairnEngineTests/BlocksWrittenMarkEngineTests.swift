@_spi(EngineInternals) import CairnEngine
import CairnStorage
import CairnTesting
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
}
