import ArgumentParser
import CairnSimulation
import CairnStorage
import Foundation

/// `cairn-sim`: the deterministic simulator as a tool. Prints the seed of every failing run,
/// shrinks it, and replays one run with `--seed`.
@main
struct CairnSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-sim",
        abstract: "Runs the storage engine over simulated faulty devices with seeded crashes and checks what survives.")

    @Option(help: "Runs to do (seeds from --first-seed).")
    var seeds: Int = 100

    @Option(help: "The first seed of a campaign.")
    var firstSeed: UInt64 = 1

    @Option(help: "Replay exactly this seed (one run).")
    var seed: UInt64?

    @Option(help: "Stop starting new runs after this many seconds (0: no limit).")
    var timeBudget: Double = 0

    @Option(help: "Operations per run.")
    var operations: Int = 600

    @Option(help: "Reintroduce a fixed bug (repeatable): \(ReintroducedBugs.all.map(\.name).joined(separator: ", ")).")
    var bug: [String] = []

    @Option(help: "Force commit-to-device: on or off (default: the seed picks).")
    var commitToDevice: String?

    @Option(help: "Runs at once (threads; each run is single-threaded and independent).")
    var jobs: Int = 1

    @Flag(help: "Eviction runs: small devices, eviction thresholds the seed picks, every nsup cycle checked.")
    var eviction = false

    @Flag(help: "Records of one bin, as runs had before they had several: replays a seed found then.")
    var oneBin = false

    @Flag(help: "Swarm runs: each seed leaves some kinds of step out, weighs the others, and narrows the keys.")
    var swarm = false

    @Flag(help: "The seed also picks each fault's rate (none to four or ten times the usual); combines with --swarm.")
    var swarmFaults = false

    @Flag(help: "Power losses keep any of a device's unsynced pages, each one or not (default: --swarm-faults picks it in half the seeds, else off).")
    var anyOrder = false

    @Flag(help: "Turnover runs: records up to 24 KiB and a tenth of the crashes, so blocks fill, empty and are reused within one process's life.")
    var turnover = false

    @Option(help: "The device header's step for every seed: sequences reserved and blocks covered per header write (default: three seeds in seven pick 2-8, the others 64).")
    var headerStep: Int?

    @Option(help: "Devices per namespace for every seed, 1 or 2 (default: the seed picks).")
    var devices: Int?

    @Flag(help: "After a step that opens a block, one time in two a crash or power loss follows within 1-8 steps.")
    var crashNearOpenings = false

    @Flag(help: "One step in 16 becomes 3-8 writes, deletes, touches and reads of one key within one millisecond.")
    var bursts = false

    @Flag(help: "Run every seed twice and fail a seed whose two runs differ (counts, failure or device bytes).")
    var checkReplay = false

    @Flag(help: "Do not shrink a failing run.")
    var noShrink = false

    @Flag(help: "Exit 0 when a run fails and 1 when none does (proving a reintroduced bug is found).")
    var expectFailure = false

    mutating func run() throws {
        Self.makeHashingDeterministic()
        var bugs = ReintroducedBugs()
        for name in bug {
            guard let b = ReintroducedBugs.all.first(where: { $0.name == name }) else {
                throw ValidationError("unknown bug '\(name)': one of \(ReintroducedBugs.all.map(\.name).joined(separator: ", "))")
            }
            bugs.insert(b.bug)
        }
        if let h = headerStep, h < 1 { throw ValidationError("--header-step takes 1 or more, not \(h)") }
        if let d = devices, !(1...2).contains(d) { throw ValidationError("--devices takes 1 or 2, not \(d)") }
        var commit: Bool?
        if let c = commitToDevice {
            guard c == "on" || c == "off" else { throw ValidationError("--commit-to-device takes on or off") }
            commit = c == "on"
        }
        let list = seed.map { [$0] } ?? SimulationCampaign.seeds(first: firstSeed, count: seeds)
        let start = Date()
        var runs = 0, ops = 0, crashes = 0, cold = 0, warm = 0, evictingCycles = 0, evicted = 0, coldStartEvicted = 0
        var failures: [SimulationResult] = []
        var replayMismatches = 0
        print("cairn-sim: \(list.count) run(s) of \(operations) operations" + (bugs.isEmpty ? "" : ", bugs: \(bug.joined(separator: ","))")
              + (checkReplay ? ", each run twice" : ""))
        // Runs go in parallel (--jobs); their reports are taken in seed order. With
        // --check-replay each seed runs twice, as neighbours, so the two often run at once.
        let copies = checkReplay ? 2 : 1
        let results = RunResults(count: list.count * copies)
        let budget = timeBudget, jobCount = max(1, min(jobs, list.count * copies))
        let seedList = list
        let makeOptions = optionsMaker(bugs: bugs, commitToDevice: commit)
        let stopAtFailure = expectFailure
        DispatchQueue.concurrentPerform(iterations: jobCount) { _ in
            while let i = results.claim() {
                if budget > 0 && Date().timeIntervalSince(start) > budget { break }
                results.store(i, Simulator(makeOptions(seedList[i / copies])).run())
                if stopAtFailure && results.anyFailure { break }
            }
        }
        for (i, s) in list.enumerated() {
            guard let r = results.result(i * copies) else { continue }
            runs += 1
            ops += r.operations
            crashes += r.crashes
            cold += r.coldRestarts
            warm += r.warmRestarts
            evictingCycles += r.evictingCycles
            evicted += r.evicted
            coldStartEvicted += r.coldStartEvicted
            if copies == 2, let again = results.result(i * copies + 1) {
                let differences = r.replayDifferences(again)
                if !differences.isEmpty {
                    replayMismatches += 1
                    print("REPLAY DIFFERS seed \(s): " + differences.joined(separator: "\n  "))
                }
            }
            if let failure = r.failure {
                print("FAIL seed \(s) at operation \(r.failedAtOperation ?? -1) (commit-to-device \(r.commitToDevice), "
                      + "destructive faults \(r.destructiveFaults)"
                      + (r.headerStep.map { ", header step \($0)" } ?? "")
                      + (r.evictionSettings.map { ", \($0)" } ?? "") + (r.swarmSettings.map { ", \($0)" } ?? "")
                      + (r.swarmedFaults.map { ", \($0)" } ?? "") + "): \(failure)")
                failures.append(r)
                if !noShrink {
                    let shrunk = SimulationCampaign.shrink(makeOptions(s), failing: r)
                    print("  shrunk: cairn-sim --seed \(s) --operations \(shrunk.operations)\(runFlags): \(shrunk.failure ?? "")")
                }
                if expectFailure { break }
            } else if seed != nil {
                print("seed \(s): ok (\(r.operations) operations, \(r.crashes) crashes, \(r.coldRestarts) cold and "
                      + "\(r.warmRestarts) warm restarts, commit-to-device \(r.commitToDevice), device \(r.device), device bytes "
                      + r.deviceContentHashes.map { String($0, radix: 16) }.joined(separator: ",") + ")"
                      + (r.evictionSettings.map { "; eviction: \($0); \(r.evictingCycles) evicting cycles, \(r.evicted) "
                          + "records evicted, \(r.coldStartEvicted) by cold starts" } ?? "")
                      + (r.swarmSettings.map { "; \($0)" } ?? "") + (r.swarmedFaults.map { "; \($0)" } ?? ""))
            }
        }
        let seconds = max(0.001, Date().timeIntervalSince(start))
        print(String(format: "cairn-sim: %d runs, %d operations, %d crashes (%d cold, %d warm restarts) in %.1f s: "
                     + "%.0f crashes/min, %.0f operations/min; %d failing",
                     runs, ops, crashes, cold, warm, seconds, Double(crashes) * 60 / seconds, Double(ops) * 60 / seconds,
                     failures.count))
        if checkReplay { print("cairn-sim: \(replayMismatches) of \(runs) seeds replayed differently") }
        if eviction {
            print("cairn-sim: eviction: \(evictingCycles) evicting nsup cycles, \(evicted) records evicted by them, "
                  + "\(coldStartEvicted) by cold starts")
        }
        if expectFailure {
            if failures.isEmpty { throw ExitCode(1) }
            return
        }
        if !failures.isEmpty || replayMismatches > 0 { throw ExitCode(1) }
    }

    /// The options of one run of this campaign (its seed's), the same for the run and its shrink.
    func optionsMaker(bugs: ReintroducedBugs, commitToDevice: Bool?) -> @Sendable (UInt64) -> SimulationOptions {
        let operations = operations, eviction = eviction, oneBin = oneBin, swarm = swarm, swarmFaults = swarmFaults
        let anyOrder: Bool? = anyOrder ? true : nil, turnover = turnover, headerStep = headerStep, devices = devices
        let crashNearOpenings = crashNearOpenings, checkReplay = checkReplay, bursts = bursts
        return { seed in
            var o = SimulationOptions(seed: seed, operations: operations, deviceCount: devices, bugs: bugs,
                                      commitToDevice: commitToDevice, eviction: eviction, oneBin: oneBin, swarm: swarm,
                                      swarmFaults: swarmFaults, unsyncedPagesInAnyOrder: anyOrder, turnover: turnover,
                                      headerStep: headerStep, crashNearOpenings: crashNearOpenings, bursts: bursts)
            o.recordsReplayTrace = checkReplay
            return o
        }
    }

    /// The flags a replay of one failing run needs besides its seed and length.
    var runFlags: String {
        bug.map { " --bug \($0)" }.joined() + (commitToDevice.map { " --commit-to-device \($0)" } ?? "")
            + (eviction ? " --eviction" : "") + (oneBin ? " --one-bin" : "") + (swarm ? " --swarm" : "")
            + (swarmFaults ? " --swarm-faults" : "") + (anyOrder ? " --any-order" : "") + (turnover ? " --turnover" : "")
            + (headerStep.map { " --header-step \($0)" } ?? "") + (devices.map { " --devices \($0)" } ?? "")
            + (crashNearOpenings ? " --crash-near-openings" : "") + (bursts ? " --bursts" : "")
    }

    /// Swift seeds its hash tables per process, so a Dictionary's order (which the engine's
    /// choices can follow) differs between two runs of one seed. SWIFT_DETERMINISTIC_HASHING
    /// fixes it, but only when set before the process starts: set it and start again.
    static func makeHashingDeterministic() {
        guard ProcessInfo.processInfo.environment["SWIFT_DETERMINISTIC_HASHING"] == nil else { return }
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // Still here: exec failed; runs are then replayable only within one process.
        FileHandle.standardError.write("cairn-sim: could not restart with deterministic hashing (errno \(errno))\n".data(using: .utf8)!)
    }
}

/// The campaign's runs, claimed by index and stored as they finish (any thread).
final class RunResults: @unchecked Sendable {
    // @unchecked: every field is touched only with `lock` held.
    private let lock = NSLock()
    private var next = 0
    private var results: [SimulationResult?]
    private(set) var failed = false

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < results.count else { return nil }
        next += 1
        return next - 1
    }

    func store(_ i: Int, _ r: SimulationResult) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
        if r.failure != nil { failed = true }
    }

    var anyFailure: Bool { lock.lock(); defer { lock.unlock() }; return failed }
    func result(_ i: Int) -> SimulationResult? { lock.lock(); defer { lock.unlock() }; return results[i] }
}
