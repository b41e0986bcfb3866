/// Path select and apply (Aerospike 8's CDT command 0xfe, the clients' `select_by_path` and
/// `modify_by_path`): `[0xfe, [ctxType, ctxValue, ...], flags]` reads, `[0xfe, ctx, flags,
/// expression]` with the APPLY mode (4) modifies.
///
/// Each context pair is one level below the bin's collection. A level picks children of the
/// collection it is on: by index, rank, value (every equal child) or key (maps), or by an
/// expression (type 0x04; `true` takes every child) evaluated with the loop variables key (0),
/// value (1) and index (2, lists) bound to the child; `ctx | 0x200` with an expression adds an
/// AND filter to the level before. A child picked above the last level goes down one more
/// level when it is a list or map. On maps, a key list (type 0x0a / 0x2a) takes the children
/// whose key is in it.
///
/// Modes (flags & 0x0f): 0 the matching tree (the bin's shape, only what was picked), 1 the
/// picked leaves' values, 2 their map keys, 3 map keys and values (a flat list), 4 apply: every
/// picked leaf becomes the value of the expression (its loop variables bound), or goes when the
/// expression is `remove_result`. Flag 0x10 (NO_FAIL): an unknown filter is false (else 4), an
/// unknown apply result leaves the leaf (else 1), a key mode on a list picks nothing (else 12).
/// Ordered lists are sorted again after an apply.
enum PathSelect {
    static let command = 0xfe

    enum Mode: Int64 {
        case tree = 0, values = 1, keys = 2, keysAndValues = 3, apply = 4
    }

    struct Level {
        var type: Int64
        var value: Value
        var and: Value?

        var base: Int64 { type & 0x0f }
        var collection: Int64 { type & 0xf0 }
    }

    struct Run {
        var levels: [Level]
        var mode: Mode
        var noFail: Bool
        var modify: Value?
        var leaves: [Value] = []
        /// What the expressions see of the record (no bins when the caller has none).
        var record = ExpressionRecord(bins: [], setName: nil, key: nil)

        var isLeafMode: Bool { mode != .tree && mode != .apply }
    }

    static let loopKey = "\u{0}loop0"
    static let loopValue = "\u{0}loop1"
    static let loopIndex = "\u{0}loop2"

    static func execute(_ args: [Value], target: inout Value?, isWrite: Bool, record: ExpressionRecord? = nil) throws(CDTError) -> Value? {
        guard args.count == 2 || args.count == 3, case .list(let ctx, _) = args[0], case .int(let flags) = args[1] else {
            throw .param("malformed select")
        }
        guard let mode = Mode(rawValue: flags & 0x0f) else { throw .param("select mode \(flags & 0x0f)") }
        guard args.count == (mode == .apply ? 3 : 2) else { throw .param("select of \(args.count) arguments") }
        guard (mode == .apply) == isWrite else {
            throw .param(mode == .apply ? "apply needs CDT_MODIFY" : "select needs CDT_READ")
        }
        guard !ctx.isEmpty, ctx.count % 2 == 0, ctx.count / 2 <= 64 else { throw .param("select context of \(ctx.count) items") }
        var levels: [Level] = []
        for i in stride(from: 0, to: ctx.count, by: 2) {
            guard case .int(let type) = ctx[i] else { throw .param("select context type is not an integer") }
            let value = ctx[i + 1]
            if type & 0x200 != 0 {
                guard type == 0x204, var last = levels.popLast(), last.and == nil, last.base != 4 else {
                    throw .param("invalid AND context")
                }
                try checkedFilter(value)
                last.and = value
                levels.append(last)
                continue
            }
            switch type & 0x0f {
            case 0, 1:
                guard case .int = value else { throw .param("select context index is not an integer") }
            case 2, 3, 10:
                break
            case 4:
                try checkedFilter(value)
            default:
                throw .param("select context type \(type)")
            }
            levels.append(Level(type: type, value: value))
        }
        var run = Run(levels: levels, mode: mode, noFail: flags & 0x10 != 0)
        if let record { run.record = record }
        if mode == .apply {
            run.modify = args[2]
            try Expression.check(args[2])
        }
        guard var root = target else { return nil }
        switch root {
        case .list, .map: break
        default: throw CDTError(CDTError.binTypeError, "select on a bin that is not a collection")
        }
        if mode == .apply {
            try apply(&root, level: 0, &run)
            target = root
            return nil
        }
        let tree = try select(root, level: 0, &run)
        if run.isLeafMode { return .list(run.leaves) }
        return tree
    }

    private static func checkedFilter(_ value: Value) throws(CDTError) {
        switch value {
        case .bool(true): return
        case .list: try Expression.check(value)
        default: throw .param("select filter is not an expression")
        }
    }

    /// Whether a filter (nil: none) takes a child, with its loop variables.
    private static func test(_ filter: Value?, _ vars: [String: Expression.Outcome], _ run: Run) throws(CDTError) -> Bool {
        guard let filter, filter != .bool(true) else { return true }
        switch try Expression.evaluate(filter, run.record, vars) {
        case .known(.bool(let b)): return b
        default:
            if run.noFail { return false }
            throw .param("select filter is unknown")
        }
    }

    /// The positions of the children `level` picks, with their loop variables.
    private static func picks(_ container: Value, _ level: Level, _ run: Run) throws(CDTError) -> [(Int, [String: Expression.Outcome])] {
        var out: [(Int, [String: Expression.Outcome])] = []
        switch container {
        case .list(let items, _):
            guard level.collection == 0 || level.collection == 0x10 else { throw .param("map context on a list") }
            func vars(_ i: Int) -> [String: Expression.Outcome] {
                [loopValue: .known(items[i]), loopIndex: .known(.int(Int64(i)))]
            }
            switch level.base {
            case 0, 1:
                guard case .int(let raw) = level.value else { return [] }
                let n = Int64(items.count)
                let r = raw < 0 ? raw + n : raw
                guard r >= 0 && r < n else { return [] }
                let i = level.base == 0 ? Int(r) : ListExecutor.rankOrder(items)[Int(r)]
                if try test(level.and, vars(i), run) { out.append((i, vars(i))) }
            default:
                for i in items.indices {
                    var take: Bool
                    switch level.base {
                    case 3: take = Value.compare(items[i], level.value) == 0
                    case 4: take = try test(level.value, vars(i), run)
                    default:
                        if !run.noFail { throw .param("key context on a list") }
                        take = false
                    }
                    if take { take = try test(level.and, vars(i), run) }
                    if take { out.append((i, vars(i))) }
                }
            }
        case .map(let entries, _):
            guard level.collection == 0 || level.collection == 0x20 else { throw .param("list context on a map") }
            func vars(_ i: Int) -> [String: Expression.Outcome] {
                [loopKey: .known(entries[i].key), loopValue: .known(entries[i].value)]
            }
            switch level.base {
            case 0, 1:
                guard case .int(let raw) = level.value else { return [] }
                let n = Int64(entries.count)
                let r = raw < 0 ? raw + n : raw
                guard r >= 0 && r < n else { return [] }
                let order = level.base == 0 ? MapExecutor.keyOrder(entries) : MapExecutor.valueOrder(entries)
                let i = order[Int(r)]
                if try test(level.and, vars(i), run) { out.append((i, vars(i))) }
            default:
                for i in entries.indices {
                    var take: Bool
                    switch level.base {
                    case 2: take = Value.compare(entries[i].key, level.value) == 0
                    case 3: take = Value.compare(entries[i].value, level.value) == 0
                    case 4: take = try test(level.value, vars(i), run)
                    case 10:
                        // Keys in a list (an ordered one must be in order).
                        guard case .list(let keys, let keyFlags) = level.value else { throw .param("key list context is not a list") }
                        if keyFlags & ListFlags.ordered != 0, keys.indices.dropFirst().contains(where: { Value.compare(keys[$0 - 1], keys[$0]) > 0 }) {
                            throw .param("key list not in order")
                        }
                        take = keys.contains { Value.compare(entries[i].key, $0) == 0 }
                    default: take = false
                    }
                    if take { take = try test(level.and, vars(i), run) }
                    if take { out.append((i, vars(i))) }
                }
            }
        default:
            throw CDTError(CDTError.binTypeError, "select below a value that is not a collection")
        }
        return out
    }

    private static func isCollection(_ v: Value) -> Bool {
        switch v {
        case .list, .map: true
        default: false
        }
    }

    /// The matching tree under `container` (its own shape, without flags); leaves go to
    /// `run.leaves` in the leaf modes.
    private static func select(_ container: Value, level: Int, _ run: inout Run) throws(CDTError) -> Value {
        let isLeafLevel = level + 1 == run.levels.count
        switch container {
        case .list(let items, let flags):
            if items.isEmpty { return .list([], flags: flags) }
            if isLeafLevel && (run.mode == .keys || run.mode == .keysAndValues) {
                if run.noFail { return .list([]) }
                throw CDTError(CDTError.binTypeError, "map key select on a list")
            }
            var out: [Value] = []
            for (i, _) in try picks(container, run.levels[level], run) {
                let child = items[i]
                if !isLeafLevel && isCollection(child) {
                    out.append(try select(child, level: level + 1, &run))
                } else if isLeafLevel {
                    if run.isLeafMode { run.leaves.append(child) } else { out.append(child) }
                } else if run.mode == .tree {
                    out.append(child)
                }
            }
            return .list(out)
        case .map(let entries, let flags):
            if entries.isEmpty { return .map([], flags: flags) }
            var out: [MapEntry] = []
            for (i, _) in try picks(container, run.levels[level], run) {
                let e = entries[i]
                if !isLeafLevel && isCollection(e.value) {
                    out.append(MapEntry(e.key, try select(e.value, level: level + 1, &run)))
                } else if isLeafLevel {
                    switch run.mode {
                    case .values: run.leaves.append(e.value)
                    case .keys: run.leaves.append(e.key)
                    case .keysAndValues: run.leaves.append(contentsOf: [e.key, e.value])
                    default: out.append(e)
                    }
                } else if run.mode == .tree {
                    out.append(e)
                }
            }
            return .map(out, flags: 0)
        default:
            throw CDTError(CDTError.binTypeError, "select on a value that is not a collection")
        }
    }

    /// Applies `run.modify` to the leaves picked under `container`, in place.
    private static func apply(_ container: inout Value, level: Int, _ run: inout Run) throws(CDTError) {
        let isLeafLevel = level + 1 == run.levels.count
        switch container {
        case .list(let items, _) where items.isEmpty: return
        case .map(let entries, _) where entries.isEmpty: return
        default: break
        }
        let picked = try picks(container, run.levels[level], run)
        switch container {
        case .list(var items, let flags):
            var removed = Set<Int>()
            for (i, vars) in picked {
                if !isLeafLevel {
                    if isCollection(items[i]) { try apply(&items[i], level: level + 1, &run) }
                    continue
                }
                switch try modified(vars, run) {
                case .remove: removed.insert(i)
                case .keep: break
                case .replace(let v): items[i] = v
                }
            }
            if !removed.isEmpty { items = items.indices.filter { !removed.contains($0) }.map { items[$0] } }
            if flags & ListFlags.ordered != 0 { items = ListExecutor.sorted(items) }
            container = .list(items, flags: flags)
        case .map(var entries, let flags):
            var removed = Set<Int>()
            for (i, vars) in picked {
                if !isLeafLevel {
                    if isCollection(entries[i].value) { try apply(&entries[i].value, level: level + 1, &run) }
                    continue
                }
                switch try modified(vars, run) {
                case .remove: removed.insert(i)
                case .keep: break
                case .replace(let v): entries[i].value = v
                }
            }
            if !removed.isEmpty { entries = entries.indices.filter { !removed.contains($0) }.map { entries[$0] } }
            container = .map(entries, flags: flags)
        default:
            throw CDTError(CDTError.binTypeError, "apply on a value that is not a collection")
        }
    }

    private enum Change {
        case remove, keep, replace(Value)
    }

    private static func modified(_ vars: [String: Expression.Outcome], _ run: Run) throws(CDTError) -> Change {
        guard let modify = run.modify else { return .keep }
        switch try Expression.evaluate(modify, run.record, vars) {
        case .unknown:
            if run.noFail { return .keep }
            throw CDTError(1, "apply expression is unknown")
        case .known(let v):
            if v == Expression.removeResult { return .remove }
            switch v {
            case .wildcard, .infinity: throw CDTError(CDTError.binTypeError, "apply result cannot be stored")
            default: return .replace(v)
            }
        }
    }
}
