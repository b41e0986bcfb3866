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

    @Option(help: "Reintroduce a fixed bug: idle-flusher, partial-flush-rewrite, header-race, volatile-eviction-mark, volatile-sequence-renewal, lost-delete-barrier or cold-start-drops-bin-names.")
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
        var commit: Bool?
        if let c = commitToDevice {
            guard c == "on" || c == "off" else { throw ValidationError("--commit-to-device takes on or off") }
            commit = c == "on"
        }
        let list = seed.map { [$0] } ?? SimulationCampaign.seeds(first: firstSeed, count: seeds)
        let start = Date()
        var runs = 0, ops = 0, crashes = 0, cold = 0, warm = 0, evictingCycles = 0, evicted = 0, coldStartEvicted = 0
        var failures: [SimulationResult] = []
        print("cairn-sim: \(list.count) run(s) of \(operations) operations" + (bugs.isEmpty ? "" : ", bugs: \(bug.joined(separator: ","))"))
        // Runs go in parallel (--jobs); their reports are taken in seed order.
        let results = RunResults(count: list.count)
        let budget = timeBudget, ops0 = operations, jobCount = max(1, min(jobs, list.count))
        let seedList = list
        let bugSet = bugs
        let commitSetting = commit
        let stopAtFailure = expectFailure
        let evictionRuns = eviction
        let oneBinRuns = oneBin
        let swarmRuns = swarm
        DispatchQueue.concurrentPerform(iterations: jobCount) { _ in
            while let i = results.claim() {
                if budget > 0 && Date().timeIntervalSince(start) > budget { break }
                let options = SimulationOptions(seed: seedList[i], operations: ops0, bugs: bugSet, commitToDevice: commitSetting,
                                                eviction: evictionRuns, oneBin: oneBinRuns, swarm: swarmRuns)
                results.store(i, Simulator(options).run())
                if stopAtFailure && results.anyFailure { break }
            }
        }
        for (i, s) in list.enumerated() {
            guard let r = results.result(i) else { continue }
            let options = SimulationOptions(seed: s, operations: operations, bugs: bugs, commitToDevice: commit,
                                            eviction: eviction, oneBin: oneBin, swarm: swarm)
            runs += 1
            ops += r.operations
            crashes += r.crashes
            cold += r.coldRestarts
            warm += r.warmRestarts
            evictingCycles += r.evictingCycles
            evicted += r.evicted
            coldStartEvicted += r.coldStartEvicted
            if let failure = r.failure {
                print("FAIL seed \(s) at operation \(r.failedAtOperation ?? -1) (commit-to-device \(r.commitToDevice), "
                      + "destructive faults \(r.destructiveFaults)"
                      + (r.headerStep.map { ", header step \($0)" } ?? "")
                      + (r.evictionSettings.map { ", \($0)" } ?? "") + (r.swarmSettings.map { ", \($0)" } ?? "")
                      + "): \(failure)")
                failures.append(r)
                if !noShrink {
                    let shrunk = SimulationCampaign.shrink(options, failing: r)
                    print("  shrunk: cairn-sim --seed \(s) --operations \(shrunk.operations)"
                          + bug.map { " --bug \($0)" }.joined() + (eviction ? " --eviction" : "") + (oneBin ? " --one-bin" : "")
                          + (swarm ? " --swarm" : "")
                          + ": \(shrunk.failure ?? "")")
                }
                if expectFailure { break }
            } else if seed != nil {
                print("seed \(s): ok (\(r.operations) operations, \(r.crashes) crashes, \(r.coldRestarts) cold and "
                      + "\(r.warmRestarts) warm restarts, commit-to-device \(r.commitToDevice), device \(r.device))"
                      + (r.evictionSettings.map { "; eviction: \($0); \(r.evictingCycles) evicting cycles, \(r.evicted) "
                          + "records evicted, \(r.coldStartEvicted) by cold starts" } ?? "")
                      + (r.swarmSettings.map { "; \($0)" } ?? ""))
            }
        }
        let seconds = max(0.001, Date().timeIntervalSince(start))
        print(String(format: "cairn-sim: %d runs, %d operations, %d crashes (%d cold, %d warm restarts) in %.1f s: "
                     + "%.0f crashes/min, %.0f operations/min; %d failing",
                     runs, ops, crashes, cold, warm, seconds, Double(crashes) * 60 / seconds, Double(ops) * 60 / seconds,
                     failures.count))
        if eviction {
            print("cairn-sim: eviction: \(evictingCycles) evicting nsup cycles, \(evicted) records evicted by them, "
                  + "\(coldStartEvicted) by cold starts")
        }
        if expectFailure {
            if failures.isEmpty { throw ExitCode(1) }
            return
        }
        if !failures.isEmpty { throw ExitCode(1) }
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
