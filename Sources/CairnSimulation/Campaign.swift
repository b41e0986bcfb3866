import CairnStorage
import Foundation

/// Many seeded runs, and the shrink of a failing one to its shortest failing prefix.
public enum SimulationCampaign {
    /// The shortest operation count (a prefix of the same seeded run) that still fails, by
    /// bisection between 1 and the failing run's length. The run is a function of its seed
    /// and length, so the shrunk run replays with `--seed S --operations N`.
    public static func shrink(_ options: SimulationOptions, failing: SimulationResult,
                              progress: (Int, SimulationResult) -> Void = { _, _ in }) -> SimulationResult {
        var best = failing
        var low = 0  // passes (or is empty)
        var high = (failing.failedAtOperation ?? options.operations) + 1  // fails
        high = min(high, options.operations)
        var o = options
        o.operations = high
        let confirm = Simulator(o).run()
        if confirm.failure != nil { best = confirm } else { return best }
        while high - low > 1 {
            let mid = (low + high) / 2
            o.operations = mid
            let r = Simulator(o).run()
            progress(mid, r)
            if r.failure != nil {
                high = mid
                best = r
            } else {
                low = mid
            }
        }
        return best
    }

    /// The seeds of a campaign: `count` consecutive seeds from `first` (a run hashes its seed).
    public static func seeds(first: UInt64, count: Int) -> [UInt64] {
        (0..<count).map { first &+ UInt64($0) }
    }
}
