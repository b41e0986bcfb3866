/// Map flags kept in an ordered map's leading ext key.
public enum MapFlags {
    public static let keyOrdered: UInt8 = 0x01
    /// Key-value ordered maps carry both bits.
    public static let keyValueOrdered: UInt8 = 0x03
    public static let persistIndex: UInt8 = 0x10
    /// Results only: a map whose pairs keep their order (KEY_VALUE results); clients read it as
    /// a list of pairs.
    public static let preserveOrder: UInt8 = 0x08
}

/// Map write flags (policy).
public struct MapWriteFlags: OptionSet, Sendable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static let createOnly = MapWriteFlags(rawValue: 1)
    public static let updateOnly = MapWriteFlags(rawValue: 2)
    public static let noFail = MapWriteFlags(rawValue: 4)
    public static let partial = MapWriteFlags(rawValue: 8)
}

/// The map commands (op codes 64 ..< 128).
public enum MapCommand: Int, Sendable {
    case setType = 64, add = 65, addItems = 66, put = 67, putItems = 68, replace = 69, replaceItems = 70
    case increment = 73, decrement = 74, clear = 75
    case removeByKey = 76, removeByIndex = 77, removeByRank = 79, removeByKeyList = 81, removeByValue = 82
    case removeByValueList = 83, removeByKeyInterval = 84, removeByIndexRange = 85, removeByValueInterval = 86
    case removeByRankRange = 87, removeByKeyRelIndexRange = 88, removeByValueRelRankRange = 89
    case size = 96, getByKey = 97, getByIndex = 98, getByRank = 100, getByValue = 102, getByKeyInterval = 103
    case getByIndexRange = 104, getByValueInterval = 105, getByRankRange = 106, getByKeyList = 107
    case getByValueList = 108, getByKeyRelIndexRange = 109, getByValueRelRankRange = 110

    public var isWrite: Bool { rawValue < 96 }
}

/// The map operations, on a decoded map. Map indexes are positions in key order and ranks are
/// positions in value order (ties in key order), whatever the map's own order.
enum MapExecutor {
    static func orderFlags(_ raw: Int64) -> UInt8 {
        // A persisted-index flag is dropped (see ListFlags.persistIndex).
        let order = UInt8(truncatingIfNeeded: raw) & MapFlags.keyValueOrdered
        return order == 2 ? MapFlags.keyValueOrdered : order
    }

    static func sortByKey(_ entries: inout [MapEntry]) {
        let order = keyOrder(entries)
        entries = order.map { entries[$0] }
    }

    /// Entry positions in key order.
    static func keyOrder(_ entries: [MapEntry]) -> [Int] {
        entries.indices.sorted { Value.compare(entries[$0].key, entries[$1].key) < 0 }
    }

    /// Entry positions in value order (ties by key).
    static func valueOrder(_ entries: [MapEntry]) -> [Int] {
        entries.indices.sorted { a, b in
            let c = Value.compare(entries[a].value, entries[b].value)
            return c != 0 ? c < 0 : Value.compare(entries[a].key, entries[b].key) < 0
        }
    }

    /// The position of `key`: a binary search in a key-ordered map, a scan otherwise.
    static func find(_ key: Value, in entries: [MapEntry], keyOrdered: Bool) -> Int? {
        guard keyOrdered else { return entries.firstIndex { Value.compare($0.key, key) == 0 } }
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let c = Value.compare(entries[mid].key, key)
            if c == 0 { return mid }
            if c < 0 { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// Where Aerospike 8.1 puts a new key in an unordered map (packed_map_find_key_maybe_unordered):
    /// before the first greater key while the keys seen so far are in order, else at the end.
    /// Since whole-map puts and put_items store unordered maps sorted by key, such maps stay in
    /// key order.
    static func unorderedInsertIndex(_ key: Value, in entries: [MapEntry]) -> Int {
        for i in entries.indices {
            if i > 0 && Value.compare(entries[i - 1].key, entries[i].key) > 0 { break }
            if Value.compare(key, entries[i].key) < 0 { return i }
        }
        return entries.count
    }

    /// An increment's or decrement's key and signed delta (nil delta: 1; a decrement negates
    /// it), as both the general path and the in-place one (InPlaceMap) read them. The delta is
    /// not checked to be a number here.
    static func incrementArguments(_ command: MapCommand, _ a: ListExecutor.Args) throws(CDTError) -> (key: Value, delta: Value) {
        try a.count(1, 3)
        let key = try a.value(0)
        try MapKeys.check(key)
        var delta = a.values.count > 1 ? try a.value(1) : .null
        if case .null = delta { delta = .int(1) }
        if command == .decrement {
            switch delta {
            case .int(let i): delta = .int(0 &- i)
            case .double(let d): delta = .double(-d)
            default: break
            }
        }
        return (key, delta)
    }

    static func run(_ command: MapCommand, args raw: [Value], target: inout Value?) throws(CDTError) -> Value? {
        let a = ListExecutor.Args(values: raw, name: "map command \(command.rawValue)")
        var entries: [MapEntry]
        var flags: UInt8
        switch target {
        case .map(let e, let f)?:
            entries = e
            flags = f
        case nil:
            entries = []
            flags = 0
        default:
            throw CDTError(CDTError.binTypeError, "map operation on a non-map")
        }
        let exists = target != nil
        // Set when keys were added or the order changed: a key-ordered map is sorted again.
        var keysAdded = false
        func store() {
            if keysAdded && flags & MapFlags.keyOrdered != 0 { sortByKey(&entries) }
            target = .map(entries, flags: flags)
        }

        switch command {
        case .setType:
            try a.count(1, 1)
            flags = orderFlags(try a.int(0))
            keysAdded = true
            store()
            return nil

        case .add, .put, .replace, .addItems, .putItems, .replaceItems:
            let single = command == .add || command == .put || command == .replace
            let rawEntries: [MapEntry]
            var rest: Int
            if single {
                try a.count(2, 4)
                rawEntries = [MapEntry(try a.value(0), try a.value(1))]
                rest = 2
            } else {
                try a.count(1, 3)
                guard case .map(let m, _) = try a.value(0) else { throw .param("put_items needs a map") }
                rawEntries = m
                rest = 1
            }
            var wf = MapWriteFlags(rawValue: try a.optionalInt(rest + 1) ?? 0)
            if command == .add || command == .addItems { wf.insert(.createOnly) }
            if command == .replace || command == .replaceItems { wf.insert(.updateOnly) }
            if !exists, let attrs = try a.optionalInt(rest) { flags = orderFlags(attrs) }
            // Keys and values are checked (and made canonical) as Aerospike's map_add /
            // map_add_items rewrite them: an invalid key, a range operand, an ordered list out of
            // order, a key twice among the items: 4, before any existence rule.
            var checkedEntries: [MapEntry] = []
            checkedEntries.reserveCapacity(rawEntries.count)
            for e in rawEntries {
                try MapKeys.check(e.key)
                do {
                    checkedEntries.append(MapEntry(try CollectionFromClient.checked(e.key), try CollectionFromClient.checked(e.value)))
                } catch {
                    throw .param("map put: \(error)")
                }
            }
            if !single {
                let sortedKeys = checkedEntries.map(\.key).sorted { Value.compare($0, $1) < 0 }
                for i in sortedKeys.indices.dropFirst() where Value.compare(sortedKeys[i - 1], sortedKeys[i]) == 0 {
                    throw .param("put_items with a key twice")
                }
            }
            let newEntries = checkedEntries
            if !single && entries.isEmpty && !newEntries.isEmpty && wf.contains(.updateOnly) && wf.contains(.noFail) && wf.contains(.partial) {
                // Aerospike's map_add_items_ordered on an empty (or missing) map: UPDATE_ONLY with
                // NO_FAIL and PARTIAL adds every item (its empty-map branch only returns early
                // without PARTIAL). Followed as Aerospike answers it, though it looks accidental.
                entries = newEntries
                keysAdded = true
                store()
                return .int(Int64(entries.count))
            }
            if !exists && wf.contains(.updateOnly) && !newEntries.isEmpty {
                // With NO_FAIL the bin is still created, empty (Aerospike's answer).
                if wf.contains(.noFail) {
                    store()
                    return .int(0)
                }
                throw CDTError(CDTError.elementNotFound, "update-only put on a missing map")
            }
            var updated = entries
            let unordered = flags & MapFlags.keyOrdered == 0
            // put_items first rewrites an unordered map in key order (packed_map_convert_to_iko).
            if unordered && !single { sortByKey(&updated) }
            for e in newEntries {
                let at = find(e.key, in: updated, keyOrdered: flags & MapFlags.keyOrdered != 0 && !keysAdded)
                if at != nil && wf.contains(.createOnly) || at == nil && wf.contains(.updateOnly) {
                    if wf.contains(.noFail) {
                        if wf.contains(.partial) { continue }
                        return .int(Int64(entries.count))
                    }
                    throw at != nil ? CDTError(CDTError.elementExists, "key exists (create-only)")
                        : CDTError(CDTError.elementNotFound, "key not found (update-only)")
                }
                if let at {
                    updated[at].value = e.value
                } else if unordered {
                    updated.insert(e, at: unorderedInsertIndex(e.key, in: updated))
                } else {
                    updated.append(e)
                    keysAdded = true
                }
            }
            entries = updated
            store()
            return .int(Int64(entries.count))

        case .increment, .decrement:
            let (key, delta) = try incrementArguments(command, a)
            switch delta {
            case .int, .double: break
            default: throw .param("increment by a non-number")
            }
            if !exists, let attrs = try a.optionalInt(2) { flags = orderFlags(attrs) }
            let newValue: Value
            if let at = find(key, in: entries, keyOrdered: flags & MapFlags.keyOrdered != 0) {
                newValue = try ListExecutor.add(entries[at].value, delta)
                entries[at].value = newValue
            } else {
                newValue = delta
                if flags & MapFlags.keyOrdered == 0 {
                    entries.insert(MapEntry(key, delta), at: unorderedInsertIndex(key, in: entries))
                } else {
                    entries.append(MapEntry(key, delta))
                    keysAdded = true
                }
            }
            store()
            return newValue

        case .clear:
            try a.count(0, 0)
            guard exists else { return nil }
            entries.removeAll()
            store()
            return nil

        case .size:
            try a.count(0, 0)
            return exists ? .int(Int64(entries.count)) : nil

        default:
            let (result, remaining) = try select(command, a, entries: entries, flags: flags, exists: exists)
            if let remaining {
                entries = remaining
                store()
            }
            return result
        }
    }

    private static func select(_ command: MapCommand, _ a: ListExecutor.Args, entries: [MapEntry], flags: UInt8,
                               exists: Bool) throws(CDTError) -> (Value?, [MapEntry]?) {
        let rawType = try a.int(0)
        let inverted = rawType & ReturnType.inverted != 0
        guard let rt = ReturnType(rawValue: rawType & ~ReturnType.inverted) else { throw .param("return type \(rawType)") }
        guard exists else { return (nil, nil) }
        let n = entries.count
        let byKey = keyOrder(entries)
        var single = false
        var byRank = false
        var selected: [Int]  // entry positions (in value order when byRank)
        switch command {
        case .getByKey, .removeByKey:
            try a.count(2, 2)
            let key = try a.value(1)
            selected = entries.indices.filter { Value.compare(entries[$0].key, key) == 0 }
            single = !inverted
        case .getByKeyList, .removeByKeyList:
            try a.count(2, 2)
            let keys = try a.list(1)
            selected = entries.indices.filter { i in keys.contains { Value.compare(entries[i].key, $0) == 0 } }
        case .getByIndex, .removeByIndex:
            try a.count(2, 2)
            let index = try a.int(1)
            if let i = ListExecutor.singleIndex(index, n) {
                selected = [byKey[i]]
            } else if inverted {
                selected = []
            } else {
                throw .notApplicable("index \(index) out of bounds of a map of \(n)")
            }
            single = !inverted
        case .getByRank, .removeByRank:
            try a.count(2, 2)
            let rank = try a.int(1)
            if let r = ListExecutor.singleIndex(rank, n) {
                selected = [valueOrder(entries)[r]]
            } else if inverted {
                selected = []
            } else {
                throw .notApplicable("rank \(rank) out of bounds of a map of \(n)")
            }
            single = !inverted
        case .getByValue, .removeByValue:
            try a.count(2, 2)
            let v = try a.value(1)
            selected = entries.indices.filter { Value.compare(entries[$0].value, v) == 0 }
        case .getByValueList, .removeByValueList:
            try a.count(2, 2)
            let values = try a.list(1)
            selected = entries.indices.filter { i in values.contains { Value.compare(entries[i].value, $0) == 0 } }
        case .getByKeyInterval, .removeByKeyInterval, .getByValueInterval, .removeByValueInterval:
            try a.count(2, 3)
            let begin = try a.value(1)
            let end = a.values.count > 2 ? try a.value(2) : .infinity
            let onKeys = command == .getByKeyInterval || command == .removeByKeyInterval
            selected = entries.indices.filter {
                let v = onKeys ? entries[$0].key : entries[$0].value
                return Value.compare(v, begin) >= 0 && Value.compare(v, end) < 0
            }
        case .getByIndexRange, .removeByIndexRange:
            try a.count(2, 3)
            selected = ListExecutor.indexRange(try a.int(1), try a.optionalCount(2), n).map { byKey[$0] }
        case .getByRankRange, .removeByRankRange:
            try a.count(2, 3)
            let order = valueOrder(entries)
            selected = ListExecutor.indexRange(try a.int(1), try a.optionalCount(2), n).map { order[$0] }
            byRank = true
        case .getByKeyRelIndexRange, .removeByKeyRelIndexRange, .getByValueRelRankRange, .removeByValueRelRankRange:
            try a.count(3, 4)
            let anchor = try a.value(1)
            let offset = try a.int(2)
            let count = try a.optionalCount(3)
            let onKeys = command == .getByKeyRelIndexRange || command == .removeByKeyRelIndexRange
            let order = onKeys ? byKey : valueOrder(entries)
            let base = Int64(order.firstIndex {
                Value.compare(onKeys ? entries[$0].key : entries[$0].value, anchor) >= 0
            } ?? n)
            selected = ListExecutor.relativeRange(base: base, offset: offset, count: count, n).map { order[$0] }
            byRank = !onKeys
        default:
            throw .param("unknown map command \(command.rawValue)")
        }
        if inverted {
            let chosen = Set(selected)
            selected = entries.indices.filter { !chosen.contains($0) }
            byRank = false
        }
        // Multi-entry results come in key order, except what was selected by value rank, which
        // comes in rank order (as Aerospike answers).
        let rank = byKey.enumerated().reduce(into: [Int](repeating: 0, count: n)) { $0[$1.element] = $1.offset }
        if !single && !byRank { selected.sort { rank[$0] < rank[$1] } }
        let result = try Self.result(rt, selected: selected, single: single, entries: entries, keyIndex: rank, flags: flags)
        if command.isWrite && !selected.isEmpty {
            let doomed = Set(selected)
            return (result, entries.indices.filter { !doomed.contains($0) }.map { entries[$0] })
        }
        return (result, nil)
    }

    private static func result(_ rt: ReturnType, selected: [Int], single: Bool, entries: [MapEntry], keyIndex: [Int],
                               flags: UInt8) throws(CDTError) -> Value? {
        let n = entries.count
        if single && selected.isEmpty {
            switch rt {
            case .count: return .int(0)
            case .exists: return .bool(false)
            case .keyValue: return .map([], flags: MapFlags.preserveOrder)
            case .unorderedMap: return .map([], flags: 0)
            case .orderedMap: return .map([], flags: MapFlags.keyOrdered)
            default: return nil
            }
        }
        func many(_ f: (Int) -> Value) -> Value {
            single ? f(selected[0]) : .list(selected.map(f))
        }
        switch rt {
        case .none: return nil
        case .count: return .int(Int64(selected.count))
        case .exists: return .bool(!selected.isEmpty)
        case .index: return many { .int(Int64(keyIndex[$0])) }
        case .reverseIndex: return many { .int(Int64(n - 1 - keyIndex[$0])) }
        case .rank, .reverseRank:
            var ranks = [Int](repeating: 0, count: n)
            for (r, i) in valueOrder(entries).enumerated() { ranks[i] = r }
            if single { return .int(Int64(rt == .rank ? ranks[selected[0]] : n - 1 - ranks[selected[0]])) }
            // Ranks ascending, as Aerospike answers them.
            return .list(selected.map { rt == .rank ? ranks[$0] : n - 1 - ranks[$0] }.sorted().map { .int(Int64($0)) })
        case .key: return many { entries[$0].key }
        case .value: return many { entries[$0].value }
        case .keyValue: return .map(selected.map { entries[$0] }, flags: MapFlags.preserveOrder)
        case .unorderedMap: return .map(selected.map { entries[$0] }, flags: 0)
        case .orderedMap: return .map(selected.map { entries[$0] }, flags: MapFlags.keyOrdered)
        }
    }
}
