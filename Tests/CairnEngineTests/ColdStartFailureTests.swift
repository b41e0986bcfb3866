@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// A cold start that fails part-way leaves no thread of its own behind.
@Suite struct ColdStartFailureTests {
    /// Threads of this process whose name starts with `prefix`.
    static func threads(named prefix: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.hasPrefix(prefix)
        }.count
    }

    /// The index fills up in the middle of the scan: the parsers stop, and each device's reader,
    /// which by then may wait for a buffer only a parser would have handed back (the failing
    /// parser hands back one buffer, of one device), must stop too. A reader used to wait for
    /// ever, holding its buffers and its descriptor of the device.
    @Test func aFailedScanStopsItsReaders() throws {
        let dir = try TemporaryDirectory()
        let paths = [dir.file("d0.dat"), dir.file("d1.dat")]
        do {
            let ns = try Namespace.open(namespaceOptions(paths))
            for i in 0..<6000 { try ns.put(testDigest(i), bins: [blobBin("b", [UInt8](repeating: UInt8(i % 251), count: 1000))]) }
            try ns.close()
        }
        let before = Self.threads(named: "cairn-scan")
        var options = namespaceOptions(paths)
        options.indexEntryCountMax = 500
        options.storage.scanQueueDepth = 2
        options.storage.scanThreadCount = 1
        let error = #expect(throws: (any Error).self) { try Namespace.open(options) }
        let reason = error.map { "\($0)" } ?? "none"
        #expect(reason.contains("index arena full"), "the scan was to fail on the full index, not on: \(reason)")
        var left = Self.threads(named: "cairn-scan")
        for _ in 0..<50 where left > before {
            usleep(100_000)
            left = Self.threads(named: "cairn-scan")
        }
        #expect(left == before, "\(left - before) device reader thread(s) of the failed cold start still run")
        // The devices are free again: a start that fits opens them.
        let ns = try Namespace.open(namespaceOptions(paths))
        #expect(try ns.get(testDigest(5999)) != nil)
        try ns.close()
    }
}
