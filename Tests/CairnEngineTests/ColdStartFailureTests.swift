@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// A cold start that fails part-way leaves no thread of its own behind.
@Suite struct ColdStartFailureTests {
    /// Descriptors this process holds open on any of `paths` (the test's own files: tests that
    /// run beside it in the process, cold starts among them, hold none of these).
    static func openDescriptors(on paths: [String]) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return false }
            return paths.contains(target)
        }.count
    }

    /// The index fills up in the middle of the scan: the parsers stop, and each device's reader,
    /// which by then may wait for a buffer only a parser would have handed back (the failing
    /// parser hands back one buffer, of one device), must stop too. A reader used to wait for
    /// ever, holding its buffers and its device, whose descriptors then stayed open. (Counted by
    /// descriptor, not by thread name: the scans of tests running beside this one have threads
    /// of the same names.)
    @Test func aFailedScanStopsItsReaders() throws {
        let dir = try TemporaryDirectory()
        let paths = [dir.file("d0.dat"), dir.file("d1.dat")]
        do {
            let ns = try Namespace.open(namespaceOptions(paths))
            for i in 0..<6000 { try ns.put(testDigest(i), bins: [blobBin("b", [UInt8](repeating: UInt8(i % 251), count: 1000))]) }
            try ns.close()
        }
        var options = namespaceOptions(paths)
        options.indexEntryCountMax = 500
        options.storage.scanQueueDepth = 2
        options.storage.scanThreadCount = 1
        let error = #expect(throws: (any Error).self) { try Namespace.open(options) }
        let reason = error.map { "\($0)" } ?? "none"
        #expect(reason.contains("index arena full"), "the scan was to fail on the full index, not on: \(reason)")
        // Nothing of the failed start holds the devices once it has returned (a stranded reader
        // held one; a moment's grace all the same).
        var open = Self.openDescriptors(on: paths)
        waitUntil {
            open = Self.openDescriptors(on: paths)
            return open == 0
        }
        #expect(open == 0, "\(open) descriptor(s) of the devices stay open after the failed cold start")
        // The devices are free again: a start that fits opens them.
        let ns = try Namespace.open(namespaceOptions(paths))
        #expect(try ns.get(testDigest(5999)) != nil)
        try ns.close()
    }
}
