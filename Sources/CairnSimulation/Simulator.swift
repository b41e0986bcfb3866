@_spi(EngineInternals) import CairnEngine
import CairnIO
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization

/// One simulation run's settings. Everything not given here is chosen by the seed.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    /// Client operations (and interleaved background work, time steps, crashes) in the run.
    public var operations: Int
    /// Devices of the namespace (nil: the seed picks 1 or 2).
    public var deviceCount: Int?
    public var deviceSizeBytes: UInt64
    public var keyCount: Int
    public var bugs: ReintroducedBugs
    /// Forces commit-to-device on or off (nil: the seed picks).
    public var commitToDevice: Bool?
    /// Forces the data-destroying faults (corruption, misdirected writes) on or off (nil: the
    /// seed picks, one run in four).
    public var destructiveFaults: Bool?
    /// Where warm restarts keep the index (a fresh directory per run when nil).
    public var sharedMemoryDirectory: String?
    /// An eviction run: small devices, thresholds the seed picks, most records with a TTL, and
    /// every nsup cycle checked (docs/simulation.md, "Eviction"). Off: the seed's run is the
    /// one it always was.
    public var eviction: Bool
    /// Every record has the one bin "v", as before the runs had several: a seed replays the run
    /// it gave then (the regression seeds found with one bin).
    public var oneBin: Bool
    /// A swarm run: the seed leaves some kinds of step out, weighs the others, and narrows the
    /// keys (docs/simulation.md, "Swarm runs"). Off: the seed's run is the one it always was.
    public var swarm: Bool
    /// The seed also picks each fault's rate, from none to four or ten times the usual
    /// (docs/simulation.md, "Fault swarms"), from a generator of its own. Off: the seed's run is
    /// the one it always was.
    public var swarmFaults: Bool
    /// A device whose volatile cache keeps any of its unsynced pages at a power loss, each one
    /// or not (docs/simulation.md, "SimulatedDevice"). nil: a fault swarm's seed picks it, one
    /// run in two; else off.
    public var unsyncedPagesInAnyOrder: Bool?
    /// Turnover runs: records of up to 24 KiB and crashes, power losses and clean stops a tenth
    /// as often, so that blocks fill, empty and are reused within one process's life, as they
    /// do in production (docs/simulation.md, "Turnover runs"). Off: the seed's run is the one it
    /// always was.
    public var turnover: Bool
    /// Forces the device header's step (sequences reserved and blocks covered per header write)
    /// for every seed; nil: three seeds in seven (or a swarm seed) pick 2-8, the others 64.
    public var headerStep: Int?
    /// Crashes near block openings: after a step that opened a block, one time in two a crash
    /// (a power loss or not, even odds) follows within 1-8 steps, so that a block's first
    /// writes, its header among them, meet crashes far more often than crashes spread over the
    /// run give (docs/simulation.md, "Crashes near block openings"). Off: the seed's run is the
    /// one it always was.
    public var crashNearOpenings: Bool
    /// Same-millisecond bursts: one step in 16 becomes 3-8 writes, deletes (plain and durable),
    /// touches and reads of one key with no time passing between them, so that the copies of a
    /// key that a cold start must order share a last-update time far more often than steps
    /// 0-4 ms apart give (docs/simulation.md, "Same-millisecond bursts"). Drawn from a
    /// generator of the seed's own; off: the seed's run is the one it always was.
    public var bursts: Bool
    public var log: @Sendable (String) -> Void
    /// Keep what ``SimulationResult/replayDifferences(_:)`` compares beyond the fingerprint: each
    /// operation's step and I/O counts, and each device page's checksum (`--check-replay`).
    public var recordsReplayTrace = false

    public init(seed: UInt64, operations: Int = 600, deviceCount: Int? = nil, deviceSizeBytes: UInt64 = 8 << 20,
                keyCount: Int = 160, bugs: ReintroducedBugs = [], commitToDevice: Bool? = nil,
                destructiveFaults: Bool? = nil, sharedMemoryDirectory: String? = nil, eviction: Bool = false,
                oneBin: Bool = false, swarm: Bool = false, swarmFaults: Bool = false,
                unsyncedPagesInAnyOrder: Bool? = nil, turnover: Bool = false, headerStep: Int? = nil,
                crashNearOpenings: Bool = false, bursts: Bool = false,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.eviction = eviction
        self.bursts = bursts
        self.unsyncedPagesInAnyOrder = unsyncedPagesInAnyOrder
        self.turnover = turnover
        self.headerStep = headerStep
        self.crashNearOpenings = crashNearOpenings
        self.swarm = swarm
        self.swarmFaults = swarmFaults
        self.oneBin = oneBin
        self.seed = seed
        self.operations = operations
        self.deviceCount = deviceCount
        self.deviceSizeBytes = deviceSizeBytes
        self.keyCount = keyCount
        self.bugs = bugs
        self.commitToDevice = commitToDevice
        self.destructiveFaults = destructiveFaults
        self.sharedMemoryDirectory = sharedMemoryDirectory
        self.log = log
    }
}

/// What a run did, and the first invariant it found broken (nil: none).
public struct SimulationResult: Sendable {
    public var seed: UInt64
    public var operations = 0
    public var crashes = 0
    /// Crashes that were power losses (unsynced bytes dropped).
    public var powerLosses = 0
    public var coldRestarts = 0
    public var warmRestarts = 0
    public var failedRestarts = 0
    /// Eviction runs: nsup cycles that raised the eviction mark, the records they evicted
    /// (checked against the engine's `evicted_objects`), and records evicted by cold starts.
    public var evictingCycles = 0
    public var evicted = 0
    public var coldStartEvicted = 0
    /// The eviction settings the seed picked (nil: not an eviction run).
    public var evictionSettings: EvictionSettings?
    /// The step mix and keys the seed picked (nil: not a swarm run).
    public var swarmSettings: SwarmSettings?
    public var commitToDevice = false
    public var destructiveFaults = false
    /// The device header's step for this run (nil: the production 64).
    public var headerStep: Int?
    /// The faults' rates, when the seed picked them (`swarmFaults`).
    public var swarmedFaults: SimulatedFaults?
    public var failure: String?
    /// The operation (0-based) after which the failure was found.
    public var failedAtOperation: Int?
    public var device = SimulatedDeviceCounters()
    /// Each device's ``SimulatedDevice/contentHash`` at the end of the run.
    public var deviceContentHashes: [UInt64] = []
    /// Each device's 4 KiB pages' checksums at the end of the run (``SimulationOptions/recordsReplayTrace``).
    public var devicePageHashes: [[UInt32]] = []
    /// Each operation's step and the devices' I/O counts after it (``SimulationOptions/recordsReplayTrace``).
    public var trace: [StepTrace] = []
    /// Every restart's mode and reason, in order, with the operation it followed: where two
    /// replays of one seed part (`cairn-sim --check-replay` names the first that differs).
    public var starts: [String] = []

    /// What two replays of one seed must agree on (`cairn-sim --check-replay`): every count, the
    /// failure, and every device's bytes.
    public var replayFingerprint: [(name: String, value: String)] {
        [("operations", "\(operations)"), ("crashes", "\(crashes)"), ("power losses", "\(powerLosses)"),
         ("cold restarts", "\(coldRestarts)"), ("warm restarts", "\(warmRestarts)"),
         ("failed restarts", "\(failedRestarts)"), ("evicting cycles", "\(evictingCycles)"), ("evicted", "\(evicted)"),
         ("evicted by cold starts", "\(coldStartEvicted)"), ("failure", failure ?? "none"),
         ("device reads", "\(device.reads)"), ("read errors", "\(device.readErrors)"),
         ("short transfers", "\(device.shortTransfers)"), ("device writes", "\(device.writes)"),
         ("device syncs", "\(device.syncs)"), ("torn writes", "\(device.tornWrites)"),
         ("write errors", "\(device.writeErrors)"), ("corrupted sectors", "\(device.corruptedSectors)"),
         ("misdirected writes", "\(device.misdirectedWrites)"),
         ("device bytes", deviceContentHashes.map { String($0, radix: 16) }.joined(separator: ","))]
    }

    /// How a replay of this run's seed differs from it, one line each, empty when it does not:
    /// the fingerprint's differing values, then where the two parted (the first operation whose
    /// step or I/O counts differ, the first restart that differs, the device pages that differ).
    public func replayDifferences(_ again: SimulationResult) -> [String] {
        let differing = zip(replayFingerprint, again.replayFingerprint).filter { $0.0.value != $0.1.value }
        guard !differing.isEmpty else { return [] }
        var lines = [differing.map { "\($0.0.name) \($0.0.value) then \($0.1.value)" }.joined(separator: "; ")]
        if let i = trace.indices.first(where: { $0 < again.trace.count && trace[$0] != again.trace[$0] }) {
            lines.append("operation \(i) differs: \(trace[i]), then \(again.trace[i])"
                         + (i > 0 ? " (operation \(i - 1): \(trace[i - 1]))" : ""))
        }
        let a = starts, b = again.starts
        if let i = (0..<max(a.count, b.count)).first(where: { $0 >= a.count || $0 >= b.count || a[$0] != b[$0] }) {
            lines.append("restart \(i + 1) differs: \(i < a.count ? a[i] : "none"), then \(i < b.count ? b[i] : "none")")
        }
        for (d, (x, y)) in zip(devicePageHashes, again.devicePageHashes).enumerated() {
            let pages = zip(x, y).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            guard !pages.isEmpty else { continue }
            lines.append("device \(d): \(pages.count) pages of 4 KiB differ, at offsets "
                         + pages.prefix(12).map { "\($0 * 4096)" }.joined(separator: ", ") + (pages.count > 12 ? ", …" : ""))
        }
        return lines
    }
}

/// What an eviction run's seed picks: the thresholds (at least one on), the cycle's limit and
/// histogram, cold-start eviction, and whether set "b" disables eviction.
public struct EvictionSettings: Sendable, CustomStringConvertible {
    /// Devices of eviction runs: small, so that the keys' records fill a few percent.
    public static let deviceSizeBytes: UInt64 = 2 << 20
    /// The index's capacity in eviction runs, so that the keys fill a few percent of it.
    public static let indexEntryCountMax = 256
    public var usedPct: Int
    public var indexesMemoryPct: Int
    public var sysMemoryPct: Int
    public var tenthsPct: Int
    public var histBuckets: Int
    public var disableColdStartEviction: Bool
    public var exemptSet: String?

    init(_ rng: inout SplitMix64) {
        usedPct = [0, 1, 1][Int(rng.next() % 3)]
        indexesMemoryPct = [0, 5, 10, 20][Int(rng.next() % 4)]
        sysMemoryPct = rng.next() % 3 == 0 ? 60 : 0
        if usedPct == 0 && indexesMemoryPct == 0 && sysMemoryPct == 0 { usedPct = 1 }
        // Aerospike's default 5 (0.5 %) is a limit of 0 records for the simulator's 160 keys.
        tenthsPct = [20, 50, 200, 1000][Int(rng.next() % 4)]
        histBuckets = [100, 1000, 10_000][Int(rng.next() % 3)]
        disableColdStartEviction = rng.next() % 3 == 0
        exemptSet = rng.next() % 2 == 0 ? "b" : nil
    }

    public var description: String {
        "evict-used-pct \(usedPct), evict-indexes-memory-pct \(indexesMemoryPct), evict-sys-memory-pct \(sysMemoryPct), "
            + "evict-tenths-pct \(tenthsPct), evict-hist-buckets \(histBuckets), disable-cold-start-eviction "
            + "\(disableColdStartEviction), disable-eviction set \(exemptSet ?? "none")"
    }
}

/// One operation of a run: its step and the devices' I/O counts after it (two replays of a
/// seed that part show here first).
public struct StepTrace: Equatable, Sendable, CustomStringConvertible {
    var step: Int8
    var reads: UInt32
    var writes: UInt32
    var syncs: UInt32

    init(step: Step?, devices: [SimulatedDevice]) {
        self.step = Int8(step?.rawValue ?? -1)
        let c = devices.totalCounters
        reads = UInt32(truncatingIfNeeded: c.reads)
        writes = UInt32(truncatingIfNeeded: c.writes)
        syncs = UInt32(truncatingIfNeeded: c.syncs)
    }

    public var description: String {
        "\(Step(rawValue: Int(step)).map { "\($0)" } ?? "no namespace"), then \(reads) reads, \(writes) writes, \(syncs) syncs"
    }
}

/// The kinds of step a run takes.
enum Step: Int, CaseIterable {
    case put, touch, delete, durableDelete, read, batchRead, scan, truncate, truncatePair, defragment, supervise,
         sweeps, time, passTime, crash, powerLoss, cleanRestart
}

/// How a run picks its steps: segments in roll order, a roll in `0..<total` taking the step of
/// the segment it falls in.
struct StepMix: Sendable {
    let segments: [(step: Step, weight: Int)]
    let total: Int

    init(_ segments: [(step: Step, weight: Int)]) {
        self.segments = segments
        total = segments.reduce(0) { $0 + $1.weight }
    }

    func step(at roll: Int) -> Step {
        var left = roll
        for s in segments {
            if left < s.weight { return s.step }
            left -= s.weight
        }
        preconditionFailure("roll \(roll) beyond the mix's total \(total)")
    }

    /// A turnover run's mix: crashes, power losses and clean stops a tenth as often (at least
    /// one per thousand steps where the mix had any), the rest as it was.
    var turnover: StepMix {
        StepMix(segments.map { s in
            [.crash, .powerLoss, .cleanRestart].contains(s.step) && s.weight > 0 ? (s.step, max(1, s.weight / 10)) : s
        })
    }

    /// Each step's share (by `Step` raw value).
    var weights: [Int] {
        var w = [Int](repeating: 0, count: Step.allCases.count)
        for s in segments { w[s.step.rawValue] += s.weight }
        return w
    }

    /// The usual mix, per thousand steps.
    static let usual = StepMix([
        (.put, 330), (.touch, 70), (.delete, 50), (.durableDelete, 60), (.read, 170), (.batchRead, 40), (.scan, 10),
        (.truncate, 10), (.truncatePair, 8), (.defragment, 52), (.supervise, 30), (.sweeps, 30), (.time, 100),
        (.passTime, 3), (.crash, 15), (.powerLoss, 12), (.cleanRestart, 10),
    ])
    /// Eviction runs: a cache fills (puts take most of the truncations' share) and nsup cycles
    /// come half as often again (taken from the sweeps').
    static let usualEviction = StepMix([
        (.put, 330), (.touch, 70), (.delete, 50), (.durableDelete, 60), (.read, 170), (.batchRead, 40), (.scan, 10),
        (.truncate, 3), (.put, 15), (.defragment, 52), (.supervise, 45), (.sweeps, 15), (.time, 100),
        (.passTime, 3), (.crash, 15), (.powerLoss, 12), (.cleanRestart, 10),
    ])
}

/// What a swarm run's seed picks (swarm testing, Groce et al., ISSTA 2012): each kind of step
/// but the put is left out one time in four, and the others weigh half to four times their
/// share of the usual mix; the client steps pick from the first 4, 12, 40 or all of the keys.
/// A uniform mix rarely builds a sequence that needs several steps of a kind on one key and
/// none of another in between (a durable delete, a put and a plain delete of one key, then the
/// blocks of all three reused before a cold start); some swarm mixes build it often.
public struct SwarmSettings: Sendable, CustomStringConvertible {
    /// One segment per `Step`, in `Step` order; at least the put's weight is above zero.
    let mix: StepMix
    public let keys: Int
    /// The device header's step (nil: the production 64): half the swarm runs renew the
    /// block-sequence reservation every 2-8 sequences, so renewals meet crashes and power losses.
    public let headerStep: Int?
    /// Kinds of step the run never takes.
    public var stepsLeftOut: Int { mix.weights.filter { $0 == 0 }.count }

    init(_ rng: inout SplitMix64, eviction: Bool, keyCount: Int) {
        var w = (eviction ? StepMix.usualEviction : StepMix.usual).weights
        for i in w.indices {
            let left = rng.next() % 4 == 0 && Step(rawValue: i) != .put
            w[i] = left ? 0 : w[i] * [1, 2, 4, 8][Int(rng.next() % 4)] / 2
        }
        // Never a run with no crash at all before its last step (the final crash is always there).
        if w[Step.crash.rawValue] == 0 && w[Step.powerLoss.rawValue] == 0 { w[Step.crash.rawValue] = 15 }
        mix = StepMix(Step.allCases.map { ($0, w[$0.rawValue]) })
        keys = min(keyCount, [4, 12, 40, keyCount][Int(rng.next() % 4)])
        headerStep = rng.next() % 2 == 0 ? Int(2 + rng.next() % 7) : nil
    }

    public var description: String {
        let parts = mix.segments.map { "\($0.step) \($0.weight)" }
        return "swarm: keys \(keys), header step \(headerStep.map(String.init) ?? "64"), per \(mix.total): "
            + parts.joined(separator: ", ")
    }
}

/// The machine's used memory as an eviction run shows it to `evict-sys-memory-pct`.
final class SimulatedMemory: Sendable {
    private let pct = Atomic<Int>(70)
    var usedPct: Int { pct.load(ordering: .relaxed) }
    func set(_ value: Int) { pct.store(value, ordering: .relaxed) }
}

/// The virtual clock: wall milliseconds since 2010 for TTLs and LUTs, monotonic nanoseconds
/// for flush-max-ms. Moved only by the simulator.
final class VirtualClock: Sendable {
    private let ns = Atomic<UInt64>(1_000_000_000)
    static let wallBaseMs: UInt64 = 500_000_000_000  // 2025-11 in ms since 2010
    var nowNs: UInt64 { ns.load(ordering: .relaxed) }
    var wallMs: UInt64 { Self.wallBaseMs + nowNs / 1_000_000 }
    var voidTime: UInt32 { UInt32(wallMs / 1000) }
    func advance(ns delta: UInt64) { ns.add(delta, ordering: .relaxed) }
}

/// The deterministic simulator: the real namespace (index, engine, writers, cold start,
/// defrag, supervisor, truncation) over simulated devices, one thread, every choice from the
/// seed. See docs/simulation.md.
public final class Simulator {
    let options: SimulationOptions
    var rng: SplitMix64
    let clock = VirtualClock()
    let devices: [SimulatedDevice]
    var model: SimulationModel
    var namespace: Namespace?
    var result: SimulationResult
    let commitToDevice: Bool
    /// Three seeds in seven write the device header every 2-8 sequences and new blocks instead of
    /// every 64, so that the flusher's writes ahead of need and the opening block's own meet
    /// crashes. Chosen from the seed without drawing from the generator: the other runs, and the
    /// regression seeds (none of them in these residues), are the ones they always were.
    let headerStep: Int?
    let flushMaxMs: Int
    let faults: SimulatedFaults
    let shmDirectory: String
    var nextVersion: UInt32 = 1
    /// Injected write errors counted at the last restart.
    var writeErrorsAtStart = 0
    /// Opens tried so far (each reseeds the devices' fault generators afterwards).
    var openEpoch: UInt64 = 0
    var restartContext = "after a clean stop"
    /// Commit-to-device completions land here (from flush steps on this same thread).
    let completions = CompletionInbox()
    /// How the engine continues and where it decodes: with a `RecordScratch` of the running
    /// thread in three runs of four (as an io_uring service thread reads and writes), so the
    /// reuse of decoded bins is checked against the model through crashes, faults and restarts.
    var resume = Resume.inline
    /// Eviction runs only.
    let eviction: EvictionSettings?
    /// Swarm runs only.
    let swarm: SwarmSettings?
    /// The keys the client steps pick from: all of them, or a swarm run's first few.
    let keySpace: Int
    /// How the run picks its steps: a swarm run's mix, or the usual one.
    let mix: StepMix
    let memory = SimulatedMemory()
    /// The namespace's random numbers (instance ids, treap seed): its own generator, so that
    /// drawing them changes no other choice of the run.
    let namespaceRandom: SeededRandom
    /// The eviction mark may have gone up unseen since the model last took the engine's: an nsup
    /// cycle failed to write it (it may have reached some header copies), or a cold start that
    /// raised it failed later (an injected read error) and was tried again.
    var markUncertain = false

    final class SeededRandom: Sendable {
        private let generator: Mutex<SplitMix64>
        init(seed: UInt64) { generator = Mutex(SplitMix64(seed: seed)) }
        func next() -> UInt64 { generator.withLock { $0.next() } }
    }

    final class CompletionInbox: Sendable {
        typealias Entry = (key: Int, position: Int, status: SimulationModel.Status, voidTime: UInt32?)
        private let entries = Mutex<[Entry]>([])
        func post(_ e: Entry) { entries.withLock { $0.append(e) } }
        func take() -> [Entry] { entries.withLock { e in defer { e.removeAll() }; return e } }
    }
    static let setNames: [String?] = [nil, "a", "b"]
    /// ``binNames(_:)`` of every key.
    let binNamesByKey: [[String]]

    public init(_ options: SimulationOptions) {
        self.options = options
        binNamesByKey = (0..<options.keyCount).map { options.oneBin ? ["v"] : Self.binNames($0) }
        // Hashed: nearby seeds (1, 2, 3...) give unrelated runs.
        var seeder = SplitMix64(seed: options.seed)
        var rng = SplitMix64(seed: seeder.next())
        let commitRoll = rng.next() % 2 == 0
        commitToDevice = options.commitToDevice ?? commitRoll
        let residueHeaderStep = [2, 3, 5].contains(options.seed % 7) ? Int(2 + (options.seed / 7) % 7) : nil
        flushMaxMs = [10, 50, 100, 250][Int(rng.next() % 4)]
        let destructiveRoll = rng.next() % 4 == 0
        let destructive = options.destructiveFaults ?? destructiveRoll
        var f = SimulatedFaults()
        f.latencyStepsMax = Int(rng.next() % 4)
        f.shortTransferPPM = 20_000
        f.readErrorPPM = rng.next() % 3 == 0 ? 2_000 : 0
        f.writeErrorPPM = rng.next() % 3 == 0 ? 1_000 : 0
        if destructive {
            f.corruptSectorPPM = 5_000
            f.misdirectedWritePPM = 2_000
        }
        if options.swarmFaults { f = Self.swarm(f, seed: options.seed) }
        if let anyOrder = options.unsyncedPagesInAnyOrder { f.unsyncedPagesInAnyOrder = anyOrder }
        faults = f
        self.rng = rng
        namespaceRandom = SeededRandom(seed: options.seed ^ 0x4E53_5241_4E44_4F4D)
        let seed = options.seed
        let size = options.eviction ? EvictionSettings.deviceSizeBytes : options.deviceSizeBytes
        let deviceRoll = 1 + Int(rng.next() % 2)
        devices = (0..<(options.deviceCount ?? deviceRoll)).map { i in
            var g = SplitMix64(seed: seed ^ UInt64(i + 1) << 56)
            return SimulatedDevice(sizeBytes: size, seed: g.next(), faults: f)
        }
        // Drawn after everything else, so a run without eviction is the one its seed always gave.
        let eviction = options.eviction ? EvictionSettings(&self.rng) : nil
        self.eviction = eviction
        // Drawn last for the same reason.
        swarm = options.swarm ? SwarmSettings(&self.rng, eviction: options.eviction, keyCount: options.keyCount) : nil
        keySpace = swarm?.keys ?? options.keyCount
        let baseMix = swarm?.mix ?? (options.eviction ? .usualEviction : .usual)
        mix = options.turnover ? baseMix.turnover : baseMix
        headerStep = options.headerStep ?? swarm.map { $0.headerStep } ?? residueHeaderStep
        model = SimulationModel(keyCount: options.keyCount) { key in
            eviction?.exemptSet == nil || Self.setName(key) != eviction?.exemptSet
        }
        result = SimulationResult(seed: options.seed)
        result.evictionSettings = eviction
        result.swarmSettings = swarm
        result.commitToDevice = commitToDevice
        result.headerStep = headerStep
        result.destructiveFaults = destructive
        if options.swarmFaults { result.swarmedFaults = f }
        shmDirectory = options.sharedMemoryDirectory
            ?? NSTemporaryDirectory() + "cairn-sim-\(getpid())-\(options.seed)-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// A fault swarm: each fault's rate from none to four or ten times the usual one, so that
    /// some runs meet many more read errors, failed or short writes or late completions than the
    /// usual rates give in 600 steps, others none of a kind, and one in four loses its writes in
    /// flight at a crash whole instead of tearing them. Data-destroying faults stay
    /// off where the seed left them off (the model then expects every acknowledged write back).
    /// Drawn from a generator of the seed's own, so the run's other choices are the usual ones.
    static func swarm(_ usual: SimulatedFaults, seed: UInt64) -> SimulatedFaults {
        var g = SplitMix64(seed: seed ^ 0xFA07_5AA2_3C1B_D00D)
        func pick<T>(_ choices: [T]) -> T { choices[Int(g.next() % UInt64(choices.count))] }
        var f = usual
        f.readErrorPPM = pick([0, 0, 2_000, 8_000])  // at most 8,000: one error fails a cold start's scan
        f.writeErrorPPM = pick([0, 0, 1_000, 10_000])
        f.shortTransferPPM = pick([0, 20_000, 200_000])
        f.latencyStepsMax = pick([0, 1, 3, 8])
        f.tearWritesInFlight = g.next() % 4 != 0
        if usual.destroysWrittenData {
            let scale = pick([1, 10])
            f.corruptSectorPPM = usual.corruptSectorPPM * scale
            f.misdirectedWritePPM = usual.misdirectedWritePPM * scale
        }
        // Drawn last: the rates above are the ones each seed picked before it existed.
        f.unsyncedPagesInAnyOrder = g.next() % 2 == 0
        return f
    }

    deinit {
        namespace = nil
        try? FileManager.default.removeItem(atPath: shmDirectory)
    }

    // MARK: - run

    public func run() -> SimulationResult {
        // Made here, on the thread that runs the simulation (a scratch serves only its maker).
        if options.seed % 4 != 0 { resume = Resume(records: RecordScratch()) { $0() } }
        try? FileManager.default.createDirectory(atPath: shmDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shmDirectory) }
        guard reopen(clean: true, firstOpen: true) else { return finish() }
        for op in 0..<options.operations {
            result.operations = op + 1
            let taken = step(op)
            if options.recordsReplayTrace { result.trace.append(StepTrace(step: taken, devices: devices)) }
            if result.failure != nil {
                result.failedAtOperation = op
                return finish()
            }
        }
        // The end of every run (and of every prefix a shrink tries) is a crash and its check.
        crashAndRestart(powerLoss: rng.next() % 2 == 0)
        if result.failure != nil { result.failedAtOperation = options.operations }
        return finish()
    }

    private func finish() -> SimulationResult {
        namespace = nil
        result.device = devices.totalCounters
        result.deviceContentHashes = devices.map(\.contentHash)
        if options.recordsReplayTrace { result.devicePageHashes = devices.map { $0.pageHashes() } }
        return result
    }

    private func fail(_ message: String) {
        if result.failure == nil { result.failure = message }
    }

    private func roll(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    /// One seeded step: a client operation, background work, time, or a crash.
    /// Returns the step taken (nil: none, the namespace is gone).
    @discardableResult
    private func step(_ op: Int) -> Step? {
        guard let ns = namespace else { return nil }
        if options.crashNearOpenings, let crash = crashNearOpening(ns) {
            crashAndRestart(powerLoss: crash == .powerLoss)
            return crash
        }
        if let last = burst() { return last }
        let kind = mix.step(at: roll(mix.total))
        perform(kind, ns)
        return kind
    }

    /// `bursts`: the generator that starts and shapes them (not the run's: a run without bursts
    /// is the one its seed always gave).
    lazy var burstRandom = SplitMix64(seed: options.seed ^ 0xB0B5_7A11_5A3E_0001)

    /// A same-millisecond burst on one key, if the burst generator starts one here: 3-8 steps
    /// with no tick between them (the clock stands still), then one tick. Most are client steps
    /// on the key; one in sixteen is a clean stop and warm restart, and one a crash, as a restart
    /// within the millisecond of the writes before it (a quick one, or a clock behind their
    /// LUTs). Returns the last step it took.
    private func burst() -> Step? {
        guard options.bursts, burstRandom.next() % 16 == 0 else { return nil }
        let key = Int(burstRandom.next() % UInt64(keySpace))
        let kinds: [Step] = [.put, .put, .put, .put, .put, .put, .touch, .touch, .delete, .delete, .delete,
                             .durableDelete, .durableDelete, .read, .cleanRestart, .crash]
        var last = Step.put
        for _ in 0..<(3 + Int(burstRandom.next() % 6)) {
            guard let ns = namespace, result.failure == nil else { break }
            last = kinds[Int(burstRandom.next() % UInt64(kinds.count))]
            switch last {
            case .put: put(ns, key: key)
            case .touch: touch(ns, key: key)
            case .delete: delete(ns, key: key, durable: false)
            case .durableDelete: delete(ns, key: key, durable: true)
            case .cleanRestart: cleanRestart()
            case .crash: crashAndRestart(powerLoss: false)
            default: read(ns, key: key)
            }
        }
        tick()
        return last
    }

    /// `crashNearOpenings`: blocks opened so far by this process (every device), and the steps
    /// left before the crash that follows the last opening (nil: none pending).
    var blocksOpenedSeen = 0
    var crashCountdown: (steps: Int, kind: Step)?

    /// The crash due now, if one is: arms a countdown when the last step opened a block.
    private func crashNearOpening(_ ns: Namespace) -> Step? {
        let opened = ns.storage.devices.reduce(0) { $0 + $1.writer.statistics.blocksOpened }
        defer { blocksOpenedSeen = opened }
        if crashCountdown == nil, opened > blocksOpenedSeen, roll(2) == 0 {
            crashCountdown = (1 + roll(8), roll(2) == 0 ? .powerLoss : .crash)
        }
        guard let due = crashCountdown else { return nil }
        if due.steps > 1 {
            crashCountdown = (due.steps - 1, due.kind)
            return nil
        }
        crashCountdown = nil
        return due.kind
    }

    private func perform(_ kind: Step, _ ns: Namespace) {
        switch kind {
        case .put: put(ns, key: roll(keySpace))
        case .touch: touch(ns, key: roll(keySpace))
        case .delete: delete(ns, key: roll(keySpace), durable: false)
        case .durableDelete: delete(ns, key: roll(keySpace), durable: true)
        case .read: read(ns, key: roll(keySpace))
        case .batchRead: batchRead(ns)
        case .scan: scan(ns)
        case .truncate: truncate(ns, sets: [Self.setNames[roll(Self.setNames.count)]])
        case .truncatePair: truncatePair(ns)
        case .defragment: ns.defragmentOnce()
        case .supervise: if eviction != nil { evictionCycle(ns) } else { ns.superviseOnce() }
        case .sweeps: ns.runDeferredSweeps()
        case .time: clock.advance(ns: UInt64(roll(40)) * 1_000_000)
        case .passTime: passTime(ms: 1000 * (1 + roll(20)))  // TTLs run out
        case .crash: crashAndRestart(powerLoss: false)
        case .powerLoss: crashAndRestart(powerLoss: true)
        case .cleanRestart: cleanRestart()
        }
        tick()
    }

    /// A long stretch with no client work: time moves in 10 ms steps, each a tick, so the
    /// flushers keep their flush-max-ms deadlines as a real flusher thread would.
    private func passTime(ms: Int) {
        var left = ms
        while left > 0 {
            let step = min(10, left)
            clock.advance(ns: UInt64(step) * 1_000_000)
            left -= step
            tick()
        }
    }

    /// Time moves 0...4 ms; every device's queue moves one step; every flusher gets a round.
    private func tick() {
        clock.advance(ns: UInt64(roll(5)) * 1_000_000)
        for d in devices { d.tick() }
        if let ns = namespace {
            for d in ns.storage.devices { d.writer.flushStep(reapMinimum: 0) }
            if let k = traceKey, let r = ns.index.lookup(Self.digest(k)) {
                let w = ns.storage.devices[Int(r.location.deviceIndex)].writer
                let block = UInt32(r.location.byteOffset / UInt64(w.configuration.writeBlockSizeBytes))
                if w.isBuffered(block) { trace(k, "buffered in block \(block): \(w.flusherDescription)") }
            }
        }
        drainCompletions()
    }

    /// `CAIRN_SIM_TRACE_KEY=N`: print every event of key N (debugging a failing seed).
    let traceKey: Int? = ProcessInfo.processInfo.environment["CAIRN_SIM_TRACE_KEY"].flatMap { Int($0) }

    func trace(_ key: Int, _ text: @autoclosure () -> String) {
        if key == traceKey { print("trace key \(key) @\(clock.nowNs / 1_000_000) ms: \(text())") }
    }

    private func drainCompletions() {
        for c in completions.take() {
            trace(c.key, "complete #\(c.position) \(c.status) voidTime \(c.voidTime.map { String($0) } ?? "-")")
            model.complete(c.key, c.position, c.status, voidTime: c.voidTime)
        }
    }

    // MARK: - client work

    static func digest(_ key: Int) -> Digest {
        var g = SplitMix64(seed: UInt64(key) &* 0xD1B5_4A32_D192_ED03 ^ 0x5EED)
        var bytes: [UInt8] = []
        for _ in 0..<3 { withUnsafeBytes(of: g.next()) { bytes.append(contentsOf: $0) } }
        return Digest(bytes: bytes.prefix(20))!
    }

    static func setName(_ key: Int) -> String? { setNames[key % setNames.count] }

    /// The bins of `key`'s records: "v" (its version) and `key % 6` more, from a pool in an order
    /// the key picks. Records of one to four bins, whose updates of every bin skip their read
    /// once the index knows the names, and of five or six, whose updates always read.
    static func binNames(_ key: Int) -> [String] {
        var g = SplitMix64(seed: UInt64(key) &* 0xA24B_AED4_963E_E407 ^ 0xB1)
        var pool = ["a", "b", "c", "d", "e", "f", "g"]
        var names = ["v"]
        for _ in 0..<(key % 6) { names.append(pool.remove(at: Int(g.next() % UInt64(pool.count)))) }
        return names
    }

    /// The value of bin "v" written by `version` for `key`: its identity, the mask of the key's
    /// other bins (``binNames(_:)``, bit i for the i-th) that the same write set, and a length
    /// the version picks. With ``SimulationOptions/oneBin``, the value one-bin runs wrote: no
    /// mask byte.
    func value(key: Int, version: UInt32, mask: UInt8) -> [UInt8] {
        var g = SplitMix64(seed: UInt64(version) &* 0x9E37_79B9_7F4A_7C15)
        let spread: UInt64 = options.turnover ? 24_000 : 900
        if options.oneBin { return Self.identity(key: key, version: version, length: 8 + Int(g.next() % spread), body: 8, &g) }
        var bytes = Self.identity(key: key, version: version, length: 9 + Int(g.next() % spread), body: 9, &g)
        bytes[8] = mask
        return bytes
    }

    /// The value of the key's `bin`-th bin (1 ...) written by `version`: short, and its own.
    static func value(key: Int, version: UInt32, bin: Int) -> [UInt8] {
        var g = SplitMix64(seed: UInt64(version) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bin) &* 0xC2B2_AE3D_27D4_EB4F)
        var bytes = identity(key: key, version: version, length: 9 + Int(g.next() % 40), body: 9, &g)
        bytes[8] = UInt8(bin)
        return bytes
    }

    /// `length` bytes: the key and the version, then from `body` on bytes of `g`.
    private static func identity(key: Int, version: UInt32, length: Int, body: Int, _ g: inout SplitMix64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        withUnsafeBytes(of: UInt32(key).bigEndian) { for i in 0..<4 { bytes[i] = $0[i] } }
        withUnsafeBytes(of: version.bigEndian) { for i in 0..<4 { bytes[4 + i] = $0[i] } }
        for i in body..<length { bytes[i] = UInt8(truncatingIfNeeded: g.next()) }
        return bytes
    }

    /// The key and version a value names.
    private func identity(of bytes: [UInt8]) -> (key: UInt32, version: UInt32)? {
        guard bytes.count >= (options.oneBin ? 8 : 9) else { return nil }
        return (bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) }, bytes[4..<8].reduce(0) { $0 << 8 | UInt32($1) })
    }

    /// The version a read returned (that of bin "v"), checked to be a value this simulator wrote
    /// for that key, with exactly the key's bins: those the same write set hold its version, the
    /// others an older one of theirs (an update that set only some bins merged them with the
    /// copy it read; one that set every bin may not have read it).
    private func version(of record: EngineRecord?, key: Int) -> UInt32?? {
        guard let record else { return .some(nil) }
        let names = binNamesByKey[key]
        guard record.bins.count == names.count, Set(record.bins.map(\.name)) == Set(names),
              let bin = record.bins.first(where: { $0.name == "v" }) else {
            fail("key \(key): record with bins \(record.bins.map(\.name)), but its writes set \(names)")
            return nil
        }
        let mask = options.oneBin || bin.bytes.count < 9 ? 0 : bin.bytes[8]
        guard let (k, v) = identity(of: bin.bytes), k == UInt32(key), v > 0, v < nextVersion,
              bin.bytes == value(key: key, version: v, mask: mask) else {
            fail("key \(key): value of bin v (\(bin.bytes.prefix(9)), \(bin.bytes.count) bytes) was never written for it")
            return nil
        }
        for i in 1..<names.count {
            let other = record.bins.first { $0.name == names[i] }!
            let written = mask & (1 << i) != 0
            guard let (ko, w) = identity(of: other.bytes), ko == UInt32(key), w > 0,
                  written ? w == v : w < v, other.bytes == Self.value(key: key, version: w, bin: i) else {
                fail("key \(key): bin \(names[i]) holds \(other.bytes.prefix(9)) beside version \(v) of bin v, whose write "
                     + (written ? "set it" : "left it as an older write set it"))
                return nil
            }
        }
        return .some(v)
    }

    private func put(_ ns: Namespace, key: Int) {
        let version = nextVersion
        nextVersion += 1
        var o = WriteOptions()
        if eviction != nil {
            // A cache: most records have a TTL (minutes), some never expire.
            o.ttl = roll(4) != 0 ? .seconds(UInt32(1 + roll(300))) : .never
        } else {
            o.ttl = roll(3) == 0 ? .seconds(UInt32(1 + roll(30))) : .never
        }
        // Every bin, or (once the record surely exists, so the write cannot create it) "v" and
        // some of the others, merged with the stored ones; in an order of their own.
        let names = binNamesByKey[key]
        var mask = UInt8(truncatingIfNeeded: (1 << names.count) - 2)
        if names.count > 1, roll(2) == 0, !model.allowedWhileRunning(key, nowVoidTime: clock.voidTime).contains(nil) {
            mask &= UInt8(truncatingIfNeeded: roll(1 << names.count))
        }
        var operations: [BinOperation] = [.write(StoredBin(name: "v", particleType: .blob,
                                                           bytes: value(key: key, version: version, mask: mask)))]
        for i in 1..<names.count where mask & (1 << i) != 0 {
            let bin = StoredBin(name: names[i], particleType: .blob, bytes: Self.value(key: key, version: version, bin: i))
            operations.insert(.write(bin), at: roll(operations.count + 1))
        }
        let position = model.issue(key, .put(version: version, voidTime: 0), nowNs: clock.nowNs)
        submitWrite(ns, key: key, position: position, operations: operations, options: o)
    }

    private func touch(_ ns: Namespace, key: Int) {
        // The version the touch rewrites: the last write's that did not fail (a failed put left
        // the record as it was: seed 265 of the first `--eviction --swarm` campaign).
        guard case .put(let v, _)? = model.keys[key].events.last(where: { $0.status != .failed })?.kind else { return }
        var o = WriteOptions()
        o.exists = .updateOnly
        o.ttl = roll(2) == 0 ? .seconds(UInt32(1 + roll(eviction != nil ? 300 : 30))) : .never
        let position = model.issue(key, .put(version: v, voidTime: 0), nowNs: clock.nowNs)
        submitWrite(ns, key: key, position: position, operations: [.touch], options: o)
    }

    private func delete(_ ns: Namespace, key: Int, durable: Bool) {
        var o = WriteOptions()
        o.durableDelete = durable
        let position = model.issue(key, .delete(durable: durable), nowNs: clock.nowNs, versionFloor: nextVersion)
        submitWrite(ns, key: key, position: position, operations: [.deleteRecord], options: o)
    }

    private func submitWrite(_ ns: Namespace, key: Int, position: Int, operations: [BinOperation], options o: WriteOptions) {
        trace(key, "issue #\(position) \(model.keys[key].events[position].kind) \(operations.map { "\($0)".prefix(20) }) ttl \(o.ttl)")
        let completions = self.completions
        let digest = Self.digest(key)
        let before = ns.index.lookup(digest)
        defer {
            // The copy this write made, if it made one (one thread: nothing else wrote the key):
            // its void time and LUT, which decide whether an eviction mark covers it.
            if let after = ns.index.lookup(digest), after != before, !after.isTombstone {
                model.applied(key, position, voidTime: after.voidTimeSeconds, lut: after.lastUpdateTimeMs)
            }
        }
        ns.operate(digest, setName: Self.setName(key), operations: operations, options: o, resume: resume) { r in
            switch r {
            case .success(let result):
                completions.post((key, position, .acked, result.voidTime))
            case .failure(let e) where e.result == .keyNotFound:
                // Nothing to touch or delete: nothing changed (the model's state stands).
                completions.post((key, position, .failed, nil))
            case .failure:
                completions.post((key, position, .failed, nil))
            }
        }
        drainCompletions()
    }

    private func read(_ ns: Namespace, key: Int) { _ = checkedRead(ns, key: key) }

    /// A read through the run's `resume` (and its scratch, when it has one).
    private func get(_ ns: Namespace, _ digest: Digest) throws(EngineError) -> EngineRecord? {
        let resume = self.resume
        return try waitForCallback { done in ns.get(digest, resume: resume, completion: done) }.get()
    }

    /// A read checked against the model; the record read (nil inside: absent), or nil when the
    /// read failed (an injected fault) or broke the model.
    /// A read that fails counts one read error of its device, and one that succeeds none
    /// (one thread: the record cannot move under the read).
    private func checkedRead(_ ns: Namespace, key: Int) -> EngineRecord?? {
        let record: EngineRecord?
        let readErrors = ns.storage.readErrorCount
        do { record = try get(ns, Self.digest(key)) } catch {
            if !tolerableReadError(error) { fail("key \(key): read failed: \(error)") }
            if ns.storage.readErrorCount != readErrors + 1 {
                fail("key \(key): a failed read counted \(ns.storage.readErrorCount - readErrors) read errors, not 1: \(error)")
            }
            return nil
        }
        if ns.storage.readErrorCount != readErrors {
            fail("key \(key): a read that succeeded counted \(ns.storage.readErrorCount - readErrors) read errors")
        }
        guard let seen = version(of: record, key: key) else { return nil }
        let allowed = model.allowedWhileRunning(key, nowVoidTime: clock.voidTime)
        if !allowed.contains(seen) {
            fail("key \(key): read \(describe(seen)), expected one of \(allowed.map(describe).sorted())"
                 + (model.mark.voidTime != 0 ? " (eviction mark \(model.mark))" : ""))
            return nil
        }
        return .some(record)
    }

    // MARK: - eviction

    /// The eviction mark the engine holds now.
    private func engineMark(_ ns: Namespace) -> SimulationModel.Mark {
        let table = ns.storage.truncation
        return SimulationModel.Mark(voidTime: table.evictVoidTime, lutMs: table.evictLutMs)
    }

    /// Every key read (and checked) before and after one nsup cycle. The cycle may only take
    /// records away, and only the evictable ones the new mark covers, all of them; never a
    /// record without a TTL or in a `disable-eviction` set; every evicted void time at or below
    /// every surviving evictable one; and as many as the engine's `evicted_objects` went up by.
    private func evictionCycle(_ ns: Namespace) {
        if let e = eviction, e.sysMemoryPct > 0, roll(3) == 0 { memory.set(roll(2) == 0 ? 50 : 70) }
        var before: [Int: EngineRecord?] = [:]
        for key in 0..<options.keyCount {
            guard let r = checkedRead(ns, key: key) else { if result.failure != nil { return } else { continue } }
            before[key] = r
        }
        let evictedBefore = ns.evictionStatistics.evictedObjects
        let markBefore = engineMark(ns)
        let cycleNowMs = clock.wallMs
        ns.superviseOnce()
        let stats = ns.evictionStatistics
        let markAfter = engineMark(ns)
        if ProcessInfo.processInfo.environment["CAIRN_SIM_TRACE_EVICTION"] != nil {
            print("nsup cycle @\(clock.wallMs) ms: \(before.values.filter { $0 != nil }.count) records, index \(ns.index.entryCount), "
                  + "live bytes \(ns.storage.devices.reduce(UInt64(0)) { $0 + $1.usage.totalLiveBytes }), mark \(markAfter), \(stats)")
        }
        if stats.lastRefusal?.contains("writing the eviction mark failed") == true {
            markUncertain = true
            return  // the mark may or may not be on the devices: the next restart tells
        }
        if markAfter.isBelow(markBefore) { return fail("nsup cycle: the eviction mark went down from \(markBefore) to \(markAfter)") }
        guard stats.evictVoidTime == markAfter.voidTime else {
            return fail("nsup cycle: evict_void_time \(stats.evictVoidTime) is not the mark's \(markAfter)")
        }
        if markAfter != markBefore {
            result.evictingCycles += 1
            model.mark = markAfter
        }
        var evictedVoidTimes: [UInt32] = []
        var survivingVoidTimes: [UInt32] = []
        var complete = before.count == options.keyCount
        for key in 0..<options.keyCount {
            guard let was = before[key], let record = was else { continue }
            guard let now = checkedRead(ns, key: key) else {
                if result.failure != nil { return }
                complete = false
                continue
            }
            let covered = model.isEvicted(key, voidTime: record.voidTime, lut: record.lastUpdateMs) == true
            if let kept = now {
                if covered {
                    return fail("key \(key): the eviction mark (\(markAfter)) covers its record (void time \(record.voidTime), "
                                + "LUT \(record.lastUpdateMs)) but a read still finds it")
                }
                guard kept.voidTime == record.voidTime, kept.lastUpdateMs == record.lastUpdateMs,
                      version(of: kept, key: key) == version(of: record, key: key) else {
                    return fail("key \(key): an nsup cycle changed its record")
                }
                if model.evictable[key] && record.voidTime != 0 && record.lastUpdateMs <= cycleNowMs {
                    survivingVoidTimes.append(record.voidTime)
                }
            } else {
                if record.voidTime == 0 { return fail("key \(key): a record that never expires was evicted") }
                if !model.evictable[key] { return fail("key \(key): a record of a disable-eviction set was evicted") }
                if !covered {
                    return fail("key \(key): gone after an nsup cycle, but the eviction mark (\(markAfter)) does not cover it "
                                + "(void time \(record.voidTime), LUT \(record.lastUpdateMs))")
                }
                trace(key, "evicted (void time \(record.voidTime)) by mark \(markAfter)")
                evictedVoidTimes.append(record.voidTime)
            }
        }
        if let latestEvicted = evictedVoidTimes.max(), let soonestSurvivor = survivingVoidTimes.min(),
           latestEvicted > soonestSurvivor {
            return fail("nsup cycle evicted a record with void time \(latestEvicted) and kept one with \(soonestSurvivor)")
        }
        result.evicted += evictedVoidTimes.count
        let counted = stats.evictedObjects - evictedBefore
        if complete && counted != UInt64(evictedVoidTimes.count) {
            fail("nsup cycle: evicted_objects went up by \(counted), but \(evictedVoidTimes.count) records disappeared")
        }
    }

    /// After a restart: the engine's eviction mark against the model's. It never goes down; it
    /// goes up only when a cold start evicted (and reports it), or a failed mark write may have
    /// reached a header. The model takes it, so the check that follows holds every covered
    /// record gone.
    private func reconcileMark(_ ns: Namespace) {
        let engine = engineMark(ns)
        let old = model.mark
        let report = ns.startReport.coldStart
        if engine.isBelow(old) { return fail("the eviction mark went down across a restart: \(old) before, \(engine) after \(restartContext)") }
        if let report, report.evicted > 0 {
            if eviction?.disableColdStartEviction != false {
                return fail("a cold start evicted \(report.evicted) records with cold-start eviction off")
            }
            if report.evictionRaises == 0 || engine == old {
                return fail("a cold start evicted \(report.evicted) records without raising the eviction mark")
            }
            result.coldStartEvicted += report.evicted
        }
        if engine != old {
            let raisedByScan = (report?.evictionRaises ?? 0) > 0
            if !raisedByScan && !markUncertain {
                return fail("the eviction mark went up from \(old) to \(engine) across a restart that evicted nothing \(restartContext)")
            }
            model.mark = engine
        }
        markUncertain = false
    }

    private func batchRead(_ ns: Namespace) {
        for _ in 0..<(2 + roll(8)) { read(ns, key: roll(keySpace)) }
    }

    /// A scan: every live index entry read back and checked against the model.
    private func scan(_ ns: Namespace) {
        var byDigest: [Digest: Int] = [:]
        for k in 0..<options.keyCount { byDigest[Self.digest(k)] = k }
        var seen: [(digest: Digest, live: Bool)] = []
        // What a client scan returns: the entries `isLiveRecord` passes (not expired, truncated or evicted).
        ns.index.forEachRecord { r in if !r.isTombstone { seen.append((r.digest, ns.isLiveRecord(r))) } }
        for (d, live) in seen {
            guard let key = byDigest[d] else { return fail("scan found digest \(d) that was never written") }
            guard let record = checkedRead(ns, key: key) else { continue }
            if live != (record != nil) {
                return fail("key \(key): a scan \(live ? "returns" : "skips") it, a read finds \(record == nil ? "nothing" : "it")")
            }
        }
    }

    private func truncate(_ ns: Namespace, sets: [String?]) {
        for set in sets {
            var status = SimulationModel.Status.acked
            do { try ns.truncate(setName: set) } catch {
                // An injected header write error: the truncation may or may not have taken.
                guard faults.writeErrorPPM > 0 else { return fail("truncate \(set ?? "<namespace>") failed: \(error)") }
                status = .failed
            }
            for k in 0..<options.keyCount where set == nil || Self.setName(k) == set {
                trace(k, "truncate \(set ?? "<namespace>") \(status) at wall \(clock.wallMs)")
                _ = model.issue(k, .truncated, nowNs: clock.nowNs, status: status)
            }
        }
        clock.advance(ns: 1_000_000)  // later writes have a later LUT than the truncation
    }

    /// Two truncations at once (an info client each): the second starts, on a second thread,
    /// when the first's header write has landed but before the first recorded it; it waits for
    /// the header lock, as the real daemon's info threads do, unless a bug dropped that lock.
    private func truncatePair(_ ns: Namespace) {
        let first = Self.setNames[1 + roll(2)]
        let second = first == "a" ? "b" : "a"
        let device = devices[0]
        let storage = ns.storage.devices[0]
        let armed = Atomic<Bool>(true)
        let secondDone = ConditionLock(false)
        let secondFailed = Atomic<Bool>(false)
        let secondThread = Atomic<UInt>(0)
        let firstLetGo = Atomic<Bool>(false)  // the first's hook returned: it no longer waits for the second
        let firstReturned = Atomic<Bool>(false)
        device.setHeaderWriteHook { [clock] in
            guard armed.exchange(false, ordering: .relaxed) else {
                // The second's own header writes here, once the first let go of the lock: they
                // wait until the first has returned, so the first's writes to its other devices
                // come before the second's, whatever the threads' speed (they draw each device's
                // faults in that order: which of the two an injected error fails must replay).
                if secondThread.load(ordering: .acquiring) == UInt(pthread_self()) && firstLetGo.load(ordering: .acquiring) {
                    while !firstReturned.load(ordering: .acquiring) { usleep(100) }
                }
                return
            }
            _ = clock
            let t = Thread {
                secondThread.store(UInt(pthread_self()), ordering: .releasing)
                do { try ns.truncate(setName: second) } catch { secondFailed.store(true, ordering: .relaxed) }
                secondDone.withLock { $0 = true }
                secondDone.broadcast()
            }
            t.start()
            // The second either finishes (no lock held it back) or queues for the lock. Waited
            // for as such, not for a while: a second that had not yet reached the lock when a
            // timeout ran out (a loaded machine) made the run differ from its replay.
            while !secondDone.withLock({ $0 }) && storage.headerWritersQueuedCount < 2 { usleep(100) }
            firstLetGo.store(true, ordering: .releasing)
        }
        defer { device.setHeaderWriteHook(nil) }
        var status = SimulationModel.Status.acked
        var firstError: (any Error)?
        do { try ns.truncate(setName: first) } catch { firstError = error }
        firstReturned.store(true, ordering: .releasing)
        if let firstError {
            guard faults.writeErrorPPM > 0 else { return fail("truncate \(first ?? "") failed: \(firstError)") }
            status = .failed
        }
        secondDone.wait(until: { $0 || armed.load(ordering: .relaxed) }) { _ in }
        if armed.load(ordering: .relaxed) {
            // No header write reached the hook (an injected error first): run the second now.
            device.setHeaderWriteHook(nil)
            do { try ns.truncate(setName: second) } catch { status = .failed }
        }
        if secondFailed.load(ordering: .relaxed) {
            guard faults.writeErrorPPM > 0 else { return fail("truncate \(second) failed") }
            status = .failed
        }
        for k in 0..<options.keyCount where Self.setName(k) == first || Self.setName(k) == second {
            trace(k, "truncate pair \(first ?? "") \(second) \(status) at wall \(clock.wallMs)")
            _ = model.issue(k, .truncated, nowNs: clock.nowNs, status: status)
        }
        clock.advance(ns: 1_000_000)
    }

    private func tolerableReadError(_ error: any Error) -> Bool {
        // Injected read errors, and (with destructive faults) records the faults destroyed.
        let text = "\(error)"
        if faults.readErrorPPM > 0 && text.contains("Input/output error") { return true }
        if text.contains("errno 5") || text.contains("EIO") { return faults.readErrorPPM > 0 }
        return faults.destroysWrittenData && (text.contains("corrupt") || text.contains("checksum"))
    }

    private func describe(_ v: UInt32?) -> String { v.map { "v\($0)" } ?? "absent" }

    // MARK: - crashes and restarts

    /// Drops the namespace object (its buffers, its index) with writes in flight torn, and on a
    /// power loss every unsynced byte too; restarts (cold: the headers are not clean), and
    /// checks every key and invariant. A buffered (not commit-to-device) write must survive a
    /// process crash once older than the flush window, and a power loss once older than twice
    /// that (the flusher syncs at most flush-max-ms after it writes).
    private func crashAndRestart(powerLoss: Bool) {
        result.crashes += 1
        if powerLoss { result.powerLosses += 1 }
        let crashNs = clock.nowNs
        if let k = traceKey, let ns = namespace, let r = ns.index.lookup(Self.digest(k)) {
            let w = ns.storage.devices[Int(r.location.deviceIndex)].writer
            print("trace key \(k) at crash: \(r.location) buffered \(w.bufferedBlocks.sorted()) in flight \(w.steppedInFlight) stats \(w.statistics) device \(devices[Int(r.location.deviceIndex)].inFlightDescription)")
        }
        namespace = nil
        for d in devices { d.crash(powerLoss: powerLoss) }
        drainCompletions()
        // A buffered write is on the device within flush-max-ms; without a power loss that is
        // enough, and across one the flusher's sync, at most flush-max-ms later, makes it durable.
        let windowNs = UInt64((powerLoss ? 2 : 1) * flushMaxMs + 300) * 1_000_000
        let commit = commitToDevice
        // A write error stops the device's writes until restart: buffered writes after it wait
        // in memory and die with the process (commit-to-device ones were never acknowledged).
        let writeErrors = devices.reduce(0) { $0 + $1.counters.writeErrors }
        let bufferedPromise = writeErrors == writeErrorsAtStart
        writeErrorsAtStart = writeErrors
        restartContext = "after a \(powerLoss ? "power loss" : "process crash") at \(crashNs / 1_000_000) ms (flush window "
            + "\(windowNs / 1_000_000) ms, write errors \(writeErrors))"
        guard reopen(clean: false) else { return }
        check { e in
            switch e.kind {
            case .observed: return true
            case .truncated: return e.status == .acked  // a failed one may or may not have taken
            case .delete(durable: false): return false
            case .put, .delete(durable: true):
                return e.status == .acked && (commit || (bufferedPromise && crashNs >= e.issuedNs + windowNs))
            }
        }
    }

    /// A graceful stop (everything flushed, headers clean) and a warm restart: every write that
    /// did not fail must be there.
    private func cleanRestart() {
        guard let ns = namespace else { return }
        do { try ns.close() } catch {
            // A device error stops writes until restart: that restart is a crash's.
            namespace = nil
            drainCompletions()
            return crashAndRestart(powerLoss: false)
        }
        namespace = nil
        drainCompletions()
        writeErrorsAtStart = devices.reduce(0) { $0 + $1.counters.writeErrors }
        restartContext = "after a clean stop"
        guard reopen(clean: true) else { return }
        check { e in
            switch e.kind {
            case .truncated, .observed, .put, .delete(durable: true): return e.status != .failed
            case .delete(durable: false): return e.status != .failed
            }
        }
    }

    private func reopen(clean: Bool, firstOpen: Bool = false) -> Bool {
        blocksOpenedSeen = 0  // a new process's writers count from zero
        crashCountdown = nil
        var storage = StorageOptions(
            namespaceName: "sim", devices: (0..<devices.count).map { .init(path: "sim\($0)", fileSizeBytes: nil) },
            writeBlockSizeBytes: 128 << 10, partitionTreeSprigs: 16, flushMaxMs: flushMaxMs,
            commitToDevice: commitToDevice, writeQueueDepth: 4, readQueueDepth: 4,
            // One scan read in flight: a cold start's reader threads then draw from each device's seeded
            // generator in the same order whatever the parser's speed (the run replays).
            scanQueueDepth: 1, scanThreadCount: 1)
        let devices = self.devices
        storage.openDevice = { spec throws(IOError) in
            let i = Int(spec.path.dropFirst(3))!
            return BlockDevice.simulated(path: spec.path, medium: devices[i])
        }
        let clock = self.clock
        let random = namespaceRandom
        storage.simulation = StorageSimulation(clockNs: { clock.nowNs }, bugs: options.bugs, headerStep: headerStep,
                                               random: { random.next() })
        storage.defragSleepUs = 0
        var o = NamespaceOptions(storage: storage, indexEntryCountMax: 1 << 16,
                                 clockMs: { clock.wallMs },
                                 sharedMemory: SharedMemoryOptions(directory: shmDirectory, name: "sim"))
        o.nsupPeriodSeconds = 0
        o.backgroundDefrag = false
        if let e = eviction {
            o.indexEntryCountMax = EvictionSettings.indexEntryCountMax
            o.eviction = EvictionOptions(usedPct: e.usedPct, indexesMemoryPct: e.indexesMemoryPct, sysMemoryPct: e.sysMemoryPct,
                                         tenthsPct: e.tenthsPct, histBuckets: e.histBuckets)
            o.eviction.disableColdStartEviction = e.disableColdStartEviction
            if let set = e.exemptSet { o.setPolicies = [set: SetPolicy(disableEviction: true)] }
            let memory = self.memory
            o.systemMemoryUsedPct = { Double(memory.usedPct) }
        }
        o.deferTruncationSweeps = true
        // Injected read errors can fail a cold start's scan: a real operator restarts again. A
        // scan of two devices fails about one time in four at 0.2 % read errors, so eight
        // attempts all failed about once in 10^5 restarts (seed 5082 at 2,000 operations):
        // up to 32.
        let attempts = 32
        for attempt in 0..<attempts {
            openEpoch += 1
            defer {
                for d in devices { d.reseed(epoch: openEpoch) }
            }
            do {
                let ns = try Namespace.open(o)
                result.starts.append("after operation \(result.operations): \(ns.startReport.mode) ("
                                     + ns.startReport.reason.replacingOccurrences(of: shmDirectory, with: "<run's directory>") + ")")
                if !firstOpen {
                    if ns.startReport.mode == .warm { result.warmRestarts += 1 } else { result.coldRestarts += 1 }
                    if clean && ns.startReport.mode != .warm && !faults.destroysWrittenData && faults.writeErrorPPM == 0
                        && faults.readErrorPPM == 0 {
                        fail("a clean stop was followed by a \(ns.startReport.mode) start: \(ns.startReport.reason)")
                    }
                }
                namespace = ns
                return true
            } catch {
                result.starts.append("after operation \(result.operations): failed (\(error))")
                result.failedRestarts += 1
                markUncertain = true
                // Only injected faults may fail a start (and then only for a while).
                if attempt == attempts - 1 || (faults.readErrorPPM == 0 && faults.writeErrorPPM == 0 && !faults.destroysWrittenData) {
                    fail("restart failed: \(error)")
                    return false
                }
            }
        }
        return false
    }

    /// After a restart: every key holds an allowed state; index, block usage and free list agree.
    private func check(guaranteed: (SimulationModel.Event) -> Bool) {
        guard let ns = namespace else { return }
        let now = clock.voidTime
        let markBefore = model.mark
        let markWriteUncertain = markUncertain
        reconcileMark(ns)
        if result.failure != nil { return }
        // Keys absent only because the restart raised the eviction mark: no more than the cold
        // start says it evicted.
        var goneByRestartMark = 0
        for key in 0..<options.keyCount {
            var record: EngineRecord?
            var readError: (any Error)?
            for _ in 0..<4 {
                do {
                    record = try get(ns, Self.digest(key))
                    readError = nil
                    break
                } catch { readError = error }
            }
            if let readError {
                if tolerableReadError(readError) { continue }
                return fail("key \(key) after restart: read failed: \(readError)")
            }
            guard let seen = version(of: record, key: key) else { return }
            let allowed = model.allowedAfterRestart(key, nowVoidTime: now, guaranteed: guaranteed)
            if seen == nil && model.mark != markBefore
                && !model.allowedAfterRestart(key, nowVoidTime: now, mark: markBefore, guaranteed: guaranteed).contains(nil) {
                goneByRestartMark += 1
            }
            trace(key, "restart check: saw \(describe(seen)) allowed \(allowed.map(describe).sorted()) truncation \(ns.storage.truncation) lut \(record?.lastUpdateMs ?? 0)")
            if !allowed.contains(seen) && !faults.destroysWrittenData {
                return fail("key \(key) after restart: found \(describe(seen)), allowed \(allowed.map(describe).sorted()); "
                    + "history \(model.keys[key].events.map { "\($0.kind)/\($0.status)@\($0.issuedNs / 1_000_000)ms" }) \(restartContext)")
            }
            // With destructive faults (a misdirected write can put an old block's records
            // anywhere) only "never a value that was not written for this key" holds.
            if key == traceKey, let v = ProcessInfo.processInfo.environment["CAIRN_SIM_TRACE_VERSION"].flatMap({ UInt32($0) }) {
                let needle = Array(value(key: key, version: v, mask: 0).prefix(8))  // key and version
                trace(key, "copies of v\(v): " + devices.enumerated().map { "device \($0.offset) at \($0.element.offsets(of: needle))" }.joined(separator: "; "))
                for (di, d) in devices.enumerated() {
                    for at in d.offsets(of: needle) {
                        let blockSize = 128 << 10
                        let block = at / blockSize
                        let bytes = d.bytes(at: block * blockSize, count: blockSize)
                        var events: [String] = []
                        let report = bytes.withUnsafeBytes { raw in
                            BlockScanner.scan(blockUntrusted: raw, expecting: BlockScanExpectation(
                                namespaceInstanceId: ns.storage.instanceId, deviceIndex: UInt16(di), blockIndex: UInt32(block),
                                writeBlockSizeBytes: blockSize)) { e in
                                switch e {
                                case .record(let r): if abs(Int(r.offset) - (at % blockSize)) < 200 { events.append("record @\(r.offset)") }
                                case .damaged(let d): events.append("damaged @\(d.offset)+\(d.lengthBytes) \(d.reason)")
                                }
                            }
                        }
                        trace(key, "block \(block) of device \(di): \(report.outcome) stale \(report.staleRecordCount) events \(events)")
                    }
                }
            }
            model.settle(key, observed: seen, voidTime: record?.voidTime ?? 0, lut: record?.lastUpdateMs)
        }
        let evictedAtStart = ns.startReport.coldStart?.evicted ?? 0
        // As for each key above: with destructive faults a record can be gone because a fault
        // destroyed it (a misdirected or corrupted write), and under the new mark it is counted.
        if !markWriteUncertain && !faults.destroysWrittenData && goneByRestartMark > evictedAtStart {
            return fail("\(goneByRestartMark) acknowledged records are gone under the eviction mark a cold start raised, "
                        + "which reports \(evictedAtStart) evicted \(restartContext)")
        }
        checkInvariants(ns)
    }

    private func checkInvariants(_ ns: Namespace) {
        do { try ns.index.verifyInvariants() } catch { return fail("index invariant: \(error)") }
        let blockSize = ns.storage.options.writeBlockSizeBytes
        var live = ns.storage.devices.map { [Int](repeating: 0, count: $0.blockCount) }
        ns.index.forEachRecord { r in
            let b = Int(r.location.byteOffset / UInt64(blockSize))
            live[Int(r.location.deviceIndex)][b] += r.location.sizeBytes
        }
        for d in ns.storage.devices {
            let usage = d.usage.snapshot
            for b in 0..<d.blockCount where Int(usage[b]) != live[d.index][b] {
                return fail("device \(d.index) block \(b): usage says \(usage[b]) live bytes, the index \(live[d.index][b])")
            }
            let free = d.writer.freeBlockList
            for b in free where live[d.index][Int(b)] > 0 {
                return fail("device \(d.index): free block \(b) holds \(live[d.index][Int(b)]) live bytes")
            }
            // Once on the free list, and never while buffered: else two buffers hold one block.
            if Set(free).count != free.count {
                return fail("device \(d.index): a block is on the free list twice: \(free)")
            }
            let buffered = d.writer.bufferedBlocks
            for b in free where buffered.contains(b) {
                return fail("device \(d.index): free block \(b) is still buffered")
            }
        }
    }
}

extension [SimulatedDevice] {
    /// The I/O counters of all the devices, summed.
    var totalCounters: SimulatedDeviceCounters { reduce(SimulatedDeviceCounters()) { $0 + $1.counters } }
}
