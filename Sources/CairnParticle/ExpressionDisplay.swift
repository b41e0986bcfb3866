/// An expression as Aerospike 8.1 shows it (`as_exp_display`: `sindex-list` without
/// `b64=true`), e.g. `add(bin_int("a"), bin_int("b"))`, `ge(ttl(), 100)`,
/// `let(def(var_0, ...), mul(var("var_0"), 2))`. Values show as Aerospike's display writes
/// them: integers and `%f` floats in full, strings, blobs, lists and maps by size
/// (`<string#3>`). A call (a list, map, bit or HLL operation on a value) shows as Aerospike's
/// `display_call` writes it: the operation's name, for a list or map operation its context
/// (`NULL` without one), then its arguments and the value it works on, e.g.
/// `list_size(NULL, bin_list("l"))`, `map_get_by_key([[list_index(0)], 7, <string#1>,
/// bin_map("m"))`, `bit_count(0, 8, bin_blob("b"))`, `select([[exp(<list#1>)], 0x1,
/// bin_list("l"))`.
public enum ExpressionDisplay {
    /// The display of `bytes`, nil when they do not decode or do not build.
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
            return call(args, &scopes)
        default:
            guard let name = names[op] else { return nil }
            guard let inner = all(args) else { return nil }
            return "\(name)(\(inner))"
        }
    }

    /// `[127, type, system, [command, args...], value]` as `display_call` writes it: the
    /// name and, for a list or map operation, its context, then each argument (a list is an
    /// expression, anything else a literal as `display_msgpack` shows it) and the value, each
    /// followed by `, ` but the value.
    private static func call(_ args: [Value], _ scopes: inout [[String]]) -> String? {
        guard args.count == 4, case .int(let system) = args[1], case .list(let opItems, _) = args[2],
            case .int(let command)? = opItems.first
        else { return nil }
        let modify = system & 0x40 != 0
        var out: String
        var operands = opItems.dropFirst()
        switch system & ~0x40 {
        case 0:
            if command == 0xff {
                guard opItems.count == 3, case .list(let inner, _) = opItems[2], case .int(let innerCommand)? = inner.first else { return nil }
                out = "\(cdtName(innerCommand))(\(IndexContext.display(opItems[1])), "
                operands = inner.dropFirst()
            } else if command == Int64(PathSelect.command) {
                guard opItems.count >= 3, case .int(let flags) = opItems[2] else { return nil }
                out = "\(cdtName(command))(\(IndexContext.display(opItems[1])), 0x\(String(UInt32(truncatingIfNeeded: flags), radix: 16)), "
                if opItems.count > 3 { out += "<mod_exp/\(opItems[3].encoded.count)>, " }
                operands = []
            } else {
                out = "\(cdtName(command))(NULL, "
            }
        case 1:
            let names = modify ? bitModifyNames : bitReadNames
            out = (names[command] ?? "INVALID_BITS_OP") + "("
        case 2:
            let names = modify ? hllModifyNames : hllReadNames
            out = (names[command] ?? "INVALID_BITS_OP") + "("  // sic: Aerospike's as_hll_op_name
        default:
            return nil
        }
        for operand in operands {
            if case .list = operand {
                guard let shown = text(operand, &scopes) else { return nil }
                out += shown
            } else {
                out += callLiteral(operand)
            }
            out += ", "
        }
        guard let subject = text(args[3], &scopes) else { return nil }
        return out + subject + ")"
    }

    /// A literal argument of a call as `display_msgpack` writes it: a map, an ext, a wildcard
    /// or infinity by its msgpack type number (8, 12, 13, 14).
    private static func callLiteral(_ v: Value) -> String {
        switch v {
        case .blob(let t, let b): return t == HLLSketch.particleType ? "<hll#\(b.count)>" : "<blob#\(b.count)>"
        case .map: return "<msgpack/8>"
        case .ext: return "<msgpack/12>"
        case .wildcard: return "<msgpack/13>"
        case .infinity: return "<msgpack/14>"
        default: return literal(v) ?? "<msgpack/7>"
        }
    }

    /// `cdt_exp_display_name`: the list and map operations a call can name (others are
    /// `INVALID_CDT_OP`).
    private static func cdtName(_ command: Int64) -> String {
        cdtNames[command] ?? "INVALID_CDT_OP"
    }

    private static let cdtNames: [Int64: String] = [
        1: "list_append", 2: "list_append_items", 3: "list_insert", 4: "list_insert_items", 9: "list_set",
        11: "list_clear", 12: "list_increment", 13: "list_sort", 16: "list_size", 19: "list_get_by_index",
        20: "list_get_by_value", 21: "list_get_by_rank", 23: "list_get_by_value_list", 24: "list_get_by_index_range",
        25: "list_get_by_value_range", 26: "list_get_by_rank_range", 27: "list_get_by_rel_rank_range",
        32: "list_remove_by_index", 34: "list_remove_by_rank", 35: "list_remove_by_value",
        36: "list_remove_by_value_list", 37: "list_remove_by_index_range", 38: "list_remove_by_value_range",
        39: "list_remove_by_rank_range", 40: "list_remove_by_rel_rank_range",
        67: "map_put", 68: "map_put_items", 73: "map_increment", 75: "map_clear", 76: "map_remove_by_key",
        77: "map_remove_by_index", 78: "map_remove_by_value", 79: "map_remove_by_rank", 81: "map_remove_by_key_list",
        83: "map_remove_by_value_list", 84: "map_remove_by_key_range", 85: "map_remove_by_index_range",
        86: "map_remove_by_value_range", 87: "map_remove_by_rank_range", 88: "map_remove_by_rel_index_range",
        89: "map_remove_by_rel_rank_range", 96: "map_size", 97: "map_get_by_key", 98: "map_get_by_index",
        100: "map_get_by_rank", 102: "map_get_by_value", 103: "map_get_by_key_range", 104: "map_get_by_index_range",
        105: "map_get_by_value_range", 106: "map_get_by_rank_range", 107: "map_get_by_key_list",
        108: "map_get_by_value_list", 109: "map_get_by_rel_index_range", 110: "map_get_by_rel_rank_range",
        254: "select",
    ]
    private static let bitModifyNames: [Int64: String] = [
        0: "bit_resize", 1: "bit_insert", 2: "bit_remove", 3: "bit_set", 4: "bit_or", 5: "bit_xor", 6: "bit_and",
        7: "bit_not", 8: "bit_lshift", 9: "bit_rshift", 10: "bit_add", 11: "bit_subtract", 12: "bit_set_int",
    ]
    private static let bitReadNames: [Int64: String] = [
        50: "bit_get", 51: "bit_count", 52: "bit_lscan", 53: "bit_rscan", 54: "bit_get_int",
    ]
    private static let hllModifyNames: [Int64: String] = [
        0: "hll_init", 1: "hll_add", 2: "hll_set_union", 3: "hll_refresh_count", 4: "hll_fold",
    ]
    private static let hllReadNames: [Int64: String] = [
        50: "hll_get_count", 51: "hll_get_union", 52: "hll_get_union_count", 53: "hll_get_intersect_count",
        54: "hll_get_similarity", 55: "hll_describe", 56: "hll_may_contain",
    ]

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
