@_spi(EngineInternals) import CairnEngine
import CairnServer
import CairnStorage
import CairnTesting
import CairnWire
import Testing

/// Thread-identity probes of the transaction path (the server's counters, reported by info
/// `statistics`): a transaction that memory can answer completes on the thread that read its
/// request, and one that needs the device (a read that misses memory, a commit-to-device write)
/// is resumed on that thread by its completion, with no thread parked meanwhile.
@Suite struct RunToCompletionTests {
    /// The server counters a test compares before and after its requests.
    struct Probe: Equatable {
        var inline: Int
        var resumed: Int
        var offThread: Int
        var poolJobs: Int
        var deviceReads: Int
        var deviceReadsAtOnce: Int

        static func read(_ client: WireClient) throws -> Probe {
            let stats = Dictionary(uniqueKeysWithValues: try client.info("statistics").split(separator: ";").compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? -1) : nil
            })
            let namespace = Dictionary(uniqueKeysWithValues: try client.info("namespace/test").split(separator: ";").compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? -1) : nil
            })
            return Probe(inline: stats["transactions_inline"] ?? -1, resumed: stats["transactions_resumed"] ?? -1,
                         offThread: stats["transactions_off_thread"] ?? -1, poolJobs: stats["thread_pool_jobs"] ?? -1,
                         deviceReads: namespace["device_record_reads"] ?? -1,
                         deviceReadsAtOnce: namespace["device_record_reads_at_once"] ?? -1)
        }
    }

    @Test(arguments: ServerConfiguration.IOModel.allCases)
    func putsAndMemoryReadsRunOnTheThreadThatReadThem(model: ServerConfiguration.IOModel) async throws {
        try await withTestServer(configuration: ServerConfiguration(port: 0, ioModel: model)) { server in
            let client = try server.connect()
            let before = try Probe.read(client)
            let count = 200
            for i in 0..<count {
                let reply = try client.put(key: testKey(i), bins: [Bin("v", .integer(Int64(i))), Bin("s", .string("x\(i)"))])
                #expect(reply.header.resultCode == .ok)
            }
            for i in 0..<count {
                let reply = try client.get(key: testKey(i))
                #expect(reply.header.resultCode == .ok)
                #expect(reply.ops.count == 2)
            }
            let after = try Probe.read(client)
            // Every put and every get (their blocks are still in the write buffer) completed
            // before the engine call returned, on the reading thread; nothing went to the pool
            // (the two statistics requests are answered on the loop too).
            #expect(after.inline - before.inline == 2 * count)
            #expect(after.resumed == before.resumed)
            #expect(after.offThread == before.offThread)
            #expect(after.poolJobs == before.poolJobs)
            #expect(after.deviceReads == before.deviceReads)
        }
    }

    @Test(arguments: ServerConfiguration.IOModel.allCases)
    func deviceReadsAndCommitToDeviceWritesParkNoThread(model: ServerConfiguration.IOModel) async throws {
        try await withTestServer(configuration: ServerConfiguration(port: 0, ioModel: model), adjustStorage: { storage in
            storage.commitToDevice = true
            storage.postWriteCacheBytes = 0
        }) { server in
            let client = try server.connect()
            let before = try Probe.read(client)
            // 1 KiB records in 128 KiB blocks: 600 of them fill several blocks, so the early ones
            // are only on the device once their blocks are written whole.
            let count = 600
            let payload = [UInt8](repeating: 0x5A, count: 1024)
            for i in 0..<count {
                let reply = try client.put(key: testKey(i), bins: [Bin("p", .blob(payload))])
                #expect(reply.header.resultCode == .ok)
            }
            let afterWrites = try Probe.read(client)
            // Each commit-to-device write completed from its durability completion, resumed on
            // the loop (none on a pool thread, none waited for by a thread).
            #expect(afterWrites.resumed - before.resumed == count)
            #expect(afterWrites.poolJobs == before.poolJobs)
            for i in 0..<100 {
                let reply = try client.get(key: testKey(i))
                #expect(reply.header.resultCode == .ok)
                #expect(reply.ops.first?.value == payload)
            }
            let afterReads = try Probe.read(client)
            #expect(afterReads.deviceReads - afterWrites.deviceReads == 100)
            #expect(afterReads.resumed - afterWrites.resumed == 100)
            #expect(afterReads.inline == afterWrites.inline)
            #expect(afterReads.poolJobs == before.poolJobs)
        }
    }

    /// Puts `count` records of one 1 KiB blob bin `p`, record i's bytes all i (mod 256).
    func putPatterned(_ client: WireClient, count: Int) throws {
        for i in 0..<count {
            let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 1024)
            #expect(try client.put(key: testKey(i), bins: [Bin("p", .blob(payload))]).resultCode == .ok)
        }
    }

    /// A file namespace that reads through the page cache (`read-page-cache`, a file's default):
    /// a record read whose pages are cached is copied inside the engine call (`RWF_NOWAIT`) and
    /// its transaction completes inline, on the thread that read it; one whose pages are not
    /// goes to the ring and is resumed by its completion. Either way no thread parks.
    @Test func readsThroughThePageCacheCompleteInlineWhenCached() async throws {
        try await withTestServer(configuration: ServerConfiguration(port: 0, ioModel: .ioUring), adjustStorage: { storage in
            storage.postWriteCacheBytes = 0
            for i in storage.devices.indices { storage.devices[i].readPageCache = true }
        }) { server in
            let client = try server.connect()
            let count = 600
            try putPatterned(client, count: count)
            // The first 100 records' blocks are on the device, and (written O_DIRECT) not in
            // the page cache: a first pass fills it, by reads or by the kernel's read-ahead.
            func readAll() throws {
                for i in 0..<100 {
                    let reply = try client.get(key: testKey(i))
                    #expect(reply.header.resultCode == .ok)
                    #expect(reply.ops.first?.value == [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 1024))
                }
            }
            let before = try Probe.read(client)
            try readAll()
            let afterFirst = try Probe.read(client)
            #expect(afterFirst.deviceReads - before.deviceReads == 100)
            #expect((afterFirst.inline - before.inline) + (afterFirst.resumed - before.resumed) == 100)
            try readAll()
            let afterSecond = try Probe.read(client)
            // The second pass finds every page cached: 100 reads, each inline, each served at
            // once in the engine's first step (counted apart in `namespace/<ns>`).
            #expect(afterSecond.deviceReads - afterFirst.deviceReads == 100)
            #expect(afterSecond.deviceReadsAtOnce - afterFirst.deviceReadsAtOnce == 100)
            #expect(afterSecond.inline - afterFirst.inline == 100)
            #expect(afterSecond.resumed == afterFirst.resumed)
            #expect(afterSecond.offThread == before.offThread)
            #expect(afterSecond.poolJobs == before.poolJobs)
        }
    }

    /// `fill-page-cache` (with `read-page-cache`, a file's default): a block that left the
    /// post-write cache was read into the page cache by the flusher, so the first read of each
    /// of its records is served at once and completes inline, where without it the first pass
    /// over such records waits for the device (the test above).
    @Test func filledBlocksAreReadAtOnceTheFirstTime() async throws {
        var path = ""
        var blockBytes = 0
        try await withTestServer(configuration: ServerConfiguration(port: 0, ioModel: .ioUring), adjustStorage: { storage in
            storage.postWriteCacheBytes = storage.writeBlockSizeBytes  // one block: the older ones leave it
            for i in storage.devices.indices { storage.devices[i].readPageCache = true }
            storage.fillPageCache = true
            path = storage.devices[0].path
            blockBytes = storage.writeBlockSizeBytes
        }) { server in
            let client = try server.connect()
            try putPatterned(client, count: 600)
            // The first 100 records fill the first data block, which is written whole and then
            // pushed out of the post-write cache: wait until its fill has landed.
            let first = Int(DeviceGeometry.firstDataBlockIndex) * blockBytes
            let landed = waitUntil(seconds: 10) {
                residentPageCount(path: path, offsetBytes: first, lengthBytes: blockBytes) == blockBytes / 4096
            }
            #expect(landed, "\(residentPageCount(path: path, offsetBytes: first, lengthBytes: blockBytes)) pages of the first block cached")
            let before = try Probe.read(client)
            for i in 0..<100 {
                let reply = try client.get(key: testKey(i))
                #expect(reply.header.resultCode == .ok)
                #expect(reply.ops.first?.value == [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 1024))
            }
            let after = try Probe.read(client)
            #expect(after.deviceReads - before.deviceReads == 100)
            #expect(after.deviceReadsAtOnce - before.deviceReadsAtOnce == 100)
            #expect(after.inline - before.inline == 100)
            #expect(after.resumed == before.resumed)
            #expect(after.poolJobs == before.poolJobs)
            let fills = try client.info("namespace/test").split(separator: ";").first { $0.hasPrefix("page_cache_fills=") }
            #expect((fills.flatMap { Int($0.dropFirst("page_cache_fills=".count)) } ?? 0) >= 1, "\(String(describing: fills))")
        }
    }

    /// A batch or a scan on the io_uring model runs on the service thread that read it: its
    /// device reads go on that thread's ring and their completions continue it, so no pool
    /// thread is taken (or parked). Rows come back in request order, frames included.
    @Test func batchesAndScansReadTheDeviceWithNoPoolThread() async throws {
        try await withTestServer(configuration: ServerConfiguration(port: 0, ioModel: .ioUring), adjustStorage: { storage in
            storage.postWriteCacheBytes = 0
        }) { server in
            let client = try server.connect()
            // 1 KiB records in 128 KiB blocks: the early ones are on the device only once their
            // blocks are full and written; the last ones are still in the write buffer.
            let count = 600
            try putPatterned(client, count: count)
            let before = try Probe.read(client)
            // Every key, a missing one between each 100, and a write row in the middle.
            var rows: [BatchRowSpec] = []
            for i in 0..<count {
                rows.append(BatchTests.readRow(UInt32(rows.count), testKey(i)))
                if i % 100 == 50 { rows.append(BatchTests.readRow(UInt32(rows.count), testKey(100_000 + i))) }
            }
            let (messages, frameCount) = try client.batch(rows: rows)
            let after = try Probe.read(client)
            #expect(messages.last?.header.info3.contains(.last) == true)
            let replyRows = Array(messages.dropLast())
            #expect(replyRows.map(\.header.transactionTTL) == Array(0..<UInt32(rows.count)))
            var key = 0
            for row in replyRows {
                if row.resultCode == .keyNotFound { continue }
                #expect(row.resultCode == .ok)
                #expect(row.bins == ["p": .blob([UInt8](repeating: UInt8(truncatingIfNeeded: key), count: 1024))])
                key += 1
            }
            #expect(key == count)
            #expect(frameCount > 1)
            #expect(after.deviceReads - before.deviceReads > 100)
            #expect(after.poolJobs == before.poolJobs)

            let (records, scanFrames) = try client.scan()
            let afterScan = try Probe.read(client)
            #expect(records.last?.header.info3.contains(.last) == true)
            #expect(records.count - 1 == count)
            #expect(records.dropLast().allSatisfy { $0.resultCode == .ok && $0.bins["p"] != nil })
            #expect(scanFrames > 1)
            #expect(afterScan.deviceReads - after.deviceReads > 100)
            #expect(afterScan.poolJobs == before.poolJobs)
        }
    }
}
