@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Testing

/// The last-update time a write gives a record. A cold start orders a record's copies by LUT,
/// then generation, so a copy written within the old copy's millisecond keeps it while its
/// generation is the higher, as Aerospike does. The clock stands still in these tests: every
/// write lands in one millisecond.
@Suite struct LastUpdateTimeTests {
    func value(_ record: EngineRecord?) -> Int64? {
        record.map { Int64(bitPattern: $0.bins[0].bytes.reduce(0) { $0 << 8 | UInt64($1) }) }
    }

    /// A hot key's LUT stays on the clock: 3,000 overwrites in one millisecond all keep it
    /// (before, each took the old LUT + 1, and a key incremented 139,372 times in 5 s ran 134 s
    /// ahead of the clock). The newest copy wins a cold start by its generation, and a
    /// truncation "now" covers it.
    @Test func overwritesWithinOneMillisecondKeepItsLUT() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let now = clock.now()
        let options = namespaceOptions([dir.file("lut.dat")], clock: clock)
        do {
            let ns = try Namespace.open(options)
            for i in 0..<3000 {
                let r = try ns.put(testDigest(1), bins: [intBin("v", Int64(i))])
                #expect(r.generation == UInt16(i + 1))
            }
            let got = try #require(try ns.get(testDigest(1)))
            #expect(got.lastUpdateMs == now)
            #expect(got.generation == 3000)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        let got = try #require(try ns.get(testDigest(1)))
        #expect(value(got) == 2999)
        #expect(got.generation == 3000)
        #expect(got.lastUpdateMs == now)
        try ns.truncate(setName: nil)
        #expect(try ns.get(testDigest(1)) == nil)
        try ns.close()
    }

    /// The generation wraps after 65,535 (to 1): the write that wraps it cannot be ordered by
    /// generation, so it takes the old LUT + 1, and the writes after it keep that. A cold start
    /// finds the newest.
    @Test func aWrappingGenerationMovesTheLUTOnByOneMillisecond() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let now = clock.now()
        let options = namespaceOptions([dir.file("wrap.dat")], clock: clock)
        do {
            let ns = try Namespace.open(options)
            for i in 0..<65_535 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            let before = try #require(try ns.get(testDigest(1)))
            #expect(before.generation == 65_535)
            #expect(before.lastUpdateMs == now)
            for i in 65_535..<65_540 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            let after = try #require(try ns.get(testDigest(1)))
            #expect(after.generation == 5)
            #expect(after.lastUpdateMs == now + 1)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        let got = try #require(try ns.get(testDigest(1)))
        #expect(value(got) == 65_539)
        #expect(got.generation == 5)
        try ns.close()
    }

    /// A record written over a durable delete's tombstone starts again at generation 1, below
    /// the tombstone's: it takes the tombstone's LUT + 1, so a cold start does not take the
    /// tombstone for the newer copy (`--bug lut-tie-without-generation-order` in the simulator).
    @Test func aRecordWrittenOverATombstoneInItsMillisecondSurvivesAColdStart() throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let now = clock.now()
        let options = namespaceOptions([dir.file("tomb.dat")], clock: clock)
        do {
            let ns = try Namespace.open(options)
            for i in 0..<3 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            try ns.delete(testDigest(1), options: WriteOptions(durableDelete: true))
            #expect(try ns.get(testDigest(1)) == nil)
            let r = try ns.put(testDigest(1), bins: [intBin("v", 7)])
            #expect(r.generation == 1)
            let got = try #require(try ns.get(testDigest(1)))
            #expect(got.lastUpdateMs == now + 1)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        let got = try #require(try ns.get(testDigest(1)))
        #expect(value(got) == 7)
        #expect(got.generation == 1)
        try ns.close()
    }
}
