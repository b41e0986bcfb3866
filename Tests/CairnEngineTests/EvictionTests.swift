import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization
import Testing

@_spi(EngineInternals) @testable import CairnEngine

/// Eviction (Eviction.swift): the histogram's cut, an nsup cycle above `evict-used-pct`, set
/// `disable-eviction`, records without a TTL, and the durable eviction mark across restarts.
@Suite struct EvictionTests {
    @Test func histogramTakesWholeBucketsFromTheSoonestWithinTheLimit() {
        var h = EvictionHistogram(expiredThrough: 1000, latestVoidTime: 1100, bucketCount: 10)  // 10 s buckets
        for vt in [1001, 1005, 1010, 1011, 1020, 1021, 1022, 1090] { h.add(UInt32(vt)) }
        h.add(1000)  // expired: not counted
        #expect(h.total == 8)
        // Bucket 0 (1001...1010) holds 3, bucket 1 (1011...1020) 2, bucket 2 (1021...1030) 2.
        #expect(h.decide(limit: 5) == EvictionDecision(cutoffVoidTime: 1020, evictedCount: 5, refusal: nil))
        #expect(h.decide(limit: 6) == EvictionDecision(cutoffVoidTime: 1020, evictedCount: 5, refusal: nil))
        #expect(h.decide(limit: 100) == EvictionDecision(cutoffVoidTime: 1100, evictedCount: 8, refusal: nil))
        let tooSmall = h.decide(limit: 2)
        #expect(tooSmall.cutoffVoidTime == nil && tooSmall.evictedCount == 0)
        #expect(tooSmall.refusal?.contains("evict-hist-buckets") == true)
    }

    @Test func headerEvictionMarkRoundTripsAsVersion2AndVersion1StaysUnchanged() throws {
        var header = DeviceHeader(namespaceName: "test", namespaceInstanceId: 7, deviceIndex: 0, deviceCount: 1,
                                  writeBlockSizeBytes: 1 << 20, partitionTreeSprigs: 256)
        let plain = try DeviceHeaderFormat.encodeRegion(header)
        #expect(plain[8] == 1)
        header.truncation.raiseEvictionMark(voidTime: 123_456, lutMs: 999_000)
        try header.truncation.setLutMs(5, forSet: "s")
        let marked = try DeviceHeaderFormat.encodeRegion(header)
        #expect(marked[8] == 2)
        let decoded = try marked.withUnsafeBytes { try DeviceHeaderFormat.decodeCopy(untrusted: $0, slot: .a) }
        #expect(decoded.header == header)
        #expect(decoded.header.truncation.evictVoidTime == 123_456 && decoded.header.truncation.evictLutMs == 999_000)
    }

    /// A namespace over one small file with `evict-used-pct`, no background threads.
    func evictingOptions(_ dir: TemporaryDirectory, clock: TestClock, usedPct: Int, tenthsPct: Int) -> NamespaceOptions {
        var options = namespaceOptions([dir.file("ev.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10, clock: clock)
        options.backgroundDefrag = false
        options.nsupPeriodSeconds = 0
        options.eviction = EvictionOptions(usedPct: usedPct, tenthsPct: tenthsPct, histBuckets: 10_000)
        options.setPolicies = ["keep": SetPolicy(disableEviction: true)]
        return options
    }

    @Test func cycleAboveThresholdEvictsSoonestVoidTimesOnlyAndTheMarkSurvivesRestarts() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = evictingOptions(dir, clock: clock, usedPct: 10, tenthsPct: 100)
        let payload = [blobBin("p", [UInt8](repeating: 7, count: 1000))]
        var ttlOf: [Int: UInt32] = [:]
        var evicted: Set<Int> = []
        var survivors: Set<Int> = []
        do {
            let ns = try Namespace.open(options)
            // 1000 TTL'd records (TTLs 1000...1999 s, shuffled), 200 without a TTL, 200 in a set
            // that disables eviction with the shortest TTLs of all.
            var rng = SplitMix64(seed: 42)
            var ttls = Array(1000..<2000).map { UInt32($0) }
            for i in stride(from: ttls.count - 1, to: 0, by: -1) { ttls.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for k in 0..<1000 {
                ttlOf[k] = ttls[k]
                try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(ttls[k])))
            }
            for k in 1000..<1200 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .never)) }
            for k in 1200..<1400 {
                try ns.put(testDigest(k), setName: "keep", bins: payload, options: WriteOptions(ttl: .seconds(10)))
            }
            #expect(ns.evictionTrigger() != nil, "about 1.4 MB live of 8 MB is above evict-used-pct 10")
            ns.superviseOnce()
            for k in 0..<1000 { if try ns.get(testDigest(k)) == nil { evicted.insert(k) } else { survivors.insert(k) } }
            let stats = ns.evictionStatistics
            print("eviction: \(evicted.count) evicted, stats \(stats)")
            // At most 10 % of the 1400 records per cycle.
            #expect(!evicted.isEmpty && evicted.count <= 140)
            #expect(stats.evictedObjects == UInt64(evicted.count))
            #expect(stats.evictVoidTime > 0 && stats.evictTTL > 0)
            let latestEvicted = evicted.map { ttlOf[$0]! }.max()!
            let soonestSurvivor = survivors.map { ttlOf[$0]! }.min()!
            #expect(latestEvicted < soonestSurvivor, "an evicted record outlived a survivor")
            for k in 1000..<1400 { #expect(try ns.get(testDigest(k)) != nil, "record \(k) (no TTL or disable-eviction) was evicted") }
            // A record written after the cycle with a void time below the mark is not hidden by it.
            try ns.put(testDigest(5000), bins: payload, options: WriteOptions(ttl: .seconds(1)))
            #expect(try ns.get(testDigest(5000)) != nil)
            try ns.closeWithoutCleanShutdown()
        }
        // A cold start (no clean shutdown) brings no evicted record back, and keeps every other
        // (the namespace is still above its threshold: cold-start eviction is off here).
        options.eviction.disableColdStartEviction = true
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        #expect(ns.storage.truncation.evictVoidTime > 0)
        for k in evicted { #expect(try ns.get(testDigest(k)) == nil, "evicted record \(k) came back") }
        for k in survivors { #expect(try ns.get(testDigest(k)) != nil) }
        for k in 1000..<1400 { #expect(try ns.get(testDigest(k)) != nil) }
        #expect(try ns.get(testDigest(5000)) != nil)
        try ns.close()
        // And a clean restart too.
        let again = try Namespace.open(options)
        for k in evicted { #expect(try again.get(testDigest(k)) == nil, "evicted record \(k) came back") }
        try again.close()
    }

    @Test func indexesMemoryThresholdEvictsToo() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = evictingOptions(dir, clock: clock, usedPct: 0, tenthsPct: 100)
        options.indexEntryCountMax = 4096
        options.eviction.indexesMemoryPct = 10  // 409 entries
        let ns = try Namespace.open(options)
        for k in 0..<1000 { try ns.put(testDigest(k), bins: [intBin("v", Int64(k))], options: WriteOptions(ttl: .seconds(UInt32(500 + k)))) }
        #expect(ns.evictionTrigger()?.contains("evict-indexes-memory-pct") == true)
        #expect(!ns.evictionStatistics.hwmBreached)  // no cycle has run
        ns.superviseOnce()
        #expect(ns.evictionStatistics.hwmBreached)
        var evicted: [Int] = []
        for k in 0..<1000 where try ns.get(testDigest(k)) == nil { evicted.append(k) }
        #expect(evicted == Array(0..<100), "the 10 % with the soonest void times")
        try ns.close()
    }

    /// Writes racing nsup cycles: a write that lands in a sprig a cycle has already counted
    /// commits above the cycle's fence, so the raise hides exactly what `evicted_objects` counts.
    /// The clock stands still during each cycle and moves 1 ms between cycles, so most writes
    /// share a cycle's millisecond (without the fence, those landing behind its walk were hidden
    /// and never counted).
    @Test func writesRacingCyclesAreEitherCountedOrNotHidden() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = evictingOptions(dir, clock: clock, usedPct: 0, tenthsPct: 50)
        options.indexEntryCountMax = 1 << 16
        options.eviction.indexesMemoryPct = 1  // above from 656 records: every cycle then evicts up to 5 %
        options.eviction.histBuckets = 100
        let ns = try Namespace.open(options)
        let writers = 3, perWriter = 15_000
        let finished = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        for w in 0..<writers {
            let thread = Thread {
                var rng = SplitMix64(seed: UInt64(w + 1))
                for i in 0..<perWriter {
                    do {
                        try ns.put(testDigest(w * perWriter + i), bins: [intBin("v", Int64(i))],
                                   options: WriteOptions(ttl: .seconds(100 + UInt32(rng.next() % 5000))))
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
        var cycles = 0, loops = 0
        var refusals: [String: Int] = [:]
        while finished.load(ordering: .acquiring) < writers {
            clock.advance(ms: 1)
            loops += 1
            let decision = ns.evictIfNeeded()
            if decision?.cutoffVoidTime != nil { cycles += 1 }
            if let r = decision?.refusal { refusals[r, default: 0] += 1 }
        }
        let failed = failures.withLock { $0 }
        #expect(failed.isEmpty, "\(failed.count) puts failed, the first: \(failed.first ?? "")")
        var hidden = 0
        ns.index.forEachRecord { r in if !r.isTombstone && ns.isEvictedRecord(r) { hidden += 1 } }
        let counted = ns.evictionStatistics.evictedObjects
        print("racing cycles: \(loops) cycles (refusals \(refusals)), \(cycles) raises, \(hidden) records hidden by the mark, \(counted) counted")
        #expect(cycles > 0 && hidden > 0)
        #expect(UInt64(hidden) == counted, "the mark hides \(hidden) records, evicted_objects counts \(counted)")
        try ns.close()
    }

    /// With read-touch, what is read gets a new void time, so eviction takes the least recently
    /// used records (Aerospike 7.1+).
    @Test func readTouchMakesEvictionLeastRecentlyUsed() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let ns = try Namespace.open(evictingOptions(dir, clock: clock, usedPct: 1, tenthsPct: 100))
        let payload = [blobBin("p", [UInt8](repeating: 5, count: 1000))]
        for k in 0..<1000 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(UInt32(1000 + k)))) }
        clock.advance(seconds: 500)
        // Read the 100 records closest to their end of life: each read touches its record, whose
        // void time moves from about now + 500 s to now + 1000 s and more.
        for k in 0..<100 {
            let record = try #require(try ns.get(testDigest(k)))
            _ = ns.readTouch(record, digest: testDigest(k), request: .percent(100), resume: .inline)
        }
        waitUntil(seconds: 10) { (0..<100).allSatisfy { ns.exists(testDigest($0))?.generation == 2 } }
        #expect((0..<100).allSatisfy { ns.exists(testDigest($0))?.generation == 2 }, "the reads did not touch")
        ns.superviseOnce()
        var evicted: [Int] = []
        for k in 0..<1000 where try ns.get(testDigest(k)) == nil { evicted.append(k) }
        #expect(evicted == Array(100..<200), "eviction did not take the least recently used records")
        try ns.close()
    }

    @Test func belowThresholdNothingIsEvicted() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let ns = try Namespace.open(evictingOptions(dir, clock: clock, usedPct: 90, tenthsPct: 1000))
        for k in 0..<100 { try ns.put(testDigest(k), bins: [stringBin("v", "x")], options: WriteOptions(ttl: .seconds(100))) }
        ns.superviseOnce()
        #expect(ns.evictionStatistics.evictedObjects == 0)
        #expect(!ns.evictionStatistics.hwmBreached)
        #expect(ns.storage.truncation.evictVoidTime == 0)
        for k in 0..<100 { #expect(try ns.get(testDigest(k)) != nil) }
        try ns.close()
    }

    @Test func evictedEntriesAreRemovedAndTheirSpaceReleased() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let ns = try Namespace.open(evictingOptions(dir, clock: clock, usedPct: 5, tenthsPct: 500))
        let payload = [blobBin("p", [UInt8](repeating: 1, count: 2000))]
        for k in 0..<1000 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(UInt32(100 + k)))) }
        usleep(200_000)  // flush-max-ms: the blocks leave the write buffers
        let before = ns.statistics.liveBytes
        let pass = ns.superviseOnce()
        #expect(pass.evictedRemoved > 0)
        #expect(ns.statistics.liveBytes < before)
        #expect(ns.statistics.objects == 1000 - pass.evictedRemoved)
        try ns.close()
    }
}

@Suite struct ColdStartEvictionTests {
    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ l: String) { lines.withLock { $0.append(l) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Fills a namespace with no threshold, crashes it, and cold starts it with `eviction`
    /// (default `evict-used-pct 10`). Keys 0..<1000 have TTLs 1000...1999 s, 1000..<1100 none,
    /// 1100..<1200 are in the `disable-eviction` set `keep` with a 5 s TTL.
    func crashedAndReopened(disable: Bool, eviction: EvictionOptions = EvictionOptions(usedPct: 10),
                            sysMemoryUsedPct: Double? = nil, entryCountMax: Int? = nil, log: LogLines = LogLines(),
                            extra: (Namespace, TestClock) throws -> Void = { _, _ in })
        throws -> (Namespace, evicted: [Int], TemporaryDirectory, NamespaceOptions)
    {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        var options = namespaceOptions([dir.file("cs.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10, clock: clock)
        options.backgroundDefrag = false
        options.nsupPeriodSeconds = 0
        options.setPolicies = ["keep": SetPolicy(disableEviction: true)]
        options.storage.log = { log.append($0) }
        let payload = [blobBin("p", [UInt8](repeating: 3, count: 2000))]
        do {
            let ns = try Namespace.open(options)
            for k in 0..<1000 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(UInt32(1000 + k)))) }
            for k in 1000..<1100 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .never)) }
            for k in 1100..<1200 {
                try ns.put(testDigest(k), setName: "keep", bins: payload, options: WriteOptions(ttl: .seconds(5)))
            }
            try extra(ns, clock)
            try ns.closeWithoutCleanShutdown()
        }
        clock.advance(seconds: 1)  // every LUT given (some run ahead of a still clock) is in the past
        options.eviction = eviction
        options.eviction.disableColdStartEviction = disable
        if let sysMemoryUsedPct { options.systemMemoryUsedPct = { sysMemoryUsedPct } }
        if let entryCountMax { options.indexEntryCountMax = entryCountMax }
        let ns = try Namespace.open(options)
        var evicted: [Int] = []
        for k in 0..<1000 where try ns.get(testDigest(k)) == nil { evicted.append(k) }
        return (ns, evicted, dir, options)
    }

    @Test func coldStartAboveThresholdEvictsDuringTheScanSoonestFirstAndLogsIt() throws {
        let log = LogLines()
        let (ns, evicted, _, _) = try crashedAndReopened(disable: false, log: log)
        let report = try #require(ns.startReport.coldStart)
        print("cold start: \(report)")
        #expect(ns.startReport.mode == .cold)
        #expect(report.evicted == evicted.count && !evicted.isEmpty)
        // About 2.4 MB live of 8 MB, threshold 10 %: more than half the TTL'd records go, soonest first.
        #expect(evicted == Array(0..<evicted.count), "not the soonest void times")
        for k in 1000..<1200 { #expect(try ns.get(testDigest(k)) != nil) }
        // Evicted as the scan went: the mark rose before the scan's end (checked below). How many
        // times it rose depends on the order the parsers finish blocks: when the blocks with the
        // latest void times come first, one raise covers every block merged after it (their
        // buckets lie below the mark), so one raise is as right as several.
        #expect(report.evictionRaises >= 1)
        let during = log.all.filter { $0.contains("cold start: namespace test:") && $0.contains("records; evicted") }
        #expect(during.count == report.evictionRaises)
        let words = (during.first ?? "").split(separator: " ")
        let firstAfter = words.firstIndex(of: "after").flatMap { Int(words[$0 + 1]) }
        #expect(firstAfter.map { $0 < 1200 } == true, "first eviction not during the scan: \(during.first ?? "")")
        #expect(log.all.contains { $0.contains("evicted \(report.evicted) records during the scan") })
        #expect(ns.evictionStatistics.evictedObjects == UInt64(report.evicted), "evicted_objects counts the cold start's")
        // Usage lands near (below) the threshold: 10 % of 8 MiB.
        let live = ns.statistics.liveBytes
        print("live after eviction: \(live)")
        try ns.close()
    }

    @Test func anEvictedNewerCopyKeepsItsOlderLongerLivedCopyFromComingBack() throws {
        // Keys 0..<200 first with a long TTL, then (newer) with a short one: the newer copies are
        // evicted; the older ones, found after or before them in the scan, must not return.
        let payload = [blobBin("p", [UInt8](repeating: 5, count: 2000))]
        let (ns, _, dir, options) = try crashedAndReopened(disable: false) { ns, clock in
            for k in 2000..<2200 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(900_000))) }
            clock.advance(seconds: 1)
            for k in 2000..<2200 { try ns.put(testDigest(k), bins: payload, options: WriteOptions(ttl: .seconds(10))) }
        }
        _ = dir
        #expect((ns.startReport.coldStart?.evicted ?? 0) > 200)
        for k in 2000..<2200 { #expect(try ns.get(testDigest(k)) == nil, "evicted record \(k) came back as its older copy") }
        try ns.closeWithoutCleanShutdown()
        // Another cold start (no threshold now): still gone.
        var again = options
        again.eviction = EvictionOptions()
        let ns2 = try Namespace.open(again)
        for k in 2000..<2200 { #expect(try ns2.get(testDigest(k)) == nil, "evicted record \(k) came back at the next start") }
        try ns2.close()
    }

    @Test func disableColdStartEvictionEvictsNothing() throws {
        let (ns, evicted, _, _) = try crashedAndReopened(disable: true)
        #expect(evicted.isEmpty)
        #expect(ns.startReport.coldStart?.evicted == 0)
        #expect(ns.storage.truncation.evictVoidTime == 0)
        try ns.close()
    }

    @Test func indexesMemoryThresholdEvictsDownToItsRecordCount() throws {
        // 50 % of 2000 entries: 1200 winners, 200 never evictable; at least 210 go (1 % below).
        let (ns, evicted, _, _) = try crashedAndReopened(
            disable: false, eviction: EvictionOptions(indexesMemoryPct: 50), entryCountMax: 2000)
        let report = try #require(ns.startReport.coldStart)
        #expect(evicted.count >= 210 && evicted.count < 400, "evicted \(evicted.count)")
        #expect(evicted == Array(0..<evicted.count))
        #expect(report.evicted == evicted.count)
        try ns.close()
    }

    @Test func sysMemoryThresholdEvictsOneCyclesShareOnce() throws {
        let log = LogLines()
        let (ns, evicted, _, _) = try crashedAndReopened(
            disable: false, eviction: EvictionOptions(sysMemoryPct: 50, tenthsPct: 100), sysMemoryUsedPct: 99, log: log)
        print(log.all.joined(separator: "\n"))
        let report = try #require(ns.startReport.coldStart)
        #expect(report.evictionRaises == 1)
        // 10 % of the 1200 winners, whole buckets from the soonest, once (after the scan).
        #expect(evicted.count >= 120 && evicted.count < 200 && evicted == Array(0..<evicted.count), "evicted \(evicted.count)")
        #expect(report.evicted == evicted.count)
        try ns.close()
    }
}

@Suite struct ColdStartEmptyTests {
    @Test func coldStartEmptyStartsEmptyAndTheOldRecordsNeverComeBack() throws {
        let dir = try TemporaryDirectory()
        var options = namespaceOptions([dir.file("empty.dat")], fileSizeBytes: 8 << 20, blockSize: 128 << 10)
        options.backgroundDefrag = false
        let payload = [blobBin("p", [UInt8](repeating: 9, count: 3000))]
        do {
            let ns = try Namespace.open(options)
            for k in 0..<1000 { try ns.put(testDigest(k), bins: payload) }
            try ns.closeWithoutCleanShutdown()
        }
        options.coldStartEmpty = true
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .cold)
            #expect(ns.startReport.recordDataReads == 0, "cold-start-empty read record data")
            #expect(ns.statistics.objects == 0)
            for k in 0..<1000 { #expect(try ns.get(testDigest(k)) == nil) }
            // The old blocks are free: about 3 MB of new records fit in the 8 MB file again.
            for k in 1000..<2000 { try ns.put(testDigest(k), bins: payload) }
            try ns.closeWithoutCleanShutdown()
        }
        // A normal cold start afterwards: only the records written since are back.
        options.coldStartEmpty = false
        let ns = try Namespace.open(options)
        #expect(ns.statistics.objects == 1000)
        for k in 0..<1000 { #expect(try ns.get(testDigest(k)) == nil, "record \(k) from before cold-start-empty came back") }
        for k in 1000..<2000 { #expect(try ns.get(testDigest(k)) != nil) }
        try ns.close()
    }
}
