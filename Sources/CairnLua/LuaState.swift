import CLua
import CairnParticle
import Foundation

/// One Lua 5.4 state with Aerospike's environment (``LuaPrelude``) loaded: owns the C state and
/// keeps every use of the C API behind methods that keep the stack balanced. Not thread-safe: a
/// state is used by one thread at a time (``LuaPool`` hands them out).
final class LuaState {
    private let L: OpaquePointer
    /// Modules loaded into this state: name -> the store version they were loaded at.
    var loadedModules: [String: UInt64] = [:]

    /// Nesting of lists and maps converted either way; deeper values are refused (no runaway
    /// recursion on a self-referencing table).
    static let depthMax = 64
    /// How often (in VM instructions) the time limit is checked.
    static let hookInterval: Int32 = 1000

    enum Failure: Error, Equatable {
        /// A Lua error (syntax or run time): its message.
        case lua(status: Int32, message: String)
        case outOfMemory

        /// The text a client gets (Lua's message; "not enough memory" past the budget).
        var message: String {
            switch self {
            case .lua(_, let message): message
            case .outOfMemory: "not enough memory"
            }
        }

        /// Whether the state may serve again (not after it ran out of memory).
        var leavesStateReusable: Bool { self != .outOfMemory }
    }

    init() throws(Failure) {
        guard let state = cairn_lua_new() else { throw .outOfMemory }
        L = state
        do {
            try run(chunk: Array(LuaPrelude.source.utf8), name: "=prelude")
        } catch {
            cairn_lua_close(state)
            throw error
        }
    }

    deinit { cairn_lua_close(L) }

    /// Compiles and runs `chunk` (a prelude or a check).
    func run(chunk: [UInt8], name: String) throws(Failure) {
        let status = chunk.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                cairn_lua_load(L, $0, buffer.count, name)
            }
        }
        if status != 0 { throw popError(status) }
        try call(arguments: 0, results: 0)
    }

    /// Compiles `chunk` only: nil, or the error.
    func compile(chunk: [UInt8], name: String) -> Failure? {
        let top = cairn_lua_gettop(L)
        defer { cairn_lua_settop(L, top) }
        let status = chunk.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                cairn_lua_load(L, $0, buffer.count, name)
            }
        }
        return status == 0 ? nil : popError(status)
    }

    /// Bytes the state holds now.
    var memoryUsed: Int { cairn_lua_memory_used(L) }

    /// Lets the state grow by at most `budget` bytes from now (nil: no limit). Set only around
    /// protected calls: an allocation refused outside one would end the process.
    func setMemoryBudget(_ budget: Int?) {
        cairn_lua_set_memory_limit(L, budget.map { memoryUsed + $0 } ?? 0)
    }

    /// A full garbage collection.
    func collectGarbage() { cairn_lua_gc(L) }

    /// The limit on the running time of what follows (nil: none).
    func setDeadline(_ deadlineNs: UInt64?) {
        cairn_lua_set_deadline(L, deadlineNs ?? 0, Self.hookInterval)
    }

    static func nowNs() -> UInt64 { cairn_lua_now_ns() }

    // MARK: - Stack

    var top: Int32 { cairn_lua_gettop(L) }
    func setTop(_ index: Int32) { cairn_lua_settop(L, index) }
    func pushGlobal(_ name: String) { _ = cairn_lua_getglobal(L, name) }
    func pushString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { cairn_lua_pushbytes(L, $0.baseAddress, $0.count) }
        }
    }
    func pushBytes(_ bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cairn_lua_pushbytes(L, $0.baseAddress, $0.count) }
        }
    }
    func pushInteger(_ value: Int64) { cairn_lua_pushinteger(L, value) }
    func pushBoolean(_ value: Bool) { cairn_lua_pushboolean(L, value ? 1 : 0) }
    func pushNil() { cairn_lua_pushnil(L) }
    func pushCopy(_ index: Int32) { cairn_lua_pushvalue(L, index) }
    func newTable(array: Int = 0, record: Int = 0) {
        cairn_lua_newtable(L, Int32(clamping: array), Int32(clamping: record))
    }
    /// t[key] = the value on the top (popped); t is at `table` (absolute index).
    func setField(_ table: Int32, _ key: String) {
        pushString(key)
        cairn_lua_pushvalue(L, -2)  // key, value copy
        cairn_lua_rawset(L, table)
        cairn_lua_pop(L, 1)
    }
    /// t[i] = the value on the top (popped).
    func setIndex(_ table: Int32, _ i: Int64) { cairn_lua_rawseti(L, table, i) }
    func absolute(_ index: Int32) -> Int32 { cairn_lua_absindex(L, index) }

    /// Calls the function below `arguments` values in protected mode.
    func call(arguments: Int32, results: Int32) throws(Failure) {
        let status = cairn_lua_pcall(L, arguments, results)
        if status != 0 { throw popError(status) }
    }

    /// The error message on the top, popped.
    private func popError(_ status: Int32) -> Failure {
        defer { cairn_lua_pop(L, 1) }
        if status == 4 { return .outOfMemory }  // LUA_ERRMEM
        if let text = string(at: -1) { return .lua(status: status, message: text) }
        return .lua(status: status, message: "(Null error message returned by lua)")
    }

    /// A Lua string value's bytes as text (invalid UTF-8 repaired), or nil.
    func string(at index: Int32) -> String? {
        bytes(at: index).map { String(decoding: $0, as: UTF8.self) }
    }

    func bytes(at index: Int32) -> [UInt8]? {
        var length = 0
        guard let pointer = cairn_lua_tostring(L, index, &length) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    func integer(at index: Int32) -> Int64? {
        cairn_lua_type(L, index) == CAIRN_LUA_TNUMBER && cairn_lua_isinteger(L, index) != 0 ? cairn_lua_tointeger(L, index) : nil
    }

    func boolean(at index: Int32) -> Bool { cairn_lua_toboolean(L, index) != 0 }

    /// Pushes t[name] for the table at `table`.
    @discardableResult
    func pushField(_ table: Int32, _ name: String) -> Int32 { cairn_lua_rawgetfield(L, table, name) }

    /// Calls `body` with the key at -2 and value at -1 for every pair of the table at `table`.
    func forEachPair(_ table: Int32, _ body: () throws(Failure) -> Void) throws(Failure) {
        let table = absolute(table)
        cairn_lua_pushnil(L)
        while cairn_lua_next(L, table) != 0 {
            try body()
            cairn_lua_pop(L, 1)
        }
    }

    /// Pushes t[i]; false (and nothing pushed) when it is nil.
    func pushIndex(_ table: Int32, _ i: Int64) -> Bool {
        if cairn_lua_rawgeti(L, table, i) != CAIRN_LUA_TNIL { return true }
        cairn_lua_pop(L, 1)
        return false
    }

    /// Forgets a loaded module (it was removed from the store).
    func dropModule(_ name: String) {
        let base = top
        pushGlobal("__cairn_modules")
        let modules = top
        pushString(name)
        pushNil()
        cairn_lua_rawset(L, modules)
        setTop(base)
    }

    /// The log lines the prelude collected since the last call, and a fresh collection.
    func drainLogs() -> [(level: Int, text: String)] {
        let base = top
        defer { setTop(base) }
        pushGlobal("__cairn_log")
        let log = top
        var lines: [(level: Int, text: String)] = []
        var i: Int64 = 1
        while pushIndex(log, i) {
            let level = Int(integer(at: -1) ?? 3)
            setTop(log)
            guard pushIndex(log, i + 1) else { break }
            lines.append((level, string(at: -1) ?? ""))
            setTop(log)
            i += 2
        }
        if !lines.isEmpty {
            newTable()
            cairn_lua_setglobal(L, "__cairn_log")
        }
        return lines
    }

    // MARK: - Values

    /// Pushes `value` as the UDF sees it: scalars as Lua values, lists, maps and blobs as the
    /// prelude's types.
    func push(_ value: Value, depth: Int = 0) throws(Failure) {
        guard depth < Self.depthMax, cairn_lua_checkstack(L, 8) != 0 else {
            throw .lua(status: 2, message: "value nested too deeply")
        }
        switch value {
        case .null, .wildcard, .infinity: pushNil()
        case .bool(let b): pushBoolean(b)
        case .int(let i): pushInteger(i)
        case .double(let d): cairn_lua_pushnumber(L, d)
        case .string(let s): pushBytes(s)
        case .geojson(let g): pushBytes(g)
        case .blob(let type, let data):
            newTable(record: 2)
            let t = top
            pushBytes(data); setField(t, "_s")
            pushInteger(Int64(type)); setField(t, "_t")
            pushGlobal("__cairn_bytes_mt"); cairn_lua_setmetatable(L, t)
        case .ext(_, let data):
            newTable(record: 2)
            let t = top
            pushBytes(data); setField(t, "_s")
            pushInteger(4); setField(t, "_t")
            pushGlobal("__cairn_bytes_mt"); cairn_lua_setmetatable(L, t)
        case .list(let items, let flags):
            newTable(record: 3)
            let t = top
            newTable(array: items.count)
            let v = top
            for (i, item) in items.enumerated() {
                try push(item, depth: depth + 1)
                setIndex(v, Int64(i + 1))
            }
            setField(t, "_v")
            pushInteger(Int64(items.count)); setField(t, "_n")
            pushInteger(Int64(flags)); setField(t, "_f")
            pushGlobal("__cairn_list_mt"); cairn_lua_setmetatable(L, t)
        case .map(let entries, let flags):
            // Built by the prelude's own code so that its key identities are its own.
            pushGlobal("__cairn_newmap")
            try call(arguments: 0, results: 1)
            let m = top
            pushInteger(Int64(flags)); setField(m, "__cairn_f")
            for entry in entries {
                pushGlobal("__cairn_mapset")
                pushCopy(m)
                try push(entry.key, depth: depth + 1)
                try push(entry.value, depth: depth + 1)
                try call(arguments: 3, results: 0)
            }
        }
    }

    /// The value at `index` as Aerospike stores it; what has no Aerospike form (functions,
    /// plain tables, records) is nil, as mod-lua converts it.
    func value(at index: Int32, depth: Int = 0) throws(Failure) -> Value {
        let index = absolute(index)
        guard depth < Self.depthMax, cairn_lua_checkstack(L, 8) != 0 else {
            throw .lua(status: 2, message: "value nested too deeply")
        }
        switch cairn_lua_type(L, index) {
        case CAIRN_LUA_TBOOLEAN:
            return .bool(boolean(at: index))
        case CAIRN_LUA_TNUMBER:
            if cairn_lua_isinteger(L, index) != 0 { return .int(cairn_lua_tointeger(L, index)) }
            return .double(cairn_lua_tonumber(L, index))
        case CAIRN_LUA_TSTRING:
            return .string(ArraySlice(bytes(at: index) ?? []))
        case CAIRN_LUA_TTABLE:
            switch cairn_lua_kind(L, index) {
            case 1: return try listValue(index, depth: depth)
            case 2: return try mapValue(index, depth: depth)
            case 3:
                pushField(index, "_s")
                let data = bytes(at: -1) ?? []
                setTop(top - 1)
                pushField(index, "_t")
                let type = integer(at: -1) ?? 4
                setTop(top - 1)
                return .blob(UInt8(clamping: type), ArraySlice(data))
            case 4:
                // A record: the map of its bins (made by the prelude).
                let base = top
                defer { setTop(base) }
                pushGlobal("__cairn_record_bins")
                pushCopy(index)
                try call(arguments: 1, results: 1)
                return try value(at: -1, depth: depth + 1)
            default: return .null
            }
        default:
            return .null
        }
    }

    private func listValue(_ index: Int32, depth: Int) throws(Failure) -> Value {
        let base = top
        defer { setTop(base) }
        pushField(index, "_n")
        let count = max(0, integer(at: -1) ?? 0)
        pushField(index, "_f")
        let flags = UInt8(clamping: integer(at: -1) ?? 0)
        pushField(index, "_v")
        let v = top
        var items: [Value] = []
        items.reserveCapacity(Int(min(count, 1 << 16)))
        var i: Int64 = 1
        while i <= count {
            _ = cairn_lua_rawgeti(L, v, i)
            items.append(try value(at: -1, depth: depth + 1))
            setTop(v)
            i += 1
        }
        return .list(items, flags: flags)
    }

    private func mapValue(_ index: Int32, depth: Int) throws(Failure) -> Value {
        let base = top
        defer { setTop(base) }
        pushField(index, "__cairn_f")
        let flags = UInt8(clamping: integer(at: -1) ?? 0)
        pushField(index, "__cairn_o")
        let order = top
        pushField(index, "__cairn_k")
        let keys = top
        pushField(index, "__cairn_v")
        let values = top
        var entries: [MapEntry] = []
        let count = cairn_lua_rawlen(L, order)
        var i: Int64 = 1
        while i <= count {
            _ = cairn_lua_rawgeti(L, order, i)  // id
            let id = top
            pushCopy(id); _ = cairnRawGet(keys)
            let key = try value(at: -1, depth: depth + 1)
            pushCopy(id); _ = cairnRawGet(values)
            let item = try value(at: -1, depth: depth + 1)
            entries.append(MapEntry(key, item))
            setTop(values)
            i += 1
        }
        return .map(entries, flags: flags)
    }

    /// Replaces the key on the top with t[key] for the table at `table`.
    private func cairnRawGet(_ table: Int32) -> Int32 {
        // rawget through the C shim: t[k] with k on the top.
        cairn_lua_rawget_top(L, table)
    }
}
