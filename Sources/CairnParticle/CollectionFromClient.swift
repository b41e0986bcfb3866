/// A list or map bin value as a client writes it (a put, not an operation): checked and
/// rewritten in the canonical form before it is stored, as Aerospike does when it takes a
/// collection particle from the wire.
///
/// - the value must be one msgpack list (particle type 20) or map (19), nothing after it;
/// - no range operand (wildcard, infinity, or any ext of type 0xff of 1 to 3 bytes) anywhere,
///   and no ext value first in a list (it would read back as the list's flags);
/// - map keys are integers, strings or generic blobs, never twice in one map;
/// - an ordered list must already be in order, and so must a key-ordered map: else refused;
/// - an unordered map whose keys are out of order is stored sorted by key (Aerospike does this);
/// - flags keep only the order bits (list 0x01, map 0x03); a persisted-index flag (0x10), and
///   any index bytes inside the flags ext, are dropped: Aerospike keeps its index to itself and
///   never returns it, so the bytes read back are what Aerospike returns;
/// - integers, string and blob headers, and list / map headers take their smallest form.
///
/// Anything refused answers 1 (Aerospike's `-AS_ERR_UNKNOWN` from `list_from_wire` /
/// `map_from_wire`).
public enum CollectionFromClient {
    /// The canonical bytes to store, or the reason the value is refused.
    public static func rewrite(_ bytes: [UInt8], isMap: Bool) throws(MsgPackError) -> [UInt8] {
        let value = try Value.decode(bytes)
        switch value {
        case .list where !isMap, .map where isMap: break
        default: throw MsgPackError(isMap ? "a map particle that is not a map" : "a list particle that is not a list")
        }
        return try checked(value).encoded
    }

    static func checked(_ value: Value) throws(MsgPackError) -> Value {
        switch value {
        case .wildcard, .infinity:
            throw MsgPackError("a range operand cannot be stored")
        case .ext(let type, let data) where type == 0xff && (1...3).contains(data.count):
            throw MsgPackError("a range operand cannot be stored")
        case .list(let items, let rawFlags):
            let flags = rawFlags & ListFlags.ordered
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try checked(item)) }
            // An ext value first in the list would read back as the list's flags.
            if case .ext? = out.first { throw MsgPackError("an ext value cannot start a list") }
            if flags & ListFlags.ordered != 0 {
                for i in out.indices.dropFirst() where Value.compare(out[i - 1], out[i]) > 0 {
                    throw MsgPackError("ordered list out of order")
                }
            }
            return .list(out, flags: flags)
        case .map(let entries, let rawFlags):
            let flags = rawFlags & MapFlags.keyValueOrdered
            var out: [MapEntry] = []
            out.reserveCapacity(entries.count)
            var sorted = true
            for e in entries {
                guard isMapKey(e.key) else { throw MsgPackError("map key of an invalid type") }
                if let last = out.last {
                    let c = Value.compare(last.key, e.key)
                    if c == 0 { throw MsgPackError("map has a duplicate key") }
                    if c > 0 {
                        if flags & MapFlags.keyOrdered != 0 { throw MsgPackError("key-ordered map out of order") }
                        sorted = false
                    }
                }
                out.append(MapEntry(e.key, try checked(e.value)))
            }
            if !sorted {
                MapExecutor.sortByKey(&out)
                for i in out.indices.dropFirst() where Value.compare(out[i - 1].key, out[i].key) == 0 {
                    throw MsgPackError("map has a duplicate key")
                }
            }
            return .map(out, flags: flags)
        default:
            return value
        }
    }

    /// Aerospike's map key types: integers, strings, and blobs of the generic blob type.
    static func isMapKey(_ key: Value) -> Bool {
        switch key {
        case .int, .string: true
        case .blob(let type, _): type == Value.particleTypeBlob
        default: false
        }
    }
}
