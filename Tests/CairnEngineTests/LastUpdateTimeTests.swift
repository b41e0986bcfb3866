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
    /// Runs `writes` (given the clock's millisecond) on a new namespace, stops it as a crash
    /// would (buffers flushed, not marked clean), cold starts it, and checks that key 1 holds
    /// `value` at `generation` with last-update time `lutAhead` ms past the clock; `after` runs
    /// on the restarted namespace.
    func coldStart(value: Int64, generation: UInt16, lutAhead: UInt64, writes: (Namespace, UInt64) throws -> Void,
                   after: (Namespace) throws -> Void = { _ in }) throws {
        let dir = try TemporaryDirectory()
        let clock = TestClock()
        let options = namespaceOptions([dir.file("lut.dat")], clock: clock)
        do {
            let ns = try Namespace.open(options)
            try writes(ns, clock.now())
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        let got = try #require(try ns.get(testDigest(1)))
        #expect(got.bins == [intBin("v", value)])
        #expect(got.generation == generation)
        #expect(got.lastUpdateMs == clock.now() + lutAhead)
        try after(ns)
        try ns.close()
    }

    /// A hot key's LUT stays on the clock: 3,000 overwrites in one millisecond all keep it
    /// (before, each took the old LUT + 1, and a key incremented 139,372 times in 5 s ran 134 s
    /// ahead of the clock). The newest copy wins a cold start by its generation, and a
    /// truncation "now" covers it.
    @Test func overwritesWithinOneMillisecondKeepItsLUT() throws {
        try coldStart(value: 2999, generation: 3000, lutAhead: 0, writes: { ns, now in
            for i in 0..<3000 {
                let r = try ns.put(testDigest(1), bins: [intBin("v", Int64(i))])
                #expect(r.generation == UInt16(i + 1))
            }
            #expect(try ns.get(testDigest(1))?.lastUpdateMs == now)
        }, after: { ns in
            try ns.truncate(setName: nil)
            #expect(try ns.get(testDigest(1)) == nil)
        })
    }

    /// The generation wraps after 65,535 (to 1): the write that wraps it cannot be ordered by
    /// generation, so it takes the old LUT + 1, and the writes after it keep that. A cold start
    /// finds the newest.
    @Test func aWrappingGenerationMovesTheLUTOnByOneMillisecond() throws {
        try coldStart(value: 65_539, generation: 5, lutAhead: 1) { ns, now in
            for i in 0..<65_535 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            let before = try #require(try ns.get(testDigest(1)))
            #expect(before.generation == 65_535)
            #expect(before.lastUpdateMs == now)
            for i in 65_535..<65_540 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
        }
    }

    /// A record written over a durable delete's tombstone starts again at generation 1, below
    /// the tombstone's: it takes the tombstone's LUT + 1, so a cold start does not take the
    /// tombstone for the newer copy (`--bug lut-tie-without-generation-order` in the simulator).
    @Test func aRecordWrittenOverATombstoneInItsMillisecondSurvivesAColdStart() throws {
        try coldStart(value: 7, generation: 1, lutAhead: 1) { ns, _ in
            for i in 0..<3 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            try ns.delete(testDigest(1), options: WriteOptions(durableDelete: true))
            #expect(try ns.get(testDigest(1)) == nil)
            #expect(try ns.put(testDigest(1), bins: [intBin("v", 7)]).generation == 1)
        }
    }
    /// A plain delete leaves the old copy on the device, and a record created again in its
    /// millisecond starts at generation 1, below it: the new copy takes the old one's LUT + 1,
    /// or a cold start would take the deleted copy (the higher generation) for the newest and
    /// lose the acknowledged write.
    @Test func aRecordCreatedAgainAfterAPlainDeleteInItsMillisecondSurvivesAColdStart() throws {
        try coldStart(value: 7, generation: 1, lutAhead: 1) { ns, _ in
            for i in 0..<3 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            try ns.delete(testDigest(1))
            #expect(try ns.get(testDigest(1)) == nil)
            #expect(try ns.put(testDigest(1), bins: [intBin("v", 7)]).generation == 1)
        }
    }
    /// The same after a warm restart between the delete and the create: the removed copy's LUT
    /// is kept in the warm-restart state (the slots are not), so the create still goes 1 ms
    /// past it while the clock has not passed it.
    @Test func aRecordCreatedAgainAfterAPlainDeleteAndAWarmRestartSurvivesAColdStart() throws {
        let dir = try TemporaryDirectory()
        let shm = try sharedMemoryDirectory()
        let clock = TestClock()
        var options = warmOptions([dir.file("lut.dat")], shm: shm)
        options.clockMs = { clock.now() }
        do {
            let ns = try Namespace.open(options)
            for i in 0..<3 { try ns.put(testDigest(1), bins: [intBin("v", Int64(i))]) }
            // A live record keeps the deleted copies' block from being free (and reused) after
            // the warm restart.
            try ns.put(testDigest(2), bins: [intBin("v", 0)])
            try ns.delete(testDigest(1))
            try ns.close()
        }
        do {
            let ns = try Namespace.open(options)
            #expect(ns.startReport.mode == .warm)
            #expect(try ns.get(testDigest(1)) == nil)
            #expect(try ns.put(testDigest(1), bins: [intBin("v", 7)]).generation == 1)
            #expect(try ns.get(testDigest(1))?.lastUpdateMs == clock.now() + 1)
            try ns.closeWithoutCleanShutdown()
        }
        let ns = try Namespace.open(options)
        #expect(ns.startReport.mode == .cold)
        let got = try #require(try ns.get(testDigest(1)))
        #expect(got.bins == [intBin("v", 7)])
        #expect(got.generation == 1)
        try ns.close()
    }
}
