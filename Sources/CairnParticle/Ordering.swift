/// Aerospike's total order over values of mixed types (used by ordered lists and maps, ranks,
/// value ranges and sorting).
///
/// Types order first: nil < bool < integer < string < list < map < blob < double < GeoJSON <
/// infinity. Within a type: false < true; integers and doubles by value; strings and blobs
/// byte-wise, then the shorter first; lists element by element, then the shorter first; maps
/// the smaller first, then pair by pair (key, then value) in stored order. The wildcard
/// compares equal to anything, and a list or map stops comparing at a wildcard element.
extension Value {
    /// Aerospike's type rank (its as_val_t numbering).
    var typeRank: Int {
        switch self {
        case .null: 1
        case .bool: 2
        case .int: 3
        case .string: 4
        case .list: 5
        case .map: 6
        case .blob: 9
        case .double: 10
        case .geojson: 11
        case .ext: 12
        case .wildcard: 0
        case .infinity: 14
        }
    }

    /// -1, 0 or 1.
    public static func compare(_ a: Value, _ b: Value) -> Int {
        compareStopping(a, b).order
    }

    /// The order, and whether a wildcard ended the comparison (then the enclosing list stops).
    private static func compareStopping(_ a: Value, _ b: Value) -> (order: Int, wildcard: Bool) {
        if case .wildcard = a { return (0, true) }
        if case .wildcard = b { return (0, true) }
        let ra = a.typeRank, rb = b.typeRank
        if ra != rb { return (ra < rb ? -1 : 1, false) }
        switch (a, b) {
        case (.bool(let x), .bool(let y)): return (x == y ? 0 : (x ? 1 : -1), false)
        case (.int(let x), .int(let y)): return (x < y ? -1 : (x > y ? 1 : 0), false)
        case (.double(let x), .double(let y)): return (x < y ? -1 : (x > y ? 1 : 0), false)
        case (.string(let x), .string(let y)), (.geojson(let x), .geojson(let y)):
            return (bytes(x, y), false)
        case (.blob(_, let x), .blob(_, let y)): return (bytes(x, y), false)
        case (.ext(_, let x), .ext(_, let y)): return (bytes(x, y), false)
        case (.list(let x, _), .list(let y, _)):
            for i in 0..<min(x.count, y.count) {
                let c = compareStopping(x[i], y[i])
                if c.order != 0 || c.wildcard { return (c.order, c.wildcard) }
            }
            return (x.count < y.count ? -1 : (x.count > y.count ? 1 : 0), false)
        case (.map(let x, _), .map(let y, _)):
            if x.count != y.count { return (x.count < y.count ? -1 : 1, false) }
            for i in 0..<x.count {
                let k = compareStopping(x[i].key, y[i].key)
                if k.order != 0 || k.wildcard { return (k.order, k.wildcard) }
                let v = compareStopping(x[i].value, y[i].value)
                if v.order != 0 || v.wildcard { return (v.order, v.wildcard) }
            }
            return (0, false)
        default:
            return (0, false)  // null vs null, infinity vs infinity
        }
    }

    private static func bytes(_ x: Bytes, _ y: Bytes) -> Int {
        var i = x.startIndex, j = y.startIndex
        while i < x.endIndex && j < y.endIndex {
            if x[i] != y[j] { return x[i] < y[j] ? -1 : 1 }
            i += 1
            j += 1
        }
        return x.count < y.count ? -1 : (x.count > y.count ? 1 : 0)
    }

    public static func < (a: Value, b: Value) -> Bool { compare(a, b) < 0 }

    /// Whether two values are equal in Aerospike's order (used for value matching).
    public func orderEquals(_ other: Value) -> Bool { Value.compare(self, other) == 0 }
}
