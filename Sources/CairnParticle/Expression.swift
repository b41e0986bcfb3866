import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Filter expressions (Aerospike's FILTER_EXPRESSION field, 43): a subset, evaluated on a record.
///
/// An expression is msgpack: a node is a list `[op, args...]`, anything else is a literal
/// (strings and blobs carry their particle type byte; a list literal is quoted, `[126, list]`).
/// Implemented:
/// - comparisons eq 1, ne 2, gt 3, ge 4, lt 5, le 6, regex 7, geo 8 (GeoShape: a region
///   containing a point, a point inside a region), in_list 9, and 16, or 17, not 18,
///   exclusive 19;
/// - record: key_exist 71, set_name 70, key 80 `[80, type]`, bin 81 `[81, type, name]` (the
///   name a raw msgpack string), bin_type 82 `[82, name]`;
/// - metadata: digest_modulo 64 `[64, mod]`, last_update 66 (ns since 1970), since_update 67
///   (ms), void_time 68 (ns since 1970, -1 for never), ttl 69 (s, -1 for never), is_tombstone 72,
///   record_size 74 (Aerospike's stored size, computed), device_size 65 and memory_size 73 (the
///   record size where the namespace keeps records on devices / in memory, else 0);
/// - a path select's loop variables 122 `[122, type, id]` and remove_result 100 (PathSelect);
/// - call 127 `[127, result type, system, [command, args...], bin]` of bit (system 1), HLL (2)
///   and list / map (0) operations, reads or, with the MODIFY_LOCAL flag (0x40), modifies of a
///   copy whose new value is the call's value; an argument that is a node is evaluated first.
/// - arithmetic add 20 ... to_float 31, integer bit ops 32 ... 41, min 50, max 51, cond 123,
///   var 124, let 125;
/// - map_keys 101 and map_values 102 `[101, map]`: a list of the map's keys or values.
/// A missing bin, a key not stored, a bin or value of another type than asked, or a comparison
/// of different types is "unknown"; `and` is false when any operand is false, `or` true when
/// any is true, else unknown. A filter passes only when it is true. Every op of Aerospike 8.1
/// is evaluated: an op it does not have is 4, as is a malformed expression or a comparison of
/// two operands of known different types, or a call of another system than list / map, bit or
/// HLL (Aerospike's build_call).

/// The record an expression looks at.
public struct ExpressionRecord: Sendable {
    public struct Bin: Sendable {
        public var name: String
        /// Aerospike particle type (1 integer, 2 float, 3 string, 4 blob, 17 bool, 18 HLL, 19
        /// map, 20 list, 23 GeoJSON).
        public var particleType: UInt8
        public var bytes: [UInt8]

        public init(name: String, particleType: UInt8, bytes: [UInt8]) {
            self.name = name
            self.particleType = particleType
            self.bytes = bytes
        }
    }

    /// Times and the digest, for the metadata ops (unknown without them).
    public struct Metadata: Sendable {
        /// The 20 digest bytes in wire order.
        public var digest: [UInt8]
        /// Last update, ms since 2010-01-01 (the Citrusleaf epoch).
        public var lastUpdateMs: UInt64
        /// Expiry, s since 2010-01-01; 0 = never.
        public var voidTime: UInt32
        /// Now, ms since 2010-01-01.
        public var nowMs: UInt64
        /// Where the namespace keeps records, for device_size and memory_size.
        public var storage: Storage

        public init(digest: [UInt8], lastUpdateMs: UInt64, voidTime: UInt32, nowMs: UInt64, storage: Storage = .device) {
            self.digest = digest
            self.lastUpdateMs = lastUpdateMs
            self.voidTime = voidTime
            self.nowMs = nowMs
            self.storage = storage
        }
    }

    /// A namespace's storage engine as device_size (65) and memory_size (73) see it.
    public enum Storage: Sendable {
        /// `storage-engine device`.
        case device
        /// `storage-engine memory` with files or devices.
        case memoryPersisted
        /// `storage-engine memory` alone.
        case memoryOnly
    }

    public var bins: [Bin]
    public var setName: String?
    /// The stored user key as a value (integer, string or blob), nil when not stored.
    public var key: Value?
    public var metadata: Metadata?

    public init(bins: [Bin], setName: String?, key: Value?, metadata: Metadata? = nil) {
        self.bins = bins
        self.setName = setName
        self.key = key
        self.metadata = metadata
    }
}

/// Expression value types (`AS_EXP_TYPE_*`).
enum ExpressionType: Int64 {
    case nil_ = 0, bool = 1, int = 2, string = 3, list = 4, map = 5, blob = 6, float = 7, geojson = 8, hll = 9
}

public enum Expression {
    public static let unsupported: UInt8 = 16

    /// Decodes an expression and checks every op in it before anything runs, as Aerospike's
    /// builder: an unknown op, a malformed node or a call of an unknown system is 4 (as is bytes
    /// that are not msgpack).
    public static func decode(_ bytes: [UInt8]) throws(CDTError) -> Value {
        let node: Value
        do {
            node = try Value.decode(bytes)
        } catch {
            throw .param("expression: \(error)")
        }
        try check(node)
        return node
    }

    static let supportedOps: Set<Int64> = Set([0] + Array(1...9) + Array(16...41) + [50, 51, 64] + Array(66...72) + [80, 81, 82]
        + [65, 73, 74, 100, 101, 102] + Array(122...127))

    /// What `remove_result` (op 100) evaluates to: the path apply removes the leaf it is
    /// applied to (PathSelect).
    static let removeResult = Value.ext(0xfe, Bytes())

    /// Walks the expression tree: every node's op must be one Cairn evaluates. Quoted values
    /// and call payloads' commands are not nodes.
    public static func check(_ node: Value) throws(CDTError) {
        try check(node, [:]) { _ in }
    }

    /// As ``check(_:)``, and tells `visit` each op the builder builds, in tree order (an
    /// expression index's checks read them: ``IndexExpression``).
    public static func check(_ node: Value, visit: (Int64) -> Void) throws(CDTError) {
        try check(node, [:], visit)
    }

    /// The types of the let variables in scope (nil: defined, of a type Cairn does not infer).
    typealias TypeScope = [String: Int64?]

    static func check(_ node: Value, _ scope: TypeScope, _ visit: (Int64) -> Void) throws(CDTError) {
        guard case .list(let items, _) = node else { return }
        guard case .int(let op)? = items.first else { throw .param("expression node without an op") }
        // Cairn evaluates every op Aerospike 8.1 has: any other is 4, as Aerospike's builder.
        guard supportedOps.contains(op) else { throw .param("invalid expression op \(op)") }
        visit(op)
        let args = items.dropFirst()
        switch op {
        case 7:
            // [7, options, regex (a raw string), string]: the regex must compile (else 4).
            guard args.count == 3, case .int(let options) = args[args.startIndex] else { throw .param("malformed regex compare") }
            guard regexMatches(rawString(args[args.startIndex + 1]), options: options, "") != nil else {
                throw .param("regex does not compile")
            }
            try check(args[args.startIndex + 2], scope, visit)
        case 101, 102:
            // [101 | 102, map]: the operand must be a map where its type is known (build_map_kv).
            guard args.count == 1 else { throw .param("map_keys / map_values of \(args.count) operands") }
            if let t = staticType(args[args.startIndex], scope), t != ExpressionType.map.rawValue {
                throw .param("map_keys / map_values of type \(t)")
            }
            try check(args[args.startIndex], scope, visit)
        case 8:
            // [8, candidate, query]: both GeoJSON; a literal that does not parse is 4.
            guard args.count == 2 else { throw .param("geo compare of \(args.count) operands") }
            for arg in args {
                if let t = staticType(arg, scope), t != ExpressionType.geojson.rawValue { throw .param("geo compare of type \(t)") }
                if case .geojson(let text) = arg {
                    do throws(GeoShape.Problem) { _ = try GeoShape.parse(Array(text)) } catch { throw .param("GeoJSON: \(error.reason)") }
                }
                try check(arg, scope, visit)
            }
        case 1...6:
            // Aerospike builds a comparison only of two operands of one type, and never of
            // GeoJSON or HLL values (build_compare): else 4 before anything runs. Checked where
            // both types are known without running anything.
            guard args.count == 2 else { throw .param("comparison of \(args.count) operands") }
            let l = staticType(args[args.startIndex], scope), r = staticType(args[args.startIndex + 1], scope)
            if let l, let r, l != r { throw .param("comparison of a \(l) with a \(r)") }
            if let l, l == ExpressionType.geojson.rawValue || l == ExpressionType.hll.rawValue {
                throw .param("comparison of type \(l)")
            }
            for arg in args { try check(arg, scope, visit) }
        case 123:
            // build_cond: at least one case and a default; conditions are booleans, the values
            // (unknown aside) of one type. Checked where the types are known.
            guard args.count >= 3, args.count % 2 == 1 else { throw .param("cond needs cases and a default") }
            var valueType: Int64?
            for (i, arg) in args.enumerated() {
                try check(arg, scope, visit)
                let isCondition = i % 2 == 0 && i != args.count - 1
                guard let t = staticType(arg, scope) else { continue }
                if isCondition {
                    if t != ExpressionType.bool.rawValue { throw .param("cond condition of type \(t)") }
                } else if arg != .list([.int(0)]) {
                    if let v = valueType, v != t { throw .param("cond values of types \(v) and \(t)") }
                    valueType = t
                }
            }
        case 124:
            guard args.count == 1, scope[rawString(args[args.startIndex])] != nil else { throw .param("var of an undefined name") }
        case 125:
            // [125, name, value, ..., body]: each definition sees the ones before it.
            guard args.count % 2 == 1 else { throw .param("let without a body") }
            var inner = scope
            let list = Array(args)
            for i in stride(from: 0, to: list.count - 1, by: 2) {
                try check(list[i + 1], inner, visit)
                inner[rawString(list[i])] = .some(staticType(list[i + 1], inner))
            }
            try check(list[list.count - 1], inner, visit)
        case 126: return
        case 127:
            guard args.count == 4, case .list(let opItems, _) = args[args.startIndex + 2] else { throw .param("malformed call") }
            try checkCall(declaredType: args[args.startIndex], system: args[args.startIndex + 1], subject: args[args.startIndex + 3], scope,
                          visit)
            if opItems.first == .int(Int64(PathSelect.command)) {
                // [0xfe, context, flags(, apply expression)]: Aerospike's parse_op_call checks
                // only this shape; the context's and the apply's expressions are built when the
                // call runs (a bad one makes the call unknown).
                guard (3...4).contains(opItems.count), case .list = opItems[1], case .int(let flags) = opItems[2], flags >= 0 else {
                    throw .param("malformed select call")
                }
                return
            }
            // A list argument of the operation is an expression (built now, evaluated when the
            // call runs); with a context, `[0xff, context, [command, args...]]`, the context is
            // a literal and the inner operation's list arguments are the expressions
            // (parse_op_call).
            var operationArgs = opItems.dropFirst()
            if opItems.first == .int(0xff) {
                guard opItems.count == 3, case .list(let inner, _) = opItems[2], case .int? = inner.first else {
                    throw .param("malformed call with a context")
                }
                operationArgs = inner.dropFirst()
            }
            for arg in operationArgs { try check(arg, scope, visit) }
        default:
            for arg in args { try check(arg, scope, visit) }
        }
    }

    /// A call's result type, system and subject, as Aerospike's build_call checks them before
    /// anything runs (each refusal is 4): a result type of `AS_EXP_TYPE_*`, a system of list /
    /// map (0), bit (1) or HLL (2), with or without MODIFY_LOCAL (0x40), and a subject whose type,
    /// where it is known without running, is what the system works on (a list or map, a blob,
    /// an HLL; a nil subject is a missing bin for any system).
    private static func checkCall(declaredType: Value, system: Value, subject: Value, _ scope: TypeScope,
                                  _ visit: (Int64) -> Void) throws(CDTError) {
        guard case .int(let t) = declaredType, ExpressionType(rawValue: t) != nil else { throw .param("call of an invalid result type") }
        guard case .int(let s) = system, s >= 0, (0...2).contains(s & ~0x40) else { throw .param("call of an invalid system \(system)") }
        try check(subject, scope, visit)
        guard let subjectType = staticType(subject, scope), subjectType != ExpressionType.nil_.rawValue else { return }
        let accepted: [ExpressionType] = switch s & ~0x40 {
        case 0: [.list, .map]
        case 1: [.blob]
        default: [.hll]
        }
        if !accepted.contains(where: { $0.rawValue == subjectType }) { throw .param("call of system \(s) on a value of type \(subjectType)") }
    }

    /// Whether `node` is known to evaluate to something other than a boolean (a filter that can
    /// never pass, which Aerospike refuses with PARAMETER before a scan or query starts).
    public static func isKnownNonBoolean(_ node: Value) -> Bool {
        guard let type = staticType(node) else { return false }
        return type != ExpressionType.bool.rawValue
    }

    /// The type (`AS_EXP_TYPE_*`) a node evaluates to as Aerospike's expression builder sees it,
    /// or nil where Cairn does not infer it (variables, let, unknown).
    static func staticType(_ node: Value, _ scope: TypeScope = [:]) -> Int64? {
        switch node {
        case .null: return ExpressionType.nil_.rawValue
        case .bool: return ExpressionType.bool.rawValue
        case .int: return ExpressionType.int.rawValue
        case .double: return ExpressionType.float.rawValue
        case .string: return ExpressionType.string.rawValue
        case .geojson: return ExpressionType.geojson.rawValue
        case .blob(let t, _): return t == HLLSketch.particleType ? nil : ExpressionType.blob.rawValue
        case .map: return ExpressionType.map.rawValue
        case .list(let items, _):
            guard case .int(let op)? = items.first else { return nil }
            let args = items.dropFirst()
            func declared() -> Int64? {
                guard case .int(let t)? = args.first, ExpressionType(rawValue: t) != nil else { return nil }
                return t
            }
            switch op {
            case 1...9, 16...19, 71, 72: return ExpressionType.bool.rawValue
            case 24, 25, 28, 29, 31: return ExpressionType.float.rawValue
            case 26, 30, 32...41, 64...69, 73, 74, 82: return ExpressionType.int.rawValue
            case 70: return ExpressionType.string.rawValue
            case 101, 102, 126: return ExpressionType.list.rawValue
            case 80, 81, 122, 127: return declared()
            case 20...23, 27, 50, 51: return args.first.flatMap { staticType($0, scope) }
            case 123:
                // The first value that is not unknown (the default included).
                let list = Array(args)
                for i in stride(from: 1, to: list.count, by: 2) where list[i] != .list([.int(0)]) {
                    return staticType(list[i], scope)
                }
                return list.last.flatMap { staticType($0, scope) }
            case 124:
                guard let name = args.first, let t = scope[rawString(name)] else { return nil }
                return t
            case 125:
                var inner = scope
                let list = Array(args)
                guard list.count % 2 == 1 else { return nil }
                for i in stride(from: 0, to: list.count - 1, by: 2) {
                    inner[rawString(list[i])] = .some(staticType(list[i + 1], inner))
                }
                return staticType(list[list.count - 1], inner)
            default: return nil
            }
        default: return nil
        }
    }

    /// Whether `record` passes `filter` (true only when the filter is true).
    public static func passes(_ filter: Value, _ record: ExpressionRecord) throws(CDTError) -> Bool {
        switch try evaluate(filter, record) {
        case .known(.bool(let b)): return b
        case .known: throw .param("filter expression is not boolean")
        case .unknown: return false
        }
    }

    /// An evaluated expression: a value, or Aerospike's "unknown".
    public enum Outcome: Equatable, Sendable {
        case known(Value)
        case unknown
    }

    public static func evaluate(_ node: Value, _ record: ExpressionRecord, _ vars: [String: Outcome] = [:]) throws(CDTError) -> Outcome {
        guard case .list(let items, _) = node else { return .known(node) }
        guard case .int(let op)? = items.first else { throw .param("expression node without an op") }
        let args = Array(items.dropFirst())
        switch op {
        case 0:
            return .unknown  // the explicit "unknown" value
        case 1...6:
            guard args.count == 2 else { throw .param("comparison of \(args.count) operands") }
            guard case .known(let a) = try evaluate(args[0], record, vars), case .known(let b) = try evaluate(args[1], record, vars) else {
                return .unknown
            }
            guard let order = compare(a, b) else { return .unknown }
            let result: Bool
            switch op {
            case 1: result = order == 0
            case 2: result = order != 0
            case 3: result = order > 0
            case 4: result = order >= 0
            case 5: result = order < 0
            default: result = order <= 0
            }
            return .known(.bool(result))
        case 7:
            guard args.count == 3, case .int(let options) = args[0] else { throw .param("malformed regex compare") }
            guard case .known(.string(let subject)) = try evaluate(args[2], record, vars) else { return .unknown }
            guard let matches = regexMatches(rawString(args[1]), options: options, String(decoding: subject, as: UTF8.self)) else {
                throw .param("regex does not compile")
            }
            return .known(.bool(matches))
        case 101, 102:
            // map_keys / map_values: the map's keys or values as a list, in its stored order;
            // unknown when the operand is not a map.
            guard args.count == 1 else { throw .param("map_keys / map_values of \(args.count) operands") }
            guard case .known(.map(let entries, _)) = try evaluate(args[0], record, vars) else { return .unknown }
            return .known(.list(entries.map { op == 101 ? $0.key : $0.value }))
        case 8:
            // Geo compare (GeoShape.matches): unknown when an operand is, or is not GeoJSON.
            guard args.count == 2 else { throw .param("geo compare of \(args.count) operands") }
            guard case .known(.geojson(let candidate)) = try evaluate(args[0], record, vars),
                case .known(.geojson(let query)) = try evaluate(args[1], record, vars),
                let candidateShape = try? GeoShape.parse(Array(candidate)), let queryShape = try? GeoShape.parse(Array(query))
            else { return .unknown }
            return .known(.bool(GeoShape.matches(candidate: candidateShape, query: queryShape)))
        case 9:
            // in_list: whether the value equals (in Aerospike's msgpack order) an element.
            guard args.count == 2 else { throw .param("in_list of \(args.count) operands") }
            guard case .known(let value) = try evaluate(args[0], record, vars),
                case .known(.list(let items, _)) = try evaluate(args[1], record, vars)
            else { return .unknown }
            return .known(.bool(items.contains { Value.compare(value, $0) == 0 }))
        case 16, 17:
            guard !args.isEmpty else { throw .param("logic without operands") }
            let decisive = op == 17
            var unknown = false
            for arg in args {
                switch try evaluate(arg, record, vars) {
                case .known(.bool(let b)): if b == decisive { return .known(.bool(decisive)) }
                case .known: throw .param("logic operand is not boolean")
                case .unknown: unknown = true
                }
            }
            return unknown ? .unknown : .known(.bool(!decisive))
        case 18:
            guard args.count == 1 else { throw .param("not of \(args.count) operands") }
            switch try evaluate(args[0], record, vars) {
            case .known(.bool(let b)): return .known(.bool(!b))
            case .known: throw .param("not operand is not boolean")
            case .unknown: return .unknown
            }
        case 19:
            // In order, as Aerospike: an unknown operand is unknown, a second true is false.
            var seenTrue = false
            for arg in args {
                switch try evaluate(arg, record, vars) {
                case .known(.bool(let b)):
                    if b && seenTrue { return .known(.bool(false)) }
                    seenTrue = seenTrue || b
                case .known: throw .param("exclusive operand is not boolean")
                case .unknown: return .unknown
                }
            }
            return .known(.bool(seenTrue))
        case 64, 66, 67, 68, 69:
            return try metadata(op, args, record.metadata)
        case 72:
            return .known(.bool(false))  // a filter only sees live records
        case 74:
            guard args.isEmpty else { throw .param("record_size takes no arguments") }
            return recordSize(record).map { .known(.int($0)) } ?? .unknown
        case 65, 73:
            // The deprecated device_size and memory_size, as Aerospike 8.1 answers them: the
            // record size where the namespace keeps records in that medium, else 0.
            guard args.isEmpty else { throw .param("device_size and memory_size take no arguments") }
            guard let storage = record.metadata?.storage else { return .unknown }
            let isInMedium: Bool
            switch storage {
            case .device: isInMedium = op == 65
            case .memoryPersisted: isInMedium = true
            case .memoryOnly: isInMedium = op == 73
            }
            guard isInMedium else { return .known(.int(0)) }
            return recordSize(record).map { .known(.int($0)) } ?? .unknown
        case 70:
            return .known(.string(record.setName ?? ""))
        case 71:
            return .known(.bool(record.key != nil))
        case 80:
            guard args.count == 1, case .int(let t) = args[0], let type = ExpressionType(rawValue: t) else {
                throw .param("malformed key expression")
            }
            guard let key = record.key, matches(key, type) else { return .unknown }
            return .known(key)
        case 81:
            guard args.count == 2, case .int(let t) = args[0], let type = ExpressionType(rawValue: t) else {
                throw .param("malformed bin expression")
            }
            guard let bin = record.bins.first(where: { $0.name == rawString(args[1]) }) else { return .unknown }
            guard let value = bin.value, matches(value, type) else { return .unknown }
            return .known(value)
        case 82:
            guard args.count == 1 else { throw .param("malformed bin_type expression") }
            let bin = record.bins.first { $0.name == rawString(args[0]) }
            return .known(.int(Int64(bin?.particleType ?? 0)))
        case 126:
            guard args.count == 1 else { throw .param("malformed quote") }
            return .known(args[0])
        case 20...41, 50, 51:
            var values: [Value] = []
            for arg in args {
                guard case .known(let v) = try evaluate(arg, record, vars) else { return .unknown }
                values.append(v)
            }
            return try arithmetic(op, values)
        case 123:
            // [123, condition, value, ..., default]: the first true condition's value.
            guard args.count % 2 == 1 else { throw .param("cond without a default") }
            for i in stride(from: 0, to: args.count - 1, by: 2) {
                switch try evaluate(args[i], record, vars) {
                case .known(.bool(true)): return try evaluate(args[i + 1], record, vars)
                case .known(.bool(false)): continue
                case .known: throw .param("cond condition is not boolean")
                case .unknown: return .unknown
                }
            }
            return try evaluate(args[args.count - 1], record, vars)
        case 100:
            guard args.isEmpty else { throw .param("malformed remove_result") }
            return .known(removeResult)
        case 122:
            // A path select's loop variable: [122, type, id] (key 0, value 1, index 2); unknown
            // outside a path select or when the value is not of the type asked.
            guard args.count == 2, case .int(let t) = args[0], let type = ExpressionType(rawValue: t), case .int(let id) = args[1],
                (0...2).contains(id), id != 2 || type == .int
            else { throw .param("malformed loop variable") }
            guard case .known(let value)? = vars["\u{0}loop\(id)"], matches(value, type) else { return .unknown }
            return .known(value)
        case 124:
            guard args.count == 1, let value = vars[rawString(args[0])] else { throw .param("var of an undefined name") }
            return value
        case 125:
            // [125, name, value, ..., body]: each definition sees the ones before it.
            guard args.count % 2 == 1 else { throw .param("let without a body") }
            var scope = vars
            for i in stride(from: 0, to: args.count - 1, by: 2) {
                scope[rawString(args[i])] = try evaluate(args[i + 1], record, scope)
            }
            return try evaluate(args[args.count - 1], record, scope)
        case 127:
            return try call(args, record, vars)
        default:
            throw CDTError(unsupported, "expression op \(op) is not supported")
        }
    }

    /// Arithmetic, integer bit ops, min and max on known operands, as Aerospike computes them
    /// (integers wrap, shifts take their count modulo 64 as x86 does, integer division or
    /// modulo by zero is unknown). Operands of mixed types are 4 (Aerospike refuses them when it
    /// builds the expression).
    private static func arithmetic(_ op: Int64, _ values: [Value]) throws(CDTError) -> Outcome {
        guard !values.isEmpty else { throw .param("arithmetic without operands") }
        var ints: [Int64] = [], floats: [Double] = []
        for v in values {
            switch v {
            case .int(let i): ints.append(i)
            case .double(let d): floats.append(d)
            case .bool where op == 40 || op == 41: break
            default: throw .param("arithmetic operand \(v) is not a number")
            }
        }
        let isFloat = !floats.isEmpty
        if isFloat && !ints.isEmpty && op != 30 && op != 31 { throw .param("arithmetic on mixed int and float") }
        func arity(_ n: Int) throws(CDTError) { if values.count != n { throw .param("op \(op) takes \(n) operands") } }
        func needInts() throws(CDTError) { if isFloat { throw .param("op \(op) takes integers") } }
        func needFloats() throws(CDTError) { if !isFloat { throw .param("op \(op) takes floats") } }
        switch op {
        case 20: return isFloat ? .known(.double(floats.dropFirst().reduce(floats[0], +))) : .known(.int(ints.dropFirst().reduce(ints[0], &+)))
        case 21:
            if values.count == 1 { return isFloat ? .known(.double(0 - floats[0])) : .known(.int(0 &- ints[0])) }
            return isFloat ? .known(.double(floats.dropFirst().reduce(floats[0], -))) : .known(.int(ints.dropFirst().reduce(ints[0], &-)))
        case 22: return isFloat ? .known(.double(floats.dropFirst().reduce(floats[0], *))) : .known(.int(ints.dropFirst().reduce(ints[0], &*)))
        case 23:
            if isFloat {
                let divisor = values.count == 1 ? floats[0] : floats.dropFirst().reduce(1, *)
                return .known(.double((values.count == 1 ? 1.0 : floats[0]) / divisor))
            }
            let divisor = values.count == 1 ? ints[0] : ints.dropFirst().reduce(1, &*)
            let dividend: Int64 = values.count == 1 ? 1 : ints[0]
            if divisor == 0 || (dividend == .min && divisor == -1) { return divisor == 0 ? .unknown : .known(.int(.min)) }
            return .known(.int(dividend / divisor))
        case 24, 25:
            try arity(2); try needFloats()
            return .known(.double(op == 24 ? pow(floats[0], floats[1]) : log(floats[0]) / log(floats[1])))
        case 26:
            try arity(2); try needInts()
            if ints[1] == 0 { return .unknown }
            return .known(.int(ints[1] == -1 ? 0 : ints[0] % ints[1]))
        case 27:
            try arity(1)
            return isFloat ? .known(.double(Swift.abs(floats[0]))) : .known(.int(ints[0] == .min ? .min : Swift.abs(ints[0])))
        case 28, 29:
            try arity(1); try needFloats()
            return .known(.double(op == 28 ? floats[0].rounded(.down) : floats[0].rounded(.up)))
        case 30:
            try arity(1); try needFloats()
            // x86's conversion: NaN and out-of-range values give the smallest integer.
            let f = floats[0]
            return .known(.int(f.isNaN || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 ? .min : Int64(f)))
        case 31:
            try arity(1); try needInts()
            return .known(.double(Double(ints[0])))
        case 32, 33, 34:
            try needInts()
            let combine: (Int64, Int64) -> Int64 = op == 32 ? { $0 & $1 } : op == 33 ? { $0 | $1 } : { $0 ^ $1 }
            return .known(.int(ints.dropFirst().reduce(ints[0], combine)))
        case 35:
            try arity(1); try needInts()
            return .known(.int(~ints[0]))
        case 36, 37, 38:
            try arity(2); try needInts()
            let (v, n) = (ints[0], ints[1])
            switch op {
            case 36: return .known(.int(v &<< n))
            case 37: return .known(.int(Int64(bitPattern: UInt64(bitPattern: v) &>> UInt64(bitPattern: n))))
            default: return .known(.int(v &>> n))
            }
        case 39:
            try arity(1); try needInts()
            return .known(.int(Int64(ints[0].nonzeroBitCount)))
        case 40, 41:
            guard values.count == 2, case .int(let v) = values[0], case .bool(let set) = values[1] else {
                throw .param("int scan takes an integer and a boolean")
            }
            let bits = UInt64(bitPattern: set ? v : ~v)
            if op == 40 { return .known(.int(bits == 0 ? -1 : Int64(bits.leadingZeroBitCount))) }
            return .known(.int(63 - Int64(bits == 0 ? 64 : bits.trailingZeroBitCount)))
        default:  // 50 min, 51 max
            if isFloat { return .known(.double(op == 50 ? floats.min()! : floats.max()!)) }
            return .known(.int(op == 50 ? ints.min()! : ints.max()!))
        }
    }

    static let epochUnixMs: Int64 = 1_262_304_000_000

    private static func metadata(_ op: Int64, _ args: [Value], _ m: ExpressionRecord.Metadata?) throws(CDTError) -> Outcome {
        var modulus: Int64 = 0
        if op == 64 {
            guard args.count == 1, case .int(let mod) = args[0], mod > 0 else { throw .param("digest_modulo needs a positive modulus") }
            modulus = mod
        } else if !args.isEmpty {
            throw .param("metadata op \(op) takes no arguments")
        }
        guard let m else { return .unknown }
        switch op {
        case 64:
            guard m.digest.count >= 20 else { return .unknown }
            // Digest bytes 16-19 as a little-endian (host order) 32-bit word, as Aerospike.
            let word = (0..<4).reduce(UInt32(0)) { $0 | UInt32(m.digest[16 + $1]) << UInt32(8 * $1) }
            return .known(.int(Int64(word) % modulus))
        case 66:
            return .known(.int((Int64(m.lastUpdateMs) + epochUnixMs) * 1_000_000))
        case 67:
            return .known(.int(m.nowMs > m.lastUpdateMs ? Int64(m.nowMs - m.lastUpdateMs) : 0))
        case 68:
            return .known(.int(m.voidTime == 0 ? -1 : (Int64(m.voidTime) * 1000 + epochUnixMs) * 1_000_000))
        default:
            // ttl: -1 for never; a record at or past its void time has 1 s left (Aerospike's rule).
            if m.voidTime == 0 { return .known(.int(-1)) }
            let now = UInt32(truncatingIfNeeded: m.nowMs / 1000)
            return .known(.int(m.voidTime > now ? Int64(m.voidTime - now) : 1))
        }
    }

    /// record_size (op 74): the bytes Aerospike 8.1 stores the record in, computed from what the
    /// record holds: its flat record (a 35-byte header; the void time, 4, when it expires; the
    /// set name and a length byte; the stored key as type byte + value with a varint length;
    /// a varint bin count; per bin a length byte, the name and the particle: integer 2 + 1, 2, 4
    /// or 8 bytes by its unsigned value, float 9, bool 2, anything else 5 + its bytes) plus the
    /// 4-byte end mark, rounded up to 16 (an rblock). Unknown without metadata, or with a
    /// GeoJSON bin (Aerospike stores its cell ids, which Cairn does not compute).
    static func recordSize(_ record: ExpressionRecord) -> Int64? {
        guard let metadata = record.metadata else { return nil }
        func varintSize(_ n: Int) -> Int {
            var size = 1
            var v = n >> 7
            while v != 0 { size += 1; v >>= 7 }
            return size
        }
        var size = 35
        if metadata.voidTime != 0 { size += 4 }
        if let set = record.setName, !set.isEmpty { size += 1 + set.utf8.count }
        if let key = record.key {
            let keySize: Int
            switch key {
            case .int: keySize = 9
            case .string(let b), .blob(_, let b): keySize = 1 + b.count
            default: return nil
            }
            size += varintSize(keySize) + keySize
        }
        if !record.bins.isEmpty { size += varintSize(record.bins.count) }
        for bin in record.bins {
            size += 1 + bin.name.utf8.count
            switch bin.particleType {
            case 1:
                guard bin.bytes.count == 8 else { return nil }
                let v = bin.bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                size += 2 + (v > 0xFFFF_FFFF ? 8 : v > 0xFFFF ? 4 : v > 0xFF ? 2 : 1)
            case 2: size += 9
            case 17: size += 2
            case 23: return nil
            default: size += 5 + bin.bytes.count
            }
        }
        size += 4
        return Int64((size + 15) / 16 * 16)
    }

    /// `[result type, system, [command, args...], bin]`.
    private static func call(_ args: [Value], _ record: ExpressionRecord, _ vars: [String: Outcome]) throws(CDTError) -> Outcome {
        guard args.count == 4, case .int(let system) = args[1], case .list(let opItems, _) = args[2], !opItems.isEmpty else {
            throw .param("malformed call")
        }
        guard case .known(let subject) = try evaluate(args[3], record, vars) else { return .unknown }
        let modify = system & 0x40 != 0
        if opItems[0] == .int(Int64(PathSelect.command)) {
            return system & 0x3f == 0 ? pathSelect(args[0], Array(opItems.dropFirst()), subject, modify: modify, record) : .unknown
        }
        var payloadItems: [Value] = [opItems[0]]
        if opItems[0] == .int(0xff) {
            // A CDT op with a context, [0xff, context, [command, args...]]: the context is a
            // literal, the inner operation's arguments are evaluated (checked by `check`).
            guard opItems.count == 3, case .list(let inner, _) = opItems[2], let command = inner.first else {
                throw .param("malformed call with a context")
            }
            var innerItems: [Value] = [command]
            for arg in inner.dropFirst() {
                guard case .known(let v) = try evaluate(arg, record, vars) else { return .unknown }
                innerItems.append(v)
            }
            payloadItems = [opItems[0], opItems[1], .list(innerItems)]
        } else {
            for arg in opItems.dropFirst() {
                guard case .known(let v) = try evaluate(arg, record, vars) else { return .unknown }
                payloadItems.append(v)
            }
        }
        let payload = Value.list(payloadItems).encoded
        switch system & 0x3f {
        case 0:
            let bin: CDTBin
            switch subject {
            case .list, .map: bin = .collection(subject)
            case .null: bin = .missing  // a nil value works as a missing bin (a modify creates it)
            default: return .unknown
            }
            // As Aerospike's eval_call: an operation that fails at run time, or a value of another
            // type than the call declares, makes the call unknown (not an error of the request).
            guard let outcome = try? CDTExecutor.execute(payload: payload, bin: bin, isWrite: modify) else { return .unknown }
            return declared(args[0], modify ? (outcome.newValue ?? subject) : outcome.result)
        case 1, 2:
            let particle: UInt8 = system & 0x3f == 1 ? Value.particleTypeBlob : HLLSketch.particleType
            let bin: BlobBin
            switch subject {
            case .blob(let t, let bytes) where t == particle: bin = .bytes(Array(bytes))
            case .null: bin = .missing  // a nil value works as a missing bin (a modify creates it)
            default: return .unknown
            }
            guard let outcome = try? (particle == Value.particleTypeBlob
                ? BitExecutor.execute(payload: payload, bin: bin, isWrite: modify)
                : HLLExecutor.execute(payload: payload, bin: bin, isWrite: modify))
            else { return .unknown }
            if modify {
                if let new = outcome.newValue { return declared(args[0], .blob(particle, Bytes(new))) }
                if case .bytes(let old) = bin { return declared(args[0], .blob(particle, Bytes(old))) }
                return .unknown
            }
            return declared(args[0], outcome.result)
        default:
            // Refused before anything runs (checkCall); an unchecked node gets the same answer.
            throw .param("call of an invalid system \(system)")
        }
    }

    /// `value` as the call's outcome when it has the type the call declares, else unknown.
    private static func declared(_ declaredType: Value, _ value: Value?) -> Outcome {
        guard let value, case .int(let t) = declaredType, let type = ExpressionType(rawValue: t), matches(value, type) else {
            return .unknown
        }
        return .known(value)
    }

    /// A path select or apply call `[127, type, system, [0xfe, context, flags(, apply)], bin]`,
    /// as Aerospike's eval_call runs it: the same select as the CDT operation (PathSelect), on
    /// a list or map value only (anything else, a missing bin included, is unknown). A read call
    /// answers the select's result: the tree (the value's own type) in mode 0, a list in the leaf
    /// modes; the apply mode needs MODIFY_LOCAL (0x40). A MODIFY_LOCAL call answers the value
    /// after the apply (unchanged in a select mode). Any failure of the select (a filter or
    /// apply value unknown without NO_FAIL, a bad context, an expression that does not build)
    /// makes the call unknown, as does a value of another type than the call declares.
    private static func pathSelect(_ declaredType: Value, _ selectArgs: [Value], _ subject: Value, modify: Bool,
                                   _ record: ExpressionRecord) -> Outcome {
        switch subject {
        case .list, .map: break
        default: return .unknown
        }
        guard selectArgs.count >= 2, case .int(let flags) = selectArgs[1] else { return .unknown }
        let isApply = flags & 0x0f == PathSelect.Mode.apply.rawValue
        if isApply && !modify { return .unknown }  // "APPLY flag is invalid for read op"
        var target: Value? = subject
        let result: Value?
        do {
            result = try PathSelect.execute(selectArgs, target: &target, isWrite: isApply, record: record)
        } catch {
            return .unknown
        }
        return declared(declaredType, modify ? (target ?? subject) : result)
    }

    /// POSIX extended-or-basic regex match with the client's `regcomp` options, as Aerospike
    /// (nil when the pattern does not compile). The subject stops at a NUL byte, as in C.
    static func regexMatches(_ pattern: String, options: Int64, _ subject: String) -> Bool? {
        var compiled = regex_t()
        guard regcomp(&compiled, pattern, Int32(truncatingIfNeeded: options)) == 0 else { return nil }
        defer { regfree(&compiled) }
        return regexec(&compiled, subject, 0, nil, 0) == 0
    }

    /// A bin name as sent: a raw msgpack string (decoded as if its first byte were a type).
    private static func rawString(_ v: Value) -> String {
        switch v {
        case .string(let b): return String(decoding: [Value.particleTypeString] + b, as: UTF8.self)
        case .geojson(let b): return String(decoding: [Value.particleTypeGeoJSON] + b, as: UTF8.self)
        case .blob(let t, let b): return b.isEmpty && t == Value.particleTypeBlob ? "" : String(decoding: [t] + b, as: UTF8.self)
        default: return ""
        }
    }

}

extension ExpressionRecord.Bin {
    /// The value as an expression sees it (nil when the bytes do not fit the type).
    public var value: Value? {
        let b = bytes
        switch particleType {
        case 1:
            guard b.count == 8 else { return nil }
            return .int(Int64(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) }))
        case 2:
            guard b.count == 8 else { return nil }
            return .double(Double(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) }))
        case 3: return .string(Bytes(b))
        case 17: return .bool(b.first == 1)
        case 19, 20: return try? Value.decode(b)
        case 23: return .geojson(Bytes(b))
        default: return .blob(particleType, Bytes(b))
        }
    }
}

extension Expression {
    private static func matches(_ v: Value, _ type: ExpressionType) -> Bool {
        switch (v, type) {
        case (.int, .int), (.double, .float), (.string, .string), (.bool, .bool), (.list, .list), (.map, .map),
            (.geojson, .geojson), (.null, .nil_):
            return true
        case (.blob(let t, _), .blob): return t != HLLSketch.particleType
        case (.blob(let t, _), .hll): return t == HLLSketch.particleType
        default: return false
        }
    }

    /// -1, 0 or 1 for values of one kind; nil for values of different kinds.
    static func compare(_ a: Value, _ b: Value) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        func bytes(_ x: Bytes, _ y: Bytes) -> Int {
            for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
            return sign(x.count, y.count)
        }
        switch (a, b) {
        case (.int(let x), .int(let y)): return sign(x, y)
        case (.double(let x), .double(let y)): return sign(x, y)
        case (.bool(let x), .bool(let y)): return sign(x ? 1 : 0, y ? 1 : 0)
        case (.string(let x), .string(let y)), (.geojson(let x), .geojson(let y)): return bytes(x, y)
        case (.blob(let s, let x), .blob(let t, let y)):
            // A literal blob (type 4) compares with an HLL value by bytes, as Aerospike's blob
            // and HLL particles do.
            guard s == t || s == Value.particleTypeBlob || t == Value.particleTypeBlob else { return nil }
            return bytes(x, y)
        case (.null, .null): return 0
        case (.list, .list), (.map, .map):
            return a == b ? 0 : (Value.compare(a, b) < 0 ? -1 : 1)
        default: return nil
        }
    }
}
