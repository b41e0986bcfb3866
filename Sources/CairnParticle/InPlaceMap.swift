/// Map writes done on the stored bytes: put, add, replace (and their `_items` forms), increment
/// and decrement at the top level of a stored map.
///
/// The entries are found by scanning the encoded pairs: each key is decoded (and compared with
/// `Value.compare`, the general path's order), each value is skipped without building it. The
/// new value's bytes replace the old value's bytes, or a new pair is spliced in where the
/// general path would put it, and the header count grows by one (fixmap, map16 and map32 as the
/// count needs). Nothing else of the map is decoded or encoded again.
///
/// Contract: for a stored map in its stored form (the canonical encoding of its value, as every
/// writer stores it, and, when key-ordered, keys strictly increasing, as every writer keeps
/// them), `mapWrite` answers exactly the bytes and result of the general path (decode the map,
/// `CDTExecutor.execute`, encode the new value), or nil. It answers nil for whatever it does
/// not cover (a context, other commands, a flags ext other than `c7 00 01 c0` / `c7 00 03 c0`)
/// and for every case in which the general path fails (a bad argument, a CREATE_ONLY or
/// UPDATE_ONLY key that does not qualify, a non-numeric value to increment): the caller then
/// runs the general path, which gives the error (or, with NO_FAIL, its answer). Checked by
/// `InPlaceMapTests` on random maps and by `fuzz-cdt`.
extension InPlaceCDT {
    public typealias MapWrite = (bytes: [UInt8], result: Value)

    public static func mapWrite(_ op: CDTOperation, storedMap bytes: [UInt8]) -> MapWrite? {
        guard op.context.isEmpty, let command = MapCommand(rawValue: op.command) else { return nil }
        guard let map = StoredMap(bytes) else { return nil }
        let a = ListExecutor.Args(values: op.args, name: "map command \(command.rawValue)")
        do {
            switch command {
            case .put, .add, .replace:
                return try put(command, a, map)
            case .putItems, .addItems, .replaceItems:
                return try putItems(command, a, map)
            case .increment, .decrement:
                return try increment(command, a, map)
            default:
                return nil
            }
        } catch {
            return nil
        }
    }

    /// A stored map: its header and, for an ordered map, its flags pair.
    struct StoredMap {
        let bytes: [UInt8]
        /// Pairs counted in the header (the flags pair included).
        let headerCount: Int
        /// Where the first key-value pair (after the header and flags pair) starts.
        let firstEntry: Int
        let keyOrdered: Bool

        init?(_ bytes: [UInt8]) {
            guard let first = bytes.first else { return nil }
            let count: Int, headerBytes: Int
            switch first {
            case 0x80...0x8f:
                (count, headerBytes) = (Int(first & 0x0f), 1)
            case 0xde:
                guard bytes.count >= 3 else { return nil }
                (count, headerBytes) = (Int(bytes[1]) << 8 | Int(bytes[2]), 3)
            case 0xdf:
                guard bytes.count >= 5 else { return nil }
                (count, headerBytes) = (Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4]), 5)
            default:
                return nil
            }
            self.bytes = bytes
            headerCount = count
            var ordered = false
            var start = headerBytes
            if count > 0, bytes.count > headerBytes {
                switch bytes[headerBytes] {
                case 0xc7, 0xc8, 0xc9, 0xd4...0xd8:
                    // The decoder takes any ext first key as flags: only the two forms the
                    // encoder writes for an ordered map are covered here.
                    guard bytes.count >= headerBytes + 4, bytes[headerBytes + 1] == 0,
                          bytes[headerBytes + 2] == MapFlags.keyOrdered || bytes[headerBytes + 2] == MapFlags.keyValueOrdered,
                          bytes[headerBytes + 3] == 0xc0
                    else { return nil }
                    ordered = true
                    start += 4
                default:
                    break
                }
            }
            firstEntry = start
            keyOrdered = ordered
        }

        /// Key-value pairs (the flags pair not counted).
        var entryCount: Int { keyOrdered ? headerCount - 1 : headerCount }

        /// Where `key` is: its pair's value bytes when present, else where the general path puts
        /// a new pair with this key (an offset in `bytes`).
        enum Place {
            case found(value: Range<Int>)
            case absent(insertAt: Int)
        }

        /// Finds `key` as the general path does. Key-ordered: the first key not below `key` ends
        /// the scan (the binary search of `MapExecutor.find` on strictly increasing keys finds
        /// the same entry, and `store()` sorts a new key to just before it). Unordered: the first
        /// equal key (`firstIndex`), and for a new key `MapExecutor.unorderedInsertIndex`'s
        /// place: before the first greater key while the keys so far are in order, else the end.
        func locate(_ key: Value) throws(MsgPackError) -> Place {
            var r = MsgPackReader(bytes, offset: firstEntry)
            var insertAt: Int?
            var inOrder = true
            var previous: Value?
            for _ in 0..<entryCount {
                let keyStart = r.offset
                let k = try r.value(depth: 1)
                let value = try r.skip(depth: 1)
                let c = Value.compare(k, key)
                if c == 0 { return .found(value: value) }
                if keyOrdered {
                    if c > 0 { return .absent(insertAt: keyStart) }
                } else if insertAt == nil && inOrder {
                    if let previous, Value.compare(previous, k) > 0 {
                        inOrder = false
                    } else if c > 0 {
                        insertAt = keyStart
                    }
                    previous = k
                }
            }
            return .absent(insertAt: insertAt ?? r.offset)
        }

        /// Every pair: its decoded key and the byte ranges of the pair and of its value.
        func pairs() throws(MsgPackError) -> [(key: Value, pair: Range<Int>, value: Range<Int>)] {
            var r = MsgPackReader(bytes, offset: firstEntry)
            var out: [(key: Value, pair: Range<Int>, value: Range<Int>)] = []
            out.reserveCapacity(entryCount)
            for _ in 0..<entryCount {
                let keyStart = r.offset
                let k = try r.value(depth: 1)
                let value = try r.skip(depth: 1)
                out.append((k, keyStart..<value.upperBound, value))
            }
            return out
        }

        /// The map with `edits` applied (byte ranges replaced, in increasing order, not
        /// overlapping; an empty range inserts) and `added` pairs more in its header.
        func spliced(_ edits: [(range: Range<Int>, bytes: [UInt8])], added: Int) -> [UInt8] {
            var w = MsgPackWriter(capacity: bytes.count + edits.reduce(0) { $0 + $1.bytes.count } + 8)
            w.writeMapHeader(headerCount + added)
            var at = keyOrdered ? firstEntry - 4 : firstEntry
            for edit in edits {
                w.bytes.append(contentsOf: bytes[at..<edit.range.lowerBound])
                w.bytes.append(contentsOf: edit.bytes)
                at = edit.range.upperBound
            }
            w.bytes.append(contentsOf: bytes[at...])
            return w.bytes
        }
    }

    static func encoded(_ values: Value...) -> [UInt8] {
        var w = MsgPackWriter(capacity: 16)
        for v in values { w.write(v) }
        return w.bytes
    }

    /// The write flags of a put (with those the command implies), and the checked pairs, as
    /// `MapExecutor.run` reads them for an existing map (the order attributes are not read).
    static func putArguments(_ command: MapCommand, _ a: ListExecutor.Args) throws -> (MapWriteFlags, [MapEntry]) {
        let single = command == .add || command == .put || command == .replace
        let raw: [MapEntry]
        let rest: Int
        if single {
            try a.count(2, 4)
            raw = [MapEntry(try a.value(0), try a.value(1))]
            rest = 2
        } else {
            try a.count(1, 3)
            guard case .map(let m, _) = try a.value(0) else { throw CDTError.param("put_items needs a map") }
            raw = m
            rest = 1
        }
        var wf = MapWriteFlags(rawValue: try a.optionalInt(rest + 1) ?? 0)
        if command == .add || command == .addItems { wf.insert(.createOnly) }
        if command == .replace || command == .replaceItems { wf.insert(.updateOnly) }
        var checked: [MapEntry] = []
        checked.reserveCapacity(raw.count)
        for e in raw {
            try MapKeys.check(e.key)
            checked.append(MapEntry(try CollectionFromClient.checked(e.key), try CollectionFromClient.checked(e.value)))
        }
        return (wf, checked)
    }

    /// Whether the general path would refuse (or, with NO_FAIL, skip) a put of a key that is
    /// (or is not) in the map.
    static func refuses(_ wf: MapWriteFlags, found: Bool) -> Bool {
        found ? wf.contains(.createOnly) : wf.contains(.updateOnly)
    }

    static func put(_ command: MapCommand, _ a: ListExecutor.Args, _ map: StoredMap) throws -> MapWrite? {
        let (wf, entries) = try putArguments(command, a)
        let e = entries[0]
        switch try map.locate(e.key) {
        case .found(let value):
            if refuses(wf, found: true) { return nil }
            let bytes = map.spliced([(value, encoded(e.value))], added: 0)
            return (bytes, .int(Int64(map.entryCount)))
        case .absent(let at):
            if refuses(wf, found: false) { return nil }
            let bytes = map.spliced([(at..<at, encoded(e.key, e.value))], added: 1)
            return (bytes, .int(Int64(map.entryCount + 1)))
        }
    }

    /// put_items: the general path rewrites an unordered map in key order first, then puts each
    /// item; with distinct keys (it refuses a key twice) and no item refused, that is: every
    /// item's value replaces an existing key's, or its pair goes in key order. An unordered
    /// map not already in strict key order takes the general path.
    static func putItems(_ command: MapCommand, _ a: ListExecutor.Args, _ map: StoredMap) throws -> MapWrite? {
        let (wf, items) = try putArguments(command, a)
        let sortedItems = items.sorted { Value.compare($0.key, $1.key) < 0 }
        for i in sortedItems.indices.dropFirst() where Value.compare(sortedItems[i - 1].key, sortedItems[i].key) == 0 {
            return nil  // a key twice: 4
        }
        let pairs = try map.pairs()
        if !map.keyOrdered {
            for i in pairs.indices.dropFirst() where Value.compare(pairs[i - 1].key, pairs[i].key) >= 0 { return nil }
        }
        var edits: [(range: Range<Int>, bytes: [UInt8])] = []
        var added = 0
        var p = 0
        for item in sortedItems {
            while p < pairs.count && Value.compare(pairs[p].key, item.key) < 0 { p += 1 }
            if p < pairs.count && Value.compare(pairs[p].key, item.key) == 0 {
                if refuses(wf, found: true) { return nil }
                edits.append((pairs[p].value, encoded(item.value)))
                p += 1
            } else {
                if refuses(wf, found: false) { return nil }
                let at = p < pairs.count ? pairs[p].pair.lowerBound : (pairs.last?.pair.upperBound ?? map.firstEntry)
                // Several new pairs before the same old pair go in one insertion, in key order.
                if let last = edits.last, last.range == at..<at {
                    edits[edits.count - 1].bytes += encoded(item.key, item.value)
                } else {
                    edits.append((at..<at, encoded(item.key, item.value)))
                }
                added += 1
            }
        }
        return (map.spliced(edits, added: added), .int(Int64(map.entryCount + added)))
    }

    static func increment(_ command: MapCommand, _ a: ListExecutor.Args, _ map: StoredMap) throws -> MapWrite? {
        let (key, delta) = try MapExecutor.incrementArguments(command, a)
        switch delta {
        case .int, .double: break
        default: return nil
        }
        switch try map.locate(key) {
        case .found(let range):
            var r = MsgPackReader(map.bytes, offset: range.lowerBound, end: range.upperBound)
            let old = try r.value(depth: 1)
            let new = try ListExecutor.add(old, delta)
            return (map.spliced([(range, encoded(new))], added: 0), new)
        case .absent(let at):
            return (map.spliced([(at..<at, encoded(key, delta))], added: 1), delta)
        }
    }
}
