import CairnParticle
import Foundation
import Testing
@testable import CairnLua

/// Aerospike's Lua environment for record UDFs: modules, the record, list and map types, the
/// aerospike object's commit rules, errors and the time limit.
@Suite struct RecordUDFTests {
    private static func pool(_ modules: [String: String], timeLimitMs: UInt64 = 1000) throws -> LuaPool {
        let directory = NSTemporaryDirectory() + "cairn-lua-\(UUID().uuidString)"
        let store = try UDFModules(directory: directory)
        for (name, source) in modules { try store.put(name: name, content: Array(source.utf8)) }
        return LuaPool(modules: store, timeLimitMs: timeLimitMs)
    }

    private static func record(_ bins: [(String, Value)] = [], exists: Bool = true) -> UDFRecordInput {
        UDFRecordInput(exists: exists, bins: bins.map { (name: $0.0, value: $0.1) }, generation: 3, voidTime: 0,
                       nowVoidTime: 1000, lastUpdateMs: 5, setName: "s", key: .int(7), digest: Array(repeating: 1, count: 20))
    }

    @Test func returnsValuesOfEveryKind() throws {
        let pool = try Self.pool(["m.lua": """
            function one(r) return 1 end
            function add(r, a, b) return a + b end
            function s(r) return "abc" end
            function l(r) return list{1, "x", 2.5} end
            function m(r) return map{a = 1} end
            function b(r) return true end
            function n(r) end
            function logs(r) info("at %d", 3) warn("w") trace("t") return 0 end
            function t(r) return tostring(list{1, "x"}) .. tostring(map{a = 1}) end
            """])
        func run(_ f: String, _ args: [Value] = []) -> UDFRecordOutput.Result {
            pool.apply(package: "m", function: f, arguments: args, record: Self.record()).result
        }
        #expect(run("one") == .success(.int(1)))
        #expect(run("add", [.int(1), .int(2)]) == .success(.int(3)))
        #expect(run("s") == .success(.string("abc")))
        #expect(run("l") == .success(.list([.int(1), .string("x"), .double(2.5)])))
        #expect(run("m") == .success(.map([MapEntry(.string("a"), .int(1))], flags: 0)))
        #expect(run("b") == .success(.bool(true)))
        #expect(run("n") == .success(.null))
        let logs = pool.apply(package: "m", function: "logs", arguments: [], record: Self.record()).logs
        #expect(logs.map(\.level) == [2, 1, 4] && logs.map(\.text) == ["at 3", "w", "t"])
        #expect(run("t") == .success(.string("[1, \"x\"]{\"a\":1}")))
    }

    @Test func readsBinsAndMetadata() throws {
        let pool = try Self.pool(["m.lua": """
            function get(r, name) return r[name] end
            function meta(r) return list{record.gen(r), record.key(r), record.setname(r), record.numbins(r), aerospike:exists(r)} end
            function names(r) return record.bin_names(r) end
            function touch(r) r.y = 1; aerospike:update(r); return r.m end
            function whole(r) return r end
            """])
        let rec = Self.record([("a", .int(123)), ("b", .list([.int(1)]))])
        #expect(pool.apply(package: "m", function: "get", arguments: [.string("a")], record: rec).result == .success(.int(123)))
        #expect(pool.apply(package: "m", function: "get", arguments: [.string("b")], record: rec).result == .success(.list([.int(1)])))
        #expect(pool.apply(package: "m", function: "meta", arguments: [], record: rec).result
            == .success(.list([.int(3), .int(7), .string("s"), .int(2), .bool(true)])))
        #expect(pool.apply(package: "m", function: "names", arguments: [], record: rec).result == .success(.list([.string("a"), .string("b")])))
        #expect(pool.apply(package: "m", function: "whole", arguments: [], record: rec).result
            == .success(.map([MapEntry(.string("a"), .int(123)), MapEntry(.string("b"), .list([.int(1)]))], flags: 0)))
        // A map read from a bin and written back unchanged keeps exactly its entries.
        let map = Value.map([MapEntry(.string("x"), .int(1)), MapEntry(.string("_f"), .int(2))], flags: 0)
        let out = pool.apply(package: "m", function: "touch", arguments: [], record: Self.record([("m", map)]))
        #expect(out.result == .success(map))
        #expect(out.bins.first { $0.name == "m" }?.value == map)
    }

    @Test func changesCommitOnlyAtUpdate() throws {
        let pool = try Self.pool(["m.lua": """
            function noupdate(r) r.x = 1; return 0 end
            function update(r) r.x = 1; aerospike:update(r); r.y = 2; return 0 end
            function create(r) r.a = "s"; r.iamabinwithlengthgreaterthan16 = 1; return aerospike:create(r) end
            function remove(r) return aerospike:remove(r) end
            function append(r, bin, v) local l = r[bin] or list(); list.append(l, v); r[bin] = l; return aerospike:update(r) end
            """])
        var out = pool.apply(package: "m", function: "noupdate", arguments: [], record: Self.record([("a", .int(1))]))
        #expect(!out.updated)
        out = pool.apply(package: "m", function: "update", arguments: [], record: Self.record([("a", .int(1))]))
        #expect(out.updated)
        #expect(out.bins.map(\.name) == ["a", "x"])
        out = pool.apply(package: "m", function: "create", arguments: [], record: Self.record(exists: false))
        #expect(out.result == .success(.int(0)))
        #expect(out.bins.map(\.name) == ["a"])
        out = pool.apply(package: "m", function: "create", arguments: [], record: Self.record([("a", .int(1))]))
        #expect(out.result == .success(.int(1)))
        #expect(!out.updated)
        out = pool.apply(package: "m", function: "remove", arguments: [], record: Self.record([("a", .int(1))]))
        #expect(out.updated && out.bins.isEmpty)
        out = pool.apply(package: "m", function: "append", arguments: [.string("l"), .int(5)],
                         record: Self.record([("l", .list([.int(1)], flags: 1))]))
        #expect(out.bins.first?.value == .list([.int(1), .int(5)], flags: 1))
    }

    @Test func errorsAreFailuresNotCrashes() throws {
        let pool = try Self.pool(["m.lua": """
            function boom(r) error("boom") end
            function bad(r) return nil + 1 end
            function spin(r) while true do end end
            function hog(r) local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end end
            function big(r) return string.rep("x", 1 << 30) end
            function escape(r) return os.exit end
            function nested(r) local l = list() list.append(l, l) return l end
            """], timeLimitMs: 2000)
        func failure(_ f: String) -> String? {
            if case .failure(let text) = pool.apply(package: "m", function: f, arguments: [], record: Self.record()).result { return text }
            return nil
        }
        #expect(failure("boom")?.hasSuffix("m.lua:1: boom") == true)
        #expect(failure("bad")?.contains("attempt to perform arithmetic") == true)
        #expect(failure("spin")?.hasSuffix("UDF Execution Timeout") == true)
        #expect(failure("hog") == "not enough memory")
        #expect(failure("big") == "not enough memory")
        #expect(pool.apply(package: "m", function: "escape", arguments: [], record: Self.record()).result == .success(.null))
        #expect(failure("nested") == "value nested too deeply")
        #expect(failure("missing") == "function not found")
        #expect(pool.apply(package: "nope", function: "f", arguments: [], record: Self.record()).result == .failure("module not found"))
        // The state is still usable after a timeout.
        #expect(failure("boom") != nil)
    }

    @Test func registrationChecksNamesAndCompiles() throws {
        let directory = NSTemporaryDirectory() + "cairn-lua-\(UUID().uuidString)"
        let store = try UDFModules(directory: directory)
        // Opening a store writes nothing: its directory comes with the first module.
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(throws: UDFModules.Refusal.self) { try store.put(name: "../x.lua", content: Array("x = 1".utf8)) }
        #expect(throws: UDFModules.Refusal.self) { try store.put(name: "noext", content: Array("x = 1".utf8)) }
        #expect(throws: UDFModules.Refusal.self) { try store.put(name: ".lua", content: Array("x = 1".utf8)) }
        do {
            try store.put(name: "bad.lua", content: Array("function f(\n".utf8))
            Issue.record("a module that does not compile was stored")
        } catch {
            #expect(error.answer.hasPrefix("compile_error;file=bad.lua;line=2;message="))
        }
        try store.put(name: "good.lua", content: Array("function f(r) return 1 end".utf8))
        // Persisted: a new store over the directory has it.
        let reopened = try UDFModules(directory: directory)
        #expect(reopened.module("good.lua")?.content == Array("function f(r) return 1 end".utf8))
        try reopened.remove(name: "good.lua")
        #expect(try UDFModules(directory: directory).all().isEmpty)
        // A user-path that is a file is refused, naming it.
        let file = directory + "/not-a-directory"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: UDFModules.NotADirectory(path: file)) { try UDFModules(directory: file) }
    }

    @Test func reloadsAChangedModule() throws {
        let pool = try Self.pool(["m.lua": "function f(r) return 1 end"])
        #expect(pool.apply(package: "m", function: "f", arguments: [], record: Self.record()).result == .success(.int(1)))
        try pool.modules.put(name: "m.lua", content: Array("function f(r) return 2 end".utf8))
        #expect(pool.apply(package: "m", function: "f", arguments: [], record: Self.record()).result == .success(.int(2)))
        try pool.modules.remove(name: "m.lua")
        #expect(pool.apply(package: "m", function: "f", arguments: [], record: Self.record()).result == .failure("module not found"))
    }

    @Test func streamsRunTheirServerPart() throws {
        let pool = try Self.pool(["s.lua": """
            local function one(r) return 1 end
            local function add(a, b) return a + b end
            function count(s) return s : map(one) : reduce(add) end
            function bins(s, name) return s : filter(function(r) return r[name] ~= nil end) : map(function(r) return r[name] end) end
            function totals(s)
              local function acc(m, r) m[r.k] = (m[r.k] or 0) + r.v; return m end
              return s : aggregate(map(), acc) : reduce(function(a, b) return map.merge(a, b, add) end)
            end
            function broken(s) return s : map(function(r) return r.v + nil end) end
            """])
        let records = (0..<5).map { i in Self.record([("k", .string(i % 2 == 0 ? "even" : "odd")), ("v", .int(Int64(i)))]) }
        func run(_ f: String, _ args: [Value] = []) -> Result<[Value], UDFError> {
            var iterator = records.makeIterator()
            return pool.aggregate(package: "s", function: f, arguments: args) { iterator.next() }
        }
        #expect(run("count") == .success([.int(5)]))
        #expect(run("bins", [.string("v")]) == .success((0..<5).map { .int(Int64($0)) }))
        #expect(run("totals") == .success([.map([MapEntry(.string("even"), .int(6)), MapEntry(.string("odd"), .int(4))], flags: 0)]))
        guard case .failure(let error) = run("broken") else { Issue.record("a Lua error was not a failure"); return }
        #expect(error.message.contains("attempt to perform arithmetic"))
        #expect(run("missing") == .failure(UDFError(message: "function not found")))
    }

    @Test func sha1() {
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}
