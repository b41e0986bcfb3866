import Foundation

/// The CDT context of a secondary index (`sindex-create ... context=BASE64`, and the query field
/// INDEX_CONTEXT): msgpack `[ctxType, ctxValue, ...]`, read-only context types only.
///
/// Aerospike 8.1 accepts a context when every type is a read type (at most 0x23, base at most 3,
/// not a map key on a list: 0x12) followed by a value, and when the msgpack is normalized
/// (smallest forms: `msgpack_compactify` changes nothing). A record is indexed by the value the
/// context reaches in its bin, when it reaches one.
public enum IndexContext {
    public enum Problem: Error, Sendable, Equatable {
        /// Not a context (Aerospike: "'context' invalid cdt context").
        case invalid
        /// A context whose msgpack is not in its smallest forms ("'context' not normalized
        /// msgpack").
        case notNormalized
    }

    /// The context's items, checked as Aerospike checks an index context.
    public static func parse(_ bytes: [UInt8]) throws(Problem) -> [CDTContextItem] {
        guard let decoded = try? Value.decode(bytes), case .list(let items, let flags) = decoded, flags == 0,
            !items.isEmpty, items.count % 2 == 0
        else { throw .invalid }
        var context: [CDTContextItem] = []
        for i in stride(from: 0, to: items.count, by: 2) {
            // msgpack_get_uint64 and a cast to a byte, as cdt_context_read_check_peek.
            guard case .int(let raw) = items[i], raw >= 0 else { throw .invalid }
            let type = UInt8(truncatingIfNeeded: raw)
            guard type <= 0x23, type & 0x0f <= 3, type != 0x12 else { throw .invalid }
            context.append(CDTContextItem(type: type, value: items[i + 1]))
        }
        guard decoded.encoded == bytes else { throw .notNormalized }
        return context
    }

    /// What `context` reaches in `root` (a list or map), nil when it reaches nothing (an element
    /// that is not there, a level of the wrong collection type).
    public static func resolve(_ root: Value, _ context: [CDTContextItem]) -> Value? {
        switch root {
        case .list, .map: break
        default: return nil
        }
        return try? Context.resolve(root, context[...])
    }

    /// The context as `sindex-list` shows it without `b64=true` (Aerospike 8.1's
    /// `cdt_ctx_to_dynbuf`): `[[list_index(0), map_key(<string#3>)]` — two opening brackets and
    /// one closing, as Aerospike writes it; each value as `msgpack_display` shows it. A context
    /// that does not decode ends with Aerospike's error marker.
    public static func display(_ bytes: [UInt8]) -> String {
        display(try? Value.decode(bytes))
    }

    /// A decoded context (nil: bytes that do not decode) as ``display(_:)-([UInt8])`` shows it.
    static func display(_ decoded: Value?) -> String {
        var out = "[["
        guard case .list(let items, _)? = decoded else {
            return out + "(ctx-error-list-hdr)]"
        }
        if items.count % 2 != 0 { return out + "(ctx-error-list-ele-count \(items.count))]" }
        let names: [UInt8: String] = [
            0: "index", 1: "rank", 2: "key", 3: "value", 4: "exp", 8: "index_list", 9: "rank_list", 10: "key_list",
            11: "value_list",
        ]
        for i in stride(from: 0, to: items.count, by: 2) {
            guard case .int(let type) = items[i] else { return out + "(ctx-error-type-not-int)]" }
            guard let name = names[UInt8(truncatingIfNeeded: type) & 0x0f] else { return out + "(ctx-error-invalid-type)]" }
            if i != 0 { out += ", " }
            if type & 0x10 != 0 {
                out += "list_"
            } else if type & 0x20 != 0 {
                out += "map_"
            }
            out += name + "(" + displayValue(items[i + 1]) + ")"
        }
        return out + "]"
    }

    /// One value as Aerospike's `msgpack_display` writes it.
    static func displayValue(_ value: Value) -> String {
        switch value {
        case .null: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return "\(i)"
        case .double(let d): return cFixed(d)
        case .string(let s): return "<string#\(s.count)>"
        case .geojson(let g): return "<geojson#\(g.count)>"
        case .blob(let t, let b):
            return t == Value.particleTypeBlob ? "<blob#\(b.count)>" : "<blob\(t)#\(b.count)>"
        case .list(let items, let flags): return "<list#\(items.count + (flags != 0 ? 1 : 0))>"
        case .map(let entries, let flags): return "<map#\(entries.count + (flags != 0 ? 1 : 0))>"
        case .wildcard: return "*"
        case .infinity: return "inf"
        case .ext(_, let b): return "<ext#\(b.count)>"
        }
    }

    /// C's `%f`: fixed notation, 6 decimals.
    static func cFixed(_ d: Double) -> String {
        String(format: "%f", d)
    }
}
