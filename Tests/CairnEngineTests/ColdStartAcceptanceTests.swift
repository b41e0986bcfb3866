@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Testing

/// What a test expects of one key.
struct ExpectedRecord: Equatable {
    var bins: [StoredBin]
    var generation: UInt16
    var voidTime: UInt32
}

/// Loads `count` records of mixed bins and sizes, updates some, deletes some durably and some
/// plainly, then closes cleanly; returns the model of what must be there.
func loadMixedWorkload(_ ns: Namespace, count: Int, seed: UInt64) throws -> (live: [Int: ExpectedRecord], durablyDeleted: Set<Int>, plainlyDeleted: Set<Int>) {
    var rng = SplitMix64(seed: seed)
    var live: [Int: ExpectedRecord] = [:]
    var durablyDeleted = Set<Int>()
    var plainlyDeleted = Set<Int>()
    func randomBins(_ i: Int) -> [StoredBin] {
        var bins = [intBin("n", Int64(bitPattern: rng.next()))]
        let kind = rng.next() % 4
        if kind >= 1 { bins.append(stringBin("s", String(repeating: "x", count: Int(rng.next() % 200)) + "\(i)")) }
        if kind >= 2 { bins.append(blobBin("b", (0..<Int(rng.next() % 1500)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })) }
        if kind == 3 { bins.append(StoredBin(name: "f", particleType: .float, bytes: BinBytes.double(Double(i) / 3))) }
        return bins
    }
    for i in 0..<count {
        let bins = randomBins(i)
        let ttl: TTLRequest = i % 7 == 0 ? .seconds(86_400) : .namespaceDefault
        let r = try ns.put(testDigest(i), setName: i % 3 == 0 ? "s3" : nil, bins: bins, options: WriteOptions(ttl: ttl))
        live[i] = ExpectedRecord(bins: bins, generation: r.generation, voidTime: r.voidTime)
    }
    for i in stride(from: 0, to: count, by: 5) {  // 20% updated (merge keeps other bins)
        let extra = [intBin("n", Int64(i)), stringBin("u", "updated-\(i)")]
        let r = try ns.put(testDigest(i), bins: extra)
        var e = live[i]!
        for b in extra {
            if let k = e.bins.firstIndex(where: { $0.name == b.name }) { e.bins[k] = b } else { e.bins.append(b) }
        }
        e.generation = r.generation
        e.voidTime = r.voidTime
        live[i] = e
    }
    for i in stride(from: 1, to: count, by: 17) {
        try ns.delete(testDigest(i), options: WriteOptions(durableDelete: true))
        live[i] = nil
        durablyDeleted.insert(i)
    }
    for i in stride(from: 2, to: count, by: 19) where live[i] != nil {
        try ns.delete(testDigest(i))
        live[i] = nil
        plainlyDeleted.insert(i)
    }
    return (live, durablyDeleted, plainlyDeleted)
}

func verify(_ ns: Namespace, live: [Int: ExpectedRecord], durablyDeleted: Set<Int>) throws {
    var wrong: [String] = []
    for (i, e) in live {
        guard let got = try ns.get(testDigest(i)) else { wrong.append("key \(i) missing"); continue }
        let actual = ExpectedRecord(bins: got.bins, generation: got.generation, voidTime: got.voidTime)
        if actual != e { wrong.append("key \(i): gen \(got.generation) vs \(e.generation), void \(got.voidTime) vs \(e.voidTime), bins differ: \(got.bins != e.bins)") }
        if wrong.count > 20 { break }
    }
    for i in durablyDeleted where try ns.get(testDigest(i)) != nil { wrong.append("durably deleted key \(i) came back") }
    #expect(wrong.isEmpty, "\(wrong.count) problems, first: \(wrong.prefix(5))")
}

enum BinBytes {
    static func double(_ d: Double) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: d.bitPattern >> (56 - 8 * $0)) } }
}

@Suite struct ColdStartAcceptanceTests {
    @Test func mixedRecordsOverTwoFilesSurviveCleanCloseAndColdStart() throws {
        let seed = SplitMix64.seedFromEnvironment()
        print("mixedRecordsOverTwoFiles seed=\(seed) (replay: CAIRN_TEST_SEED=\(seed))")
        let dir = try TemporaryDirectory()
        let paths = [dir.file("a.dat"), dir.file("b.dat")]
        let count = 200_000
        let options = namespaceOptions(paths, fileSizeBytes: 512 << 20, blockSize: 1 << 20)
        let model: (live: [Int: ExpectedRecord], durablyDeleted: Set<Int>, plainlyDeleted: Set<Int>)
        do {
            let ns = try Namespace.open(options)
            model = try loadMixedWorkload(ns, count: count, seed: seed)
            try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
            try ns.close()
        }
        let ns = try Namespace.open(options)
        let report = try #require(ns.startReport.coldStart)
        print("cold start over 2 files: \(report)")
        #expect(ns.startReport.priorShutdownClean)
        #expect(report.unparsable == 0)
        #expect(report.badBlocks == 0)
        try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
        // Plain deletes only drop the index entry (as in Aerospike): a cold start may bring them back.
        #expect(ns.statistics.objects >= model.live.count)
        try ns.close()
    }

    @Test func mixedRecordsOverTwoLoopDevices() throws {
        let dir = try TemporaryDirectory()
        var loops: [LoopDevice] = []
        for name in ["la.img", "lb.img"] {
            guard let loop = LoopDevice.forTest(backingFile: dir.file(name), sizeBytes: 128 << 20) else {
                try Test.cancel("loop device unavailable")
            }
            loops.append(loop)
        }
        defer { for l in loops { #expect(throws: Never.self) { try l.detach() } } }
        let storage = StorageOptions(namespaceName: "test", devices: loops.map { .init(path: $0.path) },
                                     writeBlockSizeBytes: 1 << 20, partitionTreeSprigs: 64, flushMaxMs: 50)
        let options = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 20)
        let model: (live: [Int: ExpectedRecord], durablyDeleted: Set<Int>, plainlyDeleted: Set<Int>)
        do {
            let ns = try Namespace.open(options)
            model = try loadMixedWorkload(ns, count: 40_000, seed: 42)
            try ns.close()
        }
        let ns = try Namespace.open(options)
        print("cold start over 2 loop devices: \(ns.startReport.coldStart!)")
        try verify(ns, live: model.live, durablyDeleted: model.durablyDeleted)
        try ns.close()
    }

    /// A child process writes with commit-to-device from 4 threads and is killed with SIGKILL;
    /// every acknowledged write must be there after the cold start, every acknowledged durable
    /// delete must stay deleted (unless a later, unacknowledged write of the same thread landed).
    @Test(arguments: [1, 2, 3])
    func acknowledgedCommitToDeviceWritesSurviveSIGKILL(round: Int) throws {
        try crashWriterTwoLives(round: round, arguments: ["--threads", "4", "--keys", "400"], fileSizeBytes: 64 << 20)
    }
}

/// The crash writer's digest for a key (the same function, from CairnTesting).
func crashDigest(_ key: Int) -> Digest { Digest(bytes: CrashWorkload.digestBytes(forKey: key))! }
