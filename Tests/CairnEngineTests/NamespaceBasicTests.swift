@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Testing

@Suite struct NamespaceBasicTests {
    /// Reads served from the write buffer copy the record to the stack (up to 1 KiB, up to
    /// 4 KiB) or to an array (beyond): each size class reads back exactly what was written, with
    /// no device read.
    @Test(arguments: [1, 900, 1000, 1010, 2000, 4000, 4020, 5000, 70_000])
    func readsFromTheWriteBufferAtEverySize(valueBytes: Int) throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("m.dat")]))
        let value = (0..<valueBytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ valueBytes) }
        let records = valueBytes > 10_000 ? 1 : 3  // all in the first write block, so none is written whole
        for i in 0..<records {
            try ns.put(testDigest(i), setName: "s", bins: [blobBin("b", value), intBin("i", Int64(i))])
        }
        for i in 0..<records {
            let got = try #require(try ns.get(testDigest(i)))
            #expect(got.bins == [blobBin("b", value), intBin("i", Int64(i))])
            #expect(got.setName == "s")
        }
        #expect(ns.statistics.deviceReads == 0)
        try ns.close()
    }

    @Test func putGetDeleteAndColdStart() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("ns.dat")
        do {
            let ns = try Namespace.open(namespaceOptions([path]))
            #expect(ns.startReport.mode == .fresh)
            let d = testDigest(1)
            let r1 = try ns.put(d, setName: "users", bins: [intBin("a", 7), stringBin("s", "hello")])
            #expect(r1.generation == 1)
            let got = try #require(try ns.get(d))
            #expect(got.generation == 1)
            #expect(got.bins == [intBin("a", 7), stringBin("s", "hello")])
            #expect(got.setName == "users")
            let r2 = try ns.operate(d, operations: [.incrementInteger("a", 5), .append("s", .string, Array(" world".utf8)), .read("a"), .read("s")])
            #expect(r2.generation == 2)
            // Reads in an operate see the writes before them.
            #expect(r2.bins.map(\.0) == ["a", "s"])
            #expect(r2.bins[0].1 == intBin("a", 12))
            #expect(r2.bins[1].1 == stringBin("s", "hello world"))
            #expect(try ns.get(d)?.bins == [intBin("a", 12), stringBin("s", "hello world")])
            try ns.delete(testDigest(1), options: WriteOptions(durableDelete: true))
            #expect(try ns.get(d) == nil)
            for i in 2..<1000 { try ns.put(testDigest(i), bins: [intBin("i", Int64(i))]) }
            try ns.close()
        }
        let ns = try Namespace.open(namespaceOptions([path]))
        #expect(ns.startReport.mode == .cold)
        #expect(ns.startReport.priorShutdownClean)
        let report = try #require(ns.startReport.coldStart)
        print("cold start: \(report)")
        #expect(try ns.get(testDigest(1)) == nil)
        for i in 2..<1000 { #expect(try ns.get(testDigest(i))?.bins == [intBin("i", Int64(i))]) }
        try ns.close()
    }
}
