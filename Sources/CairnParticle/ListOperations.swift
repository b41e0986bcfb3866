/// List flags kept in an ordered list's leading ext element.
public enum ListFlags {
    public static let ordered: UInt8 = 0x01
    /// Persisted index: accepted and dropped. Aerospike keeps the index to itself and never
    /// returns the flag; Cairn builds its order in memory per operation, so storing nothing of it
    /// gives the bytes Aerospike returns.
    public static let persistIndex: UInt8 = 0x10
}

/// List write flags (policy).
public struct ListWriteFlags: OptionSet, Sendable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static let addUnique = ListWriteFlags(rawValue: 1)
    public static let insertBounded = ListWriteFlags(rawValue: 2)
    public static let noFail = ListWriteFlags(rawValue: 4)
    public static let partial = ListWriteFlags(rawValue: 8)
}

/// What a get/remove-by operation returns (the low bits; INVERTED is 0x10000).
public enum ReturnType: Int64, Sendable {
    case none = 0
    case index = 1
    case reverseIndex = 2
    case rank = 3
    case reverseRank = 4
    case count = 5
    case key = 6
    case value = 7
    case keyValue = 8
    case exists = 13
    case unorderedMap = 16
    case orderedMap = 17

    public static let inverted: Int64 = 0x10000
}

/// The list commands (op codes 0 ..< 64).
public enum ListCommand: Int, Sendable {
    case setType = 0, append = 1, appendItems = 2, insert = 3, insertItems = 4
    case pop = 5, popRange = 6, remove = 7, removeRange = 8, set = 9, trim = 10, clear = 11
    case increment = 12, sort = 13
    case size = 16, get = 17, getRange = 18
    case getByIndex = 19, getByRank = 21, getByValue = 22, getByValueList = 23
    case getByIndexRange = 24, getByValueInterval = 25, getByRankRange = 26, getByValueRelRankRange = 27
    case removeByIndex = 32, removeByRank = 34, removeByValue = 35, removeByValueList = 36
    case removeByIndexRange = 37, removeByValueInterval = 38, removeByRankRange = 39, removeByValueRelRankRange = 40

    public var isWrite: Bool {
        switch self {
        case .size, .get, .getRange, .getByIndex, .getByRank, .getByValue, .getByValueList, .getByIndexRange,
            .getByValueInterval, .getByRankRange, .getByValueRelRankRange:
            false
        default: true
        }
    }
}

/// The list operations, on a decoded list.
enum ListExecutor {
    /// Values an append, insert or set stores, checked and made canonical as Aerospike's
    /// list_append / list_insert / list_set rewrite them (a range operand, an ordered list out of
    /// order, a map with a key twice or of an invalid type: 4).
    static func storable(_ values: [Value]) throws(CDTError) -> [Value] {
        var out: [Value] = []
        out.reserveCapacity(values.count)
        for v in values {
            do {
                out.append(try CollectionFromClient.checked(v))
            } catch {
                throw .param("list value: \(error)")
            }
        }
        return out
    }

    /// The most elements padding may create (a record cannot hold more nils anyway).
    static let elementsMax: Int64 = 1 << 23

    /// Stable sort in Aerospike's order.
    static func sorted(_ items: [Value]) -> [Value] {
        rankOrder(items).map { items[$0] }
    }

    /// The first position in the ordered `items` whose value is above `v`.
    static func upperBound(_ items: [Value], _ v: Value) -> Int {
        var low = 0, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if Value.compare(items[mid], v) <= 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Indexes of `items` in rank order (ties keep index order).
    static func rankOrder(_ items: [Value]) -> [Int] {
        items.indices.sorted { a, b in
            let c = Value.compare(items[a], items[b])
            return c != 0 ? c < 0 : a < b
        }
    }

    /// The rank of each element (inverse of `rankOrder`).
    static func ranks(_ items: [Value]) -> [Int] {
        var r = [Int](repeating: 0, count: items.count)
        for (rank, i) in rankOrder(items).enumerated() { r[i] = rank }
        return r
    }

    // MARK: - arguments

    struct Args {
        let values: [Value]
        let name: String

        func count(_ min: Int, _ max: Int) throws(CDTError) {
            guard values.count >= min && values.count <= max else {
                throw .param("\(name) takes \(min)...\(max) arguments, got \(values.count)")
            }
        }

        func int(_ i: Int) throws(CDTError) -> Int64 {
            guard i < values.count, case .int(let v) = values[i] else { throw .param("argument \(i) is not an integer") }
            return v
        }

        func optionalInt(_ i: Int) throws(CDTError) -> Int64? { i < values.count ? try int(i) : nil }

        /// A count argument: packed unsigned, so a negative integer means "very large".
        func optionalCount(_ i: Int) throws(CDTError) -> Int64? {
            guard let v = try optionalInt(i) else { return nil }
            return v < 0 ? Int64.max : v
        }

        func value(_ i: Int) throws(CDTError) -> Value {
            guard i < values.count else { throw .param("missing argument \(i)") }
            return values[i]
        }

        func list(_ i: Int) throws(CDTError) -> [Value] {
            guard i < values.count, case .list(let items, _) = values[i] else { throw .param("argument \(i) is not a list") }
            return items
        }

        func flags(_ i: Int) throws(CDTError) -> ListWriteFlags {
            ListWriteFlags(rawValue: try optionalInt(i) ?? 0)
        }

        func returnType() throws(CDTError) -> (ReturnType, Bool) {
            let raw = try int(0)
            let inverted = raw & ReturnType.inverted != 0
            guard let rt = ReturnType(rawValue: raw & ~ReturnType.inverted) else { throw .param("return type \(raw)") }
            switch rt {
            case .key, .keyValue, .orderedMap, .unorderedMap: throw .param("return type \(rt) is for maps")
            default: return (rt, inverted)
            }
        }
    }

    // MARK: - run

    /// Runs `command` on `target` (nil: the bin or element does not exist). Writes update
    /// `target`; the result is nil when the command returns nothing.
    static func run(_ command: ListCommand, args raw: [Value], target: inout Value?) throws(CDTError) -> Value? {
        let a = Args(values: raw, name: "list command \(command.rawValue)")
        var items: [Value]
        var flags: UInt8
        switch target {
        case .list(let i, let f)?:
            items = i
            flags = f
        case nil:
            items = []
            flags = 0
        default:
            throw CDTError(CDTError.binTypeError, "list operation on a non-list")
        }
        let exists = target != nil
        let ordered = flags & ListFlags.ordered != 0
        func store() { target = .list(items, flags: flags) }

        switch command {
        case .setType:
            try a.count(1, 2)
            let f = try a.int(0)
            flags = UInt8(truncatingIfNeeded: f) & ListFlags.ordered
            if flags & ListFlags.ordered != 0 { items = sorted(items) }
            store()
            return nil

        case .append, .appendItems:
            try a.count(1, 3)
            let newItems = try storable(command == .append ? [try a.value(0)] : try a.list(0))
            let wf = try a.flags(2)
            if !exists, let order = try a.optionalInt(1) {
                flags = UInt8(truncatingIfNeeded: order) & ListFlags.ordered
            }
            guard let accepted = try unique(newItems, into: items, flags: wf) else { return .int(Int64(items.count)) }
            if flags & ListFlags.ordered != 0 {
                if exists && ordered {
                    // Already in order: each new value goes after its equals (binary search).
                    for v in accepted { items.insert(v, at: upperBound(items, v)) }
                } else {
                    items = sorted(items + accepted)
                }
            } else {
                items += accepted
            }
            store()
            return .int(Int64(items.count))

        case .insert, .insertItems:
            try a.count(2, 3)
            let index = try a.int(0)
            let newItems = try storable(command == .insert ? [try a.value(1)] : try a.list(1))
            let wf = try a.flags(2)
            if ordered { throw .param("insert into an ordered list") }
            let n = Int64(items.count)
            var at = index < 0 ? index + n : index
            if at < 0 || (wf.contains(.insertBounded) && at > n) {
                if wf.contains(.noFail) { return .int(n) }
                throw .notApplicable("insert index \(index) out of bounds of a list of \(n)")
            }
            guard let accepted = try unique(newItems, into: items, flags: wf) else { return .int(n) }
            if accepted.isEmpty && command == .insertItems { return .int(n) }
            if at > n {
                guard at <= elementsMax else { throw .param("insert index \(index) too large") }
                items.append(contentsOf: repeatElement(Value.null, count: Int(at - n)))
                at = Int64(items.count)
            }
            items.insert(contentsOf: accepted, at: Int(at))
            store()
            return .int(Int64(items.count))

        case .set:
            try a.count(2, 3)
            let index = try a.int(0)
            let value = try storable([try a.value(1)])[0]
            let wf = try a.flags(2)
            if ordered { throw .param("set on an ordered list") }
            let n = Int64(items.count)
            let at = index < 0 ? index + n : index
            if at < 0 || (wf.contains(.insertBounded) && at >= n) {
                if wf.contains(.noFail) { return nil }
                throw .notApplicable("set index \(index) out of bounds of a list of \(n)")
            }
            if wf.contains(.addUnique) {
                let clash = items.indices.contains { Int64($0) != at && Value.compare(items[$0], value) == 0 }
                if clash {
                    if wf.contains(.noFail) { return nil }
                    throw CDTError(CDTError.elementExists, "set of a value already in the list")
                }
            }
            if at >= n {
                guard at <= elementsMax else { throw .param("set index \(index) too large") }
                items.append(contentsOf: repeatElement(Value.null, count: Int(at - n)))
                items.append(value)
            } else {
                items[Int(at)] = value
            }
            store()
            return nil

        case .increment:
            try a.count(1, 4)
            let index = try a.int(0)
            let delta = a.values.count > 1 ? try a.value(1) : .int(1)
            let wf = try a.flags(3)
            if !exists, let order = try a.optionalInt(2) {
                flags = UInt8(truncatingIfNeeded: order) & ListFlags.ordered
            }
            switch delta {
            case .int, .double: break
            default: throw .param("increment by a non-number")
            }
            let n = Int64(items.count)
            let at = index < 0 ? index + n : index
            if at < 0 || (wf.contains(.insertBounded) && at >= n) {
                if wf.contains(.noFail) { return nil }
                throw .notApplicable("increment index \(index) out of bounds of a list of \(n)")
            }
            let newValue: Value
            if at >= n {
                guard at <= elementsMax else { throw .param("increment index \(index) too large") }
                newValue = delta
                items.append(contentsOf: repeatElement(Value.null, count: Int(at - n)))
                items.append(newValue)
            } else {
                newValue = try add(items[Int(at)], delta)
                items[Int(at)] = newValue
            }
            if flags & ListFlags.ordered != 0 { items = sorted(items) }
            store()
            return newValue

        case .sort:
            try a.count(0, 1)
            guard exists else { return nil }
            let dropDuplicates = (try a.optionalInt(0) ?? 0) & 2 != 0
            var s = sorted(items)
            if dropDuplicates {
                var deduped: [Value] = []
                for v in s where deduped.last.map({ Value.compare($0, v) != 0 }) ?? true { deduped.append(v) }
                s = deduped
            }
            items = s
            store()
            return nil

        case .clear:
            try a.count(0, 0)
            guard exists else { return nil }
            items.removeAll()
            store()
            return nil

        case .size:
            try a.count(0, 0)
            return exists ? .int(Int64(items.count)) : nil

        case .get, .pop, .remove:
            try a.count(1, 1)
            guard exists else { return nil }
            let index = try a.int(0)
            guard let i = singleIndex(index, items.count) else {
                throw .notApplicable("index \(index) out of bounds of a list of \(items.count)")
            }
            let v = items[i]
            if command == .get { return v }
            items.remove(at: i)
            store()
            return command == .pop ? v : .int(1)

        case .getRange, .popRange, .removeRange, .trim:
            try a.count(1, 2)
            guard exists else { return nil }
            let index = try a.int(0)
            let count: Int64?
            if command == .trim {
                try a.count(2, 2)
                count = try a.optionalCount(1)
            } else {
                count = try a.optionalCount(1)
            }
            let r = indexRange(index, count, items.count)
            switch command {
            case .getRange:
                return .list(Array(items[r]))
            case .popRange:
                let removed = Array(items[r])
                items.removeSubrange(r)
                store()
                return .list(removed)
            case .removeRange:
                items.removeSubrange(r)
                store()
                return .int(Int64(r.count))
            default:
                let removed = items.count - r.count
                items = Array(items[r])
                store()
                return .int(Int64(removed))
            }

        default:
            let (result, remaining) = try selectAndApply(command, a, items: items, exists: exists, ordered: ordered)
            if let remaining {
                items = remaining
                store()
            }
            return result
        }
    }

    /// The items of `newItems` to add under the write flags; nil when the whole operation is a
    /// no-op. Under ADD_UNIQUE (Aerospike's rules): a value already in the list is skipped with
    /// PARTIAL, else the op is a no-op with NO_FAIL, else 24 (ELEMENT_EXISTS); a value repeated
    /// among the new items is 26 without NO_FAIL, a no-op without PARTIAL, else skipped; when
    /// every item was skipped, the op is a no-op with NO_FAIL, else 24.
    private static func unique(_ newItems: [Value], into items: [Value], flags: ListWriteFlags) throws(CDTError) -> [Value]? {
        guard flags.contains(.addUnique) else { return newItems }
        var accepted: [Value] = []
        for v in newItems {
            if items.contains(where: { Value.compare($0, v) == 0 }) {
                if flags.contains(.partial) { continue }
                if flags.contains(.noFail) { return nil }
                throw CDTError(CDTError.elementExists, "value already in the list (ADD_UNIQUE)")
            }
            if accepted.contains(where: { Value.compare($0, v) == 0 }) {
                if !flags.contains(.noFail) { throw .notApplicable("value repeated among the items (ADD_UNIQUE)") }
                if !flags.contains(.partial) { return nil }
                continue
            }
            accepted.append(v)
        }
        if accepted.isEmpty && !newItems.isEmpty {
            if flags.contains(.noFail) { return nil }
            throw CDTError(CDTError.elementExists, "every value already in the list (ADD_UNIQUE)")
        }
        return accepted
    }

    static func add(_ a: Value, _ b: Value) throws(CDTError) -> Value {
        switch (a, b) {
        case (.int(let x), .int(let y)): return .int(x &+ y)
        case (.int(let x), .double(let y)): return .int(x &+ (Int64(exactly: y.rounded(.towardZero)) ?? 0))
        case (.double(let x), .double(let y)): return .double(x + y)
        case (.double(let x), .int(let y)): return .double(x + Double(y))
        default: throw .param("increment of a non-number element")
        }
    }

    /// A single index (negative from the end), or nil when out of bounds.
    static func singleIndex(_ index: Int64, _ n: Int) -> Int? {
        let i = index < 0 ? index + Int64(n) : index
        return i >= 0 && i < Int64(n) ? Int(i) : nil
    }

    /// An index range: negative `index` counts from the end; a range starting before the
    /// start keeps only its part inside; nil `count` means to the end.
    static func indexRange(_ index: Int64, _ count: Int64?, _ n: Int) -> Range<Int> {
        let n64 = Int64(n)
        var start = index
        var count = count ?? Int64.max
        if start < 0 {
            start += n64
            if start < 0 {
                if count != Int64.max { count = max(0, count &+ start) }
                start = 0
            }
        }
        guard start < n64, count > 0 else { return n..<n }
        let end = count >= n64 - start ? n64 : start + count
        return Int(start)..<Int(end)
    }

    /// A range relative to position `base` (value-relative rank, key-relative index): unlike
    /// an index range, a start before the beginning is not counted from the end; the part
    /// before the beginning is dropped.
    static func relativeRange(base: Int64, offset: Int64, count: Int64?, _ n: Int) -> Range<Int> {
        var start = base &+ offset
        var c = count ?? Int64.max
        if start < 0 {
            if c != Int64.max { c = max(0, c &+ start) }
            start = 0
        }
        guard start < Int64(n), c > 0 else { return n..<n }
        return Int(start)..<Int(c >= Int64(n) - start ? Int64(n) : start + c)
    }

    // MARK: - get/remove by index, rank, value

    /// The result, and the list left when elements were removed.
    private static func selectAndApply(_ command: ListCommand, _ a: Args, items: [Value], exists: Bool,
                                       ordered: Bool) throws(CDTError) -> (Value?, [Value]?) {
        let (rt, inverted) = try a.returnType()
        let n = items.count
        var single = false
        // Selected by rank: VALUE results come in rank order (Aerospike's), others by index.
        var byRank = false
        var byValueList = false
        var selected: [Int]  // indexes (in rank order when byRank, value-list order when byValueList)
        switch command {
        case .getByIndex, .removeByIndex:
            try a.count(2, 2)
            guard exists else { return (nil, nil) }
            let index = try a.int(1)
            if inverted { throw .notApplicable("INVERTED on a single-element operation") }
            guard let i = singleIndex(index, n) else {
                throw .notApplicable("index \(index) out of bounds of a list of \(n)")
            }
            selected = [i]
            single = true
        case .getByRank, .removeByRank:
            try a.count(2, 2)
            guard exists else { return (nil, nil) }
            let rank = try a.int(1)
            if inverted { throw .notApplicable("INVERTED on a single-element operation") }
            guard let r = singleIndex(rank, n) else {
                throw .notApplicable("rank \(rank) out of bounds of a list of \(n)")
            }
            selected = [rankOrder(items)[r]]
            single = true
        case .getByIndexRange, .removeByIndexRange:
            try a.count(2, 3)
            guard exists else { return (nil, nil) }
            selected = Array(indexRange(try a.int(1), try a.optionalCount(2), n))
        case .getByRankRange, .removeByRankRange:
            try a.count(2, 3)
            guard exists else { return (nil, nil) }
            let order = rankOrder(items)
            selected = indexRange(try a.int(1), try a.optionalCount(2), n).map { order[$0] }
            byRank = true
        case .getByValue, .removeByValue:
            try a.count(2, 2)
            guard exists else { return (nil, nil) }
            let v = try a.value(1)
            selected = items.indices.filter { Value.compare(items[$0], v) == 0 }
        case .getByValueList, .removeByValueList:
            try a.count(2, 2)
            guard exists else { return (nil, nil) }
            let list = try a.list(1)
            // Grouped by the value list's order (each value's matches ascending), as Aerospike
            // answers RANK (and, on ordered lists, every return type) for a value list.
            var seen = Set<Int>()
            selected = []
            for v in list {
                for i in items.indices where !seen.contains(i) && Value.compare(items[i], v) == 0 {
                    seen.insert(i)
                    selected.append(i)
                }
            }
            byValueList = true
        case .getByValueInterval, .removeByValueInterval:
            try a.count(2, 3)
            guard exists else { return (nil, nil) }
            let begin = try a.value(1)
            let end = a.values.count > 2 ? try a.value(2) : .infinity
            selected = items.indices.filter { Value.compare(items[$0], begin) >= 0 && Value.compare(items[$0], end) < 0 }
        case .getByValueRelRankRange, .removeByValueRelRankRange:
            try a.count(3, 4)
            guard exists else { return (nil, nil) }
            let v = try a.value(1)
            let rank = try a.int(2)
            let count = try a.optionalCount(3)
            let order = rankOrder(items)
            let base = Int64(order.firstIndex { Value.compare(items[$0], v) >= 0 } ?? n)
            selected = relativeRange(base: base, offset: rank, count: count, n).map { order[$0] }
            byRank = true
        default:
            throw .param("unknown list command \(command.rawValue)")
        }
        if inverted {
            if byRank && (rt == .rank || rt == .reverseRank) {
                throw .notApplicable("rank return types with INVERTED on a rank range")
            }
            let chosen = Set(selected)
            selected = items.indices.filter { !chosen.contains($0) }
            byRank = false
            byValueList = false
        }
        let keepOrder = byRank && rt == .value
            || byValueList && (ordered || rt == .rank || rt == .reverseRank)
        let result = try Self.result(rt, selected: selected, single: single, keepOrder: keepOrder, items: items)
        if command.isWrite && !selected.isEmpty {
            let doomed = Set(selected)
            return (result, items.indices.filter { !doomed.contains($0) }.map { items[$0] })
        }
        return (result, nil)
    }

    /// The result of a selection. Multi-element results in the selection's own order when
    /// `keepOrder` (VALUE selected by rank; a value list's RANK, and every type on an ordered
    /// list), else INDEX / VALUE by ascending index and RANK ascending, as Aerospike answers.
    private static func result(_ rt: ReturnType, selected unordered: [Int], single: Bool, keepOrder: Bool,
                               items: [Value]) throws(CDTError) -> Value? {
        let n = items.count
        let selected = keepOrder ? unordered : unordered.sorted()
        func many(_ f: (Int) -> Value) -> Value {
            single ? f(selected[0]) : .list(selected.map(f))
        }
        switch rt {
        case .none: return nil
        case .count: return .int(Int64(selected.count))
        case .exists: return .bool(!selected.isEmpty)
        case .index: return many { .int(Int64($0)) }
        case .reverseIndex: return many { .int(Int64(n - 1 - $0)) }
        case .rank, .reverseRank:
            let r = ranks(items)
            if single { return .int(Int64(rt == .rank ? r[selected[0]] : n - 1 - r[selected[0]])) }
            let ranks = selected.map { rt == .rank ? r[$0] : n - 1 - r[$0] }
            return .list((keepOrder ? ranks : ranks.sorted()).map { .int(Int64($0)) })
        case .value: return many { items[$0] }
        default: throw .param("return type \(rt) is for maps")
        }
    }
}
