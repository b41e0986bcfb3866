import CLiburing
import Glibc

/// The CPUs a thread may run on, and pinning a thread to one of them (`auto-pin cpu`).
public enum CPUAffinity {
    /// The CPUs the calling thread may run on (its affinity mask, which `taskset`, systemd's
    /// `CPUAffinity=` and cgroup cpusets narrow), in ascending order.
    public static func allowedCPUs() throws(AffinityError) -> [Int] {
        var capacity = 64
        while true {
            var cpus = [Int32](repeating: 0, count: capacity)
            let count = cpus.withUnsafeMutableBufferPointer { cairn_allowed_cpus($0.baseAddress, Int32($0.count)) }
            if count < 0 { throw AffinityError(what: "sched_getaffinity", errno: -count) }
            if Int(count) <= capacity { return cpus.prefix(Int(count)).map(Int.init) }
            capacity = Int(count)
        }
    }

    /// Pins the calling thread to `cpu` (it then runs on no other).
    public static func pinCurrentThread(to cpu: Int) throws(AffinityError) {
        let result = cairn_pin_current_thread(Int32(clamping: cpu))
        if result != 0 { throw AffinityError(what: "cannot pin to CPU \(cpu)", errno: -result) }
    }

    /// A failed affinity call, with the system's reason (for a pin: the CPU is offline or
    /// outside the process's cpuset).
    public struct AffinityError: Error, Sendable, CustomStringConvertible {
        public let what: String
        public let errno: Int32
        public var description: String { "\(what): \(String(cString: strerror(errno)))" }
    }
}
