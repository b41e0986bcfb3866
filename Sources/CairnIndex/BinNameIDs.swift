/// The names of a record's bins, as ids in its namespace's bin-name table, for a record of one
/// to four bins; or unknown. Kept in the index so that a write which replaces every bin of a
/// record (the usual update of a one-bin record) need not read the old copy to merge it.
///
/// Four 16-bit lanes of one `UInt64`: the ids (1...65535) fill the lanes from the lowest, and
/// the lanes after the last id are zero. Zero in all four lanes is ``unknown``: a record of more
/// than four bins or with a stored key when the cold start scanned it, one written before the
/// index kept the names, or one with a name the table could not hold. Unknown only costs the read.
///
/// What an id means is the namespace's business (its table survives a warm restart with the
/// index); the index stores and checks only the shape.
public struct BinNameIDs: Sendable, Hashable {
    public static let laneCount = 4
    public static let unknown = BinNameIDs(uncheckedRawValue: 0)

    public private(set) var rawValue: UInt64

    init(uncheckedRawValue: UInt64) { rawValue = uncheckedRawValue }

    /// Whether the ids are known (else the bins must be read to learn them).
    @inlinable public var isKnown: Bool { rawValue != 0 }

    /// How many ids there are (0 when unknown).
    public var count: Int {
        var n = 0
        while n < BinNameIDs.laneCount && id(inLane: n) != 0 { n += 1 }
        return n
    }

    /// The id in `lane` (0 past the last id).
    @inlinable public func id(inLane lane: Int) -> UInt16 {
        precondition(lane >= 0 && lane < BinNameIDs.laneCount, "bin-name lane \(lane)")
        return UInt16(truncatingIfNeeded: rawValue >> (16 * UInt64(lane)))
    }

    /// Adds `id` in the next lane, starting from ``unknown`` (no ids); false, changing nothing,
    /// when the four lanes are taken, `id` is 0 or already there.
    public mutating func insert(_ id: UInt16) -> Bool {
        guard id != 0 else { return false }
        for lane in 0..<BinNameIDs.laneCount {
            let held = self.id(inLane: lane)
            if held == id { return false }
            if held == 0 {
                rawValue |= UInt64(id) << (16 * UInt64(lane))
                return true
            }
        }
        return false
    }

    /// Ids packed from the lowest lane, no zero lane before an id, no id twice (or all zero).
    var isCanonical: Bool {
        var seenEnd = false
        for lane in 0..<BinNameIDs.laneCount {
            let id = id(inLane: lane)
            if id == 0 { seenEnd = true; continue }
            if seenEnd { return false }
            for earlier in 0..<lane where self.id(inLane: earlier) == id { return false }
        }
        return true
    }
}
