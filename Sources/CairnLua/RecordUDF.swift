import CairnParticle
import Foundation
import Synchronization

/// What a record UDF sees of its record.
public struct UDFRecordInput: Sendable {
    public var exists: Bool
    /// The bins in stored order.
    public var bins: [(name: String, value: Value)]
    public var generation: UInt16
    /// Seconds since 2010-01-01; 0 never expires.
    public var voidTime: UInt32
    /// Now, in the same clock as `voidTime`.
    public var nowVoidTime: UInt32
    public var lastUpdateMs: UInt64
    public var setName: String?
    public var key: Value?
    public var digest: [UInt8]

    public init(exists: Bool, bins: [(name: String, value: Value)], generation: UInt16, voidTime: UInt32,
                nowVoidTime: UInt32, lastUpdateMs: UInt64, setName: String?, key: Value?, digest: [UInt8]) {
        self.exists = exists
        self.bins = bins
        self.generation = generation
        self.voidTime = voidTime
        self.nowVoidTime = nowVoidTime
        self.lastUpdateMs = lastUpdateMs
        self.setName = setName
        self.key = key
        self.digest = digest
    }
}

/// Why a stream UDF failed: the text for the FAILURE bin.
public struct UDFError: Error, Sendable, Equatable {
    public var message: String
}

/// What a record UDF did.
public struct UDFRecordOutput: Sendable {
    public enum Result: Sendable, Equatable {
        /// The function returned (nil is `.null`).
        case success(Value)
        /// A Lua error, a missing module or function, a timeout: the message for the FAILURE bin.
        case failure(String)
    }

    public var result: Result
    /// Whether aerospike:create / update / remove committed changes: then `bins` is the record
    /// as of the last of them (empty: delete it).
    public var updated: Bool
    public var bins: [(name: String, value: Value)]
    /// record.set_ttl's value, if it was called.
    public var ttl: Int64?
    /// A result code the update failed with (Aerospike's execute_updates failures), if any.
    public var updateResultCode: Int?
    /// info / warn / debug / trace calls: (level, text); Aerospike's levels, 1 warning ... 4 trace
    /// (at most 100 a call).
    public var logs: [(level: Int, text: String)]
}

/// Lua states for running UDFs, at most one per thread at a time: a state is taken for one
/// call and given back. States cache compiled modules and reload one when ``UDFModules``
/// changed it. No lock is held while Lua runs.
public final class LuaPool: Sendable {
    public let modules: UDFModules
    /// A UDF's time limit.
    public let timeLimitNs: UInt64
    /// What one UDF call (or a module's top level) may allocate beyond what its state holds.
    public static let memoryBudgetBytes = 64 << 20
    private let idle = Mutex<[UncheckedState]>([])
    /// States kept for reuse (more are made under load and dropped when given back).
    static let idleMax = 16

    /// A state as the pool holds it: used by one thread at a time, handed over under the lock.
    private struct UncheckedState: @unchecked Sendable {
        let state: LuaState
    }

    public init(modules: UDFModules, timeLimitMs: UInt64 = 1000) {
        self.modules = modules
        self.timeLimitNs = timeLimitMs * 1_000_000
    }

    /// The `udf-put` check of a module: nil, or Aerospike's answer (`compile_error;file=…;line=…;
    /// message=BASE64`) and a reason for the log. The module is compiled and its top level run
    /// (with the time limit) in a fresh state.
    static func validate(name: String, content: [UInt8]) -> (answer: String, reason: String)? {
        let state: LuaState
        do { state = try LuaState() } catch { return ("compile_error", "cannot create a Lua state") }
        state.setDeadline(LuaState.nowNs() + 1_000_000_000)
        defer { state.setDeadline(nil) }
        do {
            state.setMemoryBudget(memoryBudgetBytes)
            defer { state.setMemoryBudget(nil) }
            try state.run(chunk: content, name: name)
            return nil
        } catch {
            let message = error.message
            let parsed = parseError(message)
            let encoded = Data(parsed.message.utf8).base64EncodedString()
            return ("compile_error;file=\(parsed.file);line=\(parsed.line);message=\(encoded)", message)
        }
    }

    /// Splits Lua's `[string "FILE"]:LINE: MESSAGE` as mod-lua does; other texts keep their
    /// first line (at most 256 bytes), with no file and line 0.
    static func parseError(_ text: String) -> (file: String, line: Int, message: String) {
        if text.hasPrefix("["), let open = text.firstIndex(of: "\"") {
            let afterOpen = text.index(after: open)
            if let close = text[afterOpen...].firstIndex(of: "\"") {
                let file = String(text[afterOpen..<close])
                if let colon = text[close...].firstIndex(of: ":") {
                    let lineStart = text.index(after: colon)
                    if let colon2 = text[lineStart...].firstIndex(of: ":") {
                        let line = Int(text[lineStart..<colon2]) ?? 0
                        var rest = text[text.index(after: colon2)...]
                        if rest.first == " " { rest = rest.dropFirst() }
                        return (file, line, String(rest))
                    }
                }
                return (file, 0, "")
            }
        }
        let firstLine = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return ("", 0, String(decoding: Array(firstLine.utf8.prefix(256)), as: UTF8.self))
    }

    private func take() -> LuaState? {
        if let held = idle.withLock({ $0.popLast() }) { return held.state }
        return try? LuaState()
    }

    private func giveBack(_ state: LuaState) {
        idle.withLock { states in
            if states.count < Self.idleMax { states.append(UncheckedState(state: state)) }
        }
    }

    /// Runs `function` of module `package` (the name without `.lua`) on `record` with `arguments`.
    public func apply(package: String, function: String, arguments: [Value], record: UDFRecordInput) -> UDFRecordOutput {
        var output = UDFRecordOutput(result: .failure("UDF: Execution Error 1"), updated: false, bins: [], ttl: nil,
                                     updateResultCode: nil, logs: [])
        guard let state = take() else { return output }
        var reusable = true
        defer { if reusable { giveBack(state) } }
        state.setDeadline(LuaState.nowNs() + timeLimitNs)
        defer { state.setDeadline(nil) }
        let base = state.top
        defer { state.setTop(base) }
        do {
            try ensureLoaded(package + ".lua", in: state)
            // rec, state = __cairn_record(exists, bins, names, meta)
            try pushRecord(record, in: state)
            let recordState = state.top
            let rec = recordState - 1
            state.pushGlobal("__cairn_apply")
            state.pushString(package + ".lua")
            state.pushString(function)
            state.pushCopy(rec)
            for argument in arguments { try state.push(argument) }
            do {
                state.setMemoryBudget(Self.memoryBudgetBytes)
                defer { state.setMemoryBudget(nil) }
                try state.call(arguments: Int32(3 + arguments.count), results: 1)
                output.result = .success(try state.value(at: -1))
            } catch {
                output.result = .failure(error.message)
                reusable = reusable && error.leavesStateReusable
            }
            state.setTop(recordState)
            state.pushField(recordState, "failcode")
            if let code = state.integer(at: -1) { output.updateResultCode = Int(code) }
            state.setTop(recordState)
            state.pushField(recordState, "ttl")
            output.ttl = state.integer(at: -1)
            state.setTop(recordState)
            state.pushField(recordState, "updated")
            output.updated = state.boolean(at: -1)
            state.setTop(recordState)
            if output.updated {
                state.pushField(recordState, "committed")
                let committed = state.top
                state.pushField(committed, "names")
                let names = state.top
                state.pushField(committed, "bins")
                let bins = state.top
                var i: Int64 = 1
                while true {
                    state.setTop(bins)
                    guard state.pushIndex(names, i), let name = state.string(at: -1) else { break }
                    state.pushField(bins, name)
                    output.bins.append((name, try state.value(at: -1)))
                    i += 1
                }
            }
        } catch {
            output.result = .failure(error.message)
            reusable = reusable && error.leavesStateReusable
            output.updated = false
        }
        state.setTop(base)
        output.logs = state.drainLogs()
        // A state that grew far (a UDF's garbage) is collected before it is used again.
        if state.memoryUsed > Self.memoryBudgetBytes / 4 { state.collectGarbage() }
        return output
    }

    /// Runs stream function `function` of module `package` (an aggregation) over the records
    /// `next` gives until it gives nil: the values the server part of the stream emits, or the
    /// error text. Each Lua call has the time limit and memory budget of a record UDF.
    public func aggregate(package: String, function: String, arguments: [Value],
                          next: () -> UDFRecordInput?) -> Result<[Value], UDFError> {
        guard let state = take() else { return .failure(UDFError(message: "cannot create a Lua state")) }
        var reusable = true
        defer { if reusable { giveBack(state) } }
        let base = state.top
        defer {
            state.setTop(base)
            state.setDeadline(nil)
            state.setMemoryBudget(nil)
        }
        func limited(_ body: () throws(LuaState.Failure) -> Void) throws(LuaState.Failure) {
            state.setDeadline(LuaState.nowNs() + timeLimitNs)
            state.setMemoryBudget(Self.memoryBudgetBytes)
            defer {
                state.setDeadline(nil)
                state.setMemoryBudget(nil)
            }
            try body()
        }
        do {
            try limited { () throws(LuaState.Failure) in try ensureLoaded(package + ".lua", in: state) }
            state.pushGlobal("__cairn_stream_begin")
            state.pushString(package + ".lua")
            state.pushString(function)
            for argument in arguments { try state.push(argument) }
            try limited { () throws(LuaState.Failure) in try state.call(arguments: Int32(2 + arguments.count), results: 0) }
            while let record = next() {
                state.pushGlobal("__cairn_stream_feed")
                try pushRecord(record, in: state)
                state.setTop(state.top - 1)  // the record's state table: not needed here
                try limited { () throws(LuaState.Failure) in try state.call(arguments: 1, results: 0) }
                _ = state.drainLogs()
            }
            state.pushGlobal("__cairn_stream_end")
            var values: [Value] = []
            try limited { () throws(LuaState.Failure) in
                try state.call(arguments: 0, results: 1)
                guard case .list(let items, _) = try state.value(at: -1) else { return }
                values = items
            }
            return .success(values)
        } catch {
            reusable = reusable && error.leavesStateReusable
            return .failure(UDFError(message: error.message))
        }
    }

    /// Pushes the record object and its state table (`__cairn_record`'s two results).
    private func pushRecord(_ record: UDFRecordInput, in state: LuaState) throws(LuaState.Failure) {
        state.pushGlobal("__cairn_record")
        state.pushBoolean(record.exists)
        state.newTable(record: record.bins.count)
        let binsTable = state.top
        for bin in record.bins {
            try state.push(bin.value)
            state.setField(binsTable, bin.name)
        }
        state.newTable(array: record.bins.count)
        let namesTable = state.top
        for (i, bin) in record.bins.enumerated() {
            state.pushString(bin.name)
            state.setIndex(namesTable, Int64(i + 1))
        }
        state.newTable(record: 8)
        let meta = state.top
        state.pushInteger(Int64(record.generation)); state.setField(meta, "generation")
        state.pushInteger(Int64(record.voidTime)); state.setField(meta, "void_time")
        state.pushInteger(Int64(record.nowVoidTime)); state.setField(meta, "now")
        state.pushInteger(Int64(bitPattern: record.lastUpdateMs)); state.setField(meta, "last_update_time")
        if let setName = record.setName { state.pushString(setName); state.setField(meta, "set") }
        if let key = record.key { try state.push(key); state.setField(meta, "key") }
        state.pushBytes(record.digest); state.setField(meta, "digest")
        try state.call(arguments: 4, results: 2)
    }

    /// Loads (or reloads) `name` into `state` when the store's copy is newer than the state's.
    private func ensureLoaded(_ name: String, in state: LuaState) throws(LuaState.Failure) {
        guard let module = modules.module(name) else {
            if state.loadedModules.removeValue(forKey: name) != nil { state.dropModule(name) }
            return  // __cairn_apply answers "module not found"
        }
        if state.loadedModules[name] == module.version { return }
        state.pushGlobal("__cairn_load")
        state.pushString(name)
        state.pushBytes(module.content)
        state.pushString("@" + modules.directory + "/" + name)
        state.setMemoryBudget(Self.memoryBudgetBytes)
        defer { state.setMemoryBudget(nil) }
        try state.call(arguments: 3, results: 0)
        state.loadedModules[name] = module.version
    }
}

