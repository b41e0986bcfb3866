import CairnEngine
import CairnIndex
import CairnWire

/// `histogram:namespace=NS;type=ttl|object-size[;set=SET]`: the distribution of the live records'
/// TTLs (seconds left) or stored sizes (bytes), in Aerospike's form, which asadm's
/// `show distribution` reads: `units=…:hist-width=…:bucket-width=…:buckets=c0,c1,…,c99`.
/// Walks the namespace's index (runs on the thread pool).
enum InfoHistograms {
    static let bucketCount = 100

    static func value(_ command: InfoCommand, context: ServerContext) -> String {
        guard let name = command.parameter("namespace") ?? command.parameter("ns") else {
            return InfoReply.errorValue(.parameter, message: "missing namespace")
        }
        guard let namespace = context.namespaces[name] else {
            return InfoReply.errorValue(.namespaceNotFound, message: "unknown namespace \(name)")
        }
        let type = command.parameter("type") ?? ""
        guard type == "ttl" || type == "object-size" else {
            return InfoReply.errorValue(.parameter, message: "type must be ttl or object-size")
        }
        var setID: UInt16?
        if let set = command.parameter("set") {
            guard let id = namespace.sets.existingID(for: set) else {
                return render(units: type == "ttl" ? "seconds" : "bytes", values: [], granularity: type == "ttl" ? 1 : 16)
            }
            setID = id
        }
        let now = UInt32(truncatingIfNeeded: namespace.options.clockMs() / 1000)
        var values: [UInt64] = []
        namespace.index.forEachRecord { r in
            if let setID, r.setID != setID { return }
            guard namespace.isLiveRecord(r) else { return }
            if type == "ttl" {
                if r.voidTimeSeconds != 0 { values.append(UInt64(r.voidTimeSeconds - min(r.voidTimeSeconds, now))) }
            } else {
                values.append(UInt64(r.location.sizeBytes))
            }
        }
        return type == "ttl" ? render(units: "seconds", values: values, granularity: 1)
            : render(units: "bytes", values: values, granularity: 16)
    }

    /// 100 buckets of a width (a multiple of `granularity`) that covers the largest value.
    static func render(units: String, values: [UInt64], granularity: UInt64) -> String {
        let largest = values.max() ?? 0
        var width = max(1, (largest + UInt64(bucketCount)) / UInt64(bucketCount))
        width = (width + granularity - 1) / granularity * granularity
        var buckets = [UInt64](repeating: 0, count: bucketCount)
        for v in values { buckets[min(bucketCount - 1, Int(v / width))] += 1 }
        return "units=\(units):hist-width=\(width * UInt64(bucketCount)):bucket-width=\(width):buckets="
            + buckets.map(String.init).joined(separator: ",")
    }
}
