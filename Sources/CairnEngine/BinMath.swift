import CairnStorage

/// Bin updates of `operate`: set, increment, append/prepend, with Aerospike's type rules.
enum BinMath {
    static let binNameBytesMax = 15

    /// At most 15 bytes; an empty name is allowed, as Aerospike allows it.
    static func checkName(_ name: String) throws {
        guard name.utf8.count <= binNameBytesMax else {
            throw EngineError(.binNameTooLong, "bin name '\(name)' must be at most \(binNameBytesMax) bytes")
        }
    }

    static func set(_ bins: inout [StoredBin], _ bin: StoredBin) {
        if let i = bins.firstIndex(where: { $0.name == bin.name }) { bins[i] = bin } else { bins.append(bin) }
    }

    static func increment(_ bins: inout [StoredBin], name: String, by delta: Int64) throws {
        try checkName(name)
        guard let i = bins.firstIndex(where: { $0.name == name }) else {
            bins.append(StoredBin(name: name, particleType: .integer, bytes: bigEndian(UInt64(bitPattern: delta))))
            return
        }
        guard bins[i].particleType == .integer, bins[i].bytes.count == 8 else {
            throw EngineError(.binTypeError, "bin '\(name)' is \(bins[i].particleType), not an integer")
        }
        let value = Int64(bitPattern: fromBigEndian(bins[i].bytes))
        bins[i].bytes = bigEndian(UInt64(bitPattern: value &+ delta))
    }

    static func increment(_ bins: inout [StoredBin], name: String, by delta: Double) throws {
        try checkName(name)
        guard let i = bins.firstIndex(where: { $0.name == name }) else {
            bins.append(StoredBin(name: name, particleType: .float, bytes: bigEndian(delta.bitPattern)))
            return
        }
        guard bins[i].particleType == .float, bins[i].bytes.count == 8 else {
            throw EngineError(.binTypeError, "bin '\(name)' is \(bins[i].particleType), not a float")
        }
        let value = Double(bitPattern: fromBigEndian(bins[i].bytes))
        bins[i].bytes = bigEndian((value + delta).bitPattern)
    }

    static func concatenate(_ bins: inout [StoredBin], name: String, type: ParticleType, bytes: [UInt8], prepend: Bool) throws {
        try checkName(name)
        guard type == .string || type == .blob else {
            throw EngineError(.binTypeError, "append/prepend takes a string or blob, got \(type)")
        }
        guard let i = bins.firstIndex(where: { $0.name == name }) else {
            bins.append(StoredBin(name: name, particleType: type, bytes: bytes))
            return
        }
        guard bins[i].particleType == type else {
            throw EngineError(.binTypeError, "bin '\(name)' is \(bins[i].particleType), cannot append \(type)")
        }
        bins[i].bytes = prepend ? bytes + bins[i].bytes : bins[i].bytes + bytes
    }

    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }

    static func fromBigEndian(_ b: [UInt8]) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }
}
