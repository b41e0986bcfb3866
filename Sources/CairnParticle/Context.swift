/// Nested contexts: the path from a bin to the collection an operation works on.
enum Context {
    /// The selected element's position in a list or map.
    private enum Slot {
        case listIndex(Int)
        case mapIndex(Int)
    }

    /// Follows `path` for a read; nil when an element on the path does not exist.
    static func resolve(_ root: Value, _ path: ArraySlice<CDTContextItem>) throws(CDTError) -> Value {
        var current = root
        for item in path {
            guard let slot = try find(item, in: current) else {
                throw .notApplicable("context element \(item.type) not found")
            }
            switch (slot, current) {
            case (.listIndex(let i), .list(let items, _)): current = items[i]
            case (.mapIndex(let i), .map(let entries, _)): current = entries[i].value
            default: throw .notApplicable("context does not match the collection")
            }
        }
        return current
    }

    /// The error `modify` throws when the operation created nothing: a path created only for an
    /// operation that then did nothing (a remove or clear) is not kept.
    static let nothingCreated = CDTError(0, "nothing to create")

    /// An empty collection of the kind a create-flagged context item addresses: a list (ordered
    /// with flag 0xc0) for list items, a map (key-ordered 0x80, key-value-ordered 0xc0) for map
    /// items.
    static func emptyContainer(for item: CDTContextItem) -> Value {
        if item.base & 0xf0 == 0x10 {
            return .list([], flags: item.createFlag == 0xc0 ? ListFlags.ordered : 0)
        }
        let flags: UInt8 = item.createFlag == 0xc0 ? MapFlags.keyValueOrdered : (item.createFlag == 0x80 ? MapFlags.keyOrdered : 0)
        return .map([], flags: flags)
    }

    /// Follows `path` and runs `body` on the collection it leads to (nil when it was just
    /// created), writing the changes back up the path. A missing element on the path is created
    /// when its context item has a create flag: as the kind the next item addresses (or
    /// `leafKind`, for the operation's own collection). `created`: `value` itself was just
    /// created.
    static func modify(_ value: inout Value, _ path: ArraySlice<CDTContextItem>, created: Bool = false, leafKind: Value,
                       _ body: (inout Value?) throws(CDTError) -> Value?) throws(CDTError) -> Value? {
        guard let item = path.first else {
            var target: Value? = created ? nil : value
            let result = try body(&target)
            guard let target else { throw nothingCreated }
            value = target
            return result
        }
        let rest = path.dropFirst()
        let slot: Slot
        var childCreated = false
        if let found = try find(item, in: value) {
            slot = found
        } else if item.createFlag != 0 {
            let child = rest.first.map(emptyContainer(for:)) ?? leafKind
            slot = try create(item, child: child, in: &value)
            childCreated = true
        } else {
            throw .notApplicable("context element \(item.type) not found")
        }
        switch (slot, value) {
        case (.listIndex(let i), .list(var items, let flags)):
            var child = items[i]
            let result = try modify(&child, rest, created: childCreated, leafKind: leafKind, body)
            items[i] = child
            if flags & ListFlags.ordered != 0 { items = ListExecutor.sorted(items) }
            value = .list(items, flags: flags)
            return result
        case (.mapIndex(let i), .map(var entries, let flags)):
            var child = entries[i].value
            let result = try modify(&child, rest, created: childCreated, leafKind: leafKind, body)
            entries[i].value = child
            value = .map(entries, flags: flags)
            return result
        default:
            throw .notApplicable("context does not match the collection")
        }
    }

    /// The element `item` selects in `container`, or nil when there is none.
    private static func find(_ item: CDTContextItem, in container: Value) throws(CDTError) -> Slot? {
        switch item.base {
        case CDTContextItem.listIndex, CDTContextItem.listRank, CDTContextItem.listValue:
            guard case .list(let items, _) = container else {
                throw CDTError(CDTError.binTypeError, "list context on a non-list")
            }
            switch item.base {
            case CDTContextItem.listIndex:
                guard case .int(let raw) = item.value else { throw .param("context index is not an integer") }
                let n = Int64(items.count)
                let i = raw < 0 ? raw + n : raw
                return i >= 0 && i < n ? .listIndex(Int(i)) : nil
            case CDTContextItem.listRank:
                guard case .int(let raw) = item.value else { throw .param("context rank is not an integer") }
                let order = ListExecutor.rankOrder(items)
                let n = Int64(items.count)
                let r = raw < 0 ? raw + n : raw
                return r >= 0 && r < n ? .listIndex(order[Int(r)]) : nil
            default:
                guard let i = items.firstIndex(where: { Value.compare($0, item.value) == 0 }) else { return nil }
                return .listIndex(i)
            }
        case CDTContextItem.mapIndex, CDTContextItem.mapRank, CDTContextItem.mapKey, CDTContextItem.mapValue:
            guard case .map(let entries, let flags) = container else {
                throw CDTError(CDTError.binTypeError, "map context on a non-map")
            }
            switch item.base {
            case CDTContextItem.mapKey:
                guard let i = entries.firstIndex(where: { Value.compare($0.key, item.value) == 0 }) else { return nil }
                return .mapIndex(i)
            case CDTContextItem.mapValue:
                guard let i = entries.firstIndex(where: { Value.compare($0.value, item.value) == 0 }) else { return nil }
                return .mapIndex(i)
            case CDTContextItem.mapIndex:
                guard case .int(let raw) = item.value else { throw .param("context index is not an integer") }
                let n = Int64(entries.count)
                let i = raw < 0 ? raw + n : raw
                guard i >= 0 && i < n else { return nil }
                // Map indexes are in key order whatever the map's own order.
                let byKey = flags & 1 != 0 ? Array(entries.indices)
                    : entries.indices.sorted { Value.compare(entries[$0].key, entries[$1].key) < 0 }
                return .mapIndex(byKey[Int(i)])
            default:
                guard case .int(let raw) = item.value else { throw .param("context rank is not an integer") }
                let n = Int64(entries.count)
                let r = raw < 0 ? raw + n : raw
                guard r >= 0 && r < n else { return nil }
                let byValue = ListExecutor.rankOrder(entries.map(\.value))
                return .mapIndex(byValue[Int(r)])
            }
        default:
            throw .param("unknown context type \(item.type)")
        }
    }

    /// Creates `child` where a create-flagged list index or map key selects it. In an ordered
    /// list the new element goes where its value belongs (the index only has to be
    /// non-negative); in an unordered list at the index, which must not be past the end unless
    /// the item pads (0x80) with nils; an index before the start is refused.
    private static func create(_ item: CDTContextItem, child: Value, in container: inout Value) throws(CDTError) -> Slot {
        switch item.base {
        case CDTContextItem.listIndex:
            guard case .list(var items, let flags) = container else { throw CDTError(CDTError.binTypeError, "list context on a non-list") }
            guard case .int(let raw) = item.value else { throw .param("context index is not an integer") }
            let n = Int64(items.count)
            // A negative index before the start of the list cannot be created (with or without
            // pad, ordered or not).
            guard raw >= 0 else { throw .notApplicable("context create at index \(raw) of a list of \(n)") }
            if flags & ListFlags.ordered != 0 {
                let at = ListExecutor.upperBound(items, child)
                items.insert(child, at: at)
                container = .list(items, flags: flags)
                return .listIndex(at)
            }
            if raw > n {
                guard item.createFlag == 0x80 else {
                    throw .notApplicable("context create at index \(raw) beyond a list of \(n) without pad")
                }
                guard raw <= ListExecutor.elementsMax else { throw .param("context index \(raw) too large") }
                items.append(contentsOf: repeatElement(Value.null, count: Int(raw - n)))
            }
            items.insert(child, at: Int(raw))
            container = .list(items, flags: flags)
            return .listIndex(Int(raw))
        case CDTContextItem.mapKey:
            guard case .map(var entries, let flags) = container else { throw CDTError(CDTError.binTypeError, "map context on a non-map") }
            try MapKeys.check(item.value)
            if flags & MapFlags.keyOrdered != 0 {
                entries.append(MapEntry(item.value, child))
                entries.sort { Value.compare($0.key, $1.key) < 0 }
            } else {
                // Where Aerospike's map_subcontext_by_key creates it (as a put would).
                entries.insert(MapEntry(item.value, child), at: MapExecutor.unorderedInsertIndex(item.value, in: entries))
            }
            container = .map(entries, flags: flags)
            guard let i = entries.firstIndex(where: { Value.compare($0.key, item.value) == 0 }) else {
                throw .notApplicable("created key lost")
            }
            return .mapIndex(i)
        default:
            throw .param("context type \(item.type) cannot create")
        }
    }
}

/// Map keys Aerospike accepts: integers, strings and blobs (not nil, bool, double, list or map).
enum MapKeys {
    static func check(_ key: Value) throws(CDTError) {
        // Integers, strings and generic blobs (Aerospike's map_is_key: not other blob types).
        guard CollectionFromClient.isMapKey(key) else { throw .param("invalid map key type") }
    }
}
