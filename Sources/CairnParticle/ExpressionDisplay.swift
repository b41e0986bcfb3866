/// An expression as Aerospike 8.1 shows it (`as_exp_display`: `sindex-list` without
/// `b64=true`), e.g. `add(bin_int("a"), bin_int("b"))`, `ge(ttl(), 100)`,
/// `let(def(var_0, ...), mul(var("var_0"), 2))`. Values show as Aerospike's display writes
/// them: integers and `%f` floats in full, strings, blobs, lists and maps by size
/// (`<string#3>`). Calls (list, map, bit and HLL operations on a value) are not shown: nil
/// then, and the caller shows the expression's base64.
public enum ExpressionDisplay {
    /// The display of `bytes`, nil when they do not decode, do not build, or hold a call.
    public static func display(_ bytes: [UInt8]) -> String? {
        guard let node = try? Expression.decode(bytes) else { return nil }
        var scopes: [[String]] = []
        return text(node, &scopes)
    }

    private static let names: [Int64: String] = [
        0: "unknown", 1: "eq", 2: "ne", 3: "gt", 4: "ge", 5: "lt", 6: "le", 8: "cmp_geo", 9: "in_list", 16: "and",
        17: "or", 18: "not", 19: "exclusive", 20: "add", 21: "sub", 22: "mul", 23: "div", 24: "pow", 25: "log",
        26: "mod", 27: "abs", 28: "floor", 29: "ceil", 30: "to_int", 31: "to_float", 32: "int_and", 33: "int_or",
        34: "int_xor", 35: "int_not", 36: "int_lshift", 37: "int_rshift", 38: "int_arshift", 39: "int_count",
        40: "int_lscan", 41: "int_rscan", 50: "min", 51: "max", 65: "device_size", 66: "last_update",
        67: "since_update", 68: "void_time", 69: "ttl", 70: "set_name", 71: "key_exists", 72: "is_tombstone",
        73: "memory_size", 74: "record_size", 80: "key", 100: "result_remove", 101: "map_keys", 102: "map_values",
    ]
    private static let typeNames = ["nil", "bool", "int", "str", "list", "map", "blob", "float", "geojson", "hll"]

    /// The raw bytes of a name sent as a msgpack string (a bin or let variable name).
    private static func rawBytes(_ v: Value) -> [UInt8]? {
        switch v {
        case .string(let b): return [Value.particleTypeString] + Array(b)
        case .geojson(let b): return [Value.particleTypeGeoJSON] + Array(b)
        case .blob(let t, let b): return [t] + Array(b)
        default: return nil
        }
    }

    /// `scopes`: the let variables in scope, innermost last; a variable's number is its
    /// position counted over every scope (Aerospike numbers them as it builds the lets).
    private static func text(_ node: Value, _ scopes: inout [[String]]) -> String? {
        guard case .list(let items, _) = node else { return literal(node) }
        guard case .int(let op)? = items.first else { return nil }
        let args = Array(items.dropFirst())
        func all(_ nodes: [Value]) -> String? {
            var parts: [String] = []
            for n in nodes {
                guard let t = text(n, &scopes) else { return nil }
                parts.append(t)
            }
            return parts.joined(separator: ", ")
        }
        switch op {
        case 7:
            guard args.count == 3, case .int(let options) = args[0], let pattern = rawBytes(args[1]),
                let subject = text(args[2], &scopes)
            else { return nil }
            return "cmp_regex(<string#\(pattern.count)>, \(UInt32(truncatingIfNeeded: options)), \(subject))"
        case 64:
            guard args.count == 1, case .int(let mod) = args[0] else { return nil }
            return "digest_modulo(\(UInt32(truncatingIfNeeded: mod)))"
        case 81:
            guard args.count == 2, case .int(let t) = args[0], t >= 0, Int(t) < typeNames.count, let name = rawBytes(args[1]) else {
                return nil
            }
            return "bin_\(typeNames[Int(t)])(\"\(String(decoding: name, as: UTF8.self))\")"
        case 82:
            guard args.count == 1, let name = rawBytes(args[0]) else { return nil }
            return "bin_type(\"\(String(decoding: name, as: UTF8.self))\")"
        case 122:
            guard args.count == 2, case .int(let id) = args[1] else { return nil }
            return "var_builtin(\(UInt32(truncatingIfNeeded: id)))"
        case 124:
            guard args.count == 1, let name = rawBytes(args[0]).map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
            var base = scopes.reduce(0) { $0 + $1.count }
            for scope in scopes.reversed() {
                base -= scope.count
                if let i = scope.lastIndex(of: name) { return "var(\"var_\(base + i)\")" }
            }
            return nil
        case 125:
            guard args.count >= 3, args.count % 2 == 1 else { return nil }
            let first = scopes.reduce(0) { $0 + $1.count }
            scopes.append([])
            defer { scopes.removeLast() }
            var out = "let("
            for i in stride(from: 0, to: args.count - 1, by: 2) {
                guard let name = rawBytes(args[i]), let value = text(args[i + 1], &scopes) else { return nil }
                out += "def(var_\(first + i / 2), \(value)), "
                scopes[scopes.count - 1].append(String(decoding: name, as: UTF8.self))
            }
            guard let body = text(args[args.count - 1], &scopes) else { return nil }
            return out + body + ")"
        case 123:
            guard let inner = all(args) else { return nil }
            return "cond(\(inner))"
        case 126:
            guard args.count == 1, case .list(let list, let flags) = args[0] else { return nil }
            return "<list#\(list.count + (flags != 0 ? 1 : 0))>"
        case 127:
            return nil
        default:
            guard let name = names[op] else { return nil }
            guard let inner = all(args) else { return nil }
            return "\(name)(\(inner))"
        }
    }

    private static func literal(_ v: Value) -> String? {
        switch v {
        case .null: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return "\(i)"
        case .double(let d): return IndexContext.cFixed(d)
        case .string(let s): return "<string#\(s.count)>"
        case .geojson(let g): return "<geojson#\(g.count)>"
        case .blob(let t, let b): return t == HLLSketch.particleType ? "<hll#\(b.count)>" : "<blob#\(b.count)>"
        case .map(let entries, let flags): return "<map#\(entries.count + (flags != 0 ? 1 : 0))>"
        default: return nil
        }
    }
}
