import CairnEngine
import CairnIndex
import CairnWire

/// `histogram:namespace=NS;type=ttl|object-size|object-size-linear[;set=SET]`: the distribution of
/// the live records' TTLs (seconds left) or stored sizes (bytes), in Aerospike's forms, which
/// asadm's `show distribution` reads: linear (`ttl`, `object-size-linear`)
/// `units=…:hist-width=…:bucket-width=…:buckets=c0,c1,…,c99`, and for `object-size` powers of two
/// `units=bytes:[16-32)=c:[32-64)=c:…:[1K-2K)=c…` (asadm `show distribution object_size -b`).
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
        guard ["ttl", "object-size", "object-size-linear"].contains(type) else {
            return InfoReply.errorValue(.parameter, message: "type must be ttl, object-size or object-size-linear")
        }
        var setID: UInt16?
        if let set = command.parameter("set") {
            guard let id = namespace.existingSetID(for: set) else {
                if type == "object-size" { return renderPowersOfTwo(values: []) }
                return render(units: type == "ttl" ? "seconds" : "bytes", values: [], granularity: type == "ttl" ? 1 : 16)
            }
            setID = id
        }
        let now = UInt32(truncatingIfNeeded: namespace.options.clockMs() / 1000)
        var values: [UInt64] = []
        namespace.forEachIndexEntry { r in
            if let setID, r.setID != setID { return }
            guard namespace.isLiveRecord(r) else { return }
            if type == "ttl" {
                if r.voidTimeSeconds != 0 { values.append(UInt64(r.voidTimeSeconds - min(r.voidTimeSeconds, now))) }
            } else {
                values.append(UInt64(r.location.sizeBytes))
            }
        }
        switch type {
        case "ttl": return render(units: "seconds", values: values, granularity: 1)
        case "object-size": return renderPowersOfTwo(values: values)
        default: return render(units: "bytes", values: values, granularity: 16)
        }
    }

    /// Buckets [2^k, 2^(k+1)) bytes from 16 bytes (smaller sizes count in the first) up to the
    /// largest size held, named as Aerospike names them (`[512-1K)`, `[1M-2M)`).
    static func renderPowersOfTwo(values: [UInt64]) -> String {
        let firstExponent = 4
        var counts: [UInt64] = []
        for v in values {
            let exponent = max(firstExponent, 63 - max(1, v).leadingZeroBitCount)
            let index = exponent - firstExponent
            if counts.count <= index { counts += [UInt64](repeating: 0, count: index + 1 - counts.count) }
            counts[index] += 1
        }
        if counts.isEmpty { counts = [0] }
        var text = "units=bytes"
        for (index, count) in counts.enumerated() {
            let low = UInt64(1) << (index + firstExponent)
            text += ":[\(sizeName(low))-\(sizeName(low * 2)))=\(count)"
        }
        return text
    }

    /// 512, 1K, 2M: a power of two with Aerospike's unit suffix.
    static func sizeName(_ bytes: UInt64) -> String {
        for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes >= UInt64(1) << shift {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)"
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
